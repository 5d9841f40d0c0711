//! Guided training scenarios: a seeded setup, a goal, steps, hints, live checks the simulator verifies from its
//! own state, and an explanation with the AWS limit or rule behind what happened.
//!
//! A [`Scenario`] is static data plus pure functions over a [`World`]. A [`ScenarioRun`] is the serializable
//! progress of one attempt: the inputs given after the setup, in order, with their simulated times, and the
//! simulated time each check first passed. A run is shared as a [`ShareFile`] (scenario id, seed, inputs, end
//! time and the event-log hash); [`replay`] rebuilds it exactly, so the hash matches.
//!
//! Checks read only the world: metrics, shard lists, records kept, consumers' progress, the event log (API
//! calls and their errors), Firehose's S3 objects and events. Nothing is a tick box. The Firehose transform
//! scenario installs its function's JavaScript with the setup (the browser runs it); its golden trace completes
//! the same invocations through the same World calls with a scripted function ([`ScenarioInput::Transform`]).
//! The HTTP endpoint scenario delivers through the World's HTTP endpoint destination; its golden trace answers the
//! requests as a scripted endpoint would ([`ScenarioInput::HttpAnswer`], through the same World calls the browser's
//! fetch shell uses). In the browser the learner plays that endpoint on the scenario page (requests to reserved
//! example hosts never reach the network), and the shells' polls and completions are recorded as
//! [`ScenarioInput::HttpPoll`], [`ScenarioInput::HttpComplete`], [`ScenarioInput::TransformPoll`] and
//! [`ScenarioInput::TransformComplete`], so a run played in the browser shares and replays exactly.

pub mod catalog;

use crate::api::ApiResponse;
use crate::firehose::http_endpoint::{HttpResponse, Transport};
use crate::sim::SimTime;
use crate::{Command, EventKind, TransformOutcome, World, WorldConfig};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Format marker of a shared run file.
pub const SHARE_FORMAT: &str = "kinesim-scenario-run";
/// Version of the shared run file format.
pub const SHARE_VERSION: u32 = 1;
/// Prefix of the notes a run writes into the event log when a check passes.
pub const PASS_NOTE_PREFIX: &str = "scenario check passed: ";
/// Most transform invocations one [`ScenarioInput::Transform`] completes (a bound against a function that keeps
/// failing into retries forever).
pub const TRANSFORM_COMPLETIONS_MAX: u32 = 10_000;
/// Most HTTP endpoint requests one [`ScenarioInput::HttpAnswer`] answers.
pub const HTTP_ANSWERS_MAX: u32 = 1_000;
/// How far [`Runner::advance`] moves between two looks at the checks, in simulated ms.
pub const OBSERVE_STEP_MS: u64 = 1_000;

/// A check's verdict at the current simulated time.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Status {
    /// Done.
    Pass,
    /// Not yet.
    Pending,
    /// Something went wrong that the goal forbids.
    Fail,
}

/// A verdict with what the simulator saw.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Outcome {
    /// Pass, pending or fail.
    pub status: Status,
    /// What the simulator saw, in a sentence.
    pub message: String,
}

impl Outcome {
    /// Passed.
    pub fn pass(message: impl Into<String>) -> Self {
        Outcome {
            status: Status::Pass,
            message: message.into(),
        }
    }
    /// Not yet.
    pub fn pending(message: impl Into<String>) -> Self {
        Outcome {
            status: Status::Pending,
            message: message.into(),
        }
    }
    /// Failed.
    pub fn fail(message: impl Into<String>) -> Self {
        Outcome {
            status: Status::Fail,
            message: message.into(),
        }
    }
}

/// One live check: a pure function of the world at its current time.
#[derive(Clone, Copy, Debug)]
pub struct Check {
    /// Stable id within the scenario.
    pub id: &'static str,
    /// What it verifies.
    pub title: &'static str,
    /// The verdict.
    pub eval: fn(&World) -> Outcome,
}

