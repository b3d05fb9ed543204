//! The example: an installable buckaroo viewer. Files from the command line (or a
//! second launch, or the file manager) open in windows of one running app.

mod cli;
mod commands;
mod error;
mod menu;
mod recent;
mod temporary;
mod updates;
mod windows;

use buckaroo_tauri::{BuckarooConfig, LoadMode, ManagedEnv};
use tauri::Manager;

/// A warm standby sidecar for restarts, unless `BUCKAROO_STANDBY=0`: kill -9 → rows
/// painted in 0.75 s instead of 1.5 s, for a parked sidecar's ~155 MB (docs/benchmarks.md).
fn standby(var: Option<&str>) -> bool {
    var != Some("0")
}

/// The plugin config for this app. Environment knobs exist for headless runs
/// and tests; a real app would hard-code or persist its choices.
fn config() -> BuckarooConfig {
    // Without a Python that has buckaroo, the app sets up its own: from the packages
    // its .deb carries (the `buckaroo-env` resource), else from the package index.
    let mut managed = ManagedEnv::new();
    if let Some(bundle) = std::env::var_os("BUCKAROO_TAURI_ENV_BUNDLE").filter(|v| !v.is_empty()) {
        managed = managed.with_bundle(bundle);
    }
    let mut cfg = BuckarooConfig::xorq().with_managed_env(managed);
    if let Some(path) = std::env::var_os("BUCKAROO_AUTOLOAD_PARQUET").filter(|v| !v.is_empty()) {
        let mode = std::env::var("BUCKAROO_AUTOLOAD_MODE")
            .ok()
            .and_then(|m| LoadMode::parse(&m))
            .unwrap_or(LoadMode::Buckaroo);
        cfg = cfg.with_autoload(path, mode);
    }
    // Folders the page may load from without a dialog or a drop (colon-separated).
    if let Some(scope) = std::env::var_os("BUCKAROO_TAURI_SCOPE") {
        for dir in std::env::split_paths(&scope) {
            cfg = cfg.with_scope(dir);
        }
    }
    // Files of at least this many bytes open on the engine (0: all; the default 32 MiB).
    if let Some(bytes) = std::env::var("BUCKAROO_ENGINE_MIN_BYTES").ok().and_then(|v| v.parse().ok()) {
        cfg = cfg.with_engine_min_bytes(bytes);
    }
    cfg = cfg.with_standby(standby(std::env::var("BUCKAROO_STANDBY").ok().as_deref()));
    #[cfg(feature = "bench")]
    {
        cfg = cfg.with_env("BUCKAROO_TAURI_ALLOW_QUERY_TOKEN", "1");
    }
    cfg
}

/// Bench builds only: where the sidecar listens, so the bench page can compare a
/// direct WebSocket with the plugin path.
#[cfg(feature = "bench")]
#[tauri::command]
fn bench_endpoint(app: tauri::AppHandle) -> Option<serde_json::Value> {
    use buckaroo_tauri::BuckarooExt;
    let ep = app.buckaroo().supervisor().endpoint()?;
    Some(serde_json::json!({"port": ep.port, "token": ep.token, "pid": ep.pid}))
}

/// Bench builds only: Tauri's own floor under a row reply, no work between: one invoke
/// with a Channel and (`bytes` > 0) either one raw message of `bytes` bytes on it, or
/// (`reply`) those bytes as the invoke's own reply, as the plugin's `buckaroo_poll` answers.
#[cfg(feature = "bench")]
#[tauri::command]
fn bench_channel(
    bytes: usize,
    on: tauri::ipc::Channel<tauri::ipc::InvokeResponseBody>,
    reply: Option<bool>,
) -> Result<tauri::ipc::Response, String> {
    if reply == Some(true) {
        return Ok(tauri::ipc::Response::new(vec![7u8; bytes]));
    }
    if bytes > 0 {
        on.send(tauri::ipc::InvokeResponseBody::Raw(vec![7u8; bytes]))
            .map_err(|e| e.to_string())?;
    }
    Ok(tauri::ipc::Response::new(Vec::new()))
}

/// The app's commands, plus any named (the bench build's).
macro_rules! app_commands {
    ($($extra:path),*) => {
        tauri::generate_handler![
            commands::app_about,
            commands::app_new_window,
            commands::app_opened,
            commands::app_check_update,
            commands::app_install_update,
            commands::app_cancel_update,
            commands::app_saved_connections_changed,
            $($extra),*
        ]
    };
}

/// Exit status when the app cannot run here (no display, missing OS libraries): the
/// wheel's command line and docs/python.md promise it.
#[cfg(target_os = "linux")]
const EXIT_CANNOT_RUN_HERE: i32 = 3;

/// Tauri panics (exit 101) when GTK cannot open the display, e.g. a stale SSH X
/// forwarding: say which display instead, and exit with the documented status.
fn exit_unless_display() {
    #[cfg(target_os = "linux")]
    if let Err(e) = gtk::init() {
        let var = |name: &str| std::env::var(name).map_or_else(|_| "unset".to_string(), |v| format!("{v:?}"));
        eprintln!(
            "{}: cannot open a window: no display can be reached (DISPLAY={}, WAYLAND_DISPLAY={}; {e}). \
             Run it inside a desktop session, or fix DISPLAY.",
            program_name(),
            var("DISPLAY"),
            var("WAYLAND_DISPLAY")
        );
        std::process::exit(EXIT_CANNOT_RUN_HERE);
    }
}

/// `off`: WebKit's own limit (the bench's "before"); a number: that many MiB (a test's
/// small limit); unset or anything else: the plugin's default.
const WEBVIEW_MEMORY_ENV: &str = "BUCKAROO_WEBVIEW_MEMORY";

