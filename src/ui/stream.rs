//! One data stream: the shard map and table, resharding (split, merge, update shard count), retention and
//! capacity mode, producers, consumers and metrics. Every change goes through the Kinesis API.

use super::chart::MetricsCard;
use super::consumers::ConsumersCard;
use super::dashboard::{error_text, feedback};
use super::format::{bytes, count, parse_hash_key, parse_in_range, parse_retention_hours};
use super::geometry::{load_colour, midpoint, share_label, split_key_at};
use super::kcl::{FanOutCard, KclCard};
use super::producers::ProducersCard;
use super::shard_map::{ShardMap, ShardStat, hot_keys, shard_stats};
use super::{Route, Sim};
use crate::api::ApiResponse;
use crate::streams::hash_key::partition_key_hash;
use crate::streams::service::StreamMode;
use crate::streams::throughput::{
    SHARD_READ_BYTES_PER_S_MAX, SHARD_WRITE_BYTES_PER_S_MAX, SHARD_WRITE_RECORDS_PER_S_MAX,
};
use serde_json::json;
use web_sys::HtmlInputElement;
use yew::prelude::*;
use yew_router::prelude::*;

/// Properties of [`StreamPage`].
#[derive(Clone, Debug, PartialEq, Properties)]
pub struct StreamProps {
    /// The stream's name.
    pub name: String,
}

type Feedback = UseStateHandle<Option<Result<String, String>>>;

/// A reply callback that puts an API answer into a feedback line.
/// A shard id that may wrap after `shardId-` where a table is narrow (`shardId-` / `000000000001`), and stays on
/// one line where there is room.
pub fn breakable_shard_id(id: &str) -> Html {
    match id.strip_prefix("shardId-") {
        Some(number) => html! { <>{ "shardId-" }<wbr />{ number.to_string() }</> },
        None => html! { { id.to_string() } },
    }
}

fn api_reply(feedback: &Feedback, ok: String) -> Callback<ApiResponse> {
    let feedback = feedback.clone();
    Callback::from(move |r: ApiResponse| {
        feedback.set(Some(if r.status == 200 {
            Ok(ok.clone())
        } else {
            Err(error_text(&r))
        }));
    })
}

