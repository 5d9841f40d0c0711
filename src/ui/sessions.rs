//! Sessions in the browser: the default session at start, autosave (every [`AUTOSAVE_MS`] of wall time and on
//! `pagehide`/`visibilitychange`), one writer per session across tabs (Web Locks), and the sessions panel (list,
//! create, rename, duplicate, delete, switch, export, import).
//!
//! [`Persistence`] lives in the app's model next to the [`Journaled`] world; its messages arrive as
//! [`PersistMsg`] and it may replace the session (a switch, a load). The panel is a view of it.

use crate::World;
use crate::js_api::PageHost;
use crate::persist::idb::{DATABASE_NAME_DEFAULT, IdbStore};
use crate::persist::lock::{self, SessionLock};
use crate::persist::{
    self, CommitReceipt, Journaled, SessionMeta, SessionStore, StoreError, export_session,
    import_session,
};
use gloo::events::EventListener;
use gloo::file::callbacks::FileReader;
use gloo::timers::callback::Interval;
use std::cell::{Cell, RefCell};
use std::rc::Rc;
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::spawn_local;
use web_sys::HtmlInputElement;
use yew::prelude::*;

/// Longest wall time between commits while a session changes, in milliseconds.
pub const AUTOSAVE_MS: u32 = 250;
/// Extra tries for a session's lock before the session counts as open in another tab.
const LOCK_ATTEMPTS: u32 = 20;
/// How the message of a commit that saved its journal but not its snapshot starts
/// ([`persist::SnapshotError::JournalOnly`]); a later snapshot clears it.
const SNAPSHOT_NOT_WRITTEN: &str = "Snapshot not written";
/// Id of the session made on the first visit.
pub const DEFAULT_SESSION_ID: &str = "default";

/// A promise waiting for the journal to be committed up to `through`.
#[derive(Debug)]
struct Waiter {
    generation: u64,
    through: u64,
    value: JsValue,
    resolve: js_sys::Function,
    reject: js_sys::Function,
}

/// The page session's side of persistence (`kinesim.pageSession()`, the SDK playground): whether this tab may
/// write, and the promises of calls waiting for their journal entries to be committed.
#[derive(Debug)]
pub struct Durability {
    /// Why this tab refuses changes through the API now.
    refusal: RefCell<Option<String>>,
    /// Nothing is saved (IndexedDB could not be opened): promises resolve at once.
    unsaved: Cell<bool>,
    /// Which world the journal positions belong to: bumped when the world is replaced.
    generation: Cell<u64>,
    /// Journal position committed so far in this generation.
    committed_through: Cell<u64>,
    waiters: RefCell<Vec<Waiter>>,
    /// Tells the app the world changed through the API.
    notify: Callback<()>,
}

impl Durability {
    /// Refuses writes until a session is open; `notify` hears of every change through the API.
    pub fn new(notify: Callback<()>) -> Self {
        Durability {
            refusal: RefCell::new(Some(
                "The session is still opening; try again in a moment.".into(),
            )),
            unsaved: Cell::new(false),
            generation: Cell::new(0),
            committed_through: Cell::new(0),
            waiters: RefCell::new(Vec::new()),
            notify,
        }
    }

    /// A new world (another session, a restart) whose journal is committed up to `committed_through`. Waiters of
    /// the old world are settled by their commits still in flight, or refused by [`Durability::drop_stale`].
    fn new_generation(&self, committed_through: u64) {
        self.generation.set(self.generation.get().wrapping_add(1));
        self.committed_through.set(committed_through);
    }

    /// A commit of generation `generation` up to `through` finished.
    fn settle(&self, generation: u64, through: u64, result: &Result<(), StoreError>) {
        if generation == self.generation.get() && result.is_ok() {
            self.committed_through
                .set(self.committed_through.get().max(through));
        }
        let settled: Vec<Waiter> = {
            let mut waiters = self.waiters.borrow_mut();
            let (done, keep) = waiters
                .drain(..)
                .partition(|w| w.generation == generation && w.through <= through);
            *waiters = keep;
            done
        };
        for waiter in settled {
            match result {
                Ok(()) => {
                    let _ = waiter.resolve.call1(&JsValue::UNDEFINED, &waiter.value);
                }
                Err(e) => {
                    let error = js_sys::Error::new(&format!("Not saved: {}", e.message));
                    let _ = waiter.reject.call1(&JsValue::UNDEFINED, &error);
                }
            }
        }
    }

