//! Component logic of the training UI, in headless Chromium: shard-map geometry, form validation, the record
//! inspector's virtual window and the chart's axis. Run with `cargo test --target wasm32-unknown-unknown --test
//! wasm_ui`.
#![cfg(all(target_arch = "wasm32", feature = "ui"))]

use kinesim::streams::hash_key::HashKeyRange;
use kinesim::ui::chart::nice_ceiling;
use kinesim::ui::consumers::start_position;
use kinesim::ui::format::{
    DataView, abbreviate_middle, count, data_text, parse_in_range, parse_retention_hours,
    validate_stream_name,
};
use kinesim::ui::geometry::{
    adjacent_pairs, fraction, hash_at, load_colour, midpoint, segment, share_label, split_key_at,
};
use kinesim::ui::inspector::{OVERSCAN_ROWS, ROW_HEIGHT_PX, VIEWPORT_HEIGHT_PX, visible_rows};
use kinesim::ui::producers::ProducerForm;
use kinesim::workload::consumer::StartPosition;
use kinesim::workload::generator::{KeyDistribution, Template};
use wasm_bindgen_test::{wasm_bindgen_test, wasm_bindgen_test_configure};

wasm_bindgen_test_configure!(run_in_browser);

fn even_ranges(n: u128) -> Vec<HashKeyRange> {
    let width = u128::MAX / n;
    (0..n)
        .map(|i| HashKeyRange {
            starting: i * width,
            ending: if i + 1 == n {
                u128::MAX
            } else {
                (i + 1) * width - 1
            },
        })
        .collect()
}

#[wasm_bindgen_test]
fn the_bar_spans_the_hash_space_and_clicks_map_back_to_keys() {
    assert_eq!(fraction(0), 0.0);
    assert_eq!(fraction(u128::MAX), 1.0);
    assert!((fraction(1u128 << 127) - 0.5).abs() < 1e-12);
    assert_eq!(hash_at(-1.0), 0);
    assert_eq!(hash_at(f64::NAN), 0);
    assert_eq!(hash_at(2.0), u128::MAX);
    let half = hash_at(0.5);
    assert!(half.abs_diff(1u128 << 127) < 1u128 << 80, "{half}");
}

#[wasm_bindgen_test]
fn segments_tile_the_bar_without_gaps_or_overlaps() {
    for n in [1u128, 2, 3, 4, 7, 16] {
        let ranges = even_ranges(n);
        let segments: Vec<_> = ranges.iter().map(segment).collect();
        assert!(segments[0].x.abs() < 1e-12);
        let mut end = 0.0;
        for s in &segments {
            assert!((s.x - end).abs() < 1e-9, "gap at {end} with {n} shards");
            end = s.x + s.width;
        }
        assert!((end - 1.0).abs() < 1e-9);
        assert_eq!(adjacent_pairs(&ranges).len(), (n - 1) as usize);
    }
    assert_eq!(share_label(&HashKeyRange::ALL), "100.0%");
}

#[wasm_bindgen_test]
fn a_split_key_is_always_one_the_split_accepts() {
    let range = HashKeyRange {
        starting: 1u128 << 127,
        ending: u128::MAX,
    };
    for f in [0.0, 0.25, 0.5, 0.75, 0.99, 1.0] {
        let k = split_key_at(&range, f).expect("splittable");
        assert!(k > range.starting && k <= range.ending, "{f} -> {k}");
    }
    assert_eq!(midpoint(&range), Some((1u128 << 127) + (1u128 << 126)));
    let single = HashKeyRange {
        starting: 5,
        ending: 5,
    };
    assert_eq!(split_key_at(&single, 0.5), None);
    assert_eq!(midpoint(&single), None);
    let gap = [
        HashKeyRange {
            starting: 0,
            ending: 9,
        },
        HashKeyRange {
            starting: 11,
            ending: 20,
        },
    ];
    assert!(adjacent_pairs(&gap).is_empty());
}

#[wasm_bindgen_test]
fn load_colours_go_from_green_to_red() {
    assert!(load_colour(0.0).starts_with("hsl(145"));
    assert_eq!(load_colour(1.0), "hsl(0 72% 50%)");
    assert_eq!(load_colour(5.0), load_colour(1.0));
    assert_eq!(load_colour(f64::NAN), load_colour(0.0));
}

