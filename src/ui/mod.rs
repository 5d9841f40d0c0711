//! The Yew shell: the one place where real time enters and becomes simulated time.
//!
//! The [`App`] component owns the [`World`]; a `Msg` changes it; pages read it. While playing, every animation
//! frame turns the real milliseconds since the previous frame, times the speed, into simulated milliseconds (whole
//! microseconds are carried between frames, so no time is lost to rounding) and advances the world with a bounded
//! number of timer firings per frame, so the page stays responsive at any speed.
//!
//! Pages get a [`Sim`] context: a read handle on the world (`world.borrow()` in `view`) and a callback that sends
//! an [`Action`] (an AWS API call or a World command) to the App, which applies it and answers the page's reply
//! callback. Pages never change the world themselves. Routes use a `HashRouter`, so every page can be bookmarked
//! and the site works from any sub-path of a plain static host.

pub mod analytics;
pub mod chart;
pub mod clock;
pub mod compare;
pub mod consumers;
pub mod dashboard;
pub mod firehose;
pub mod firehose_sources;
pub mod format;
pub mod geometry;
pub mod http;
pub mod inspector;
pub mod kcl;
pub mod perf;
pub mod placeholder;
pub mod playground;
pub mod producers;
pub mod s3;
pub mod sandbox;
pub mod scenarios;
pub mod sessions;
pub mod shard_map;
pub mod stream;
pub mod transform_editor;
pub mod transforms;

use crate::api::ApiResponse;
use crate::persist::Journaled;
use crate::sim::{Pacer, SimDuration, SimTime};
use crate::{Command, CommandError, Reply, World, WorldConfig};
use gloo::render::{AnimationFrame, request_animation_frame};
use std::cell::RefCell;
use std::rc::Rc;
use yew::prelude::*;
use yew_router::prelude::*;

/// Seed of the first run after the page loads.
pub const SEED_DEFAULT: u64 = 1;
/// Most timer firings one animation frame may process; past it the clock falls behind real time, never skips.
pub const FIRINGS_PER_FRAME_MAX: u32 = 20_000;
/// How far a single step moves when no timer is pending, in milliseconds.
const IDLE_STEP_MS: u64 = 1_000;
/// Real milliseconds one frame may spend advancing the world; past it the clock falls behind instead of
/// blocking the page (the "catching up" badge shows).
pub const FRAME_WORK_BUDGET_MS: f64 = 10.0;
/// The work budget of a frame that also re-renders the page, in real milliseconds.
pub const REFRESH_FRAME_WORK_BUDGET_MS: f64 = 4.0;
/// Simulated milliseconds advanced between two looks at the frame's work budget.
const SLICE_MS: u64 = 50;
/// While time runs, pages re-render at most this often (real milliseconds); the clock every frame.
pub const PAGE_REFRESH_MS: f64 = 100.0;

/// Mounts the app on the page's body.
pub fn start() {
    yew::Renderer::<App>::new().render();
}

/// Every page, with an address that can be bookmarked (`#/streams/clicks`).
#[derive(Clone, Debug, PartialEq, Routable)]
pub enum Route {
    /// The session at a glance.
    #[at("/")]
    Dashboard,
    /// One data stream: shards, producers, consumers, metrics.
    #[at("/streams/:name")]
    Stream {
        /// The stream's name.
        name: String,
    },
    /// One shard's records.
    #[at("/streams/:name/shards/:shard")]
    Shard {
        /// The stream's name.
        name: String,
        /// The shard's id.
        shard: String,
    },
    /// Amazon Data Firehose: the delivery streams and the create form.
    #[at("/firehose")]
    Firehose,
    /// One delivery stream: buffers, flushes, deliveries, metrics.
    #[at("/firehose/:name")]
    DeliveryStream {
        /// The delivery stream's name.
        name: String,
    },
    /// The simulated S3: buckets.
    #[at("/s3")]
    S3,
    /// One bucket's objects.
    #[at("/s3/:bucket")]
    Bucket {
        /// The bucket's name.
        bucket: String,
    },
    /// Data Streams versus Firehose, each row with a live demonstration.
    #[at("/compare")]
    Compare,
    /// SQL analytics applications: the list and the create form.
    #[at("/analytics")]
    Analytics,
    /// One analytics application: live tables, chart, error rows.
    #[at("/analytics/:name")]
    AnalyticsApp {
        /// The application's name.
        name: String,
    },
    /// The AWS SDK playground.
    #[at("/playground")]
    Playground,
    /// Saved sessions.
    #[at("/sessions")]
    Sessions,
    /// Guided scenarios.
    #[at("/scenarios")]
    Scenarios,
    /// One guided scenario.
    #[at("/scenarios/:id")]
    Scenario {
        /// The scenario's id.
        id: String,
    },
    /// A shared scenario run (its file, base64url, in the address).
    #[at("/scenarios/:id/run/:payload")]
    ScenarioRun {
        /// The scenario's id.
        id: String,
        /// The run file.
        payload: String,
    },
    /// Anything else.
    #[not_found]
    #[at("/404")]
    NotFound,
}

