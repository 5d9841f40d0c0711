//! Polling consumers of one stream: start one at TRIM_HORIZON, LATEST, AT_TIMESTAMP or AT/AFTER_SEQUENCE_NUMBER
//! with a poll interval; see its lag (MillisBehindLatest, iterator age), checkpoints and what it read; replay it
//! from an earlier point. Consumers are World actors on simulated time.

use super::Sim;
use super::dashboard::feedback;
use super::format::{DataView, count, data_text, millis, parse_in_range};
use crate::workload::consumer::{
    CONSUMER_POLL_INTERVAL_MS_MAX, CONSUMER_POLL_INTERVAL_MS_MIN, StartPosition,
};
use crate::{Command, CommandError, Reply};
use web_sys::{HtmlInputElement, HtmlSelectElement};
use yew::prelude::*;

/// Records of a consumer's recent reads shown.
const RECENT_SHOWN: usize = 6;

/// Properties of [`ConsumersCard`].
#[derive(Clone, Debug, PartialEq, Properties)]
pub struct ConsumersProps {
    /// The stream.
    pub stream: String,
    /// Its shard ids (for AT/AFTER_SEQUENCE_NUMBER).
    pub shards: Vec<String>,
}

/// The start position a form describes: `kind` is the iterator type; `at_s` simulated seconds for AT_TIMESTAMP.
pub fn start_position(
    kind: &str,
    at_s: &str,
    shard: &str,
    sequence: &str,
) -> Result<StartPosition, String> {
    Ok(match kind {
        "TRIM_HORIZON" => StartPosition::TrimHorizon,
        "LATEST" => StartPosition::Latest,
        "AT_TIMESTAMP" => StartPosition::AtTimestamp {
            at_ms: parse_in_range(at_s, 0, u64::MAX / 1_000, "Timestamp (simulated seconds)")?
                * 1_000,
        },
        "AT_SEQUENCE_NUMBER" | "AFTER_SEQUENCE_NUMBER" => {
            let sequence = sequence.trim();
            if sequence.is_empty() || !sequence.bytes().all(|b| b.is_ascii_digit()) {
                return Err(
                    "A sequence number is all digits: copy one from the record inspector.".into(),
                );
            }
            if shard.is_empty() {
                return Err("Pick the shard the sequence number belongs to.".into());
            }
            let (shard_id, sequence_number) = (shard.to_string(), sequence.to_string());
            if kind == "AT_SEQUENCE_NUMBER" {
                StartPosition::AtSequenceNumber {
                    shard_id,
                    sequence_number,
                }
            } else {
                StartPosition::AfterSequenceNumber {
                    shard_id,
                    sequence_number,
                }
            }
        }
        other => return Err(format!("Unknown iterator type {other}.")),
    })
}

