//! The dashboard: the session at a glance. Data streams (create one here), delivery streams and analytics
//! applications, the run's seed and fingerprint, and the event log.

use super::format::{count, parse_in_range, validate_stream_name};
use super::{Route, Sim};
use crate::api::ApiResponse;
use crate::streams::metrics::Metric;
use serde_json::json;
use web_sys::{HtmlInputElement, HtmlSelectElement};
use yew::prelude::*;
use yew_router::prelude::*;

/// How many recent events the log lists.
const EVENTS_SHOWN: usize = 14;

/// The dashboard's properties.
#[derive(Clone, Debug, PartialEq, Properties)]
pub struct DashboardProps {
    /// Restarts the run with a seed.
    pub on_restart: Callback<u64>,
}

/// The dashboard page.
#[component(Dashboard)]
pub fn dashboard(props: &DashboardProps) -> Html {
    let Some(sim) = use_context::<Sim>() else {
        return html! {};
    };
    html! {
        <div class="page dashboard">
            <div class="page-head">
                <h1>{ "Session" }</h1>
                <p class="lead">{ "Everything in this run: streams you create, the producers writing to them and the consumers reading them, on simulated time." }</p>
            </div>
            <div class="grid two">
                <CreateStream sim={sim.clone()} />
                <SessionCard sim={sim.clone()} on_restart={props.on_restart.clone()} />
            </div>
            <StreamsTable sim={sim.clone()} />
            <div class="grid two">
                <FirehoseCard sim={sim.clone()} />
                <section class="card" aria-labelledby="analytics-h">
                    <h2 id="analytics-h">{ "Analytics applications" }</h2>
                    <p>{ format!("{} applications: continuous SQL over a stream with tumbling, sliding and stagger windows, live results and charts.", sim.world.borrow().analytics_apps().len()) }</p>
                    <Link<Route> to={Route::Analytics}>{ "Open analytics →" }</Link<Route>>
                </section>
            </div>
            <EventLog sim={sim} />
        </div>
    }
}

#[derive(Clone, Debug, PartialEq, Properties)]
struct SimProps {
    sim: Sim,
}

/// The session's delivery streams, with links to them, the S3 browser and the comparison.
#[component(FirehoseCard)]
fn firehose_card(props: &SimProps) -> Html {
    let world = props.sim.world.borrow();
    let fh = world.firehose_service();
    let items: Html = fh
        .names()
        .map(|name| {
            let buffered: u64 = fh.buffers(name).map(|b| b.records.len() as u64).sum();
            html! {
                <li><Link<Route> to={Route::DeliveryStream { name: name.to_string() }}>{ name }</Link<Route>>
                    <span class="hint">{ format!(" · {} buffered", count(buffered)) }</span></li>
            }
        })
        .collect();
    let empty = fh.names().next().is_none();
    html! {
        <section class="card" aria-labelledby="firehose-h">
            <h2 id="firehose-h">{ "Firehose delivery streams" }</h2>
            if empty {
                <p>{ "Buffer records by size and time, then deliver them to S3 as objects." }</p>
            } else {
                <ul class="plain" id="dashboard-firehose">{ items }</ul>
            }
            <p class="actions">
                <Link<Route> to={Route::Firehose}>{ "Create a delivery stream →" }</Link<Route>>
                <Link<Route> to={Route::S3}>{ "S3 buckets →" }</Link<Route>>
                <Link<Route> to={Route::Compare}>{ "Data Streams vs Firehose →" }</Link<Route>>
            </p>
        </section>
    }
}