/// Something a page asks the App to do to the world.
#[derive(Debug)]
pub enum Action {
    /// A Kinesis Data Streams API call (`CreateStream`, JSON body), answered as AWS answers.
    Kinesis {
        /// The operation, as in `X-Amz-Target`.
        operation: &'static str,
        /// The JSON body.
        body: String,
        /// Gets the answer.
        reply: Callback<ApiResponse>,
    },
    /// An Amazon Data Firehose API call (`CreateDeliveryStream`, JSON body), answered as AWS answers.
    Firehose {
        /// The operation, as in `X-Amz-Target`.
        operation: &'static str,
        /// The JSON body.
        body: String,
        /// Gets the answer.
        reply: Callback<ApiResponse>,
    },
    /// Lets simulated time pass up to `to_ms` (a scenario's "play to"); nothing happens for a time already past.
    AdvanceTo {
        /// Simulated ms.
        to_ms: u64,
    },
    /// Answers a request waiting at the endpoint the learner plays ([`http::answer_played`]).
    AnswerHttp {
        /// The request id.
        request_id: String,
        /// `200`, `200-wrong-id`, `500`, `503`, `413`, `timeout` or `refused`.
        answer: String,
    },
    /// A World command (start a producer, ...).
    Command {
        /// The command.
        command: Command,
        /// Gets the result.
        reply: Callback<Result<Reply, CommandError>>,
    },
}

/// What pages see of the simulation: the world to read and a way to ask for changes.
#[derive(Clone, Debug)]
pub struct Sim {
    /// The world (journaled for the session store; it reads as a [`World`]); borrow it to read in `view`,
    /// never to change it.
    pub world: Rc<RefCell<Journaled>>,
    /// Bumped on every change, so pages re-render.
    pub version: u64,
    /// Sends an [`Action`] to the App.
    pub act: Callback<Action>,
}

impl PartialEq for Sim {
    fn eq(&self, other: &Self) -> bool {
        self.version == other.version && Rc::ptr_eq(&self.world, &other.world)
    }
}

impl Sim {
    /// Calls a Kinesis operation and hands the answer to `reply`.
    pub fn kinesis(&self, operation: &'static str, body: String, reply: Callback<ApiResponse>) {
        self.act.emit(Action::Kinesis {
            operation,
            body,
            reply,
        });
    }

    /// Calls a Firehose operation and hands the answer to `reply`.
    pub fn firehose(&self, operation: &'static str, body: String, reply: Callback<ApiResponse>) {
        self.act.emit(Action::Firehose {
            operation,
            body,
            reply,
        });
    }

    /// Applies a World command and hands the result to `reply`.
    pub fn command(&self, command: Command, reply: Callback<Result<Reply, CommandError>>) {
        self.act.emit(Action::Command { command, reply });
    }
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
    /// Restart the run with this seed.
    Restart(u64),
    /// A page's request.
    Act(Action),
    /// Sessions: loading, autosave, the sessions panel.
    Persist(sessions::PersistMsg),
    /// Replace the run with a shared scenario run.
    LoadScenarioRun(crate::scenarios::ShareFile),
    /// The page session (`kinesim.pageSession()`, the SDK playground) changed the world: re-render, save.
    ApiChanged,
}

