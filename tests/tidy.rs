//! Mechanical bans that keep the core deterministic (TigerBeetle's `tidy`): no real clock, no OS randomness and
//! no hash-map iteration outside the UI shell. A violation fails with file:line and what to use instead.
#![cfg(not(target_arch = "wasm32"))]

use std::fs;
use std::path::{Path, PathBuf};

/// (banned text, why and what to use instead)
const BANNED: &[(&str, &str)] = &[
    (
        "Instant::now",
        "reads the real clock (and panics on wasm32); take a SimTime from the shell",
    ),
    (
        "SystemTime::now",
        "reads the real clock; take a SimTime from the shell",
    ),
    (
        "thread_rng",
        "draws OS randomness; fork a SimRng from the world's seed",
    ),
    (
        "getrandom",
        "draws OS randomness; fork a SimRng from the world's seed",
    ),
    (
        "OsRng",
        "draws OS randomness; fork a SimRng from the world's seed",
    ),
    (
        "HashMap",
        "iterates in a per-process random order; use BTreeMap (or IndexMap)",
    ),
    (
        "HashSet",
        "iterates in a per-process random order; use BTreeSet (or IndexSet)",
    ),
    (
        "js_sys::Date",
        "reads the real clock; only the UI shell may",
    ),
    (
        "performance.now",
        "reads the real clock; only the UI shell may",
    ),
];

/// Paths (relative to src/) that form the shell, where real time and browser APIs are allowed.
const SHELL: &[&str] = &["ui/", "main.rs", "server/"];

/// Lines of `source` that contain banned text, ignoring `//` comments.
fn violations(source: &str) -> Vec<(usize, &'static str, &'static str)> {
    let mut found = Vec::new();
    for (index, line) in source.lines().enumerate() {
        let code = line.split("//").next().unwrap_or("");
        for &(banned, why) in BANNED {
            if code.contains(banned) {
                found.push((index + 1, banned, why));
            }
        }
    }
    found
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let mut entries: Vec<_> = fs::read_dir(dir)
        .expect("src/ is readable")
        .flatten()
        .collect();
    entries.sort_by_key(|e| e.path());
    for entry in entries {
        let path = entry.path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

#[test]
fn the_core_uses_no_real_clock_no_os_randomness_and_no_hash_iteration() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    rust_files(&src, &mut files);
    assert!(
        files.len() >= 5,
        "tidy found too few files under {}",
        src.display()
    );
    let mut report = Vec::new();
    for file in &files {
        let relative = file
            .strip_prefix(&src)
            .expect("under src/")
            .to_string_lossy()
            .replace('\\', "/");
        if SHELL.iter().any(|shell| relative.starts_with(shell)) {
            continue;
        }
        let source = fs::read_to_string(file).expect("source is UTF-8");
        for (line, banned, why) in violations(&source) {
            report.push(format!("src/{relative}:{line}: `{banned}` {why}"));
        }
    }
    assert!(
        report.is_empty(),
        "determinism bans broken:\n{}",
        report.join("\n")
    );
}

#[test]
fn the_scanner_finds_bans_and_skips_comments() {
    let sample =
        "let t = std::time::Instant::now();\n// HashMap in a comment is fine\nlet m: HashSet<u8>;";
    let found: Vec<_> = violations(sample)
        .into_iter()
        .map(|(line, banned, _)| (line, banned))
        .collect();
    assert_eq!(found, vec![(1, "Instant::now"), (3, "HashSet")]);
}
