use sha2::{Digest, Sha256};
use std::fmt::Write as _;
use std::path::Path;

const COMMANDS: &[&str] = &[
    "buckaroo_status",
    "buckaroo_retry",
    "buckaroo_health",
    "buckaroo_diagnostics",
    "buckaroo_attach",
    "buckaroo_load_path",
    "buckaroo_reload",
    "buckaroo_load_expr",
    "buckaroo_reload_expr",
    "buckaroo_load_compare",
    "buckaroo_send",
    "buckaroo_poll",
    "buckaroo_pick_file",
    "buckaroo_pick_build",
    "buckaroo_cancel_setup",
    "buckaroo_reset_environment",
    "buckaroo_pick_export",
    "buckaroo_export",
    "buckaroo_export_cancel",
    "buckaroo_copy_cells",
    "buckaroo_copy_text",
    "buckaroo_db_tables",
    "buckaroo_open_table",
    "buckaroo_db_save",
    "buckaroo_db_saved",
    "buckaroo_db_forget",
];

/// The Python launcher package, embedded file by file.
const LAUNCHER_DIR: &str = "python/buckaroo_tauri_sidecar";

/// The managed environment's locks (`uv pip compile --generate-hashes`), by name.
const LOCKS: &[&str] = &["base", "engine"];

fn main() {
    embed_launcher();
    embed_locks();
    tauri_plugin::Builder::new(COMMANDS).build();
}

/// Writes `$OUT_DIR/launcher_package.rs`: every `*.py` of the launcher package as
/// `(name, include_str!(…))`, sorted by name, and a hash of names and contents that
/// keys the package's cache folder (so two builds with different launchers never share
/// a copy, and two builds with the same one do).
fn embed_launcher() {
    let manifest = std::env::var("CARGO_MANIFEST_DIR").expect("cargo sets CARGO_MANIFEST_DIR");
    let dir = Path::new(&manifest).join(LAUNCHER_DIR);
    println!("cargo:rerun-if-changed={}", dir.display());
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|entry| entry.expect("readable launcher folder").path())
        .filter(|p| p.extension().is_some_and(|e| e == "py"))
        .collect();
    files.sort();
    let mut hasher = Sha256::new();
    let mut table = String::new();
    for path in &files {
        let name = path.file_name().and_then(|n| n.to_str()).expect("UTF-8 file name");
        let text = std::fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        hasher.update((name.len() as u64).to_le_bytes());
        hasher.update(name.as_bytes());
        hasher.update((text.len() as u64).to_le_bytes());
        hasher.update(&text);
        writeln!(table, "    ({name:?}, include_str!({:?})),", path.display().to_string()).unwrap();
    }
    assert!(
        files.iter().any(|p| p.ends_with("__main__.py")),
        "{} has no __main__.py",
        dir.display()
    );
    let hash: String = hasher.finalize().iter().take(8).map(|b| format!("{b:02x}")).collect();
    let code = format!(
        "/// The launcher package's files: (name, contents), sorted by name.\n\
         pub(crate) const FILES: &[(&str, &str)] = &[\n{table}];\n\
         /// SHA-256 (first 64 bits, hex) of the files' names and contents.\n\
         pub(crate) const HASH: &str = {hash:?};\n"
    );
    let out = Path::new(&std::env::var("OUT_DIR").expect("cargo sets OUT_DIR")).join("launcher_package.rs");
    std::fs::write(out, code).expect("write launcher_package.rs");
}

/// Writes `$OUT_DIR/env_locks.rs`: each lock's text and the SHA-256 (hex) of its bytes,
/// which an env bundle's manifest must name to be used, and which keys the environment.
fn embed_locks() {
    let manifest = std::env::var("CARGO_MANIFEST_DIR").expect("cargo sets CARGO_MANIFEST_DIR");
    let mut code = String::new();
    for name in LOCKS {
        let path = Path::new(&manifest).join("env").join(format!("{name}.lock"));
        println!("cargo:rerun-if-changed={}", path.display());
        let text = std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        let hash: String = Sha256::digest(&text).iter().map(|b| format!("{b:02x}")).collect();
        let upper = name.to_uppercase();
        writeln!(
            code,
            "/// The `{name}` lock's text.\npub(crate) const {upper}: &str = include_str!({:?});",
            path.display().to_string()
        )
        .unwrap();
        writeln!(
            code,
            "/// SHA-256 (hex) of the `{name}` lock's bytes.\npub(crate) const {upper}_SHA256: &str = {hash:?};"
        )
        .unwrap();
    }
    let out = Path::new(&std::env::var("OUT_DIR").expect("cargo sets OUT_DIR")).join("env_locks.rs");
    std::fs::write(out, code).expect("write env_locks.rs");
}