/// The root component: owns the world and the clock.
#[derive(Debug)]
pub struct App {
    world: Rc<RefCell<Journaled>>,
    persistence: sessions::Persistence,
    version: u64,
    pacer: Pacer,
    running: bool,
    behind: bool,
    frame: Option<AnimationFrame>,
    /// `performance.now()` of the last page refresh while running.
    published_ms: f64,
    /// Profiling (`perf`): when the last update that re-renders ended, and the version the last render showed.
    updated_ms: f64,
    rendered_version: u64,
}

/// A run as the page starts it: empty, with a note naming the seed; a scenario's seed starts that scenario.
fn new_world(seed: u64) -> World {
    if let Some(scenario) = crate::scenarios::catalog::for_seed(seed) {
        return scenario.build_world();
    }
    let mut world = World::new(WorldConfig::with_seed(seed));
    // Valid by construction; a refusal would still be visible in the event log.
    let _ = world.apply(
        SimTime::ZERO,
        Command::Note {
            text: format!("Run started with seed {seed}"),
        },
    );
    world
}

impl App {
    fn request_frame(&mut self, ctx: &Context<Self>) {
        let link = ctx.link().clone();
        self.frame = Some(request_animation_frame(move |timestamp_ms| {
            link.send_message(Msg::Frame(timestamp_ms))
        }));
    }
}

impl Component for App {
    type Message = Msg;
    type Properties = ();

    fn create(ctx: &Context<Self>) -> Self {
        let world = Rc::new(RefCell::new(Journaled::new(new_world(SEED_DEFAULT))));
        // The page session is this world: SDK calls show in the UI and are saved with the session.
        let durable = Rc::new(sessions::Durability::new(
            ctx.link().callback(|()| Msg::ApiChanged),
        ));
        crate::js_api::install_page_session(Rc::clone(&world), durable.clone());
        App {
            world,
            persistence: sessions::Persistence::new(
                ctx.link().callback(Msg::Persist),
                new_world,
                SEED_DEFAULT,
                durable,
            ),
            version: 0,
            pacer: Pacer::new(),
            running: false,
            behind: false,
            frame: None,
            published_ms: 0.0,
            updated_ms: 0.0,
            rendered_version: 0,
        }
    }

    fn update(&mut self, ctx: &Context<Self>, msg: Self::Message) -> bool {
        let changed = self.update_inner(ctx, msg);
        if changed && perf::enabled() {
            self.updated_ms = perf::now_ms();
        }
        changed
    }

    fn rendered(&mut self, _ctx: &Context<Self>, _first_render: bool) {
        if perf::enabled() {
            let name = if self.rendered_version == self.version {
                "render-clock"
            } else {
                "render-page"
            };
            perf::record(name, self.updated_ms);
            self.rendered_version = self.version;
        }
    }

    fn view(&self, ctx: &Context<Self>) -> Html {
        self.view_inner(ctx)
    }
}

