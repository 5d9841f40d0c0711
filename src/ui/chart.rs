//! CloudWatch-named metrics of a stream or one shard, per simulated minute, as an SVG line chart.

use super::Sim;
use super::format::count;
use crate::sim::SimTime;
use crate::streams::metrics::Metric;
use web_sys::HtmlSelectElement;
use yew::prelude::*;

/// Minutes shown.
const MINUTES_SHOWN: u64 = 30;
const WIDTH: f64 = 600.0;
const HEIGHT: f64 = 200.0;
const LEFT: f64 = 56.0;
const BOTTOM: f64 = 24.0;

/// The metrics a user can chart.
pub const CHARTED: [Metric; 8] = [
    Metric::IncomingRecords,
    Metric::IncomingBytes,
    Metric::WriteProvisionedThroughputExceeded,
    Metric::PutRecordsThrottledRecords,
    Metric::GetRecordsRecords,
    Metric::GetRecordsBytes,
    Metric::GetRecordsIteratorAgeMilliseconds,
    Metric::ReadProvisionedThroughputExceeded,
];

/// A "nice" upper bound for an axis: 1, 2 or 5 times a power of ten, at least `max`.
pub fn nice_ceiling(max: u64) -> u64 {
    let mut step = 1u64;
    loop {
        for m in [1, 2, 5] {
            let v = step.saturating_mul(m);
            if v >= max {
                return v;
            }
        }
        if step > u64::MAX / 10 {
            return u64::MAX;
        }
        step *= 10;
    }
}

/// Points `(x, y)` in the chart's box for values per minute (oldest first).
pub fn points(values: &[u64], ceiling: u64) -> Vec<(f64, f64)> {
    let n = values.len().max(2) - 1;
    #[allow(clippy::cast_precision_loss)]
    values
        .iter()
        .enumerate()
        .map(|(i, &v)| {
            let x = LEFT + (WIDTH - LEFT - 8.0) * i as f64 / n as f64;
            let y = (HEIGHT - BOTTOM) - (HEIGHT - BOTTOM - 10.0) * v as f64 / ceiling.max(1) as f64;
            (x, y)
        })
        .collect()
}

/// One metric's values per simulated minute, from minute `first` to `now_minute` (inclusive), out of metric rows
/// `(time, metric, value)`; minutes without a row are 0.
pub fn per_minute<M: PartialEq>(
    rows: impl IntoIterator<Item = (SimTime, M, u64)>,
    chosen: &M,
    first: u64,
    now_minute: u64,
) -> Vec<u64> {
    let mut values = vec![0u64; usize::try_from(now_minute.saturating_sub(first) + 1).unwrap_or(1)];
    for (t, m, v) in rows {
        let minute = t.as_millis() / 60_000;
        if m == *chosen
            && minute >= first
            && let Some(slot) =
                values.get_mut(usize::try_from(minute - first).unwrap_or(usize::MAX))
        {
            *slot = v;
        }
    }
    values
}

/// How a [`minute_chart`] labels its values.
#[derive(Debug)]
pub struct ChartText<'a> {
    /// The SVG's accessible name.
    pub label: String,
    /// Grid lines, in quarters of the axis' ceiling (`[0, 2, 4]`: bottom, middle, top).
    pub quarters: &'a [u64],
    /// A value as the axis and the dots show it.
    pub value: fn(u64) -> String,
    /// Whether the area under the line is filled.
    pub area: bool,
}

