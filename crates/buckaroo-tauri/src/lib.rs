//! buckaroo-tauri: the buckaroo DataFrame viewer in a Tauri 2 app.
//!
//! ```text
//! webview ──invoke / Channel──► this plugin ──ws://127.0.0.1:N──► python buckaroo server
//! ```
//! The plugin finds the user's Python, runs the buckaroo server as a supervised
//! sidecar, gives every window its own session and internal WebSocket, and relays
//! JSON and binary parquet frames to the window's `ipc::Channel`. The page never
//! learns the port.
//!
//! ```no_run
//! tauri::Builder::default()
//!     .plugin(buckaroo_tauri::init(buckaroo_tauri::BuckarooConfig::xorq()))
//! # ;
//! ```
//!
//! This plugin does not use the shell plugin (it spawns with `tokio::process`); an
//! app that registers it for its own use can keep doing so:
//!
//! ```no_run
//! tauri::Builder::default()
//!     .plugin(tauri_plugin_shell::init())
//!     .plugin(buckaroo_tauri::init(buckaroo_tauri::BuckarooConfig::xorq()))
//! # ;
//! ```
//!
//! A row request reads one way: the page's `buckaroo_send` (`commands`) → [`Hub::send`]
//! (the window's session) → its connection (checked, queued, recorded in flight) → the
//! sidecar; the reply: the connection's reader → the pairer (header + parquet frame) →
//! the window's sink (the frame queue its page polls with `buckaroo_poll`, or its Channel).

#![warn(missing_docs)]

mod base_python;
mod clipboard;
mod commands;
mod config;
mod connection;
mod database;
mod discovery;
mod error;
mod exit;
mod export;
mod frame;
mod frame_queue;
mod handshake;
mod http;
mod hub;
mod launcher;
mod managed_env;
mod message;
mod models;
mod oom;
mod pairing;
mod picker;
mod probe;
mod probe_cache;
mod provision;
mod restart;
mod saved_dbs;
mod scope;
mod sidecar;
mod sink;
mod state;
mod supervisor;
mod tasks;
mod watch;
mod webview_memory;

use std::sync::Arc;
use tauri::{
    plugin::{Builder, TauriPlugin},
    AppHandle, DragDropEvent, Emitter, Manager, RunEvent, Runtime, Window, WindowEvent,
};

pub use config::{Autoload, BackendKind, BuckarooConfig, Launcher, LoadMode, RestartPolicy, LOAD_TIMEOUT_ENV};
pub use connection::FrameSink;
pub use error::{Error, PipInstall, Result};
pub use frame_queue::{batch_records, RECORD_JSON, RECORD_ROWS};
pub use hub::Hub;
pub use managed_env::{EnvLock, ManagedEnv};
pub use models::{
    AttachInfo, CopyArgs, CopyResult, ErrorInfo, ExportArgs, ExportResult, HealthInfo, LoadCompareArgs, LoadExprArgs, LoadPathArgs,
    LoadResult, ReloadResult, StatsDelivery, Status,
};
pub use pairing::{JsonFrame, Outgoing};
pub use probe::ProbeReport;
pub use saved_dbs::SavedDbsConfig;
pub use supervisor::{Endpoint, Supervisor};
pub use webview_memory::{limit_webview_memory, WebviewMemory};

/// This crate's version (an app's About box names it).
pub const VERSION: &str = env!("CARGO_PKG_VERSION");

/// Managed state: the hub (and through it the supervisor).
pub struct BuckarooState {
    /// The running hub.
    pub hub: Arc<Hub>,
}

/// Access the running hub from Rust (`app.buckaroo()`).
pub trait BuckarooExt<R: Runtime> {
    /// The hub the plugin manages.
    fn buckaroo(&self) -> Arc<Hub>;
}

impl<R: Runtime, T: Manager<R>> BuckarooExt<R> for T {
    fn buckaroo(&self) -> Arc<Hub> {
        self.state::<BuckarooState>().hub.clone()
    }
}

