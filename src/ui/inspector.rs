//! The record inspector: one shard's records in a virtualised list (only the rows in view are in the page, so it
//! stays fast at 100,000+ records), data as UTF-8, JSON or hex, with partition key, hash key, sequence number and
//! arrival time. Record data is untrusted and only ever rendered as text. Records are read-only, as on AWS.

use super::format::{DataView, bytes, count, data_text};
use super::{Route, Sim};
use crate::sim::SimTime;
use crate::streams::hash_key::partition_key_hash;
use web_sys::Element;
use yew::prelude::*;
use yew_router::prelude::*;

/// Height of one row, in CSS pixels (fixed, so the visible rows follow from the scroll position).
pub const ROW_HEIGHT_PX: u32 = 30;
/// Height of the scrolling viewport, in CSS pixels.
pub const VIEWPORT_HEIGHT_PX: u32 = 540;
/// Rows rendered beyond the visible ones on each side.
pub const OVERSCAN_ROWS: u32 = 8;
/// Most bytes of a selected record shown in full.
const DETAIL_BYTES_MAX: usize = 65_536;

/// The rows to render for a scroll position: `first..end` of `total`.
pub fn visible_rows(scroll_top_px: u32, total: u64) -> (u64, u64) {
    let first = u64::from(scroll_top_px / ROW_HEIGHT_PX).saturating_sub(u64::from(OVERSCAN_ROWS));
    let shown = u64::from(VIEWPORT_HEIGHT_PX / ROW_HEIGHT_PX + 2 * OVERSCAN_ROWS + 1);
    let first = first.min(total);
    (first, (first + shown).min(total))
}

/// Properties of [`InspectorPage`].
#[derive(Clone, Debug, PartialEq, Properties)]
pub struct InspectorProps {
    /// The stream.
    pub name: String,
    /// The shard.
    pub shard: String,
}

