//! The registry of windows and their sessions. Each window gets its own session id,
//! its own internal WebSocket ([`crate::connection`]) and its own sink; loads go to
//! the sidecar over HTTP ([`crate::http`]); after a sidecar restart every window is
//! reconnected and its last load replayed. No Tauri types here.

use crate::config::{Autoload, BuckarooConfig, LoadMode};
use crate::connection::{Connection, FrameSink};
use crate::database::DbConnections;
use crate::error::{Error, Result};
use crate::export::ExportGrants;
use crate::http::SidecarHttp;
use crate::message::PageMessage;
use crate::models::{LoadCompareArgs, LoadExprArgs, LoadPathArgs, LoadResult, ReloadResult, Status};
use crate::pairing::{JsonFrame, Outgoing};
use crate::saved_dbs::SavedDbs;
use crate::scope::Scope;
use crate::supervisor::{Endpoint, Supervisor};
use crate::tasks;
use crate::watch::FileWatch;
use serde_json::{json, Map, Value};
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

mod attach;
mod database;
mod export;
mod files;
mod liveness;

use attach::Gated;

#[derive(Debug, Clone)]
struct LastLoad {
    route: &'static str,
    body: Value,
    /// Which of the window's page loads it was: only a newer one replaces it.
    seq: u64,
}

struct WindowEntry {
    session: String,
    /// The newest attach's sink ([`Gated`]): where new sockets deliver.
    sink: Mutex<Arc<Gated>>,
    /// The newest attach's frame queue and number, when its page polls (`attach_polled`).
    polled: Mutex<Option<(u64, Arc<crate::frame_queue::FrameQueue>)>>,
    /// The newest attach's number; each attach of the window takes the next.
    newest: Arc<AtomicU64>,
    conn: Mutex<Option<Arc<Connection>>>,
    /// The attach the open socket delivers to: a newer attach gets a socket of its own.
    conn_attach: AtomicU64,
    /// The path of a plugin-started load still in progress, told to every attach.
    autoloading: Mutex<Option<String>>,
    last_load: Mutex<Option<LastLoad>>,
    /// Page loads started in this window.
    loads: AtomicU64,
    /// Page loads still running: a (re)started sidecar replays the last load only when
    /// none is, or the replay could land after the page's newer load.
    loading: AtomicU64,
    /// Serialises socket (re)connects and replays for one window. Row sends do not
    /// take it, and a load holds it only to connect: a newer load must not queue
    /// behind a slow one (the launcher cancels the older with `load_cancelled`).
    op: tokio::sync::Mutex<()>,
}
fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// Windows ↔ sessions ↔ the sidecar; `app.buckaroo()` ([`crate::BuckarooExt`]) in the app.
pub struct Hub {
    sup: Arc<Supervisor>,
    http: SidecarHttp,
    windows: Mutex<HashMap<String, Arc<WindowEntry>>>,
    scope: Scope,
    /// Where each window may write an export ([`export`]).
    exports: ExportGrants,
    autoload_taken: AtomicBool,
    /// Files a window loads when its page attaches ([`Hub::load_on_attach`]).
    pending: Mutex<HashMap<String, Autoload>>,
    /// Windows with row requests failed while the sidecar was silent: the grid keeps a
    /// failed block until its data is pushed again, so they get their load again once
    /// it answers ([`liveness`]).
    silent_failed: Mutex<std::collections::HashSet<String>>,
    /// The files windows show, watched for changes ([`files`]).
    files: FileWatch,
    /// The watch's raw events, until [`Hub::watch_files`] takes them.
    file_events: Mutex<Option<tokio::sync::mpsc::UnboundedReceiver<PathBuf>>>,
    /// Database connections the page opened, passwords included ([`database`]).
    databases: DbConnections,
    /// Connections the user saved ([`crate::saved_dbs`]).
    saved_dbs: SavedDbs,
}

/// What served a load: the launcher's reply says `"xorq"` for a file it opened on the
/// engine; otherwise the route and the backend asked for.
fn served_by(route: &str, body: &Value, reply: &Value) -> &'static str {
    let said = reply.get("backend").or_else(|| body.get("backend")).and_then(Value::as_str);
    match (route, said) {
        ("/load_expr", _) | (_, Some("xorq")) => "xorq",
        (_, Some("polars")) => "polars",
        _ => "pandas",
    }
}

