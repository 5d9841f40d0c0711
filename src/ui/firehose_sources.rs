//! The "Sources" card of a delivery stream's page: start a CloudWatch Logs subscription or an AWS IoT rule that
//! sends to this (Direct PUT) delivery stream, see what each sent, was throttled or failed, and stop it. Sources
//! are World actors started by journaled commands ([`Command::StartCloudWatchLogsSubscription`],
//! [`Command::StartIotRule`], [`Command::StopFirehoseSource`]), so runs replay exactly.

use super::Sim;
use super::dashboard::feedback;
use super::format::{bytes, count, parse_in_range};
use crate::world::{CWL_EVENTS_PER_S_MAX, IOT_MESSAGES_PER_S_MAX};
use crate::{Command, CommandError, Reply};
use web_sys::{HtmlInputElement, HtmlSelectElement};
use yew::prelude::*;

/// Properties of [`SourcesCard`].
#[derive(Clone, Debug, PartialEq, Properties)]
pub struct SourcesProps {
    /// The session.
    pub sim: Sim,
    /// The delivery stream.
    pub name: String,
}

/// The form's fields, as typed.
#[derive(Clone, Debug, PartialEq)]
struct SourceForm {
    kind: String,
    name: String,
    log_group: String,
    log_stream: String,
    rate: String,
    topic: String,
    sql: String,
    separator: String,
    batch_mode: bool,
}

impl Default for SourceForm {
    fn default() -> Self {
        SourceForm {
            kind: "cwl".into(),
            name: "app-logs".into(),
            log_group: "/aws/lambda/checkout".into(),
            log_stream: "2026/01/01/[$LATEST]0123456789abcdef".into(),
            rate: "10".into(),
            topic: "sensors/telemetry".into(),
            sql: "SELECT * FROM 'sensors/#'".into(),
            separator: "\\n".into(),
            batch_mode: false,
        }
    }
}

impl SourceForm {
    /// The command the form asks for, or the first problem.
    fn command(&self, delivery_stream: &str) -> Result<Command, String> {
        let name = self.name.trim().to_string();
        if name.is_empty() {
            return Err("Name the source.".into());
        }
        if self.kind == "cwl" {
            let rate = parse_in_range(
                &self.rate,
                1,
                u64::from(CWL_EVENTS_PER_S_MAX),
                "Log events per second",
            )?;
            Ok(Command::StartCloudWatchLogsSubscription {
                name,
                delivery_stream: delivery_stream.to_string(),
                log_group: self.log_group.trim().to_string(),
                log_stream: self.log_stream.trim().to_string(),
                filter_name: None,
                events_per_s: u32::try_from(rate).unwrap_or(CWL_EVENTS_PER_S_MAX),
            })
        } else {
            let rate = parse_in_range(
                &self.rate,
                1,
                u64::from(IOT_MESSAGES_PER_S_MAX),
                "Messages per second",
            )?;
            Ok(Command::StartIotRule {
                name,
                delivery_stream: delivery_stream.to_string(),
                topic: self.topic.trim().to_string(),
                sql: Some(self.sql.clone()),
                messages_per_s: u32::try_from(rate).unwrap_or(IOT_MESSAGES_PER_S_MAX),
                devices: None,
                separator: Some(self.separator.clone()),
                batch_mode: self.batch_mode,
            })
        }
    }
}

