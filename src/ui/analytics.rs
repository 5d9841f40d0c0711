//! Analytics applications: the list and the create form (input, SQL editor with error markers, template picker,
//! output), and an application's page: status, schema, each in-application stream's recent rows (newest first),
//! a time-series chart of window output per key, and `error_stream` rows. Applications are World actors; the page
//! only sends commands and reads views. Row values are untrusted text: always rendered as text.

use super::dashboard::feedback;
use super::format::millis;
use super::{Route, Sim};
use crate::analytics::view::{TEMPLATES, key_column, numeric_columns, series, template_sql};
use crate::analytics::{
    Application, ERROR_STREAM, InputSchema, OutputRow, SqlError, discover_schema,
};
use crate::world::{AnalyticsDestination, AnalyticsInput, AnalyticsOutput, OutputFormat};
use crate::{Command, CommandError, Reply, World};
use web_sys::{HtmlInputElement, HtmlSelectElement, HtmlTextAreaElement};
use yew::prelude::*;
use yew_router::prelude::*;

/// Rows shown per in-application stream.
const ROWS_SHOWN: usize = 50;
/// Keys charted at most.
const KEYS_CHARTED_MAX: u32 = 5;
/// Sample records schema discovery looks at in the form.
const FORM_SAMPLES_MAX: usize = 50;
const WIDTH: f64 = 600.0;
const HEIGHT: f64 = 220.0;
const LEFT: f64 = 56.0;
const BOTTOM: f64 = 24.0;

/// The schema the form validates against: discovered from the newest records of a data stream, when it has any.
fn sample_schema(world: &World, stream: &str) -> Option<InputSchema> {
    let samples: Vec<&[u8]> = world
        .streams()
        .record_shards()
        .filter(|s| s.stream == stream)
        .flat_map(|s| s.records.iter().rev().take(FORM_SAMPLES_MAX))
        .take(FORM_SAMPLES_MAX)
        .map(|r| r.data.as_slice())
        .collect();
    (!samples.is_empty()).then(|| discover_schema(&samples))
}

/// The SQL text with the error's line marked, one `<span>` per line.
fn marked_lines(sql: &str, error: Option<&SqlError>) -> Html {
    sql.lines()
        .enumerate()
        .map(|(i, line)| {
            let bad = error.is_some_and(|e| e.line as usize == i + 1);
            html! {
                <span class={classes!("sql-line", bad.then_some("err-line"))}>
                    <span class="ln" aria-hidden="true">{ i + 1 }</span>{ format!("{line}\n") }
                </span>
            }
        })
        .collect()
}