/// Whether the training UI can play a scenario end to end.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum UiSupport {
    /// Everything it needs is in the UI (pages, the SDK playground).
    Full,
    /// Core and tests only for now; the text says what is missing.
    CoreOnly(&'static str),
}

/// A guided scenario.
#[derive(Clone, Copy, Debug)]
pub struct Scenario {
    /// Stable id (`hot-key-split`), used in addresses and golden files.
    pub id: &'static str,
    /// Title.
    pub title: &'static str,
    /// The run's seed; unique among scenarios, so a session's seed names its scenario.
    pub seed: u64,
    /// The topic in a line.
    pub summary: &'static str,
    /// What to achieve.
    pub goal: &'static str,
    /// How, step by step.
    pub steps: &'static [&'static str],
    /// Revealed one by one on request.
    pub hints: &'static [&'static str],
    /// The world's configuration for this seed.
    pub config: fn(u64) -> WorldConfig,
    /// What the world holds before the user starts.
    pub setup: fn() -> Vec<ScenarioInput>,
    /// The live checks, in the order they should pass.
    pub checks: &'static [Check],
    /// What happened and why, with the AWS limit or rule (shown once every check passes).
    pub explanation: fn() -> String,
    /// A scripted solution (the golden trace).
    pub solution: fn(&mut Runner),
    /// A plausible wrong action, and the id of the check that must then fail or stay pending.
    pub wrong: fn(&mut Runner),
    /// See `wrong`.
    pub wrong_check: &'static str,
    /// Whether the UI can play it.
    pub ui: UiSupport,
}

impl Scenario {
    /// Evaluates every check against `world`.
    pub fn evaluate(&self, world: &World) -> Vec<(Check, Outcome)> {
        self.checks.iter().map(|c| (*c, (c.eval)(world))).collect()
    }

    /// A fresh world for this scenario: its configuration, its seed, its setup applied.
    pub fn build_world(&self) -> World {
        let mut world = World::new((self.config)(self.seed));
        let _ = world.apply(
            SimTime::ZERO,
            Command::Note {
                text: format!("Scenario {} started with seed {}", self.id, self.seed),
            },
        );
        for input in (self.setup)() {
            apply_input(&mut world, &input);
        }
        world
    }
}

/// The default configuration with `seed`.
pub fn default_config(seed: u64) -> WorldConfig {
    WorldConfig::with_seed(seed)
}

/// A scripted transform function (the part of a Firehose transform run that the shell usually runs in its
/// isolated function runner).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type")]
pub enum TransformFunction {
    /// Returns every record `Ok`, unchanged.
    PassThrough,
    /// Returns records whose data contains `text` as `ProcessingFailed`, the others `Ok`, unchanged.
    FailContaining {
        /// The marker.
        text: String,
    },
    /// Raises an error (the whole invocation fails and is retried).
    Crash,
}

impl TransformFunction {
    /// The function's JSON answer to `records` (record id, data), or `None` when it crashes.
    pub fn answer(&self, records: &[(String, u64, Vec<u8>)]) -> Option<String> {
        let fail_text = match self {
            TransformFunction::Crash => return None,
            TransformFunction::PassThrough => None,
            TransformFunction::FailContaining { text } => Some(text.as_bytes()),
        };
        let out: Vec<serde_json::Value> = records
            .iter()
            .map(|(id, _, data)| {
                let failed = fail_text
                    .is_some_and(|t| !t.is_empty() && data.windows(t.len()).any(|w| w == t));
                serde_json::json!({
                    "recordId": id,
                    "result": if failed { "ProcessingFailed" } else { "Ok" },
                    "data": STANDARD.encode(data),
                })
            })
            .collect();
        Some(serde_json::json!({ "records": out }).to_string())
    }
}