impl Hub {
    /// A hub for `sup`'s sidecar; start [`follow_restarts`](Self::follow_restarts) with it.
    pub fn new(sup: Arc<Supervisor>) -> Arc<Self> {
        let cfg = sup.config();
        let scope = Scope::new(&cfg.scope);
        if let Some(a) = &cfg.autoload {
            scope.allow_file(&a.path);
        }
        let http = SidecarHttp::new(cfg.load_timeout);
        let exports = ExportGrants::new(&cfg.export_dirs);
        let (files, file_events) = FileWatch::new();
        let saved_dbs = SavedDbs::new(cfg.saved_connections.clone());
        Arc::new(Self {
            sup,
            http,
            windows: Mutex::default(),
            scope,
            exports,
            autoload_taken: AtomicBool::new(false),
            pending: Mutex::default(),
            silent_failed: Mutex::default(),
            files,
            file_events: Mutex::new(Some(file_events)),
            databases: DbConnections::default(),
            saved_dbs,
        })
    }

    /// The supervisor of the sidecar this hub relays to.
    pub fn supervisor(&self) -> &Arc<Supervisor> {
        &self.sup
    }

    /// Let loads read `path` for the rest of this run (a file the user picked or dropped).
    pub fn allow_file(&self, path: &Path) {
        self.scope.allow_file(path);
    }

    fn cfg(&self) -> &BuckarooConfig {
        self.sup.config()
    }

    fn entry(&self, label: &str) -> Result<Arc<WindowEntry>> {
        lock(&self.windows).get(label).cloned().ok_or(Error::NotAttached)
    }

    /// The session of window `label`, if it attached.
    pub fn session_of(&self, label: &str) -> Option<String> {
        lock(&self.windows).get(label).map(|e| e.session.clone())
    }

    /// Whether window `label`'s internal socket is open.
    pub fn is_connected(&self, label: &str) -> bool {
        self.entry(label)
            .ok()
            .and_then(|e| lock(&e.conn).clone())
            .is_some_and(|c| c.is_open())
    }

    fn allowed(&self, path: &str) -> Result<PathBuf> {
        self.scope.admit(Path::new(path))
    }

    /// Load a file or parquet folder into window `label` (`buckaroo_load_path`).
    pub async fn load_path(&self, label: &str, args: LoadPathArgs) -> Result<LoadResult> {
        let path = self.allowed(&args.path)?;
        let mode = args.mode.unwrap_or(self.cfg().default_mode);
        let mut body = Map::new();
        body.insert("path".into(), json!(path));
        body.insert("mode".into(), json!(mode.as_str()));
        if let Some(b) = args.backend.or_else(|| {
            (mode == LoadMode::Buckaroo)
                .then(|| self.cfg().default_backend())
                .flatten()
                .map(String::from)
        }) {
            body.insert("backend".into(), json!(b));
        }
        for (k, v) in [
            ("prompt", args.prompt.map(Value::from)),
            ("component_config", args.component_config),
            ("column_config_overrides", args.column_config_overrides),
            ("extra_grid_config", args.extra_grid_config),
            ("init_sd", args.init_sd),
        ] {
            if let Some(v) = v {
                body.insert(k.into(), v);
            }
        }
        if body.get("backend").and_then(Value::as_str) == Some("xorq") {
            self.check_xorq()?;
        }
        self.load(label, "/load", Value::Object(body)).await.map_err(|e| self.xorq_error(e))
    }

    /// Load a built xorq expression into window `label` (`buckaroo_load_expr`): its
    /// rows page through the expression's engine; stats come after the first rows
    /// unless `statsDelivery: "inline"`.
    pub async fn load_expr(&self, label: &str, args: LoadExprArgs) -> Result<LoadResult> {
        let build_dir = self.allowed(&args.build_dir)?;
        self.check_xorq()?;
        let stats = args.stats_delivery.unwrap_or_default();
        let mut body = json!({"build_dir": build_dir, "stats_delivery": stats.as_str()});
        if let Some(p) = args.project_root {
            body["project_root"] = json!(self.allowed(&p)?);
            // buckaroo 0.15.11 answers a re-POST of the same build from its cache
            // without looking at project_root, so the classes would never load.
            body["force_reload"] = json!(true);
        }
        if let Some(p) = args.prompt {
            body["prompt"] = json!(p);
        }
        if let Some(c) = args.component_config {
            body["component_config"] = c;
        }
        self.load(label, "/load_expr", body).await.map_err(|e| self.xorq_error(e))
    }

    /// Re-read the project root's classes for window `label`'s expression
    /// (`buckaroo_reload_expr`); the server then pushes a fresh `initial_state`.
    pub async fn reload_expr(&self, label: &str) -> Result<ReloadResult> {
        let entry = self.entry(label)?;
        let ep = self.sup.ready(self.cfg().handshake_timeout + Duration::from_secs(10)).await?;
        self.check_xorq()?;
        let route = format!("/reload_expr/{}", entry.session);
        let reply = self.http.post(&ep, &route, &json!({})).await.map_err(|e| self.xorq_error(e))?;
        Ok(ReloadResult {
            session_id: entry.session.clone(),
            klasses_loaded: reply.get("klasses_loaded").and_then(Value::as_u64).unwrap_or(0),
        })
    }

