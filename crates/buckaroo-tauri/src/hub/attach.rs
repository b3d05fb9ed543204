//! A window's attaches: the newest one's sink gets every frame (React's StrictMode, a
//! reload or a hot-reload remount attach again before the old page is gone), its socket,
//! the file it loads on attach, and its detach when the window closes.

use super::{deliver_json, lock, Hub, WindowEntry};
use crate::config::{Autoload, LoadMode};
use crate::connection::{Connection, FrameSink, OnServed};
use crate::error::{Error, Result};
use crate::frame_queue::FrameQueue;
use crate::models::{AttachInfo, LoadPathArgs};
use crate::pairing::Outgoing;
use crate::supervisor::Endpoint;
use crate::tasks;
use serde_json::json;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// One attach's sink: it delivers while its attach is the window's newest, and never
/// after. A page that remounts (React's StrictMode, a reload, hot reload) attaches
/// again before its old Channel is gone; the old one must not take the frames.
pub(super) struct Gated {
    pub(super) attach: u64,
    newest: Arc<AtomicU64>,
    sink: Arc<dyn FrameSink>,
}

impl FrameSink for Gated {
    fn deliver(&self, frame: Outgoing) -> bool {
        self.newest.load(Ordering::SeqCst) == self.attach && self.sink.deliver(frame)
    }
}

impl Hub {
    /// Give `label` a sink (a page's Channel). A page reload attaches again: it keeps
    /// its session and gets the current `initial_state` from a fresh socket. The newest
    /// attach of a window wins, however close two come: only its sink gets frames.
    pub async fn attach(self: &Arc<Self>, label: &str, sink: Arc<dyn FrameSink>) -> Result<AttachInfo> {
        self.attach_to(label, sink, None).await
    }

    /// As [`Self::attach`], the frames queued for the page to pull with [`Self::poll`];
    /// the reply's `pollId` names the queue.
    pub async fn attach_polled(self: &Arc<Self>, label: &str) -> Result<AttachInfo> {
        let queue = Arc::new(FrameQueue::default());
        self.attach_to(label, queue.clone(), Some(queue)).await
    }

    /// The frames queued for window `label`'s attach `poll_id`, waiting up to `wait` for
    /// the first; `not_attached` once a newer attach replaced it or the window closed.
    pub async fn poll(&self, label: &str, poll_id: u64, wait: Duration) -> Result<Vec<u8>> {
        let queue = {
            let entry = self.entry(label)?;
            let polled = lock(&entry.polled);
            match &*polled {
                Some((attach, q)) if *attach == poll_id => q.clone(),
                _ => return Err(Error::NotAttached),
            }
        };
        queue.take(wait).await.ok_or(Error::NotAttached)
    }

    async fn attach_to(self: &Arc<Self>, label: &str, sink: Arc<dyn FrameSink>, queue: Option<Arc<FrameQueue>>) -> Result<AttachInfo> {
        let polled = queue.is_some();
        let (entry, attach) = self.register(label, sink, queue);
        let newest = || entry.newest.load(Ordering::SeqCst) == attach;
        let mut connected = false;
        if let Some(ep) = self.sup.endpoint() {
            let _op = entry.op.lock().await;
            // A newer attach came while this one waited: it connects, not this one.
            if newest() {
                self.ensure_conn(&entry, &ep).await?;
                connected = true;
            }
        }
        let autoload = if newest() {
            self.start_autoload(label, &entry).or_else(|| lock(&entry.autoloading).clone())
        } else {
            None
        };
        Ok(AttachInfo {
            session_id: entry.session.clone(),
            connected: connected && newest(),
            autoload,
            poll_id: polled.then_some(attach),
        })
    }

    /// The window's entry (made at its first attach) with `sink` as its newest attach's;
    /// the queue an older attach's page polled is closed, so its poll ends.
    fn register(&self, label: &str, sink: Arc<dyn FrameSink>, queue: Option<Arc<FrameQueue>>) -> (Arc<WindowEntry>, u64) {
        let mut windows = lock(&self.windows);
        let entry = windows.entry(label.to_string()).or_insert_with(|| {
            Arc::new(WindowEntry {
                session: uuid::Uuid::new_v4().simple().to_string(),
                // Replaced below, under the same lock, by this attach's own.
                sink: Mutex::new(Arc::new(Gated {
                    attach: 0,
                    newest: Arc::default(),
                    sink: sink.clone(),
                })),
                newest: Arc::default(),
                polled: Mutex::default(),
                conn: Mutex::default(),
                conn_attach: AtomicU64::new(0),
                autoloading: Mutex::default(),
                last_load: Mutex::default(),
                loads: AtomicU64::new(0),
                loading: AtomicU64::new(0),
                op: tokio::sync::Mutex::default(),
            })
        });
        // Under the windows lock: two attaches of one window take distinct numbers in order.
        let attach = entry.newest.fetch_add(1, Ordering::SeqCst) + 1;
        *lock(&entry.sink) = Arc::new(Gated {
            attach,
            newest: entry.newest.clone(),
            sink,
        });
        let replaced = std::mem::replace(&mut *lock(&entry.polled), queue.map(|q| (attach, q)));
        if let Some((_, old)) = replaced {
            old.close();
        }
        (entry.clone(), attach)
    }

