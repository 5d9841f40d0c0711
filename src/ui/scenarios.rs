//! Guided scenarios: the list with progress, and one scenario's page: goal, steps, hints on request, live check
//! status, the explanation once every check passed, restart, share (a run file or a link), the controls the steps
//! need (send records to a data stream or a delivery stream, play to a simulated time, links to the pages that show
//! the result), an API console for calls the other pages do not make, and the run's cost.
//!
//! Starting a scenario restarts the session with the scenario's seed: the App builds that seed's world from the
//! scenario's setup ([`crate::scenarios::catalog::for_seed`]). Progress is kept with the session: a check that
//! passes writes a note into the event log (a journaled command, so it persists and replays), and the page reads
//! passes back from those notes and from the live checks.

use super::{Route, Sim};
use crate::api::ApiResponse;
use crate::cost::{Bill, PriceTable, Usage};
use crate::scenarios::catalog::{SCENARIOS, find, for_seed};
use crate::scenarios::{
    PASS_NOTE_PREFIX, Scenario, ShareFile, Status, UiSupport, passed_from_notes,
};
use crate::{Command, Reply, World};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use std::collections::BTreeSet;
use wasm_bindgen::JsCast;
use web_sys::{HtmlSelectElement, HtmlTextAreaElement};
use yew::prelude::*;
use yew_router::prelude::*;

/// The scenario whose delivery streams POST to the endpoint the learner plays.
const HTTP_ENDPOINT_SCENARIO: &str = "http-endpoint-retries";
/// Most characters of a request's records shown in the played endpoint's table.
const REQUEST_PREVIEW_CHARS_MAX: u32 = 160;
/// The played endpoint's answers: the word [`crate::scenarios::endpoint_transport`] reads, and the button's label.
const ENDPOINT_ANSWERS: &[(&str, &str)] = &[
    ("200", "200, its requestId"),
    (
        crate::scenarios::ANSWER_WRONG_REQUEST_ID,
        "200, wrong requestId",
    ),
    ("500", "500"),
    ("503", "503"),
    ("413", "413"),
    ("timeout", "No answer (timeout)"),
    ("refused", "Refused"),
];

/// The operations the page's API console can call.
const CONSOLE_OPERATIONS: &[&str] = &[
    "PutRecord",
    "PutRecords",
    "GetShardIterator",
    "GetRecords",
    "ListShards",
    "DescribeStreamSummary",
    "RegisterStreamConsumer",
    "SubscribeToShard",
    "DecreaseStreamRetentionPeriod",
    "IncreaseStreamRetentionPeriod",
    "SplitShard",
];

/// The payload of a share link (`#/scenarios/<id>/run/<payload>`): the run file, base64url.
pub fn share_payload(file: &ShareFile) -> String {
    URL_SAFE_NO_PAD.encode(file.to_json())
}

/// Reads a share link's payload.
pub fn parse_payload(payload: &str) -> Result<ShareFile, String> {
    let bytes = URL_SAFE_NO_PAD
        .decode(payload.trim())
        .map_err(|_| "the link's run is not base64url".to_string())?;
    let text = String::from_utf8(bytes).map_err(|_| "the link's run is not text".to_string())?;
    ShareFile::from_json(&text)
}

fn progress(world: &World, scenario: &Scenario) -> (u32, u32) {
    let total = u32::try_from(scenario.checks.len()).unwrap_or(u32::MAX);
    if world.config().seed != scenario.seed {
        return (0, total);
    }
    let notes = passed_from_notes(world);
    let live = scenario.evaluate(world);
    let done = live
        .iter()
        .filter(|(c, o)| o.status == Status::Pass || notes.contains_key(c.id))
        .count();
    let done = u32::try_from(done).unwrap_or(u32::MAX);
    (done, total)
}

