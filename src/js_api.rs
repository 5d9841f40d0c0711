//! The JavaScript API (wasm32 with the `js` feature; the `ui` feature turns it on): a [`Session`] class exported
//! with wasm-bindgen, so page scripts (and the AWS SDK request handler in `www/kinesim-handler.js`) drive a
//! simulated run with AWS's own JSON protocol. This is shell code: it converts JS values to the core's types and
//! back, and every bad input becomes a JS `Error` with a message that says what to change, never a panic.
//!
//! In the built page the exports are on `window.kinesim` (and Trunk's `window.wasmBindings`):
//!
//! ```js
//! const session = new kinesim.Session(7);
//! const r = session.send("Kinesis_20131202.CreateStream", '{"StreamName":"s","ShardCount":1}');
//! // r: { statusCode: 200, body: "", errorType: null }
//! session.advanceBy(10_000);
//! ```

use std::cell::RefCell;
use std::rc::Rc;

use serde_json::{Value, json};
use wasm_bindgen::prelude::*;

use crate::api::ApiResponse;
use crate::api::kinesis::SubscriptionEvents;
use crate::persist::Journaled;
use crate::persist::share::ShareGap;
use crate::scenarios::ScenarioInput;
use crate::sim::{SimDuration, SimTime};
use crate::streams::KinesisError;
use crate::workload::lambda::{EsmConfig, FunctionResult, Invocation, LambdaError, request};
use crate::{World, WorldConfig};

/// Largest integer a JS number holds exactly (`Number.MAX_SAFE_INTEGER`).
pub const JS_SAFE_INTEGER_MAX: u64 = (1 << 53) - 1;
/// Seed of the page's shared session ([`page_session`]).
pub const PAGE_SESSION_SEED: u64 = 1;

#[wasm_bindgen(typescript_custom_section)]
const TS_TYPES: &'static str = r#"
/** The answer to one AWS call, as the service would send it over HTTP. */
export interface SendResponse {
  /** HTTP status: 200 on success, 400 for client errors (the AWS error is in `body`), 500 for internal failures. */
  statusCode: number;
  /** The JSON response body (empty for operations without output, as AWS sends it). */
  body: string;
  /** The AWS error type (`__type`, e.g. "ResourceNotFoundException"), or null on success. */
  errorType: string | null;
  /** For a successful SubscribeToShard: the subscription whose events `subscriptionEvents` returns. */
  subscription?: number;
}

/** What a SubscribeToShard subscription pushed since the last poll. */
export interface SubscriptionPoll {
  /** Each `SubscribeToShardEvent` (Records, ContinuationSequenceNumber, MillisBehindLatest, ChildShards) as JSON. */
  events: string[];
  /** null while open; then "Expired" or "ShardEnd" (ended quietly: resubscribe), or the AWS exception that ended
   * it ("ResourceInUseException", "ResourceNotFoundException", ...). */
  end: string | null;
  /** The exception's message when `end` names an exception. */
  message?: string;
}

/** A function invocation an event-source mapping wants run (take it with `pollInvocation()`). */
export interface PendingInvocation {
  /** The mapping's UUID. */
  mappingUuid: string;
  /** The invocation's id within the mapping (give it back to `completeInvocation`). */
  id: number;
  /** The mapping's FunctionName: which function to run. */
  functionName: string;
  /** The event, as JSON text in Lambda's Kinesis event format. */
  eventJson: string;
  /** The shard its records come from. */
  shardId: string;
  /** Records in the event. */
  recordCount: number;
  /** 1 for a first attempt, more for retries. */
  attempt: number;
}

/** How a function invocation ended: exactly what `KinesimSandbox.invoke` resolves to. */
export interface InvocationOutcome {
  /** True when the function returned. */
  ok: boolean;
  /** The returned value as JSON text (when ok). */
  resultJson?: string;
  /** The error's name (when not ok). */
  errorType?: string;
  /** The error's message (when not ok). */
  errorMessage?: string;
  /** True when the function ran past its time limit. */
  timedOut?: boolean;
}

/** One per-minute metric value, named as in CloudWatch's `AWS/Kinesis` namespace. */
export interface MetricPoint {
  /** Simulated time of the minute's start, in milliseconds. */
  minuteMs: number;
  /** CloudWatch metric name, e.g. "IncomingRecords" or "GetRecords.IteratorAgeMilliseconds". */
  metric: string;
  /** The minute's sum (or maximum, for the age metrics). */
  value: number;
}
"#;