    /// Window `label` loads `path` once its page attaches, as an autoload does: the
    /// file joins the scope, progress and a failure reach that page. For an app that
    /// opens a window per file (its command line, a second launch, Open Recent).
    pub fn load_on_attach(&self, label: &str, path: impl Into<PathBuf>, mode: LoadMode) {
        let path = path.into();
        self.scope.allow_file(&path);
        lock(&self.pending).insert(label.to_string(), Autoload { path, mode });
    }

    /// The window's own pending file, else (for the first window to attach) the
    /// config's autoload file; loaded in the background.
    fn start_autoload(self: &Arc<Self>, label: &str, entry: &Arc<WindowEntry>) -> Option<String> {
        let own = lock(&self.pending).remove(label);
        let a = match own {
            Some(a) => a,
            None if self.autoload_taken.swap(true, Ordering::SeqCst) => return None,
            None => self.cfg().autoload.clone()?,
        };
        let (hub, label, entry) = (self.clone(), label.to_string(), entry.clone());
        let path = a.path.display().to_string();
        *lock(&entry.autoloading) = Some(path.clone());
        tasks::spawn_logged("autoload", async move {
            let args = LoadPathArgs {
                path: a.path.display().to_string(),
                mode: Some(a.mode),
                ..Default::default()
            };
            let result = hub.load_path(&label, args).await;
            lock(&entry.autoloading).take();
            match result {
                Ok(r) => log::info!(
                    "[buckaroo-tauri] autoload /load ok: session={} rows={}",
                    r.session_id,
                    r.rows.map_or("?".into(), |n| n.to_string())
                ),
                // The sidecar failed: its status carries the cause and the fix, and the
                // load is replayed once a sidecar is ready (Retry).
                Err(e @ Error::SidecarFailed(_)) => log::warn!("[buckaroo-tauri] autoload waits for a sidecar: {e}"),
                Err(e) => {
                    log::error!("[buckaroo-tauri] autoload failed: {e}");
                    hub.notify_error(&label, &e);
                }
            }
        });
        Some(path)
    }

    /// A load the plugin started by itself failed: tell the window, down its channel.
    pub(super) fn notify_error(&self, label: &str, error: &Error) {
        if let Ok(entry) = self.entry(label) {
            deliver_json(&entry, json!({"type": "buckaroo_tauri_error", "error": error}));
        }
    }

    /// Window `label` closed: drop its socket and forget its session.
    pub fn detach(&self, label: &str) {
        self.files.forget(label);
        self.exports.forget(label);
        if let Some(entry) = lock(&self.windows).remove(label) {
            lock(&entry.conn).take();
            if let Some((_, q)) = lock(&entry.polled).take() {
                q.close();
            }
            log::info!("[buckaroo-tauri] window {label} closed: session {} released", entry.session);
        }
    }

    /// The window's open socket to `ep`'s sidecar for its newest attach; a fresh one
    /// otherwise. The one it replaces is closed only once the fresh one is open, since
    /// the launcher cancels a session's load in flight when its last socket closes.
    pub(super) async fn ensure_conn(&self, entry: &WindowEntry, ep: &Endpoint) -> Result<Arc<Connection>> {
        // The attach number from the sink itself: the two are replaced together.
        let sink = lock(&entry.sink).clone();
        let attach = sink.attach;
        if let Some(c) = lock(&entry.conn).clone() {
            if c.generation == ep.generation && c.is_open() && entry.conn_attach.load(Ordering::SeqCst) == attach {
                return Ok(c);
            }
        }
        let (sup, generation) = (self.sup.clone(), ep.generation);
        let on_served: OnServed = Arc::new(move |n| sup.note_served(generation, n));
        let conn = Arc::new(Connection::open(ep, &entry.session, sink, self.cfg().max_in_flight, on_served).await?);
        entry.conn_attach.store(attach, Ordering::SeqCst);
        *lock(&entry.conn) = Some(conn.clone());
        Ok(conn)
    }
}

#[cfg(test)]
mod tests {
    use super::Hub;
    use crate::config::{BuckarooConfig, LoadMode};
    use crate::error::Error;
    use crate::hub::lock;
    use crate::supervisor::Supervisor;

    #[test]
    fn a_file_to_load_on_attach_joins_the_scope_for_that_window_only() {
        let hub = Hub::new(Supervisor::new(BuckarooConfig::pandas()));
        let dir = std::env::temp_dir();
        let (named, other) = (dir.join("named-on-the-command-line.csv"), dir.join("not-named.csv"));
        hub.load_on_attach("w2", &named, LoadMode::Buckaroo);
        assert!(hub.allowed(&named.display().to_string()).is_ok());
        assert!(matches!(hub.allowed(&other.display().to_string()), Err(Error::PathNotAllowed(_))));
        let pending = lock(&hub.pending);
        assert_eq!(pending.get("w2").map(|a| a.path.clone()), Some(named));
        assert!(!pending.contains_key("main"));
    }
}