/// The list of scenarios.
#[component(ScenarioList)]
pub fn scenario_list() -> Html {
    let Some(sim) = use_context::<Sim>() else {
        return html! {};
    };
    let world = sim.world.borrow();
    let rows: Html = SCENARIOS
        .iter()
        .map(|s| {
            let (done, total) = progress(&world, s);
            let current = world.config().seed == s.seed;
            html! {
                <li class={classes!("scenario-item", current.then_some("current"))} data-scenario={s.id}>
                    <Link<Route> to={Route::Scenario { id: s.id.to_string() }}>{ s.title }</Link<Route>>
                    <span class="muted">{ format!(" — {}", s.summary) }</span>
                    <span class="progress">{
                        if current { format!(" {done}/{total} checks passed") } else { format!(" {total} checks") }
                    }</span>
                    { if let UiSupport::CoreOnly(_) = s.ui { html!{ <span class="soon">{ "core only" }</span> } } else { html!{} } }
                </li>
            }
        })
        .collect();
    html! {
        <div class="page scenarios">
            <div class="page-head">
                <h1>{ "Scenarios" }</h1>
                <p class="lead">{ "Guided exercises: a seeded setup, a goal, and checks the simulator verifies from its own state." }</p>
            </div>
            <section class="card"><ol class="scenario-list">{ rows }</ol></section>
        </div>
    }
}

/// One scenario's properties.
#[derive(Clone, Debug, PartialEq, Properties)]
pub struct ScenarioPageProps {
    /// The scenario's id.
    pub id: String,
    /// Restarts the session with a seed (a scenario's seed starts that scenario).
    pub on_restart: Callback<u64>,
    /// Loads a shared run.
    pub on_load: Callback<ShareFile>,
    /// A shared run's payload, from a link.
    #[prop_or_default]
    pub payload: Option<String>,
}

