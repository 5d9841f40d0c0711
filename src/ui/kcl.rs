//! The stream page's consumer-group panels: enhanced fan-out consumers (register, subscribe, deregister; each
//! consumer's delivered throughput per shard against its own 2 MiB/s, beside what the polling consumers share) and
//! KCL applications (start with N workers, the lease table live, kill and restart workers, stop).

use super::Sim;
use super::dashboard::{error_text, feedback};
use super::format::{abbreviate_middle, bytes, count, millis, parse_in_range};
use super::shard_map::shard_stats;
use super::stream::breakable_shard_id;
use crate::api::ApiResponse;
use crate::streams::service::{FANOUT_BYTES_PER_S_MAX, stream_arn};
use crate::streams::throughput::SHARD_READ_BYTES_PER_S_MAX;
use crate::workload::kcl::FAILOVER_TIME_MS_DEFAULT;
use crate::world::{
    KCL_FAILOVER_TIME_MS_MAX, KCL_FAILOVER_TIME_MS_MIN, KCL_START_WORKERS_MAX, efo_key,
};
use crate::{Command, CommandError, Reply};
use serde_json::json;
use web_sys::HtmlInputElement;
use yew::prelude::*;

/// Characters of a checkpoint's sequence number the lease table shows at each end (56 digits would not fit).
const CHECKPOINT_SHOWN_CHARS: usize = 6;

type Feedback = UseStateHandle<Option<Result<String, String>>>;

/// Properties of the panels.
#[derive(Clone, Debug, PartialEq, Properties)]
pub struct PanelProps {
    /// The stream.
    pub stream: String,
}

fn command_reply(message: &Feedback, ok: String) -> Callback<Result<Reply, CommandError>> {
    let message = message.clone();
    Callback::from(move |r: Result<Reply, CommandError>| {
        message.set(Some(r.map(|_| ok.clone()).map_err(|e| e.message)));
    })
}

fn api_reply(message: &Feedback, ok: String) -> Callback<ApiResponse> {
    let message = message.clone();
    Callback::from(move |r: ApiResponse| {
        message.set(Some(if r.status == 200 {
            Ok(ok.clone())
        } else {
            Err(error_text(&r))
        }));
    })
}

fn text_input(s: &UseStateHandle<String>) -> Callback<InputEvent> {
    let s = s.clone();
    Callback::from(move |e: InputEvent| {
        s.set(e.target_unchecked_into::<HtmlInputElement>().value())
    })
}

#[allow(clippy::cast_precision_loss)]
fn percent_of(value: u64, limit: u64) -> String {
    format!("{:.0}%", value as f64 / limit as f64 * 100.0)
}

