//! One writer per session across tabs, with the Web Locks API (`navigator.locks`), wasm32 only.
//!
//! [`try_lock`] asks for an exclusive lock named after the session without waiting (`ifAvailable`). The tab
//! that gets it writes; another tab gets `None` and shows the session read-only. The lock is held until the
//! [`SessionLock`] is dropped or the tab goes away (the browser releases it then, even on a crash).

use js_sys::{Function, Object, Promise, Reflect};
use std::cell::RefCell;
use std::rc::Rc;
use wasm_bindgen::prelude::Closure;
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;

/// A held session lock; dropping it releases the lock.
#[derive(Debug)]
pub struct SessionLock {
    release: Option<Function>,
}

impl Drop for SessionLock {
    fn drop(&mut self) {
        if let Some(release) = self.release.take() {
            let _ = release.call0(&JsValue::UNDEFINED);
        }
    }
}

/// The lock name for a session.
pub fn lock_name(session_id: &str) -> String {
    format!("kinesim-session-{session_id}")
}

/// Whether this browser has the Web Locks API.
pub fn supported() -> bool {
    locks().is_some()
}

fn locks() -> Option<JsValue> {
    let navigator = Reflect::get(&js_sys::global(), &JsValue::from_str("navigator")).ok()?;
    let locks = Reflect::get(&navigator, &JsValue::from_str("locks")).ok()?;
    (!locks.is_undefined() && !locks.is_null()).then_some(locks)
}

/// Takes the session's lock if no other tab holds it: `Ok(Some(lock))` to write, `Ok(None)` when another tab
/// writes this session. Without the Web Locks API it errs (the caller decides; the app then warns and writes).
pub async fn try_lock(session_id: &str) -> Result<Option<SessionLock>, String> {
    let locks = locks().ok_or("this browser has no Web Locks API (navigator.locks)")?;
    let request: Function = Reflect::get(&locks, &JsValue::from_str("request"))
        .ok()
        .and_then(|f| f.dyn_into().ok())
        .ok_or("navigator.locks.request is missing")?;
    let options = Object::new();
    Reflect::set(&options, &"ifAvailable".into(), &JsValue::TRUE).map_err(|e| format!("{e:?}"))?;
    Reflect::set(&options, &"mode".into(), &"exclusive".into()).map_err(|e| format!("{e:?}"))?;

    let release: Rc<RefCell<Option<Function>>> = Rc::default();
    let mut grant: Option<Function> = None;
    let granted = Promise::new(&mut |resolve, _reject| grant = Some(resolve));
    let held = Rc::clone(&release);
    let callback = Closure::once_into_js(move |lock: JsValue| -> JsValue {
        let Some(grant) = grant else {
            return JsValue::UNDEFINED;
        };
        if lock.is_null() || lock.is_undefined() {
            let _ = grant.call1(&JsValue::UNDEFINED, &JsValue::FALSE);
            return JsValue::UNDEFINED;
        }
        // The lock is held until this promise resolves: its resolver is the release.
        let hold = Promise::new(&mut |resolve, _reject| *held.borrow_mut() = Some(resolve));
        let _ = grant.call1(&JsValue::UNDEFINED, &JsValue::TRUE);
        hold.into()
    });
    request
        .call3(
            &locks,
            &JsValue::from_str(&lock_name(session_id)),
            &options,
            &callback,
        )
        .map_err(|e| format!("navigator.locks.request failed: {e:?}"))?;
    let got = JsFuture::from(granted)
        .await
        .map_err(|e| format!("navigator.locks.request failed: {e:?}"))?;
    if got.as_bool() == Some(true) {
        Ok(Some(SessionLock {
            release: release.borrow_mut().take(),
        }))
    } else {
        Ok(None)
    }
}
