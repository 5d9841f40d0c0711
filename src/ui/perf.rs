//! Opt-in frame profiling for the browser benchmark (`tests/e2e/bench/frames.mjs` with `BENCH_PROFILE=1`): when
//! the page defines `window.__kinesimPerf` as an array before the app starts, the app pushes
//! `[name, start_ms, end_ms]` (`performance.now()` times) for each piece of a frame's work: advancing the world,
//! re-rendering, saving. Off (one check at start) otherwise, so a normal page keeps nothing.

use std::cell::OnceCell;
use wasm_bindgen::JsCast;

thread_local! {
    static SINK: OnceCell<Option<js_sys::Array>> = const { OnceCell::new() };
}

fn sink() -> Option<js_sys::Array> {
    SINK.with(|cell| {
        cell.get_or_init(|| {
            let window = web_sys::window()?;
            let value = js_sys::Reflect::get(&window, &"__kinesimPerf".into()).ok()?;
            value.dyn_into::<js_sys::Array>().ok()
        })
        .clone()
    })
}

/// Whether this page collects frame timings.
pub fn enabled() -> bool {
    sink().is_some()
}

/// `performance.now()` in milliseconds (0 when the page has no performance clock).
pub fn now_ms() -> f64 {
    web_sys::window()
        .and_then(|w| w.performance())
        .map_or(0.0, |p| p.now())
}

/// Records `name` from `start_ms` to now, when the page collects timings.
pub fn record(name: &str, start_ms: f64) {
    if let Some(sink) = sink() {
        let entry = js_sys::Array::of3(&name.into(), &start_ms.into(), &now_ms().into());
        sink.push(&entry);
    }
}

/// Records `name` from now until the returned guard is dropped (the end of a component's view function), when
/// the page collects timings.
pub fn span(name: &'static str) -> Span {
    Span {
        name,
        start_ms: if enabled() { now_ms() } else { 0.0 },
    }
}

/// See [`span`].
#[derive(Debug)]
pub struct Span {
    name: &'static str,
    start_ms: f64,
}

impl Drop for Span {
    fn drop(&mut self) {
        record(self.name, self.start_ms);
    }
}