/// Enhanced fan-out consumers of a stream.
#[component(FanOutCard)]
pub fn fan_out_card(props: &PanelProps) -> Html {
    let _span = super::perf::span("view-fan-out");
    let sim = use_context::<Sim>();
    let name = use_state(|| "analytics-efo".to_string());
    let message = use_state(|| None::<Result<String, String>>);
    let Some(sim) = sim else { return html! {} };
    let stream = props.stream.clone();
    let on_register = {
        let (sim, message, stream, name) =
            (sim.clone(), message.clone(), stream.clone(), name.clone());
        Callback::from(move |e: SubmitEvent| {
            e.prevent_default();
            let n = name.trim().to_string();
            sim.kinesis(
                "RegisterStreamConsumer",
                json!({"StreamARN": stream_arn(&stream), "ConsumerName": n}).to_string(),
                api_reply(&message, format!("Consumer {n} registered: CREATING for a few simulated seconds, then ACTIVE.")),
            );
        })
    };

    let journaled = sim.world.borrow();
    let world: &crate::World = &journaled;
    let now = world.now();
    let consumers = world.streams().consumer_views(now, &stream);
    let shards = shard_stats(world, &stream);
    let rows: Html = consumers
        .iter()
        .map(|c| {
            let status = c.status.as_str();
            let sub = world
                .efo_subscribers()
                .get(&efo_key(&stream, &c.name))
                .filter(|s| s.running());
            let cname = c.name.clone();
            let subscribe = {
                let (sim, message, stream, cname) = (sim.clone(), message.clone(), stream.clone(), cname.clone());
                Callback::from(move |_: MouseEvent| {
                    sim.command(
                        Command::SubscribeFanOutConsumer { stream: stream.clone(), consumer: cname.clone() },
                        command_reply(&message, format!("{cname} subscribes to every shard from TRIM_HORIZON.")),
                    )
                })
            };
            let unsubscribe = {
                let (sim, message, stream, cname) = (sim.clone(), message.clone(), stream.clone(), cname.clone());
                Callback::from(move |_: MouseEvent| {
                    sim.command(
                        Command::UnsubscribeFanOutConsumer { stream: stream.clone(), consumer: cname.clone() },
                        command_reply(&message, format!("{cname} stopped its subscriptions.")),
                    )
                })
            };
            let deregister = {
                let (sim, message, arn, cname) = (sim.clone(), message.clone(), c.arn.clone(), cname.clone());
                Callback::from(move |_: MouseEvent| {
                    sim.kinesis(
                        "DeregisterStreamConsumer",
                        json!({"ConsumerARN": arn}).to_string(),
                        api_reply(&message, format!("Consumer {cname} is DELETING.")),
                    )
                })
            };
            let shard_rows: Html = sub
                .map(|s| {
                    s.shards
                        .iter()
                        .map(|(id, sh)| {
                            let rate = sh.bytes_per_s(now);
                            html! {
                                <tr>
                                    <th scope="row" class="mono">{ id }</th>
                                    <td class="num efo-rate">{ format!("{}/s", bytes(rate)) }</td>
                                    <td class="num">{ percent_of(rate, FANOUT_BYTES_PER_S_MAX) }</td>
                                    <td class="num">{ count(sh.records) }</td>
                                    <td class="num">{ millis(sh.millis_behind_latest) }</td>
                                    <td>{ if sh.done { "read to its end" } else if sh.subscription.is_some() { "subscribed" } else { "waiting" } }</td>
                                </tr>
                            }
                        })
                        .collect()
                })
                .unwrap_or_default();
            html! {
                <li class="actor" data-efo-consumer={c.name.clone()}>
                    <div class="actor-head">
                        <strong class="mono">{ &c.name }</strong>
                        <span class={classes!("badge", "efo-status", (status == "ACTIVE").then_some("active"))}>{ status }</span>
                        if let Some(s) = sub { <span class="sub-text">{ format!("{} records, {}/s now", count(s.records()), bytes(s.bytes_per_s(now))) }</span> }
                    </div>
                    <p class="sub-text mono clip" title={c.arn.clone()}>{ &c.arn }</p>
                    if sub.is_some() {
                        <div class="table-wrap"><table class="table data">
                            <caption class="sr-only">{ format!("What {} receives per shard", c.name) }</caption>
                            <thead><tr>
                                <th scope="col">{ "Shard" }</th>
                                <th scope="col" class="num">{ "Delivered" }</th>
                                <th scope="col" class="num" title="Of the 2 MiB/s each consumer gets per shard">{ "Of 2 MiB/s" }</th>
                                <th scope="col" class="num">{ "Records" }</th>
                                <th scope="col" class="num">{ "MillisBehindLatest" }</th>
                                <th scope="col">{ "Subscription" }</th>
                            </tr></thead>
                            <tbody>{ shard_rows }</tbody>
                        </table></div>
                    }
                    <div class="actions">
                        if status == "ACTIVE" && sub.is_none() {
                            <button class="small primary" onclick={subscribe} aria-label={format!("Subscribe {} to every shard", c.name)}>{ "Subscribe to shards" }</button>
                        }
                        if sub.is_some() {
                            <button class="small" onclick={unsubscribe} aria-label={format!("Stop the subscriptions of {}", c.name)}>{ "Unsubscribe" }</button>
                        }
                        if status != "DELETING" {
                            <button class="small" onclick={deregister} aria-label={format!("Deregister {}", c.name)}>{ "Deregister" }</button>
                        }
                    </div>
                </li>
            }
        })
        .collect();
    let polling_rows: Html = shards
        .iter()
        .filter(|s| s.open)
        .map(|s| html! {
            <tr>
                <th scope="row" class="mono">{ &s.id }</th>
                <td class="num polling-rate">{ format!("{}/s", bytes(s.read_bytes_per_s)) }</td>
                <td class="num">{ percent_of(s.read_bytes_per_s, SHARD_READ_BYTES_PER_S_MAX) }</td>
            </tr>
        })
        .collect();
    let polling = world
        .consumers()
        .values()
        .filter(|e| e.running() && e.consumer.stream == stream)
        .count()
        + world
            .kcl_applications()
            .values()
            .filter(|e| e.running() && e.stream() == stream)
            .count();
    drop(journaled);

    html! {
        <section class="card wide" aria-labelledby="efo-h" id="fan-out">
            <h2 id="efo-h">{ "Enhanced fan-out" }</h2>
            <p class="hint">{ "A registered consumer gets its own 2 MiB/s per shard, pushed over SubscribeToShard; polling consumers (and KCL workers) share one 2 MiB/s per shard through GetRecords." }</p>
            <ul class="actors" id="efo-consumers">{ rows }</ul>
            if consumers.is_empty() { <p class="empty">{ "No registered consumers (a stream may have 20)." }</p> }
            <form class="form inline" onsubmit={on_register}>
                <label for="efo-name">{ "Consumer name" }</label>
                <input id="efo-name" value={(*name).clone()} oninput={text_input(&name)} autocomplete="off" />
                <button id="register-efo" class="primary" type="submit">{ "Register consumer" }</button>
            </form>
            <div class="table-wrap"><table class="table data">
                <caption>{ format!("Shared polling read throughput ({polling} polling readers)") }</caption>
                <thead><tr>
                    <th scope="col">{ "Shard" }</th>
                    <th scope="col" class="num">{ "GetRecords, this minute" }</th>
                    <th scope="col" class="num" title="Of the 2 MiB/s all polling readers of a shard share">{ "Of 2 MiB/s shared" }</th>
                </tr></thead>
                <tbody>{ polling_rows }</tbody>
            </table></div>
            { feedback(&message) }
        </section>
    }
}