/// The analytics page: applications and the create form.
#[component(AnalyticsPage)]
pub fn analytics_page() -> Html {
    let sim = use_context::<Sim>();
    let name = use_state(|| "clicks-per-page".to_string());
    let input = use_state(String::new);
    let sql = use_state(|| template_sql("tumbling").to_string());
    let destination = use_state(String::new);
    let format = use_state(|| "json".to_string());
    let message = use_state(|| None::<Result<String, String>>);
    let Some(sim) = sim else { return html! {} };
    let world = sim.world.borrow();
    let streams: Vec<String> = world.streams().stream_names().map(str::to_string).collect();
    let deliveries: Vec<String> = world
        .firehose_service()
        .names()
        .map(str::to_string)
        .collect();
    let chosen = if input.is_empty() {
        streams
            .first()
            .map(|s| format!("stream:{s}"))
            .unwrap_or_default()
    } else {
        (*input).clone()
    };
    let schema = chosen
        .strip_prefix("stream:")
        .and_then(|s| sample_schema(&world, s));
    let apps: Vec<(String, String, String, u64, u64)> = world
        .analytics_apps()
        .values()
        .map(|a| {
            (
                a.name().to_string(),
                a.status().label().to_string(),
                a.input().name().to_string(),
                a.counts().records_in,
                a.counts().rows_out.values().sum(),
            )
        })
        .collect();
    drop(world);
    let checked = schema
        .as_ref()
        .map(|s| Application::new(&sql, s.clone()).map(|_| ()));
    let error = checked.as_ref().and_then(|r| r.as_ref().err()).cloned();
    let on_submit = {
        let (sim, message, name, sql) = (sim.clone(), message.clone(), name.clone(), sql.clone());
        let (destination, format, chosen, schema) = (
            destination.clone(),
            format.clone(),
            chosen.clone(),
            schema.clone(),
        );
        Callback::from(move |e: SubmitEvent| {
            e.prevent_default();
            let input = if let Some(s) = chosen.strip_prefix("stream:") {
                AnalyticsInput::Stream { name: s.into() }
            } else if let Some(d) = chosen.strip_prefix("delivery:") {
                AnalyticsInput::DeliveryStream { name: d.into() }
            } else {
                message.set(Some(Err(
                    "Create a data stream first (on the dashboard), then pick it as the input."
                        .into(),
                )));
                return;
            };
            let dest = if let Some(s) = destination.strip_prefix("stream:") {
                AnalyticsDestination::DataStream { name: s.into() }
            } else if let Some(d) = destination.strip_prefix("delivery:") {
                AnalyticsDestination::DeliveryStream { name: d.into() }
            } else {
                AnalyticsDestination::None
            };
            let outputs = if dest == AnalyticsDestination::None {
                Vec::new()
            } else {
                vec![AnalyticsOutput {
                    stream: "DESTINATION_SQL_STREAM".into(),
                    destination: dest,
                    format: if *format == "csv" {
                        OutputFormat::Csv
                    } else {
                        OutputFormat::Json
                    },
                }]
            };
            let n = name.trim().to_string();
            let message = message.clone();
            let ok = format!("Application {n} created.");
            sim.command(
                Command::CreateAnalyticsApplication {
                    name: n,
                    sql: (*sql).clone(),
                    input,
                    // Only a schema that plans: otherwise discover from the records the app reads.
                    schema: schema
                        .clone()
                        .filter(|s| Application::new(&sql, s.clone()).is_ok()),
                    outputs,
                },
                Callback::from(move |r: Result<Reply, CommandError>| {
                    message.set(Some(r.map(|_| ok.clone()).map_err(|e| e.message)));
                }),
            );
        })
    };
    let on_name = {
        let name = name.clone();
        Callback::from(move |e: InputEvent| {
            name.set(e.target_unchecked_into::<HtmlInputElement>().value())
        })
    };
    let on_input = {
        let input = input.clone();
        Callback::from(move |e: Event| {
            input.set(e.target_unchecked_into::<HtmlSelectElement>().value())
        })
    };
    let on_sql = {
        let sql = sql.clone();
        Callback::from(move |e: InputEvent| {
            sql.set(e.target_unchecked_into::<HtmlTextAreaElement>().value())
        })
    };
    let on_template = {
        let sql = sql.clone();
        Callback::from(move |e: Event| {
            let id = e.target_unchecked_into::<HtmlSelectElement>().value();
            if !id.is_empty() {
                sql.set(template_sql(&id).to_string());
            }
        })
    };
    let on_destination = {
        let destination = destination.clone();
        Callback::from(move |e: Event| {
            destination.set(e.target_unchecked_into::<HtmlSelectElement>().value())
        })
    };
    let on_format = {
        let format = format.clone();
        Callback::from(move |e: Event| {
            format.set(e.target_unchecked_into::<HtmlSelectElement>().value())
        })
    };
    let check = match (&checked, &error) {
        (_, Some(e)) => html! {
            <p class="error sql-error" role="alert" id="sql-error">
                { format!("Line {}, column {}: {}", e.line, e.column, e.message) }
            </p>
        },
        (Some(Ok(())), None) => {
            html! { <p class="ok" id="sql-ok">{ "The SQL plans against the schema discovered from the stream's records." }</p> }
        }
        _ => {
            html! { <p class="hint">{ "The input has no records yet: the application discovers its schema from the first records it reads." }</p> }
        }
    };
    let option = |value: String, label: String, selected: bool| html! { <option value={value} selected={selected}>{ label }</option> };
    let list: Html = if apps.is_empty() {
        html! { <p class="empty">{ "No applications yet. Create one below: start a clickstream producer on a stream first, so there are records to read." }</p> }
    } else {
        html! {
            <table class="table" id="apps-table">
                <thead><tr>
                    <th scope="col">{ "Name" }</th><th scope="col">{ "Status" }</th><th scope="col">{ "Input" }</th>
                    <th scope="col" class="num">{ "Records in" }</th><th scope="col" class="num">{ "Rows out" }</th>
                </tr></thead>
                <tbody>
                    { for apps.iter().map(|(n, status, input, rin, rout)| html! {
                        <tr>
                            <th scope="row"><Link<Route> to={Route::AnalyticsApp { name: n.clone() }}>{ n }</Link<Route>></th>
                            <td>{ status }</td><td>{ input }</td>
                            <td class="num">{ rin }</td><td class="num">{ rout }</td>
                        </tr>
                    }) }
                </tbody>
            </table>
        }
    };
    html! {
        <div class="page">
            <div class="page-head">
                <h1>{ "Analytics applications" }</h1>
                <p class="lead">{ "Continuous SQL over a stream, on simulated time: tumbling, sliding and stagger windows, live tables and charts." }</p>
            </div>
            <section class="card" aria-labelledby="apps-h">
                <h2 id="apps-h">{ "Applications" }</h2>
                { list }
            </section>
            <section class="card" aria-labelledby="new-app-h">
                <h2 id="new-app-h">{ "Create an application" }</h2>
                <form class="form" onsubmit={on_submit} id="create-app">
                    <label for="app-name">{ "Name" }</label>
                    <input id="app-name" value={(*name).clone()} oninput={on_name} maxlength="128" />
                    <label for="app-input">{ "Input" }</label>
                    <select id="app-input" onchange={on_input}>
                        { for streams.iter().map(|s| option(format!("stream:{s}"), format!("Data stream {s}"), chosen == format!("stream:{s}"))) }
                        { for deliveries.iter().map(|d| option(format!("delivery:{d}"), format!("Delivery stream {d}"), chosen == format!("delivery:{d}"))) }
                    </select>
                    <label for="app-template">{ "Template" }</label>
                    <select id="app-template" onchange={on_template}>
                        <option value="" selected=true>{ "Pick an example…" }</option>
                        { for TEMPLATES.iter().map(|(id, label, _)| option((*id).to_string(), (*label).to_string(), false)) }
                    </select>
                    <label for="app-sql">{ "SQL" }</label>
                    <div class="sql-editor">
                        <textarea id="app-sql" class="mono" rows="9" spellcheck="false" value={(*sql).clone()} oninput={on_sql}
                            aria-invalid={error.is_some().to_string()} aria-describedby="sql-error" />
                        if error.is_some() {
                            <pre class="sql-marked" aria-label="SQL with the error's line marked">{ marked_lines(&sql, error.as_ref()) }</pre>
                        }
                        { check }
                    </div>
                    <label for="app-destination">{ "DESTINATION_SQL_STREAM to" }</label>
                    <div class="inline">
                        <select id="app-destination" onchange={on_destination}>
                            <option value="" selected={destination.is_empty()}>{ "the live table only" }</option>
                            { for streams.iter().map(|s| option(format!("stream:{s}"), format!("Data stream {s}"), *destination == format!("stream:{s}"))) }
                            { for deliveries.iter().map(|d| option(format!("delivery:{d}"), format!("Delivery stream {d}"), *destination == format!("delivery:{d}"))) }
                        </select>
                        <label for="app-format">{ "as" }</label>
                        <select id="app-format" onchange={on_format}>
                            <option value="json" selected={*format == "json"}>{ "JSON" }</option>
                            <option value="csv" selected={*format == "csv"}>{ "CSV" }</option>
                        </select>
                    </div>
                    <button type="submit" class="primary" id="create-app-btn">{ "Create application" }</button>
                </form>
                { feedback(&message) }
            </section>
        </div>
    }
}