impl App {
    fn update_inner(&mut self, ctx: &Context<Self>, msg: Msg) -> bool {
        let changed = match msg {
            Msg::Persist(msg) => {
                // While time runs, a finished autosave (up to 4 a second) leaves its news to the next frame,
                // which re-renders the shell anyway, instead of re-rendering the whole page on its own.
                let quiet = self.running && matches!(msg, sessions::PersistMsg::Saved { .. });
                let started_ms = perf::now_ms();
                let render = self.persistence.update(msg, &mut self.world.borrow_mut());
                perf::record("persist", started_ms);
                if let Some(speed) = self.persistence.take_prefs().and_then(|p| p.speed) {
                    self.pacer.set_speed(speed);
                }
                render && !quiet
            }
            Msg::ApiChanged => {
                // Saves now when no commit is running (API calls wait for theirs); re-renders either way.
                self.persistence
                    .update(sessions::PersistMsg::Tick, &mut self.world.borrow_mut());
                true
            }
            // A second tab on the same session only looks: nothing it does may change the world.
            Msg::Play | Msg::Step | Msg::Restart(_) | Msg::Act(_) | Msg::LoadScenarioRun(_)
                if self.persistence.read_only() =>
            {
                false
            }
            Msg::Frame(timestamp_ms) => {
                if !self.running {
                    self.frame = None;
                    return false;
                }
                let advance_ms = self.pacer.tick(real_us(timestamp_ms));
                let started_ms = performance_now_ms();
                let refresh = timestamp_ms - self.published_ms >= PAGE_REFRESH_MS;
                // A frame that re-renders the page while the clock is behind does one slice of work, no more: the
                // page and a full budget of world work would not fit one frame, and the clock is behind anyway.
                let budget_ms = match (refresh, self.behind) {
                    (true, true) => 0.0,
                    (true, false) => REFRESH_FRAME_WORK_BUDGET_MS,
                    (false, _) => FRAME_WORK_BUDGET_MS,
                };
                let mut world = self.world.borrow_mut();
                let target = world
                    .now()
                    .saturating_add(SimDuration::from_millis(advance_ms));
                let mut fired = 0u32;
                let mut reached = true;
                // Slices, so a heavy frame stops at the work budget and the clock falls behind, never blocks.
                while world.now() < target {
                    let slice = world
                        .now()
                        .saturating_add(SimDuration::from_millis(SLICE_MS))
                        .min(target);
                    let advance = world.advance_to_bounded(slice, FIRINGS_PER_FRAME_MAX - fired);
                    fired += advance.fired;
                    if !advance.reached
                        || fired >= FIRINGS_PER_FRAME_MAX
                        || performance_now_ms() - started_ms > budget_ms
                    {
                        reached = world.now() >= target;
                        break;
                    }
                }
                drop(world);
                perf::record("advance", started_ms);
                http::pump(&self.world);
                transforms::pump(&self.world);
                self.behind = !reached;
                self.request_frame(ctx);
                if refresh {
                    self.published_ms = timestamp_ms;
                    self.version = self.version.wrapping_add(1);
                }
                return advance_ms > 0 || fired > 0;
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
                let mut world = self.world.borrow_mut();
                if world.step().is_none() {
                    let next = world
                        .now()
                        .saturating_add(SimDuration::from_millis(IDLE_STEP_MS));
                    world.advance_to(next);
                }
                true
            }
            Msg::SetSpeed(speed) => {
                let changed = self.pacer.set_speed(speed);
                if changed {
                    self.persistence
                        .save_prefs(&sessions::UiPrefs { speed: Some(speed) });
                }
                changed
            }
            Msg::LoadScenarioRun(file) => match crate::scenarios::replay(&file) {
                Ok((world, _)) => {
                    // The run's share inputs come with it, so sharing it again (after a reload too) reproduces it.
                    *self.world.borrow_mut() = Journaled::with_share_inputs(world, file.inputs);
                    self.persistence.world_replaced();
                    self.pacer.resync();
                    self.behind = false;
                    true
                }
                Err(_) => false,
            },
            Msg::Restart(seed) => {
                *self.world.borrow_mut() = Journaled::new(new_world(seed));
                self.persistence.world_replaced();
                self.pacer.resync();
                self.behind = false;
                true
            }
            Msg::Act(Action::Kinesis {
                operation,
                body,
                reply,
            }) => {
                let response = {
                    let mut world = self.world.borrow_mut();
                    let now = world.now();
                    world.record_share(crate::scenarios::ScenarioInput::Api {
                        now_ms: now.as_millis(),
                        target: format!("Kinesis_20131202.{operation}"),
                        body: body.clone(),
                    });
                    world.kinesis(now, operation, &body)
                };
                reply.emit(response);
                true
            }
            Msg::Act(Action::Firehose {
                operation,
                body,
                reply,
            }) => {
                let response = {
                    let mut world = self.world.borrow_mut();
                    let now = world.now();
                    let target = format!("{}.{operation}", crate::api::firehose::TARGET_PREFIX);
                    world.record_share(crate::scenarios::ScenarioInput::Api {
                        now_ms: now.as_millis(),
                        target: target.clone(),
                        body: body.clone(),
                    });
                    // Journaled through `call`, which journals every AWS target.
                    world.call(now, &target, &body)
                };
                reply.emit(response);
                true
            }
            Msg::Act(Action::AdvanceTo { to_ms }) => {
                let mut world = self.world.borrow_mut();
                if to_ms <= world.now().as_millis() {
                    return false;
                }
                world.advance_to(SimTime::from_millis(to_ms));
                world.record_share(crate::scenarios::ScenarioInput::Advance { to_ms });
                drop(world);
                http::pump(&self.world);
                transforms::pump(&self.world);
                true
            }
            Msg::Act(Action::AnswerHttp { request_id, answer }) => {
                http::answer_played(&self.world, &request_id, &answer)
            }
            Msg::Act(Action::Command { command, reply }) => {
                let result = {
                    let mut world = self.world.borrow_mut();
                    let now = world.now();
                    world.record_share(crate::scenarios::ScenarioInput::Command {
                        now_ms: now.as_millis(),
                        command: command.clone(),
                    });
                    world.apply(now, command)
                };
                reply.emit(result);
                true
            }
        };
        if changed {
            self.version = self.version.wrapping_add(1);
        }
        changed
    }