    /// `xorq_not_installed` before anything is sent, when the probe found no xorq.
    fn check_xorq(&self) -> Result<()> {
        match self.sup.probe_report() {
            Some(report) if report.xorq.is_none() => Err(Error::XorqNotInstalled {
                install: report.pip_install(&report.xorq_pip),
            }),
            _ => Ok(()),
        }
    }

    /// The server's 501 for a xorq that is installed but does not import, as the same code.
    fn xorq_error(&self, e: Error) -> Error {
        match (&e, self.sup.probe_report()) {
            (Error::LoadFailed { server_code, .. }, Some(report)) if server_code == "xorq_not_installed" => Error::XorqNotInstalled {
                install: report.pip_install(&report.xorq_pip),
            },
            _ => e,
        }
    }

    /// Load two files' diff into window `label` (`buckaroo_load_compare`).
    pub async fn load_compare(&self, label: &str, args: LoadCompareArgs) -> Result<LoadResult> {
        let body = json!({
            "path1": self.allowed(&args.path1)?,
            "path2": self.allowed(&args.path2)?,
            "join_columns": args.join_columns,
            "how": args.how.unwrap_or_else(|| "outer".into()),
        });
        self.load(label, "/load_compare", body).await
    }

    async fn load(&self, label: &str, route: &'static str, mut body: Value) -> Result<LoadResult> {
        let entry = self.entry(label)?;
        body["session"] = json!(entry.session);
        body["no_browser"] = json!(true);
        let seq = entry.loads.fetch_add(1, Ordering::SeqCst) + 1;
        let _loading = Loading::new(&entry);
        let ep = match self.sup.ready(self.cfg().handshake_timeout + Duration::from_secs(10)).await {
            Ok(ep) => ep,
            Err(e) => {
                // Never sent (the sidecar failed, or a first-run set-up was cancelled): the
                // next sidecar that is ready gets it, as a restart's replay, so Retry opens
                // the file the user asked for.
                remember(&entry, route, &body, seq);
                return Err(e);
            }
        };
        {
            let _op = entry.op.lock().await;
            // Socket first, then load: the server pushes initial_state to it.
            self.ensure_conn(&entry, &ep).await?;
        }
        let reply = match self.http.post(&ep, route, &body).await {
            Ok(reply) => reply,
            // The sidecar died under the load: if the kernel killed it for memory, say that.
            Err(e @ Error::Http(_)) if self.sup.killed_for_memory(ep.generation, Duration::from_secs(3)).await => {
                log::warn!("[buckaroo-tauri] {route} ran the sidecar out of memory: {e}");
                return Err(Error::SidecarOutOfMemory);
            }
            Err(e) => return Err(e),
        };
        self.sup.note_served(ep.generation, 1);
        remember(&entry, route, &body, seq);
        self.shown(label, route, &body);
        let rows = reply.get("rows").and_then(Value::as_u64);
        log::info!(
            "[buckaroo-tauri] {route} ok: session={} rows={}",
            entry.session,
            rows.map_or("?".into(), |r| r.to_string())
        );
        Ok(LoadResult {
            session_id: entry.session.clone(),
            path: reply.get("path").and_then(Value::as_str).map(String::from).unwrap_or_default(),
            mode: body.get("mode").and_then(Value::as_str).unwrap_or("viewer").into(),
            rows,
            backend: served_by(route, &body, &reply).into(),
            columns: reply.get("columns").cloned().unwrap_or(Value::Null),
        })
    }

    /// `GET` a quick sidecar route (`/health`, `/diagnostics`).
    pub async fn get(&self, route: &str) -> Result<Value> {
        let ep = self
            .sup
            .endpoint()
            .ok_or_else(|| Error::SidecarNotReady(self.sup.status().name().into()))?;
        self.http.get(&ep, route).await
    }

    /// Send a page message to window `label`'s session (`buckaroo_send`).
    pub fn send(&self, label: &str, msg: &Value) -> Result<()> {
        // Checked before anything else, so a bad message is reported as such in every state.
        let msg = PageMessage::check(msg)?;
        let entry = self.entry(label)?;
        if let Status::Unresponsive { silent_ms, .. } = self.sup.status() {
            lock(&self.silent_failed).insert(label.to_string());
            return Err(Error::SidecarNotResponding {
                silent: Duration::from_millis(silent_ms),
            });
        }
        let conn = lock(&entry.conn)
            .clone()
            .ok_or_else(|| Error::SidecarNotReady(self.sup.status().name().into()))?;
        conn.send(&msg)
    }

