//! The Rust side of the isolated function runner (`www/sandbox-runner.js`): user JavaScript
//! `async (event, context) => result` run in a dedicated Web Worker under a real-time limit, terminated and
//! recreated when it runs over, so a hostile or broken function cannot hang or reach into the page.
//!
//! The contract is generic: code, event JSON and a time limit in, [`SandboxOutcome`] out. Lambda event-source
//! mappings use it through [`function_result`]; Firehose transformation functions can use it the same way.

use std::cell::RefCell;

use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;

use crate::workload::lambda::FunctionResult;

/// `errorType` the runner reports for a function that ran past its time limit (as Lambda's runtimes do).
pub const ERROR_TYPE_TIMEOUT: &str = "Sandbox.Timedout";

/// How one invocation ended.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SandboxOutcome {
    /// The function returned; its result as JSON text (`null` when it returned nothing).
    Ok(String),
    /// The function threw (or its result was not JSON): Lambda's FunctionError fields.
    Error {
        /// The error's name (`TypeError`, `Runtime.MarshalError`, ...).
        error_type: String,
        /// The error's message.
        error_message: String,
    },
    /// The function ran past its limit and its worker was terminated.
    Timeout {
        /// Lambda's message, e.g. `Task timed out after 3.00 seconds`.
        error_message: String,
    },
}

thread_local! {
    static SANDBOX: RefCell<Option<JsValue>> = const { RefCell::new(None) };
}

/// The page's one `KinesimSandbox` (made on first use).
fn sandbox() -> Result<JsValue, String> {
    SANDBOX.with(|slot| {
        if let Some(existing) = slot.borrow().as_ref() {
            return Ok(existing.clone());
        }
        let ctor = js_sys::Reflect::get(&js_sys::global(), &JsValue::from("KinesimSandbox"))
            .ok()
            .and_then(|v| v.dyn_into::<js_sys::Function>().ok())
            .ok_or("sandbox-runner.js is not loaded on this page (KinesimSandbox is missing)")?;
        let instance = js_sys::Reflect::construct(&ctor, &js_sys::Array::new())
            .map_err(|e| format!("could not start the sandbox: {e:?}"))?;
        *slot.borrow_mut() = Some(instance.clone());
        Ok(instance)
    })
}

fn text(object: &JsValue, key: &str) -> String {
    js_sys::Reflect::get(object, &JsValue::from(key))
        .ok()
        .and_then(|v| v.as_string())
        .unwrap_or_default()
}

/// Runs `code` on `event_json` in the isolated worker with a limit of `timeout_ms` real milliseconds.
/// Never fails: a missing runner or a refused request comes back as an [`SandboxOutcome::Error`].
pub async fn invoke(
    code: &str,
    event_json: &str,
    timeout_ms: u32,
    context_json: &str,
) -> SandboxOutcome {
    let runner_error = |message: String| SandboxOutcome::Error {
        error_type: "Sandbox.Unavailable".into(),
        error_message: message,
    };
    let sandbox = match sandbox() {
        Ok(s) => s,
        Err(message) => return runner_error(message),
    };
    let request = js_sys::Object::new();
    for (key, value) in [
        ("code", JsValue::from(code)),
        ("eventJson", JsValue::from(event_json)),
        ("timeoutMs", JsValue::from(timeout_ms)),
        ("contextJson", JsValue::from(context_json)),
    ] {
        let _ = js_sys::Reflect::set(&request, &JsValue::from(key), &value);
    }
    let promise = js_sys::Reflect::get(&sandbox, &JsValue::from("invoke"))
        .ok()
        .and_then(|f| f.dyn_into::<js_sys::Function>().ok())
        .and_then(|f| f.call1(&sandbox, &request).ok())
        .and_then(|p| p.dyn_into::<js_sys::Promise>().ok());
    let Some(promise) = promise else {
        return runner_error("KinesimSandbox.invoke is not callable".into());
    };
    let answer = match JsFuture::from(promise).await {
        Ok(answer) => answer,
        Err(e) => return runner_error(format!("the sandbox failed: {e:?}")),
    };
    let ok = js_sys::Reflect::get(&answer, &JsValue::from("ok"))
        .ok()
        .and_then(|v| v.as_bool())
        .unwrap_or(false);
    let timed_out = js_sys::Reflect::get(&answer, &JsValue::from("timedOut"))
        .ok()
        .and_then(|v| v.as_bool())
        .unwrap_or(false);
    if ok {
        SandboxOutcome::Ok(text(&answer, "resultJson"))
    } else if timed_out {
        SandboxOutcome::Timeout {
            error_message: text(&answer, "errorMessage"),
        }
    } else {
        SandboxOutcome::Error {
            error_type: text(&answer, "errorType"),
            error_message: text(&answer, "errorMessage"),
        }
    }
}

/// The outcome as the core's Lambda [`FunctionResult`] (to complete an event-source mapping's invocation).
pub fn function_result(outcome: SandboxOutcome) -> FunctionResult {
    match outcome {
        SandboxOutcome::Ok(json) => match serde_json::from_str::<serde_json::Value>(&json) {
            Ok(serde_json::Value::Null) => FunctionResult::Success(None),
            Ok(value) => FunctionResult::Success(Some(value)),
            Err(e) => FunctionResult::Error(format!("Runtime.MarshalError: {e}")),
        },
        SandboxOutcome::Error {
            error_type,
            error_message,
        } => FunctionResult::Error(format!("{error_type}: {error_message}")),
        SandboxOutcome::Timeout { .. } => FunctionResult::Timeout,
    }
}

/// A function the shell runs for event-source mappings: its code and time limit.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FunctionCode {
    /// `async (event, context) => result`, as JavaScript source.
    pub code: String,
    /// The time limit in real milliseconds (Lambda's default is 3,000).
    pub timeout_ms: u32,
}

/// Runs every invocation the session's event-source mappings want, one after another, in the isolated runner,
/// and completes each at the session's current simulated time. `functions` finds a function's code by its
/// `FunctionName`; an invocation of an unknown function completes as Lambda's `ResourceNotFoundException`
/// function error. Returns how many invocations ran.
pub async fn run_pending_invocations(
    session: &crate::js_api::Session,
    functions: &dyn Fn(&str) -> Option<FunctionCode>,
) -> u32 {
    let mut ran = 0u32;
    while let Some((uuid, function_name, invocation)) = session.take_invocation() {
        let result = match functions(&function_name) {
            Some(function) => {
                let context = serde_json::json!({
                    "functionName": function_name,
                    "awsRequestId": format!("{uuid}-{}", invocation.id),
                    "attempt": invocation.attempt,
                })
                .to_string();
                function_result(
                    invoke(
                        &function.code,
                        &invocation.event,
                        function.timeout_ms,
                        &context,
                    )
                    .await,
                )
            }
            None => FunctionResult::Error(format!(
                "ResourceNotFoundException: Function not found: {function_name}"
            )),
        };
        // The invocation came from this session and is completed once; a mapping deleted meanwhile refuses it,
        // which leaves nothing to do.
        let _ = session.complete(&uuid, invocation.id, result);
        ran = ran.saturating_add(1);
    }
    ran
}
