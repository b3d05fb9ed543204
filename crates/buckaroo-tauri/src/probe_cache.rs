//! The probe's last good answer per interpreter, kept across launches in the launcher
//! cache (`probe.json`): a later launch of the same interpreter, with the same launcher
//! and untouched site-packages, starts the sidecar without running the probe first.
//! Only a usable report is kept; anything that changed (the interpreter's file, a
//! package installed or removed, which touches its site-packages folder, another
//! launcher) misses and the probe runs. No Tauri types here.

use crate::probe::ProbeReport;
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};
use std::time::UNIX_EPOCH;

/// How many interpreters one cache remembers.
const KEPT: usize = 4;

#[derive(Debug, Clone, Serialize, Deserialize)]
struct Entry {
    /// The interpreter as asked for, and what it must still look like.
    python: PathBuf,
    stamps: Vec<(PathBuf, Option<u128>)>,
    launcher: String,
    report: ProbeReport,
}

/// The stamps of what a report depends on: the interpreter's file (size, mtime) and the
/// site-packages folders of its prefix and user site (mtime; `None`: absent).
fn stamps(python: &Path, report: &ProbeReport) -> Vec<(PathBuf, Option<u128>)> {
    let binary = std::fs::canonicalize(python).unwrap_or_else(|_| python.to_path_buf());
    let mut paths = vec![binary];
    let prefix = Path::new(&report.prefix);
    let minor: String = report.python_version.split('.').take(2).collect::<Vec<_>>().join(".");
    paths.push(prefix.join("lib").join(format!("python{minor}")).join("site-packages"));
    paths.push(prefix.join("Lib").join("site-packages"));
    paths.push(prefix.join("pyvenv.cfg"));
    if let Some(home) = std::env::var_os("HOME") {
        paths.push(
            Path::new(&home)
                .join(".local/lib")
                .join(format!("python{minor}"))
                .join("site-packages"),
        );
    }
    paths
        .into_iter()
        .map(|p| {
            let stamp = std::fs::metadata(&p).ok().map(|m| {
                let mtime = m
                    .modified()
                    .ok()
                    .and_then(|t| t.duration_since(UNIX_EPOCH).ok())
                    .map_or(0, |d| d.as_nanos());
                mtime ^ (u128::from(m.len()) << 64)
            });
            (p, stamp)
        })
        .collect()
}

/// What else the probe's answer depends on: the launcher package (its hash) and the
/// environment it runs with (the app's `env` for the sidecar and the variables Python
/// reads its path from), hashed: the cache file holds no values of them.
pub fn key(launcher: &str, env: &[(String, String)]) -> String {
    use std::hash::{Hash, Hasher};
    let mut h = std::collections::hash_map::DefaultHasher::new();
    env.hash(&mut h);
    for var in ["PYTHONPATH", "PYTHONHOME", "PYTHONNOUSERSITE", "PYTHONUSERBASE", "VIRTUAL_ENV"] {
        std::env::var_os(var).hash(&mut h);
    }
    format!("{launcher}-{:016x}", h.finish())
}

fn file(cache: &Path) -> PathBuf {
    cache.join("probe.json")
}

fn read(cache: &Path) -> Vec<Entry> {
    std::fs::read(file(cache))
        .ok()
        .and_then(|b| serde_json::from_slice(&b).ok())
        .unwrap_or_default()
}

/// The kept report for `python`, if nothing it depends on changed since.
pub fn lookup(cache: &Path, python: &Path, launcher: &str) -> Option<ProbeReport> {
    read(cache)
        .into_iter()
        .find(|e| e.python == python && e.launcher == launcher && e.stamps == stamps(python, &e.report))
        .map(|e| e.report)
}

/// Keep `report` for `python` (a usable one), or forget what was kept (any other).
/// Best effort: a cache that cannot be written only costs the next launch its probe.
pub fn store(cache: &Path, python: &Path, launcher: &str, report: &ProbeReport) {
    let mut entries = read(cache);
    entries.retain(|e| e.python != python);
    if report.ok {
        let stamps = stamps(python, report);
        entries.insert(
            0,
            Entry {
                python: python.to_path_buf(),
                stamps,
                launcher: launcher.to_string(),
                report: report.clone(),
            },
        );
        entries.truncate(KEPT);
    }
    let partial = cache.join("probe.json.partial");
    let written = std::fs::create_dir_all(cache)
        .and_then(|_| std::fs::write(&partial, serde_json::to_vec(&entries).expect("entries serialize")))
        .and_then(|_| std::fs::rename(&partial, file(cache)));
    if let Err(e) = written {
        log::info!("[buckaroo-tauri] probe cache not written in {}: {e}", cache.display());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(name: &str) -> (PathBuf, PathBuf, ProbeReport) {
        let root = std::env::temp_dir().join(format!("buckaroo-probe-cache-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&root);
        let site = root.join("venv/lib/python3.11/site-packages");
        std::fs::create_dir_all(&site).unwrap();
        let python = root.join("venv/bin/python");
        std::fs::create_dir_all(python.parent().unwrap()).unwrap();
        std::fs::write(&python, "#!/bin/sh\n").unwrap();
        let report: ProbeReport = serde_json::from_value(serde_json::json!({
            "python": python, "python_version": "3.11.2", "prefix": root.join("venv"), "buckaroo": "0.15.11",
            "pandas": "2.2.3", "tornado": "6.4", "problems": [], "pip": "", "ok": true,
        }))
        .unwrap();
        (root, python, report)
    }

    #[test]
    fn a_usable_report_is_found_again_until_a_package_changes() {
        let (root, python, report) = env("hit");
        let cache = root.join("cache");
        assert!(lookup(&cache, &python, "h1").is_none());
        store(&cache, &python, "h1", &report);
        assert_eq!(lookup(&cache, &python, "h1").unwrap().buckaroo.as_deref(), Some("0.15.11"));
        assert!(lookup(&cache, &python, "h2").is_none(), "another launcher probes again");
        let env = [("PYTHONPATH".to_string(), "/shadow".to_string())];
        assert_ne!(key("h1", &env), key("h1", &[]), "another environment probes again");
        // pip installs: a new dist-info folder in site-packages changes its mtime.
        std::thread::sleep(std::time::Duration::from_millis(20));
        std::fs::create_dir(root.join("venv/lib/python3.11/site-packages/pandas-3.0.dist-info")).unwrap();
        assert!(lookup(&cache, &python, "h1").is_none());
        let _ = std::fs::remove_dir_all(&root);
    }

    #[test]
    fn a_failed_report_forgets_the_interpreter_and_a_damaged_file_is_a_miss() {
        let (root, python, report) = env("miss");
        let cache = root.join("cache");
        store(&cache, &python, "h1", &report);
        store(
            &cache,
            &python,
            "h1",
            &ProbeReport {
                ok: false,
                ..report.clone()
            },
        );
        assert!(lookup(&cache, &python, "h1").is_none());
        std::fs::write(cache.join("probe.json"), "not json").unwrap();
        assert!(lookup(&cache, &python, "h1").is_none());
        store(&cache, &python, "h1", &report);
        assert!(lookup(&cache, &python, "h1").is_some());
        let _ = std::fs::remove_dir_all(&root);
    }
}
