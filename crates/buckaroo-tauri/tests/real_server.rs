//! The plugin core against the real buckaroo server from the project venv
//! (`make setup` creates it). No window: sinks are channels.

use buckaroo_tauri::connection::FrameSink;
use buckaroo_tauri::pairing::Outgoing;
use buckaroo_tauri::{hub::LoadPathArgs, BuckarooConfig, Hub, LoadMode, RestartPolicy, Status, Supervisor};
use serde_json::{json, Value};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::mpsc;

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..").canonicalize().unwrap()
}

fn venv_python() -> PathBuf {
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

fn data(name: &str) -> PathBuf {
    let p = repo().join("python/data").join(name);
    assert!(p.is_file(), "{} missing: run `make setup` to generate the sample data", p.display());
    p
}

struct Collect(mpsc::UnboundedSender<Outgoing>);
impl FrameSink for Collect {
    fn deliver(&self, frame: Outgoing) -> bool {
        self.0.send(frame).is_ok()
    }
}

struct Window {
    rx: mpsc::UnboundedReceiver<Outgoing>,
}

impl Window {
    async fn next(&mut self) -> Outgoing {
        tokio::time::timeout(Duration::from_secs(60), self.rx.recv())
            .await
            .expect("frame within 60 s")
            .expect("sink open")
    }

    async fn next_json(&mut self, kind: &str) -> Value {
        loop {
            if let Outgoing::Json(t) = self.next().await {
                let v: Value = serde_json::from_str(&t).unwrap();
                if v["type"] == kind {
                    return v;
                }
            }
        }
    }

    /// The reply to a row request: (header, parquet bytes if any).
    async fn row_reply(&mut self) -> (Value, Option<Vec<u8>>) {
        let header = self.next_json("infinite_resp").await;
        if header["payload"]["format"] == "parquet_buffer" {
            match self.next().await {
                Outgoing::Raw(b) => return (header, Some(b)),
                other => panic!("expected raw parquet after header, got {other:?}"),
            }
        }
        (header, None)
    }
}

fn config() -> BuckarooConfig {
    BuckarooConfig::pandas()
        .with_python(venv_python())
        .with_scope(repo().join("python/data"))
        .with_default_mode(LoadMode::Buckaroo)
        .with_restart_policy(RestartPolicy {
            initial_backoff: Duration::from_millis(50),
            ..Default::default()
        })
}

async fn start(cfg: BuckarooConfig) -> (Arc<Supervisor>, Arc<Hub>) {
    let sup = Supervisor::new(cfg);
    let hub = Hub::new(sup.clone());
    tokio::spawn(sup.clone().run());
    tokio::spawn(hub.clone().follow_restarts());
    (sup, hub)
}

async fn attach(hub: &Arc<Hub>, label: &str) -> Window {
    let (tx, rx) = mpsc::unbounded_channel();
    hub.attach(label, Arc::new(Collect(tx))).await.unwrap();
    Window { rx }
}

fn load(path: &Path) -> LoadPathArgs {
    LoadPathArgs {
        path: path.display().to_string(),
        ..Default::default()
    }
}

fn rows(start: u64, end: u64) -> Value {
    json!({"type": "infinite_request", "payload_args": {"sourceName": "t", "start": start, "end": end}})
}

fn pid_alive(pid: u32) -> bool {
    // A zombie still answers kill(0); look at its state instead.
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        Ok(stat) => !stat.rsplit(')').next().unwrap_or("").trim_start().starts_with('Z'),
        Err(_) => false,
    }
}

