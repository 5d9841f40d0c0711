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
