//! The transform editor of a delivery stream's page: the learner writes a JavaScript function with Firehose's
//! Lambda contract and applies it. Applying keeps the code in the session ([`Command::SetFunctionCode`], a
//! journaled command) under the function name `{delivery stream}-transform`, then makes it the delivery stream's
//! Lambda processor through the Firehose API (DescribeDeliveryStream for the version, then UpdateDestination with
//! the other processors kept), so a mistake comes back with AWS's message. Each flush then invokes it in the
//! isolated runner ([`super::transforms`]): a hostile function times out there, is retried and ends as
//! `processing-failed` objects, and the page stays responsive. Remove detaches it the same way.

use super::Sim;
use super::dashboard::{error_text, feedback};
use crate::api::ApiResponse;
use crate::firehose::service::S3Destination;
use crate::world::FUNCTION_NAME_LENGTH_MAX_CHARS;
use crate::{Command, CommandError, Reply};
use serde_json::{Value, json};
use web_sys::HtmlTextAreaElement;
use yew::prelude::*;

/// The time limit of an applied transform, in real ms (Lambda's default function timeout, 3 s).
pub const TRANSFORM_TIMEOUT_MS: u32 = 3_000;
/// The account and region of the Lambda ARNs the editor writes.
const LAMBDA_ARN_PREFIX: &str = "arn:aws:lambda:us-east-1:000000000000:function:";

/// The function name the editor keeps a delivery stream's transform under.
pub fn function_name(delivery_stream: &str) -> String {
    let name = format!("{delivery_stream}-transform");
    name.chars()
        .take(FUNCTION_NAME_LENGTH_MAX_CHARS as usize)
        .collect()
}

/// The UpdateDestination body that sets (with `lambda_arn`) or removes (without) the Lambda processor, keeping
/// the destination's other processors in their order.
pub fn update_body(
    delivery_stream: &str,
    version_id: &str,
    destination: &S3Destination,
    lambda_arn: Option<&str>,
) -> String {
    let mut processors: Vec<Value> = destination
        .processors
        .iter()
        .filter(|p| p.processor_type != "Lambda")
        .map(|p| {
            json!({
                "Type": p.processor_type,
                "Parameters": p.parameters.iter().map(|(n, v)| json!({"ParameterName": n, "ParameterValue": v})).collect::<Vec<_>>(),
            })
        })
        .collect();
    if let Some(arn) = lambda_arn {
        // The Lambda processor runs after Decompression/CloudWatchLogProcessing and before the delimiter, wherever it
        // is listed; first is where the console puts it.
        processors.insert(
            0,
            json!({"Type": "Lambda", "Parameters": [
                {"ParameterName": "LambdaArn", "ParameterValue": arn},
                {"ParameterName": "NumberOfRetries", "ParameterValue": "1"},
            ]}),
        );
    }
    let enabled = !processors.is_empty();
    json!({
        "DeliveryStreamName": delivery_stream,
        "CurrentDeliveryStreamVersionId": version_id,
        "DestinationId": crate::firehose::service::DESTINATION_ID,
        "ExtendedS3DestinationUpdate": {
            "ProcessingConfiguration": {"Enabled": enabled, "Processors": processors},
        },
    })
    .to_string()
}

/// Properties of [`TransformEditor`].
#[derive(Clone, Debug, PartialEq, Properties)]
pub struct TransformEditorProps {
    /// The session.
    pub sim: Sim,
    /// The delivery stream.
    pub name: String,
    /// Its destination as configured now.
    pub destination: S3Destination,
}

/// Describes the stream for its version, then sends UpdateDestination; `done` gets the outcome.
fn update(
    sim: &Sim,
    name: &str,
    destination: S3Destination,
    lambda_arn: Option<String>,
    done: Callback<Result<String, String>>,
) {
    let (sim2, name2) = (sim.clone(), name.to_string());
    sim.firehose(
        "DescribeDeliveryStream",
        json!({"DeliveryStreamName": name}).to_string(),
        Callback::from(move |r: ApiResponse| {
            if r.status != 200 {
                done.emit(Err(error_text(&r)));
                return;
            }
            let version = serde_json::from_str::<Value>(&r.body)
                .ok()
                .and_then(|v| {
                    v["DeliveryStreamDescription"]["VersionId"]
                        .as_str()
                        .map(str::to_string)
                })
                .unwrap_or_else(|| "1".into());
            let body = update_body(&name2, &version, &destination, lambda_arn.as_deref());
            let done = done.clone();
            let attached = lambda_arn.is_some();
            sim2.firehose(
                "UpdateDestination",
                body,
                Callback::from(move |r: ApiResponse| {
                    if r.status == 200 {
                        done.emit(Ok(if attached {
                            "Applied: the next flush runs the records through this function.".into()
                        } else {
                            "Removed: records are delivered without the function.".into()
                        }));
                    } else {
                        done.emit(Err(error_text(&r)));
                    }
                }),
            );
        }),
    );
}

