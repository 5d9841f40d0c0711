//! `#/compare`: the seed's comparison of Kinesis Data Streams and Amazon Data Firehose, made live. Each row has a
//! button per side that sets up a demonstration in the running simulator (a stream with a producer and a
//! consumer; a delivery stream fed by it) and opens the page that shows the difference.

use super::firehose::{CreateForm, create_delivery_stream};
use super::{Route, Sim};
use crate::workload::consumer::{CONSUMER_POLL_INTERVAL_MS_MIN, StartPosition};
use crate::workload::generator::{GeneratorSpec, Template};
use crate::{Command, CommandError, Reply};
use serde_json::json;
use yew::prelude::*;
use yew_router::prelude::*;

/// The demonstration data stream.
pub const DEMO_STREAM: &str = "demo-stream";
/// The demonstration delivery stream (reads [`DEMO_STREAM`]).
pub const DEMO_FIREHOSE: &str = "demo-firehose";
/// Its bucket.
pub const DEMO_BUCKET: &str = "demo-bucket";
/// The demonstration producer's rate, in records per second.
const DEMO_RATE: u32 = 50;

/// Which page a demonstration opens.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Show {
    /// The data stream's page (shards, producers, consumers and their lag, replay).
    Stream,
    /// The first shard's records (kept for the retention period).
    Records,
    /// The delivery stream's page (buffer against the hints).
    DeliveryStream,
    /// The bucket the delivery stream writes.
    Bucket,
}

impl Show {
    fn route(self) -> Route {
        match self {
            Show::Stream => Route::Stream {
                name: DEMO_STREAM.into(),
            },
            Show::Records => Route::Shard {
                name: DEMO_STREAM.into(),
                shard: "shardId-000000000000".into(),
            },
            Show::DeliveryStream => Route::DeliveryStream {
                name: DEMO_FIREHOSE.into(),
            },
            Show::Bucket => Route::Bucket {
                bucket: DEMO_BUCKET.into(),
            },
        }
    }

    fn needs_firehose(self) -> bool {
        matches!(self, Show::DeliveryStream | Show::Bucket)
    }
}

/// One row of the comparison.
struct Row {
    aspect: &'static str,
    streams: &'static str,
    firehose: &'static str,
    show_streams: Show,
    show_firehose: Show,
}

const ROWS: [Row; 5] = [
    Row {
        aspect: "Who does the work",
        streams: "You write producers and consumers (here: a clickstream producer and a polling consumer).",
        firehose: "Fully managed: no consumer code; it reads the stream and writes S3 for you.",
        show_streams: Show::Stream,
        show_firehose: Show::DeliveryStream,
    },
    Row {
        aspect: "Latency",
        streams: "~200 ms from put to a consumer's GetRecords (watch the consumer's lag).",
        firehose: "Buffered: at least 60 s here (the interval hint), or until the size hint fills.",
        show_streams: Show::Stream,
        show_firehose: Show::DeliveryStream,
    },
    Row {
        aspect: "Scaling",
        streams: "You scale shards: split the hot one, merge cold ones, or pick on-demand.",
        firehose: "Automatic: there are no shards to manage.",
        show_streams: Show::Stream,
        show_firehose: Show::DeliveryStream,
    },
    Row {
        aspect: "Data kept",
        streams: "1 to 365 days: records stay in the shard for the retention period.",
        firehose: "Not kept: once delivered, the only copy is the S3 object.",
        show_streams: Show::Records,
        show_firehose: Show::Bucket,
    },
    Row {
        aspect: "Replay",
        streams: "Replay: a consumer can start again from TRIM_HORIZON or a timestamp.",
        firehose: "None: what was delivered is delivered; read it back from S3.",
        show_streams: Show::Stream,
        show_firehose: Show::Bucket,
    },
];

fn ignore() -> Callback<Result<Reply, CommandError>> {
    Callback::from(|_| {})
}

/// Sets up the demonstration (whatever of it exists already is kept) and opens `show`'s page. Actions are
/// applied in the order sent, so the stream exists before its producer and the delivery stream that reads it.
pub fn set_up(
    sim: &Sim,
    show: Show,
    navigator: Option<Navigator>,
    done: Callback<Result<String, String>>,
) {
    sim.kinesis(
        "CreateStream",
        json!({"StreamName": DEMO_STREAM, "ShardCount": 1}).to_string(),
        Callback::from(|_| {}),
    );
    sim.command(
        Command::StartProducer {
            name: "demo-producer".into(),
            stream: DEMO_STREAM.into(),
            records_per_s: DEMO_RATE,
            spec: GeneratorSpec::from_template(Template::Clickstream),
        },
        ignore(),
    );
    sim.command(
        Command::StartConsumer {
            name: "demo-consumer".into(),
            stream: DEMO_STREAM.into(),
            start: StartPosition::TrimHorizon,
            poll_interval_ms: CONSUMER_POLL_INTERVAL_MS_MIN,
        },
        ignore(),
    );
    let route = if show.needs_firehose() {
        let (exists, stream_active) = {
            let world = sim.world.borrow();
            (
                world
                    .firehose_service()
                    .configuration(DEMO_FIREHOSE)
                    .is_some(),
                stream_active(&world),
            )
        };
        if exists {
            show.route()
        } else {
            if stream_active {
                create_demo_firehose(sim, done);
            }
            // Until the stream is ACTIVE, the delivery stream's page waits for it ([`DemoPending`]).
            Show::DeliveryStream.route()
        }
    } else {
        show.route()
    };
    // The last action's reply comes after every earlier one: then the pages have something to show.
    sim.command(
        Command::Note {
            text: format!("Demonstration set up: {route:?}"),
        },
        Callback::from(move |_| {
            if let Some(nav) = &navigator {
                nav.push(&route);
            }
        }),
    );
}