/// One input of a scenario run, with its simulated time.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type")]
pub enum ScenarioInput {
    /// An AWS call routed on its `X-Amz-Target` (`Kinesis_20131202.PutRecord`).
    Api {
        /// Simulated ms.
        now_ms: u64,
        /// Service prefix and operation.
        target: String,
        /// JSON body.
        body: String,
    },
    /// A World command.
    Command {
        /// Simulated ms.
        now_ms: u64,
        /// The command.
        command: Command,
    },
    /// Time passes.
    Advance {
        /// Simulated ms.
        to_ms: u64,
    },
    /// Collects the events a SubscribeToShard subscription pushed up to now (as a client reading its event stream).
    SubscriptionPoll {
        /// Simulated ms.
        now_ms: u64,
        /// The subscription, from the SubscribeToShard answer.
        subscription: u64,
    },
    /// Every HTTP endpoint request due now is answered by a scripted endpoint: `200` (with the request id echoed),
    /// another status code, `timeout` (the endpoint got the request, its answer never came back) or `refused`.
    HttpAnswer {
        /// Simulated ms.
        now_ms: u64,
        /// The answer.
        answer: String,
    },
    /// Every pending Firehose transform invocation is completed by `function`.
    Transform {
        /// Simulated ms.
        now_ms: u64,
        /// The scripted function.
        function: TransformFunction,
    },
    /// The shell took the next due HTTP endpoint request ([`World::poll_http_request`]) at `now_ms`: the
    /// browser's fetch shell or the endpoint the learner plays on the scenario page. Recorded so a share file of a
    /// browser run reproduces it.
    HttpPoll {
        /// Simulated ms (the world's time when the request was handed out).
        now_ms: u64,
    },
    /// How one handed-out HTTP endpoint request ended, exactly as the shell reported it
    /// ([`World::complete_http_request`]).
    HttpComplete {
        /// Simulated ms.
        now_ms: u64,
        /// The request id it completes.
        request_id: String,
        /// The response or the transport failure.
        outcome: Transport,
    },
    /// The shell took the next pending Firehose transform invocation ([`World::poll_firehose_transform`]) at
    /// `now_ms` (the browser runs it in its sandbox).
    TransformPoll {
        /// Simulated ms (the world's time when the invocation was handed out).
        now_ms: u64,
    },
    /// How one handed-out transform invocation ended, exactly as the shell reported it
    /// ([`World::complete_firehose_transform`]).
    TransformComplete {
        /// Simulated ms.
        now_ms: u64,
        /// The delivery stream.
        delivery_stream: String,
        /// The invocation.
        invocation_id: String,
        /// What the function returned, its error, or a timeout.
        outcome: TransformOutcome,
    },
}

impl ScenarioInput {
    /// A Kinesis call.
    pub fn kinesis(now_ms: u64, operation: &str, body: serde_json::Value) -> Self {
        ScenarioInput::Api {
            now_ms,
            target: format!("Kinesis_20131202.{operation}"),
            body: body.to_string(),
        }
    }
    /// A Firehose call.
    pub fn firehose(now_ms: u64, operation: &str, body: serde_json::Value) -> Self {
        ScenarioInput::Api {
            now_ms,
            target: format!("Firehose_20150804.{operation}"),
            body: body.to_string(),
        }
    }
    /// A command.
    pub fn command(now_ms: u64, command: Command) -> Self {
        ScenarioInput::Command { now_ms, command }
    }
    /// A note in the event log.
    pub fn note(now_ms: u64, text: &str) -> Self {
        ScenarioInput::Command {
            now_ms,
            command: Command::Note { text: text.into() },
        }
    }
}

/// The answer word of a 200 whose body names another request id ([`endpoint_transport`]): Firehose does not
/// count it as delivered.
pub const ANSWER_WRONG_REQUEST_ID: &str = "200-wrong-id";
/// The request id a [`ANSWER_WRONG_REQUEST_ID`] answer quotes.
pub const WRONG_REQUEST_ID: &str = "00000000-0000-0000-0000-000000000000";

