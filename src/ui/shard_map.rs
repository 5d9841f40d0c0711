//! The shard map: the hash-key space 0..2^128 as a bar divided by open shard, coloured by write load against the
//! shard limit, with the hottest partition keys marked. Clicking the bar picks a shard and a split point.

use super::geometry::{fraction, load_colour, segment};
use crate::World;
use crate::sim::SimTime;
use crate::streams::hash_key::{HashKeyRange, partition_key_hash};
use crate::streams::metrics::Metric;
use crate::streams::service::parse_shard_id;
use crate::streams::throughput::{SHARD_WRITE_BYTES_PER_S_MAX, SHARD_WRITE_RECORDS_PER_S_MAX};
use std::collections::BTreeMap;
use yew::prelude::*;

/// Hot keys marked on the bar.
const HOT_KEYS_SHOWN: usize = 3;

/// One shard's numbers for the map and the table.
#[derive(Clone, Debug, PartialEq)]
pub struct ShardStat {
    /// `shardId-...`.
    pub id: String,
    /// Its hash keys.
    pub range: HashKeyRange,
    /// Open (takes writes) or closed (kept for reading until retention passes).
    pub open: bool,
    /// Parent after a split or merge.
    pub parent: Option<String>,
    /// Second parent after a merge.
    pub adjacent_parent: Option<String>,
    /// Records written in the last simulated second.
    pub write_records_1s: u64,
    /// Bytes written in the last simulated second.
    pub write_bytes_1s: u64,
    /// Bytes read per second, averaged over this minute.
    pub read_bytes_per_s: u64,
    /// Writes refused this minute.
    pub write_throttled_minute: u64,
    /// Reads refused this minute.
    pub read_throttled_minute: u64,
    /// Records kept.
    pub kept: u64,
}

impl ShardStat {
    /// Write load against the shard limit (the larger of the records and bytes ratios).
    pub fn write_ratio(&self) -> f64 {
        #[allow(clippy::cast_precision_loss)]
        let (r, b) = (
            self.write_records_1s as f64 / SHARD_WRITE_RECORDS_PER_S_MAX as f64,
            self.write_bytes_1s as f64 / SHARD_WRITE_BYTES_PER_S_MAX as f64,
        );
        r.max(b)
    }
}

/// Every kept shard of `stream`, in id order, with its live numbers.
pub fn shard_stats(world: &World, stream: &str) -> Vec<ShardStat> {
    let now = world.now();
    let streams = world.streams();
    let minute = now.as_millis() / 60_000;
    let seconds_into_minute = (now.as_millis() % 60_000 / 1_000).max(1);
    let window_start = SimTime::from_millis(now.as_millis().saturating_sub(1_000));
    streams
        .shard_views(stream, now)
        .into_iter()
        .map(|(view, open, _)| {
            let records = streams.shard_records(stream, &view.shard_id);
            let (write_records_1s, write_bytes_1s) = records.map_or((0, 0), |r| {
                let from = r.partition_point(|x| x.arrival <= window_start);
                r.range(from..).fold((0, 0), |(n, b), x| {
                    (n + 1, b + (x.data.len() + x.partition_key.len()) as u64)
                })
            });
            let metric = |m: Metric| streams.shard_metric_minute(stream, &view.shard_id, minute, m);
            ShardStat {
                range: view.hash_key_range,
                open,
                parent: view.parent_shard_id.clone(),
                adjacent_parent: view.adjacent_parent_shard_id.clone(),
                write_records_1s,
                write_bytes_1s,
                read_bytes_per_s: metric(Metric::GetRecordsBytes) / seconds_into_minute,
                write_throttled_minute: metric(Metric::WriteProvisionedThroughputExceeded),
                read_throttled_minute: metric(Metric::ReadProvisionedThroughputExceeded),
                kept: records.map_or(0, |r| r.len() as u64),
                id: view.shard_id,
            }
        })
        .collect()
}

/// The partition keys written most in the last simulated second, with their counts (hottest first).
pub fn hot_keys(world: &World, stream: &str, shards: &[ShardStat]) -> Vec<(String, u64)> {
    let now = world.now();
    let window_start = SimTime::from_millis(now.as_millis().saturating_sub(1_000));
    let mut counts: BTreeMap<&str, u64> = BTreeMap::new();
    for shard in shards.iter().filter(|s| s.open) {
        if let Some(records) = world.streams().shard_records(stream, &shard.id) {
            let from = records.partition_point(|x| x.arrival <= window_start);
            for r in records.range(from..) {
                *counts.entry(r.partition_key.as_str()).or_insert(0) += 1;
            }
        }
    }
    let mut hot: Vec<(String, u64)> = counts
        .into_iter()
        .map(|(k, n)| (k.to_string(), n))
        .collect();
    hot.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
    hot.truncate(HOT_KEYS_SHOWN);
    // A key is hot when it takes a visible share: at least 10% of a shard's record limit.
    hot.retain(|(_, n)| *n * 10 >= SHARD_WRITE_RECORDS_PER_S_MAX);
    hot
}

