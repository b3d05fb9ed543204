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
use crate::frame_queue::POLL_WAIT;
use crate::models::{
    AttachInfo, CopyArgs, CopyResult, DbTablesArgs, DbTablesResult, ExportArgs, ExportResult, HealthInfo, LoadCompareArgs, LoadExprArgs,
    LoadPathArgs, LoadResult, OpenTableArgs, PickExportArgs, ReloadResult, SaveConnectionArgs, SaveConnectionResult, SavedConnection,
    Status,
};
use crate::sink::ChannelSink;
use crate::BuckarooState;
use serde::de::DeserializeOwned;
use serde_json::Value;
use std::sync::Arc;
use tauri::ipc::{JavaScriptChannelId, Response};
use tauri::{command, AppHandle, Runtime, State, Webview};

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

/// Stop a first-run set-up (`provisioning`); it ends in `failed` with `setup_cancelled`.
#[command]
pub(crate) async fn buckaroo_cancel_setup(state: State<'_, BuckarooState>) -> Result<Status> {
    let sup = state.hub.supervisor();
    sup.cancel_setup();
    Ok(sup.status())
}

/// Remove the managed environment and set it up again (the sidecar restarts from it).
#[command]
pub(crate) async fn buckaroo_reset_environment(state: State<'_, BuckarooState>) -> Result<Status> {
    let sup = state.hub.supervisor().clone();
    sup.reset_environment().await?;
    Ok(sup.status())
}