/// KCL applications of a stream.
#[component(KclCard)]
pub fn kcl_card(props: &PanelProps) -> Html {
    let _span = super::perf::span("view-kcl");
    let sim = use_context::<Sim>();
    let name = use_state(|| "kcl-app".to_string());
    let workers = use_state(|| "2".to_string());
    let failover = use_state(|| FAILOVER_TIME_MS_DEFAULT.to_string());
    let message = use_state(|| None::<Result<String, String>>);
    let Some(sim) = sim else { return html! {} };
    let stream = props.stream.clone();
    let on_start = {
        let (sim, message, stream) = (sim.clone(), message.clone(), stream.clone());
        let (name, workers, failover) = (name.clone(), workers.clone(), failover.clone());
        Callback::from(move |e: SubmitEvent| {
            e.prevent_default();
            let n = name.trim().to_string();
            let w = parse_in_range(&workers, 1, u64::from(KCL_START_WORKERS_MAX), "Workers");
            let f = parse_in_range(
                &failover,
                KCL_FAILOVER_TIME_MS_MIN,
                KCL_FAILOVER_TIME_MS_MAX,
                "Failover time (ms)",
            );
            match (w, f) {
                (Ok(w), Ok(f)) => {
                    let w = u32::try_from(w).unwrap_or(1);
                    sim.command(
                        Command::StartKclApplication {
                            name: n.clone(),
                            stream: stream.clone(),
                            workers: w,
                            failover_time_ms: Some(f),
                            lease_table: None,
                        },
                        command_reply(&message, format!("{n} started with {w} workers.")),
                    );
                }
                (Err(m), _) | (_, Err(m)) => message.set(Some(Err(m))),
            }
        })
    };

    let journaled = sim.world.borrow();
    let world: &crate::World = &journaled;
    let apps: Html = world
        .kcl_applications()
        .iter()
        .filter(|(_, e)| e.stream() == stream)
        .map(|(app_name, e)| {
            let view = e.app().view();
            let counts = e.counts();
            let stop = {
                let (sim, message, app_name) = (sim.clone(), message.clone(), app_name.clone());
                Callback::from(move |_: MouseEvent| {
                    sim.command(
                        Command::StopKclApplication { name: app_name.clone() },
                        command_reply(&message, format!("{app_name} stopped: its workers checkpointed and released their leases.")),
                    )
                })
            };
            let worker_rows: Html = view
                .workers
                .iter()
                .map(|w| {
                    let (sim, message, app, worker) =
                        (sim.clone(), message.clone(), app_name.clone(), w.worker_id.clone());
                    let alive = w.alive;
                    let onclick = Callback::from(move |_: MouseEvent| {
                        let (command, ok) = if alive {
                            (
                                Command::KillKclWorker { application: app.clone(), worker: worker.clone() },
                                format!("{worker} killed: its leases expire after the failover time and others take them."),
                            )
                        } else {
                            (
                                Command::RestartKclWorker { application: app.clone(), worker: worker.clone() },
                                format!("{worker} restarted."),
                            )
                        };
                        sim.command(command, command_reply(&message, ok));
                    });
                    html! {
                        <li class="worker" data-worker={w.worker_id.clone()}>
                            <strong class="mono">{ &w.worker_id }</strong>
                            if w.alive { <span class="badge active">{ "RUNNING" }</span> } else { <span class="badge closed">{ "KILLED" }</span> }
                            <span class="sub-text">{ format!("{} leases, {} records", w.leases_owned, count(w.records_processed)) }</span>
                            if e.running() {
                                <button class="small" {onclick} aria-label={format!("{} {} of {app_name}", if w.alive { "Kill" } else { "Restart" }, w.worker_id)}>
                                    { if w.alive { "Kill" } else { "Restart" } }
                                </button>
                            }
                        </li>
                    }
                })
                .collect();
            let lease_rows: Html = view
                .leases
                .iter()
                .map(|l| {
                    let lease = &l.lease;
                    html! {
                        <tr data-lease={lease.lease_key.clone()}>
                            <th scope="row" class="mono">{ breakable_shard_id(&lease.lease_key) }</th>
                            <td class="mono lease-owner">{ lease.lease_owner.clone().unwrap_or_else(|| "-".into()) }</td>
                            <td class="num">{ lease.lease_counter }</td>
                            <td class="mono" title={lease.checkpoint.to_string()}>{ abbreviate_middle(&lease.checkpoint.to_string(), CHECKPOINT_SHOWN_CHARS) }</td>
                            <td class="mono">
                                if lease.parent_shard_ids.is_empty() { { "-" } }
                                { for lease.parent_shard_ids.iter().enumerate().map(|(i, id)| html! {
                                    <>{ if i > 0 { ", " } else { "" } }{ breakable_shard_id(id) }</>
                                }) }
                            </td>
                            <td>{ l.phase.map_or("-".to_string(), |p| format!("{p:?}")) }</td>
                            <td class="num">{ l.millis_behind_latest.map_or("-".to_string(), millis) }</td>
                        </tr>
                    }
                })
                .collect();
            html! {
                <li class="actor" data-kcl-app={app_name.clone()}>
                    <div class="actor-head">
                        <strong class="mono">{ app_name }</strong>
                        if e.running() { <span class="badge active">{ "RUNNING" }</span> } else { <span class="badge">{ "STOPPED" }</span> }
                        <span class="sub-text">{ format!("lease table {}, failover {}", e.lease_table(), millis(e.app().config().failover_time_ms)) }</span>
                        if e.running() {
                            <button class="small" onclick={stop} aria-label={format!("Stop {app_name}")}>{ "Stop" }</button>
                        }
                    </div>
                    <dl class="counts">
                        <div><dt>{ "User records processed" }</dt><dd class="kcl-processed">{ count(counts.user_records) }</dd></div>
                        <div><dt>{ "Distinct" }</dt><dd>{ count(counts.unique_user_records) }</dd></div>
                        <div><dt>{ "Kinesis records (aggregated)" }</dt><dd>{ format!("{} ({})", count(counts.kinesis_records), count(counts.aggregated_records)) }</dd></div>
                        <div><dt>{ "Leases taken / stolen / lost" }</dt><dd>{ format!("{} / {} / {}", view.stats.leases_taken, view.stats.leases_stolen, view.stats.leases_lost) }</dd></div>
                    </dl>
                    <ul class="workers" aria-label={format!("Workers of {app_name}")}>{ worker_rows }</ul>
                    <div class="table-wrap"><table class="table data lease-table">
                        <caption>{ format!("Lease table {}", e.lease_table()) }</caption>
                        <thead><tr>
                            <th scope="col">{ "leaseKey" }</th>
                            <th scope="col">{ "lease" }<wbr />{ "Owner" }</th>
                            <th scope="col" class="num">{ "lease" }<wbr />{ "Counter" }</th>
                            <th scope="col" title="The sequence number the worker checkpointed (the middle left out; the whole on hover)">{ "checkpoint" }</th>
                            <th scope="col">{ "parent" }<wbr />{ "ShardId" }</th>
                            <th scope="col">{ "Consumer" }</th>
                            <th scope="col" class="num">{ "Behind" }</th>
                        </tr></thead>
                        <tbody>{ lease_rows }</tbody>
                    </table></div>
                </li>
            }
        })
        .collect();
    drop(journaled);

    html! {
        <section class="card wide" aria-labelledby="kcl-h" id="kcl">
            <h2 id="kcl-h">{ "KCL applications" }</h2>
            <p class="hint">{ "Workers share the shards through a lease table: each renews its leases every failover/3, takes expired ones and steals to balance. Kill a worker and watch its leases move after the failover time." }</p>
            <ul class="actors" id="kcl-apps">{ apps }</ul>
            <form class="form grid-form" onsubmit={on_start}>
                <label for="kcl-name">{ "Application name" }</label>
                <input id="kcl-name" value={(*name).clone()} oninput={text_input(&name)} autocomplete="off" />
                <label for="kcl-workers">{ "Workers" }</label>
                <input id="kcl-workers" type="number" min="1" max={KCL_START_WORKERS_MAX.to_string()} value={(*workers).clone()} oninput={text_input(&workers)} />
                <label for="kcl-failover">{ "Failover time (ms)" }</label>
                <input id="kcl-failover" type="number" min={KCL_FAILOVER_TIME_MS_MIN.to_string()} value={(*failover).clone()} oninput={text_input(&failover)} />
                <div class="actions span">
                    <button id="start-kcl" class="primary" type="submit">{ "Start KCL application" }</button>
                </div>
            </form>
            { feedback(&message) }
        </section>
    }
}