    fn view_inner(&self, ctx: &Context<Self>) -> Html {
        let link = ctx.link();
        let sim = Sim {
            world: self.world.clone(),
            version: self.version,
            act: link.callback(Msg::Act),
        };
        let clock = clock::ClockProps {
            sim: sim.clone(),
            now_ms: self.world.borrow().now().as_millis(),
            running: self.running,
            behind: self.behind,
            speed: self.pacer.speed(),
            on_play: link.callback(|_| Msg::Play),
            on_pause: link.callback(|_| Msg::Pause),
            on_step: link.callback(|_| Msg::Step),
            on_speed: link.callback(Msg::SetSpeed),
        };
        let on_restart = link.callback(Msg::Restart);
        let on_load = link.callback(Msg::LoadScenarioRun);
        let sessions_panel = self.persistence.view(&link.callback(Msg::Persist));
        html! {
            <HashRouter>
                <ContextProvider<Sim> context={sim}>
                    <div class="shell">
                        <clock::ClockBar ..clock />
                        <nav::Nav />
                        <main class="content" id="content">
                            <Switch<Route> render={move |route| switch(route, on_restart.clone(), on_load.clone(), sessions_panel.clone())} />
                        </main>
                    </div>
                </ContextProvider<Sim>>
            </HashRouter>
        }
    }
}

fn switch(
    route: Route,
    on_restart: Callback<u64>,
    on_load: Callback<crate::scenarios::ShareFile>,
    sessions_panel: Html,
) -> Html {
    match route {
        // The session card sits on the dashboard too: where the run is saved is part of the session at a glance.
        Route::Dashboard => html! {
            <>
                <dashboard::Dashboard {on_restart} />
                { sessions_panel }
            </>
        },
        Route::Stream { name } => html! { <stream::StreamPage {name} /> },
        Route::Shard { name, shard } => html! { <inspector::InspectorPage {name} {shard} /> },
        Route::Firehose => html! { <firehose::FirehoseList /> },
        Route::DeliveryStream { name } => html! { <firehose::DeliveryStreamPage {name} /> },
        Route::S3 => html! { <s3::S3Browser bucket={None::<String>} /> },
        Route::Bucket { bucket } => html! { <s3::S3Browser bucket={Some(bucket)} /> },
        Route::Compare => html! { <compare::ComparePage /> },
        Route::Analytics => html! { <analytics::AnalyticsPage /> },
        Route::AnalyticsApp { name } => html! { <analytics::AppPage {name} /> },
        Route::Playground => html! {
            <div class="page">
                <div class="page-head"><h1>{ "AWS SDK playground" }</h1></div>
                <playground::Playground />
            </div>
        },
        Route::Sessions => html! {
            <div class="page">
                <div class="page-head"><h1>{ "Sessions" }</h1></div>
                { sessions_panel }
            </div>
        },
        Route::Scenarios => html! { <scenarios::ScenarioList /> },
        Route::Scenario { id } => {
            html! { <scenarios::ScenarioPage {id} {on_restart} {on_load} /> }
        }
        Route::ScenarioRun { id, payload } => {
            html! { <scenarios::ScenarioPage {id} {on_restart} {on_load} payload={Some(payload)} /> }
        }
        Route::NotFound => html! { <placeholder::NotFound /> },
    }
}