#[command]
pub(crate) async fn buckaroo_health<R: Runtime>(webview: Webview<R>, state: State<'_, BuckarooState>) -> Result<HealthInfo> {
    let hub = &state.hub;
    let status = hub.supervisor().status();
    let ready = matches!(status, Status::Ready { .. });
    let server = if ready { hub.get("/health").await.ok() } else { None };
    Ok(HealthInfo {
        plugin_version: crate::VERSION,
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

/// Attach this window: its frames go to the Channel `onEvent`, or, with `poll: true`,
/// wait for the page's `buckaroo_poll` (the adapter's way: one main-thread turn a reply).
#[command]
pub(crate) async fn buckaroo_attach<R: Runtime>(
    webview: Webview<R>,
    state: State<'_, BuckarooState>,
    on_event: Option<Value>,
    poll: Option<Value>,
) -> Result<AttachInfo> {
    if poll.is_some_and(|p| p == Value::Bool(true)) {
        return state.hub.attach_polled(webview.label()).await;
    }
    let id: JavaScriptChannelId = arg("buckaroo_attach", "onEvent", on_event)?;
    let label = webview.label().to_string();
    let sink = Arc::new(ChannelSink {
        channel: id.channel_on(webview.clone()),
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

/// Load again what this window shows (a file that changed on disk).
#[command]
pub(crate) async fn buckaroo_reload<R: Runtime>(webview: Webview<R>, state: State<'_, BuckarooState>) -> Result<LoadResult> {
    state.hub.reload(webview.label()).await
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

/// Re-read the project root's classes for the window's expression (opt-in: it executes code).
#[command]
pub(crate) async fn buckaroo_reload_expr<R: Runtime>(webview: Webview<R>, state: State<'_, BuckarooState>) -> Result<ReloadResult> {
    state.hub.reload_expr(webview.label()).await
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

/// The frames queued for this window's polled attach `id` since the last poll, as one
/// binary batch (`frame_queue`); empty after a wait with none.
#[command]
pub(crate) async fn buckaroo_poll<R: Runtime>(webview: Webview<R>, state: State<'_, BuckarooState>, id: Option<Value>) -> Result<Response> {
    let id: u64 = arg("buckaroo_poll", "id", id)?;
    Ok(Response::new(state.hub.poll(webview.label(), id, POLL_WAIT).await?))
}

/// The native open dialog; the chosen file joins the scope for this run.
#[command]
pub(crate) async fn buckaroo_pick_file<R: Runtime>(
    app: AppHandle<R>,
    webview: Webview<R>,
    state: State<'_, BuckarooState>,
) -> Result<Option<String>> {
    Ok(admitted(&state, crate::picker::pick_table_file(&app, webview.label()).await?))
}

/// The native folder dialog for a xorq build directory; the chosen folder joins the scope.
#[command]
pub(crate) async fn buckaroo_pick_build<R: Runtime>(
    app: AppHandle<R>,
    webview: Webview<R>,
    state: State<'_, BuckarooState>,
) -> Result<Option<String>> {
    Ok(admitted(&state, crate::picker::pick_build_dir(&app, webview.label()).await?))
}

/// The native save dialog for an export; the chosen path may be exported to once, by
/// this window (`allow-export`).
#[command]
pub(crate) async fn buckaroo_pick_export<R: Runtime>(
    app: AppHandle<R>,
    webview: Webview<R>,
    state: State<'_, BuckarooState>,
    args: Option<Value>,
) -> Result<Option<String>> {
    let args: PickExportArgs = match args {
        Some(v) if !v.is_null() => arg("buckaroo_pick_export", "args", Some(v))?,
        _ => PickExportArgs::default(),
    };
    let picked = crate::picker::pick_export_path(&app, webview.label(), args.default_name.as_deref()).await?;
    Ok(picked.map(|path| {
        state.hub.grant_export(webview.label(), &path);
        path.display().to_string()
    }))
}

/// Write what this window's grid shows to a path it may write (`allow-export`).
#[command]
pub(crate) async fn buckaroo_export<R: Runtime>(
    webview: Webview<R>,
    state: State<'_, BuckarooState>,
    args: Option<Value>,
) -> Result<ExportResult> {
    let args: ExportArgs = arg("buckaroo_export", "args", args)?;
    state.hub.export(webview.label(), args).await
}

/// Cancel this window's running export; whether there was one.
#[command]
pub(crate) async fn buckaroo_export_cancel<R: Runtime>(webview: Webview<R>, state: State<'_, BuckarooState>) -> Result<bool> {
    state.hub.export_cancel(webview.label()).await
}

/// Copy a block of this window's grid (its rows in its sort and search, the given
/// columns) to the clipboard as TSV with a header row (`allow-copy`).
#[command]
pub(crate) async fn buckaroo_copy_cells<R: Runtime>(
    app: AppHandle<R>,
    webview: Webview<R>,
    state: State<'_, BuckarooState>,
    args: Option<Value>,
) -> Result<CopyResult> {
    let args: CopyArgs = arg("buckaroo_copy_cells", "args", args)?;
    let tsv = state.hub.copy_cells(webview.label(), &args).await?;
    crate::clipboard::write_text(&app, tsv)?;
    Ok(CopyResult {
        rows: args.end.saturating_sub(args.start),
        columns: args.columns.len() as u64,
    })
}

/// Put `text` (a column's name, say) on the clipboard (`allow-copy`).
#[command]
pub(crate) async fn buckaroo_copy_text<R: Runtime>(app: AppHandle<R>, text: Option<Value>) -> Result<()> {
    let text: String = arg("buckaroo_copy_text", "text", text)?;
    crate::clipboard::write_text(&app, text)
}

/// A database's tables and views with row estimates; a new connection is tested and
/// kept (its password stays in the plugin), and its `connectionId` returned (`allow-database`).
#[command]
pub(crate) async fn buckaroo_db_tables(state: State<'_, BuckarooState>, args: Option<Value>) -> Result<DbTablesResult> {
    let args: DbTablesArgs = arg("buckaroo_db_tables", "args", args)?;
    state.hub.db_tables(args).await
}

/// Open a table of a kept connection, or a read-only query on it, in this window; its
/// engine pages it (`allow-database`).
#[command]
pub(crate) async fn buckaroo_open_table<R: Runtime>(
    webview: Webview<R>,
    state: State<'_, BuckarooState>,
    args: Option<Value>,
) -> Result<LoadResult> {
    let args: OpenTableArgs = arg("buckaroo_open_table", "args", args)?;
    state.hub.open_table(webview.label(), args).await
}

/// Save connection `connectionId` of this run under a name: the record (no password)
/// in the app's config dir, the password in the OS keyring (`allow-database`).
#[command]
pub(crate) async fn buckaroo_db_save(state: State<'_, BuckarooState>, args: Option<Value>) -> Result<SaveConnectionResult> {
    let args: SaveConnectionArgs = arg("buckaroo_db_save", "args", args)?;
    state.hub.save_connection(args).await
}

/// The saved connections, without passwords (`allow-database`).
#[command]
pub(crate) async fn buckaroo_db_saved(state: State<'_, BuckarooState>) -> Result<Vec<SavedConnection>> {
    state.hub.saved_connections()
}

/// Forget a saved connection and its keyring entry; whether there was one (`allow-database`).
#[command]
pub(crate) async fn buckaroo_db_forget(state: State<'_, BuckarooState>, id: Option<Value>) -> Result<bool> {
    let id: String = arg("buckaroo_db_forget", "id", id)?;
    state.hub.forget_connection(&id).await
}

/// What the user picked joins the scope; the page gets its path.
fn admitted(state: &BuckarooState, picked: Option<std::path::PathBuf>) -> Option<String> {
    let path = picked?;
    state.hub.allow_file(&path);
    Some(path.display().to_string())
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