    /// Refuses every waiter of a generation other than the current one: their world is gone unsaved.
    fn drop_stale(&self, why: &str) {
        let generation = self.generation.get();
        let stale: Vec<Waiter> = {
            let mut waiters = self.waiters.borrow_mut();
            let (stale, keep) = waiters.drain(..).partition(|w| w.generation != generation);
            *waiters = keep;
            stale
        };
        for waiter in stale {
            let _ = waiter
                .reject
                .call1(&JsValue::UNDEFINED, &js_sys::Error::new(why));
        }
    }

    /// Whether calls of the current world wait for a commit.
    fn waiting(&self) -> bool {
        let generation = self.generation.get();
        self.waiters
            .borrow()
            .iter()
            .any(|w| w.generation == generation)
    }
}

impl PageHost for Durability {
    fn refusal(&self) -> Option<String> {
        self.refusal.borrow().clone()
    }

    fn changed(&self) {
        self.notify.emit(());
    }

    fn committed(&self, through: u64, value: JsValue) -> js_sys::Promise {
        if self.unsaved.get()
            || self.refusal.borrow().is_some()
            || through <= self.committed_through.get()
        {
            return js_sys::Promise::resolve(&value);
        }
        let generation = self.generation.get();
        let mut value = Some(value);
        let promise = js_sys::Promise::new(&mut |resolve, reject| {
            self.waiters.borrow_mut().push(Waiter {
                generation,
                through,
                value: value.take().unwrap_or(JsValue::UNDEFINED),
                resolve,
                reject,
            });
        });
        // Save now rather than at the next autosave tick.
        self.notify.emit(());
        promise
    }

    fn replaced(&self) {
        self.new_generation(0);
        self.drop_stale("Not saved: the run was replaced before this call was stored.");
        self.notify.emit(());
    }
}

/// What happened in persistence.
#[derive(Debug)]
pub enum PersistMsg {
    /// A session finished loading.
    Loaded(Box<Loaded>),
    /// Opening or loading failed.
    Failed(String),
    /// The autosave interval fired.
    Tick,
    /// The page is going away or hidden: commit now.
    Flush,
    /// A commit finished.
    Saved {
        /// The session it was for.
        id: String,
        /// The world it was for ([`Durability`]'s generation).
        generation: u64,
        /// What to mark committed.
        receipt: CommitReceipt,
        /// The event log hash it holds.
        hash: String,
        /// The simulated time it holds, in milliseconds.
        now_ms: u64,
        /// Whether it landed.
        result: Result<(), StoreError>,
    },
    /// The session list was read.
    Listed(Vec<SessionMeta>),
    /// A message for the user (an error or a confirmation).
    Status(String),
    /// Switch to this session.
    Switch(String),
    /// Make a new session and switch to it.
    Create,
    /// The rename field of the panel changed.
    NameInput(String),
    /// Rename the current session to the name in the field.
    Rename,
    /// Copy this session.
    Duplicate(String),
    /// Delete this session.
    Delete(String),
    /// Download this session as a file.
    Export(String),
    /// A file was chosen for import.
    ImportFile(web_sys::File),
    /// Its bytes were read.
    ImportBytes(Vec<u8>),
}

/// A session's UI preferences, saved apart from its journal (the `prefs` store, schema version 2).
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(default)]
pub struct UiPrefs {
    /// Simulated milliseconds per real millisecond while the clock runs.
    pub speed: Option<u32>,
}

/// A session ready to use.
#[derive(Debug)]
pub struct Loaded {
    store: Rc<IdbStore>,
    id: String,
    session: Journaled,
    prefs: UiPrefs,
    lock: Option<SessionLock>,
    read_only: bool,
    note: Option<String>,
    sessions: Vec<SessionMeta>,
}

/// Persistence state of the app.
#[derive(Debug)]
pub struct Persistence {
    link: Callback<PersistMsg>,
    fresh: fn(u64) -> World,
    store: Option<Rc<IdbStore>>,
    current: Option<String>,
    sessions: Vec<SessionMeta>,
    lock: Option<SessionLock>,
    read_only: bool,
    loading: bool,
    saving: bool,
    /// The last commit failed (a full disk): retry with the journal only, which is small, until one lands.
    failed: bool,
    saved_hash: Option<String>,
    status: Option<String>,
    name_input: String,
    reader: Option<FileReader>,
    durable: Rc<Durability>,
    /// Preferences of the session just opened, for the app to apply.
    loaded_prefs: Option<UiPrefs>,
    _autosave: Interval,
    _listeners: Vec<EventListener>,
}