/// The inspector page.
#[component(InspectorPage)]
pub fn inspector_page(props: &InspectorProps) -> Html {
    let sim = use_context::<Sim>();
    let scroll_top = use_state(|| 0u32);
    let view = use_state(|| DataView::Utf8);
    let selected = use_state(|| None::<u64>);
    let viewport = use_node_ref();
    let Some(sim) = sim else { return html! {} };
    let world = sim.world.borrow();
    let streams = world.streams();
    let Some(records) = streams.shard_records(&props.name, &props.shard) else {
        return html! {
            <div class="page">
                <div class="page-head"><h1>{ &props.shard }</h1></div>
                <section class="card"><p class="empty">{ "This shard is not in this run (or its stream was deleted). " }
                    <Link<Route> to={Route::Stream { name: props.name.clone() }}>{ "Back to the stream" }</Link<Route>></p></section>
            </div>
        };
    };
    let total = records.len() as u64;
    let (first, end) = visible_rows(*scroll_top, total);
    let rows: Html = (first..end)
        .filter_map(|i| records.get(usize::try_from(i).ok()?).map(|r| (i, r)))
        .map(|(i, r)| {
            let seq = streams
                .record_sequence_number(&props.name, &props.shard, r.index)
                .unwrap_or_default();
            let hash = format!("{:032x}", partition_key_hash(&r.partition_key));
            let is_selected = *selected == Some(r.index);
            let on_select = {
                let selected = selected.clone();
                let index = r.index;
                Callback::from(move |_: MouseEvent| selected.set(Some(index)))
            };
            html! {
                <div class={classes!("rec-row", is_selected.then_some("selected"))} role="row"
                    style={format!("top:{}px", i * u64::from(ROW_HEIGHT_PX))} data-index={r.index.to_string()}>
                    <button class="rec-open" role="gridcell" onclick={on_select} aria-label={format!("Show record {}", r.index)}>{ r.index }</button>
                    <span role="gridcell" class="mono seq" title={seq.clone()}>{ seq }</span>
                    <span role="gridcell" class="mono">{ r.arrival.to_string() }</span>
                    <span role="gridcell" class="mono key" title={r.partition_key.clone()}>{ &r.partition_key }</span>
                    <span role="gridcell" class="mono hash" title={partition_key_hash(&r.partition_key).to_string()}>{ hash }</span>
                    <span role="gridcell" class="mono data">{ data_text(&r.data, *view, 200) }</span>
                </div>
            }
        })
        .collect();
    let on_scroll = {
        let scroll_top = scroll_top.clone();
        Callback::from(move |e: Event| {
            let top = e.target_unchecked_into::<Element>().scroll_top();
            scroll_top.set(u32::try_from(top.max(0)).unwrap_or(0));
        })
    };
    let jump = |to_end: bool| {
        let viewport = viewport.clone();
        Callback::from(move |_: MouseEvent| {
            if let Some(el) = viewport.cast::<Element>() {
                el.set_scroll_top(if to_end { el.scroll_height() } else { 0 });
            }
        })
    };
    let view_button = |v: DataView, label: &'static str| {
        let view = view.clone();
        let active = *view == v;
        html! {
            <button class={classes!("small", active.then_some("active"))} aria-pressed={active.to_string()}
                onclick={Callback::from(move |_: MouseEvent| view.set(v))}>{ label }</button>
        }
    };
    let detail = selected.and_then(|index| {
        let first_index = records.front()?.index;
        let r = records.get(usize::try_from(index.checked_sub(first_index)?).ok()?)?;
        let data = &r.data[..r.data.len().min(DETAIL_BYTES_MAX)];
        let shown = match *view {
            DataView::Json => serde_json::from_slice::<serde_json::Value>(data)
                .ok()
                .and_then(|v| serde_json::to_string_pretty(&v).ok())
                .unwrap_or_else(|| "(not JSON)".to_string()),
            v => data_text(data, v, DETAIL_BYTES_MAX * 3),
        };
        Some(html! {
            <section class="card detail" aria-labelledby="detail-h">
                <h2 id="detail-h">{ format!("Record {}", r.index) }</h2>
                <dl class="stats">
                    <div><dt>{ "Sequence number" }</dt><dd class="mono wrap">{ streams.record_sequence_number(&props.name, &props.shard, r.index).unwrap_or_default() }</dd></div>
                    <div><dt>{ "Partition key" }</dt><dd class="mono wrap">{ &r.partition_key }</dd></div>
                    <div><dt>{ "Hash key" }</dt><dd class="mono wrap">{ partition_key_hash(&r.partition_key).to_string() }</dd></div>
                    <div><dt>{ "Arrival" }</dt><dd class="mono">{ format!("{} ({})", r.arrival, world.config().epoch.iso8601_at(r.arrival)) }</dd></div>
                    <div><dt>{ "Size" }</dt><dd>{ bytes(r.data.len() as u64) }</dd></div>
                </dl>
                <pre class="data-full">{ shown }</pre>
            </section>
        })
    });
    let oldest = records.front().map_or(SimTime::ZERO, |r| r.arrival);
    html! {
        <div class="page inspector-page">
            <div class="page-head">
                <p class="crumbs"><Link<Route> to={Route::Stream { name: props.name.clone() }}>{ format!("← {}", props.name) }</Link<Route>></p>
                <div class="title-row"><h1 class="mono">{ &props.shard }</h1></div>
                <p class="lead">{ format!("{} records kept, oldest from {}. Records are immutable: only retention removes them.", count(total), oldest) }</p>
            </div>
            <section class="card" aria-labelledby="records-h">
                <div class="card-head toolbar">
                    <h2 id="records-h">{ "Records" }</h2>
                    <div role="group" aria-label="Show data as" class="seg">
                        { view_button(DataView::Utf8, "UTF-8") }{ view_button(DataView::Json, "JSON") }{ view_button(DataView::Hex, "Hex") }
                    </div>
                    <button class="small" onclick={jump(false)}>{ "Oldest" }</button>
                    <button class="small" id="jump-newest" onclick={jump(true)}>{ "Newest" }</button>
                </div>
                <div class="rec-head" role="row">
                    <span>{ "#" }</span><span>{ "Sequence number" }</span><span>{ "Arrival" }</span><span>{ "Partition key" }</span><span>{ "Hash key (hex)" }</span><span>{ "Data" }</span>
                </div>
                <div ref={viewport} class="rec-viewport" id="records" role="grid" aria-rowcount={total.to_string()}
                    style={format!("height:{VIEWPORT_HEIGHT_PX}px")} onscroll={on_scroll} tabindex="0">
                    <div class="rec-spacer" style={format!("height:{}px", total * u64::from(ROW_HEIGHT_PX))}>{ rows }</div>
                </div>
                <p class="hint" id="rows-rendered" data-rendered={(end - first).to_string()}>{ format!("Showing rows {}–{} of {} (only these are in the page).", first, end, count(total)) }</p>
            </section>
            { detail.unwrap_or_else(|| html! {
                <section class="card detail" aria-labelledby="detail-h">
                    <h2 id="detail-h">{ "Record" }</h2>
                    <p class="hint">{ "Pick a record (its number in the first column) to see it in full." }</p>
                </section>
            }) }
        </div>
    }
}