fn group_members(pgid: u32) -> Vec<u32> {
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

fn parquet_rows(bytes: &[u8]) -> i64 {
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

fn ready_pid(sup: &Supervisor) -> u32 {
    match sup.status() {
        Status::Ready { pid, .. } => pid,
        other => panic!("not ready: {other:?}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn load_initial_state_rows_and_error_reply() {
    let (sup, hub) = start(config()).await;
    let mut w = attach(&hub, "main").await;
    let result = hub.load_path("main", load(&data("small_100k.parquet"))).await.unwrap();
    assert_eq!(result.rows, Some(100_000));
    let state = w.next_json("initial_state").await;
    assert_eq!(state["protocol_version"], 1);
    assert_eq!(state["mode"], "buckaroo");

    hub.send("main", &rows(100, 1100)).unwrap();
    let (header, parquet) = w.row_reply().await;
    assert_eq!(header["key"]["start"], 100);
    assert_eq!(header["length"], 100_000);
    assert_eq!(parquet_rows(&parquet.unwrap()), 1000);

    // Error reply: no binary frame, delivered at once, and the next request still works.
    hub.send(
        "main",
        &json!({"type":"infinite_request","payload_args":{"start":0,"end":10,"sort":"zz"}}),
    )
    .unwrap();
    let (header, parquet) = w.row_reply().await;
    assert!(header["error_info"].is_string());
    assert!(parquet.is_none());
    hub.send("main", &rows(0, 5)).unwrap();
    let (_, parquet) = w.row_reply().await;
    assert_eq!(parquet_rows(&parquet.unwrap()), 5);

    // Bad input from the page is refused with a code, before it reaches the server.
    assert_eq!(
        hub.send("main", &json!({"type":"load","path":"/etc/passwd"})).unwrap_err().code(),
        "message_not_allowed"
    );
    assert_eq!(hub.send("main", &json!([1])).unwrap_err().code(), "invalid_message");
    assert_eq!(
        hub.load_path("main", load(Path::new("/etc/passwd"))).await.unwrap_err().code(),
        "path_not_allowed"
    );
    assert_eq!(
        hub.load_path("main", load(&repo().join("python/data/../pyproject.toml")))
            .await
            .unwrap_err()
            .code(),
        "path_not_allowed"
    );
    let err = hub
        .load_path("main", load(&repo().join("python/data/missing.parquet")))
        .await
        .unwrap_err();
    assert_eq!(
        (err.code(), serde_json::to_value(&err).unwrap()["serverCode"].clone()),
        ("load_failed", json!("file_not_found"))
    );
    let err = hub.load_path("main", load(&data("corrupt.parquet"))).await.unwrap_err();
    assert_eq!(serde_json::to_value(&err).unwrap()["serverCode"], "invalid_file");
    assert_eq!(hub.send("nobody", &rows(0, 1)).unwrap_err().code(), "not_attached");
    assert_eq!(
        hub.load_path("nobody", load(&data("tiny.parquet"))).await.unwrap_err().code(),
        "not_attached"
    );

    let pid = ready_pid(&sup);
    sup.shutdown().await;
    assert_eq!(sup.status(), Status::Stopped);
    assert!(
        group_members(pid).is_empty(),
        "sidecar group {pid} left behind: {:?}",
        group_members(pid)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_windows_are_isolated() {
    let (sup, hub) = start(config()).await;
    let mut a = attach(&hub, "a").await;
    let mut b = attach(&hub, "b").await;
    let ra = hub.load_path("a", load(&data("tiny.parquet"))).await.unwrap();
    let rb = hub.load_path("b", load(&data("small_100k.parquet"))).await.unwrap();
    assert_ne!(ra.session_id, rb.session_id);
    assert_eq!(a.next_json("initial_state").await["df_meta"]["total_rows"], 50);
    assert_eq!(b.next_json("initial_state").await["df_meta"]["total_rows"], 100_000);
    hub.send("a", &rows(0, 1000)).unwrap();
    let (ha, pa) = a.row_reply().await;
    assert_eq!((ha["length"].clone(), parquet_rows(&pa.unwrap())), (json!(50), 50));
    // b received nothing from a's traffic.
    assert!(b.rx.try_recv().is_err());
    hub.detach("a");
    assert_eq!(hub.send("a", &rows(0, 1)).unwrap_err().code(), "not_attached");
    hub.send("b", &rows(0, 3)).unwrap();
    assert_eq!(parquet_rows(&b.row_reply().await.1.unwrap()), 3);
    sup.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kill_9_restarts_reconnects_and_replays() {
    let (sup, hub) = start(config()).await;
    let mut w = attach(&hub, "main").await;
    hub.load_path("main", load(&data("small_100k.parquet"))).await.unwrap();
    w.next_json("initial_state").await;
    let old = ready_pid(&sup);

    // A request in flight when the sidecar dies is answered (rows or an error), never dropped.
    hub.send(
        "main",
        &json!({"type":"infinite_request","payload_args":{"start":0,"end":10000,"sort":"e","sort_direction":"asc","tag":"inflight"}}),
    )
    .unwrap();
    let t0 = std::time::Instant::now();
    nix::sys::signal::kill(nix::unistd::Pid::from_raw(old as i32), nix::sys::signal::Signal::SIGKILL).unwrap();
    let (reply, _) = w.row_reply().await;
    assert_eq!(reply["key"]["tag"], "inflight");

    // The replayed load pushes a fresh initial_state into the same window, same session.
    let state = w.next_json("initial_state").await;
    let ready_ms = t0.elapsed().as_millis();
    assert_eq!(state["df_meta"]["total_rows"], 100_000);
    let new = ready_pid(&sup);
    assert_ne!(old, new);
    assert!(matches!(sup.status(), Status::Ready { generation: 2, .. }));
    hub.send("main", &rows(10, 20)).unwrap();
    let (h, p) = w.row_reply().await;
    assert_eq!((h["key"]["start"].clone(), parquet_rows(&p.unwrap())), (json!(10), 10));
    eprintln!("restart-to-rows-ready: {ready_ms} ms");
    sup.shutdown().await;
    assert!(!pid_alive(new));
}

fn fake_python(name: &str, server_body: &str) -> PathBuf {
    use std::os::unix::fs::PermissionsExt;
    let dir = std::env::temp_dir().join(format!("bt-fake-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let p = dir.join(name);
    let probe = r#"{"python":"fake","python_version":"3.11.0","buckaroo":"0.15.11","pandas":"2.3.3","tornado":"6.6","problems":[],"warnings":[],"pip":"x","ok":true}"#;
    std::fs::write(
        &p,
        format!("#!/bin/sh\ncase \"$*\" in *--probe) echo '{probe}'; exit 0;; esac\n{server_body}\n"),
    )
    .unwrap();
    std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o755)).unwrap();
    p
}

async fn failure_of(cfg: BuckarooConfig) -> Value {
    let sup = Supervisor::new(cfg.with_max_restarts(0).with_handshake_timeout(Duration::from_secs(2)));
    tokio::time::timeout(Duration::from_secs(60), sup.clone().run())
        .await
        .expect("supervisor gives up");
    match sup.status() {
        Status::Failed { error } => serde_json::to_value(error).unwrap(),
        other => panic!("expected failed, got {other:?}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn startup_failures_have_codes() {
    let e = failure_of(BuckarooConfig::xorq().with_python("/no/such/python3")).await;
    assert_eq!(e["code"], "python_not_found");

    // A real Python without buckaroo (a bare venv): the hint is the exact pip command.
    let bare = std::env::temp_dir().join(format!("bt-bare-venv-{}", std::process::id()));
    let ok = std::process::Command::new(venv_python())
        .args(["-m", "venv", "--without-pip"])
        .arg(&bare)
        .status()
        .unwrap();
    assert!(ok.success());
    let e = failure_of(BuckarooConfig::xorq().with_venv(&bare)).await;
    assert_eq!(e["code"], "buckaroo_missing");
    assert!(e["message"].as_str().unwrap().contains("buckaroo is not installed"), "{e}");
    assert!(
        e["hint"].as_str().unwrap().contains("pip install") && e["hint"].as_str().unwrap().contains("pandas<3"),
        "{e}"
    );
    std::fs::remove_dir_all(&bare).ok();

    let e = failure_of(BuckarooConfig::xorq().with_python(fake_python("silent", "exec sleep 30"))).await;
    assert_eq!(e["code"], "handshake_timeout");

    let e =
        failure_of(BuckarooConfig::xorq().with_python(fake_python("garbage", "echo 'hello there'; echo BUCKAROO_PORT=1; exec sleep 30")))
            .await;
    assert_eq!(e["code"], "handshake_invalid");
    assert!(e["message"].as_str().unwrap().contains("hello there"));

    let e = failure_of(BuckarooConfig::xorq().with_python(fake_python("crash", "echo 'Traceback: boom' >&2; exit 1"))).await;
    assert_eq!(e["code"], "sidecar_exited");
    assert!(e["message"].as_str().unwrap().contains("boom"), "{e}");

    // The launcher's "internals not recognised" exit: permanent, with the way out as the hint.
    let e = failure_of(BuckarooConfig::xorq().with_python(fake_python("old", "echo 'buckaroo 0.9 not supported' >&2; exit 3"))).await;
    assert_eq!(e["code"], "launcher_unsupported");
    assert!(e["hint"].as_str().unwrap().contains("with_plain_server"), "{e}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn crash_after_handshake_uses_the_budget() {
    // Prints a valid handshake, then dies: must not restart forever.
    let py = fake_python("flaky", "echo BUCKAROO_PORT=9; sleep 0.2; exit 1");
    let sup = Supervisor::new(BuckarooConfig::xorq().with_python(py).with_restart_policy(RestartPolicy {
        max_restarts: 2,
        initial_backoff: Duration::from_millis(10),
        ..Default::default()
    }));
    let mut rx = sup.subscribe();
    let run = tokio::spawn(sup.clone().run());
    let mut seen = Vec::new();
    loop {
        let s = rx.borrow_and_update().clone();
        seen.push(s.name());
        if matches!(s, Status::Failed { .. }) {
            break;
        }
        tokio::time::timeout(Duration::from_secs(30), rx.changed()).await.unwrap().unwrap();
    }
    run.await.unwrap();
    assert_eq!(seen.iter().filter(|s| **s == "ready").count(), 3, "{seen:?}");
    assert_eq!(seen.iter().filter(|s| **s == "restarting").count(), 2, "{seen:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn over_the_in_flight_cap_requests_fail_fast_and_the_rest_are_answered() {
    let (sup, hub) = start(config().with_max_in_flight(8)).await;
    let mut w = attach(&hub, "main").await;
    hub.load_path("main", load(&data("small_100k.parquet"))).await.unwrap();
    w.next_json("initial_state").await;
    let (mut accepted, mut refused) = (0, 0);
    for i in 0..40u64 {
        match hub.send(
            "main",
            &json!({"type":"infinite_request","payload_args":{"start": i * 100, "end": i * 100 + 1000, "sort": "c"}}),
        ) {
            Ok(()) => accepted += 1,
            Err(e) => {
                assert_eq!(e.code(), "backpressure");
                refused += 1;
            }
        }
    }
    assert!(accepted >= 8 && refused > 0, "accepted {accepted}, refused {refused}");
    // Every accepted request gets exactly one reply, in order, with its parquet frame.
    let mut starts = Vec::new();
    for _ in 0..accepted {
        let (h, p) = w.row_reply().await;
        assert!(p.is_some(), "{h}");
        starts.push(h["key"]["start"].as_u64().unwrap());
    }
    assert!(starts.windows(2).all(|s| s[0] < s[1]), "{starts:?}");
    // Once answered, capacity is back.
    hub.send("main", &rows(0, 1)).unwrap();
    assert_eq!(parquet_rows(&w.row_reply().await.1.unwrap()), 1);
    sup.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn retry_after_the_user_fixes_the_environment() {
    let python = std::env::temp_dir().join(format!("bt-retry-{}/python", std::process::id()));
    std::fs::create_dir_all(python.parent().unwrap()).unwrap();
    let _ = std::fs::remove_file(&python);
    let sup = Supervisor::new(config().with_python(&python).with_max_restarts(0));
    let hub = Hub::new(sup.clone());
    tokio::spawn(sup.clone().run());
    tokio::spawn(hub.clone().follow_restarts());
    let mut rx = sup.subscribe();
    tokio::time::timeout(Duration::from_secs(30), rx.wait_for(|s| matches!(s, Status::Failed { .. })))
        .await
        .unwrap()
        .unwrap();
    assert!(matches!(sup.status(), Status::Failed { error } if error.code == "python_not_found"));
    assert!(!Arc::new(Supervisor::new(config())).retry(), "retry only from failed");

    // "Installed it": a wrapper (a symlink would make Python miss the venv's pyvenv.cfg).
    std::fs::write(&python, format!("#!/bin/sh\nexec {} \"$@\"\n", venv_python().display())).unwrap();
    std::fs::set_permissions(&python, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    assert!(sup.retry());
    tokio::time::timeout(Duration::from_secs(60), rx.wait_for(|s| matches!(s, Status::Ready { .. })))
        .await
        .unwrap()
        .unwrap();
    let mut w = attach(&hub, "main").await;
    hub.load_path("main", load(&data("tiny.parquet"))).await.unwrap();
    assert_eq!(w.next_json("initial_state").await["df_meta"]["total_rows"], 50);
    sup.shutdown().await;
    std::fs::remove_file(&python).ok();
}