/// The SVG chart of `values` per minute, the oldest at minute `first`.
pub fn minute_chart(values: &[u64], first: u64, now_minute: u64, text: &ChartText<'_>) -> Html {
    let ceiling = nice_ceiling(values.iter().copied().max().unwrap_or(0).max(1));
    let pts = points(values, ceiling);
    let line: String = pts.iter().map(|(x, y)| format!("{x:.1},{y:.1} ")).collect();
    let area = match (text.area, pts.first(), pts.last()) {
        (true, Some(f), Some(l)) => format!(
            "M{:.1},{:.1} L{line} L{:.1},{:.1} Z",
            f.0,
            HEIGHT - BOTTOM,
            l.0,
            HEIGHT - BOTTOM
        ),
        _ => String::new(),
    };
    let dots: Html = pts
        .iter()
        .zip(values)
        .enumerate()
        .map(|(i, ((x, y), v))| {
            let minute = first + i as u64;
            html! { <circle cx={format!("{x:.1}")} cy={format!("{y:.1}")} r="2.5"><title>{ format!("minute {minute}: {}", (text.value)(*v)) }</title></circle> }
        })
        .collect();
    let grid: Html = text
        .quarters
        .iter()
        .map(|q| {
            #[allow(clippy::cast_precision_loss)]
            let y = (HEIGHT - BOTTOM) - (HEIGHT - BOTTOM - 10.0) * *q as f64 / 4.0;
            html! { <>
                <line class="grid" x1={LEFT.to_string()} x2={(WIDTH - 8.0).to_string()} y1={format!("{y:.1}")} y2={format!("{y:.1}")} />
                <text class="tick" x={(LEFT - 6.0).to_string()} y={format!("{:.1}", y + 4.0)} text-anchor="end">{ (text.value)(ceiling / 4 * q) }</text>
            </> }
        })
        .collect();
    html! {
        <svg class="chart" viewBox={format!("0 0 {WIDTH} {HEIGHT}")} role="img" aria-label={text.label.clone()}>
            { grid }
            if text.area {
                <path class="area" d={area} />
            }
            <polyline class="line" points={line} />
            { dots }
            <text class="tick" x={LEFT.to_string()} y={(HEIGHT - 6.0).to_string()}>{ format!("minute {first}") }</text>
            <text class="tick" x={(WIDTH - 8.0).to_string()} y={(HEIGHT - 6.0).to_string()} text-anchor="end">{ format!("minute {now_minute} (now)") }</text>
        </svg>
    }
}

/// Properties of [`MetricsCard`].
#[derive(Clone, Debug, PartialEq, Properties)]
pub struct MetricsProps {
    /// The stream.
    pub stream: String,
    /// Its shard ids.
    pub shards: Vec<String>,
}

/// The metrics card.
#[component(MetricsCard)]
pub fn metrics_card(props: &MetricsProps) -> Html {
    let _span = super::perf::span("view-metrics");
    let sim = use_context::<Sim>();
    let metric = use_state(|| 0usize);
    let scope = use_state(String::new);
    let Some(sim) = sim else { return html! {} };
    let world = sim.world.borrow();
    let chosen = CHARTED
        .get(*metric)
        .copied()
        .unwrap_or(Metric::IncomingRecords);
    let now_minute = world.now().as_millis() / 60_000;
    let first = now_minute.saturating_sub(MINUTES_SHOWN - 1);
    let rows = if scope.is_empty() {
        world.streams().stream_metrics(&props.stream)
    } else {
        world.streams().shard_metrics(&props.stream, &scope)
    }
    .unwrap_or_default();
    drop(world);
    let values = per_minute(rows, &chosen, first, now_minute);
    let on_metric = {
        let metric = metric.clone();
        Callback::from(move |e: Event| {
            metric.set(
                e.target_unchecked_into::<HtmlSelectElement>()
                    .value()
                    .parse()
                    .unwrap_or(0),
            );
        })
    };
    let on_scope = {
        let scope = scope.clone();
        Callback::from(move |e: Event| {
            scope.set(e.target_unchecked_into::<HtmlSelectElement>().value())
        })
    };
    html! {
        <section class="card" aria-labelledby="metrics-h">
            <h2 id="metrics-h">{ "Metrics" }</h2>
            <div class="inline">
                <label for="m-metric">{ "Metric" }</label>
                <select id="m-metric" onchange={on_metric}>
                    { for CHARTED.iter().enumerate().map(|(i, m)| html! {
                        <option value={i.to_string()} selected={*metric == i}>{ m.cloudwatch_name() }</option>
                    }) }
                </select>
                <label for="m-scope">{ "Of" }</label>
                <select id="m-scope" onchange={on_scope}>
                    <option value="" selected={scope.is_empty()}>{ "the whole stream" }</option>
                    { for props.shards.iter().map(|s| html! { <option value={s.clone()} selected={*scope == *s}>{ s }</option> }) }
                </select>
            </div>
            { minute_chart(&values, first, now_minute, &ChartText {
                label: format!("{} per minute, last {MINUTES_SHOWN} simulated minutes", chosen.cloudwatch_name()),
                quarters: &[0, 1, 2, 3, 4],
                value: count,
                area: true,
            }) }
            <p class="hint">{ if chosen.is_max() { "Maximum over each simulated minute (AWS/Kinesis namespace)." } else { "Sum over each simulated minute (AWS/Kinesis namespace)." } }</p>
        </section>
    }
}