/// The plugin, for `tauri::Builder::plugin`.
pub fn init<R: Runtime>(config: BuckarooConfig) -> TauriPlugin<R> {
    Builder::new("buckaroo-tauri")
        .invoke_handler(tauri::generate_handler![
            commands::buckaroo_status,
            commands::buckaroo_retry,
            commands::buckaroo_health,
            commands::buckaroo_diagnostics,
            commands::buckaroo_attach,
            commands::buckaroo_load_path,
            commands::buckaroo_reload,
            commands::buckaroo_load_expr,
            commands::buckaroo_reload_expr,
            commands::buckaroo_load_compare,
            commands::buckaroo_send,
            commands::buckaroo_poll,
            commands::buckaroo_pick_file,
            commands::buckaroo_pick_build,
            commands::buckaroo_cancel_setup,
            commands::buckaroo_reset_environment,
            commands::buckaroo_pick_export,
            commands::buckaroo_export,
            commands::buckaroo_export_cancel,
            commands::buckaroo_copy_cells,
            commands::buckaroo_copy_text,
            commands::buckaroo_db_tables,
            commands::buckaroo_open_table,
            commands::buckaroo_db_save,
            commands::buckaroo_db_saved,
            commands::buckaroo_db_forget,
        ])
        .setup(move |app, _api| {
            setup(app, config);
            Ok(())
        })
        .on_window_ready(|window| watch_window(&window))
        .on_event(|app, event| {
            if let RunEvent::Exit = event {
                shut_down(app);
            }
        })
        .on_drop(|app| {
            if let Some(state) = app.try_state::<BuckarooState>() {
                state.hub.supervisor().kill_now();
            }
        })
        .build()
}

/// Start the supervisor, the hub's restart follower and the status events; manage the hub.
fn setup<R: Runtime>(app: &AppHandle<R>, mut config: BuckarooConfig) {
    if config.launcher_cache.is_none() {
        // Per app and per user; the core's own default is a shared one for all apps.
        config.launcher_cache = app.path().app_cache_dir().ok().map(|d| d.join("buckaroo-launcher"));
    }
    if config.saved_connections.is_none() {
        if let Ok(dir) = app.path().app_config_dir() {
            config = config.with_saved_connections(dir.join("buckaroo-databases.json"), app.config().identifier.clone());
        }
    }
    if let Some(managed) = &mut config.managed_env {
        if managed.root.is_none() {
            managed.root = app.path().app_data_dir().ok().map(|d| d.join("buckaroo-env"));
        }
        if managed.bundle.is_none() {
            // What the app's bundle carries (a resource folder `buckaroo-env/`), if anything.
            managed.bundle = app
                .path()
                .resource_dir()
                .ok()
                .map(|d| d.join("buckaroo-env"))
                .filter(|d| d.is_dir());
        }
    }
    let sup = Supervisor::new(config);
    let hub = Hub::new(sup.clone());
    sup.start();
    tasks::spawn_logged("follow-restarts", hub.clone().follow_restarts());
    tasks::spawn_logged("liveness", hub.clone().watch_liveness());
    tasks::spawn_logged("file-watch", hub.clone().watch_files());
    tasks::spawn_logged("status-events", emit_statuses(app.clone(), sup));
    app.manage(BuckarooState { hub });
}

/// Every status change as `buckaroo:status`, the one status event: its `state` says
/// which (there is no event per state).
async fn emit_statuses<R: Runtime>(app: AppHandle<R>, sup: Arc<Supervisor>) {
    let mut rx = sup.subscribe();
    loop {
        let status = rx.borrow_and_update().clone();
        let _ = app.emit("buckaroo:status", &status);
        if rx.changed().await.is_err() {
            break;
        }
    }
}

/// A dropped file joins the scope; a closed window releases its session.
fn watch_window<R: Runtime>(window: &Window<R>) {
    let label = window.label().to_string();
    let app = window.app_handle().clone();
    window.on_window_event(move |event| match event {
        // A dropped file is the user's choice: it joins the scope.
        WindowEvent::DragDrop(DragDropEvent::Drop { paths, .. }) => {
            let hub = app.buckaroo();
            for p in paths {
                hub.allow_file(p);
            }
        }
        WindowEvent::Destroyed => app.buckaroo().detach(&label),
        _ => {}
    });
}

/// The app is exiting: stop the sidecar and wait for it.
fn shut_down<R: Runtime>(app: &AppHandle<R>) {
    if let Some(state) = app.try_state::<BuckarooState>() {
        let sup = state.hub.supervisor().clone();
        tauri::async_runtime::block_on(sup.shutdown());
    }
}