/// The stream page.
#[component(StreamPage)]
pub fn stream_page(props: &StreamProps) -> Html {
    let _span = super::perf::span("view-stream-page");
    let sim = use_context::<Sim>();
    let selected = use_state(|| None::<String>);
    let split_text = use_state(String::new);
    let reshard = use_state(|| None::<Result<String, String>>);
    let Some(sim) = sim else {
        return html! {};
    };
    let world = sim.world.borrow();
    let now = world.now();
    let name = props.name.clone();
    let Some(view) = world.streams().stream_view(&name, now) else {
        return html! {
            <div class="page">
                <div class="page-head"><h1>{ &name }</h1></div>
                <section class="card"><p class="empty">{ "There is no stream by this name in this run (it may have been deleted, or the run restarted). " }
                    <Link<Route> to={Route::Dashboard}>{ "Back to the dashboard" }</Link<Route>></p></section>
            </div>
        };
    };
    let shards = shard_stats(&world, &name);
    let hot = hot_keys(&world, &name, &shards);
    let updating = world.streams().is_updating(&name, now);
    let kept = super::dashboard::records_kept(&world);
    let status = view.status.as_str();
    let selected_stat = selected
        .as_ref()
        .and_then(|id| shards.iter().find(|s| &s.id == id && s.open))
        .cloned();
    let split_key = parse_hash_key(&split_text).ok();

    let on_pick = {
        let (selected, split_text, shards) = (selected.clone(), split_text.clone(), shards.clone());
        Callback::from(move |f: f64| {
            let hash = super::geometry::hash_at(f);
            if let Some(s) = shards.iter().find(|s| s.open && s.range.contains(hash)) {
                selected.set(Some(s.id.clone()));
                if let Some(k) = split_key_at(&s.range, f) {
                    split_text.set(k.to_string());
                }
            }
        })
    };
    let select = |id: String, range| {
        let (selected, split_text) = (selected.clone(), split_text.clone());
        Callback::from(move |_: MouseEvent| {
            selected.set(Some(id.clone()));
            if let Some(k) = midpoint(&range) {
                split_text.set(k.to_string());
            }
        })
    };

    // Split, merge.
    let on_split = {
        let (sim, reshard, split_text, name) = (
            sim.clone(),
            reshard.clone(),
            split_text.clone(),
            name.clone(),
        );
        let shard = selected_stat.as_ref().map(|s| s.id.clone());
        Callback::from(move |e: SubmitEvent| {
            e.prevent_default();
            let Some(shard) = shard.clone() else {
                reshard.set(Some(Err(
                    "Pick a shard first: click it on the bar or in the table.".into(),
                )));
                return;
            };
            match parse_hash_key(&split_text) {
                Ok(key) => sim.kinesis(
                    "SplitShard",
                    json!({"StreamName": name, "ShardToSplit": shard, "NewStartingHashKey": key.to_string()}).to_string(),
                    api_reply(&reshard, format!("Splitting {shard}: the stream is UPDATING for 30 simulated seconds, then two children take over.")),
                ),
                Err(m) => reshard.set(Some(Err(m))),
            }
        })
    };
    let mut open_sorted: Vec<&ShardStat> = shards.iter().filter(|s| s.open).collect();
    open_sorted.sort_by_key(|s| s.range.starting);
    let neighbour = selected_stat.as_ref().and_then(|sel| {
        open_sorted
            .iter()
            .find(|s| sel.range.is_adjacent_to(&s.range))
            .map(|s| s.id.clone())
    });
    let on_merge = {
        let (sim, reshard, name) = (sim.clone(), reshard.clone(), name.clone());
        let pair = selected_stat
            .as_ref()
            .map(|s| s.id.clone())
            .zip(neighbour.clone());
        Callback::from(move |_: MouseEvent| {
            if let Some((a, b)) = pair.clone() {
                sim.kinesis(
                    "MergeShards",
                    json!({"StreamName": name, "ShardToMerge": a, "AdjacentShardToMerge": b})
                        .to_string(),
                    api_reply(
                        &reshard,
                        format!(
                            "Merging {a} and {b}: one child takes over after 30 simulated seconds."
                        ),
                    ),
                );
            }
        })
    };
    let on_split_input = {
        let split_text = split_text.clone();
        Callback::from(move |e: InputEvent| {
            split_text.set(e.target_unchecked_into::<HtmlInputElement>().value())
        })
    };

    // Shard table.
    let rows: Html = shards
        .iter()
        .map(|s| {
            let is_selected = selected.as_deref() == Some(s.id.as_str());
            let write_pct = s.write_ratio() * 100.0;
            #[allow(clippy::cast_precision_loss)]
            let read_pct = s.read_bytes_per_s as f64 / SHARD_READ_BYTES_PER_S_MAX as f64 * 100.0;
            let short = |id: &String| {
                crate::streams::service::parse_shard_id(id).map_or_else(|| id.clone(), |n| format!("#{n}"))
            };
            let lineage = match (&s.parent, &s.adjacent_parent) {
                (Some(a), Some(b)) => format!("merged from {} + {}", short(a), short(b)),
                (Some(a), None) => format!("split from {}", short(a)),
                _ => String::new(),
            };
            html! {
                <tr class={classes!(is_selected.then_some("selected"), (!s.open).then_some("closed"))} data-shard={s.id.clone()}>
                    <th scope="row" class="mono">{ breakable_shard_id(&s.id) }
                        if !lineage.is_empty() { <div class="sub-text">{ lineage }</div> }
                    </th>
                    <td>{ if s.open { html!{ <span class="badge active">{ "OPEN" }</span> } } else { html!{ <span class="badge closed">{ "CLOSED" }</span> } } }</td>
                    <td class="num">{ share_label(&s.range) }</td>
                    <td class="meter-cell">
                        <div class="meter" title={format!("{} records/s of {}, {} of {}/s", s.write_records_1s, SHARD_WRITE_RECORDS_PER_S_MAX, bytes(s.write_bytes_1s), bytes(SHARD_WRITE_BYTES_PER_S_MAX))}>
                            <div class="fill" style={format!("width:{:.1}%;background:{}", write_pct.min(100.0), load_colour(s.write_ratio()))}></div>
                        </div>
                        <span class="meter-label">{ format!("{} rec/s · {}/s", count(s.write_records_1s), bytes(s.write_bytes_1s)) }</span>
                    </td>
                    <td class="meter-cell">
                        <div class="meter"><div class="fill read" style={format!("width:{:.1}%", read_pct.min(100.0))}></div></div>
                        <span class="meter-label">{ format!("{}/s", bytes(s.read_bytes_per_s)) }</span>
                    </td>
                    <td class={classes!("num", (s.write_throttled_minute > 0).then_some("warn"))} data-throttled={s.write_throttled_minute.to_string()}>{ count(s.write_throttled_minute) }</td>
                    <td class={classes!("num", (s.read_throttled_minute > 0).then_some("warn"))}>{ count(s.read_throttled_minute) }</td>
                    <td class="num">{ count(s.kept) }</td>
                    <td class="row-actions">
                        if s.open {
                            <button class="small" aria-pressed={is_selected.to_string()} onclick={select(s.id.clone(), s.range)}
                                aria-label={format!("Select {} for split or merge", s.id)}>{ "Select" }</button>
                        }
                        <Link<Route> to={Route::Shard { name: name.clone(), shard: s.id.clone() }} classes="button small">{ "Records" }</Link<Route>>
                    </td>
                </tr>
            }
        })
        .collect();
    let throttled_total: u64 = shards.iter().map(|s| s.write_throttled_minute).sum();

    let hot_note = hot.first().map(|(k, _)| {
        let h = partition_key_hash(k);
        let holder = shards
            .iter()
            .find(|s| s.open && s.range.contains(h))
            .map(|s| s.id.clone())
            .unwrap_or_default();
        format!("Hottest key {k} lives in {holder}.")
    });

    html! {
        <div class="page stream-page">
            <div class="page-head">
                <div class="title-row">
                    <h1 id="stream-title">{ &name }</h1>
                    <span id="stream-status" class={classes!("badge", status.to_ascii_lowercase())}>{ status }</span>
                    <span class="badge mode">{ view.mode.as_str() }</span>
                </div>
                <p class="lead mono small">{ &view.arn }</p>
                <dl class="stats inline-stats">
                    <div><dt>{ "Open shards" }</dt><dd id="open-shards">{ view.open_shard_count }</dd></div>
                    <div><dt>{ "Retention" }</dt><dd>{ format!("{} h", view.retention_hours) }</dd></div>
                    <div><dt>{ "Write limit" }</dt><dd>{ format!("{} rec/s", count(u64::from(view.open_shard_count) * SHARD_WRITE_RECORDS_PER_S_MAX)) }</dd></div>
                    <div><dt>{ "Throttled this minute" }</dt><dd id="throttled-minute" class={classes!((throttled_total > 0).then_some("warn"))}>{ count(throttled_total) }</dd></div>
                    { kept }
                </dl>
            </div>

            <section class="card" aria-labelledby="map-h">
                <div class="card-head">
                    <h2 id="map-h">{ "Shard map" }</h2>
                    <p class="hint">{ "Partition keys hash (MD5) to a number in 0..2¹²⁸; each open shard owns a range. Colour is write load over the last second." }</p>
                </div>
                <ShardMap shards={shards.clone()} hot={hot.clone()} selected={(*selected).clone()} split_key={split_key.filter(|_| selected_stat.is_some())} on_pick={on_pick} />
                if let Some(note) = hot_note { <p class="hint">{ note }</p> }
                <div class="reshard">
                    <form class="inline" onsubmit={on_split}>
                        <label for="split-key">{ "Split " }<strong>{ selected_stat.as_ref().map_or("(pick a shard)".to_string(), |s| s.id.clone()) }</strong>{ " at hash key" }</label>
                        <input id="split-key" class="mono wide" value={(*split_text).clone()} oninput={on_split_input}
                            placeholder="click the bar, or type a decimal hash key" spellcheck="false" />
                        <button id="split" type="submit" class="primary" disabled={selected_stat.is_none() || updating}>{ "Split shard" }</button>
                    </form>
                    <button id="merge" onclick={on_merge} disabled={neighbour.is_none() || updating}
                        title="Merge the selected shard with the open shard right after it">
                        { neighbour.as_ref().map_or("Merge with next shard".to_string(), |n| format!("Merge with {n}")) }
                    </button>
                </div>
                if updating { <p class="hint" role="status">{ "The stream is UPDATING: resharding takes 30 simulated seconds." }</p> }
                { feedback(&reshard) }
            </section>

            <section class="card" aria-labelledby="shards-h">
                <h2 id="shards-h">{ "Shards" }</h2>
                <div class="table-wrap">
                <table class="table shards" id="shards-table">
                    <thead><tr>
                        <th scope="col">{ "Shard" }</th><th scope="col">{ "State" }</th><th scope="col" class="num">{ "Keys" }</th>
                        <th scope="col" title="Last simulated second, against 1 MiB/s and 1,000 records/s">{ "Write (limit 1 MiB/s, 1,000/s)" }</th>
                        <th scope="col" title="This minute's average, against 2 MiB/s">{ "Read (limit 2 MiB/s)" }</th>
                        <th scope="col" class="num" title="Writes refused this minute">{ "Throttled writes" }</th>
                        <th scope="col" class="num" title="Reads refused this minute">{ "Throttled reads" }</th>
                        <th scope="col" class="num">{ "Kept" }</th><th scope="col"><span class="sr-only">{ "Actions" }</span></th>
                    </tr></thead>
                    <tbody>{ rows }</tbody>
                </table>
                </div>
            </section>

            <div class="grid two">
                <ProducersCard stream={name.clone()} />
                <ConsumersCard stream={name.clone()} shards={shards.iter().map(|s| s.id.clone()).collect::<Vec<_>>()} />
                <FanOutCard stream={name.clone()} />
                <KclCard stream={name.clone()} />
            </div>
            <div class="grid two">
                <MetricsCard stream={name.clone()} shards={shards.iter().map(|s| s.id.clone()).collect::<Vec<_>>()} />
                <SettingsCard stream={name.clone()} mode={view.mode.as_str().to_string()} open_shards={view.open_shard_count} retention_hours={view.retention_hours} />
            </div>
        </div>
    }
}