/// Opens (or creates) session `id` in `store`: lock first, then load. `fresh` makes the world of a session that
/// was never saved.
async fn open_session(store: Rc<IdbStore>, id: String, fresh: fn(u64) -> World) -> PersistMsg {
    // A lock this tab just released (switching away and back) frees on a later turn of the event loop: retry
    // a few times before calling the session busy.
    let mut attempt = lock::try_lock(&id).await;
    for _ in 0..LOCK_ATTEMPTS {
        if !matches!(attempt, Ok(None)) {
            break;
        }
        attempt = lock::try_lock(&id).await;
    }
    let (lock, read_only, mut note) = match attempt {
        Ok(Some(lock)) => (Some(lock), false, None),
        Ok(None) => (
            None,
            true,
            Some(
                "This session is open in another tab, which saves it; this tab shows it read-only. \
                 Close the other tab and reload, or switch to another session."
                    .to_string(),
            ),
        ),
        Err(e) => (None, false, Some(format!("Tabs are not coordinated: {e}."))),
    };
    let loaded = async {
        let meta = store.meta(&id).await?;
        let stored = store.load(&id).await?;
        let session = if stored.snapshot.is_none() && stored.journal.is_empty() {
            Journaled::new(fresh(meta.seed))
        } else {
            Journaled::restore(&stored, fresh(meta.seed)).map_err(|e| {
                StoreError::new(
                    persist::StoreErrorKind::Corrupt,
                    format!("Session “{}” cannot be opened: {e}", meta.name),
                )
            })?
        };
        let sessions = store.list().await?;
        // Preferences that cannot be read fall back to the defaults: they never block a session.
        let prefs = store
            .prefs(&id)
            .await
            .ok()
            .flatten()
            .and_then(|text| serde_json::from_str::<UiPrefs>(&text).ok())
            .unwrap_or_default();
        Ok::<_, StoreError>((session, sessions, prefs))
    }
    .await;
    match loaded {
        Ok((session, sessions, prefs)) => PersistMsg::Loaded(Box::new(Loaded {
            store,
            id,
            session,
            prefs,
            lock,
            read_only,
            note: note.take(),
            sessions,
        })),
        Err(e) => PersistMsg::Failed(e.message),
    }
}

async fn start(fresh: fn(u64) -> World, seed: u64) -> PersistMsg {
    let store = match IdbStore::open(DATABASE_NAME_DEFAULT).await {
        Ok(store) => Rc::new(store),
        Err(e) => return PersistMsg::Failed(format!("Sessions are not saved: {e}")),
    };
    let first_visit = match store.list().await {
        Ok(list) => list.is_empty(),
        Err(e) => return PersistMsg::Failed(e.message),
    };
    if first_visit {
        let meta = SessionMeta {
            id: DEFAULT_SESSION_ID.into(),
            name: "Default session".into(),
            seed,
            damaged: None,
        };
        if let Err(e) = store.create(&meta).await {
            return PersistMsg::Failed(e.message);
        }
    }
    let id = match store.list().await {
        Ok(list) => list
            .iter()
            .find(|m| m.id == DEFAULT_SESSION_ID && m.damaged.is_none())
            .or_else(|| list.iter().find(|m| m.damaged.is_none()))
            .map_or_else(|| DEFAULT_SESSION_ID.to_string(), |m| m.id.clone()),
        Err(e) => return PersistMsg::Failed(e.message),
    };
    open_session(store, id, fresh).await
}

fn new_session_id() -> String {
    // The shell may read the clock: ids only need to be unique in this browser.
    #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
    let ms = js_sys::Date::now() as u64;
    format!("s-{ms:x}")
}

fn download(name: &str, bytes: &[u8]) -> Result<(), String> {
    let blob = gloo::file::Blob::new_with_options(bytes, Some("application/octet-stream"));
    let url = gloo::file::ObjectUrl::from(blob);
    let document = gloo::utils::document();
    let anchor = document
        .create_element("a")
        .map_err(|_| "cannot create a download link")?;
    let _ = anchor.set_attribute("href", &url);
    let _ = anchor.set_attribute("download", name);
    let anchor: web_sys::HtmlElement = anchor
        .dyn_into()
        .map_err(|_| "cannot create a download link")?;
    anchor.click();
    Ok(())
}

