//! Firehose transforms in the browser: a delivery stream's Lambda processor names a function (`LambdaArn`)
//! whose JavaScript source the session keeps ([`crate::Command::SetFunctionCode`], so it persists with the
//! session). Each pending invocation ([`Journaled::poll_firehose_transform`]) runs in the isolated Web Worker of
//! [`super::sandbox`] under the function's time limit, and completes at the session's simulated time
//! ([`Journaled::complete_firehose_transform`]) with what it returned, its error, or a timeout. Validation of
//! the answer (every recordId back once, `result`, base64 `data`) is the core's, so a hostile function (an endless
//! loop, a throw, wrong recordIds) ends as retries and then `processing-failed` objects, never as a hung page.
//!
//! Why the code lives in the World and not in the UI model: it then persists and exports with the session. Replay
//! stays exact without running it, because the completion (the function's answer) is the journaled input.

use std::cell::{Cell, RefCell};
use std::rc::Rc;

use super::sandbox::{self, SandboxOutcome};
use crate::TransformOutcome;
use crate::persist::Journaled;
use crate::scenarios::ScenarioInput;

thread_local! {
    /// Whether an invocation is running (the sandbox runs one at a time).
    static RUNNING: Cell<bool> = const { Cell::new(false) };
}

/// Starts the next pending transform invocation unless one is running. Call once a frame.
/// Each hand-out and completion is kept in the session's share inputs ([`ScenarioInput::TransformPoll`],
/// [`ScenarioInput::TransformComplete`]), so a shared run replays it.
pub fn pump(session: &Rc<RefCell<Journaled>>) {
    if RUNNING.with(Cell::get) {
        return;
    }
    let Ok(mut guard) = session.try_borrow_mut() else {
        return;
    };
    let Some(request) = guard.poll_firehose_transform() else {
        return;
    };
    let code = guard
        .function_code(&request.lambda_arn)
        .map(|(code, timeout_ms)| (code.to_string(), timeout_ms));
    let now_ms = guard.now().as_millis();
    guard.record_share(ScenarioInput::TransformPoll { now_ms });
    drop(guard);
    RUNNING.with(|r| r.set(true));
    let session = Rc::clone(session);
    wasm_bindgen_futures::spawn_local(async move {
        let outcome = match code {
            None => TransformOutcome::FunctionError(format!(
                "ResourceNotFoundException: Function not found: {}",
                request.lambda_arn
            )),
            Some((code, timeout_ms)) => {
                let context = serde_json::json!({
                    "functionName": request.lambda_arn,
                    "awsRequestId": request.invocation_id,
                    "attempt": request.attempt,
                })
                .to_string();
                outcome_of(sandbox::invoke(&code, &request.event_json, timeout_ms, &context).await)
            }
        };
        if let Ok(mut guard) = session.try_borrow_mut() {
            let now = guard.now();
            guard.record_share(ScenarioInput::TransformComplete {
                now_ms: now.as_millis(),
                delivery_stream: request.delivery_stream.clone(),
                invocation_id: request.invocation_id.clone(),
                outcome: outcome.clone(),
            });
            // Handed out by this shell and completed once; a delivery stream deleted meanwhile refuses it.
            let _ = guard.complete_firehose_transform(
                now,
                &request.delivery_stream,
                &request.invocation_id,
                &outcome,
            );
        }
        RUNNING.with(|r| r.set(false));
    });
}

/// The sandbox's outcome as the core's [`TransformOutcome`].
pub fn outcome_of(outcome: SandboxOutcome) -> TransformOutcome {
    match outcome {
        SandboxOutcome::Ok(json) => TransformOutcome::Returned(json),
        SandboxOutcome::Error {
            error_type,
            error_message,
        } => TransformOutcome::FunctionError(format!("{error_type}: {error_message}")),
        SandboxOutcome::Timeout { .. } => TransformOutcome::Timeout,
    }
}