/// Properties of [`AppPage`].
#[derive(Clone, Debug, PartialEq, Properties)]
pub struct AppProps {
    /// The application's name.
    pub name: String,
}

/// One application: status, schema, SQL, live tables, chart, error rows.
#[component(AppPage)]
pub fn app_page(props: &AppProps) -> Html {
    let sim = use_context::<Sim>();
    let message = use_state(|| None::<Result<String, String>>);
    let value_col = use_state(String::new);
    let navigator = use_navigator();
    let Some(sim) = sim else { return html! {} };
    let world = sim.world.borrow();
    let Some(app) = world.analytics_apps().get(&props.name) else {
        return html! {
            <div class="page"><div class="page-head"><h1>{ &props.name }</h1></div>
                <section class="card"><p>{ "No application of this name. " }<Link<Route> to={Route::Analytics}>{ "All applications" }</Link<Route>></p></section>
            </div>
        };
    };
    let status = app.status().label();
    let counts = app.counts().clone();
    let late = app.late_rows();
    let sql_text = app.sql().to_string();
    let failure = app.error().cloned();
    let waiting = app
        .waits_for_input()
        .then(|| app.input().name().to_string());
    let schema: Vec<(String, String, String)> = app
        .schema()
        .map(|s| {
            s.columns
                .iter()
                .map(|c| (c.name.clone(), c.sql_type.sql(), c.mapping.clone()))
                .collect()
        })
        .unwrap_or_default();
    let mut stream_names: Vec<String> = app.in_app_streams().into_iter().map(|(n, _)| n).collect();
    stream_names.push(ERROR_STREAM.to_string());
    let tables: Vec<(String, Vec<OutputRow>)> = stream_names
        .iter()
        .map(|s| {
            (
                s.clone(),
                app.recent_rows(s).take(ROWS_SHOWN).cloned().collect(),
            )
        })
        .collect();
    let chart_rows: Vec<OutputRow> = app
        .in_app_streams()
        .first()
        .map(|(s, _)| app.recent_rows(s).cloned().collect())
        .unwrap_or_default();
    let running = matches!(status, "RUNNING" | "DISCOVERING");
    drop(world);
    let reply = {
        let message = message.clone();
        move |ok: String| {
            let message = message.clone();
            Callback::from(move |r: Result<Reply, CommandError>| {
                message.set(Some(r.map(|_| ok.clone()).map_err(|e| e.message)));
            })
        }
    };
    let name = props.name.clone();
    let on_stop = {
        let (sim, reply, name) = (sim.clone(), reply.clone(), name.clone());
        Callback::from(move |_| {
            sim.command(
                Command::StopAnalyticsApplication { name: name.clone() },
                reply(format!("{name} stopped.")),
            )
        })
    };
    let on_delete = {
        let (sim, name) = (sim.clone(), name.clone());
        Callback::from(move |_| {
            let navigator = navigator.clone();
            sim.command(
                Command::DeleteAnalyticsApplication { name: name.clone() },
                Callback::from(move |r: Result<Reply, CommandError>| {
                    if r.is_ok()
                        && let Some(n) = &navigator
                    {
                        n.push(&Route::Analytics);
                    }
                }),
            )
        })
    };
    let refs: Vec<&OutputRow> = chart_rows.iter().collect();
    let numeric = numeric_columns(&refs);
    let value = if numeric.contains(&value_col) {
        (*value_col).clone()
    } else {
        numeric.first().cloned().unwrap_or_default()
    };
    let key = key_column(&refs);
    let on_value = {
        let value_col = value_col.clone();
        Callback::from(move |e: Event| {
            value_col.set(e.target_unchecked_into::<HtmlSelectElement>().value())
        })
    };
    let chart = if value.is_empty() {
        html! { <p class="empty">{ "No numeric rows yet: windows emit when they close. Play time." }</p> }
    } else {
        chart_svg(&refs, key.as_deref(), &value)
    };
    let table_html: Html = tables
        .iter()
        .map(|(stream, rows)| {
            let id = format!("rows-{}", stream.to_lowercase().replace(|c: char| !c.is_ascii_alphanumeric(), "-"));
            let header: Vec<String> = rows.first().map(|r| r.columns.iter().map(|(n, _)| n.clone()).collect()).unwrap_or_default();
            let total = counts.rows_out.get(stream).copied().unwrap_or(0);
            html! {
                <section class="card" aria-label={format!("{stream} rows")}>
                    <h2>{ stream }<span class="muted">{ format!(" {total} rows in all, newest first") }</span></h2>
                    if rows.is_empty() {
                        <p class="empty">{ "No rows yet." }</p>
                    } else {
                        <div class="table-wrap">
                            <table class="table" id={id}>
                                <thead><tr>
                                    <th scope="col">{ "ROWTIME (sim)" }</th>
                                    { for header.iter().map(|h| html! { <th scope="col">{ h }</th> }) }
                                </tr></thead>
                                <tbody>
                                    { for rows.iter().map(|r| html! {
                                        <tr>
                                            <td class="mono">{ millis(r.emit_time.as_millis()) }</td>
                                            { for r.columns.iter().map(|(_, v)| html! { <td>{ v.to_text() }</td> }) }
                                        </tr>
                                    }) }
                                </tbody>
                            </table>
                        </div>
                    }
                </section>
            }
        })
        .collect();
    html! {
        <div class="page">
            <div class="page-head">
                <h1>{ &props.name }<span class="badge" id="app-status">{ status }</span></h1>
                <p class="lead"><Link<Route> to={Route::Analytics}>{ "All applications" }</Link<Route>></p>
            </div>
            <div class="grid two">
                <section class="card" aria-labelledby="app-h">
                    <h2 id="app-h">{ "Application" }</h2>
                    <dl class="stats">
                        <div><dt>{ "Records in" }</dt><dd id="app-records-in">{ counts.records_in }</dd></div>
                        <div><dt>{ "Rows out" }</dt><dd>{ counts.rows_out.values().sum::<u64>() }</dd></div>
                        <div><dt>{ "Delivered" }</dt><dd>{ counts.delivered }</dd></div>
                        <div><dt>{ "Delivery failed" }</dt><dd>{ counts.delivery_failed }</dd></div>
                        <div><dt>{ "Reads throttled" }</dt><dd>{ counts.reads_throttled }</dd></div>
                        <div><dt>{ "Late rows" }</dt><dd>{ late }</dd></div>
                    </dl>
                    if let Some(stream) = &waiting {
                        <p class="hint" id="app-waiting">{ format!("Waiting for {stream} to become ACTIVE: the application reads it from its first record then.") }</p>
                    }
                    if let Some(e) = &failure {
                        <p class="error" role="alert">{ format!("Line {}, column {}: {}", e.line, e.column, e.message) }</p>
                    }
                    <div class="inline">
                        <button onclick={on_stop} disabled={!running}>{ "Stop" }</button>
                        <button onclick={on_delete} class="danger">{ "Delete" }</button>
                    </div>
                    { feedback(&message) }
                </section>
                <section class="card" aria-labelledby="schema-h">
                    <h2 id="schema-h">{ "Input schema (SOURCE_SQL_STREAM_001)" }</h2>
                    if schema.is_empty() {
                        <p class="empty">{ "Discovering from the first records read…" }</p>
                    } else {
                        <table class="table" id="schema-table">
                            <thead><tr><th scope="col">{ "Column" }</th><th scope="col">{ "Type" }</th><th scope="col">{ "Mapping" }</th></tr></thead>
                            <tbody>{ for schema.iter().map(|(n, t, m)| html! { <tr><td class="mono">{ n }</td><td>{ t }</td><td class="mono">{ m }</td></tr> }) }</tbody>
                        </table>
                    }
                </section>
            </div>
            <section class="card" aria-labelledby="chart-h">
                <h2 id="chart-h">{ "Window output over time" }</h2>
                if numeric.len() > 1 {
                    <div class="inline">
                        <label for="chart-value">{ "Value" }</label>
                        <select id="chart-value" onchange={on_value}>
                            { for numeric.iter().map(|n| html! { <option value={n.clone()} selected={*n == value}>{ n }</option> }) }
                        </select>
                    </div>
                }
                { chart }
            </section>
            { table_html }
            <section class="card" aria-labelledby="sql-h">
                <h2 id="sql-h">{ "SQL" }</h2>
                <pre class="sql-marked">{ marked_lines(&sql_text, failure.as_ref()) }</pre>
            </section>
        </div>
    }
}