/// How a scripted endpoint's answer (`200`, `503`, `timeout`, `refused`, [`ANSWER_WRONG_REQUEST_ID`]) reaches
/// Firehose; an unknown word is a 500. The page's played endpoint answers through it too.
pub fn endpoint_transport(answer: &str, request_id: &str) -> Transport {
    match answer.trim() {
        "timeout" => Transport::TimedOut,
        "refused" => Transport::ConnectionFailed("connection refused".into()),
        ANSWER_WRONG_REQUEST_ID => Transport::Response(HttpResponse::json(
            200,
            &serde_json::json!({"requestId": WRONG_REQUEST_ID, "timestamp": 0}).to_string(),
        )),
        code => Transport::Response(HttpResponse::json(
            code.parse().unwrap_or(500),
            &serde_json::json!({"requestId": request_id, "timestamp": 0}).to_string(),
        )),
    }
}

/// Domains reserved for examples (RFC 2606 and RFC 6761): an HTTP endpoint URL on one of them, or on a
/// subdomain of one, is never fetched by the browser; the learner plays the endpoint on the scenario page.
pub const PLAYED_ENDPOINT_DOMAINS: &[&str] =
    &["example", "example.com", "example.net", "example.org"];

/// Whether the browser plays the endpoint at `url` in the page instead of fetching it: its host is one of
/// [`PLAYED_ENDPOINT_DOMAINS`] or a subdomain of one (`https://collector.example.com/in`).
pub fn played_endpoint(url: &str) -> bool {
    let rest = url.split_once("://").map_or(url, |(_, r)| r);
    let authority = rest.split(['/', '?', '#']).next().unwrap_or_default();
    let host_port = authority.rsplit('@').next().unwrap_or_default();
    let host = host_port
        .split(':')
        .next()
        .unwrap_or_default()
        .trim_end_matches('.')
        .to_ascii_lowercase();
    PLAYED_ENDPOINT_DOMAINS.iter().any(|d| {
        host == *d
            || host
                .strip_suffix(d)
                .is_some_and(|prefix| prefix.ends_with('.'))
    })
}

/// What the scenario page shows of an HTTP endpoint request: how many records its body carries and the records'
/// data as text (lossy UTF-8, at most `chars_max` characters), or the raw body as text when it is not Firehose's
/// JSON (a gzip-encoded body, say).
pub fn http_request_preview(body: &[u8], chars_max: u32) -> (Option<u32>, String) {
    let limit = usize::try_from(chars_max).unwrap_or(usize::MAX);
    let parsed: Option<serde_json::Value> = serde_json::from_slice(body).ok();
    let records = parsed
        .as_ref()
        .and_then(|v| v.get("records"))
        .and_then(serde_json::Value::as_array);
    let Some(records) = records else {
        return (
            None,
            String::from_utf8_lossy(body).chars().take(limit).collect(),
        );
    };
    let texts: Vec<String> = records
        .iter()
        .map(|r| {
            let data = r
                .get("data")
                .and_then(serde_json::Value::as_str)
                .unwrap_or_default();
            match STANDARD.decode(data) {
                Ok(bytes) => String::from_utf8_lossy(&bytes).trim_end().to_string(),
                Err(_) => data.to_string(),
            }
        })
        .collect();
    (
        Some(u32::try_from(records.len()).unwrap_or(u32::MAX)),
        texts.join(" | ").chars().take(limit).collect(),
    )
}

