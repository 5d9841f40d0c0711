//! The browser shell of the Firehose HTTP endpoint destination: performs the requests the session's delivery
//! streams hand out ([`Journaled::poll_http_request`]) with `fetch`, and completes each at the session's
//! simulated time when its answer (or failure) arrives ([`Journaled::complete_http_request`]). Both are journal
//! inputs, so a replay needs neither the network nor the endpoint.
//!
//! The page's `fetch` is subject to CORS: the endpoint must answer the preflight for the `X-Amz-Firehose-*`
//! headers, or the attempt is reported as `HttpEndpoint.ConnectionFailed` with the browser's message (and retried
//! like any failure). The browser gives no timeout of its own here; an endpoint that never answers keeps its
//! request pending.
//!
//! The endpoint you play: a request to a reserved example host ([`crate::scenarios::played_endpoint`]:
//! `example`, `example.com`, `example.net`, `example.org` and their subdomains) never goes to the network. It stays
//! handed out in the world ([`played`]) until the learner answers it on the scenario page ([`answer_played`]: 200 with the right or a
//! wrong requestId, 500, 503, 413, no answer, refused), which completes it through the same World call.
//!
//! Every hand-out and completion is also kept in the session's share inputs ([`Journaled::record_share`]:
//! [`ScenarioInput::HttpPoll`], [`ScenarioInput::HttpComplete`]), so a shared run replays it.

use std::cell::RefCell;
use std::rc::Rc;

use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;

use crate::World;
use crate::firehose::http_endpoint::{HttpRequest, HttpResponse, Transport};
use crate::firehose::service::PendingHttpRequest;
use crate::persist::Journaled;
use crate::scenarios::{ScenarioInput, endpoint_transport, played_endpoint};

/// Hands every due request to `fetch`, or to the played endpoint's queue for a reserved example host; each
/// completes on its own when its answer arrives. Call once a frame.
pub fn pump(session: &Rc<RefCell<Journaled>>) {
    loop {
        let Ok(mut guard) = session.try_borrow_mut() else {
            return;
        };
        let Some(pending) = guard.poll_http_request() else {
            return;
        };
        let now_ms = guard.now().as_millis();
        guard.record_share(ScenarioInput::HttpPoll { now_ms });
        drop(guard);
        if played_endpoint(&pending.request.url) {
            // Waits in the world (handed out, not completed) for the learner's answer: see `played`.
            continue;
        }
        let session = Rc::clone(session);
        wasm_bindgen_futures::spawn_local(async move {
            let outcome = match fetch(&pending.request).await {
                Ok(response) => Transport::Response(response),
                Err(message) => Transport::ConnectionFailed(message),
            };
            complete(&session, &pending.request_id, &outcome);
        });
    }
}

fn complete(session: &Rc<RefCell<Journaled>>, request_id: &str, outcome: &Transport) {
    let mut guard = session.borrow_mut();
    let now = guard.now();
    guard.record_share(ScenarioInput::HttpComplete {
        now_ms: now.as_millis(),
        request_id: request_id.to_string(),
        outcome: outcome.clone(),
    });
    // Handed out by this shell and completed once; a delivery stream deleted meanwhile refuses it, which
    // leaves nothing to do.
    let _ = guard.complete_http_request(now, request_id, outcome);
}

/// The played endpoint's requests waiting for an answer (handed out, not completed), in the world's order. Read
/// from the world, so they survive a reload and come with an imported run.
pub fn played(world: &World) -> Vec<PendingHttpRequest> {
    world
        .firehose_service()
        .http_in_flight(world.now())
        .into_iter()
        .filter(|p| played_endpoint(&p.request.url))
        .collect()
}

/// Answers a waiting request with `answer` (`200`, [`crate::scenarios::ANSWER_WRONG_REQUEST_ID`], `500`,
/// `timeout`, `refused`, ...; [`endpoint_transport`], as a scripted endpoint answers) at the session's time.
/// Whether it was waiting.
pub fn answer_played(session: &Rc<RefCell<Journaled>>, request_id: &str, answer: &str) -> bool {
    let waiting = match session.try_borrow() {
        Ok(guard) => played(&guard).iter().any(|p| p.request_id == request_id),
        Err(_) => false,
    };
    if !waiting {
        return false;
    }
    let outcome = endpoint_transport(answer, request_id);
    complete(session, request_id, &outcome);
    true
}

fn js_text(e: JsValue) -> String {
    e.as_string()
        .or_else(|| {
            js_sys::Reflect::get(&e, &JsValue::from("message"))
                .ok()
                .and_then(|m| m.as_string())
        })
        .unwrap_or_else(|| format!("{e:?}"))
}

async fn fetch(request: &HttpRequest) -> Result<HttpResponse, String> {
    let init = web_sys::RequestInit::new();
    init.set_method(request.method);
    let headers = web_sys::Headers::new().map_err(js_text)?;
    for (name, value) in &request.headers {
        headers.set(name, value).map_err(js_text)?;
    }
    init.set_headers(&headers);
    let body = js_sys::Uint8Array::from(request.body.as_slice());
    init.set_body(&body);
    let req = web_sys::Request::new_with_str_and_init(&request.url, &init).map_err(js_text)?;
    let window = web_sys::window().ok_or("no window")?;
    let response: web_sys::Response = JsFuture::from(window.fetch_with_request(&req))
        .await
        .map_err(js_text)?
        .dyn_into()
        .map_err(js_text)?;
    let mut out_headers = Vec::new();
    let all: JsValue = response.headers().into();
    if let Ok(Some(entries)) = js_sys::try_iter(&all) {
        for entry in entries.flatten() {
            let pair = js_sys::Array::from(&entry);
            out_headers.push((
                pair.get(0).as_string().unwrap_or_default(),
                pair.get(1).as_string().unwrap_or_default(),
            ));
        }
    }
    let buffer = JsFuture::from(response.array_buffer().map_err(js_text)?)
        .await
        .map_err(js_text)?;
    Ok(HttpResponse {
        status: response.status(),
        headers: out_headers,
        body: js_sys::Uint8Array::new(&buffer).to_vec(),
    })
}