/// An SVG line chart of `value` over emit time, one line per key (the busiest few).
fn chart_svg(rows: &[&OutputRow], key: Option<&str>, value: &str) -> Html {
    let all = series(rows, key, value, KEYS_CHARTED_MAX);
    let points = all.iter().flat_map(|s| s.points.iter());
    let t0 = points.clone().map(|p| p.0.as_millis()).min().unwrap_or(0);
    let t1 = points
        .clone()
        .map(|p| p.0.as_millis())
        .max()
        .unwrap_or(0)
        .max(t0 + 1);
    let max = points.map(|p| p.1).fold(0.0f64, f64::max);
    // Whole numbers for the axis: the chart's scale, not a decision of the simulation.
    #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
    let ceiling = super::chart::nice_ceiling(max.ceil().max(1.0) as u64);
    #[allow(clippy::cast_precision_loss)]
    let (ceiling_f, span) = (ceiling as f64, (t1 - t0) as f64);
    #[allow(clippy::cast_precision_loss)]
    let xy = |t: u64, v: f64| {
        let x = LEFT + (WIDTH - LEFT - 8.0) * (t - t0) as f64 / span;
        let y = (HEIGHT - BOTTOM) - (HEIGHT - BOTTOM - 10.0) * v / ceiling_f;
        (x, y)
    };
    let lines: Html = all
        .iter()
        .enumerate()
        .map(|(i, s)| {
            let pts: String = s
                .points
                .iter()
                .map(|(t, v)| {
                    let (x, y) = xy(t.as_millis(), *v);
                    format!("{x:.1},{y:.1} ")
                })
                .collect();
            let dots: Html = s
                .points
                .iter()
                .map(|(t, v)| {
                    let (x, y) = xy(t.as_millis(), *v);
                    html! { <circle class={format!("s{i}")} cx={format!("{x:.1}")} cy={format!("{y:.1}")} r="2.5"><title>{ format!("{}: {v} at {}", s.key, millis(t.as_millis())) }</title></circle> }
                })
                .collect();
            html! { <g class={format!("series s{i}")}><polyline class="line" points={pts} />{ dots }</g> }
        })
        .collect();
    let legend: Html = all
        .iter()
        .enumerate()
        .map(|(i, s)| html! { <li><span class={format!("swatch s{i}")} aria-hidden="true"></span>{ if s.key.is_empty() { value.to_string() } else { s.key.clone() } }</li> })
        .collect();
    html! {
        <>
            <svg class="chart analytics-chart" id="analytics-chart" viewBox={format!("0 0 {WIDTH} {HEIGHT}")} role="img"
                aria-label={format!("{value} over simulated time, per {}", key.unwrap_or("row"))}>
                { for [0u64, 1, 2, 3, 4].iter().map(|q| {
                    #[allow(clippy::cast_precision_loss)]
                    let y = (HEIGHT - BOTTOM) - (HEIGHT - BOTTOM - 10.0) * *q as f64 / 4.0;
                    html! { <>
                        <line class="grid" x1={LEFT.to_string()} x2={(WIDTH - 8.0).to_string()} y1={format!("{y:.1}")} y2={format!("{y:.1}")} />
                        <text class="tick" x={(LEFT - 6.0).to_string()} y={format!("{:.1}", y + 4.0)} text-anchor="end">{ ceiling / 4 * q }</text>
                    </> }
                }) }
                { lines }
                <text class="tick" x={LEFT.to_string()} y={(HEIGHT - 6.0).to_string()}>{ millis(t0) }</text>
                <text class="tick" x={(WIDTH - 8.0).to_string()} y={(HEIGHT - 6.0).to_string()} text-anchor="end">{ millis(t1) }</text>
            </svg>
            <ul class="legend">{ legend }</ul>
        </>
    }
}
