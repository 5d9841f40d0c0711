//! The Yew shell: the one place where real time enters and becomes simulated time.
//!
//! The [`App`] component owns the [`World`]; a `Msg` changes it; the view reads it. While playing, every animation
//! frame turns the real milliseconds since the previous frame, times the speed, into simulated milliseconds (whole
//! microseconds are carried between frames, so no time is lost to rounding) and advances the world with a bounded
//! number of timer firings per frame, so the page stays responsive at any speed.

use crate::sim::pacer::SPEEDS;
use crate::sim::{Pacer, SimDuration, SimTime};
use crate::{Command, World, WorldConfig};
use gloo::render::{AnimationFrame, request_animation_frame};
use web_sys::HtmlInputElement;
use yew::prelude::*;

/// Seed of the first run after the page loads.
pub const SEED_DEFAULT: u64 = 1;
/// Most timer firings one animation frame may process; past it the clock falls behind real time, never skips.
pub const FIRINGS_PER_FRAME_MAX: u32 = 20_000;
/// How many recent events the log panel lists.
const EVENTS_SHOWN: usize = 12;
/// How far a single step moves when no timer is pending, in milliseconds.
const IDLE_STEP_MS: u64 = 1_000;

/// Mounts the app on the page's body.
pub fn start() {
    yew::Renderer::<App>::new().render();
}

/// Messages that change the app's model.
#[derive(Debug)]
pub enum Msg {
    /// An animation frame at this `performance.now()` timestamp, in milliseconds.
    Frame(f64),
    /// Start advancing simulated time with real time.
    Play,
    /// Stop advancing.
    Pause,
    /// Jump to the next timer (or one second when none is pending).
    Step,
    /// Simulated milliseconds per real millisecond.
    SetSpeed(u32),
    /// The seed field changed.
    SeedInput(String),
    /// Restart the run with the seed in the field.
    ApplySeed,
}

/// The root component.
#[derive(Debug)]
pub struct App {
    world: World,
    pacer: Pacer,
    running: bool,
    behind: bool,
    seed_input: String,
    seed_error: Option<String>,
    frame: Option<AnimationFrame>,
}

/// A run as the page starts it: a few tickers so there is something to watch on the clock.
fn demo_world(seed: u64) -> World {
    let mut world = World::new(WorldConfig::with_seed(seed));
    let setup = [
        Command::Note {
            text: format!("Run started with seed {seed}"),
        },
        Command::StartTicker {
            name: "heartbeat".into(),
            period_ms: 1_000,
            jitter_ms: 0,
        },
        Command::StartTicker {
            name: "producer".into(),
            period_ms: 200,
            jitter_ms: 300,
        },
        Command::StartTicker {
            name: "consumer".into(),
            period_ms: 1_000,
            jitter_ms: 250,
        },
    ];
    for command in setup {
        // These commands are valid by construction; a refusal would still be visible in the event log.
        let _ = world.apply(SimTime::ZERO, command);
    }
    world
}

impl App {
    fn request_frame(&mut self, ctx: &Context<Self>) {
        let link = ctx.link().clone();
        self.frame = Some(request_animation_frame(move |timestamp_ms| {
            link.send_message(Msg::Frame(timestamp_ms))
        }));
    }

    fn restart(&mut self, seed: u64) {
        self.world = demo_world(seed);
        self.pacer.resync();
        self.behind = false;
    }
}

impl Component for App {
    type Message = Msg;
    type Properties = ();

    fn create(_ctx: &Context<Self>) -> Self {
        App {
            world: demo_world(SEED_DEFAULT),
            pacer: Pacer::new(),
            running: false,
            behind: false,
            seed_input: SEED_DEFAULT.to_string(),
            seed_error: None,
            frame: None,
        }
    }

    fn update(&mut self, ctx: &Context<Self>, msg: Self::Message) -> bool {
        match msg {
            Msg::Frame(timestamp_ms) => {
                if !self.running {
                    self.frame = None;
                    return false;
                }
                let advance_ms = self.pacer.tick(real_us(timestamp_ms));
                let target = self
                    .world
                    .now()
                    .saturating_add(SimDuration::from_millis(advance_ms));
                let advance = self.world.advance_to_bounded(target, FIRINGS_PER_FRAME_MAX);
                self.behind = !advance.reached;
                self.request_frame(ctx);
                advance_ms > 0 || advance.fired > 0
            }
            Msg::Play => {
                if self.running {
                    return false;
                }
                self.running = true;
                self.pacer.resync();
                self.request_frame(ctx);
                true
            }
            Msg::Pause => {
                self.running = false;
                self.behind = false;
                self.frame = None;
                true
            }
            Msg::Step => {
                if self.world.step().is_none() {
                    let next = self
                        .world
                        .now()
                        .saturating_add(SimDuration::from_millis(IDLE_STEP_MS));
                    self.world.advance_to(next);
                }
                true
            }
            Msg::SetSpeed(speed) => self.pacer.set_speed(speed),
            Msg::SeedInput(text) => {
                self.seed_input = text;
                self.seed_error = None;
                true
            }
            Msg::ApplySeed => {
                match self.seed_input.trim().parse::<u64>() {
                    Ok(seed) => {
                        self.seed_error = None;
                        self.restart(seed);
                    }
                    Err(_) => {
                        self.seed_error = Some(format!(
                            "The seed must be a whole number from 0 to {}.",
                            u64::MAX
                        ));
                    }
                }
                true
            }
        }
    }