#[wasm_bindgen]
extern "C" {
    /// `SendResponse` in TypeScript.
    #[wasm_bindgen(typescript_type = "SendResponse")]
    pub type SendResponse;
    /// `MetricPoint[]` in TypeScript.
    #[wasm_bindgen(typescript_type = "MetricPoint[]")]
    pub type MetricPoints;
    /// `PendingInvocation` in TypeScript.
    #[wasm_bindgen(typescript_type = "PendingInvocation")]
    pub type PendingInvocation;
    /// `SubscriptionPoll` in TypeScript.
    #[wasm_bindgen(typescript_type = "SubscriptionPoll")]
    pub type SubscriptionPoll;
    /// `InvocationOutcome` in TypeScript.
    #[wasm_bindgen(typescript_type = "InvocationOutcome")]
    pub type InvocationOutcome;
}

/// One simulated run: a deterministic Kinesis world driven by AWS API calls and an explicit simulated clock.
///
/// Nothing here reads the real clock: time moves only when you call `advanceTo`, `advanceBy` or `step` (or pass
/// through `send`, which answers at the current simulated time). The same seed and the same calls give the same
/// `eventLogHash()`, in any browser and natively.
///
/// In the app, `kinesim.pageSession()` is the session the UI shows: its calls are journaled and saved with it
/// (see [`install_page_session`]); `sendCommitted` and `committed()` resolve once they are stored.
#[wasm_bindgen]
#[derive(Debug, Clone)]
pub struct Session {
    backing: Backing,
}

/// What a [`Session`] runs on.
#[derive(Clone)]
enum Backing {
    /// A world of its own, in memory (`new Session(seed)`).
    Plain(Rc<RefCell<World>>),
    /// The app's journaled world and the app's persistence.
    Page(Rc<RefCell<Journaled>>, Rc<dyn PageHost>),
}

impl std::fmt::Debug for Backing {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Backing::Plain(_) => f.write_str("Backing::Plain"),
            Backing::Page(..) => f.write_str("Backing::Page"),
        }
    }
}

/// The app's side of the page session: whether this tab may write, and when a journal position is stored.
pub trait PageHost {
    /// Why this tab may not change the session now (it is still opening, or another tab writes it), or `None`.
    fn refusal(&self) -> Option<String>;
    /// The world changed through the API (re-render, save soon).
    fn changed(&self);
    /// A promise that resolves with `value` once the journal is committed up to (not including) position
    /// `through`, and rejects with an `Error` saying why if that commit fails (a full disk).
    fn committed(&self, through: u64, value: JsValue) -> js_sys::Promise;
    /// The world was replaced (`restoreInPlace`): its old journal positions mean nothing any more.
    fn replaced(&self);
}

thread_local! {
    static PAGE_SESSION: RefCell<Option<Session>> = const { RefCell::new(None) };
}

/// The page's shared session (the one the playground and `kinesim.pageSession()` use): the app's journaled world
/// once [`install_page_session`] ran, else a world of its own with seed [`PAGE_SESSION_SEED`].
pub fn page_session() -> Session {
    PAGE_SESSION.with(|slot| {
        slot.borrow_mut()
            .get_or_insert_with(|| {
                Session::from_world(World::new(WorldConfig::with_seed(PAGE_SESSION_SEED)))
            })
            .clone()
    })
}

/// Makes `world` (the app's session, which the app saves) the page session, with `host` answering for its
/// persistence. Every handle `pageSession()` gives from now on drives that world.
pub fn install_page_session(world: Rc<RefCell<Journaled>>, host: Rc<dyn PageHost>) {
    PAGE_SESSION.with(|slot| {
        *slot.borrow_mut() = Some(Session {
            backing: Backing::Page(world, host),
        });
    });
}

/// The page's shared session: the one the UI's playground runs snippets against. Every call returns a handle to
/// the same run. In the app it is the session the UI shows and saves.
#[wasm_bindgen(js_name = pageSession)]
pub fn page_session_js() -> Session {
    page_session()
}

#[wasm_bindgen]
impl Session {
    /// A new run at simulated time 0. `seed` is a non-negative integer (a number up to 2^53 - 1, or a BigInt up
    /// to 2^64 - 1). `configJson` optionally overrides parts of the world's configuration, e.g.
    /// `'{"streams": {"throughput_limits_default": false, "create_delay_ms": 0}}'` (see `WorldConfig` in the
    /// Rust docs; unknown or mistyped members are refused with a message).
    #[wasm_bindgen(constructor)]
    pub fn new(
        #[wasm_bindgen(unchecked_param_type = "number | bigint")] seed: JsValue,
        #[wasm_bindgen(js_name = configJson)] config_json: Option<String>,
    ) -> Result<Session, JsError> {
        let seed = seed_from_js(&seed)?;
        let config = config_from_json(seed, config_json.as_deref())?;
        Ok(Session::from_world(World::new(config)))
    }

