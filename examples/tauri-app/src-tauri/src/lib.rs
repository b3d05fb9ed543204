pub fn run() {
    tauri::Builder::default()
        .plugin(buckaroo_tauri::init(buckaroo_tauri::BuckarooConfig::xorq()))
        .run(tauri::generate_context!())
        .expect("error while running the buckaroo-tauri example");
}