    fn view(&self, ctx: &Context<Self>) -> Html {
        let link = ctx.link();
        let world = &self.world;
        let now = world.now();
        let next_timer = world
            .poll_timeout()
            .map_or_else(|| "none".to_string(), |t| t.to_string());
        let speed_buttons: Html = SPEEDS
            .iter()
            .map(|&speed| {
                let active = self.pacer.speed() == speed;
                html! {
                    <button
                        class={classes!("speed", active.then_some("active"))}
                        aria-pressed={active.to_string()}
                        data-speed={speed.to_string()}
                        onclick={link.callback(move |_| Msg::SetSpeed(speed))}
                    >{ format!("{speed}×") }</button>
                }
            })
            .collect();
        let events: Html = world
            .events()
            .rev()
            .take(EVENTS_SHOWN)
            .map(|event| {
                html! {
                    <li>
                        <span class="event-time">{ event.at.to_string() }</span>
                        <span class="event-text">{ describe(&event.kind) }</span>
                    </li>
                }
            })
            .collect();
        let on_seed_input = link.callback(|e: InputEvent| {
            Msg::SeedInput(e.target_unchecked_into::<HtmlInputElement>().value())
        });
        let on_seed_submit = link.callback(|e: SubmitEvent| {
            e.prevent_default();
            Msg::ApplySeed
        });
        html! {
            <main class="app">
                <header class="masthead">
                    <h1>{ "kinesim" }</h1>
                    <p class="tagline">{ "A deterministic Amazon Kinesis simulator, in your browser." }</p>
                </header>

                <section class="panel clock" aria-label="Simulated clock">
                    <div class="clock-face">
                        <output id="sim-time" class="sim-time" data-ms={now.as_millis().to_string()}>
                            { now.to_string() }
                        </output>
                        <div id="sim-calendar" class="sim-calendar">{ world.now_iso8601() }</div>
                        if self.behind {
                            <div class="behind" role="status">
                                { "Catching up: this speed fires more timers than a frame can hold." }
                            </div>
                        }
                    </div>
                    <div class="controls">
                        if self.running {
                            <button id="pause" class="primary" onclick={link.callback(|_| Msg::Pause)}>
                                { "Pause" }
                            </button>
                        } else {
                            <button id="play" class="primary" onclick={link.callback(|_| Msg::Play)}>
                                { "Play" }
                            </button>
                        }
                        <button id="step" onclick={link.callback(|_| Msg::Step)}
                            title="Jump to the next timer">{ "Step" }</button>
                        <div class="speeds" role="group" aria-label="Speed">{ speed_buttons }</div>
                    </div>
                    <form class="seed" onsubmit={on_seed_submit}>
                        <label for="seed">{ "Seed" }</label>
                        <input id="seed" type="text" inputmode="numeric" autocomplete="off" spellcheck="false"
                            value={self.seed_input.clone()} oninput={on_seed_input}
                            aria-invalid={self.seed_error.is_some().to_string()} />
                        <button id="restart" type="submit">{ "Restart with seed" }</button>
                        if let Some(error) = &self.seed_error {
                            <p class="error" role="alert">{ error }</p>
                        }
                    </form>
                </section>

                <section class="panel stats" aria-label="Run">
                    <dl>
                        <div><dt>{ "Seed" }</dt><dd id="run-seed">{ world.config().seed }</dd></div>
                        <div><dt>{ "Events" }</dt><dd id="event-count">{ world.event_count() }</dd></div>
                        <div><dt>{ "Next timer" }</dt><dd>{ next_timer }</dd></div>
                        <div>
                            <dt>{ "Event log hash" }</dt>
                            <dd id="event-hash" class="hash" title="Same seed and same actions give the same hash">
                                { world.event_log_hash().get(..16).unwrap_or_default() }
                            </dd>
                        </div>
                    </dl>
                </section>

                <section class="panel log" aria-label="Event log">
                    <h2>{ "Event log" }</h2>
                    <ol id="events" class="events">{ events }</ol>
                </section>
            </main>
        }
    }
}

/// A `performance.now()` timestamp in whole microseconds (the one place a float becomes simulated time).
fn real_us(timestamp_ms: f64) -> u64 {
    if timestamp_ms.is_finite() && timestamp_ms > 0.0 {
        // `as` saturates from float to integer; a page would have to stay open 584,000 years to reach the top.
        #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
        let us = (timestamp_ms * 1_000.0) as u64;
        us
    } else {
        0
    }
}

/// One line of text for an event.
fn describe(kind: &crate::EventKind) -> String {
    use crate::EventKind as E;
    match kind {
        E::Note { text } => text.clone(),
        E::AlarmSet { name, due } => format!("alarm {name} set for {due}"),
        E::AlarmFired { name } => format!("alarm {name} fired"),
        E::TickerStarted {
            name,
            period_ms,
            jitter_ms,
            ..
        } => format!("ticker {name} started: every {period_ms} ms + up to {jitter_ms} ms"),
        E::TickerFired { name, count, .. } => format!("{name} #{count}"),
        E::Cancelled { name } => format!("{name} cancelled"),
        E::Drawn {
            stream,
            bound,
            value,
        } => format!("drew {value} from {stream} (0..{bound})"),
        E::Rejected { error } => format!("refused: {}", error.message),
        E::ProducerStarted {
            name,
            stream,
            records_per_s,
        } => format!("producer {name} started on {stream} at {records_per_s} records/s"),
        E::ProducerStopped {
            name,
            acknowledged,
            throttled,
        } => format!("producer {name} stopped: {acknowledged} acknowledged, {throttled} throttled"),
        E::ConsumerStarted {
            name,
            stream,
            iterator_type,
        } => format!("consumer {name} reading {stream} from {iterator_type}"),
        E::ConsumerStopped { name, records } => {
            format!("consumer {name} stopped after {records} records")
        }
        E::ApiCall {
            service,
            operation,
            status,
            error,
            ..
        } => match error {
            Some(error) => format!("{service} {operation}: {status} {error}"),
            None => format!("{service} {operation}: {status}"),
        },
    }
}
