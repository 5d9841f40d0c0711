//! The clock bar, always in view: simulated time, play/pause, step, speed.

use super::Sim;
use crate::sim::pacer::SPEEDS;
use yew::prelude::*;
use yew_router::prelude::*;

/// What the clock bar shows and the callbacks that drive the App's clock.
#[derive(Clone, Debug, PartialEq, Properties)]
pub struct ClockProps {
    /// The simulation.
    pub sim: Sim,
    /// Simulated time now, in ms (so the bar re-renders every frame while pages refresh less often).
    pub now_ms: u64,
    /// Whether time is running.
    pub running: bool,
    /// Whether the clock is behind real time (too many timers for one frame).
    pub behind: bool,
    /// Current speed.
    pub speed: u32,
    /// Play.
    pub on_play: Callback<()>,
    /// Pause.
    pub on_pause: Callback<()>,
    /// Step.
    pub on_step: Callback<()>,
    /// Choose a speed.
    pub on_speed: Callback<u32>,
}

/// The top bar.
#[component(ClockBar)]
pub fn clock_bar(props: &ClockProps) -> Html {
    let world = props.sim.world.borrow();
    let now = world.now();
    let speeds: Html = SPEEDS
        .iter()
        .map(|&speed| {
            let active = props.speed == speed;
            let on_speed = props.on_speed.clone();
            html! {
                <button
                    class={classes!("speed", active.then_some("active"))}
                    aria-pressed={active.to_string()}
                    data-speed={speed.to_string()}
                    title={format!("Run simulated time {speed} times as fast as real time")}
                    onclick={move |_| on_speed.emit(speed)}
                >{ format!("{speed}×") }</button>
            }
        })
        .collect();
    let on_play = props.on_play.reform(|_: MouseEvent| ());
    let on_pause = props.on_pause.reform(|_: MouseEvent| ());
    let on_step = props.on_step.reform(|_: MouseEvent| ());
    html! {
        <header class="topbar">
            <Link<super::Route> to={super::Route::Dashboard} classes="brand">
                <span class="logo" aria-hidden="true">{ "≋" }</span>
                <span>{ "kinesim" }</span>
            </Link<super::Route>>
            <section class="clock" aria-label="Simulated clock">
                <div class="clock-face">
                    <output id="sim-time" class="sim-time" data-ms={now.as_millis().to_string()}
                        aria-label="Simulated time since the run started">{ now.to_string() }</output>
                    <span id="sim-calendar" class="sim-calendar">{ world.now_iso8601() }</span>
                </div>
                <div class="controls">
                    if props.running {
                        <button id="pause" class="primary" onclick={on_pause}>{ "❚❚ Pause" }</button>
                    } else {
                        <button id="play" class="primary" onclick={on_play}>{ "▶ Play" }</button>
                    }
                    <button id="step" onclick={on_step} title="Jump to the next timer">{ "Step ⇥" }</button>
                    <div class="speeds" role="group" aria-label="Speed">{ speeds }</div>
                </div>
                if props.behind {
                    <span class="behind" role="status" title="This speed fires more timers than a frame can hold">
                        { "catching up" }
                    </span>
                }
            </section>
        </header>
    }
}