/// One scenario.
#[component(ScenarioPage)]
pub fn scenario_page(props: &ScenarioPageProps) -> Html {
    let sim = use_context::<Sim>();
    let hints = use_state(|| 0u32);
    let sent = use_mut_ref(BTreeSet::<String>::new);
    let share_text = use_state(String::new);
    let share_error = use_state(|| None::<String>);
    let console_out = use_state(String::new);
    let op_ref = use_node_ref();
    let body_ref = use_node_ref();
    let load_error = use_state(|| None::<String>);
    // A shared link loads its run once.
    {
        let payload = props.payload.clone();
        let on_load = props.on_load.clone();
        let load_error = load_error.clone();
        use_effect_with(payload, move |payload| {
            if let Some(p) = payload {
                match parse_payload(p) {
                    Ok(file) => on_load.emit(file),
                    Err(e) => load_error.set(Some(e)),
                }
            }
        });
    }
    let Some(sim) = sim else {
        return html! {};
    };
    let Some(scenario) = find(&props.id) else {
        return html! { <div class="page"><h1>{ "No such scenario" }</h1></div> };
    };
    let world = sim.world.borrow();
    let active = for_seed(world.config().seed).is_some_and(|s| s.id == scenario.id);
    let start = {
        let on_restart = props.on_restart.clone();
        let seed = scenario.seed;
        let sent = sent.clone();
        let share_error = share_error.clone();
        Callback::from(move |_| {
            sent.borrow_mut().clear();
            share_error.set(None);
            on_restart.emit(seed);
        })
    };
    let steps: Html = scenario
        .steps
        .iter()
        .map(|s| html! { <li>{ *s }</li> })
        .collect();
    let head = html! {
        <div class="page-head">
            <p><Link<Route> to={Route::Scenarios}>{ "← All scenarios" }</Link<Route>></p>
            <h1>{ scenario.title }</h1>
            <p class="lead goal">{ scenario.goal }</p>
            { if let UiSupport::CoreOnly(why) = scenario.ui { html!{ <p class="notice">{ why }</p> } } else { html!{} } }
            { if let Some(e) = &*load_error { html!{ <p class="error" role="alert">{ e }</p> } } else { html!{} } }
        </div>
    };
    if !active {
        return html! {
            <div class="page scenario" data-scenario={scenario.id}>
                { head }
                <section class="card"><h2>{ "Steps" }</h2><ol>{ steps }</ol>
                    <button id="scenario-start" onclick={start}>{ "Start scenario" }</button>
                    <p class="muted">{ "Starting replaces this session's run with the scenario's seeded setup." }</p>
                </section>
            </div>
        };
    }
    let notes = passed_from_notes(&world);
    let results = scenario.evaluate(&world);
    // A check passing for the first time is recorded as a note (journaled with the session).
    let new_passes: Vec<String> = results
        .iter()
        .filter(|(c, o)| o.status == Status::Pass && !notes.contains_key(c.id))
        .map(|(c, _)| c.id.to_string())
        .filter(|id| !sent.borrow().contains(id))
        .collect();
    for id in new_passes {
        sent.borrow_mut().insert(id.clone());
        sim.command(
            Command::Note {
                text: format!("{PASS_NOTE_PREFIX}{id}"),
            },
            Callback::from(|_: Result<Reply, crate::CommandError>| ()),
        );
    }
    let all_passed = results
        .iter()
        .all(|(c, o)| o.status == Status::Pass || notes.contains_key(c.id));
    let checks: Html = results
        .iter()
        .map(|(c, o)| {
            let passed_at = notes.get(c.id).copied();
            let status = if passed_at.is_some() || o.status == Status::Pass {
                "pass"
            } else if o.status == Status::Fail {
                "fail"
            } else {
                "pending"
            };
            let label = match status {
                "pass" => "✔ passed",
                "fail" => "✘ failed",
                _ => "… pending",
            };
            html! {
                <li class={classes!("check", status)} data-check={c.id} data-status={status}>
                    <strong>{ c.title }</strong>{ " " }<span class="status">{ label }</span>
                    { passed_at.map(|ms| html!{ <span class="muted">{ format!(" at {} s", ms / 1_000) }</span> }).unwrap_or_default() }
                    <div class="muted">{ &o.message }</div>
                </li>
            }
        })
        .collect();
    let hint_items: Html = scenario
        .hints
        .iter()
        .take(*hints as usize)
        .map(|h| html! { <li>{ *h }</li> })
        .collect();
    let more_hints = (*hints as usize) < scenario.hints.len();
    let show_hint = {
        let hints = hints.clone();
        Callback::from(move |_| hints.set(*hints + 1))
    };
    let show_endpoint =
        scenario.id == HTTP_ENDPOINT_SCENARIO || !super::http::played(&world).is_empty();
    // Built when asked: the shells' completions arrive between renders, and the file must hold all of them. The
    // inputs are the session's (kept with it, so they survive a reload); a run whose inputs are not all known
    // cannot be shared exactly, and the page says why instead of giving a link that would not reproduce it.
    let share_now = {
        let sim = sim.clone();
        let id = scenario.id;
        let seed = scenario.seed;
        move || -> Result<ShareFile, String> {
            let world = sim.world.borrow();
            let inputs = world
                .share_inputs()
                .inputs()
                .map_err(|gap| format!("This run cannot be shared exactly: {gap}."))?;
            Ok(ShareFile {
                format: crate::scenarios::SHARE_FORMAT.into(),
                version: crate::scenarios::SHARE_VERSION,
                scenario: id.into(),
                seed,
                inputs: inputs.to_vec(),
                end_ms: world.now().as_millis(),
                event_log_hash: world.event_log_hash(),
            })
        }
    };
    let share_unavailable = world
        .share_inputs()
        .inputs()
        .err()
        .map(|gap| format!("This run cannot be shared exactly: {gap}."));
    let on_link = {
        let share_text = share_text.clone();
        let share_error = share_error.clone();
        let share_now = share_now.clone();
        Callback::from(move |_| {
            let share = match share_now() {
                Ok(share) => share,
                Err(e) => {
                    share_text.set(String::new());
                    share_error.set(Some(e));
                    return;
                }
            };
            share_error.set(None);
            let href = web_sys::window()
                .and_then(|w| w.location().href().ok())
                .unwrap_or_default();
            let base = href.split('#').next().unwrap_or_default().to_string();
            share_text.set(format!(
                "{base}#/scenarios/{}/run/{}",
                share.scenario,
                share_payload(&share)
            ));
        })
    };
    let on_download = {
        let share_error = share_error.clone();
        Callback::from(move |_| {
            let share = match share_now() {
                Ok(share) => share,
                Err(e) => {
                    share_error.set(Some(e));
                    return;
                }
            };
            let blob = gloo::file::Blob::new_with_options(
                share.to_json().as_str(),
                Some("application/json"),
            );
            let url = gloo::file::ObjectUrl::from(blob);
            let document = gloo::utils::document();
            if let Ok(a) = document.create_element("a") {
                let _ = a.set_attribute("href", &url);
                let _ = a.set_attribute("download", &format!("{}-run.json", share.scenario));
                if let Ok(a) = a.dyn_into::<web_sys::HtmlElement>() {
                    a.click();
                }
            }
        })
    };
    let on_console = {
        let sim = sim.clone();
        let op_ref = op_ref.clone();
        let body_ref = body_ref.clone();
        let console_out = console_out.clone();
        Callback::from(move |e: SubmitEvent| {
            e.prevent_default();
            let op = op_ref
                .cast::<HtmlSelectElement>()
                .map(|s| s.value())
                .unwrap_or_default();
            let body = body_ref
                .cast::<HtmlTextAreaElement>()
                .map(|t| t.value())
                .unwrap_or_default();
            let Some(op) = CONSOLE_OPERATIONS.iter().find(|o| **o == op) else {
                return;
            };
            let out = console_out.clone();
            sim.kinesis(
                op,
                body,
                Callback::from(move |r: ApiResponse| {
                    out.set(format!("{} {}", r.status, r.body));
                }),
            );
        })
    };
    let ops: Html = CONSOLE_OPERATIONS
        .iter()
        .map(|o| html! { <option value={*o}>{ *o }</option> })
        .collect();
    let bill = Bill::compute(&Usage::from_world(&world), &PriceTable::default());
    let bill_lines: Html = bill
        .lines
        .iter()
        .map(|l| {
            html! { <tr><td>{ &l.resource }</td><td>{ l.item.label() }</td><td>{ l.quantity_text() }</td><td>{ l.amount_text() }</td></tr> }
        })
        .collect();
    html! {
        <div class="page scenario" data-scenario={scenario.id}>
            { head }
            <div class="grid two">
                <section class="card"><h2>{ "Steps" }</h2><ol>{ steps }</ol>
                    <h3>{ "Hints" }</h3><ul class="hints">{ hint_items }</ul>
                    { if more_hints { html!{ <button id="scenario-hint" onclick={show_hint}>{ "Show a hint" }</button> } } else { html!{} } }
                </section>
                <section class="card" aria-labelledby="checks-h"><h2 id="checks-h">{ "Checks" }</h2>
                    <ul class="checks">{ checks }</ul>
                    { if all_passed { html!{ <div class="explanation" id="scenario-explanation"><h3>{ "What happened, and why" }</h3><p>{ (scenario.explanation)() }</p></div> } } else { html!{} } }
                    <p>
                        <button id="scenario-restart" onclick={start}>{ "Restart" }</button>{ " " }
                        <button id="scenario-share-link" onclick={on_link}>{ "Share link" }</button>{ " " }
                        <button id="scenario-download" onclick={on_download}>{ "Download run" }</button>
                    </p>
                    { share_unavailable.or_else(|| (*share_error).clone()).map(|e| html!{ <p class="error" id="scenario-share-unavailable" role="status">{ e }</p> }).unwrap_or_default() }
                    { if share_text.is_empty() { html!{} } else { html!{ <textarea id="scenario-link" readonly=true value={(*share_text).clone()} /> } } }
                </section>
            </div>
            <ScenarioControls />
            { if show_endpoint { html!{ <PlayedEndpoint /> } } else { html!{} } }
            <div class="grid two">
                <section class="card" aria-labelledby="console-h"><h2 id="console-h">{ "API console" }</h2>
                    <form onsubmit={on_console}>
                        <select id="console-op" ref={op_ref}>{ ops }</select>
                        <textarea id="console-body" ref={body_ref} rows="4" placeholder="{\"StreamName\": \"...\"}" />
                        <button type="submit">{ "Send" }</button>
                    </form>
                    <pre id="console-out">{ (*console_out).clone() }</pre>
                </section>
                <section class="card" aria-labelledby="cost-h"><h2 id="cost-h">{ format!("Cost of this run: {}", bill.total_text()) }</h2>
                    <table><tbody>{ bill_lines }</tbody></table>
                    <p class="muted">{ format!("{} prices as of {}", bill.region, bill.prices_as_of) }</p>
                </section>
            </div>
        </div>
    }
}