/// Whether the demonstration stream is ACTIVE (a delivery stream reads a stream from LATEST once it is).
fn stream_active(world: &crate::World) -> bool {
    world
        .streams()
        .stream_view(DEMO_STREAM, world.now())
        .is_some_and(|v| v.status.as_str() == "ACTIVE")
}

fn create_demo_firehose(sim: &Sim, done: Callback<Result<String, String>>) {
    let form = CreateForm {
        name: DEMO_FIREHOSE.into(),
        source_stream: DEMO_STREAM.into(),
        bucket: DEMO_BUCKET.into(),
        interval_seconds: "60".into(),
        ..CreateForm::default()
    };
    match form.body() {
        Ok(body) => create_delivery_stream(sim, body, DEMO_FIREHOSE.into(), None, done),
        Err(m) => done.emit(Err(m)),
    }
}

/// Properties of [`DemoPending`].
#[derive(Clone, Debug, PartialEq, Properties)]
pub struct PendingProps {
    /// The simulation.
    pub sim: Sim,
}

/// Shown at the demonstration delivery stream's address until it exists: waits for the demonstration stream to
/// become ACTIVE (10 simulated seconds of play), then creates the delivery stream that reads it.
#[component(DemoPending)]
pub fn demo_pending(props: &PendingProps) -> Html {
    let sent = use_mut_ref(|| false);
    let message = use_state(|| None::<Result<String, String>>);
    let active = stream_active(&props.sim.world.borrow());
    {
        let (sim, message) = (props.sim.clone(), message.clone());
        use_effect_with((props.sim.version, active), move |(_, active)| {
            if *active && !*sent.borrow() {
                *sent.borrow_mut() = true;
                create_demo_firehose(&sim, Callback::from(move |m| message.set(Some(m))));
            }
        });
    }
    html! {
        <div class="page">
            <div class="page-head"><h1>{ DEMO_FIREHOSE }</h1></div>
            <section class="card" id="demo-waiting">
                <p role="status">{ format!("Setting up: the delivery stream reads {DEMO_STREAM} from LATEST once the stream is ACTIVE (10 simulated seconds after it was created). Press play.") }</p>
                { super::dashboard::feedback(&message) }
            </section>
        </div>
    }
}

/// The comparison page.
#[component(ComparePage)]
pub fn compare_page() -> Html {
    let message = use_state(|| None::<Result<String, String>>);
    let navigator = use_navigator();
    let Some(sim) = use_context::<Sim>() else {
        return html! {};
    };
    let button = |id: String, show: Show, label: &'static str| {
        let (sim, navigator, message) = (sim.clone(), navigator.clone(), message.clone());
        let onclick = Callback::from(move |_| {
            let message = message.clone();
            set_up(
                &sim,
                show,
                navigator.clone(),
                Callback::from(move |m: Result<String, String>| {
                    if m.is_err() {
                        message.set(Some(m));
                    }
                }),
            );
        });
        html! { <button {id} class="demo" {onclick}>{ label }</button> }
    };
    let rows: Html = ROWS
        .iter()
        .enumerate()
        .map(|(i, row)| {
            html! {
                <tr>
                    <th scope="row">{ row.aspect }</th>
                    <td><p>{ row.streams }</p>{ button(format!("demo-streams-{i}"), row.show_streams, "Show me live →") }</td>
                    <td><p>{ row.firehose }</p>{ button(format!("demo-firehose-{i}"), row.show_firehose, "Show me live →") }</td>
                </tr>
            }
        })
        .collect();
    html! {
        <div class="page compare">
            <div class="page-head">
                <h1>{ "Data Streams vs Firehose" }</h1>
                <p class="lead">{ format!("Real-time streams you program against, or near-real-time delivery that is managed for you. Each button sets up a live demonstration in this run: a data stream {DEMO_STREAM} with a producer and a consumer, and a delivery stream {DEMO_FIREHOSE} that reads it into s3://{DEMO_BUCKET}/. Press play to watch.") }</p>
            </div>
            <section class="card">
                <div class="table-wrap"><table class="table compare-table" id="compare">
                    <thead><tr>
                        <th scope="col">{ "" }</th>
                        <th scope="col">{ "Kinesis Data Streams" }</th>
                        <th scope="col">{ "Amazon Data Firehose" }</th>
                    </tr></thead>
                    <tbody>{ rows }</tbody>
                </table></div>
                { super::dashboard::feedback(&message) }
            </section>
        </div>
    }
}
