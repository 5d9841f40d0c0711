//! The simulated S3 browser: buckets, a prefix tree (folders by `/`), objects with size and time, a preview
//! (UTF-8 text, gunzipped when the key ends with `.gz`, or hex) and download. Object bodies are untrusted: they
//! are shown as text nodes only, and downloaded as bytes.

use super::format::{bytes, count};
use super::{Route, Sim};
use crate::firehose::gzip;
use std::collections::BTreeMap;
use yew::prelude::*;
use yew_router::prelude::*;

/// Characters a preview shows at most.
pub const PREVIEW_CHARS_MAX: usize = 20_000;
/// Largest body a preview gunzips, in bytes (a gzip bomb stops here).
pub const GUNZIP_LIMIT_BYTES: u64 = 8 * 1_048_576;
/// Objects listed at one level at most.
const OBJECTS_SHOWN: usize = 500;

/// One sub-folder at a level of the prefix tree.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Folder {
    /// Its full prefix, ending with `/`.
    pub prefix: String,
    /// Its own name (the part after the parent's prefix, with the `/`).
    pub name: String,
    /// Objects under it, at any depth.
    pub objects: u64,
    /// Their bytes.
    pub bytes: u64,
}

/// One level of the prefix tree: the folders and the objects directly under `prefix`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Level {
    /// Sub-folders in key order.
    pub folders: Vec<Folder>,
    /// Keys of the objects at this level, in key order.
    pub objects: Vec<String>,
}

/// The level of the prefix tree at `prefix`, from (key, size) pairs: keys under `prefix` roll up at the next `/`.
pub fn level<'a>(keys: impl IntoIterator<Item = (&'a str, u64)>, prefix: &str) -> Level {
    let mut folders: BTreeMap<String, (u64, u64)> = BTreeMap::new();
    let mut objects = Vec::new();
    for (key, size) in keys {
        let Some(rest) = key.strip_prefix(prefix) else {
            continue;
        };
        match rest.find('/') {
            Some(at) => {
                let entry = folders.entry(rest[..=at].to_string()).or_insert((0, 0));
                entry.0 += 1;
                entry.1 += size;
            }
            None => objects.push(key.to_string()),
        }
    }
    Level {
        folders: folders
            .into_iter()
            .map(|(name, (objects, bytes))| Folder {
                prefix: format!("{prefix}{name}"),
                name,
                objects,
                bytes,
            })
            .collect(),
        objects,
    }
}

/// The path to `prefix`: (label, prefix) from the bucket's root (`""`) down to `prefix` itself.
pub fn breadcrumbs(prefix: &str) -> Vec<(String, String)> {
    let mut out = vec![("/".to_string(), String::new())];
    let mut at = 0;
    while let Some(i) = prefix[at..].find('/') {
        let end = at + i + 1;
        out.push((prefix[at..end].to_string(), prefix[..end].to_string()));
        at = end;
    }
    out
}

/// How an object's body is previewed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Preview {
    /// UTF-8 text.
    Text(String),
    /// A `.gz` body, gunzipped, as text: (text, bytes once decompressed).
    Gunzipped(String, u64),
    /// A `.zip` or `.snappy` body, decompressed, as text: (how it was decoded, text, bytes once decompressed).
    Decompressed(&'static str, String, u64),
    /// Not UTF-8 (or a `.gz` that would not gunzip: the reason): hex bytes.
    Hex(String, Option<String>),
}