/// Most records one "Send records" click sends (PutRecords and PutRecordBatch take at most 500).
pub const SEND_RECORDS_MAX: u64 = 500;
/// Largest size a sent record is padded to, in bytes (Kinesis's and Firehose's 1,000 KiB record limit).
pub const SEND_PAD_BYTES_MAX: u64 = 1_024_000;
/// Latest time "Play to" accepts, in simulated seconds (a day).
pub const PLAY_TO_SECONDS_MAX: u64 = 86_400;

/// Where the send form writes: a Kinesis data stream or a Firehose delivery stream.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SendTarget {
    /// A data stream.
    Stream(String),
    /// A delivery stream.
    DeliveryStream(String),
}

impl SendTarget {
    /// The option value (`kinesis:NAME`, `firehose:NAME`).
    pub fn value(&self) -> String {
        match self {
            SendTarget::Stream(n) => format!("kinesis:{n}"),
            SendTarget::DeliveryStream(n) => format!("firehose:{n}"),
        }
    }
    /// Reads an option value.
    pub fn parse(value: &str) -> Option<SendTarget> {
        if let Some(n) = value.strip_prefix("kinesis:") {
            return Some(SendTarget::Stream(n.to_string()));
        }
        value
            .strip_prefix("firehose:")
            .map(|n| SendTarget::DeliveryStream(n.to_string()))
    }
}

