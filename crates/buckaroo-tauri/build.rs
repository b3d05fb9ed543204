const COMMANDS: &[&str] = &[
    "buckaroo_status",
    "buckaroo_retry",
    "buckaroo_health",
    "buckaroo_diagnostics",
    "buckaroo_attach",
    "buckaroo_load_path",
    "buckaroo_load_expr",
    "buckaroo_reload_expr",
    "buckaroo_load_compare",
    "buckaroo_send",
    "buckaroo_pick_file",
    "buckaroo_pick_build",
];

fn main() {
    tauri_plugin::Builder::new(COMMANDS).build();
}