    /// Answers one AWS JSON 1.1 call at the current simulated time. `target` is the `X-Amz-Target` header
    /// (`Kinesis_20131202.PutRecords`); `body` is the JSON request body. Returns the status code, the JSON body
    /// and the AWS error type (null on success). An unknown target gets `UnknownOperationException`.
    ///
    /// On the app's page session the call is journaled and saved with the session within 250 ms; a second tab
    /// showing the session read-only answers `AccessDeniedException` and changes nothing. Use `sendCommitted` to
    /// wait until the call is stored.
    pub fn send(&self, target: &str, body: &str) -> SendResponse {
        let response = self
            .write(|w| {
                let now = w.now();
                w.record_share(&|| ScenarioInput::Api {
                    now_ms: now.as_millis(),
                    target: target.to_string(),
                    body: body.to_string(),
                });
                w.call(now, target, body)
            })
            .unwrap_or_else(|refusal| refused(&refusal));
        let object = js_sys::Object::new();
        set(&object, "statusCode", &JsValue::from(response.status));
        set(&object, "body", &JsValue::from(response.body.as_str()));
        set(
            &object,
            "errorType",
            &response.error_type.map_or(JsValue::NULL, JsValue::from),
        );
        if let Some(subscription) = response.subscription {
            set(
                &object,
                "subscription",
                &JsValue::from(ms_to_js(subscription)),
            );
        }
        object.unchecked_into()
    }

    /// `send`, answered once the call is stored: on the app's page session the promise resolves with the
    /// answer after the IndexedDB transaction holding the call's journal entry committed, and rejects with an
    /// `Error` saying why when that commit fails (a full disk; the call took effect in this tab, but is not
    /// saved). A session of your own (`new Session(...)`) is not stored: it resolves at once. The AWS SDK
    /// request handler (`KinesimRequestHandler`) calls this.
    #[wasm_bindgen(js_name = sendCommitted, unchecked_return_type = "Promise<SendResponse>")]
    pub fn send_committed(&self, target: &str, body: &str) -> js_sys::Promise {
        let answer: JsValue = self.send(target, body).into();
        self.committed_with(answer)
    }

    /// A promise that resolves once everything done through this session so far is stored (at once for a
    /// session of your own), and rejects with an `Error` saying why when that commit fails.
    pub fn committed(&self) -> js_sys::Promise {
        self.committed_with(JsValue::UNDEFINED)
    }

    /// The events a SubscribeToShard subscription (the `subscription` of `send`'s answer) pushed up to the current
    /// simulated time, and its end once it ended. Events come as simulated time passes (2 MiB/s per consumer per
    /// shard); a subscription ends after 5 simulated minutes. Over the AWS SDK, `KinesimRequestHandler` turns
    /// these into the response's event stream.
    #[wasm_bindgen(js_name = subscriptionEvents)]
    pub fn subscription_events(&self, subscription: f64) -> Result<SubscriptionPoll, JsError> {
        let id = ms_from_js(subscription, "subscriptionEvents(subscription)")?;
        let polled = self
            .write(|w| {
                let now = w.now();
                w.record_share(&|| ScenarioInput::SubscriptionPoll {
                    now_ms: now.as_millis(),
                    subscription: id,
                });
                w.kinesis_subscription_events(now, id)
            })
            .map_err(|refusal| JsError::new(&refusal))?;
        let object = js_sys::Object::new();
        let events = js_sys::Array::new();
        match polled {
            Ok(polled) => {
                for (_, event) in &polled.events {
                    events.push(&JsValue::from(
                        event["SubscribeToShardEvent"].to_string().as_str(),
                    ));
                }
                let end = polled.ended.map(|(_, end)| {
                    use crate::streams::service::SubscriptionEnd as E;
                    match end {
                        E::Expired => ("Expired", None),
                        E::ShardEnd => ("ShardEnd", None),
                        E::TakenOver => (
                            "ResourceInUseException",
                            Some("Another SubscribeToShard for this consumer and shard took over this subscription."),
                        ),
                        E::ConsumerDeregistered => (
                            "ResourceNotFoundException",
                            Some("The consumer was deregistered."),
                        ),
                        E::StreamDeleted => (
                            "ResourceNotFoundException",
                            Some("The consumer's stream was deleted."),
                        ),
                    }
                });
                set(
                    &object,
                    "end",
                    &end.map_or(JsValue::NULL, |(e, _)| JsValue::from(e)),
                );
                if let Some((_, Some(message))) = end {
                    set(&object, "message", &JsValue::from(message));
                }
            }
            Err(error) => {
                let kind = match error.error_type.as_str() {
                    "InternalFailure" => "InternalFailureException",
                    other => other,
                };
                set(&object, "end", &JsValue::from(kind));
                set(&object, "message", &JsValue::from(error.message.as_str()));
            }
        }
        set(&object, "events", &events);
        Ok(object.unchecked_into())
    }