/// The records the send form sends: `count` copies of `data` with `{i}` replaced by the record's index (from 0),
/// each padded with spaces up to `pad_bytes` (0 leaves them as they are).
pub fn send_records_data(data: &str, count: u64, pad_bytes: u64) -> Vec<String> {
    (0..count.min(SEND_RECORDS_MAX))
        .map(|i| {
            let mut text = data.replace("{i}", &i.to_string());
            let pad = usize::try_from(pad_bytes.min(SEND_PAD_BYTES_MAX)).unwrap_or(0);
            if text.len() < pad {
                text.push_str(&" ".repeat(pad - text.len()));
            }
            text
        })
        .collect()
}

/// The operation and JSON body that send `records` to `target` (PutRecord for one Kinesis record, PutRecords
/// for more; PutRecordBatch for Firehose).
pub fn send_request(
    target: &SendTarget,
    partition_key: &str,
    records: &[String],
) -> (&'static str, String) {
    let encode = |t: &String| base64::engine::general_purpose::STANDARD.encode(t);
    match target {
        SendTarget::Stream(name) if records.len() == 1 => (
            "PutRecord",
            serde_json::json!({"StreamName": name, "PartitionKey": partition_key, "Data": encode(&records[0])})
                .to_string(),
        ),
        SendTarget::Stream(name) => {
            let entries: Vec<serde_json::Value> = records
                .iter()
                .map(|r| serde_json::json!({"PartitionKey": partition_key, "Data": encode(r)}))
                .collect();
            (
                "PutRecords",
                serde_json::json!({"StreamName": name, "Records": entries}).to_string(),
            )
        }
        SendTarget::DeliveryStream(name) => {
            let entries: Vec<serde_json::Value> = records
                .iter()
                .map(|r| serde_json::json!({"Data": encode(r)}))
                .collect();
            (
                "PutRecordBatch",
                serde_json::json!({"DeliveryStreamName": name, "Records": entries}).to_string(),
            )
        }
    }
}

