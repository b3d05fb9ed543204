use buckaroo_tauri::{BuckarooConfig, LoadMode};

/// The plugin config for this app. Environment knobs exist for headless runs
/// and tests; a real app would hard-code or persist its choices.
fn config() -> BuckarooConfig {
    let mut cfg = BuckarooConfig::xorq();
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

pub fn run() {
    env_logger::Builder::from_env(env_logger::Env::default().default_filter_or("info"))
        .format_timestamp_millis()
        .init();
    let builder = tauri::Builder::default().plugin(buckaroo_tauri::init(config()));
    #[cfg(feature = "bench")]
    let builder = builder.invoke_handler(tauri::generate_handler![bench_endpoint]);
    builder
        .run(tauri::generate_context!())
        .expect("error while running the buckaroo-tauri example");
}