/// Start, watch and stop the CloudWatch Logs and IoT sources of one delivery stream.
#[component(SourcesCard)]
pub fn sources_card(props: &SourcesProps) -> Html {
    let form = use_state(SourceForm::default);
    let message = use_state(|| None::<Result<String, String>>);
    let sim = props.sim.clone();
    let reply = |message: &UseStateHandle<Option<Result<String, String>>>, ok: String| {
        let message = message.clone();
        Callback::from(move |r: Result<Reply, CommandError>| {
            message.set(Some(r.map(|_| ok.clone()).map_err(|e| e.message)));
        })
    };
    let on_submit = {
        let (sim, form, message, delivery) = (
            sim.clone(),
            form.clone(),
            message.clone(),
            props.name.clone(),
        );
        Callback::from(move |e: SubmitEvent| {
            e.prevent_default();
            match form.command(&delivery) {
                Ok(command) => {
                    let name = form.name.trim().to_string();
                    sim.command(command, reply(&message, format!("Source {name} started.")));
                }
                Err(m) => message.set(Some(Err(m))),
            }
        })
    };
    let field = |set: fn(&mut SourceForm, String)| {
        let form = form.clone();
        Callback::from(move |e: InputEvent| {
            let value = e.target_unchecked_into::<HtmlInputElement>().value();
            let mut f = (*form).clone();
            set(&mut f, value);
            form.set(f);
        })
    };
    let on_kind = {
        let form = form.clone();
        Callback::from(move |e: Event| {
            let kind = e.target_unchecked_into::<HtmlSelectElement>().value();
            let name = if kind == "cwl" {
                "app-logs"
            } else {
                "iot-rule"
            };
            form.set(SourceForm {
                kind,
                name: name.into(),
                ..(*form).clone()
            });
        })
    };
    let on_batch = {
        let form = form.clone();
        Callback::from(move |e: Event| {
            let checked = e.target_unchecked_into::<HtmlInputElement>().checked();
            form.set(SourceForm {
                batch_mode: checked,
                ..(*form).clone()
            });
        })
    };

    let world = sim.world.borrow();
    let rows: Html = world
        .firehose_sources()
        .iter()
        .filter(|(_, e)| e.delivery_stream == props.name)
        .map(|(name, e)| {
            let st = &e.stats;
            let on_stop = {
                let (sim, message, name) = (sim.clone(), message.clone(), name.clone());
                Callback::from(move |_: MouseEvent| {
                    sim.command(
                        Command::StopFirehoseSource { name: name.clone() },
                        reply(&message, format!("Source {name} stopped.")),
                    )
                })
            };
            html! {
                <li class="actor" data-source={name.clone()}>
                    <div class="actor-head">
                        <strong class="mono">{ name }</strong>
                        <span class="badge">{ e.kind_name() }</span>
                        if e.running() { <span class="badge active">{ "RUNNING" }</span> } else { <span class="badge">{ "STOPPED" }</span> }
                        if e.running() {
                            <button class="small" onclick={on_stop} aria-label={format!("Stop source {name}")}>{ "Stop" }</button>
                        }
                    </div>
                    <p class="sub-text clip" title={e.settings()}>{ e.settings() }</p>
                    <dl class="counts">
                        <div><dt>{ "Records sent" }</dt><dd class="source-sent">{ count(st.records_sent) }</dd></div>
                        <div><dt>{ "Bytes sent" }</dt><dd>{ bytes(st.bytes_sent) }</dd></div>
                        <div><dt>{ "Calls" }</dt><dd>{ count(st.calls) }</dd></div>
                        <div><dt>{ "Throttled" }</dt><dd class={classes!((st.records_throttled > 0).then_some("warn"))}>{ count(st.records_throttled) }</dd></div>
                        <div><dt>{ "Failed" }</dt><dd>{ count(st.records_failed) }</dd></div>
                        <div><dt>{ "Produced" }</dt><dd>{ count(st.produced) }</dd></div>
                    </dl>
                    if let Some(err) = &st.last_error { <p class="sub-text clip" title={err.clone()}>{ err }</p> }
                </li>
            }
        })
        .collect();
    let has_sources = world
        .firehose_sources()
        .values()
        .any(|e| e.delivery_stream == props.name);
    drop(world);

    let f = &*form;
    let cwl = f.kind == "cwl";
    html! {
        <section class="card" aria-labelledby="fh-sources-h">
            <h2 id="fh-sources-h">{ "Sources" }</h2>
            <p class="hint">{ "Simulated producers with the record formats the real services send: a CloudWatch Logs subscription (a CONTROL_MESSAGE first, then gzip-compressed batches of log events: add the Decompression and CloudWatch Logs processing processors to get the log lines) or an IoT rule (its SELECT result per message). Their calls count against the Direct PUT quotas." }</p>
            <ul class="actors" id="fh-sources">{ rows }</ul>
            <details class="form-box" open={!has_sources}>
                <summary>{ "Start a source" }</summary>
                <form class="form grid-form" onsubmit={on_submit}>
                    <label for="src-kind">{ "Kind" }</label>
                    <select id="src-kind" onchange={on_kind}>
                        <option value="cwl" selected={cwl}>{ "CloudWatch Logs subscription" }</option>
                        <option value="iot" selected={!cwl}>{ "IoT rule" }</option>
                    </select>
                    <label for="src-name">{ "Name" }</label>
                    <input id="src-name" value={f.name.clone()} oninput={field(|f, v| f.name = v)} autocomplete="off" />
                    if cwl {
                        <label for="src-log-group">{ "Log group" }</label>
                        <input id="src-log-group" class="mono" value={f.log_group.clone()} oninput={field(|f, v| f.log_group = v)} />
                        <label for="src-log-stream">{ "Log stream" }</label>
                        <input id="src-log-stream" class="mono" value={f.log_stream.clone()} oninput={field(|f, v| f.log_stream = v)} />
                        <label for="src-rate">{ "Log events/s" }</label>
                        <input id="src-rate" type="number" min="1" max={CWL_EVENTS_PER_S_MAX.to_string()} value={f.rate.clone()} oninput={field(|f, v| f.rate = v)} />
                    } else {
                        <label for="src-topic">{ "Topic" }</label>
                        <input id="src-topic" class="mono" value={f.topic.clone()} oninput={field(|f, v| f.topic = v)} />
                        <label for="src-sql">{ "Rule SQL" }</label>
                        <input id="src-sql" class="mono" value={f.sql.clone()} oninput={field(|f, v| f.sql = v)} />
                        <label for="src-separator">{ "Separator (\\n, \\t, \\r\\n, , or empty)" }</label>
                        <input id="src-separator" class="mono" value={f.separator.clone()} oninput={field(|f, v| f.separator = v)} />
                        <label for="src-rate">{ "Messages/s" }</label>
                        <input id="src-rate" type="number" min="1" max={IOT_MESSAGES_PER_S_MAX.to_string()} value={f.rate.clone()} oninput={field(|f, v| f.rate = v)} />
                        <label for="src-batch">{ "Batch mode (PutRecordBatch)" }</label>
                        <input id="src-batch" type="checkbox" checked={f.batch_mode} onchange={on_batch} />
                    }
                    <div class="actions span">
                        <button id="start-source" class="primary" type="submit">{ "Start source" }</button>
                    </div>
                </form>
            </details>
            { feedback(&message) }
        </section>
    }
}
