//! The OpenSearch destination on a delivery stream's page: the simulated domain's indices with their document
//! counts, and a search box over one index listing the hits. Documents are untrusted record data: they are shown
//! as text, never as HTML.

use super::super::Sim;
use super::super::format::count;
use crate::firehose::metrics::FirehoseMetric;
use crate::firehose::opensearch::{Index, OpenSearchDestination};
use web_sys::{HtmlInputElement, HtmlSelectElement};
use yew::prelude::*;

/// Hits listed under the search box.
pub const HITS_SHOWN: u32 = 20;

#[derive(Clone, Debug, PartialEq, Properties)]
pub struct OpenSearchProps {
    pub sim: Sim,
    pub name: String,
    pub destination: OpenSearchDestination,
}

/// The index shown: the chosen one while it exists, else the newest by name (with rotation, the latest period).
pub fn shown_index<'i>(
    indices: impl DoubleEndedIterator<Item = (&'i String, &'i Index)>,
    chosen: Option<&str>,
) -> Option<(&'i String, &'i Index)> {
    let mut all: Vec<(&String, &Index)> = indices.collect();
    match chosen.and_then(|c| all.iter().position(|(n, _)| n.as_str() == c)) {
        Some(at) => Some(all.swap_remove(at)),
        None => all.pop(),
    }
}

/// The domain's indices and a search over one of them.
#[component(OpenSearchCard)]
pub fn opensearch_card(props: &OpenSearchProps) -> Html {
    let query = use_state(String::new);
    let chosen = use_state(|| None::<String>);
    let world = props.sim.world.borrow();
    let fh = world.firehose_service();
    let key = props.destination.domain_key();
    let domain = fh.opensearch().domain(&key);
    let on_query = {
        let query = query.clone();
        Callback::from(move |e: InputEvent| {
            query.set(e.target_unchecked_into::<HtmlInputElement>().value())
        })
    };
    let on_index = {
        let chosen = chosen.clone();
        Callback::from(move |e: Event| {
            chosen.set(Some(e.target_unchecked_into::<HtmlSelectElement>().value()))
        })
    };
    let indexed = fh.metric_total(
        &props.name,
        FirehoseMetric::DeliveryToAmazonOpenSearchServiceRecords,
    );
    let rows: Vec<Html> = domain
        .map(|d| {
            d.indices()
                .iter()
                .map(|(name, index)| {
                    html! { <tr><td class="mono">{ name }</td><td class="num">{ count(index.len()) }</td></tr> }
                })
                .collect()
        })
        .unwrap_or_default();
    let shown = domain.and_then(|d| shown_index(d.indices().iter(), chosen.as_deref()));
    let results = shown.map(|(name, index)| {
        let result = index.search(&query, HITS_SHOWN);
        let hits: Vec<Html> = result
            .hits
            .iter()
            .map(|doc| {
                html! {
                    <li>
                        <span class="mono small">{ format!("_id {} · _version {}", doc.id, doc.version) }</span>
                        <pre class="mono">{ doc.source.clone() }</pre>
                    </li>
                }
            })
            .collect();
        html! {
            <>
                <p id="fh-os-total" aria-live="polite">{ format!("{} {} in {name}{}", count(result.total), if result.total == 1 { "hit" } else { "hits" },
                    if result.total > u64::from(HITS_SHOWN) { format!(" (first {HITS_SHOWN} shown)") } else { String::new() }) }</p>
                <ol id="fh-os-hits" class="hits">{ for hits }</ol>
            </>
        }
    });
    let names: Vec<String> = domain
        .map(|d| d.indices().keys().cloned().collect())
        .unwrap_or_default();
    let selected = shown.map(|(n, _)| n.clone()).unwrap_or_default();
    html! {
        <section class="card" aria-labelledby="fh-os-h">
            <h2 id="fh-os-h">{ "OpenSearch domain" }</h2>
            <p class="hint">{ format!(
                "{} · index {} rotated {} · document ids {} · backup {}. The domain is simulated: created on first use, kept with the session.",
                key, props.destination.index_name, props.destination.rotation.as_str(),
                props.destination.document_ids.as_str(), props.destination.backup_mode()) }</p>
            <p class="hint">{ format!("Indexed so far: {} documents. Documents the domain refuses go to the bucket's AmazonOpenSearchService-failed/ folder.", count(indexed)) }</p>
            if rows.is_empty() {
                <p class="hint" id="fh-os-empty">{ "No index yet: the first flush creates it." }</p>
            } else {
                <div class="table-wrap"><table class="table" id="fh-os-indices">
                    <thead><tr><th scope="col">{ "Index" }</th><th scope="col" class="num">{ "Documents" }</th></tr></thead>
                    <tbody>{ for rows }</tbody>
                </table></div>
                <div class="row">
                    <label for="fh-os-index">{ "Index" }</label>
                    <select id="fh-os-index" onchange={on_index}>
                        { for names.iter().map(|n| html! { <option value={n.clone()} selected={*n == selected}>{ n }</option> }) }
                    </select>
                    <label for="fh-os-query">{ "Search" }</label>
                    <input id="fh-os-query" type="search" placeholder="level:ERROR or a word"
                        value={(*query).clone()} oninput={on_query} />
                </div>
                { for results }
            }
        </section>
    }
}
