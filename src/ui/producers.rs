//! Producers of one stream: start one from a workload template (rate, record size, partition-key distribution,
//! editable record template) or from a dropped log file (one record per line, as the Kinesis Agent tails files);
//! stop them; acknowledged versus throttled counts. Producers are World actors, so runs replay exactly.

use super::Sim;
use super::dashboard::feedback;
use super::format::{count, parse_in_range};
use crate::workload::generator::{GeneratorSpec, KeyDistribution, Template, parse_template};
use crate::workload::producer::PRODUCER_RECORDS_PER_S_MAX;
use crate::{Command, CommandError, Reply};
use gloo::file::callbacks::FileReader;
use web_sys::{DragEvent, HtmlInputElement, HtmlSelectElement, HtmlTextAreaElement};
use yew::prelude::*;

/// Most lines taken from a dropped file.
pub const LOG_LINES_MAX: usize = 100_000;
/// Largest log file read, in bytes.
pub const LOG_FILE_BYTES_MAX: f64 = 16.0 * 1_048_576.0;

/// Properties of [`ProducersCard`].
#[derive(Clone, Debug, PartialEq, Properties)]
pub struct ProducersProps {
    /// The stream.
    pub stream: String,
}

/// A form's fields, validated into a spec and a rate, or the first problem.
#[derive(Clone, Debug, PartialEq)]
pub struct ProducerForm {
    /// Producer name.
    pub name: String,
    /// Template id.
    pub template: Template,
    /// Records per second.
    pub rate: String,
    /// Padded record size in bytes.
    pub record_bytes: String,
    /// `uniform`, `hot` or `sequential`.
    pub distribution: String,
    /// Distinct keys.
    pub keys: String,
    /// Hot keys.
    pub hot: String,
    /// Hot share, percent.
    pub hot_percent: String,
    /// The record template.
    pub record_template: String,
}

impl ProducerForm {
    /// The defaults of a template.
    pub fn new(template: Template) -> Self {
        ProducerForm {
            name: template.id().to_string(),
            template,
            rate: "200".into(),
            record_bytes: "0".into(),
            distribution: "uniform".into(),
            keys: "100".into(),
            hot: "2".into(),
            hot_percent: "80".into(),
            record_template: template.record_template().to_string(),
        }
    }

    /// The rate and spec this form describes, or what to fix.
    pub fn validate(&self) -> Result<(u32, GeneratorSpec), String> {
        if self.name.trim().is_empty() {
            return Err("Give the producer a name.".into());
        }
        let rate = parse_in_range(
            &self.rate,
            1,
            u64::from(PRODUCER_RECORDS_PER_S_MAX),
            "Rate (records/s)",
        )?;
        let record_bytes = parse_in_range(&self.record_bytes, 0, 1_048_576, "Record size (bytes)")?;
        let keys = parse_in_range(&self.keys, 1, 1_000_000, "Partition keys")?;
        let to_u32 = |v: u64| u32::try_from(v).unwrap_or(u32::MAX);
        let distribution = match self.distribution.as_str() {
            "hot" => {
                let hot = parse_in_range(&self.hot, 1, keys, "Hot keys")?;
                let hot_percent = parse_in_range(&self.hot_percent, 0, 100, "Hot share (%)")?;
                KeyDistribution::HotKeys {
                    keys: to_u32(keys),
                    hot: to_u32(hot),
                    hot_percent: to_u32(hot_percent),
                }
            }
            "sequential" => KeyDistribution::Sequential { keys: to_u32(keys) },
            _ => KeyDistribution::Uniform { keys: to_u32(keys) },
        };
        parse_template(&self.record_template)?;
        Ok((
            to_u32(rate),
            GeneratorSpec {
                key_prefix: self.template.key_prefix().to_string(),
                keys: distribution,
                record_template: self.record_template.clone(),
                record_bytes: to_u32(record_bytes),
                lines: None,
            },
        ))
    }
}