/// Properties of [`ShardMap`].
#[derive(Clone, Debug, PartialEq, Properties)]
pub struct ShardMapProps {
    /// The shards (open ones are drawn).
    pub shards: Vec<ShardStat>,
    /// Hot keys to mark.
    pub hot: Vec<(String, u64)>,
    /// The selected shard.
    pub selected: Option<String>,
    /// The chosen split point.
    pub split_key: Option<u128>,
    /// A click on the bar, as a fraction of its width.
    pub on_pick: Callback<f64>,
}

/// The bar.
#[component(ShardMap)]
pub fn shard_map(props: &ShardMapProps) -> Html {
    let _span = super::perf::span("view-shard-map");
    let bar = use_node_ref();
    let mut open: Vec<&ShardStat> = props.shards.iter().filter(|s| s.open).collect();
    open.sort_by_key(|s| s.range.starting);
    let segments: Html = open
        .iter()
        .map(|s| {
            let seg = segment(&s.range);
            let selected = props.selected.as_deref() == Some(s.id.as_str());
            let ordinal = parse_shard_id(&s.id).unwrap_or(0);
            let ratio = s.write_ratio();
            let x = seg.x * 1000.0;
            let w = seg.width * 1000.0;
            html! {
                <g class={classes!("segment", selected.then_some("selected"))} data-shard={s.id.clone()}>
                    <title>{ format!("{}: {:.0}% of its write limit", s.id, ratio * 100.0) }</title>
                    <rect x={format!("{x:.3}")} y="0" width={format!("{:.3}", (w - 1.0).max(0.5))} height="56"
                        rx="3" fill={load_colour(ratio)} />
                    if w > 40.0 {
                        <text x={format!("{:.3}", x + w / 2.0)} y="34" text-anchor="middle">{ format!("#{ordinal}") }</text>
                    }
                </g>
            }
        })
        .collect();
    let hot: Html = props
        .hot
        .iter()
        .map(|(key, n)| {
            let x = fraction(partition_key_hash(key)) * 1000.0;
            html! {
                <g class="hot-key">
                    <title>{ format!("hot key {key}: {n} records in the last second") }</title>
                    <path d={format!("M{:.2} 58 l-6 10 h12 z", x)} />
                </g>
            }
        })
        .collect();
    let split = props.split_key.map(|k| {
        let x = fraction(k) * 1000.0;
        html! { <line class="split-line" x1={format!("{x:.2}")} x2={format!("{x:.2}")} y1="-4" y2="60" /> }
    });
    let onclick = {
        let (bar, on_pick) = (bar.clone(), props.on_pick.clone());
        Callback::from(move |e: MouseEvent| {
            if let Some(el) = bar.cast::<web_sys::Element>() {
                let rect = el.get_bounding_client_rect();
                if rect.width() > 0.0 {
                    on_pick.emit((f64::from(e.client_x()) - rect.left()) / rect.width());
                }
            }
        })
    };
    let hot_list: Html = props
        .hot
        .iter()
        .map(|(key, n)| html! { <li><span class="mono">{ key }</span>{ format!(" {n}/s") }</li> })
        .collect();
    html! {
        <div class="shard-map">
            <svg ref={bar} class="bar" viewBox="0 -6 1000 76" preserveAspectRatio="none" role="img"
                aria-label="Hash-key space from 0 to 2^128, divided by open shard; click to pick a split point"
                onclick={onclick}>
                { segments }
                { hot }
                { split }
            </svg>
            <div class="axis" aria-hidden="true">
                <span>{ "0" }</span><span>{ "2¹²⁶" }</span><span>{ "2¹²⁷" }</span><span>{ "3·2¹²⁶" }</span><span>{ "2¹²⁸" }</span>
            </div>
            <div class="legend">
                <span class="swatch" style={format!("background:{}", load_colour(0.0))}></span>{ "idle" }
                <span class="swatch" style={format!("background:{}", load_colour(0.7))}></span>{ "busy" }
                <span class="swatch" style={format!("background:{}", load_colour(1.0))}></span>{ "at the limit" }
                if !props.hot.is_empty() {
                    <span class="hot-legend">{ "▲ hot keys:" }</span>
                    <ul class="hot-list" id="hot-keys">{ hot_list }</ul>
                }
            </div>
        </div>
    }
}
