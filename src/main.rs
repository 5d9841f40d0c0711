//! The web app's entry point. Trunk builds this binary for wasm32; natively it only says where the app runs.

#[cfg(all(target_arch = "wasm32", feature = "ui"))]
fn main() {
    kinesim::ui::start();
}

#[cfg(not(all(target_arch = "wasm32", feature = "ui")))]
fn main() {
    eprintln!(
        "kinesim's app runs in the browser: `bash .ci/serve` builds it and serves it on http://127.0.0.1:8080"
    );
}