/// Reads a simulated time typed as seconds (`110`) or minutes and seconds (`1:50`), in ms.
pub fn parse_play_to(text: &str) -> Result<u64, String> {
    let t = text.trim();
    let err = || {
        format!(
            "Type a time as seconds (110) or minutes:seconds (1:50), up to {PLAY_TO_SECONDS_MAX} s."
        )
    };
    let seconds = match t.split_once(':') {
        Some((m, s)) => {
            let m: u64 = m.trim().parse().map_err(|_| err())?;
            let s: u64 = s.trim().parse().map_err(|_| err())?;
            if s >= 60 {
                return Err(err());
            }
            m.saturating_mul(60).saturating_add(s)
        }
        None => t.parse().map_err(|_| err())?,
    };
    if seconds > PLAY_TO_SECONDS_MAX {
        return Err(err());
    }
    Ok(seconds * 1_000)
}

/// The controls a scenario's steps need, on its page: send records, play to a time, and links to the pages that
/// show what happened (streams, delivery streams, the bucket, analytics).
#[component(ScenarioControls)]
pub fn scenario_controls() -> Html {
    let sim = use_context::<Sim>();
    let target = use_state(String::new);
    let key = use_state(|| "a".to_string());
    let data = use_state(|| "{\"row\":{i}}".to_string());
    let count = use_state(|| "1".to_string());
    let pad = use_state(|| "0".to_string());
    let play_to = use_state(String::new);
    let message = use_state(|| None::<Result<String, String>>);
    let Some(sim) = sim else {
        return html! {};
    };
    let world = sim.world.borrow();
    let mut targets: Vec<SendTarget> = world
        .streams()
        .stream_names()
        .map(|n| SendTarget::Stream(n.to_string()))
        .collect();
    let delivery: Vec<String> = world
        .firehose_service()
        .names()
        .map(str::to_string)
        .collect();
    targets.extend(delivery.iter().cloned().map(SendTarget::DeliveryStream));
    let now_s = world.now().as_millis() / 1_000;
    drop(world);
    let chosen = SendTarget::parse(&target)
        .filter(|t| targets.contains(t))
        .or_else(|| targets.first().cloned());
    let text = |state: &UseStateHandle<String>| {
        let state = state.clone();
        Callback::from(move |e: InputEvent| {
            state.set(
                e.target_unchecked_into::<web_sys::HtmlInputElement>()
                    .value(),
            )
        })
    };
    let on_target = {
        let target = target.clone();
        Callback::from(move |e: Event| {
            target.set(e.target_unchecked_into::<HtmlSelectElement>().value())
        })
    };
    let on_send = {
        let (sim, key, data, count, pad, message, chosen) = (
            sim.clone(),
            key.clone(),
            data.clone(),
            count.clone(),
            pad.clone(),
            message.clone(),
            chosen.clone(),
        );
        Callback::from(move |e: SubmitEvent| {
            e.prevent_default();
            let Some(target) = chosen.clone() else {
                message.set(Some(Err("There is nothing to send to yet.".into())));
                return;
            };
            let n = match super::format::parse_in_range(&count, 1, SEND_RECORDS_MAX, "Records") {
                Ok(n) => n,
                Err(m) => return message.set(Some(Err(m))),
            };
            let p = match super::format::parse_in_range(&pad, 0, SEND_PAD_BYTES_MAX, "Pad to") {
                Ok(p) => p,
                Err(m) => return message.set(Some(Err(m))),
            };
            let records = send_records_data(&data, n, p);
            let (operation, body) = send_request(&target, &key, &records);
            let message = message.clone();
            let reply = Callback::from(move |r: ApiResponse| {
                if r.status != 200 {
                    message.set(Some(Err(super::dashboard::error_text(&r))));
                    return;
                }
                let v: serde_json::Value = serde_json::from_str(&r.body).unwrap_or_default();
                let failed = v
                    .get("FailedRecordCount")
                    .or_else(|| v.get("FailedPutCount"))
                    .and_then(serde_json::Value::as_u64)
                    .unwrap_or(0);
                message.set(Some(Ok(format!(
                    "{operation}: {} records accepted, {failed} failed.",
                    n - failed.min(n)
                ))));
            });
            match target {
                SendTarget::Stream(_) => sim.kinesis(operation, body, reply),
                SendTarget::DeliveryStream(_) => sim.firehose(operation, body, reply),
            }
        })
    };
    let advance = |sim: &Sim, to_ms: u64| sim.act.emit(super::Action::AdvanceTo { to_ms });
    let on_play_to = {
        let (sim, play_to, message) = (sim.clone(), play_to.clone(), message.clone());
        Callback::from(move |e: SubmitEvent| {
            e.prevent_default();
            match parse_play_to(&play_to) {
                Ok(ms) => advance(&sim, ms),
                Err(m) => message.set(Some(Err(m))),
            }
        })
    };
    let on_plus_minute = {
        let sim = sim.clone();
        Callback::from(move |_| {
            let now = sim.world.borrow().now().as_millis();
            advance(&sim, now.saturating_add(60_000));
        })
    };
    let options: Html = targets
        .iter()
        .map(|t| {
            let label = match t {
                SendTarget::Stream(n) => format!("data stream {n}"),
                SendTarget::DeliveryStream(n) => format!("delivery stream {n}"),
            };
            html! { <option value={t.value()} selected={Some(t) == chosen.as_ref()}>{ label }</option> }
        })
        .collect();
    let world = sim.world.borrow();
    let mut links: Vec<Html> = world
        .streams()
        .stream_names()
        .map(|n| html! { <li><Link<Route> to={Route::Stream { name: n.to_string() }}>{ format!("Data stream {n}") }</Link<Route>></li> })
        .collect();
    links.extend(delivery.iter().map(|n| html! { <li><Link<Route> to={Route::DeliveryStream { name: n.clone() }}>{ format!("Delivery stream {n}") }</Link<Route>></li> }));
    if !delivery.is_empty() {
        links.push(html! { <li><Link<Route> to={Route::S3}>{ "S3 buckets" }</Link<Route>></li> });
    }
    if !world.analytics_apps().is_empty()
        || targets.iter().any(|t| matches!(t, SendTarget::Stream(_)))
    {
        links.push(html! { <li><Link<Route> to={Route::Analytics}>{ "Analytics applications" }</Link<Route>></li> });
    }
    drop(world);
    let is_kinesis = matches!(chosen, Some(SendTarget::Stream(_)));
    html! {
        <section class="card" aria-labelledby="controls-h" id="scenario-controls">
            <h2 id="controls-h">{ "Controls" }</h2>
            <form class="send-records" onsubmit={on_send}>
                <h3 class="small">{ "Send records" }</h3>
                <label for="send-target">{ "To" }</label>
                <select id="send-target" onchange={on_target}>{ options }</select>
                { if is_kinesis { html!{ <>
                    <label for="send-key">{ "Partition key" }</label>
                    <input id="send-key" value={(*key).clone()} oninput={text(&key)} autocomplete="off" spellcheck="false" />
                </> } } else { html!{} } }
                <label for="send-data">{ "Data ({i} is the record's number)" }</label>
                <input id="send-data" value={(*data).clone()} oninput={text(&data)} autocomplete="off" spellcheck="false" />
                <label for="send-count">{ "Records" }</label>
                <input id="send-count" type="number" min="1" max={SEND_RECORDS_MAX.to_string()} value={(*count).clone()} oninput={text(&count)} />
                <label for="send-pad">{ "Pad each to bytes (0: as typed)" }</label>
                <input id="send-pad" type="number" min="0" max={SEND_PAD_BYTES_MAX.to_string()} value={(*pad).clone()} oninput={text(&pad)} />
                <button id="send-records" type="submit">{ "Send" }</button>
            </form>
            <form class="play-to inline" onsubmit={on_play_to}>
                <h3 class="small">{ format!("Time: {}:{:02}", now_s / 60, now_s % 60) }</h3>
                <label for="play-to">{ "Play to (seconds or m:ss)" }</label>
                <input id="play-to" value={(*play_to).clone()} oninput={text(&play_to)} autocomplete="off" placeholder="1:50" />
                <button id="scenario-play-to" type="submit">{ "Play to" }</button>
                <button id="scenario-play-minute" type="button" onclick={on_plus_minute}>{ "+60 s" }</button>
            </form>
            { super::dashboard::feedback(&message) }
            <h3 class="small">{ "Pages" }</h3>
            <ul class="scenario-links">{ for links }</ul>
        </section>
    }
}