/// A `.zip` body's first entry, or a `.snappy` body (framing format, else Hadoop's block stream), decompressed:
/// (how, bytes), or why not.
fn decompress_other(key: &str, body: &[u8]) -> Option<Result<(&'static str, Vec<u8>), String>> {
    use crate::firehose::compression as c;
    if key.ends_with(".zip") {
        return Some(
            c::unzip(body, GUNZIP_LIMIT_BYTES)
                .map_err(|e| e.to_string())
                .and_then(|entries| {
                    entries
                        .into_iter()
                        .next()
                        .map(|(_, bytes)| ("unzipped", bytes))
                        .ok_or_else(|| "an empty ZIP".to_string())
                }),
        );
    }
    if key.ends_with(".snappy") {
        return Some(
            c::unsnappy_framed(body, GUNZIP_LIMIT_BYTES)
                .map(|b| ("Snappy-decoded", b))
                .or_else(|_| {
                    c::unhadoop_snappy(body, GUNZIP_LIMIT_BYTES)
                        .map(|b| ("Hadoop-Snappy-decoded", b))
                })
                .map_err(|e| e.to_string()),
        );
    }
    None
}

fn cut(text: String, chars_max: usize) -> String {
    if text.chars().count() > chars_max {
        let mut t: String = text.chars().take(chars_max).collect();
        t.push('…');
        t
    } else {
        text
    }
}

fn hex(body: &[u8], chars_max: usize) -> String {
    let mut s = String::new();
    for (i, b) in body.iter().take(chars_max / 3 + 1).enumerate() {
        s.push_str(&format!("{b:02x}"));
        s.push(if i % 16 == 15 { '\n' } else { ' ' });
    }
    cut(s.trim_end().to_string(), chars_max)
}

/// The preview of an object's body: gunzipped when the key ends with `.gz`, unzipped (`.zip`) or Snappy-decoded
/// (`.snappy`), then UTF-8 text, else hex.
pub fn preview(key: &str, body: &[u8], chars_max: usize) -> Preview {
    if key.ends_with(".gz") {
        return match gzip::decompress(body, GUNZIP_LIMIT_BYTES) {
            Ok(raw) => match String::from_utf8(raw) {
                Ok(text) => {
                    let n = text.len() as u64;
                    Preview::Gunzipped(cut(text, chars_max), n)
                }
                Err(e) => Preview::Hex(
                    hex(e.as_bytes(), chars_max),
                    Some("gunzipped, but not UTF-8".into()),
                ),
            },
            Err(e) => Preview::Hex(hex(body, chars_max), Some(e.to_string())),
        };
    }
    if let Some(decoded) = decompress_other(key, body) {
        return match decoded {
            Ok((how, raw)) => match String::from_utf8(raw) {
                Ok(text) => {
                    let n = text.len() as u64;
                    Preview::Decompressed(how, cut(text, chars_max), n)
                }
                Err(e) => Preview::Hex(
                    hex(e.as_bytes(), chars_max),
                    Some(format!("{how}, but not UTF-8")),
                ),
            },
            Err(e) => Preview::Hex(hex(body, chars_max), Some(e)),
        };
    }
    match std::str::from_utf8(body) {
        Ok(text) => Preview::Text(cut(text.to_string(), chars_max)),
        Err(_) => Preview::Hex(hex(body, chars_max), None),
    }
}

/// The file name a download gets: the key's last part.
pub fn download_name(key: &str) -> String {
    let name = key.rsplit('/').next().unwrap_or(key);
    if name.is_empty() {
        "object".into()
    } else {
        name.to_string()
    }
}

/// Saves `body` as a file through a Blob and an object URL (the bytes never become markup).
fn download(key: &str, body: &[u8]) -> Result<(), String> {
    use wasm_bindgen::JsCast;
    let fail = |_| "The browser refused the download.".to_string();
    let array = js_sys::Uint8Array::from(body);
    let parts = js_sys::Array::of1(&array);
    let options = web_sys::BlobPropertyBag::new();
    options.set_type("application/octet-stream");
    let blob =
        web_sys::Blob::new_with_u8_array_sequence_and_options(&parts, &options).map_err(fail)?;
    let url = web_sys::Url::create_object_url_with_blob(&blob).map_err(fail)?;
    let document = web_sys::window()
        .and_then(|w| w.document())
        .ok_or("No document.")?;
    let a = document
        .create_element("a")
        .map_err(fail)?
        .dyn_into::<web_sys::HtmlElement>()
        .map_err(|_| "No link element.".to_string())?;
    a.set_attribute("href", &url).map_err(fail)?;
    a.set_attribute("download", &download_name(key))
        .map_err(fail)?;
    a.click();
    // Revoked once the browser has had time to start the download (revoking at once can cancel it).
    gloo::timers::callback::Timeout::new(10_000, move || {
        let _ = web_sys::Url::revoke_object_url(&url);
    })
    .forget();
    Ok(())
}