/// The editor: write, apply, remove.
#[component(TransformEditor)]
pub fn transform_editor(props: &TransformEditorProps) -> Html {
    let fname = function_name(&props.name);
    let saved = props
        .sim
        .world
        .borrow()
        .function_code(&fname)
        .map(|(code, _)| code.to_string());
    let attached = props.destination.processors.iter().any(|p| {
        p.processor_type == "Lambda"
            && p.parameter("LambdaArn")
                .is_some_and(|arn| arn.ends_with(&format!(":function:{fname}")))
    });
    let code = {
        let saved = saved.clone();
        use_state(move || saved.unwrap_or_else(|| super::firehose::TRANSFORM_TEMPLATE.to_string()))
    };
    let message = use_state(|| None::<Result<String, String>>);
    let on_input = {
        let code = code.clone();
        Callback::from(move |e: InputEvent| {
            code.set(e.target_unchecked_into::<HtmlTextAreaElement>().value())
        })
    };
    let done = {
        let message = message.clone();
        Callback::from(move |r: Result<String, String>| message.set(Some(r)))
    };
    let on_apply = {
        let (sim, name, destination, code, done, fname) = (
            props.sim.clone(),
            props.name.clone(),
            props.destination.clone(),
            code.clone(),
            done.clone(),
            fname.clone(),
        );
        Callback::from(move |_: MouseEvent| {
            let (sim2, name, destination, done2, fname) = (
                sim.clone(),
                name.clone(),
                destination.clone(),
                done.clone(),
                fname.clone(),
            );
            sim.command(
                Command::SetFunctionCode {
                    name: fname.clone(),
                    code: (*code).clone(),
                    timeout_ms: TRANSFORM_TIMEOUT_MS,
                },
                Callback::from(move |r: Result<Reply, CommandError>| match r {
                    Ok(_) => update(
                        &sim2,
                        &name,
                        destination.clone(),
                        Some(format!("{LAMBDA_ARN_PREFIX}{fname}")),
                        done2.clone(),
                    ),
                    Err(e) => done2.emit(Err(e.message)),
                }),
            );
        })
    };
    let on_remove = {
        let (sim, name, destination, done) = (
            props.sim.clone(),
            props.name.clone(),
            props.destination.clone(),
            done.clone(),
        );
        Callback::from(move |_: MouseEvent| {
            update(&sim, &name, destination.clone(), None, done.clone())
        })
    };
    let http = props.destination.http.is_some();
    html! {
        <section class="card" aria-labelledby="fh-transform-h">
            <h2 id="fh-transform-h">{ "Transform (JavaScript)" }</h2>
            <p class="hint">{ "Firehose's Lambda contract: each record comes in with its recordId and base64 data and goes out Ok, Dropped or ProcessingFailed. The function runs isolated from the page (a Web Worker) under a 3 s limit; what it returned is journaled, so a replay never runs it." }</p>
            <label for="fh-transform" class="sr-only">{ format!("Transform function for {}", props.name) }</label>
            <textarea id="fh-transform" class="code" rows="12" spellcheck="false" value={(*code).clone()} oninput={on_input} />
            if http {
                <p class="hint">{ "This delivery stream sends to an HTTP endpoint: set its processors with UpdateDestination (HttpEndpointDestinationUpdate)." }</p>
            } else {
                <div class="actions">
                    <button id="fh-transform-apply" class="primary" onclick={on_apply}>{ "Apply transform" }</button>
                    if attached {
                        <button id="fh-transform-remove" onclick={on_remove}>{ "Remove" }</button>
                    }
                </div>
            }
            <p class="hint" id="fh-transform-status">{
                if attached { format!("Attached as Lambda function {fname}.") } else { "Not attached: records are delivered as they come.".to_string() }
            }</p>
            { feedback(&message) }
        </section>
    }
}
