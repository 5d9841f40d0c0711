//! Guided scenarios: each one's scripted solution passes every check and matches its golden event-log hash
//! (tests/golden/scenarios/<id>.json); its wrong action leaves the named check failed or pending; a shared run
//! replays to the same hash. `KINESIM_UPDATE_GOLDEN=1 cargo test --test scenarios` rewrites the golden files.

use kinesim::scenarios::catalog::SCENARIOS;
use kinesim::scenarios::{Runner, ShareFile, Status, replay};
use std::path::PathBuf;

fn golden_path(id: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(format!("tests/golden/scenarios/{id}.json"))
}

#[test]
fn every_scenario_solution_passes_and_matches_its_golden_trace() {
    let update = std::env::var("KINESIM_UPDATE_GOLDEN").is_ok_and(|v| v == "1");
    let mut failures = Vec::new();
    assert!(SCENARIOS.len() >= 12);
    for scenario in SCENARIOS {
        let mut runner = Runner::start(scenario);
        (scenario.solution)(&mut runner);
        for (check, outcome) in scenario.evaluate(&runner.world) {
            if outcome.status == Status::Fail {
                failures.push(format!(
                    "{}: check {} is {:?}: {}",
                    scenario.id, check.id, outcome.status, outcome.message
                ));
            }
        }
        if !runner.run.complete(scenario) {
            failures.push(format!(
                "{}: run not complete: {:?}",
                scenario.id, runner.run.passed
            ));
        }
        let share = runner.share();
        let golden = serde_json::json!({
            "scenario": scenario.id,
            "seed": scenario.seed,
            "end_ms": share.end_ms,
            "event_log_hash": share.event_log_hash,
            "event_count": runner.world.event_count(),
            "passed": runner.run.passed,
        });
        let path = golden_path(scenario.id);
        if update {
            std::fs::create_dir_all(path.parent().expect("dir")).expect("mkdir");
            std::fs::write(
                &path,
                serde_json::to_string_pretty(&golden).expect("json") + "\n",
            )
            .expect("write");
        } else {
            match std::fs::read_to_string(&path) {
                Ok(text) => {
                    let expected: serde_json::Value =
                        serde_json::from_str(&text).expect("golden json");
                    if expected != golden {
                        failures.push(format!(
                            "{}: golden differs:\n expected {expected}\n got      {golden}",
                            scenario.id
                        ));
                    }
                }
                Err(e) => failures.push(format!(
                    "{}: no golden file {} ({e}); KINESIM_UPDATE_GOLDEN=1 writes it",
                    scenario.id,
                    path.display()
                )),
            }
        }
        // The share file replays exactly.
        let text = share.to_json();
        let file = ShareFile::from_json(&text).expect("parses");
        let (world, matches) = replay(&file).expect("replays");
        if !matches {
            failures.push(format!(
                "{}: replay hash {} != {}",
                scenario.id,
                world.event_log_hash(),
                share.event_log_hash
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn every_scenario_wrong_action_leaves_its_check_unpassed() {
    let mut failures = Vec::new();
    for scenario in SCENARIOS {
        let mut runner = Runner::start(scenario);
        (scenario.wrong)(&mut runner);
        let outcome = scenario
            .evaluate(&runner.world)
            .into_iter()
            .find(|(c, _)| c.id == scenario.wrong_check)
            .map(|(_, o)| o);
        match outcome {
            Some(o) if o.status != Status::Pass => {}
            other => failures.push(format!(
                "{}: check {} after the wrong action: {other:?}",
                scenario.id, scenario.wrong_check
            )),
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn scenarios_have_unique_ids_and_seeds_and_full_text() {
    let mut ids = std::collections::BTreeSet::new();
    let mut seeds = std::collections::BTreeSet::new();
    for s in SCENARIOS {
        assert!(ids.insert(s.id), "duplicate id {}", s.id);
        assert!(seeds.insert(s.seed), "duplicate seed {}", s.seed);
        assert!(
            !s.goal.is_empty()
                && !s.steps.is_empty()
                && !s.hints.is_empty()
                && !s.checks.is_empty()
        );
        assert!(!(s.explanation)().is_empty());
    }
}

#[test]
fn a_tampered_share_file_is_refused_or_detected() {
    let scenario = &SCENARIOS[2];
    let mut runner = Runner::start(scenario);
    (scenario.solution)(&mut runner);
    let mut share = runner.share();
    share.inputs.pop();
    share.inputs.pop();
    let (_, matches) = replay(&share).expect("replays");
    assert!(!matches, "a changed run must not match the recorded hash");
    assert!(ShareFile::from_json("{}").is_err());
    let mut wrong_seed = runner.share();
    wrong_seed.seed += 1;
    assert!(replay(&wrong_seed).is_err());
}

/// Runs `scenario` the way the browser does it: each request or invocation is handed out (recorded as a poll),
/// and completed later at the session's time with exactly what the shell got (recorded as a completion).
mod browser_completions {
    use super::*;
    use kinesim::scenarios::catalog::find;
    use kinesim::scenarios::{
        ANSWER_WRONG_REQUEST_ID, ScenarioInput, TransformFunction, endpoint_transport,
    };
    use kinesim::sim::SimTime;
    use kinesim::{TransformOutcome, World};
    use serde_json::json;

    fn b64(text: &str) -> String {
        use base64::Engine;
        base64::engine::general_purpose::STANDARD.encode(text)
    }

    /// The page's share file: the runner's inputs, with the share's end time and hash.
    fn shared_and_replayed(runner: &Runner) -> (ShareFile, World) {
        let share = runner.share();
        let file = ShareFile::from_json(&share.to_json()).expect("reads back");
        let (world, matches) = replay(&file).expect("replays");
        assert!(
            matches,
            "replay hash {} != {}",
            world.event_log_hash(),
            share.event_log_hash
        );
        (share, world)
    }

    /// The learner plays the endpoint: the next due request is handed out at its due time, and answered
    /// `think_ms` later with `answer`, as the scenario page's buttons do.
    fn play_request(runner: &mut Runner, answer: &str, think_ms: u64) -> Option<(String, u32)> {
        let due = runner.world.firehose_service().next_http_due()?;
        let at = due.as_millis().max(runner.now_ms());
        runner.world.advance_to(SimTime::from_millis(at));
        let pending = runner.world.poll_http_request()?;
        runner
            .run
            .inputs
            .push(ScenarioInput::HttpPoll { now_ms: at });
        let now_ms = at + think_ms;
        let outcome = endpoint_transport(answer, &pending.request_id);
        runner.input(ScenarioInput::HttpComplete {
            now_ms,
            request_id: pending.request_id.clone(),
            outcome,
        });
        Some((pending.request_id, pending.attempt))
    }

    fn put(runner: &mut Runner, stream: &str) {
        let t = runner.now_ms();
        let records: Vec<serde_json::Value> = (0..3)
            .map(|i| json!({"Data": b64(&format!("event-{i}"))}))
            .collect();
        let (status, _) = runner.firehose(
            t,
            "PutRecordBatch",
            json!({"DeliveryStreamName": stream, "Records": records}),
        );
        assert_eq!(status, 200);
    }

    #[test]
    fn an_endpoint_played_in_the_browser_passes_the_checks_and_its_share_file_replays_exactly() {
        let scenario = find("http-endpoint-retries").expect("scenario");
        let mut runner = Runner::start(scenario);
        // 503, then a 200 naming another request (not a delivery), then the right 200.
        put(&mut runner, "to-http");
        let (first, attempt) = play_request(&mut runner, "503", 700).expect("a request");
        assert_eq!(attempt, 1);
        let (again, attempt) =
            play_request(&mut runner, ANSWER_WRONG_REQUEST_ID, 300).expect("a retry");
        assert_eq!((again.as_str(), attempt), (first.as_str(), 2));
        let (_, attempt) = play_request(&mut runner, "200", 250).expect("a retry");
        assert_eq!(attempt, 3);
        // No answer (timeout), then 200: the endpoint saw the batch twice.
        put(&mut runner, "to-http");
        play_request(&mut runner, "timeout", 1_000).expect("a request");
        play_request(&mut runner, "200", 100).expect("a retry");
        // 500 on every attempt until the 60 s of retries run out.
        put(&mut runner, "to-http-short");
        let mut attempts = 0u32;
        while play_request(&mut runner, "500", 400).is_some() {
            attempts += 1;
            assert!(attempts < 100, "retries must run out");
        }
        let t = runner.now_ms();
        runner.advance(t + 1_000);
        assert!(
            runner.run.complete(scenario),
            "checks: {:?}",
            scenario.evaluate(&runner.world)
        );
        assert!(
            runner
                .run
                .inputs
                .iter()
                .any(|i| matches!(i, ScenarioInput::HttpComplete { .. }))
        );
        let (share, world) = shared_and_replayed(&runner);
        assert_eq!(world.now().as_millis(), share.end_ms);
        for (check, outcome) in scenario.evaluate(&world) {
            assert_eq!(outcome.status, Status::Pass, "{} after replay", check.id);
        }
        // Without the recorded completions the run is not the same.
        let mut stripped = share.clone();
        stripped
            .inputs
            .retain(|i| !matches!(i, ScenarioInput::HttpComplete { .. }));
        let (_, matches) = replay(&stripped).expect("replays");
        assert!(!matches);
    }

    #[test]
    fn a_transform_run_in_the_browser_shares_and_replays_exactly() {
        let scenario = find("transform-errors").expect("scenario");
        let mut runner = Runner::start(scenario);
        let t = runner.now_ms();
        let records: Vec<serde_json::Value> = (0..6)
            .map(|i| json!({"Data": b64(&format!("{{\"row\":{i}}}"))}))
            .chain(
                (0..3).map(|i| json!({"Data": b64(&format!("{{\"row\":{i},\"CORRUPT\":true}}"))})),
            )
            .collect();
        let (status, _) = runner.firehose(
            t,
            "PutRecordBatch",
            json!({"DeliveryStreamName": "clean", "Records": records}),
        );
        assert_eq!(status, 200);
        let function = TransformFunction::FailContaining {
            text: "CORRUPT".into(),
        };
        let mut completions = 0u32;
        let mut at = runner.now_ms();
        // Time passes a second at a time, as frames do; each invocation handed out completes 1.2 s later.
        while completions == 0 || !runner.run.complete(scenario) {
            at += 1_000;
            assert!(
                at < 600_000,
                "checks: {:?}",
                scenario.evaluate(&runner.world)
            );
            runner.advance(at);
            while let Some(request) = runner.world.poll_firehose_transform() {
                runner
                    .run
                    .inputs
                    .push(ScenarioInput::TransformPoll { now_ms: at });
                let outcome = match function.answer(&request.records) {
                    Some(body) => TransformOutcome::Returned(body),
                    None => TransformOutcome::FunctionError("Error: crash".into()),
                };
                runner.input(ScenarioInput::TransformComplete {
                    now_ms: at + 1_200,
                    delivery_stream: request.delivery_stream,
                    invocation_id: request.invocation_id,
                    outcome,
                });
                at += 1_200;
                completions += 1;
            }
        }
        let (_, world) = shared_and_replayed(&runner);
        for (check, outcome) in scenario.evaluate(&world) {
            assert_eq!(outcome.status, Status::Pass, "{} after replay", check.id);
        }
    }

    #[test]
    fn reserved_example_hosts_are_played_in_the_page_and_others_are_fetched() {
        use kinesim::scenarios::catalog::ENDPOINT_URL;
        use kinesim::scenarios::played_endpoint;
        assert!(played_endpoint(ENDPOINT_URL));
        for url in [
            "https://example.com/",
            "http://user@api.example.org:8443/x?y",
            "https://a.b.example/in",
            "https://EXAMPLE.NET./",
        ] {
            assert!(played_endpoint(url), "{url}");
        }
        for url in [
            "https://myexample.com/in",
            "https://example.com.evil.io/in",
            "http://127.0.0.1:8080/in",
            "https://collector.examples.com/",
            "",
        ] {
            assert!(!played_endpoint(url), "{url}");
        }
    }

    #[test]
    fn a_waiting_request_is_shown_with_its_records_as_text_and_survives_in_the_world() {
        use kinesim::scenarios::http_request_preview;
        let scenario = find("http-endpoint-retries").expect("scenario");
        let mut runner = Runner::start(scenario);
        put(&mut runner, "to-http");
        let due = runner
            .world
            .firehose_service()
            .next_http_due()
            .expect("due");
        runner.world.advance_to(due);
        let pending = runner.world.poll_http_request().expect("handed out");
        let now = runner.world.now();
        let waiting = runner.world.firehose_service().http_in_flight(now);
        assert_eq!(waiting.len(), 1);
        assert_eq!(waiting[0].request_id, pending.request_id);
        assert_eq!(waiting[0].attempt, 1);
        assert_eq!(
            http_request_preview(&waiting[0].request.body, 200),
            (Some(3), "event-0 | event-1 | event-2".to_string())
        );
        assert_eq!(
            http_request_preview(b"\x1f\x8b binary", 4),
            (None, "\u{1f}\u{fffd} b".to_string())
        );
        let outcome = endpoint_transport("200", &pending.request_id);
        runner
            .world
            .complete_http_request(now, &pending.request_id, &outcome)
            .expect("completes");
        assert!(
            runner
                .world
                .firehose_service()
                .http_in_flight(now)
                .is_empty()
        );
    }
}

#[test]
fn the_windows_scenario_reads_the_rows_of_its_three_world_applications() {
    use kinesim::Command;
    use kinesim::scenarios::catalog::{WINDOW_APPS, find, window_counts};
    let scenario = find("windows").expect("windows scenario");
    let mut runner = Runner::start(scenario);
    let names: Vec<&str> = runner
        .world
        .analytics_apps()
        .keys()
        .map(String::as_str)
        .collect();
    assert_eq!(names, ["sliding", "stagger", "tumbling"]);
    (scenario.solution)(&mut runner);
    // Readings at 1:50, 1:55 and 2:05, read a second later: tumbling [1:00, 2:00) and [2:00, 3:00) windows
    // split them 2 + 1, the stagger window keeps all 3, sliding answers per reading with running counts.
    let counts = |name: &str| -> Vec<i64> {
        window_counts(&runner.world, name)
            .expect("application runs")
            .into_iter()
            .filter(|(s, _)| s == "a")
            .map(|(_, n)| n)
            .collect()
    };
    assert_eq!(counts(WINDOW_APPS[0].0), [2, 1]);
    assert_eq!(counts(WINDOW_APPS[1].0), [1, 2, 3]);
    assert_eq!(counts(WINDOW_APPS[2].0), [3]);
    // A deleted application fails its check: the checks read the World's applications, not the stream.
    let at = runner.now_ms();
    runner.command(
        at,
        Command::DeleteAnalyticsApplication {
            name: "stagger".into(),
        },
    );
    let stagger = scenario
        .evaluate(&runner.world)
        .into_iter()
        .find(|(c, _)| c.id == "stagger-together")
        .map(|(_, o)| o.status);
    assert_eq!(stagger, Some(Status::Fail));
}
