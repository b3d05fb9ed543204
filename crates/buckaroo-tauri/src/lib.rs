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
//! The earlier quick-start, which also registered the shell plugin, keeps working
//! unchanged; this plugin does not use it (it spawns with `tokio::process`):
//!
//! ```no_run
//! tauri::Builder::default()
//!     .plugin(tauri_plugin_shell::init())
//!     .plugin(buckaroo_tauri::init(buckaroo_tauri::BuckarooConfig::xorq()))
//! # ;
//! ```

mod commands;
pub mod config;
pub mod connection;
pub mod discovery;
mod error;
pub mod exit;
pub mod handshake;
pub mod hub;
pub mod models;
pub mod pairing;
pub mod restart;
pub mod scope;
pub mod sidecar;
pub mod state;
pub mod supervisor;

use std::sync::Arc;
use tauri::{
    plugin::{Builder, TauriPlugin},
    DragDropEvent, Emitter, Manager, RunEvent, Runtime, WindowEvent,
};

pub use config::{Autoload, BackendKind, BuckarooConfig, Launcher, LoadMode, RestartPolicy};
pub use error::{Error, Result};
pub use hub::Hub;
pub use supervisor::{Status, Supervisor};

/// Managed state: the hub (and through it the supervisor).
pub struct BuckarooState {
    pub hub: Arc<Hub>,
}

/// Access the running hub from Rust (`app.buckaroo()`).
pub trait BuckarooExt<R: Runtime> {
    fn buckaroo(&self) -> Arc<Hub>;
}

impl<R: Runtime, T: Manager<R>> BuckarooExt<R> for T {
    fn buckaroo(&self) -> Arc<Hub> {
        self.state::<BuckarooState>().hub.clone()
    }
}

fn emit_status<R: Runtime>(app: &tauri::AppHandle<R>, status: &Status) {
    let specific = match status {
        Status::Ready { .. } => Some("buckaroo:sidecar_ready"),
        Status::Restarting { .. } => Some("buckaroo:sidecar_restarting"),
        Status::Failed { .. } => Some("buckaroo:sidecar_failed"),
        _ => None,
    };
    if let Some(event) = specific {
        let _ = app.emit(event, status);
    }
    let _ = app.emit("buckaroo:status", status);
}

pub fn init<R: Runtime>(config: BuckarooConfig) -> TauriPlugin<R> {
    Builder::new("buckaroo-tauri")
        .invoke_handler(tauri::generate_handler![
            commands::buckaroo_status,
            commands::buckaroo_retry,
            commands::buckaroo_health,
            commands::buckaroo_diagnostics,
            commands::buckaroo_attach,
            commands::buckaroo_load_path,
            commands::buckaroo_load_expr,
            commands::buckaroo_load_compare,
            commands::buckaroo_send,
            commands::buckaroo_pick_file,
        ])
        .setup(move |app, _api| {
            let sup = Supervisor::new(config);
            let hub = Hub::new(sup.clone());
            tauri::async_runtime::spawn(sup.clone().run());
            tauri::async_runtime::spawn(hub.clone().follow_restarts());
            let handle = app.clone();
            let mut rx = sup.subscribe();
            tauri::async_runtime::spawn(async move {
                loop {
                    let status = rx.borrow_and_update().clone();
                    emit_status(&handle, &status);
                    if rx.changed().await.is_err() {
                        break;
                    }
                }
            });
            app.manage(BuckarooState { hub });
            Ok(())
        })
        .on_window_ready(|window| {
            let label = window.label().to_string();
            let app = window.app_handle().clone();
            window.on_window_event(move |event| match event {
                // A dropped file is the user's choice: it joins the scope.
                WindowEvent::DragDrop(DragDropEvent::Drop { paths, .. }) => {
                    let hub = app.buckaroo();
                    for p in paths {
                        hub.scope.allow_file(p);
                    }
                }
                WindowEvent::Destroyed => app.buckaroo().detach(&label),
                _ => {}
            });
        })
        .on_event(|app, event| {
            if let RunEvent::Exit = event {
                if let Some(state) = app.try_state::<BuckarooState>() {
                    let sup = state.hub.supervisor().clone();
                    tauri::async_runtime::block_on(sup.shutdown());
                }
            }
        })
        .on_drop(|app| {
            if let Some(state) = app.try_state::<BuckarooState>() {
                state.hub.supervisor().kill_now();
            }
        })
        .build()
}