    /// Follow the supervisor: when a (new) sidecar is ready, reconnect every window and
    /// replay its last load under the same session id. Run once on the async runtime.
    pub async fn follow_restarts(self: Arc<Self>) {
        let mut endpoints = self.sup.endpoints();
        while endpoints.changed().await.is_ok() {
            let Some(ep) = endpoints.borrow_and_update().clone() else {
                continue;
            };
            lock(&self.silent_failed).clear(); // every window gets its load again below
            let entries: Vec<(String, Arc<WindowEntry>)> = lock(&self.windows).iter().map(|(k, v)| (k.clone(), v.clone())).collect();
            for (label, entry) in entries {
                let (hub, ep) = (self.clone(), ep.clone());
                tasks::spawn_logged("reconnect", async move {
                    if let Err(e) = hub.reconnect(&entry, &ep).await {
                        log::error!("[buckaroo-tauri] reconnect of window {label} failed: {e}");
                        hub.notify_error(&label, &e);
                    }
                });
            }
        }
    }

    async fn reconnect(&self, entry: &WindowEntry, ep: &Endpoint) -> Result<()> {
        let _op = entry.op.lock().await;
        if lock(&entry.conn)
            .as_ref()
            .is_some_and(|c| c.generation == ep.generation && c.is_open())
        {
            return Ok(());
        }
        // Said before the new socket opens: the new session has no data before the replay.
        announce_replay(entry);
        self.ensure_conn(entry, ep).await?;
        if self.sup.followed_an_oom_kill(ep.generation) && lock(&entry.last_load).is_some() {
            // Its file may be what ran the last one out of memory: said, not loaded again.
            return Err(Error::SidecarOutOfMemory);
        }
        self.replay_last_load(entry, ep, "restart").await
    }

    /// Send window `entry`'s last load again (its state and first rows come down its
    /// socket), unless a load of the page's own is running and brings them.
    async fn replay_last_load(&self, entry: &WindowEntry, ep: &Endpoint, why: &str) -> Result<()> {
        let last = lock(&entry.last_load).clone();
        if entry.loading.load(Ordering::SeqCst) > 0 {
            return Ok(());
        }
        if let Some(last) = last {
            self.http.post(ep, last.route, &last.body).await?;
            log::info!(
                "[buckaroo-tauri] replayed {} after {why}: session={} generation={}",
                last.route,
                entry.session,
                ep.generation
            );
        }
        Ok(())
    }
}

/// Told to a window just before its last load is replayed (a new sidecar, or one that
/// answers again after a silence).
const REPLAY_FRAME: &str = "buckaroo_tauri_replay";

/// Same data again: the page keeps its grid (scroll, sort, search) and asks again for the
/// rows it was refused meanwhile, instead of mounting a new one. It holds its row requests
/// from here until the replayed state comes. Unless a load of the page's own runs, which
/// brings new data anyway.
fn announce_replay(entry: &WindowEntry) {
    if lock(&entry.last_load).is_some() && entry.loading.load(Ordering::SeqCst) == 0 {
        deliver_json(entry, json!({"type": REPLAY_FRAME}));
    }
}

/// A JSON frame of the plugin's own (its `type` is its kind) to window `entry`'s page.
fn deliver_json(entry: &WindowEntry, msg: Value) {
    let sink = lock(&entry.sink).clone();
    let kind = msg["type"].as_str().unwrap_or_default().to_string();
    sink.deliver(Outgoing::Json(JsonFrame {
        kind,
        text: msg.to_string(),
    }));
}

/// Counts a page load as running while it lives.
struct Loading<'a>(&'a WindowEntry);

impl<'a> Loading<'a> {
    fn new(entry: &'a WindowEntry) -> Self {
        entry.loading.fetch_add(1, Ordering::SeqCst);
        Self(entry)
    }
}

impl Drop for Loading<'_> {
    fn drop(&mut self) {
        self.0.loading.fetch_sub(1, Ordering::SeqCst);
    }
}

/// Window `entry`'s load number `seq`, replayed when a (new) sidecar is ready, unless a
/// newer one is remembered already.
fn remember(entry: &WindowEntry, route: &'static str, body: &Value, seq: u64) {
    let mut last = lock(&entry.last_load);
    if last.as_ref().is_none_or(|l| l.seq < seq) {
        *last = Some(LastLoad {
            route,
            body: body.clone(),
            seq,
        });
    }
}

#[cfg(test)]
mod tests {
    use super::served_by;
    use serde_json::json;

    #[test]
    fn a_load_says_what_served_it() {
        let none = json!({});
        assert_eq!(served_by("/load", &none, &json!({"backend": "xorq"})), "xorq");
        assert_eq!(served_by("/load", &json!({"backend": "polars"}), &none), "polars");
        assert_eq!(served_by("/load", &none, &none), "pandas");
        assert_eq!(served_by("/load_expr", &none, &none), "xorq");
        assert_eq!(served_by("/load_compare", &none, &none), "pandas");
    }
}