/// The producers card.
#[component(ProducersCard)]
pub fn producers_card(props: &ProducersProps) -> Html {
    let _span = super::perf::span("view-producers");
    let sim = use_context::<Sim>();
    let form = use_state(|| ProducerForm::new(Template::Clickstream));
    let message = use_state(|| None::<Result<String, String>>);
    let reader = use_mut_ref(|| None::<FileReader>);
    let dragging = use_state(|| false);
    // `plain` (PutRecords, throttled records counted, not retried), `kpl` (KPL with aggregation) or `kpl-plain`.
    let library = use_state(|| "plain".to_string());
    let Some(sim) = sim else { return html! {} };
    let stream = props.stream.clone();
    let reply = |message: &UseStateHandle<Option<Result<String, String>>>, ok: String| {
        let message = message.clone();
        Callback::from(move |r: Result<Reply, CommandError>| {
            message.set(Some(r.map(|_| ok.clone()).map_err(|e| e.message)));
        })
    };
    let on_submit = {
        let (sim, form, message, stream, library) = (
            sim.clone(),
            form.clone(),
            message.clone(),
            stream.clone(),
            library.clone(),
        );
        Callback::from(move |e: SubmitEvent| {
            e.prevent_default();
            match form.validate() {
                Ok((records_per_s, spec)) if library.starts_with("kpl") => {
                    let name = form.name.trim().to_string();
                    let aggregation = *library == "kpl";
                    sim.command(
                        Command::StartKplProducer {
                            name: name.clone(),
                            stream: stream.clone(),
                            records_per_s,
                            spec,
                            aggregation,
                        },
                        reply(
                            &message,
                            format!(
                                "KPL producer {name} started (aggregation {}).",
                                if aggregation { "on" } else { "off" }
                            ),
                        ),
                    );
                }
                Ok((records_per_s, spec)) => {
                    let name = form.name.trim().to_string();
                    sim.command(
                        Command::StartProducer {
                            name: name.clone(),
                            stream: stream.clone(),
                            records_per_s,
                            spec,
                        },
                        reply(&message, format!("Producer {name} started.")),
                    );
                }
                Err(m) => message.set(Some(Err(m))),
            }
        })
    };
    let field = |set: fn(&mut ProducerForm, String)| {
        let form = form.clone();
        Callback::from(move |e: InputEvent| {
            let value = e.target_unchecked_into::<HtmlInputElement>().value();
            let mut f = (*form).clone();
            set(&mut f, value);
            form.set(f);
        })
    };
    let select = |set: fn(&mut ProducerForm, String)| {
        let form = form.clone();
        Callback::from(move |e: Event| {
            let value = e.target_unchecked_into::<HtmlSelectElement>().value();
            let mut f = (*form).clone();
            set(&mut f, value);
            form.set(f);
        })
    };
    let on_template_text = {
        let form = form.clone();
        Callback::from(move |e: InputEvent| {
            let mut f = (*form).clone();
            f.record_template = e.target_unchecked_into::<HtmlTextAreaElement>().value();
            form.set(f);
        })
    };

    // A log file (dropped or chosen): its lines become the command's payload.
    let start_file = {
        let (sim, message, stream, reader, form) = (
            sim.clone(),
            message.clone(),
            stream.clone(),
            reader.clone(),
            form.clone(),
        );
        Callback::from(move |file: web_sys::File| {
            if file.size() > LOG_FILE_BYTES_MAX {
                message.set(Some(Err(
                    "That file is over 16 MiB; use a smaller log file.".into(),
                )));
                return;
            }
            let file_name = file.name();
            let file = gloo::file::File::from(file);
            let (sim, message, stream) = (sim.clone(), message.clone(), stream.clone());
            let rate = parse_in_range(&form.rate, 1, 100_000, "Rate").unwrap_or(100);
            let read = gloo::file::callbacks::read_as_text(&file, move |text| match text {
                Ok(text) => {
                    let lines: Vec<String> = text
                        .lines()
                        .filter(|l| !l.trim().is_empty())
                        .take(LOG_LINES_MAX)
                        .map(str::to_string)
                        .collect();
                    if lines.is_empty() {
                        message.set(Some(Err(format!("{file_name} has no lines to send."))));
                        return;
                    }
                    let n = lines.len();
                    let mut spec = GeneratorSpec::from_template(Template::ApplicationLogs);
                    spec.key_prefix = "agent-".into();
                    spec.lines = Some(lines);
                    let name = format!("agent:{}", file_name.chars().take(60).collect::<String>());
                    let ok = format!("Streaming {n} lines of {file_name} at {rate} lines/s.");
                    let message2 = message.clone();
                    sim.command(
                        Command::StartProducer {
                            name,
                            stream,
                            records_per_s: u32::try_from(rate).unwrap_or(100),
                            spec,
                        },
                        Callback::from(move |r: Result<Reply, CommandError>| {
                            message2.set(Some(r.map(|_| ok.clone()).map_err(|e| e.message)));
                        }),
                    );
                }
                Err(e) => message.set(Some(Err(format!("Could not read the file: {e}")))),
            });
            *reader.borrow_mut() = Some(read);
        })
    };
    let on_drop = {
        let (dragging, start_file) = (dragging.clone(), start_file.clone());
        Callback::from(move |e: DragEvent| {
            e.prevent_default();
            dragging.set(false);
            if let Some(file) = e
                .data_transfer()
                .and_then(|d| d.files())
                .and_then(|f| f.get(0))
            {
                start_file.emit(file);
            }
        })
    };
    let on_file = {
        let start_file = start_file.clone();
        Callback::from(move |e: Event| {
            let input = e.target_unchecked_into::<HtmlInputElement>();
            if let Some(file) = input.files().and_then(|f| f.get(0)) {
                start_file.emit(file);
            }
            input.set_value("");
        })
    };
    let on_drag_over = {
        let dragging = dragging.clone();
        Callback::from(move |e: DragEvent| {
            e.prevent_default();
            dragging.set(true);
        })
    };
    let on_drag_leave = {
        let dragging = dragging.clone();
        Callback::from(move |_: DragEvent| dragging.set(false))
    };

    let world = sim.world.borrow();
    let has_producers = world
        .producers()
        .values()
        .any(|e| e.producer.stream == stream);
    let rows: Html = world
        .producers()
        .iter()
        .filter(|(_, e)| e.producer.stream == stream)
        .map(|(name, e)| {
            let p = &e.producer;
            let on_stop = {
                let (sim, message, name) = (sim.clone(), message.clone(), name.clone());
                Callback::from(move |_: MouseEvent| {
                    sim.command(Command::StopProducer { name: name.clone() }, reply(&message, format!("Producer {name} stopped.")))
                })
            };
            html! {
                <li class="actor" data-producer={name.clone()}>
                    <div class="actor-head">
                        <strong class="mono">{ name }</strong>
                        if e.running() { <span class="badge active">{ "RUNNING" }</span> }
                        else if p.finished { <span class="badge">{ "FINISHED" }</span> }
                        else { <span class="badge">{ "STOPPED" }</span> }
                        <span class="sub-text">{ format!("{} rec/s", count(u64::from(p.records_per_s))) }</span>
                        if e.running() {
                            <button class="small" onclick={on_stop} aria-label={format!("Stop producer {name}")}>{ "Stop" }</button>
                        }
                    </div>
                    <dl class="counts">
                        <div><dt>{ "Acknowledged" }</dt><dd class="acked">{ count(p.stats.acknowledged) }</dd></div>
                        <div><dt>{ "Throttled" }</dt><dd class={classes!("throttled", (p.stats.throttled > 0).then_some("warn"))}>{ count(p.stats.throttled) }</dd></div>
                        <div><dt>{ "Failed" }</dt><dd>{ count(p.stats.failed) }</dd></div>
                        <div><dt>{ "Last batch throttled" }</dt><dd class="last-throttled">{ format!("{} of {}", p.stats.last_batch_throttled, p.stats.last_batch) }</dd></div>
                    </dl>
                    if let Some(err) = &p.stats.last_error { <p class="sub-text wrap last-error">{ err }</p> }
                </li>
            }
        })
        .collect();
    let kpl_rows: Html = world
        .kpl_producers()
        .iter()
        .filter(|(_, e)| e.producer().stream() == stream)
        .map(|(name, e)| {
            let c = e.producer().counters();
            let on_stop = {
                let (sim, message, name) = (sim.clone(), message.clone(), name.clone());
                Callback::from(move |_: MouseEvent| {
                    sim.command(Command::StopKplProducer { name: name.clone() }, reply(&message, format!("KPL producer {name} stopped.")))
                })
            };
            let aggregation = e.producer().config().aggregation_enabled;
            html! {
                <li class="actor" data-kpl-producer={name.clone()}>
                    <div class="actor-head">
                        <strong class="mono">{ name }</strong>
                        <span class="badge">{ "KPL" }</span>
                        if e.running() { <span class="badge active">{ "RUNNING" }</span> } else { <span class="badge">{ "STOPPED" }</span> }
                        <span class="sub-text">{ format!("{} user rec/s, aggregation {}", count(u64::from(e.records_per_s())), if aggregation { "on" } else { "off" }) }</span>
                        if e.running() {
                            <button class="small" onclick={on_stop} aria-label={format!("Stop KPL producer {name}")}>{ "Stop" }</button>
                        }
                    </div>
                    <dl class="counts">
                        <div><dt>{ "User records put" }</dt><dd class="kpl-delivered">{ count(c.user_records_delivered) }</dd></div>
                        <div><dt>{ "Kinesis records (aggregated)" }</dt><dd>{ format!("{} ({})", count(c.kinesis_records_put), count(c.aggregated_records_put)) }</dd></div>
                        <div><dt>{ "PutRecords calls" }</dt><dd>{ count(c.put_records_calls) }</dd></div>
                        <div><dt>{ "Throttled entries / retries" }</dt><dd class={classes!((c.throttled_entries > 0).then_some("warn"))}>{ format!("{} / {}", count(c.throttled_entries), count(c.retries)) }</dd></div>
                        <div><dt>{ "Failed" }</dt><dd>{ count(c.user_records_failed) }</dd></div>
                        <div><dt>{ "Buffered" }</dt><dd>{ count(e.producer().outstanding()) }</dd></div>
                    </dl>
                </li>
            }
        })
        .collect();
    drop(world);

    let f = &*form;
    let templates: Html = Template::ALL
        .iter()
        .map(
            |t| html! { <option value={t.id()} selected={f.template == *t}>{ t.label() }</option> },
        )
        .collect();
    html! {
        <section class="card" aria-labelledby="producers-h">
            <h2 id="producers-h">{ "Producers" }</h2>
            <ul class="actors" id="producers">{ rows }{ kpl_rows }</ul>
            <details class="form-box" open={!has_producers}>
                <summary>{ "Start a producer" }</summary>
                <form class="form grid-form" onsubmit={on_submit}>
                    <label for="p-template">{ "Workload" }</label>
                    <select id="p-template" onchange={select(|f, v| {
                        if let Some(t) = Template::from_id(&v) { *f = ProducerForm { name: t.id().to_string(), rate: f.rate.clone(), ..ProducerForm::new(t) }; }
                    })}>{ templates }</select>
                    <label for="p-library">{ "Library" }</label>
                    <select id="p-library" onchange={{
                        let library = library.clone();
                        Callback::from(move |e: Event| library.set(e.target_unchecked_into::<HtmlSelectElement>().value()))
                    }}>
                        <option value="plain" selected={*library == "plain"}>{ "PutRecords (throttled records are not retried)" }</option>
                        <option value="kpl" selected={*library == "kpl"}>{ "KPL, aggregation on (batched, retried)" }</option>
                        <option value="kpl-plain" selected={*library == "kpl-plain"}>{ "KPL, aggregation off (batched, retried)" }</option>
                    </select>
                    <label for="p-name">{ "Name" }</label>
                    <input id="p-name" value={f.name.clone()} oninput={field(|f, v| f.name = v)} autocomplete="off" />
                    <label for="p-rate">{ "Rate (records/s)" }</label>
                    <input id="p-rate" type="number" min="1" value={f.rate.clone()} oninput={field(|f, v| f.rate = v)} />
                    <label for="p-size">{ "Record size (bytes, 0 = as made)" }</label>
                    <input id="p-size" type="number" min="0" value={f.record_bytes.clone()} oninput={field(|f, v| f.record_bytes = v)} />
                    <label for="p-dist">{ "Partition keys" }</label>
                    <select id="p-dist" onchange={select(|f, v| f.distribution = v)}>
                        <option value="uniform" selected={f.distribution == "uniform"}>{ "Uniform" }</option>
                        <option value="hot" selected={f.distribution == "hot"}>{ "A few hot keys" }</option>
                        <option value="sequential" selected={f.distribution == "sequential"}>{ "Sequential" }</option>
                    </select>
                    <label for="p-keys">{ "Distinct keys" }</label>
                    <input id="p-keys" type="number" min="1" value={f.keys.clone()} oninput={field(|f, v| f.keys = v)} />
                    if f.distribution == "hot" {
                        <label for="p-hot">{ "Hot keys" }</label>
                        <input id="p-hot" type="number" min="1" value={f.hot.clone()} oninput={field(|f, v| f.hot = v)} />
                        <label for="p-hot-pct">{ "Hot share (%)" }</label>
                        <input id="p-hot-pct" type="number" min="0" max="100" value={f.hot_percent.clone()} oninput={field(|f, v| f.hot_percent = v)} />
                    }
                    <label for="p-template-text" class="span">{ "Record template: ${key} ${n} ${ts} ${rand:LO..HI} ${choice:a|b}" }</label>
                    <textarea id="p-template-text" class="mono span" rows="3" spellcheck="false"
                        value={f.record_template.clone()} oninput={on_template_text} />
                    <div class="actions span">
                        <button id="start-producer" class="primary" type="submit">{ "Start producer" }</button>
                    </div>
                </form>
            </details>
            <div class={classes!("dropzone", dragging.then_some("over"))} ondrop={on_drop} ondragover={on_drag_over} ondragleave={on_drag_leave}
                aria-label="Drop a log file here to stream its lines">
                { "Drop a log file here: each line becomes a record, sent at the rate above (a Kinesis Agent tailing a file)." }
                <div class="file-pick">
                    <label for="log-file">{ "…or choose one: " }</label>
                    <input id="log-file" type="file" accept=".log,.txt,text/plain" onchange={on_file} />
                </div>
            </div>
            { feedback(&message) }
        </section>
    }
}
