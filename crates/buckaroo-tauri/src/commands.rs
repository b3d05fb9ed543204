//! Thin `#[command]`s: find the calling window, hand off to the hub.
//!
//! Arguments the page supplies are taken as `Option<Value>` and read by [`arg`]:
//! with a typed argument, Tauri's own deserialisation rejects a missing or
//! mis-shaped one with a bare string before the command runs, and the page gets no
//! `code`. Tauri still answers a few calls itself with a plain string, before any
//! plugin code runs: an IPC body nested 128 levels or more (serde_json's limit, parsed
//! in tauri's ipc/protocol.rs), a command the capability does not grant, an unknown
//! command, a missing invoke key or Origin.

use crate::error::{Error, Result};
use crate::models::*;
use crate::pairing::{inspect, Outgoing};
use crate::{connection::FrameSink, BuckarooState};
use serde::de::DeserializeOwned;
use serde_json::Value;
use std::sync::Arc;
use tauri::ipc::{Channel, InvokeResponseBody, JavaScriptChannelId};
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

/// Read the page-supplied argument `key` of `command`, with a coded error if it is
/// missing (or null) or has the wrong shape.
fn arg<T: DeserializeOwned>(command: &'static str, key: &str, value: Option<Value>) -> Result<T> {
    let value = value.ok_or_else(|| Error::InvalidArgs {
        command,
        problem: format!("missing argument `{key}`"),
    })?;
    serde_json::from_value(value).map_err(|e| Error::InvalidArgs {
        command,
        problem: format!("`{key}`: {e}"),
    })
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
    on_event: Option<Value>,
) -> Result<AttachInfo> {
    let id: JavaScriptChannelId = arg("buckaroo_attach", "onEvent", on_event)?;
    let label = webview.label().to_string();
    let sink = Arc::new(ChannelSink {
        channel: id.channel_on(webview.clone()),
        app,
        label: label.clone(),
    });
    state.hub.attach(&label, sink).await
}

#[command]
pub(crate) async fn buckaroo_load_path<R: Runtime>(
    webview: Webview<R>,
    state: State<'_, BuckarooState>,
    args: Option<Value>,
) -> Result<LoadResult> {
    let args: LoadPathArgs = arg("buckaroo_load_path", "args", args)?;
    state.hub.load_path(webview.label(), args).await
}

#[command]
pub(crate) async fn buckaroo_load_expr<R: Runtime>(
    webview: Webview<R>,
    state: State<'_, BuckarooState>,
    args: Option<Value>,
) -> Result<LoadResult> {
    let args: LoadExprArgs = arg("buckaroo_load_expr", "args", args)?;
    state.hub.load_expr(webview.label(), args).await
}

#[command]
pub(crate) async fn buckaroo_load_compare<R: Runtime>(
    webview: Webview<R>,
    state: State<'_, BuckarooState>,
    args: Option<Value>,
) -> Result<LoadResult> {
    let args: LoadCompareArgs = arg("buckaroo_load_compare", "args", args)?;
    state.hub.load_compare(webview.label(), args).await
}

#[command]
pub(crate) async fn buckaroo_send<R: Runtime>(webview: Webview<R>, state: State<'_, BuckarooState>, msg: Option<Value>) -> Result<()> {
    let msg: Value = arg("buckaroo_send", "msg", msg)?;
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

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn missing_or_misshaped_arguments_are_coded() {
        let e = arg::<Value>("buckaroo_send", "msg", None).unwrap_err();
        assert_eq!(e.code(), "invalid_args");
        assert_eq!(e.to_string(), "invalid arguments for buckaroo_send: missing argument `msg`");
        let e = arg::<LoadPathArgs>("buckaroo_load_path", "args", Some(json!({"path": 5}))).unwrap_err();
        assert_eq!(e.code(), "invalid_args");
        assert!(
            e.to_string().contains("`args`: invalid type: integer `5`, expected a string"),
            "{e}"
        );
        let e = arg::<LoadPathArgs>("buckaroo_load_path", "args", Some(json!({"mode": "viewer"}))).unwrap_err();
        assert!(e.to_string().contains("missing field `path`"), "{e}");
        let Err(e) = arg::<JavaScriptChannelId>("buckaroo_attach", "onEvent", Some(json!("x"))) else {
            panic!("a bad channel id was accepted");
        };
        assert!(e.to_string().contains("invalid channel value"), "{e}");
        assert!(arg::<JavaScriptChannelId>("buckaroo_attach", "onEvent", Some(json!("__CHANNEL__:7"))).is_ok());
        let ok: LoadPathArgs = arg("buckaroo_load_path", "args", Some(json!({"path": "/d/a.csv", "mode": "viewer"}))).unwrap();
        assert_eq!(ok.path, "/d/a.csv");
    }
}