impl Persistence {
    /// Starts opening the default session (made on the first visit with `seed`) and the autosave.
    pub fn new(
        link: Callback<PersistMsg>,
        fresh: fn(u64) -> World,
        seed: u64,
        durable: Rc<Durability>,
    ) -> Self {
        let tick = link.clone();
        let autosave = Interval::new(AUTOSAVE_MS, move || tick.emit(PersistMsg::Tick));
        let window = gloo::utils::window();
        let on_hide = link.clone();
        let on_visibility = link.clone();
        let listeners = vec![
            EventListener::new(&window, "pagehide", move |_| {
                on_hide.emit(PersistMsg::Flush)
            }),
            EventListener::new(&gloo::utils::document(), "visibilitychange", move |_| {
                if gloo::utils::document().visibility_state() == web_sys::VisibilityState::Hidden {
                    on_visibility.emit(PersistMsg::Flush);
                }
            }),
        ];
        let loaded = link.clone();
        spawn_local(async move { loaded.emit(start(fresh, seed).await) });
        Persistence {
            link,
            fresh,
            store: None,
            current: None,
            sessions: Vec::new(),
            lock: None,
            read_only: false,
            loading: true,
            saving: false,
            failed: false,
            saved_hash: None,
            status: None,
            name_input: String::new(),
            reader: None,
            durable,
            loaded_prefs: None,
            _autosave: autosave,
            _listeners: listeners,
        }
    }

    /// Whether the world must not change here: still loading, or another tab writes this session.
    pub fn read_only(&self) -> bool {
        self.loading || self.read_only
    }

    fn save(&mut self, session: &mut Journaled, force: bool) {
        let (Some(store), Some(id)) = (self.store.clone(), self.current.clone()) else {
            return;
        };
        if self.read_only || (self.saving && !force) || !session.has_uncommitted() {
            return;
        }
        let (commit, receipt) = session.prepare_commit(session.wants_snapshot() && !self.failed);
        let hash = session.world().event_log_hash();
        let now_ms = session.world().now().as_millis();
        let generation = self.durable.generation.get();
        self.saving = true;
        let link = self.link.clone();
        spawn_local(async move {
            let result = store.commit(&id, &commit).await;
            link.emit(PersistMsg::Saved {
                id,
                generation,
                receipt,
                hash,
                now_ms,
                result,
            });
        });
    }

    fn refresh_list(&self) {
        let (Some(store), link) = (self.store.clone(), self.link.clone()) else {
            return;
        };
        spawn_local(async move {
            match store.list().await {
                Ok(list) => link.emit(PersistMsg::Listed(list)),
                Err(e) => link.emit(PersistMsg::Status(e.message)),
            }
        });
    }

    /// The preferences of a session that just opened (once).
    pub fn take_prefs(&mut self) -> Option<UiPrefs> {
        self.loaded_prefs.take()
    }

    /// Saves the current session's preferences (not in a read-only tab).
    pub fn save_prefs(&self, prefs: &UiPrefs) {
        let (Some(store), Some(id)) = (self.store.clone(), self.current.clone()) else {
            return;
        };
        if self.read_only() {
            return;
        }
        let Ok(text) = serde_json::to_string(prefs) else {
            return;
        };
        let link = self.link.clone();
        spawn_local(async move {
            if let Err(e) = store.set_prefs(&id, &text).await {
                link.emit(PersistMsg::Status(format!(
                    "Preferences not saved: {}",
                    e.message
                )));
            }
        });
    }

    /// The run was replaced in place (a restart, a scenario run): calls of the old run still waiting for a
    /// commit are refused; the new run is saved whole with the next commit.
    pub fn world_replaced(&self) {
        self.durable.replaced();
    }

    /// Handles a message; may replace `session`. Returns whether to re-render.
    pub fn update(&mut self, msg: PersistMsg, session: &mut Journaled) -> bool {
        let render = self.handle(msg, session);
        let refusal = if self.loading {
            Some("The session is still opening; try again in a moment.".to_string())
        } else if self.read_only {
            Some(
                "This session is open in another tab, which saves it: this tab shows it read-only and \
                 refuses changes. Close the other tab and reload, or switch to another session."
                    .to_string(),
            )
        } else {
            None
        };
        *self.durable.refusal.borrow_mut() = refusal;
        self.durable
            .unsaved
            .set(!self.loading && self.store.is_none());
        render
    }