fn webview_memory(value: Option<&str>) -> Option<buckaroo_tauri::WebviewMemory> {
    let default = buckaroo_tauri::WebviewMemory::default();
    match value {
        Some("off") => None,
        Some(mib) => Some(
            mib.parse()
                .map_or(default, |limit_mib| buckaroo_tauri::WebviewMemory { limit_mib, ..default }),
        ),
        None => Some(default),
    }
}

/// What buckaroo_desktop (the wheel) sets per Python environment (viewer.py INSTANCE_ENV).
const INSTANCE_ENV: &str = "BUCKAROO_INSTANCE";

/// `<identifier>.<instance>` when `instance` is a valid D-Bus name element (ASCII
/// letters, digits and `_`, not starting with a digit, at most 64 chars); None otherwise
/// (unset, empty or malformed: one app per identifier, as before).
fn instance_dbus_id(identifier: &str, instance: Option<&str>) -> Option<String> {
    let id = instance.filter(|i| {
        !i.is_empty()
            && i.len() <= 64
            && !i.starts_with(|c: char| c.is_ascii_digit())
            && i.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
    })?;
    Some(format!("{identifier}.{id}"))
}

/// One running app per BUCKAROO_INSTANCE: windows from one Python environment share a
/// viewer (and its sidecar); another environment gets its own, so each frame is computed
/// by the buckaroo of the Python that sent it. Without it (the .deb, a desktop launch):
/// one per app.
fn single_instance<R: tauri::Runtime>(identifier: &str) -> tauri::plugin::TauriPlugin<R> {
    let builder = tauri_plugin_single_instance::Builder::new().callback(windows::second_launch);
    match instance_dbus_id(identifier, std::env::var(INSTANCE_ENV).ok().as_deref()) {
        Some(id) => builder.dbus_id(id).build(),
        None => builder.build(),
    }
}

/// The name this binary was started as (the wheel's copy is buckaroo-desktop-viewer).
#[cfg(target_os = "linux")]
fn program_name() -> String {
    std::env::args_os()
        .next()
        .map(std::path::PathBuf::from)
        .and_then(|p| p.file_name().map(|n| n.to_string_lossy().into_owned()))
        .unwrap_or_else(|| "buckaroo".into())
}

pub fn run() {
    let context = tauri::generate_context!();
    let identifier = context.config().identifier.clone();
    let version = context.package_info().version.to_string();
    // --help, --version and bad flags end here, before any window or sidecar.
    let cli = cli::parse(std::env::args_os(), &version).unwrap_or_else(|e| e.exit());
    let files = cli.files_from(&std::env::current_dir().unwrap_or_default());
    let how = windows::Opening::from(&cli);
    env_logger::Builder::from_env(env_logger::Env::default().default_filter_or("info"))
        .format_timestamp_millis()
        .init();
    log::info!("buckaroo-tauri-example {version} starting");
    exit_unless_display();
    // Before the first window: a window searched all day would otherwise grow until
    // WebKit's own 3 GB limit.
    if let Some(memory) = webview_memory(std::env::var(WEBVIEW_MEMORY_ENV).ok().as_deref()) {
        buckaroo_tauri::limit_webview_memory(memory);
    }
    // The single-instance plugin first: a second launch hands over its files and
    // exits before the other plugins (and so the sidecar) start.
    let builder = tauri::Builder::default()
        .plugin(single_instance(&identifier))
        .plugin(tauri_plugin_window_state::Builder::default().build())
        .plugin(tauri_plugin_store::Builder::default().build())
        .plugin(tauri_plugin_updater::Builder::new().build())
        .plugin(buckaroo_tauri::init(config()))
        .manage(updates::Pending::default())
        .manage(windows::Opened::default())
        .on_menu_event(|app, event| menu::on_event(app, event.id().as_ref()))
        .on_window_event(|window, event| {
            if let tauri::WindowEvent::Destroyed = event {
                windows::closed(window.app_handle(), window.label());
            }
        })
        .setup(move |app| {
            windows::open_all(app.handle(), &files, &how)?;
            Ok(())
        });
    #[cfg(not(feature = "bench"))]
    let builder = builder.invoke_handler(app_commands!());
    #[cfg(feature = "bench")]
    let builder = builder.invoke_handler(app_commands!(bench_endpoint, bench_channel));
    let app = builder.build(context).expect("error while building the buckaroo-tauri example");
    app.run(|app, event| {
        if let tauri::RunEvent::Exit = event {
            windows::exiting(app);
        }
    });
}

#[cfg(test)]
mod tests {
    use super::{instance_dbus_id, standby, webview_memory};

    #[test]
    fn an_instance_names_its_own_bus_service_only_when_it_is_a_valid_name_element() {
        let id = "dev.buckaroo.tauri.example";
        assert_eq!(
            instance_dbus_id(id, Some("py1a2b")).as_deref(),
            Some("dev.buckaroo.tauri.example.py1a2b")
        );
        for bad in [None, Some(""), Some("1abc"), Some("a.b"), Some("a-b"), Some(&*"a".repeat(65))] {
            assert_eq!(instance_dbus_id(id, bad), None, "{bad:?}");
        }
    }

    #[test]
    fn the_webview_memory_variable_turns_the_limit_off_sets_it_or_keeps_the_default() {
        let default = buckaroo_tauri::WebviewMemory::default();
        assert_eq!(webview_memory(None), Some(default));
        assert_eq!(webview_memory(Some("off")), None);
        assert_eq!(webview_memory(Some("64")).map(|m| m.limit_mib), Some(64));
        assert_eq!(webview_memory(Some("lots")), Some(default));
    }

    #[test]
    fn the_standby_is_on_unless_the_variable_says_0() {
        assert!(standby(None));
        assert!(standby(Some("1")));
        assert!(!standby(Some("0")));
    }
}