    /// The current simulated time, in milliseconds since the run started.
    pub fn now(&self) -> f64 {
        self.read(|w| ms_to_js(w.now().as_millis()))
    }

    /// The current simulated time as calendar time (ISO 8601, UTC), as AWS timestamps show it.
    #[wasm_bindgen(js_name = nowIso8601)]
    pub fn now_iso8601(&self) -> String {
        self.read(World::now_iso8601)
    }

    /// Moves simulated time forward to `ms` (milliseconds since the start), firing everything due on the way.
    /// A time earlier than `now()` leaves the clock where it is. Returns how many timers fired.
    #[wasm_bindgen(js_name = advanceTo)]
    pub fn advance_to(&self, ms: f64) -> Result<u32, JsError> {
        let ms = ms_from_js(ms, "advanceTo(ms)")?;
        self.write(|w| advance_recorded(w, SimTime::from_millis(ms)))
            .map_err(|refusal| JsError::new(&refusal))
    }

    /// Moves simulated time forward by `ms` milliseconds. Returns how many timers fired.
    #[wasm_bindgen(js_name = advanceBy)]
    pub fn advance_by(&self, ms: f64) -> Result<u32, JsError> {
        let ms = ms_from_js(ms, "advanceBy(ms)")?;
        self.write(|w| {
            let target = w.now().saturating_add(SimDuration::from_millis(ms));
            advance_recorded(w, target)
        })
        .map_err(|refusal| JsError::new(&refusal))
    }

    /// Jumps to the next pending timer and fires everything due then. Returns the new time in milliseconds, or
    /// undefined (and changes nothing) when no timer is pending.
    pub fn step(&self) -> Result<Option<f64>, JsError> {
        self.write(|w| {
            let reached = w.step()?;
            w.record_share(&|| ScenarioInput::Advance {
                to_ms: reached.as_millis(),
            });
            Some(ms_to_js(reached.as_millis()))
        })
        .map_err(|refusal| JsError::new(&refusal))
    }

    /// When the world next needs to run (the earliest timer or stream status change), in milliseconds, or
    /// undefined when nothing is pending.
    #[wasm_bindgen(js_name = pollTimeout)]
    pub fn poll_timeout(&self) -> Option<f64> {
        self.read(|w| w.poll_timeout().map(|t| ms_to_js(t.as_millis())))
    }

    /// Per-minute CloudWatch-style metrics of a stream (summed over its shards), or of one shard when `shardId`
    /// is given, oldest minute first. Throws `ResourceNotFoundException: ...` for an unknown stream or shard.
    pub fn metrics(
        &self,
        #[wasm_bindgen(js_name = streamName)] stream_name: &str,
        #[wasm_bindgen(js_name = shardId)] shard_id: Option<String>,
    ) -> Result<MetricPoints, JsError> {
        let points = self
            .read(|world| match &shard_id {
                Some(shard) => world.streams().shard_metrics(stream_name, shard),
                None => world.streams().stream_metrics(stream_name),
            })
            .map_err(|e| JsError::new(&format!("{}: {}", e.error_type.as_str(), e.message)))?;
        let array = js_sys::Array::new();
        for (minute, metric, value) in points {
            let object = js_sys::Object::new();
            set(
                &object,
                "minuteMs",
                &JsValue::from(ms_to_js(minute.as_millis())),
            );
            set(&object, "metric", &JsValue::from(metric.cloudwatch_name()));
            set(&object, "value", &JsValue::from(ms_to_js(value)));
            array.push(&object);
        }
        Ok(array.unchecked_into())
    }

    /// The fingerprint of the run so far (SHA-256 chain over the event log, lowercase hex): equal hashes mean
    /// equal runs.
    #[wasm_bindgen(js_name = eventLogHash)]
    pub fn event_log_hash(&self) -> String {
        self.read(World::event_log_hash)
    }

    /// How many events the run has recorded.
    #[wasm_bindgen(js_name = eventCount)]
    pub fn event_count(&self) -> f64 {
        self.read(|w| ms_to_js(w.event_count()))
    }