/// The create-stream form: provisioned with N shards, or on-demand, through the CreateStream API.
#[component(CreateStream)]
fn create_stream(props: &SimProps) -> Html {
    let name = use_state(|| "clickstream".to_string());
    let mode = use_state(|| "PROVISIONED".to_string());
    let shards = use_state(|| "2".to_string());
    let message = use_state(|| None::<Result<String, String>>);
    let navigator = use_navigator();
    let on_submit = {
        let (name, mode, shards, message, sim) = (
            name.clone(),
            mode.clone(),
            shards.clone(),
            message.clone(),
            props.sim.clone(),
        );
        Callback::from(move |e: SubmitEvent| {
            e.prevent_default();
            let stream = name.trim().to_string();
            if let Err(m) = validate_stream_name(&stream) {
                message.set(Some(Err(m)));
                return;
            }
            let body = if *mode == "ON_DEMAND" {
                json!({"StreamName": stream, "StreamModeDetails": {"StreamMode": "ON_DEMAND"}})
            } else {
                match parse_in_range(&shards, 1, 500, "Shard count") {
                    Ok(n) => json!({"StreamName": stream, "ShardCount": n}),
                    Err(m) => {
                        message.set(Some(Err(m)));
                        return;
                    }
                }
            };
            let (message, navigator) = (message.clone(), navigator.clone());
            let created = stream.clone();
            sim.kinesis(
                "CreateStream",
                body.to_string(),
                Callback::from(move |r: ApiResponse| {
                    if r.status == 200 {
                        message.set(Some(Ok(format!(
                            "Stream {created} is CREATING; it becomes ACTIVE after 10 simulated seconds."
                        ))));
                        if let Some(nav) = &navigator {
                            nav.push(&Route::Stream {
                                name: created.clone(),
                            });
                        }
                    } else {
                        message.set(Some(Err(error_text(&r))));
                    }
                }),
            );
        })
    };
    let text_input = |state: &UseStateHandle<String>| {
        let state = state.clone();
        Callback::from(move |e: InputEvent| {
            state.set(e.target_unchecked_into::<HtmlInputElement>().value())
        })
    };
    let on_mode = {
        let mode = mode.clone();
        Callback::from(move |e: Event| {
            mode.set(e.target_unchecked_into::<HtmlSelectElement>().value())
        })
    };
    html! {
        <section class="card" aria-labelledby="create-h">
            <h2 id="create-h">{ "Create a data stream" }</h2>
            <form class="form" onsubmit={on_submit}>
                <label for="new-stream-name">{ "Name" }</label>
                <input id="new-stream-name" value={(*name).clone()} oninput={text_input(&name)}
                    autocomplete="off" spellcheck="false" />
                <label for="new-stream-mode">{ "Capacity mode" }</label>
                <select id="new-stream-mode" onchange={on_mode}>
                    <option value="PROVISIONED" selected={*mode == "PROVISIONED"}>{ "Provisioned: you choose the shards" }</option>
                    <option value="ON_DEMAND" selected={*mode == "ON_DEMAND"}>{ "On-demand: shards follow traffic" }</option>
                </select>
                if *mode == "PROVISIONED" {
                    <label for="new-stream-shards">{ "Shards" }</label>
                    <input id="new-stream-shards" type="number" min="1" max="500" value={(*shards).clone()}
                        oninput={text_input(&shards)} />
                    <p class="hint">{ "Each shard takes 1 MiB/s or 1,000 records/s in, 2 MiB/s out." }</p>
                }
                <div class="actions">
                    <button id="create-stream" class="primary" type="submit">{ "Create stream" }</button>
                </div>
                { feedback(&message) }
            </form>
        </section>
    }
}

/// A result line under a form: success as status, failure as alert.
pub fn feedback(message: &Option<Result<String, String>>) -> Html {
    match message {
        Some(Ok(text)) => html! { <p class="ok" role="status">{ text }</p> },
        Some(Err(text)) => html! { <p class="error" role="alert">{ text }</p> },
        None => html! {},
    }
}

/// An AWS error answer as one line: `LimitExceededException: ...`.
pub fn error_text(r: &ApiResponse) -> String {
    let message = serde_json::from_str::<serde_json::Value>(&r.body)
        .ok()
        .and_then(|v| {
            v.get("message")
                .and_then(|m| m.as_str())
                .map(str::to_string)
        })
        .unwrap_or_else(|| r.body.clone());
    match r.error_type {
        Some(kind) => format!("{kind}: {message}"),
        None => message,
    }
}

#[derive(Clone, Debug, PartialEq, Properties)]
struct SessionProps {
    sim: Sim,
    on_restart: Callback<u64>,
}

/// The run: seed, event count, fingerprint; restart with another seed.
#[component(SessionCard)]
fn session_card(props: &SessionProps) -> Html {
    let world = props.sim.world.borrow();
    let seed = world.config().seed;
    let seed_input = use_state(|| seed.to_string());
    let seed_error = use_state(|| None::<String>);
    let on_input = {
        let (seed_input, seed_error) = (seed_input.clone(), seed_error.clone());
        Callback::from(move |e: InputEvent| {
            seed_input.set(e.target_unchecked_into::<HtmlInputElement>().value());
            seed_error.set(None);
        })
    };
    let on_submit = {
        let (seed_input, seed_error, on_restart) = (
            seed_input.clone(),
            seed_error.clone(),
            props.on_restart.clone(),
        );
        Callback::from(move |e: SubmitEvent| {
            e.prevent_default();
            match seed_input.trim().parse::<u64>() {
                Ok(seed) => {
                    seed_error.set(None);
                    on_restart.emit(seed);
                }
                Err(_) => seed_error.set(Some(format!(
                    "The seed must be a whole number from 0 to {}.",
                    u64::MAX
                ))),
            }
        })
    };
    let next_timer = world
        .poll_timeout()
        .map_or_else(|| "none".to_string(), |t| t.to_string());
    html! {
        <section class="card" aria-labelledby="session-h">
            <h2 id="session-h">{ "Run" }</h2>
            <dl class="stats">
                <div><dt>{ "Seed" }</dt><dd id="run-seed">{ seed }</dd></div>
                <div><dt>{ "Events" }</dt><dd id="event-count">{ world.event_count() }</dd></div>
                <div><dt>{ "Next timer" }</dt><dd>{ next_timer }</dd></div>
                { records_kept(&world) }
                <div>
                    <dt>{ "Event log hash" }</dt>
                    <dd id="event-hash" class="mono" title="Same seed and same actions give the same hash">
                        { world.event_log_hash().get(..16).unwrap_or_default() }
                    </dd>
                </div>
            </dl>
            <form class="seed inline" onsubmit={on_submit}>
                <label for="seed">{ "Seed" }</label>
                <input id="seed" type="text" inputmode="numeric" autocomplete="off" spellcheck="false"
                    value={(*seed_input).clone()} oninput={on_input}
                    aria-invalid={seed_error.is_some().to_string()} />
                <button id="restart" type="submit">{ "Restart with seed" }</button>
            </form>
            if let Some(error) = &*seed_error {
                <p class="error" role="alert">{ error }</p>
            }
            <p class="hint">{ "The same seed and the same actions give the same run, event for event." }</p>
        </section>
    }
}