#[wasm_bindgen_test]
fn forms_refuse_bad_input_with_what_to_change() {
    assert!(validate_stream_name("clicks.v2_a-b").is_ok());
    assert!(
        validate_stream_name("")
            .expect_err("refused")
            .contains("name")
    );
    assert!(
        validate_stream_name("a b")
            .expect_err("refused")
            .contains("' '")
    );
    assert!(validate_stream_name(&"x".repeat(129)).is_err());
    assert_eq!(parse_in_range(" 1,000 ", 1, 5_000, "Rate"), Ok(1_000));
    assert!(
        parse_in_range("0", 1, 5, "Shards")
            .expect_err("refused")
            .contains("from 1 to 5")
    );
    assert!(parse_in_range("-3", 1, 5, "Shards").is_err());
    assert!(parse_retention_hours("23").is_err());
    assert_eq!(parse_retention_hours("168"), Ok(168));
    assert!(parse_retention_hours("8761").is_err());

    let mut form = ProducerForm::new(Template::Clickstream);
    form.distribution = "hot".into();
    form.keys = "10".into();
    form.hot = "3".into();
    form.hot_percent = "90".into();
    let (rate, spec) = form.validate().expect("valid");
    assert_eq!(rate, 200);
    assert_eq!(
        spec.keys,
        KeyDistribution::HotKeys {
            keys: 10,
            hot: 3,
            hot_percent: 90
        }
    );
    form.hot = "11".into();
    assert!(form.validate().expect_err("refused").contains("Hot keys"));
    form.hot = "3".into();
    form.record_template = "${oops}".into();
    assert!(
        form.validate()
            .expect_err("refused")
            .contains("Unknown placeholder")
    );
    form.record_template = "ok".into();
    form.rate = "0".into();
    assert!(form.validate().expect_err("refused").contains("Rate"));

    assert_eq!(
        start_position("TRIM_HORIZON", "", "", ""),
        Ok(StartPosition::TrimHorizon)
    );
    assert_eq!(
        start_position("AT_TIMESTAMP", "90", "", ""),
        Ok(StartPosition::AtTimestamp { at_ms: 90_000 })
    );
    assert!(start_position("AT_SEQUENCE_NUMBER", "", "shardId-000000000000", "12a").is_err());
    assert!(start_position("AFTER_SEQUENCE_NUMBER", "", "", "123").is_err());
}

#[wasm_bindgen_test]
fn the_inspector_renders_a_bounded_window_at_any_size() {
    let per_view = u64::from(VIEWPORT_HEIGHT_PX / ROW_HEIGHT_PX);
    let max_rows = per_view + 2 * u64::from(OVERSCAN_ROWS) + 1;
    assert_eq!(visible_rows(0, 0), (0, 0));
    assert_eq!(visible_rows(0, 5), (0, 5));
    for total in [100u64, 100_000, 1_000_000] {
        for scroll in [0u32, 3_000, 1_500_000, u32::MAX] {
            let (first, end) = visible_rows(scroll, total);
            assert!(first <= end && end <= total);
            assert!(end - first <= max_rows);
        }
    }
    let (first, end) = visible_rows(30_000 * ROW_HEIGHT_PX, 100_000);
    assert!(first <= 30_000 && end > 30_000 + per_view);
}

#[wasm_bindgen_test]
fn long_numbers_keep_their_ends_when_abbreviated() {
    let seq = "49654321000000000000100000000000000000000000000000000042";
    assert_eq!(abbreviate_middle(seq, 6), "496543…000042");
    // Short enough (up to 2 * keep + 1 characters): unchanged, nothing gained by an ellipsis.
    assert_eq!(abbreviate_middle("1234567", 3), "1234567");
    assert_eq!(abbreviate_middle("12345678", 3), "123…678");
    assert_eq!(abbreviate_middle("", 3), "");
    // Characters, not bytes: never cuts inside a multi-byte character.
    assert_eq!(abbreviate_middle("ééééééééé", 2), "éé…éé");
    assert_eq!(abbreviate_middle("abc", 0), "…");
}

#[wasm_bindgen_test]
fn record_data_is_shown_as_text_in_three_ways() {
    let data = br#"{"a":1,"b":"<script>"}"#;
    assert_eq!(
        data_text(data, DataView::Utf8, 100),
        r#"{"a":1,"b":"<script>"}"#
    );
    assert_eq!(
        data_text(data, DataView::Json, 100),
        r#"{"a":1,"b":"<script>"}"#
    );
    assert_eq!(data_text(b"\x00\xff", DataView::Hex, 100), "00 ff");
    assert_eq!(data_text(b"\xff", DataView::Utf8, 100), "\u{fffd}");
    assert_eq!(data_text(b"not json", DataView::Json, 100), "(not JSON)");
    assert_eq!(data_text(b"abcdef", DataView::Utf8, 3), "abc…");
    assert_eq!(count(1_234_567), "1,234,567");
    assert_eq!(nice_ceiling(0), 1);
    assert_eq!(nice_ceiling(7), 10);
    assert_eq!(nice_ceiling(1_400), 2_000);
    assert_eq!(nice_ceiling(u64::MAX), u64::MAX);
}

#[wasm_bindgen_test]
fn analytics_series_split_by_key_and_the_templates_plan_in_the_browser() {
    use kinesim::analytics::view::{TEMPLATES, key_column, numeric_columns, series};
    use kinesim::analytics::{Application, OutputRow, Value, discover_schema};
    use kinesim::sim::SimTime;
    let row = |t: u64, k: &str, n: i64| OutputRow {
        stream: "D".into(),
        emit_time: SimTime::from_millis(t),
        columns: vec![
            ("page".into(), Value::Str(k.into())),
            ("views".into(), Value::Int(n)),
        ],
    };
    let rows = [
        row(20, "/home", 3),
        row(10, "/home", 1),
        row(10, "/cart", 2),
    ];
    let refs: Vec<&OutputRow> = rows.iter().collect();
    assert_eq!(numeric_columns(&refs), vec!["views".to_string()]);
    let key = key_column(&refs);
    let s = series(&refs, key.as_deref(), "views", 5);
    assert_eq!(s.len(), 2);
    assert_eq!(s[0].key, "/home");
    assert_eq!(
        s[0].points.first().map(|p| p.0),
        Some(SimTime::from_millis(10))
    );
    let sample = br#"{"user":"user-1","page":"/home","event":"view","ts":1,"n":0}"#;
    let schema = discover_schema(&[sample]);
    for (id, _, sql) in TEMPLATES {
        assert!(Application::new(sql, schema.clone()).is_ok(), "{id}");
    }
}