    /// The whole run as JSON text; `Session.restore` continues it exactly where it was.
    pub fn snapshot(&self) -> Result<String, JsError> {
        self.read(serde_json::to_string)
            .map_err(|e| JsError::new(&format!("snapshot failed: {e}")))
    }

    /// A session continuing a run saved by `snapshot()`. Throws when the text is not such a snapshot.
    pub fn restore(snapshot: &str) -> Result<Session, JsError> {
        let world: World = serde_json::from_str(snapshot).map_err(|e| {
            JsError::new(&format!(
                "not a kinesim snapshot (expected the JSON text of Session.snapshot()): {e}"
            ))
        })?;
        Ok(Session::from_world(world))
    }

    /// Replaces this session's run with the one in `snapshot`, keeping the handle (every handle to the same run,
    /// e.g. `pageSession()`, sees the restored run). On the app's page session the restored run replaces the
    /// saved session's run (as Restart does).
    #[wasm_bindgen(js_name = restoreInPlace)]
    pub fn restore_in_place(&self, snapshot: &str) -> Result<(), JsError> {
        let world: World = serde_json::from_str(snapshot).map_err(|e| {
            JsError::new(&format!(
                "not a kinesim snapshot (expected the JSON text of Session.snapshot()): {e}"
            ))
        })?;
        match &self.backing {
            Backing::Plain(plain) => *plain.borrow_mut() = world,
            Backing::Page(journaled, host) => {
                if let Some(refusal) = host.refusal() {
                    return Err(JsError::new(&refusal));
                }
                // The restored run's earlier inputs are not known, so a share of it could not reproduce it.
                let mut restored = Journaled::new(world);
                restored.stop_share(ShareGap::RestoredSnapshot);
                *journaled.borrow_mut() = restored;
                host.replaced();
            }
        }
        Ok(())
    }

    /// CreateEventSourceMapping with Lambda's request members (`FunctionName`, `EventSourceArn` of a Kinesis
    /// stream, `StartingPosition`, `BatchSize`, `ParallelizationFactor`, `MaximumRetryAttempts`,
    /// `BisectBatchOnFunctionError`, `FunctionResponseTypes`, ...). Returns Lambda's
    /// EventSourceMappingConfiguration as JSON text (its `UUID` names the mapping). The mapping polls the stream as
    /// simulated time passes; run its invocations with `pollInvocation` and `completeInvocation`. Throws
    /// `InvalidParameterValueException: ...` for a bad request.
    #[wasm_bindgen(js_name = createEventSourceMapping)]
    pub fn create_event_source_mapping(
        &self,
        #[wasm_bindgen(js_name = requestJson)] request_json: &str,
    ) -> Result<String, JsError> {
        let config = request::create_request(request_json).map_err(lambda_error)?;
        let uuid = self
            .write(|w| {
                let now = w.now();
                let created = w.create_event_source_mapping(now, config);
                if created.is_ok() {
                    w.stop_share(ShareGap::PageScriptLambda);
                }
                created
            })
            .map_err(|refusal| JsError::new(&refusal))?
            .map_err(lambda_error)?;
        let answer = self.read(|world| {
            world
                .event_source_mappings()
                .find(|m| m.uuid() == uuid)
                .map(request::configuration_json)
                .unwrap_or_default()
        });
        Ok(answer.to_string())
    }

    /// DeleteEventSourceMapping. Throws `ResourceNotFoundException: ...` for an unknown UUID.
    #[wasm_bindgen(js_name = deleteEventSourceMapping)]
    pub fn delete_event_source_mapping(&self, uuid: &str) -> Result<(), JsError> {
        self.write(|w| {
            let now = w.now();
            w.delete_event_source_mapping(now, uuid)
        })
        .map_err(|refusal| JsError::new(&refusal))?
        .map_err(lambda_error)
    }

    /// ListEventSourceMappings: `{"EventSourceMappings": [...]}` as JSON text, with each mapping's
    /// `LastProcessingResult`, `IteratorAgeMilliseconds` and counters.
    #[wasm_bindgen(js_name = listEventSourceMappings)]
    pub fn list_event_source_mappings(&self) -> String {
        let list: Vec<Value> = self.read(|world| {
            world
                .event_source_mappings()
                .map(request::configuration_json)
                .collect()
        });
        json!({ "EventSourceMappings": list }).to_string()
    }