/// Applies one input to `world`; an API call's answer comes back.
pub fn apply_input(world: &mut World, input: &ScenarioInput) -> Option<ApiResponse> {
    match input {
        ScenarioInput::Api {
            now_ms,
            target,
            body,
        } => Some(world.call(SimTime::from_millis(*now_ms), target, body)),
        ScenarioInput::Command { now_ms, command } => {
            // A refusal is part of the run: it is in the event log, and a replay refuses it again.
            let _ = world.apply(SimTime::from_millis(*now_ms), command.clone());
            None
        }
        ScenarioInput::Advance { to_ms } => {
            world.advance_to(SimTime::from_millis(*to_ms));
            None
        }
        ScenarioInput::SubscriptionPoll {
            now_ms,
            subscription,
        } => {
            let _ = world.kinesis_subscription_events(SimTime::from_millis(*now_ms), *subscription);
            None
        }
        ScenarioInput::HttpAnswer { now_ms, answer } => {
            let now = SimTime::from_millis(*now_ms);
            world.advance_to(now);
            let mut guard = 0u32;
            // The World's wiring, as the browser's fetch shell uses it (handed out, then completed).
            while let Some(pending) = world.poll_http_request() {
                guard += 1;
                if guard > HTTP_ANSWERS_MAX {
                    break;
                }
                let transport = endpoint_transport(answer, &pending.request_id);
                let _ = world.complete_http_request(now, &pending.request_id, &transport);
            }
            None
        }
        ScenarioInput::Transform { now_ms, function } => {
            let now = SimTime::from_millis(*now_ms);
            world.advance_to(now);
            let mut guard = 0u32;
            // The World's wiring, as the browser's function runner uses it (handed out, then completed).
            while let Some(request) = world.poll_firehose_transform() {
                guard += 1;
                if guard > TRANSFORM_COMPLETIONS_MAX {
                    break;
                }
                let outcome = match function.answer(&request.records) {
                    Some(body) => TransformOutcome::Returned(body),
                    None => TransformOutcome::FunctionError("Error: scripted crash".into()),
                };
                let _ = world.complete_firehose_transform(
                    now,
                    &request.delivery_stream,
                    &request.invocation_id,
                    &outcome,
                );
            }
            // Fold what Firehose did into the event log.
            world.advance_to(now);
            None
        }
        ScenarioInput::HttpPoll { now_ms } => {
            world.advance_to(SimTime::from_millis(*now_ms));
            let _ = world.poll_http_request();
            None
        }
        ScenarioInput::HttpComplete {
            now_ms,
            request_id,
            outcome,
        } => {
            // A refusal (a request the world no longer has) is refused again on replay.
            let _ = world.complete_http_request(SimTime::from_millis(*now_ms), request_id, outcome);
            None
        }
        ScenarioInput::TransformPoll { now_ms } => {
            world.advance_to(SimTime::from_millis(*now_ms));
            let _ = world.poll_firehose_transform();
            None
        }
        ScenarioInput::TransformComplete {
            now_ms,
            delivery_stream,
            invocation_id,
            outcome,
        } => {
            let _ = world.complete_firehose_transform(
                SimTime::from_millis(*now_ms),
                delivery_stream,
                invocation_id,
                outcome,
            );
            None
        }
    }
}

/// The progress of one attempt at a scenario: serializable, so it persists and is shared.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ScenarioRun {
    /// The scenario's id.
    pub scenario: String,
    /// The seed it ran with.
    pub seed: u64,
    /// Inputs after the setup, in order.
    pub inputs: Vec<ScenarioInput>,
    /// Check id -> simulated ms at which it first passed.
    pub passed: BTreeMap<String, u64>,
    /// How many hints were revealed.
    pub hints_shown: u32,
}

impl ScenarioRun {
    /// A new attempt.
    pub fn new(scenario: &Scenario) -> Self {
        ScenarioRun {
            scenario: scenario.id.to_string(),
            seed: scenario.seed,
            ..ScenarioRun::default()
        }
    }

    /// Looks at the checks now; returns the ids of those that passed for the first time.
    pub fn observe(&mut self, scenario: &Scenario, world: &World) -> Vec<String> {
        let mut newly = Vec::new();
        for (check, outcome) in scenario.evaluate(world) {
            if outcome.status == Status::Pass && !self.passed.contains_key(check.id) {
                self.passed
                    .insert(check.id.to_string(), world.now().as_millis());
                newly.push(check.id.to_string());
            }
        }
        newly
    }

    /// Whether every check has passed.
    pub fn complete(&self, scenario: &Scenario) -> bool {
        scenario
            .checks
            .iter()
            .all(|c| self.passed.contains_key(c.id))
    }

    /// The share file of this run at `world`'s current state.
    pub fn share(&self, world: &World) -> ShareFile {
        ShareFile {
            format: SHARE_FORMAT.to_string(),
            version: SHARE_VERSION,
            scenario: self.scenario.clone(),
            seed: self.seed,
            inputs: self.inputs.clone(),
            end_ms: world.now().as_millis(),
            event_log_hash: world.event_log_hash(),
        }
    }
}