/// The consumers card.
#[component(ConsumersCard)]
pub fn consumers_card(props: &ConsumersProps) -> Html {
    let _span = super::perf::span("view-consumers");
    let sim = use_context::<Sim>();
    let name = use_state(|| "reader".to_string());
    let kind = use_state(|| "TRIM_HORIZON".to_string());
    let at_s = use_state(|| "0".to_string());
    let shard = use_state(|| props.shards.first().cloned().unwrap_or_default());
    let sequence = use_state(String::new);
    let interval = use_state(|| "1000".to_string());
    let message = use_state(|| None::<Result<String, String>>);
    let Some(sim) = sim else { return html! {} };
    let stream = props.stream.clone();
    let reply = |message: &UseStateHandle<Option<Result<String, String>>>, ok: String| {
        let message = message.clone();
        Callback::from(move |r: Result<Reply, CommandError>| {
            message.set(Some(r.map(|_| ok.clone()).map_err(|e| e.message)));
        })
    };
    let on_submit = {
        let (sim, message, stream) = (sim.clone(), message.clone(), stream.clone());
        let (name, kind, at_s, shard, sequence, interval) = (
            name.clone(),
            kind.clone(),
            at_s.clone(),
            shard.clone(),
            sequence.clone(),
            interval.clone(),
        );
        Callback::from(move |e: SubmitEvent| {
            e.prevent_default();
            let poll = parse_in_range(
                &interval,
                CONSUMER_POLL_INTERVAL_MS_MIN,
                CONSUMER_POLL_INTERVAL_MS_MAX,
                "Poll interval (ms)",
            );
            let start = start_position(&kind, &at_s, &shard, &sequence);
            match (poll, start) {
                (Ok(poll_interval_ms), Ok(start)) => {
                    let n = name.trim().to_string();
                    sim.command(
                        Command::StartConsumer {
                            name: n.clone(),
                            stream: stream.clone(),
                            start,
                            poll_interval_ms,
                        },
                        reply(&message, format!("Consumer {n} started from {}.", *kind)),
                    );
                }
                (Err(m), _) | (_, Err(m)) => message.set(Some(Err(m))),
            }
        })
    };
    let text = |s: &UseStateHandle<String>| {
        let s = s.clone();
        Callback::from(move |e: InputEvent| {
            s.set(e.target_unchecked_into::<HtmlInputElement>().value())
        })
    };
    let choose = |s: &UseStateHandle<String>| {
        let s = s.clone();
        Callback::from(move |e: Event| {
            s.set(e.target_unchecked_into::<HtmlSelectElement>().value())
        })
    };

    let world = sim.world.borrow();
    let has_consumers = world
        .consumers()
        .values()
        .any(|e| e.consumer.stream == stream);
    let now_s = world.now().as_millis() / 1_000;
    let rows: Html = world
        .consumers()
        .iter()
        .filter(|(_, e)| e.consumer.stream == stream)
        .map(|(cname, e)| {
            let c = &e.consumer;
            let action = |command: Command, ok: String| {
                let (sim, message) = (sim.clone(), message.clone());
                Callback::from(move |_: MouseEvent| sim.command(command.clone(), reply(&message, ok.clone())))
            };
            let replay = action(
                Command::ReplayConsumer { name: cname.clone(), start: StartPosition::TrimHorizon },
                format!("{cname} replays from TRIM_HORIZON."),
            );
            let replay_minute = action(
                Command::ReplayConsumer { name: cname.clone(), start: StartPosition::AtTimestamp { at_ms: now_s.saturating_sub(60) * 1_000 } },
                format!("{cname} replays from one minute ago."),
            );
            let stop = action(Command::StopConsumer { name: cname.clone() }, format!("{cname} stopped."));
            let checkpoints: Html = c
                .cursors
                .iter()
                .map(|(id, cur)| html! {
                    <li>
                        <span class="mono">{ id.trim_start_matches("shardId-") }</span>
                        { format!(" {} read, {} behind", count(cur.records), millis(cur.millis_behind_latest)) }
                        if let Some(cp) = &cur.checkpoint { <span class="mono sub-text" title={cp.clone()}>{ format!(" …{}", cp.get(cp.len().saturating_sub(8)..).unwrap_or(cp)) }</span> }
                        if cur.iterator.is_none() { <span class="sub-text">{ " (done)" }</span> }
                    </li>
                })
                .collect();
            let recent: Html = c
                .recent
                .iter()
                .rev()
                .take(RECENT_SHOWN)
                .map(|r| html! {
                    <li><span class="mono key">{ &r.partition_key }</span>
                        <span class="mono data">{ data_text(&r.preview, DataView::Utf8, 90) }</span></li>
                })
                .collect();
            html! {
                <li class="actor" data-consumer={cname.clone()}>
                    <div class="actor-head">
                        <strong class="mono">{ cname }</strong>
                        if e.running() { <span class="badge active">{ "POLLING" }</span> } else { <span class="badge">{ "STOPPED" }</span> }
                        <span class="sub-text">{ format!("from {} every {}", c.start.iterator_type_name(), millis(c.poll_interval_ms)) }</span>
                    </div>
                    <dl class="counts">
                        <div><dt>{ "Records read" }</dt><dd class="records-read">{ count(c.stats.records) }</dd></div>
                        <div><dt>{ "MillisBehindLatest" }</dt><dd class="behind-ms">{ millis(c.millis_behind_latest()) }</dd></div>
                        <div><dt>{ "Iterator age" }</dt><dd>{ millis(c.stats.iterator_age_ms) }</dd></div>
                        <div><dt>{ "Throttled calls" }</dt><dd class={classes!((c.stats.throttled > 0).then_some("warn"))}>{ count(c.stats.throttled) }</dd></div>
                    </dl>
                    <ul class="checkpoints" aria-label="Checkpoints per shard">{ checkpoints }</ul>
                    if !c.recent.is_empty() { <ul class="recent" aria-label="Recent records">{ recent }</ul> }
                    if e.running() {
                        <div class="actions">
                            <button class="small replay" onclick={replay} aria-label={format!("Replay {cname} from TRIM_HORIZON")}>{ "Replay from TRIM_HORIZON" }</button>
                            <button class="small" onclick={replay_minute}>{ "Replay last minute" }</button>
                            <button class="small" onclick={stop} aria-label={format!("Stop consumer {cname}")}>{ "Stop" }</button>
                        </div>
                    }
                    if let Some(err) = &c.stats.last_error { <p class="sub-text clip" title={err.clone()}>{ err }</p> }
                </li>
            }
        })
        .collect();
    drop(world);

    let shard_options: Html = props
        .shards
        .iter()
        .map(|s| html! { <option value={s.clone()} selected={*shard == *s}>{ s }</option> })
        .collect();
    html! {
        <section class="card" aria-labelledby="consumers-h">
            <h2 id="consumers-h">{ "Consumers" }</h2>
            <ul class="actors" id="consumers">{ rows }</ul>
            <details class="form-box" open={!has_consumers}>
                <summary>{ "Start a polling consumer" }</summary>
                <form class="form grid-form" onsubmit={on_submit}>
                    <label for="c-name">{ "Name" }</label>
                    <input id="c-name" value={(*name).clone()} oninput={text(&name)} autocomplete="off" />
                    <label for="c-type">{ "Start at (iterator type)" }</label>
                    <select id="c-type" onchange={choose(&kind)}>
                        { for ["TRIM_HORIZON", "LATEST", "AT_TIMESTAMP", "AT_SEQUENCE_NUMBER", "AFTER_SEQUENCE_NUMBER"].iter().map(|k| html! {
                            <option value={*k} selected={*kind == *k}>{ *k }</option>
                        }) }
                    </select>
                    if *kind == "AT_TIMESTAMP" {
                        <label for="c-at">{ "Simulated second (T+)" }</label>
                        <input id="c-at" type="number" min="0" value={(*at_s).clone()} oninput={text(&at_s)} />
                    }
                    if kind.ends_with("SEQUENCE_NUMBER") {
                        <label for="c-shard">{ "Shard" }</label>
                        <select id="c-shard" onchange={choose(&shard)}>{ shard_options }</select>
                        <label for="c-seq">{ "Sequence number" }</label>
                        <input id="c-seq" class="mono" value={(*sequence).clone()} oninput={text(&sequence)} spellcheck="false" />
                    }
                    <label for="c-interval">{ "Poll interval (ms)" }</label>
                    <input id="c-interval" type="number" min="200" value={(*interval).clone()} oninput={text(&interval)} />
                    <div class="actions span">
                        <button id="start-consumer" class="primary" type="submit">{ "Start consumer" }</button>
                    </div>
                </form>
            </details>
            { feedback(&message) }
        </section>
    }
}