    fn handle(&mut self, msg: PersistMsg, session: &mut Journaled) -> bool {
        match msg {
            PersistMsg::Loaded(loaded) => {
                let loaded = *loaded;
                self.store = Some(loaded.store);
                self.name_input = loaded
                    .sessions
                    .iter()
                    .find(|m| m.id == loaded.id)
                    .map_or_else(String::new, |m| m.name.clone());
                self.current = Some(loaded.id);
                *session = loaded.session;
                self.loaded_prefs = Some(loaded.prefs);
                self.durable.new_generation(if session.has_uncommitted() {
                    0
                } else {
                    session.next_seq()
                });

                self.lock = loaded.lock;
                self.read_only = loaded.read_only;
                self.status = loaded.note;
                self.sessions = loaded.sessions;
                self.loading = false;
                self.saving = false;
                self.saved_hash =
                    (!session.has_uncommitted()).then(|| session.world().event_log_hash());
                // A never-saved session is stored at once, so a reload finds it.
                self.save(session, false);
            }
            PersistMsg::Failed(message) => {
                self.loading = false;
                self.status = Some(message);
            }
            PersistMsg::Tick => {
                self.save(session, false);
                return false;
            }
            PersistMsg::Flush => {
                self.save(session, true);
                return false;
            }
            PersistMsg::Saved {
                id,
                generation,
                receipt,
                hash,
                now_ms,
                result,
            } => {
                // A commit that should have carried the run's first snapshot and could not carries nothing: it
                // failed, whatever the store said. One that fell back to the journal alone saved every change.
                let snapshot_error = receipt.snapshot_error().cloned();
                let (result, settled_through) = match (result, &snapshot_error) {
                    (Ok(()), Some(e)) if !e.journal_saved() => {
                        (Err(StoreError::from(e.clone())), u64::MAX)
                    }
                    (result, _) => (result, receipt.journal_through()),
                };
                let snapshot_written = receipt.has_snapshot();
                self.durable.settle(generation, settled_through, &result);
                // A commit of a world since replaced (a restart, another session): its receipt is not this
                // world's.
                let current = self.current.as_deref() == Some(&id);
                if generation != self.durable.generation.get() {
                    if current {
                        self.saving = false;
                    }
                    return false;
                }
                if !current {
                    return false;
                }
                self.saving = false;
                match result {
                    Ok(()) => {
                        self.failed = false;
                        session.committed(receipt);
                        gloo::console::debug!(format!("kinesim saved {hash} {now_ms}"));
                        self.saved_hash = Some(hash);
                        if self.status.as_deref().is_some_and(|s| {
                            s.contains("not saved")
                                || (snapshot_written && s.starts_with(SNAPSHOT_NOT_WRITTEN))
                        }) {
                            self.status = None;
                        }
                        if let Some(e) = snapshot_error {
                            gloo::console::error!(format!("kinesim: {e}"));
                            self.status = Some(e.to_string());
                        }
                    }
                    Err(e) => {
                        self.failed = true;
                        self.status = Some(format!("Changes not saved: {}", e.message));
                    }
                }
                // Calls through the API made while this commit ran wait for the next one: start it now.
                if self.durable.waiting() {
                    self.save(session, false);
                }
            }
            PersistMsg::Listed(list) => self.sessions = list,
            PersistMsg::Status(message) => self.status = Some(message),
            PersistMsg::Switch(id) => {
                let Some(store) = self.store.clone() else {
                    return false;
                };
                self.save(session, true);
                self.lock = None;
                self.loading = true;
                let (link, fresh) = (self.link.clone(), self.fresh);
                spawn_local(async move { link.emit(open_session(store, id, fresh).await) });
            }
            PersistMsg::Create => {
                let Some(store) = self.store.clone() else {
                    return false;
                };
                let meta = SessionMeta {
                    id: new_session_id(),
                    name: format!("Session {}", self.sessions.len() + 1),
                    seed: self.sessions.len() as u64 + 1,
                    damaged: None,
                };
                let link = self.link.clone();
                spawn_local(async move {
                    match store.create(&meta).await {
                        Ok(()) => link.emit(PersistMsg::Switch(meta.id)),
                        Err(e) => link.emit(PersistMsg::Status(e.message)),
                    }
                });
            }
            PersistMsg::NameInput(text) => self.name_input = text,
            PersistMsg::Rename => {
                let (Some(store), Some(id)) = (self.store.clone(), self.current.clone()) else {
                    return false;
                };
                let name = self.name_input.trim().to_string();
                let link = self.link.clone();
                spawn_local(async move {
                    match store.rename(&id, &name).await {
                        Ok(()) => link.emit(PersistMsg::Status(format!("Renamed to “{name}”."))),
                        Err(e) => link.emit(PersistMsg::Status(e.message)),
                    }
                });
                self.refresh_list();
            }
            PersistMsg::Duplicate(from) => {
                let Some(store) = self.store.clone() else {
                    return false;
                };
                if self.current.as_deref() == Some(&from) {
                    self.save(session, true);
                }
                let name = self
                    .sessions
                    .iter()
                    .find(|m| m.id == from)
                    .map_or_else(|| "Session".to_string(), |m| m.name.clone());
                let meta = SessionMeta {
                    id: new_session_id(),
                    name: format!("Copy of {name}").chars().take(128).collect(),
                    seed: self
                        .sessions
                        .iter()
                        .find(|m| m.id == from)
                        .map_or(1, |m| m.seed),
                    damaged: None,
                };
                let link = self.link.clone();
                spawn_local(async move {
                    match store.duplicate(&from, &meta).await {
                        Ok(()) => link.emit(PersistMsg::Status(format!("Made “{}”.", meta.name))),
                        Err(e) => link.emit(PersistMsg::Status(e.message)),
                    }
                });
                self.refresh_list();
            }
            PersistMsg::Delete(id) => {
                let Some(store) = self.store.clone() else {
                    return false;
                };
                if self.current.as_deref() == Some(&id) {
                    self.status =
                        Some("Switch to another session before deleting this one.".into());
                    return true;
                }
                let link = self.link.clone();
                spawn_local(async move {
                    if let Err(e) = store.delete(&id).await {
                        link.emit(PersistMsg::Status(e.message));
                    }
                });
                self.refresh_list();
            }
            PersistMsg::Export(id) => {
                let Some(store) = self.store.clone() else {
                    return false;
                };
                if self.current.as_deref() == Some(&id) {
                    self.save(session, true);
                }
                let link = self.link.clone();
                spawn_local(async move {
                    let exported = async {
                        let meta = store.meta(&id).await?;
                        let stored = store.load(&id).await?;
                        let prefs = store.prefs(&id).await?;
                        Ok::<_, StoreError>((
                            meta.name.clone(),
                            export_session(&meta.name, meta.seed, &stored, prefs.as_deref())?,
                        ))
                    }
                    .await;
                    let message = match exported {
                        Ok((name, bytes)) => {
                            let file = format!("{name}.{}", persist::export::EXPORT_EXTENSION);
                            download(&file, &bytes).err()
                        }
                        Err(e) => Some(e.message),
                    };
                    if let Some(message) = message {
                        link.emit(PersistMsg::Status(message));
                    }
                });
            }
            PersistMsg::ImportFile(file) => {
                let file = gloo::file::File::from(file);
                if file.size() > persist::export::EXPORT_BYTES_MAX {
                    self.status = Some(format!(
                        "This file is too large to be a session ({} bytes; at most {}).",
                        file.size(),
                        persist::export::EXPORT_BYTES_MAX
                    ));
                    return true;
                }
                let link = self.link.clone();
                self.reader =
                    Some(gloo::file::callbacks::read_as_bytes(
                        &file,
                        move |bytes| match bytes {
                            Ok(bytes) => link.emit(PersistMsg::ImportBytes(bytes)),
                            Err(e) => {
                                link.emit(PersistMsg::Status(format!("Cannot read the file: {e}")))
                            }
                        },
                    ));
            }
            PersistMsg::ImportBytes(bytes) => {
                self.reader = None;
                let Some(store) = self.store.clone() else {
                    return false;
                };
                let imported = match import_session(&bytes) {
                    Ok(imported) => imported,
                    Err(e) => {
                        self.status = Some(e.to_string());
                        return true;
                    }
                };
                let link = self.link.clone();
                spawn_local(async move {
                    let meta = SessionMeta {
                        id: new_session_id(),
                        name: imported.name,
                        seed: imported.seed,
                        damaged: None,
                    };
                    let mut session = imported.session;
                    let prefs = imported.prefs;
                    let stored = async {
                        store.create(&meta).await?;
                        persist::save(&*store, &meta.id, &mut session, true).await?;
                        if let Some(prefs) = &prefs {
                            store.set_prefs(&meta.id, prefs).await?;
                        }
                        Ok::<(), StoreError>(())
                    }
                    .await;
                    match stored {
                        Ok(()) => link.emit(PersistMsg::Switch(meta.id)),
                        Err(e) => link.emit(PersistMsg::Status(e.message)),
                    }
                });
            }
        }
        true
    }