/// A run as a file or link payload: enough to rebuild it exactly.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ShareFile {
    /// [`SHARE_FORMAT`].
    pub format: String,
    /// [`SHARE_VERSION`].
    pub version: u32,
    /// The scenario's id.
    pub scenario: String,
    /// Its seed.
    pub seed: u64,
    /// Inputs after the setup.
    pub inputs: Vec<ScenarioInput>,
    /// The simulated time the run was at.
    pub end_ms: u64,
    /// The event-log hash it had then.
    pub event_log_hash: String,
}

impl ShareFile {
    /// JSON text.
    pub fn to_json(&self) -> String {
        serde_json::to_string(self).unwrap_or_default()
    }

    /// Reads JSON text; the message says what is wrong.
    pub fn from_json(text: &str) -> Result<ShareFile, String> {
        let file: ShareFile =
            serde_json::from_str(text).map_err(|e| format!("not a scenario run file: {e}"))?;
        if file.format != SHARE_FORMAT {
            return Err(format!(
                "not a scenario run file (format {:?})",
                file.format
            ));
        }
        if file.version != SHARE_VERSION {
            return Err(format!(
                "scenario run file version {} is not supported (this build reads version {SHARE_VERSION})",
                file.version
            ));
        }
        Ok(file)
    }
}

/// Rebuilds a shared run: the scenario's world, then its inputs, then time up to its end. Returns the world
/// and whether the event-log hash matches the file's.
pub fn replay(file: &ShareFile) -> Result<(World, bool), String> {
    let scenario = catalog::find(&file.scenario)
        .ok_or_else(|| format!("no scenario named {:?}", file.scenario))?;
    if file.seed != scenario.seed {
        return Err(format!(
            "scenario {} runs with seed {}, the file says {}",
            scenario.id, scenario.seed, file.seed
        ));
    }
    let mut world = scenario.build_world();
    for input in &file.inputs {
        apply_input(&mut world, input);
    }
    world.advance_to(SimTime::from_millis(file.end_ms));
    let matches = world.event_log_hash() == file.event_log_hash;
    Ok((world, matches))
}

/// Drives a scenario the way the UI does: each input is applied, recorded in the run, and followed by a look at
/// the checks; a check that passes for the first time writes a note into the event log (also recorded, so a
/// replay reproduces it).
#[derive(Debug)]
pub struct Runner {
    /// The scenario.
    pub scenario: &'static Scenario,
    /// The world.
    pub world: World,
    /// The progress.
    pub run: ScenarioRun,
}

impl Runner {
    /// Starts `scenario` from its seed and setup.
    pub fn start(scenario: &'static Scenario) -> Self {
        let world = scenario.build_world();
        let mut runner = Runner {
            scenario,
            world,
            run: ScenarioRun::new(scenario),
        };
        runner.observe();
        runner
    }

    /// The current simulated time in ms.
    pub fn now_ms(&self) -> u64 {
        self.world.now().as_millis()
    }

    fn observe(&mut self) {
        let now = self.now_ms();
        for id in self.run.observe(self.scenario, &self.world) {
            let input = ScenarioInput::note(now, &format!("{PASS_NOTE_PREFIX}{id}"));
            apply_input(&mut self.world, &input);
            self.run.inputs.push(input);
        }
    }

    /// Applies and records one input, then looks at the checks.
    pub fn input(&mut self, input: ScenarioInput) -> Option<ApiResponse> {
        let response = apply_input(&mut self.world, &input);
        self.run.inputs.push(input);
        self.observe();
        response
    }

    /// A Kinesis call at `at_ms`; the answer as JSON (`Null` for an empty body), with the status.
    pub fn kinesis(
        &mut self,
        at_ms: u64,
        operation: &str,
        body: serde_json::Value,
    ) -> (u16, serde_json::Value) {
        let r = self
            .input(ScenarioInput::kinesis(at_ms, operation, body))
            .unwrap_or_else(|| {
                ApiResponse::error(&crate::streams::KinesisError::new(
                    crate::streams::ErrorType::InternalFailure,
                    "no answer",
                ))
            });
        (
            r.status,
            serde_json::from_str(&r.body).unwrap_or(serde_json::Value::Null),
        )
    }

