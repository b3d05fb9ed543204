//! Thin `#[command]`s: find the calling window, hand off to the hub.

use crate::error::{Error, Result};
use crate::models::*;
use crate::pairing::{inspect, Outgoing};
use crate::{connection::FrameSink, BuckarooState};
use serde_json::Value;
use std::sync::Arc;
use tauri::ipc::{Channel, InvokeResponseBody};
use tauri::{command, AppHandle, Emitter, Manager, Runtime, State, Webview};

/// A window's Channel: JSON frames arrive in JS as objects, parquet as ArrayBuffers.
struct ChannelSink<R: Runtime> {
    channel: Channel<InvokeResponseBody>,
    app: AppHandle<R>,
    label: String,
}

impl<R: Runtime> FrameSink for ChannelSink<R> {
    fn deliver(&self, frame: Outgoing) -> bool {
        match frame {
            Outgoing::Raw(bytes) => self.channel.send(InvokeResponseBody::Raw(bytes)).is_ok(),
            Outgoing::Json(text) => {
                // Hosts that only want state (titles, status bars) listen to `buckaroo:msg`;
                // row replies stay on the Channel alone.
                if let Some(info) = inspect(&text).filter(|i| i.kind != "infinite_resp") {
                    if let Ok(v) = serde_json::from_str::<Value>(&text) {
                        let _ = self.app.emit_to(self.label.as_str(), "buckaroo:msg", v);
                    }
                    log::debug!("[buckaroo-tauri] relay {} to window {}", info.kind, self.label);
                }
                self.channel.send(InvokeResponseBody::Json(text)).is_ok()
            }
        }
    }
}

#[command]
pub(crate) async fn buckaroo_status(state: State<'_, BuckarooState>) -> Result<Status> {
    Ok(state.hub.supervisor().status())
}

/// Start over after `failed`; returns the status right after the request.
#[command]
pub(crate) async fn buckaroo_retry(state: State<'_, BuckarooState>) -> Result<Status> {
    let sup = state.hub.supervisor();
    sup.retry();
    Ok(sup.status())
}

#[command]
pub(crate) async fn buckaroo_health<R: Runtime>(webview: Webview<R>, state: State<'_, BuckarooState>) -> Result<HealthInfo> {
    let hub = &state.hub;
    let status = hub.supervisor().status();
    let ready = matches!(status, Status::Ready { .. });
    let server = if ready { hub.get("/health").await.ok() } else { None };
    Ok(HealthInfo {
        plugin_version: env!("CARGO_PKG_VERSION"),
        state: status.name(),
        ready,
        session_id: hub.session_of(webview.label()),
        connected: hub.is_connected(webview.label()),
        server,
    })
}

#[command]
pub(crate) async fn buckaroo_diagnostics(state: State<'_, BuckarooState>) -> Result<Value> {
    let mut d = state.hub.get("/diagnostics").await?;
    if let Some(report) = state.hub.supervisor().probe_report() {
        d["probe"] = serde_json::to_value(report).unwrap_or(Value::Null);
    }
    Ok(d)
}

#[command]
pub(crate) async fn buckaroo_attach<R: Runtime>(
    app: AppHandle<R>,
    webview: Webview<R>,
    state: State<'_, BuckarooState>,
    on_event: Channel<InvokeResponseBody>,
) -> Result<AttachInfo> {
    let label = webview.label().to_string();
    let sink = Arc::new(ChannelSink {
        channel: on_event,
        app,
        label: label.clone(),
    });
    state.hub.attach(&label, sink).await
}

#[command]
pub(crate) async fn buckaroo_load_path<R: Runtime>(
    webview: Webview<R>,
    state: State<'_, BuckarooState>,
    args: LoadPathArgs,
) -> Result<LoadResult> {
    state.hub.load_path(webview.label(), args).await
}

#[command]
pub(crate) async fn buckaroo_load_expr<R: Runtime>(
    webview: Webview<R>,
    state: State<'_, BuckarooState>,
    args: LoadExprArgs,
) -> Result<LoadResult> {
    state.hub.load_expr(webview.label(), args).await
}

#[command]
pub(crate) async fn buckaroo_load_compare<R: Runtime>(
    webview: Webview<R>,
    state: State<'_, BuckarooState>,
    args: LoadCompareArgs,
) -> Result<LoadResult> {
    state.hub.load_compare(webview.label(), args).await
}

#[command]
pub(crate) async fn buckaroo_send<R: Runtime>(webview: Webview<R>, state: State<'_, BuckarooState>, msg: Value) -> Result<()> {
    state.hub.send(webview.label(), &msg)
}

/// The native open dialog; the chosen file joins the scope for this run.
#[command]
pub(crate) async fn buckaroo_pick_file<R: Runtime>(
    app: AppHandle<R>,
    webview: Webview<R>,
    state: State<'_, BuckarooState>,
) -> Result<Option<String>> {
    use tauri_plugin_dialog::DialogExt;
    if app.try_state::<tauri_plugin_dialog::Dialog<R>>().is_none() {
        // The host did not register the dialog plugin; it is ours to bring.
        app.plugin(tauri_plugin_dialog::init())?;
    }
    let (tx, rx) = tokio::sync::oneshot::channel();
    let mut dialog = app.dialog().file().add_filter("Tables", &["parquet", "parq", "csv", "tsv", "json"]);
    if let Some(window) = app.get_webview_window(webview.label()) {
        dialog = dialog.set_parent(&window);
    }
    dialog.pick_file(move |p| {
        let _ = tx.send(p);
    });
    let Some(picked) = rx.await.map_err(|_| Error::Dialog("dialog closed without an answer".into()))? else {
        return Ok(None);
    };
    let path = picked.into_path().map_err(|e| Error::Dialog(e.to_string()))?;
    state.hub.scope.allow_file(&path);
    Ok(Some(path.display().to_string()))
}
