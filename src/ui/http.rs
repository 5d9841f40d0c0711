//! The browser shell of the Firehose HTTP endpoint destination: performs the requests the session's delivery
//! streams hand out ([`Journaled::poll_http_request`]) with `fetch`, and completes each at the session's
//! simulated time when its answer (or failure) arrives ([`Journaled::complete_http_request`]). Both are journal
//! inputs, so a replay needs neither the network nor the endpoint.
//!
//! The page's `fetch` is subject to CORS: the endpoint must answer the preflight for the `X-Amz-Firehose-*`
//! headers, or the attempt is reported as `HttpEndpoint.ConnectionFailed` with the browser's message (and retried
//! like any failure). The browser gives no timeout of its own here; an endpoint that never answers keeps its
//! request pending.

use std::cell::RefCell;
use std::rc::Rc;

use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;

use crate::firehose::http_endpoint::{HttpRequest, HttpResponse, Transport};
use crate::persist::Journaled;

/// Hands every due request to `fetch`; each completes on its own when its answer arrives. Call once a frame.
pub fn pump(session: &Rc<RefCell<Journaled>>) {
    loop {
        let Ok(mut guard) = session.try_borrow_mut() else {
            return;
        };
        let Some(pending) = guard.poll_http_request() else {
            return;
        };
        drop(guard);
        let session = Rc::clone(session);
        wasm_bindgen_futures::spawn_local(async move {
            let outcome = match fetch(&pending.request).await {
                Ok(response) => Transport::Response(response),
                Err(message) => Transport::ConnectionFailed(message),
            };
            let mut guard = session.borrow_mut();
            let now = guard.now();
            // Handed out by this shell and completed once; a delivery stream deleted meanwhile refuses it, which
            // leaves nothing to do.
            let _ = guard.complete_http_request(now, &pending.request_id, &outcome);
        });
    }
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