    /// A Firehose call at `at_ms`.
    pub fn firehose(
        &mut self,
        at_ms: u64,
        operation: &str,
        body: serde_json::Value,
    ) -> (u16, serde_json::Value) {
        match self.input(ScenarioInput::firehose(at_ms, operation, body)) {
            Some(r) => (
                r.status,
                serde_json::from_str(&r.body).unwrap_or(serde_json::Value::Null),
            ),
            None => (500, serde_json::Value::Null),
        }
    }

    /// A command at `at_ms`.
    pub fn command(&mut self, at_ms: u64, command: Command) {
        self.input(ScenarioInput::command(at_ms, command));
    }

    /// A note at `at_ms`.
    pub fn note(&mut self, at_ms: u64, text: &str) {
        self.input(ScenarioInput::note(at_ms, text));
    }

    /// Answers the HTTP endpoint requests due at `at_ms` with `answer`.
    pub fn http_answer(&mut self, at_ms: u64, answer: &str) {
        self.input(ScenarioInput::HttpAnswer {
            now_ms: at_ms,
            answer: answer.to_string(),
        });
    }

    /// Completes pending transforms with `function` at `at_ms`.
    pub fn transform(&mut self, at_ms: u64, function: TransformFunction) {
        self.input(ScenarioInput::Transform {
            now_ms: at_ms,
            function,
        });
    }

    /// Lets time pass up to `to_ms`, looking at the checks every [`OBSERVE_STEP_MS`]. Recorded as one input.
    pub fn advance(&mut self, to_ms: u64) {
        let mut t = self.now_ms();
        while t < to_ms {
            t = (t + OBSERVE_STEP_MS).min(to_ms);
            self.world.advance_to(SimTime::from_millis(t));
            let before = self.run.inputs.len();
            self.observe();
            if self.run.inputs.len() != before {
                // A note was written at `t`: the advance up to `t` must come before it in the record.
                let notes: Vec<ScenarioInput> = self.run.inputs.drain(before..).collect();
                self.run.inputs.push(ScenarioInput::Advance { to_ms: t });
                self.run.inputs.extend(notes);
            }
        }
        self.run.inputs.push(ScenarioInput::Advance { to_ms });
    }

    /// The share file of the run so far.
    pub fn share(&self) -> ShareFile {
        self.run.share(&self.world)
    }
}

// ----- Helpers for checks: read-only views of the world. -----

/// How many recorded API calls of `operation` ended with `error` (or succeeded, for `None`), oldest first, with
/// their positions in the retained event log.
pub fn api_calls(world: &World, operation: &str) -> Vec<(u64, SimTime, Option<String>)> {
    world
        .events()
        .filter_map(|e| match &e.kind {
            EventKind::ApiCall {
                operation: op,
                error,
                ..
            } if op == operation => Some((e.seq, e.at, error.clone())),
            _ => None,
        })
        .collect()
}

/// Whether the event log holds a note with exactly this text.
pub fn has_note(world: &World, text: &str) -> bool {
    notes(world).iter().any(|n| n == text)
}

/// Every note in the retained event log, oldest first.
pub fn notes(world: &World) -> Vec<String> {
    world
        .events()
        .filter_map(|e| match &e.kind {
            EventKind::Note { text } => Some(text.clone()),
            _ => None,
        })
        .collect()
}

/// Check ids a run marked passed with notes in the event log (what a reloaded session shows).
pub fn passed_from_notes(world: &World) -> BTreeMap<String, u64> {
    world
        .events()
        .filter_map(|e| match &e.kind {
            EventKind::Note { text } => text
                .strip_prefix(PASS_NOTE_PREFIX)
                .map(|id| (id.to_string(), e.at.as_millis())),
            _ => None,
        })
        .fold(BTreeMap::new(), |mut m, (id, at)| {
            m.entry(id).or_insert(at);
            m
        })
}