    /// The next function invocation a mapping wants run, or undefined. Each is handed out once: complete it with
    /// `completeInvocation` (until then its shard lane waits, as Lambda's does).
    #[wasm_bindgen(js_name = pollInvocation)]
    pub fn poll_invocation(&self) -> Option<PendingInvocation> {
        let (uuid, function_name, invocation) = self.take_invocation()?;
        let object = js_sys::Object::new();
        set(&object, "mappingUuid", &JsValue::from(uuid.as_str()));
        set(&object, "id", &JsValue::from(ms_to_js(invocation.id)));
        set(
            &object,
            "functionName",
            &JsValue::from(function_name.as_str()),
        );
        set(
            &object,
            "eventJson",
            &JsValue::from(invocation.event.as_str()),
        );
        set(
            &object,
            "shardId",
            &JsValue::from(invocation.shard_id.as_str()),
        );
        set(
            &object,
            "recordCount",
            &JsValue::from(invocation.record_count),
        );
        set(&object, "attempt", &JsValue::from(invocation.attempt));
        Some(object.unchecked_into())
    }

    /// Reports how invocation `id` of mapping `mappingUuid` ended, at the current simulated time. `outcome` is
    /// what `KinesimSandbox.invoke` resolves to: `{ok: true, resultJson}` or `{ok: false, errorType,
    /// errorMessage, timedOut}`. Throws `ResourceNotFoundException: ...` when that invocation is not in flight.
    #[wasm_bindgen(js_name = completeInvocation)]
    pub fn complete_invocation(
        &self,
        #[wasm_bindgen(js_name = mappingUuid)] mapping_uuid: &str,
        id: f64,
        outcome: InvocationOutcome,
    ) -> Result<(), JsError> {
        let id = ms_from_js(id, "completeInvocation(id)")?;
        let outcome: JsValue = outcome.into();
        let get = |key: &str| js_sys::Reflect::get(&outcome, &JsValue::from(key)).ok();
        let ok = get("ok").and_then(|v| v.as_bool()).unwrap_or(false);
        let timed_out = get("timedOut").and_then(|v| v.as_bool()).unwrap_or(false);
        let text = |key: &str| get(key).and_then(|v| v.as_string()).unwrap_or_default();
        let result = if ok {
            let json = text("resultJson");
            match serde_json::from_str::<Value>(if json.is_empty() { "null" } else { &json }) {
                Ok(Value::Null) => FunctionResult::Success(None),
                Ok(value) => FunctionResult::Success(Some(value)),
                Err(e) => FunctionResult::Error(format!("Runtime.MarshalError: {e}")),
            }
        } else if timed_out {
            FunctionResult::Timeout
        } else {
            FunctionResult::Error(format!("{}: {}", text("errorType"), text("errorMessage")))
        };
        self.complete(mapping_uuid, id, result)
            .map_err(|e| JsError::new(&e))
    }

    /// The root seed of the run, as a decimal string (seeds go up to 2^64 - 1).
    pub fn seed(&self) -> String {
        self.read(|w| w.config().seed.to_string())
    }
}

impl Session {
    /// A session owning `world`.
    pub fn from_world(world: World) -> Self {
        Session {
            backing: Backing::Plain(Rc::new(RefCell::new(world))),
        }
    }

    /// Reads the world.
    fn read<R>(&self, f: impl FnOnce(&World) -> R) -> R {
        match &self.backing {
            Backing::Plain(world) => f(&world.borrow()),
            Backing::Page(journaled, _) => f(journaled.borrow().world()),
        }
    }

    /// Changes the world (journaled on the page session), or says why this tab may not. The world is no longer
    /// borrowed when the app hears of the change.
    fn write<R>(&self, f: impl FnOnce(&mut dyn Inputs) -> R) -> Result<R, String> {
        match &self.backing {
            Backing::Plain(world) => Ok(f(&mut *world.borrow_mut())),
            Backing::Page(journaled, host) => {
                if let Some(refusal) = host.refusal() {
                    return Err(refusal);
                }
                let out = f(&mut *journaled.borrow_mut());
                host.changed();
                Ok(out)
            }
        }
    }

    /// A promise of `value` once everything so far is stored (at once for a session of your own or a refused
    /// call).
    fn committed_with(&self, value: JsValue) -> js_sys::Promise {
        match &self.backing {
            Backing::Page(journaled, host) => {
                let through = journaled.borrow_mut().journal_through();
                host.committed(through, value)
            }
            Backing::Plain(_) => js_sys::Promise::resolve(&value),
        }
    }