/// Properties of [`S3Browser`].
#[derive(Clone, Debug, PartialEq, Properties)]
pub struct S3Props {
    /// The open bucket (None: the bucket list only).
    pub bucket: Option<String>,
}

/// `#/s3` and `#/s3/:bucket`.
#[component(S3Browser)]
pub fn s3_browser(props: &S3Props) -> Html {
    let prefix = use_state(String::new);
    let selected = use_state(|| None::<String>);
    let message = use_state(|| None::<String>);
    {
        // A new bucket starts at its root.
        let (prefix, selected) = (prefix.clone(), selected.clone());
        use_effect_with(props.bucket.clone(), move |_| {
            prefix.set(String::new());
            selected.set(None);
        });
    }
    let Some(sim) = use_context::<Sim>() else {
        return html! {};
    };
    let world = sim.world.borrow();
    let s3 = world.firehose_service().s3();
    let buckets: Html = s3
        .list_buckets()
        .map(|(name, _)| {
            let n = s3.bucket(name).map_or(0, |b| b.objects.len() as u64);
            let active = props.bucket.as_deref() == Some(name);
            html! {
                <li>
                    <Link<Route> to={Route::Bucket { bucket: name.to_string() }} classes={classes!(active.then_some("active"))}>
                        <span class="mono">{ name }</span>
                    </Link<Route>>
                    <span class="hint">{ format!(" {} object{}", count(n), if n == 1 { "" } else { "s" }) }</span>
                </li>
            }
        })
        .collect();
    let no_buckets = s3.list_buckets().next().is_none();
    let body = match &props.bucket {
        None => html! {
            <section class="card"><p class="empty">{ "Pick a bucket. Firehose creates the bucket its BucketARN names on its first delivery." }</p></section>
        },
        Some(bucket) => match s3.bucket(bucket) {
            None => html! {
                <section class="card"><p class="empty" role="status">{ format!("No bucket {bucket} yet: it appears when a delivery stream first writes to it.") }</p></section>
            },
            Some(b) => {
                let lvl = level(
                    b.objects
                        .iter()
                        .map(|(k, o)| (k.as_str(), o.body.len() as u64)),
                    &prefix,
                );
                let crumbs: Html = breadcrumbs(&prefix)
                    .into_iter()
                    .map(|(label, p)| {
                        let (prefix, selected) = (prefix.clone(), selected.clone());
                        let onclick = Callback::from(move |_| {
                            prefix.set(p.clone());
                            selected.set(None);
                        });
                        html! { <button class="crumb link" {onclick}>{ label }</button> }
                    })
                    .collect();
                let folders: Html = lvl
                    .folders
                    .iter()
                    .map(|f| {
                        let (prefix, selected, p) = (prefix.clone(), selected.clone(), f.prefix.clone());
                        let onclick = Callback::from(move |_| {
                            prefix.set(p.clone());
                            selected.set(None);
                        });
                        html! {
                            <tr class="folder">
                                <td><button class="link mono" {onclick}>{ format!("📁 {}", f.name) }</button></td>
                                <td class="num">{ bytes(f.bytes) }</td>
                                <td>{ format!("{} object{}", count(f.objects), if f.objects == 1 { "" } else { "s" }) }</td>
                            </tr>
                        }
                    })
                    .collect();
                let objects: Html = lvl
                    .objects
                    .iter()
                    .take(OBJECTS_SHOWN)
                    .filter_map(|k| b.objects.get(k).map(|o| (k, o)))
                    .map(|(k, o)| {
                        let active = selected.as_deref() == Some(k.as_str());
                        let (selected, key) = (selected.clone(), k.clone());
                        let onclick = Callback::from(move |_| selected.set(Some(key.clone())));
                        let name = k.strip_prefix(prefix.as_str()).unwrap_or(k);
                        html! {
                            <tr class={classes!("object", active.then_some("selected"))}>
                                <td><button class="link mono" {onclick} title={k.clone()}>{ name }</button></td>
                                <td class="num">{ bytes(o.body.len() as u64) }</td>
                                <td class="mono">{ o.last_modified.to_string() }</td>
                            </tr>
                        }
                    })
                    .collect();
                let empty = lvl.folders.is_empty() && lvl.objects.is_empty();
                let preview_card = selected
                    .as_ref()
                    .and_then(|k| b.objects.get(k).map(|o| (k, o)))
                    .map(|(k, o)| {
                        let (label, text) = match preview(k, &o.body, PREVIEW_CHARS_MAX) {
                            Preview::Text(t) => ("UTF-8 text".to_string(), t),
                            Preview::Gunzipped(t, n) => {
                                (format!("gunzipped: {} of text", bytes(n)), t)
                            }
                            Preview::Decompressed(how, t, n) => {
                                (format!("{how}: {} of text", bytes(n)), t)
                            }
                            Preview::Hex(t, why) => (
                                why.map_or("hex (not UTF-8)".to_string(), |w| format!("hex ({w})")),
                                t,
                            ),
                        };
                        let on_download = {
                            let (key, body, message) = (k.clone(), o.body.clone(), message.clone());
                            Callback::from(move |_| {
                                message.set(download(&key, &body).err());
                            })
                        };
                        html! {
                            <section class="card" aria-labelledby="s3-preview-h">
                                <div class="card-head">
                                    <h2 id="s3-preview-h" class="mono wrap">{ k }</h2>
                                    <button id="s3-download" onclick={on_download}>{ "Download" }</button>
                                </div>
                                <p class="hint">{ format!("{} · {} · ETag {} · {}", bytes(o.body.len() as u64), o.last_modified, o.etag, label) }</p>
                                <pre id="s3-preview" class="preview">{ text }</pre>
                                if let Some(m) = &*message {
                                    <p class="error" role="alert">{ m }</p>
                                }
                            </section>
                        }
                    });
                html! { <>
                    <section class="card" aria-labelledby="s3-objects-h">
                        <h2 id="s3-objects-h">{ format!("s3://{bucket}/{}", *prefix) }</h2>
                        <nav class="s3-crumbs" aria-label="Prefix">{ crumbs }</nav>
                        if empty {
                            <p class="empty">{ "Nothing under this prefix." }</p>
                        } else {
                            <div class="table-wrap"><table class="table" id="s3-objects">
                                <thead><tr><th scope="col">{ "Name" }</th><th scope="col" class="num">{ "Size" }</th><th scope="col">{ "Last modified" }</th></tr></thead>
                                <tbody>{ folders }{ objects }</tbody>
                            </table></div>
                        }
                    </section>
                    { preview_card.unwrap_or_default() }
                </> }
            }
        },
    };
    html! {
        <div class="page s3">
            <div class="page-head">
                <h1>{ "S3 buckets" }</h1>
                <p class="lead">{ "What Firehose delivered: one object per flushed buffer, under the prefix the delivery stream names." }</p>
            </div>
            <div class="s3-layout">
                <section class="card" aria-labelledby="s3-buckets-h">
                    <h2 id="s3-buckets-h">{ "Buckets" }</h2>
                    if no_buckets {
                        <p class="empty">{ "None yet. " }<Link<Route> to={Route::Firehose}>{ "Create a delivery stream" }</Link<Route>></p>
                    } else {
                        <ul class="bucket-list" id="s3-buckets">{ buckets }</ul>
                    }
                </section>
                <div class="s3-main">{ body }</div>
            </div>
        </div>
    }
}
