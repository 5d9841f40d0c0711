//! Pages that hold a place for what other parts of kinesim are building: Firehose, Analytics, the SDK playground
//! and saved sessions.

use super::Route;
use yew::prelude::*;
use yew_router::prelude::*;

/// Which page is coming.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Soon {
    /// Amazon Data Firehose.
    Firehose,
    /// SQL analytics.
    Analytics,
    /// The AWS SDK playground.
    Playground,
    /// Saved sessions.
    Sessions,
}

/// Properties of [`Coming`].
#[derive(Clone, Debug, PartialEq, Properties)]
pub struct ComingProps {
    /// Which page.
    pub what: Soon,
}

/// A page that is not built yet, saying what it will show.
#[component(Coming)]
pub fn coming(props: &ComingProps) -> Html {
    let (title, text) = match props.what {
        Soon::Firehose => (
            "Firehose delivery streams",
            "Buffer fill against the size and interval hints, flushes and their reasons, the S3 browser, HTTP \
             endpoint deliveries and retries, and the transform editor.",
        ),
        Soon::Analytics => (
            "Analytics applications",
            "A SQL editor with error markers, a live result table and charts of window output.",
        ),
        Soon::Playground => (
            "AWS SDK playground",
            "Write AWS SDK calls against this simulator and see the requests and answers.",
        ),
        Soon::Sessions => (
            "Sessions",
            "Save this run in the browser, reload it later, export and import it.",
        ),
    };
    html! {
        <div class="page">
            <div class="page-head">
                <h1>{ title }<span class="soon">{ "coming" }</span></h1>
                <p class="lead">{ text }</p>
            </div>
            <section class="card coming">
                <p>{ "This part of kinesim is being built. Data Streams are ready: " }
                    <Link<Route> to={Route::Dashboard}>{ "create one on the dashboard" }</Link<Route>>{ "." }</p>
            </section>
        </div>
    }
}

/// An address that names no page.
#[component(NotFound)]
pub fn not_found() -> Html {
    html! {
        <div class="page">
            <div class="page-head"><h1>{ "Nothing here" }</h1></div>
            <section class="card">
                <p>{ "This address names no page. " }<Link<Route> to={Route::Dashboard}>{ "Back to the dashboard" }</Link<Route>></p>
            </section>
        </div>
    }
}