#[derive(Clone, Debug, PartialEq, Properties)]
struct SettingsProps {
    stream: String,
    mode: String,
    open_shards: u32,
    retention_hours: u32,
}

/// Update shard count, retention, capacity mode; delete.
#[component(SettingsCard)]
fn settings_card(props: &SettingsProps) -> Html {
    let sim = use_context::<Sim>();
    let shard_text = use_state(|| props.open_shards.to_string());
    let retention_text = use_state(|| props.retention_hours.to_string());
    let message = use_state(|| None::<Result<String, String>>);
    let Some(sim) = sim else { return html! {} };
    let name = props.stream.clone();
    let on_count = {
        let (sim, message, text, name) = (
            sim.clone(),
            message.clone(),
            shard_text.clone(),
            name.clone(),
        );
        Callback::from(move |e: SubmitEvent| {
            e.prevent_default();
            match parse_in_range(&text, 1, 10_000, "Target shard count") {
                Ok(n) => sim.kinesis(
                    "UpdateShardCount",
                    json!({"StreamName": name, "TargetShardCount": n, "ScalingType": "UNIFORM_SCALING"}).to_string(),
                    api_reply(&message, format!("Scaling to {n} shards: UPDATING for 30 simulated seconds.")),
                ),
                Err(m) => message.set(Some(Err(m))),
            }
        })
    };
    let on_retention = {
        let (sim, message, text, name, current) = (
            sim.clone(),
            message.clone(),
            retention_text.clone(),
            name.clone(),
            props.retention_hours,
        );
        Callback::from(move |e: SubmitEvent| {
            e.prevent_default();
            match parse_retention_hours(&text) {
                Ok(h) if h == u64::from(current) => {
                    message.set(Some(Ok("Retention is already that.".into())))
                }
                Ok(h) => {
                    let op = if h > u64::from(current) {
                        "IncreaseStreamRetentionPeriod"
                    } else {
                        "DecreaseStreamRetentionPeriod"
                    };
                    sim.kinesis(
                        op,
                        json!({"StreamName": name, "RetentionPeriodHours": h}).to_string(),
                        api_reply(&message, format!("Records are now kept {h} hours.")),
                    );
                }
                Err(m) => message.set(Some(Err(m))),
            }
        })
    };
    let other_mode = if props.mode == StreamMode::OnDemand.as_str() {
        "PROVISIONED"
    } else {
        "ON_DEMAND"
    };
    let on_mode = {
        let (sim, message, name) = (sim.clone(), message.clone(), name.clone());
        Callback::from(move |_: MouseEvent| {
            sim.kinesis(
                "UpdateStreamMode",
                json!({"StreamARN": crate::streams::service::stream_arn(&name), "StreamModeDetails": {"StreamMode": other_mode}}).to_string(),
                api_reply(&message, format!("Switching to {other_mode}.")),
            );
        })
    };
    let on_delete = {
        let (sim, message, name) = (sim.clone(), message.clone(), name.clone());
        Callback::from(move |_: MouseEvent| {
            sim.kinesis(
                "DeleteStream",
                json!({"StreamName": name, "EnforceConsumerDeletion": true}).to_string(),
                api_reply(
                    &message,
                    "Deleting: the stream is gone after 10 simulated seconds.".into(),
                ),
            );
        })
    };
    let input = |s: &UseStateHandle<String>| {
        let s = s.clone();
        Callback::from(move |e: InputEvent| {
            s.set(e.target_unchecked_into::<HtmlInputElement>().value())
        })
    };
    html! {
        <section class="card" aria-labelledby="settings-h">
            <h2 id="settings-h">{ "Capacity and retention" }</h2>
            <form class="inline" onsubmit={on_count}>
                <label for="target-shards">{ "Target shard count" }</label>
                <input id="target-shards" type="number" min="1" value={(*shard_text).clone()} oninput={input(&shard_text)} />
                <button id="update-shard-count" type="submit">{ "Update shard count" }</button>
            </form>
            <form class="inline" onsubmit={on_retention}>
                <label for="retention">{ "Retention (hours, 24 to 8,760)" }</label>
                <input id="retention" type="number" min="24" max="8760" value={(*retention_text).clone()} oninput={input(&retention_text)} />
                <button id="update-retention" type="submit">{ "Set retention" }</button>
            </form>
            <div class="actions">
                <button id="switch-mode" onclick={on_mode}>{ format!("Switch to {other_mode}") }</button>
                <button id="delete-stream" class="danger" onclick={on_delete}>{ "Delete stream" }</button>
            </div>
            { feedback(&message) }
        </section>
    }
}