    /// Takes the next invocation a mapping wants run: (mapping UUID, function name, invocation).
    pub fn take_invocation(&self) -> Option<(String, String, Invocation)> {
        let (uuid, invocation) = self.write(|w| w.poll_invocation()).ok()??;
        let function_name = self.read(|world| {
            world
                .event_source_mappings()
                .find(|m| m.uuid() == uuid)
                .map(|m| m.config().function_name.clone())
                .unwrap_or_default()
        });
        Some((uuid, function_name, invocation))
    }

    /// Completes an invocation at the current simulated time; the error says why it could not be.
    pub fn complete(
        &self,
        mapping_uuid: &str,
        id: u64,
        result: FunctionResult,
    ) -> Result<(), String> {
        self.write(|w| {
            let now = w.now();
            w.complete_invocation(now, mapping_uuid, id, result)
        })?
        .map_err(|e| e.to_string())
    }
}

/// The answer to a call a tab that may not write refuses.
fn refused(refusal: &str) -> ApiResponse {
    ApiResponse {
        status: 400,
        body: json!({ "__type": "AccessDeniedException", "message": refusal }).to_string(),
        error_type: Some("AccessDeniedException"),
        subscription: None,
    }
}

/// What a [`Session`] changes, on a world of its own or journaled on the page session.
trait Inputs {
    /// Keeps an input for sharing the run (the app's page session only; a session of your own keeps nothing).
    fn record_share(&mut self, input: &dyn Fn() -> ScenarioInput);
    /// Marks the run as not shareable exactly (the app's page session only).
    fn stop_share(&mut self, gap: ShareGap);
    fn now(&self) -> SimTime;
    fn call(&mut self, now: SimTime, target: &str, body: &str) -> ApiResponse;
    fn kinesis_subscription_events(
        &mut self,
        now: SimTime,
        subscription: u64,
    ) -> Result<SubscriptionEvents, KinesisError>;
    fn advance_to(&mut self, now: SimTime) -> u32;
    fn step(&mut self) -> Option<SimTime>;
    fn create_event_source_mapping(
        &mut self,
        now: SimTime,
        config: EsmConfig,
    ) -> Result<String, LambdaError>;
    fn delete_event_source_mapping(&mut self, now: SimTime, uuid: &str) -> Result<(), LambdaError>;
    fn poll_invocation(&mut self) -> Option<(String, Invocation)>;
    fn complete_invocation(
        &mut self,
        now: SimTime,
        uuid: &str,
        id: u64,
        result: FunctionResult,
    ) -> Result<(), LambdaError>;
}

macro_rules! inputs_impl {
    ($ty:ty, $share:item, $stop:item) => {
        impl Inputs for $ty {
            $share
            $stop
            fn now(&self) -> SimTime {
                World::now(self)
            }
            fn call(&mut self, now: SimTime, target: &str, body: &str) -> ApiResponse {
                <$ty>::call(self, now, target, body)
            }
            fn kinesis_subscription_events(
                &mut self,
                now: SimTime,
                subscription: u64,
            ) -> Result<SubscriptionEvents, KinesisError> {
                <$ty>::kinesis_subscription_events(self, now, subscription)
            }
            fn advance_to(&mut self, now: SimTime) -> u32 {
                <$ty>::advance_to(self, now)
            }
            fn step(&mut self) -> Option<SimTime> {
                <$ty>::step(self)
            }
            fn create_event_source_mapping(
                &mut self,
                now: SimTime,
                config: EsmConfig,
            ) -> Result<String, LambdaError> {
                <$ty>::create_event_source_mapping(self, now, config)
            }
            fn delete_event_source_mapping(
                &mut self,
                now: SimTime,
                uuid: &str,
            ) -> Result<(), LambdaError> {
                <$ty>::delete_event_source_mapping(self, now, uuid)
            }
            fn poll_invocation(&mut self) -> Option<(String, Invocation)> {
                <$ty>::poll_invocation(self)
            }
            fn complete_invocation(
                &mut self,
                now: SimTime,
                uuid: &str,
                id: u64,
                result: FunctionResult,
            ) -> Result<(), LambdaError> {
                <$ty>::complete_invocation(self, now, uuid, id, result)
            }
        }
    };
}

inputs_impl!(
    World,
    fn record_share(&mut self, _input: &dyn Fn() -> ScenarioInput) {},
    fn stop_share(&mut self, _gap: ShareGap) {}
);
inputs_impl!(
    Journaled,
    fn record_share(&mut self, input: &dyn Fn() -> ScenarioInput) {
        Journaled::record_share(self, input());
    },
    fn stop_share(&mut self, gap: ShareGap) {
        Journaled::stop_share(self, gap);
    }
);

