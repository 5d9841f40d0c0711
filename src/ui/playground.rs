//! The SDK playground: a user types an AWS SDK for JavaScript v3 snippet and runs it against the page's session
//! (`kinesim.pageSession()`). The snippet runs through `www/playground.js` with `kinesis` and `firehose` clients
//! (retries off) and the Kinesis command classes in scope; its output and errors are shown as text, never HTML.

use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;
use web_sys::HtmlTextAreaElement;
use yew::prelude::*;

/// The snippet the playground starts with.
pub const EXAMPLE_SNIPPET: &str = r#"await kinesis.send(new CreateStreamCommand({ StreamName: "demo", ShardCount: 2 }));
session.advanceBy(10_000); // a new stream is CREATING for 10 simulated seconds
const put = await kinesis.send(new PutRecordsCommand({
  StreamName: "demo",
  Records: [1, 2, 3].map((i) => ({ PartitionKey: `key-${i}`, Data: new TextEncoder().encode(`record ${i}`) })),
}));
print("FailedRecordCount:", put.FailedRecordCount);
const shards = await kinesis.send(new ListShardsCommand({ StreamName: "demo" }));
return shards.Shards.map((s) => s.ShardId);"#;

/// Runs `code` through `kinesimPlayground.run` and returns its output text.
async fn run_snippet(code: String) -> String {
    let runner = js_sys::Reflect::get(&js_sys::global(), &JsValue::from("kinesimPlayground"))
        .ok()
        .filter(|v| v.is_object());
    let Some(runner) = runner else {
        return "The playground runner (playground.js) is not loaded on this page.".into();
    };
    let promise = js_sys::Reflect::get(&runner, &JsValue::from("run"))
        .ok()
        .and_then(|f| f.dyn_into::<js_sys::Function>().ok())
        .and_then(|f| {
            let session: JsValue = crate::js_api::page_session().into();
            f.call2(&runner, &JsValue::from(code), &session).ok()
        })
        .and_then(|p| p.dyn_into::<js_sys::Promise>().ok());
    let Some(promise) = promise else {
        return "kinesimPlayground.run is not callable.".into();
    };
    match JsFuture::from(promise).await {
        Ok(text) => text.as_string().unwrap_or_default(),
        Err(e) => format!("the playground failed: {e:?}"),
    }
}

/// The playground: a code box, a Run button, and the output as text.
#[function_component(Playground)]
pub fn playground() -> Html {
    let code = use_state(|| EXAMPLE_SNIPPET.to_string());
    let output = use_state(String::new);
    let running = use_state(|| false);
    let on_input = {
        let code = code.clone();
        Callback::from(move |e: InputEvent| {
            code.set(e.target_unchecked_into::<HtmlTextAreaElement>().value());
        })
    };
    let on_run = {
        let code = code.clone();
        let output = output.clone();
        let running = running.clone();
        Callback::from(move |_: MouseEvent| {
            if *running {
                return;
            }
            running.set(true);
            let code = (*code).clone();
            let output = output.clone();
            let running = running.clone();
            wasm_bindgen_futures::spawn_local(async move {
                output.set(run_snippet(code).await);
                running.set(false);
            });
        })
    };
    html! {
        <section class="panel playground" aria-label="SDK playground">
            <h2>{ "SDK playground" }</h2>
            <p class="hint">
                { "Async JavaScript with the AWS SDK v3: " }
                <code>{ "kinesis" }</code>{ ", " }<code>{ "firehose" }</code>
                { ", the Kinesis command classes, " }<code>{ "session" }</code>{ ", " }<code>{ "print" }</code>
                { " and " }<code>{ "runInvocations" }</code>
                { " are in scope. Retries are off (maxAttempts: 1), so throttling shows." }
            </p>
            <textarea id="playground-code" class="playground-code" spellcheck="false" rows="12"
                aria-label="SDK snippet" value={(*code).clone()} oninput={on_input} />
            <div class="controls">
                <button id="playground-run" class="primary" onclick={on_run} disabled={*running}>
                    { if *running { "Running…" } else { "Run" } }
                </button>
            </div>
            <pre id="playground-output" class="playground-output" aria-live="polite">{ (*output).clone() }</pre>
        </section>
    }
}
