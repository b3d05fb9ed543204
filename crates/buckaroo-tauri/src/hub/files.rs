//! Files that change under an open window ([`crate::watch`]): the window is told
//! (`buckaroo_tauri_file_changed` on its Channel) and keeps what it shows until it
//! reloads ([`Hub::reload`]), or reloads by itself with
//! [`BuckarooConfig::with_reload_on_change`](crate::BuckarooConfig::with_reload_on_change).
//! Engine windows of a changed file are refused by the launcher (`file_changed`), so
//! old and new rows never mix.

use super::{deliver_json, lock, Hub};
use crate::error::{Error, Result};
use crate::models::LoadResult;
use crate::tasks;
use crate::watch::FileChange;
use serde_json::{json, Value};
use std::path::PathBuf;
use std::sync::Arc;

impl Hub {
    /// Report settled changes of watched files to their windows; run once on the async runtime.
    pub async fn watch_files(self: Arc<Self>) {
        let Some(raw) = lock(&self.file_events).take() else { return };
        let hub = self.clone();
        self.files.settle(raw, move |label, change| hub.file_changed(label, change)).await;
    }

    fn file_changed(self: &Arc<Self>, label: &str, change: &FileChange) {
        let Ok(entry) = self.entry(label) else { return };
        let reloading = self.cfg().reload_on_change && change.change == "modified";
        let msg = json!({"type": "buckaroo_tauri_file_changed", "path": change.path, "change": change.change, "reloading": reloading});
        deliver_json(&entry, msg);
        if reloading {
            let (hub, label) = (self.clone(), label.to_string());
            tasks::spawn_logged("reload-on-change", async move {
                if let Err(e) = hub.reload(&label).await {
                    hub.notify_error(&label, &e);
                }
            });
        }
    }

    /// Load again what window `label` shows (`buckaroo_reload`): a file that changed on
    /// disk, say. Its state and first rows come down the window's Channel as for any load.
    pub async fn reload(&self, label: &str) -> Result<LoadResult> {
        let entry = self.entry(label)?;
        let last = lock(&entry.last_load).clone();
        let last = last.ok_or_else(|| Error::InvalidArgs {
            command: "buckaroo_reload",
            problem: "this window has loaded nothing yet".into(),
        })?;
        let mut body = last.body;
        if let Some(map) = body.as_object_mut() {
            map.remove("session"); // load() sets the window's own
        }
        self.load(label, last.route, body).await
    }

    /// Window `entry` now shows what `route` loaded with `body`: watch its file(s).
    pub(super) fn shown(&self, label: &str, route: &str, body: &Value) {
        let path = |k: &str| body.get(k).and_then(Value::as_str).map(PathBuf::from);
        let paths: Vec<PathBuf> = match route {
            "/load" => path("path").into_iter().collect(),
            "/load_compare" => path("path1").into_iter().chain(path("path2")).collect(),
            _ => Vec::new(), // a xorq build: its data is the build's, re-read by Reload build
        };
        self.files.show(label, &paths);
    }
}