    /// The sessions panel.
    pub fn view(&self, link: &Callback<PersistMsg>) -> Html {
        let rows: Html = self
            .sessions
            .iter()
            .map(|meta| {
                let current = self.current.as_deref() == Some(meta.id.as_str());
                let id = meta.id.clone();
                let (switch, duplicate, export, delete) = (
                    link.reform({
                        let id = id.clone();
                        move |_| PersistMsg::Switch(id.clone())
                    }),
                    link.reform({
                        let id = id.clone();
                        move |_| PersistMsg::Duplicate(id.clone())
                    }),
                    link.reform({
                        let id = id.clone();
                        move |_| PersistMsg::Export(id.clone())
                    }),
                    link.reform(move |_| PersistMsg::Delete(id.clone())),
                );
                html! {
                    <li class={classes!("session", current.then_some("current"))} data-session={meta.id.clone()}>
                        <span class="session-name">{ &meta.name }</span>
                        if let Some(damage) = &meta.damaged {
                            <span class="error">{ damage }</span>
                        }
                        if !current {
                            <button class="switch" onclick={switch}>{ "Open" }</button>
                        }
                        <button class="duplicate" onclick={duplicate}>{ "Duplicate" }</button>
                        <button class="export" onclick={export}>{ "Export" }</button>
                        if !current {
                            <button class="delete" onclick={delete}>{ "Delete" }</button>
                        }
                    </li>
                }
            })
            .collect();
        let state = if self.loading {
            "loading"
        } else if self.read_only {
            "read-only"
        } else {
            "ready"
        };
        let on_name = link.reform(|e: InputEvent| {
            PersistMsg::NameInput(e.target_unchecked_into::<HtmlInputElement>().value())
        });
        let on_rename = link.reform(|e: SubmitEvent| {
            e.prevent_default();
            PersistMsg::Rename
        });
        let on_import = {
            let link = link.clone();
            Callback::from(move |e: Event| {
                let input: HtmlInputElement = e.target_unchecked_into();
                if let Some(file) = input.files().and_then(|files| files.get(0)) {
                    link.emit(PersistMsg::ImportFile(file));
                }
                input.set_value("");
            })
        };
        html! {
            <section class="panel sessions" aria-label="Sessions">
                <h2>{ "Sessions" }</h2>
                <p id="session-status" class="session-status" data-state={state}
                    data-saved-hash={self.saved_hash.clone().unwrap_or_default()}>
                    { match (state, &self.saved_hash) {
                        ("loading", _) => "Opening the session…".to_string(),
                        ("read-only", _) => "Read-only".to_string(),
                        (_, Some(hash)) => format!("Saved · {}", hash.get(..16).unwrap_or_default()),
                        (_, None) => "Not saved yet".to_string(),
                    } }
                </p>
                if let Some(status) = &self.status {
                    <p id="session-message" class="session-message" role="alert">{ status }</p>
                }
                <ul id="sessions" class="session-list">{ rows }</ul>
                <form class="session-rename" onsubmit={on_rename}>
                    <input id="session-name" type="text" value={self.name_input.clone()} oninput={on_name}
                        aria-label="Session name" maxlength="128" />
                    <button type="submit">{ "Rename" }</button>
                </form>
                <div class="session-actions">
                    <button id="session-new" onclick={link.reform(|_| PersistMsg::Create)}>{ "New session" }</button>
                    <label class="import">
                        { "Import…" }
                        <input id="session-import" type="file" accept=".kinesim" onchange={on_import} />
                    </label>
                </div>
            </section>
        }
    }
}