/// The endpoint the learner plays: requests to reserved example hosts ([`crate::scenarios::played_endpoint`]) wait
/// here, handed out and unanswered, with their request id, attempt, records and the records' data as text; each
/// button answers one through the same World call a fetch completion uses ([`super::http::answer_played`]).
#[component(PlayedEndpoint)]
pub fn played_endpoint_panel() -> Html {
    let Some(sim) = use_context::<Sim>() else {
        return html! {};
    };
    let world = sim.world.borrow();
    let waiting = super::http::played(&world);
    let now_s = world.now().as_millis() / 1_000;
    drop(world);
    let rows: Html = waiting
        .iter()
        .map(|p| {
            let (records, preview) =
                crate::scenarios::http_request_preview(&p.request.body, REQUEST_PREVIEW_CHARS_MAX);
            let buttons: Html = ENDPOINT_ANSWERS
                .iter()
                .map(|(answer, label)| {
                    let act = sim.act.clone();
                    let request_id = p.request_id.clone();
                    let onclick = Callback::from(move |_| {
                        act.emit(super::Action::AnswerHttp {
                            request_id: request_id.clone(),
                            answer: (*answer).to_string(),
                        })
                    });
                    html! { <button type="button" class="answer" data-answer={*answer} {onclick}>{ *label }</button> }
                })
                .collect();
            html! {
                <tr class="played-request" data-request={p.request_id.clone()} data-attempt={p.attempt.to_string()}>
                    <td class="mono">{ &p.request_id }</td>
                    <td>{ &p.delivery_stream }</td>
                    <td class="attempt">{ p.attempt }</td>
                    <td class="records">{ records.map(|n| n.to_string()).unwrap_or_else(|| "?".into()) }</td>
                    <td class="mono preview">{ preview }</td>
                    <td class="answers">{ buttons }</td>
                </tr>
            }
        })
        .collect();
    html! {
        <section class="card" aria-labelledby="endpoint-h" id="played-endpoint">
            <h2 id="endpoint-h">{ "The endpoint you play" }</h2>
            <p class="muted">{ "Requests to reserved example hosts (example.com, example.net, example.org, .example and \
                their subdomains) never leave the page: they wait here until you answer. Firehose counts only a 200 \
                that echoes the request's requestId as delivered; play on to see retries come back after their back-off." }</p>
            { if waiting.is_empty() {
                html!{ <p id="endpoint-idle" class="muted">{ format!("No request waiting at {}:{:02}. Send records to a delivery stream and play on.", now_s / 60, now_s % 60) }</p> }
            } else {
                html!{
                    <table id="played-requests">
                        <thead><tr><th>{ "Request id" }</th><th>{ "Delivery stream" }</th><th>{ "Attempt" }</th><th>{ "Records" }</th><th>{ "Records' data" }</th><th>{ "Answer" }</th></tr></thead>
                        <tbody>{ rows }</tbody>
                    </table>
                }
            } }
        </section>
    }
}
