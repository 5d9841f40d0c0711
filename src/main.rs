//! The `kinesim` binary. In the browser (Trunk builds it for wasm32) it starts the web app. Natively it is a
//! command-line tool: `kinesim serve` runs a local Kinesis endpoint for the AWS CLI, boto3 and the SDKs.

#[cfg(all(not(target_arch = "wasm32"), feature = "server"))]
mod server;

#[cfg(all(target_arch = "wasm32", feature = "ui"))]
fn main() {
    kinesim::ui::start();
}

#[cfg(not(target_arch = "wasm32"))]
const USAGE: &str = "usage: kinesim serve [--host 127.0.0.1] [--port 4567] [--seed 1] [--speed 1] [--limits on] [--state DIR] [--ca-file CA.pem]\n\
    Serves the Kinesis JSON 1.1 API on http://HOST:PORT (any credentials accepted).\n\
    --state DIR keeps the run in DIR: every acknowledged call is stored, and a restart on DIR continues it.\n\
    The web app runs in the browser: `bash .ci/serve` builds it and serves it on http://127.0.0.1:8080";

#[cfg(all(not(target_arch = "wasm32"), feature = "server"))]
fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.split_first() {
        Some((command, rest)) if command == "serve" => {
            if let Err(message) = server::parse_args(rest).and_then(|o| server::serve(&o)) {
                eprintln!("kinesim: {message}\n{USAGE}");
                std::process::exit(2);
            }
        }
        _ => {
            eprintln!("{USAGE}");
            std::process::exit(2);
        }
    }
}

#[cfg(all(not(target_arch = "wasm32"), not(feature = "server")))]
fn main() {
    eprintln!("{USAGE}\n(this build has no `serve`: build with the `server` feature)");
}

#[cfg(all(target_arch = "wasm32", not(feature = "ui")))]
fn main() {}