/// The side navigation: the session's resources by service.
mod nav {
    use super::{Route, Sim};
    use yew::prelude::*;
    use yew_router::prelude::*;

    #[component(Nav)]
    pub fn nav() -> Html {
        let sim = use_context::<Sim>();
        let route = use_route::<Route>();
        let apps: Vec<String> = sim
            .as_ref()
            .map(|sim| {
                sim.world
                    .borrow()
                    .analytics_apps()
                    .keys()
                    .cloned()
                    .collect()
            })
            .unwrap_or_default();
        let (names, deliveries): (Vec<String>, Vec<String>) = sim
            .map(|sim| {
                let world = sim.world.borrow();
                (
                    world.streams().stream_names().map(str::to_string).collect(),
                    world
                        .firehose_service()
                        .names()
                        .map(str::to_string)
                        .collect(),
                )
            })
            .unwrap_or_default();
        let current = |r: &Route| {
            if route.as_ref() == Some(r) {
                Some("page")
            } else {
                None
            }
        };
        let item = |r: Route, label: Html, class: &'static str| {
            let aria = current(&r);
            html! {
                <li class={class}>
                    <Link<Route> to={r} classes={classes!(aria.map(|_| "active"))}>{ label }</Link<Route>>
                </li>
            }
        };
        let streams: Html = names
            .into_iter()
            .map(|name| {
                let active = matches!(&route, Some(Route::Stream { name: n } | Route::Shard { name: n, .. }) if *n == name);
                html! {
                    <li class="sub">
                        <Link<Route> to={Route::Stream { name: name.clone() }}
                            classes={classes!(active.then_some("active"))}>
                            <span class="dot" aria-hidden="true"></span>{ name }
                        </Link<Route>>
                    </li>
                }
            })
            .collect();
        let deliveries: Html = deliveries
            .into_iter()
            .map(|name| {
                let active =
                    matches!(&route, Some(Route::DeliveryStream { name: n }) if *n == name);
                html! {
                    <li class="sub">
                        <Link<Route> to={Route::DeliveryStream { name: name.clone() }}
                            classes={classes!(active.then_some("active"))}>
                            <span class="dot fh" aria-hidden="true"></span>{ name }
                        </Link<Route>>
                    </li>
                }
            })
            .collect();
        let in_s3 = matches!(&route, Some(Route::S3 | Route::Bucket { .. }));
        html! {
            <nav class="sidebar" aria-label="Resources">
                <ul>
                    { item(Route::Dashboard, html!{ "Dashboard" }, "top") }
                    { item(Route::Scenarios, html!{ "Scenarios" }, "top") }
                    <li class="group">{ "Data Streams" }</li>
                    { streams }
                    <li class="group">{ "Firehose" }</li>
                    { item(Route::Firehose, html!{ "Delivery streams" }, "sub") }
                    { deliveries }
                    <li class="sub">
                        <Link<Route> to={Route::S3} classes={classes!(in_s3.then_some("active"))}>{ "S3 buckets" }</Link<Route>>
                    </li>
                    { item(Route::Compare, html!{ "Streams vs Firehose" }, "sub") }
                    <li class="group">{ "Analytics" }</li>
                    { item(Route::Analytics, html!{ "Applications" }, "sub") }
                    { for apps.into_iter().map(|name| {
                        let active = matches!(&route, Some(Route::AnalyticsApp { name: n }) if *n == name);
                        html! {
                            <li class="sub">
                                <Link<Route> to={Route::AnalyticsApp { name: name.clone() }}
                                    classes={classes!(active.then_some("active"))}>
                                    <span class="dot" aria-hidden="true"></span>{ name }
                                </Link<Route>>
                            </li>
                        }
                    }) }
                    <li class="group">{ "Tools" }</li>
                    { item(Route::Playground, html!{ "SDK playground" }, "sub") }
                    { item(Route::Sessions, html!{ "Sessions" }, "sub") }
                </ul>
            </nav>
        }
    }
}

/// `performance.now()` in milliseconds (0 when the page has no performance clock).
fn performance_now_ms() -> f64 {
    web_sys::window()
        .and_then(|w| w.performance())
        .map_or(0.0, |p| p.now())
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
