//! The plugin core against the real buckaroo server from the project venv
//! (`make setup` creates it). No window: sinks are channels.

mod common;

use buckaroo_tauri::{
    batch_records, BuckarooConfig, Hub, LoadExprArgs, RestartPolicy, StatsDelivery, Status, Supervisor, RECORD_JSON, RECORD_ROWS,
};
use common::*;
use serde_json::{json, Value};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::mpsc;

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

/// A remount while Python runs (React's StrictMode, a page reload, hot reload): two
/// attaches from one window in quick succession. The newest gets every frame, the
/// older ones nothing, and the session stays.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn of_two_quick_attaches_from_one_window_the_newest_gets_every_frame() {
    let (sup, hub) = start(config()).await;
    let mut before = attach(&hub, "main").await;
    hub.load_path("main", load(&data("tiny.parquet"))).await.unwrap();
    assert_eq!(before.next_json("initial_state").await["df_meta"]["total_rows"], 50);
    tokio::time::sleep(Duration::from_millis(300)).await;
    while before.rx.try_recv().is_ok() {}

    let ((ta, ra), (tb, rb)) = (mpsc::unbounded_channel(), mpsc::unbounded_channel());
    let (ia, ib) = tokio::join!(hub.attach("main", Arc::new(Collect(ta))), hub.attach("main", Arc::new(Collect(tb))));
    let (ia, ib) = (ia.unwrap(), ib.unwrap());
    assert_eq!((&ia.session_id, &ib.session_id), (&ib.session_id, &hub.session_of("main").unwrap()));
    assert!(!ia.connected && ib.connected, "only the newest attach connects: {ia:?} {ib:?}");
    let (mut a, mut b) = (Window { rx: ra, parquet: None }, Window { rx: rb, parquet: None });
    // The fresh socket's current state, then row replies and the next load's state.
    assert_eq!(b.next_json("initial_state").await["df_meta"]["total_rows"], 50);
    hub.send("main", &rows(0, 10)).unwrap();
    assert_eq!(parquet_rows(&b.row_reply().await.1.unwrap()), 10);
    hub.load_path("main", load(&data("small_100k.parquet"))).await.unwrap();
    assert_eq!(b.next_json("initial_state").await["df_meta"]["total_rows"], 100_000);
    hub.send("main", &rows(0, 5)).unwrap();
    assert_eq!(parquet_rows(&b.row_reply().await.1.unwrap()), 5);
    assert!(a.rx.try_recv().is_err(), "the superseded attach got a frame");
    assert!(before.rx.try_recv().is_err(), "the replaced page got a frame");
    sup.shutdown().await;
}

/// Polls attach `id` of `label` until a record of `kind` whose JSON (a row reply's
/// header) has `type`; returns it, with a row reply's parquet bytes.
async fn poll_until(hub: &Hub, label: &str, id: u64, kind: u8, ty: &str) -> (Value, Vec<u8>) {
    for _ in 0..30 {
        let batch = hub.poll(label, id, Duration::from_secs(2)).await.unwrap();
        for (k, payload) in batch_records(&batch).expect("a whole batch") {
            let (json, rest) = match k {
                RECORD_ROWS => {
                    let n = u32::from_le_bytes(payload[..4].try_into().unwrap()) as usize;
                    (payload[4..4 + n].to_vec(), payload[4 + n..].to_vec())
                }
                _ => (payload.to_vec(), Vec::new()),
            };
            let v: Value = serde_json::from_slice(&json).unwrap();
            if k == kind && v["type"] == ty {
                return (v, rest);
            }
        }
    }
    panic!("no {ty} record of kind {kind} within 30 polls");
}

