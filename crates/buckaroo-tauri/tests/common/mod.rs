//! What the real-server tests share: the project venv's Python, the sample data, a
//! plugin core started on it, and windows whose sinks are channels.
#![allow(dead_code)] // each test file uses its own part

use buckaroo_tauri::{BuckarooConfig, FrameSink, Hub, LoadMode, LoadPathArgs, Outgoing, RestartPolicy, Status, Supervisor};
use serde_json::{json, Value};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::mpsc;

pub fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..").canonicalize().unwrap()
}

pub fn venv_python() -> PathBuf {
    let p = std::env::var_os("BUCKAROO_TEST_PYTHON")
        .map(PathBuf::from)
        .unwrap_or_else(|| repo().join("python/.venv/bin/python"));
    assert!(
        p.is_file(),
        "{} missing: run `make setup` (or set BUCKAROO_TEST_PYTHON)",
        p.display()
    );
    p
}

pub fn data(name: &str) -> PathBuf {
    let p = repo().join("python/data").join(name);
    assert!(p.is_file(), "{} missing: run `make setup` to generate the sample data", p.display());
    p
}

pub struct Collect(pub mpsc::UnboundedSender<Outgoing>);
impl FrameSink for Collect {
    fn deliver(&self, frame: Outgoing) -> bool {
        self.0.send(frame).is_ok()
    }
}

pub struct Window {
    pub rx: mpsc::UnboundedReceiver<Outgoing>,
    /// The parquet bytes of the last frame `next_json` returned, when it was a row reply.
    pub parquet: Option<Vec<u8>>,
}

impl Window {
    pub async fn next(&mut self) -> Outgoing {
        tokio::time::timeout(Duration::from_secs(60), self.rx.recv())
            .await
            .expect("frame within 60 s")
            .expect("sink open")
    }

    pub async fn next_json(&mut self, kind: &str) -> Value {
        loop {
            let (t, parquet) = match self.next().await {
                Outgoing::Json(t) => (t, None),
                Outgoing::Rows { header, parquet } => (header, Some(parquet)),
            };
            let v: Value = serde_json::from_str(&t.text).unwrap();
            assert_eq!(v["type"].as_str().unwrap_or(""), t.kind, "the kind is the frame's type");
            if v["type"] == kind {
                self.parquet = parquet;
                return v;
            }
        }
    }

    /// The reply to a row request: (header, parquet bytes if any).
    pub async fn row_reply(&mut self) -> (Value, Option<Vec<u8>>) {
        let header = self.next_json("infinite_resp").await;
        let parquet = self.parquet.take();
        assert_eq!(
            parquet.is_some(),
            header["payload"]["format"] == "parquet_buffer",
            "parquet bytes come with, and only with, a parquet header: {header}"
        );
        (header, parquet)
    }
}

pub fn config() -> BuckarooConfig {
    BuckarooConfig::pandas()
        .with_python(venv_python())
        .with_scope(repo().join("python/data"))
        .with_default_mode(LoadMode::Buckaroo)
        .with_restart_policy(RestartPolicy {
            initial_backoff: Duration::from_millis(50),
            ..Default::default()
        })
}

pub async fn start(cfg: BuckarooConfig) -> (Arc<Supervisor>, Arc<Hub>) {
    let sup = Supervisor::new(cfg);
    let hub = Hub::new(sup.clone());
    sup.start();
    tokio::spawn(hub.clone().follow_restarts());
    tokio::spawn(hub.clone().watch_liveness());
    (sup, hub)
}

pub async fn attach(hub: &Arc<Hub>, label: &str) -> Window {
    let (tx, rx) = mpsc::unbounded_channel();
    hub.attach(label, Arc::new(Collect(tx))).await.unwrap();
    Window { rx, parquet: None }
}

pub fn load(path: &Path) -> LoadPathArgs {
    LoadPathArgs {
        path: path.display().to_string(),
        ..Default::default()
    }
}

pub fn rows(start: u64, end: u64) -> Value {
    json!({"type": "infinite_request", "payload_args": {"sourceName": "t", "start": start, "end": end}})
}

pub fn pid_alive(pid: u32) -> bool {
    // A zombie still answers kill(0); look at its state instead.
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        Ok(stat) => !stat.rsplit(')').next().unwrap_or("").trim_start().starts_with('Z'),
        Err(_) => false,
    }
}

pub fn group_members(pgid: u32) -> Vec<u32> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir("/proc").unwrap().flatten() {
        let Ok(pid) = entry.file_name().to_string_lossy().parse::<u32>() else {
            continue;
        };
        if let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) {
            let rest: Vec<&str> = stat.rsplit(')').next().unwrap_or("").split_whitespace().collect();
            // fields after comm: state ppid pgrp
            if rest.get(2).and_then(|g| g.parse::<u32>().ok()) == Some(pgid) && rest.first() != Some(&"Z") {
                out.push(pid);
            }
        }
    }
    out
}

pub fn parquet_rows(bytes: &[u8]) -> i64 {
    // Row count from the footer via the venv's pyarrow: the real decoder, not our guess.
    let out = std::process::Command::new(venv_python())
        .args([
            "-c",
            "import sys,io,pyarrow.parquet as pq; print(pq.read_table(io.BytesIO(sys.stdin.buffer.read())).num_rows)",
        ])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .and_then(|mut c| {
            use std::io::Write;
            c.stdin.take().unwrap().write_all(bytes)?;
            c.wait_with_output()
        })
        .unwrap();
    String::from_utf8_lossy(&out.stdout).trim().parse().unwrap()
}

pub fn ready_pid(sup: &Supervisor) -> u32 {
    match sup.status() {
        Status::Ready { pid, .. } => pid,
        other => panic!("not ready: {other:?}"),
    }
}

/// Write an executable script through `sh`, so this process never holds it open for
/// writing: another test thread forking at that moment would make exec fail with
/// ETXTBSY ("Text file busy").
pub fn write_executable(path: &Path, text: &str) {
    use std::io::Write;
    let mut child = std::process::Command::new("sh")
        .args(["-c", "cat > \"$0\" && chmod 755 \"$0\""])
        .arg(path)
        .stdin(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(text.as_bytes()).unwrap();
    assert!(child.wait().unwrap().success());
}