/// Advances to `target` and keeps the advance for sharing the run, as the app's clock does for a scenario's
/// "advance to" (a share file replays it).
fn advance_recorded(w: &mut dyn Inputs, target: SimTime) -> u32 {
    if target <= w.now() {
        return 0;
    }
    let fired = w.advance_to(target);
    w.record_share(&|| ScenarioInput::Advance {
        to_ms: target.as_millis(),
    });
    fired
}

fn lambda_error(error: LambdaError) -> JsError {
    JsError::new(&error.to_string())
}

fn set(object: &js_sys::Object, key: &str, value: &JsValue) {
    // Setting a data property on a fresh plain object cannot fail.
    let _ = js_sys::Reflect::set(object, &JsValue::from(key), value);
}

/// Milliseconds (or counts) as a JS number; exact up to 2^53 - 1 (285,000 simulated years).
#[allow(clippy::cast_precision_loss)]
fn ms_to_js(ms: u64) -> f64 {
    ms as f64
}

/// A JS number of milliseconds as u64, refusing what is not a whole non-negative safe integer.
#[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
fn ms_from_js(ms: f64, what: &str) -> Result<u64, JsError> {
    #[allow(clippy::cast_precision_loss)]
    let max = JS_SAFE_INTEGER_MAX as f64;
    if !ms.is_finite() || ms < 0.0 || ms.fract() != 0.0 || ms > max {
        return Err(JsError::new(&format!(
            "{what}: milliseconds must be a whole number from 0 to {JS_SAFE_INTEGER_MAX}; it is {ms}"
        )));
    }
    // Checked above: a whole number in 0..=2^53-1, exactly representable as u64.
    Ok(ms as u64)
}

fn seed_from_js(seed: &JsValue) -> Result<u64, JsError> {
    if let Some(n) = seed.as_f64() {
        return ms_from_js(n, "Session(seed)");
    }
    if seed.is_bigint() {
        let text = js_sys::BigInt::from(seed.clone())
            .to_string(10)
            .map(String::from)
            .unwrap_or_default();
        return text.parse::<u64>().map_err(|_| {
            JsError::new(&format!(
                "Session(seed): a BigInt seed must be from 0 to {}; it is {text}",
                u64::MAX
            ))
        });
    }
    if seed.is_undefined() || seed.is_null() {
        return Err(JsError::new(
            "Session(seed): give a seed, a whole number such as 1 (the same seed gives the same run)",
        ));
    }
    Err(JsError::new(
        "Session(seed): the seed must be a number or a BigInt",
    ))
}

/// The default configuration for `seed`, with the members of `config_json` (a JSON object) laid over it.
pub fn config_from_json(seed: u64, config_json: Option<&str>) -> Result<WorldConfig, JsError> {
    let base = WorldConfig::with_seed(seed);
    let Some(text) = config_json.filter(|t| !t.trim().is_empty()) else {
        return Ok(base);
    };
    let overrides: Value = serde_json::from_str(text)
        .map_err(|e| JsError::new(&format!("Session(seed, configJson): not JSON: {e}")))?;
    if !overrides.is_object() {
        return Err(JsError::new(
            "Session(seed, configJson): configJson must be a JSON object, e.g. {\"streams\": {...}}",
        ));
    }
    let mut merged = serde_json::to_value(&base)
        .map_err(|e| JsError::new(&format!("Session: configuration not serialisable: {e}")))?;
    merge(&mut merged, overrides, "")
        .map_err(|e| JsError::new(&format!("Session(seed, configJson): {e}")))?;
    if let Some(object) = merged.as_object_mut() {
        // The seed argument wins over a seed in the JSON.
        object.insert("seed".into(), json!(seed));
    }
    serde_json::from_value(merged)
        .map_err(|e| JsError::new(&format!("Session(seed, configJson): {e}")))
}

/// Lays `over` onto `base`: objects merge member by member, anything else replaces. A member `base` does not
/// have is refused (a typo would otherwise be ignored silently).
fn merge(base: &mut Value, over: Value, path: &str) -> Result<(), String> {
    match (base, over) {
        (Value::Object(base), Value::Object(over)) => {
            for (key, value) in over {
                let here = format!("{path}{key}");
                let Some(slot) = base.get_mut(&key) else {
                    let known: Vec<&str> = base.keys().map(String::as_str).collect();
                    return Err(format!(
                        "unknown member `{here}` (members here: {})",
                        known.join(", ")
                    ));
                };
                merge(slot, value, &format!("{here}."))?;
            }
            Ok(())
        }
        (slot, value) => {
            *slot = value;
            Ok(())
        }
    }
}