/// Every data stream with its state, shards and traffic.
#[component(StreamsTable)]
fn streams_table(props: &SimProps) -> Html {
    let world = props.sim.world.borrow();
    let now = world.now();
    let minute = now.as_millis() / 60_000;
    let streams = world.streams();
    let rows: Html = streams
        .stream_names()
        .filter_map(|name| streams.stream_view(name, now))
        .map(|view| {
            let producers = world
                .producers()
                .values()
                .filter(|p| p.running() && p.producer.stream == view.name)
                .count();
            let consumers = world
                .consumers()
                .values()
                .filter(|c| c.running() && c.consumer.stream == view.name)
                .count();
            let incoming = streams
                .stream_metrics(&view.name)
                .unwrap_or_default()
                .into_iter()
                .filter(|(t, m, _)| t.as_millis() / 60_000 == minute && *m == Metric::IncomingRecords)
                .map(|(_, _, v)| v)
                .sum::<u64>();
            let status = view.status.as_str();
            html! {
                <tr>
                    <td><Link<Route> to={Route::Stream { name: view.name.clone() }}>{ &view.name }</Link<Route>></td>
                    <td><span class={classes!("badge", status.to_ascii_lowercase())}>{ status }</span></td>
                    <td>{ view.mode.as_str() }</td>
                    <td class="num">{ view.open_shard_count }</td>
                    <td class="num">{ producers }</td>
                    <td class="num">{ consumers }</td>
                    <td class="num">{ count(incoming) }</td>
                </tr>
            }
        })
        .collect();
    let empty = streams.stream_names().next().is_none();
    html! {
        <section class="card" aria-labelledby="streams-h">
            <h2 id="streams-h">{ "Data streams" }</h2>
            if empty {
                <p class="empty">{ "No streams yet. Create one above, then start a producer on its page." }</p>
            } else {
                <table class="table" id="streams-table">
                    <thead><tr>
                        <th scope="col">{ "Name" }</th><th scope="col">{ "Status" }</th><th scope="col">{ "Mode" }</th>
                        <th scope="col" class="num">{ "Open shards" }</th><th scope="col" class="num">{ "Producers" }</th>
                        <th scope="col" class="num">{ "Consumers" }</th><th scope="col" class="num">{ "Records in, this minute" }</th>
                    </tr></thead>
                    <tbody>{ rows }</tbody>
                </table>
            }
        </section>
    }
}

/// The most recent events.
#[component(EventLog)]
fn event_log(props: &SimProps) -> Html {
    let world = props.sim.world.borrow();
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
    html! {
        <section class="card" aria-labelledby="log-h">
            <h2 id="log-h">{ "Event log" }</h2>
            <ol id="events" class="events">{ events }</ol>
        </section>
    }
}

/// One line of text for an event.
pub fn describe(kind: &crate::EventKind) -> String {
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
        E::LambdaMapping {
            uuid,
            action,
            detail,
        } => format!(
            "lambda mapping {}: {action} {detail}",
            uuid.get(..8).unwrap_or(uuid)
        ),
        E::Firehose {
            delivery_stream,
            what,
            detail,
        } => format!("firehose {delivery_stream}: {what}: {detail}"),
        E::Analytics {
            name,
            action,
            detail,
        } => format!("analytics {name}: {action} {detail}"),
        E::Kcl {
            application,
            action,
            detail,
        } => format!("kcl {application}: {action}: {detail}"),
        E::Kpl {
            producer,
            action,
            detail,
        } => format!("kpl {producer}: {action}: {detail}"),
        E::FirehoseSource {
            source,
            action,
            detail,
        } => format!("source {source}: {action}: {detail}"),
    }
}

/// "Records kept: X MiB of Y MiB" across all streams, as one `<div>` of a stats list: the simulator's bound on
/// kept record bytes (a put past it is refused), marked when 90% full.
pub(super) fn records_kept(world: &crate::World) -> Html {
    use crate::streams::service::format_mib;
    let streams = world.streams();
    let (kept, max) = (
        streams.records_kept_bytes(),
        streams.records_kept_bytes_max(),
    );
    let nearly_full = kept >= max / 10 * 9;
    html! {
        <div title="Bytes of records kept across all streams (data, partition key and 64 bytes a record), against the simulator's bound; past it puts fail with InternalFailure. Delete a stream or let retention expire records to free room.">
            <dt>{ "Records kept" }</dt>
            <dd id="records-kept" class={classes!(nearly_full.then_some("warn"))}>{ format!("{} of {}", format_mib(kept), format_mib(max)) }</dd>
        </div>
    }
}