/// A polled attach gets the same frames, as batches a poll takes; a newer attach of
/// the window ends the older one's poll, and a closed window ends the newest's.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_polled_attach_takes_its_frames_and_a_newer_attach_ends_its_poll() {
    let (sup, hub) = start(config()).await;
    let info = hub.attach_polled("main").await.unwrap();
    let id = info.poll_id.expect("a polled attach has a poll id");
    hub.load_path("main", load(&data("tiny.parquet"))).await.unwrap();
    let (state, _) = poll_until(&hub, "main", id, RECORD_JSON, "initial_state").await;
    assert_eq!(state["df_meta"]["total_rows"], 50);
    hub.send("main", &rows(0, 10)).unwrap();
    let (header, parquet) = poll_until(&hub, "main", id, RECORD_ROWS, "infinite_resp").await;
    assert_eq!(header["payload"]["format"], "parquet_buffer");
    assert_eq!(parquet_rows(&parquet), 10);

    let waiting = tokio::spawn({
        let hub = hub.clone();
        async move { hub.poll("main", id, Duration::from_secs(30)).await }
    });
    tokio::time::sleep(Duration::from_millis(200)).await;
    let mut newer = attach(&hub, "main").await;
    let ended = tokio::time::timeout(Duration::from_secs(5), waiting)
        .await
        .expect("the old poll ends at once");
    assert_eq!(ended.unwrap().unwrap_err().code(), "not_attached");
    assert_eq!(newer.next_json("initial_state").await["df_meta"]["total_rows"], 50);

    let again = hub.attach_polled("main").await.unwrap().poll_id.unwrap();
    assert!(again > id);
    assert_eq!(
        hub.poll("main", id, Duration::from_millis(10)).await.unwrap_err().code(),
        "not_attached"
    );
    let waiting = tokio::spawn({
        let hub = hub.clone();
        async move { hub.poll("main", again, Duration::from_secs(30)).await }
    });
    // Its fresh socket's state first; then the window closes and the poll after it ends.
    let first = waiting.await.unwrap().unwrap();
    assert!(!first.is_empty());
    hub.detach("main");
    assert_eq!(
        hub.poll("main", again, Duration::from_secs(1)).await.unwrap_err().code(),
        "not_attached"
    );
    sup.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kill_9_restarts_reconnects_and_replays() {
    let (sup, hub) = start(config()).await;
    let mut w = attach(&hub, "main").await;
    hub.load_path("main", load(&data("small_100k.parquet"))).await.unwrap();
    let first = w.next_json("initial_state").await;
    let old = ready_pid(&sup);

    // A request in flight when the sidecar dies is answered (rows or an error), never dropped.
    hub.send(
        "main",
        &json!({"type":"infinite_request","payload_args":{"start":0,"end":10000,"sort":"e","sort_direction":"asc","tag":"inflight"}}),
    )
    .unwrap();
    let t0 = std::time::Instant::now();
    nix::sys::signal::kill(nix::unistd::Pid::from_raw(old as i32), nix::sys::signal::Signal::SIGKILL).unwrap();
    let (reply, parquet) = w.row_reply().await;
    assert_eq!(reply["key"]["tag"], "inflight");
    if parquet.is_none() {
        // Coded, so the page holds it and asks again once the load is replayed.
        assert_eq!(reply["error_code"], "connection_closed", "{reply}");
    }

    // The page is told a replay is coming (it keeps its grid), then the replayed load
    // pushes initial_state into the same window, same session.
    w.next_json("buckaroo_tauri_replay").await;
    let state = w.next_json("initial_state").await;
    let ready_ms = t0.elapsed().as_millis();
    assert_eq!(state["df_meta"]["total_rows"], 100_000);
    // What lets the page keep its grid: the new sidecar's state for the same load is the
    // same, key for key, but for the summary stats, which buckaroo computes on a random
    // sample of a frame this size (the adapter keeps the page's).
    let without_stats = |v: &Value| {
        let mut v = v.clone();
        v["df_data_dict"].as_object_mut().map(|d| d.remove("all_stats"));
        v
    };
    let (first, again) = (without_stats(&first), without_stats(&state));
    let differ: Vec<_> = first
        .as_object()
        .unwrap()
        .iter()
        .filter(|(k, v)| again.get(k.as_str()) != Some(v))
        .map(|(k, _)| k.clone())
        .collect();
    assert!(differ.is_empty(), "keys that differ after the replay: {differ:?}");
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

/// `f` until it gives `Some`, checked every 100 ms, for up to `limit`.
async fn wait_for<T>(limit: Duration, mut f: impl FnMut() -> Option<T>) -> T {
    let t0 = std::time::Instant::now();
    loop {
        if let Some(v) = f() {
            return v;
        }
        assert!(t0.elapsed() < limit, "not within {limit:?}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_standby_takes_over_at_once_then_a_new_one_is_parked_and_shutdown_ends_both() {
    let (sup, hub) = start(config().with_standby(true)).await;
    let mut w = attach(&hub, "main").await;
    hub.load_path("main", load(&data("small_100k.parquet"))).await.unwrap();
    w.next_json("initial_state").await;
    assert_eq!(sup.standby_pid(), None, "none while the first load is young");
    let standby = wait_for(Duration::from_secs(60), || sup.standby_pid()).await;
    let old = ready_pid(&sup);
    assert_ne!(standby, old);

    let t0 = std::time::Instant::now();
    nix::sys::signal::kill(nix::unistd::Pid::from_raw(old as i32), nix::sys::signal::Signal::SIGKILL).unwrap();
    w.next_json("buckaroo_tauri_replay").await;
    assert_eq!(w.next_json("initial_state").await["df_meta"]["total_rows"], 100_000);
    let took = t0.elapsed();
    assert_eq!(ready_pid(&sup), standby, "the standby took over");
    hub.send("main", &rows(10, 20)).unwrap();
    assert_eq!(parquet_rows(&w.row_reply().await.1.unwrap()), 10);

    let next = wait_for(Duration::from_secs(60), || sup.standby_pid().filter(|p| *p != standby)).await;
    sup.shutdown().await;
    assert!(
        !pid_alive(standby) && !pid_alive(next),
        "shutdown ends the running sidecar and the standby"
    );
    eprintln!("kill -9 → the standby has the window's file again: {} ms", took.as_millis());
}

/// A server that dies at start the way a broken environment does: a warning, the
/// traceback, then an unrelated line printed on the way out.
const CRASH_AT_START: &str = r#"cat >&2 <<'TRACE'
/venv/lib/python3.11/site-packages/pandas/__init__.py:1: UserWarning: an unrelated import warning
Traceback (most recent call last):
  File "<string>", line 250, in <module>
    from buckaroo.server.app import make_app
ModuleNotFoundError: No module named 'pyarrow'
/venv/lib/python3.11/site-packages/x.py:7: DeprecationWarning: printed at shutdown
TRACE
exit 1"#;

fn fake_python(name: &str, server_body: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("bt-fake-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let p = dir.join(name);
    let probe = r#"{"python":"fake","python_version":"3.11.0","buckaroo":"0.15.11","pandas":"2.3.3","tornado":"6.6","problems":[],"warnings":[],"pip":"x","ok":true}"#;
    write_executable(
        &p,
        &format!("#!/bin/sh\ncase \"$*\" in *--probe) echo '{probe}'; exit 0;; esac\n{server_body}\n"),
    );
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

    let e = failure_of(BuckarooConfig::xorq().with_python(fake_python("crash", CRASH_AT_START))).await;
    assert_eq!(e["code"], "sidecar_exited");
    assert_eq!(
        e["message"],
        "the sidecar exited with code 1: ModuleNotFoundError: No module named 'pyarrow'"
    );

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
    write_executable(&python, &format!("#!/bin/sh\nexec {} \"$@\"\n", venv_python().display()));
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

/// Every status the supervisor publishes, in order (a watch channel alone can skip some).
fn record_statuses(sup: &Arc<Supervisor>) -> Arc<std::sync::Mutex<Vec<Status>>> {
    let seen = Arc::new(std::sync::Mutex::new(Vec::new()));
    let (mut rx, out) = (sup.subscribe(), seen.clone());
    tokio::spawn(async move {
        loop {
            out.lock().unwrap().push(rx.borrow_and_update().clone());
            if rx.changed().await.is_err() {
                break;
            }
        }
    });
    seen
}

const BIG_ROWS: u64 = 3_000_000;

/// A CSV that takes the sidecar seconds to read (~180 MB, 3 M rows, 8 columns),
/// written once per machine and reused.
fn big_csv() -> PathBuf {
    use std::io::Write;
    let dir = std::env::temp_dir().join("bt-big-csv");
    let path = dir.join(format!("big-{BIG_ROWS}-v1.csv"));
    if path.is_file() {
        return path;
    }
    std::fs::create_dir_all(&dir).unwrap();
    let tmp = dir.join(format!("big.{}.tmp", std::process::id()));
    let mut f = std::io::BufWriter::new(std::fs::File::create(&tmp).unwrap());
    writeln!(f, "id,b,c,name,e,day,flag,text").unwrap();
    for i in 0..BIG_ROWS {
        writeln!(
            f,
            "{i},{},{}.5,name{},{},2024-01-{:02},{},text {} here",
            i * 7 % 1000,
            i % 13,
            i % 9973,
            i * 31 % 100_003,
            i % 28 + 1,
            i % 2 == 0,
            i % 577
        )
        .unwrap();
    }
    f.into_inner().unwrap().sync_all().unwrap();
    std::fs::rename(&tmp, &path).unwrap();
    path
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_slow_load_in_one_window_does_not_hold_up_another() {
    let big = big_csv();
    let (sup, hub) = start(config().with_scope(big.parent().unwrap())).await;
    let mut fast = attach(&hub, "fast").await;
    let _slow = attach(&hub, "slow").await;
    hub.load_path("fast", load(&data("small_100k.parquet"))).await.unwrap();
    fast.next_json("initial_state").await;

    let order = Arc::new(std::sync::Mutex::new(Vec::new()));
    let slow = {
        let (hub, order, big) = (hub.clone(), order.clone(), big.clone());
        tokio::spawn(async move {
            let r = hub.load_path("slow", load(&big)).await;
            order.lock().unwrap().push("slow load answered");
            r
        })
    };
    // A head start so the slow /load is being read when the other window asks (not a
    // measurement: the assertion is only about which answer comes first).
    tokio::time::sleep(Duration::from_millis(300)).await;
    hub.send("fast", &rows(0, 100)).unwrap();
    let (_, parquet) = fast.row_reply().await;
    assert_eq!(parquet_rows(&parquet.unwrap()), 100);
    order.lock().unwrap().push("other window's rows");
    let health = hub.get("/health").await.unwrap();
    assert!(health.is_object(), "{health}");
    order.lock().unwrap().push("health");

    let loaded = slow.await.unwrap().unwrap();
    assert_eq!(loaded.rows, Some(BIG_ROWS));
    assert_eq!(
        *order.lock().unwrap(),
        ["other window's rows", "health", "slow load answered"],
        "the slow load held up the other window"
    );
    sup.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_load_over_the_load_timeout_is_answered_with_its_code_and_hint() {
    let big = big_csv();
    let cfg = config()
        .with_scope(big.parent().unwrap())
        .with_load_timeout(Duration::from_millis(200));
    let (sup, hub) = start(cfg).await;
    let _w = attach(&hub, "main").await;
    let err = hub.load_path("main", load(&big)).await.unwrap_err();
    let v = serde_json::to_value(&err).unwrap();
    assert_eq!(
        (v["code"].as_str(), v["serverCode"].as_str()),
        (Some("load_failed"), Some("load_timeout")),
        "{v}"
    );
    assert!(
        v["hint"].as_str().unwrap().starts_with("The file took longer than 0.2 s to read;"),
        "{v}"
    );
    // An answer, not a crash: the same sidecar is still up and serving.
    assert!(hub.get("/health").await.unwrap().is_object());
    assert!(matches!(sup.status(), Status::Ready { generation: 1, .. }), "{:?}", sup.status());
    sup.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_fifo_in_scope_is_refused_and_the_sidecar_keeps_serving() {
    let dir = std::env::temp_dir().join(format!("bt-fifo-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let fifo = dir.join("x.parquet");
    assert!(std::process::Command::new("mkfifo").arg(&fifo).status().unwrap().success());
    let (sup, hub) = start(config().with_scope(&dir)).await;
    let mut w = attach(&hub, "main").await;

    let err = hub.load_path("main", load(&fifo)).await.unwrap_err();
    let v = serde_json::to_value(&err).unwrap();
    assert_eq!(v["code"], "path_not_allowed");
    assert!(
        v["message"]
            .as_str()
            .unwrap()
            .ends_with("x.parquet is a FIFO (named pipe), not a regular file"),
        "{v}"
    );
    assert!(v["hint"].as_str().unwrap().contains("Only regular files"), "{v}");
    // Picking or dropping it does not make it readable either.
    hub.allow_file(&fifo);
    assert_eq!(hub.load_path("main", load(&fifo)).await.unwrap_err().code(), "path_not_allowed");

    hub.load_path("main", load(&data("tiny.parquet"))).await.unwrap();
    w.next_json("initial_state").await;
    hub.send("main", &rows(0, 5)).unwrap();
    assert_eq!(parquet_rows(&w.row_reply().await.1.unwrap()), 5);
    sup.shutdown().await;
    std::fs::remove_dir_all(&dir).ok();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sidecar_that_served_is_restarted_every_time_it_is_killed() {
    // The default policy: 5 crash-loop restarts. Seven kills of a serving sidecar use none.
    let (sup, hub) = start(
        BuckarooConfig::pandas()
            .with_python(venv_python())
            .with_scope(repo().join("python/data")),
    )
    .await;
    let seen = record_statuses(&sup);
    let mut w = attach(&hub, "main").await;
    hub.load_path("main", load(&data("tiny.parquet"))).await.unwrap();
    w.next_json("initial_state").await;
    for round in 1..=7u64 {
        hub.send("main", &rows(0, 5)).unwrap();
        assert_eq!(parquet_rows(&w.row_reply().await.1.unwrap()), 5, "round {round}");
        let pid = ready_pid(&sup);
        nix::sys::signal::kill(nix::unistd::Pid::from_raw(pid as i32), nix::sys::signal::Signal::SIGKILL).unwrap();
        // The replayed load's initial_state: the next sidecar is up and has the file.
        assert_eq!(w.next_json("initial_state").await["df_meta"]["total_rows"], 50, "round {round}");
        assert!(
            matches!(sup.status(), Status::Ready { generation, .. } if generation == round + 1),
            "round {round}: {:?}",
            sup.status()
        );
    }
    let seen = seen.lock().unwrap().clone();
    assert!(!seen.iter().any(|s| matches!(s, Status::Failed { .. })), "{seen:?}");
    let restarts: Vec<_> = seen
        .iter()
        .filter_map(|s| match s {
            Status::Restarting {
                attempt,
                retry_in_ms,
                error,
            } => Some((*attempt, *retry_in_ms, error.message.clone())),
            _ => None,
        })
        .collect();
    // The status is a watch channel: an immediate restart can replace `restarting` with
    // `starting` before the recorder looks, so not every one is seen; none may differ.
    assert!((1..=7).contains(&restarts.len()), "{seen:?}");
    for r in &restarts {
        assert_eq!(r, &(1, 0, "the sidecar was killed by signal 9 (SIGKILL)".to_string()));
    }
    sup.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_crash_loop_backs_off_and_fails_with_the_tracebacks_last_line() {
    let py = fake_python("crash-loop", CRASH_AT_START);
    let sup = Supervisor::new(BuckarooConfig::xorq().with_python(py).with_restart_policy(RestartPolicy {
        max_restarts: 2,
        initial_backoff: Duration::from_millis(10),
        ..Default::default()
    }));
    let seen = record_statuses(&sup);
    tokio::time::timeout(Duration::from_secs(60), sup.clone().run())
        .await
        .expect("supervisor gives up");
    let seen = seen.lock().unwrap().clone();
    let delays: Vec<u64> = seen
        .iter()
        .filter_map(|s| match s {
            Status::Restarting { retry_in_ms, .. } => Some(*retry_in_ms),
            _ => None,
        })
        .collect();
    assert_eq!(delays, vec![10, 20], "{seen:?}");
    let Status::Failed { error } = sup.status() else {
        panic!("not failed: {seen:?}")
    };
    assert_eq!(error.code, "sidecar_exited");
    assert_eq!(
        error.message,
        "the sidecar exited with code 1: ModuleNotFoundError: No module named 'pyarrow'"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_healthy_life_skips_the_next_probe_and_a_crash_runs_it_again() {
    // Up 0.5 s after its handshake: healthy under a 100 ms grace, though it serves
    // nothing. Once `broken` exists it dies before its handshake instead.
    let dir = std::env::temp_dir().join(format!("bt-probes-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let (probes, broken) = (dir.join("probes"), dir.join("broken"));
    let py = fake_python(
        "healthy-then-broken",
        &format!(
            "[ -e {} ] && {{ echo 'ValueError: broken now' >&2; exit 1; }}\necho BUCKAROO_PORT=9; sleep 0.5; exit 1",
            broken.display()
        ),
    );
    // Count the probes: the fake answers them before its server body runs.
    let script = std::fs::read_to_string(&py).unwrap();
    let script = script.replacen("*--probe) ", &format!("*--probe) echo probe >> {}; ", probes.display()), 1);
    write_executable(&py, &script);
    let sup = Supervisor::new(BuckarooConfig::xorq().with_python(&py).with_restart_policy(RestartPolicy {
        max_restarts: 1,
        initial_backoff: Duration::from_millis(10),
        healthy_uptime: Duration::from_millis(100),
        ..Default::default()
    }));
    let mut rx = sup.subscribe();
    let run = tokio::spawn(sup.clone().run());
    let count = || std::fs::read_to_string(&probes).unwrap_or_default().lines().count();
    tokio::time::timeout(
        Duration::from_secs(30),
        rx.wait_for(|s| matches!(s, Status::Ready { generation: 3, .. })),
    )
    .await
    .expect("restarted without giving up")
    .unwrap();
    assert_eq!(count(), 1, "probed again after a healthy life");

    // Broken from now on: the start after the healthy life reuses the probe, crashes,
    // and the retry after that crash probes again before failing too.
    std::fs::write(&broken, "").unwrap();
    tokio::time::timeout(Duration::from_secs(30), run).await.expect("gives up").unwrap();
    let Status::Failed { error } = sup.status() else {
        panic!("not failed: {:?}", sup.status())
    };
    assert_eq!(error.message, "the sidecar exited with code 1: ValueError: broken now");
    assert_eq!(count(), 2, "a crash must be followed by a fresh probe");
    std::fs::remove_dir_all(&dir).ok();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_state_change_that_would_blank_the_grid_is_refused() {
    let (sup, hub) = start(config()).await;
    let mut w = attach(&hub, "main").await;
    hub.load_path("main", load(&data("tiny.parquet"))).await.unwrap();
    let state = w.next_json("initial_state").await;
    assert_eq!(state["buckaroo_state"]["df_display"], "main");

    let bad = json!({"type": "buckaroo_state_change", "new_state": {"df_display": "nope"}});
    let err = hub.send("main", &bad).unwrap_err();
    let v = serde_json::to_value(&err).unwrap();
    assert_eq!(v["code"], "invalid_message");
    assert!(v["message"].as_str().unwrap().contains("\"nope\""), "{v}");
    assert!(v["hint"].as_str().unwrap().contains("main, summary"), "{v}");
    let err = hub
        .send(
            "main",
            &json!({"type": "buckaroo_state_change", "new_state": {"cleaning_method": 5}}),
        )
        .unwrap_err();
    assert_eq!(err.code(), "invalid_message");

    // A partial change is completed from the session's state: the reply still has every key.
    hub.send(
        "main",
        &json!({"type": "buckaroo_state_change", "new_state": {"df_display": "summary"}, "state_seq": 1}),
    )
    .unwrap();
    let reply = w.next_json("initial_state").await;
    assert_eq!(reply["reply_seq"], 1);
    assert_eq!(reply["buckaroo_state"]["df_display"], "summary");
    assert_eq!(reply["buckaroo_state"]["cleaning_method"], "", "{}", reply["buckaroo_state"]);
    assert!(reply["buckaroo_state"]["quick_command_args"].is_object());

    hub.send("main", &rows(0, 5)).unwrap();
    assert_eq!(parquet_rows(&w.row_reply().await.1.unwrap()), 5);
    sup.shutdown().await;
}

/// A scratch folder outside the repository (`xorq build` reads git state) with a HOME
/// inside it (xorq writes its log and caches there); removed on drop.
struct Scratch(PathBuf);

impl Scratch {
    fn new(name: &str) -> Self {
        let dir = std::env::temp_dir().join(format!("buckaroo-tauri-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(dir.join("home")).unwrap();
        Self(dir)
    }

    fn home(&self) -> PathBuf {
        self.0.join("home")
    }

    /// `xorq build` of `parquet` filtered by `filter`, through the dev package's helper.
    fn build(&self, parquet: &Path, filter: &str) -> PathBuf {
        let out = std::process::Command::new(venv_python())
            .args(["-m", "buckaroo_tauri_dev.xorq_builds"])
            .arg(self.0.join("project"))
            .arg(parquet)
            .args(["--where", filter])
            .current_dir(&self.0)
            .env("HOME", self.home())
            .output()
            .unwrap();
        assert!(out.status.success(), "xorq build failed: {}", String::from_utf8_lossy(&out.stderr));
        PathBuf::from(String::from_utf8_lossy(&out.stdout).trim())
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn python_count(parquet: &Path, filter: &str) -> u64 {
    let out = std::process::Command::new(venv_python())
        .args([
            "-c",
            &format!("import sys,pandas as pd; t=pd.read_parquet(sys.argv[1]); print(len(t[{filter}]))"),
        ])
        .arg(parquet)
        .output()
        .unwrap();
    String::from_utf8_lossy(&out.stdout).trim().parse().unwrap()
}

fn expr(build: &Path, stats: StatsDelivery) -> LoadExprArgs {
    LoadExprArgs {
        build_dir: build.display().to_string(),
        stats_delivery: Some(stats),
        ..Default::default()
    }
}

fn server_code(e: &buckaroo_tauri::Error) -> Value {
    serde_json::to_value(e).unwrap()["serverCode"].clone()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_xorq_build_pages_rows_and_sends_its_stats_after_them() {
    let scratch = Scratch::new("xorq");
    let parquet = data("small_100k.parquet");
    let build = scratch.build(&parquet, "t.status != \"archived\"");
    let expected = python_count(&parquet, "t.status != 'archived'");
    let cfg = BuckarooConfig::xorq()
        .with_python(venv_python())
        .with_scope(&scratch.0)
        .with_env("HOME", scratch.home().display().to_string());
    let (sup, hub) = start(cfg).await;
    let mut w = attach(&hub, "main").await;

    // Deferred (the default): the state comes without stats, they follow the first rows.
    let result = hub.load_expr("main", expr(&build, StatsDelivery::Deferred)).await.unwrap();
    assert_eq!(result.rows, Some(expected));
    let state = w.next_json("initial_state").await;
    let stats = &state["df_meta"]["stats"];
    assert_ne!(stats["status"], "complete", "{stats}");
    let generation = stats["gen"].as_u64().expect("a stats generation");
    let mut request = rows(0, 1000);
    request["stats_gen"] = json!(generation);
    hub.send("main", &request).unwrap();
    let (header, parquet_bytes) = w.row_reply().await;
    assert_eq!(header["length"], expected);
    assert_eq!(parquet_rows(&parquet_bytes.unwrap()), 1000);
    let update = w.next_json("stats_update").await;
    assert_eq!(update["stats_gen"], generation);
    assert!(update["payload"].is_object(), "{update}");

    // Inline: every stat is in the first state.
    let mut other = attach(&hub, "inline").await;
    hub.load_expr("inline", expr(&build, StatsDelivery::Inline)).await.unwrap();
    let state = other.next_json("initial_state").await;
    let status = &state["df_meta"]["stats"]["status"];
    assert!(status.is_null() || status == "complete", "{state:?}");

    // A project root's classes are (re)loaded on request; without one it is refused.
    let err = hub.reload_expr("main").await.unwrap_err();
    assert_eq!((err.code(), server_code(&err)), ("load_failed", json!("no_project_root")));
    assert!(err.hint().unwrap().contains("projectRoot"), "{err}");
    let root = scratch.0.join("project_root");
    std::fs::create_dir_all(root.join("post_processing")).unwrap();
    std::fs::write(
        root.join("post_processing/only_open.py"),
        "def process(expr):\n    return expr.filter(expr.status == 'open')\n",
    )
    .unwrap();
    let mut with_root = expr(&build, StatsDelivery::Deferred);
    with_root.project_root = Some(root.display().to_string());
    hub.load_expr("main", with_root).await.unwrap();
    let before = hub.reload_expr("main").await.unwrap();
    std::fs::write(
        root.join("post_processing/only_closed.py"),
        "def process(expr):\n    return expr.filter(expr.status == 'closed')\n",
    )
    .unwrap();
    let after = hub.reload_expr("main").await.unwrap();
    assert_eq!((before.klasses_loaded, after.klasses_loaded), (1, 2));

    // Bad builds are coded errors, never an empty grid.
    let err = hub
        .load_expr("main", expr(&scratch.0.join("nope"), StatsDelivery::Deferred))
        .await
        .unwrap_err();
    assert_eq!(server_code(&err), "build_dir_not_found", "{err}");
    let broken = scratch.0.join("broken");
    copy_dir(&build, &broken);
    std::fs::remove_dir_all(broken.join("reads")).unwrap();
    let err = hub.load_expr("main", expr(&broken, StatsDelivery::Deferred)).await.unwrap_err();
    assert_eq!(server_code(&err), "expr_unreadable", "{err}");
    assert!(err.hint().unwrap().contains("xorq build"), "{err}");
    // Files still load in a xorq app.
    let r = hub
        .load_path("inline", load(&scratch_copy(&scratch, &data("tiny.parquet"))))
        .await
        .unwrap();
    assert_eq!(r.rows, Some(50));
    sup.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_xorq_an_expression_is_xorq_not_installed_and_files_still_load() {
    let scratch = Scratch::new("noxorq");
    // xorq present on disk (so the probe sees it) but failing to import: the
    // server's own 501 path, mapped to the same code as the probe's.
    let shadow = scratch.0.join("shadow/xorq");
    std::fs::create_dir_all(&shadow).unwrap();
    std::fs::write(shadow.join("__init__.py"), "raise ImportError('xorq hidden by the test')\n").unwrap();
    let build = scratch.0.join("build");
    std::fs::create_dir_all(&build).unwrap();
    let cfg = BuckarooConfig::xorq()
        .with_python(venv_python())
        .with_scope(&scratch.0)
        .with_env("HOME", scratch.home().display().to_string())
        .with_env("PYTHONPATH", scratch.0.join("shadow").display().to_string());
    let (sup, hub) = start(cfg).await;
    let _w = attach(&hub, "main").await;
    let err = hub.load_expr("main", expr(&build, StatsDelivery::Deferred)).await.unwrap_err();
    assert_eq!(err.code(), "xorq_not_installed", "{err}");
    assert!(
        err.hint().unwrap().contains("-m pip install \"buckaroo[server,polars,xorq]=="),
        "{err:?}"
    );
    let r = hub
        .load_path("main", load(&scratch_copy(&scratch, &data("tiny.parquet"))))
        .await
        .unwrap();
    assert_eq!(r.rows, Some(50));
    sup.shutdown().await;
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap().flatten() {
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), target).unwrap();
        }
    }
}

fn scratch_copy(scratch: &Scratch, file: &Path) -> PathBuf {
    let to = scratch.0.join(file.file_name().unwrap());
    std::fs::copy(file, &to).unwrap();
    to
}
