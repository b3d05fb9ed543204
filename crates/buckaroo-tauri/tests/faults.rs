//! A sidecar that runs but stops answering (here SIGSTOP: in life a C extension holding
//! the GIL, a swap storm, a debugger), against the real buckaroo server.

mod common;

use buckaroo_tauri::{Error, Status, Supervisor};
use common::*;
use nix::sys::signal::{kill, Signal};
use nix::unistd::Pid;
use serde_json::json;
use std::time::{Duration, Instant};

fn signal(pid: u32, sig: Signal) {
    kill(Pid::from_raw(pid as i32), sig).unwrap();
}

async fn wait_status(sup: &Supervisor, what: &str, within: Duration, f: impl Fn(&Status) -> bool) -> Status {
    let deadline = Instant::now() + within;
    loop {
        let s = sup.status();
        if f(&s) {
            return s;
        }
        assert!(Instant::now() < deadline, "{what} within {within:?}; status {s:?}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

fn request(tag: &str, start: u64) -> serde_json::Value {
    json!({"type": "infinite_request", "payload_args": {"sourceName": "t", "start": start, "end": start + 100, "tag": tag}})
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stopped_sidecar_is_unresponsive_its_rows_are_answered_and_it_comes_back_by_itself() {
    let (sup, hub) = start(config()).await;
    let mut w = attach(&hub, "main").await;
    hub.load_path("main", load(&data("small_100k.parquet"))).await.unwrap();
    w.next_json("initial_state").await;
    let pid = ready_pid(&sup);
    let Status::Ready { generation, .. } = sup.status() else {
        unreachable!()
    };

    signal(pid, Signal::SIGSTOP);
    let stopped = Instant::now();
    hub.send("main", &request("waiting", 0)).unwrap(); // in flight to a process that cannot answer
    let (reply, _) = w.row_reply().await;
    let answered_ms = stopped.elapsed().as_millis();
    assert_eq!(
        (reply["key"]["tag"].clone(), reply["error_code"].clone()),
        (json!("waiting"), json!("sidecar_not_responding"))
    );
    assert!(
        matches!(sup.status(), Status::Unresponsive { generation: g, .. } if g == generation),
        "{:?}",
        sup.status()
    );
    // Meanwhile a new request is refused with the same code, not left waiting.
    let refused = hub.send("main", &request("meanwhile", 100)).unwrap_err();
    assert!(matches!(refused, Error::SidecarNotResponding { .. }), "{refused:?}");
    eprintln!("stopped → waiting row answered with sidecar_not_responding: {answered_ms} ms");

    signal(pid, Signal::SIGCONT);
    let resumed = Instant::now();
    wait_status(
        &sup,
        "ready again",
        Duration::from_secs(5),
        |s| matches!(s, Status::Ready { generation: g, pid: p, .. } if *g == generation && *p == pid),
    )
    .await;
    eprintln!("continued → ready: {} ms", resumed.elapsed().as_millis());
    // The late reply to "waiting" was answered already: the next reply is the new request's.
    hub.send("main", &request("after", 200)).unwrap();
    let (reply, parquet) = w.row_reply().await;
    assert_eq!(reply["key"]["tag"], "after", "{reply}");
    assert_eq!(parquet_rows(&parquet.unwrap()), 100);
    sup.shutdown().await;
    assert!(!pid_alive(pid));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn retry_ends_an_unresponsive_sidecar_and_a_new_one_gets_the_window_back() {
    let (sup, hub) = start(config()).await;
    let mut w = attach(&hub, "main").await;
    hub.load_path("main", load(&data("small_100k.parquet"))).await.unwrap();
    w.next_json("initial_state").await;
    let old = ready_pid(&sup);
    signal(old, Signal::SIGSTOP);
    wait_status(&sup, "unresponsive", Duration::from_secs(6), |s| {
        matches!(s, Status::Unresponsive { .. })
    })
    .await;
    let restarting = record_restart_error(&sup);
    assert!(sup.retry());
    let state = w.next_json("initial_state").await; // the load again, in a new sidecar
    assert_eq!(state["df_meta"]["total_rows"], 100_000);
    let new = ready_pid(&sup);
    assert_ne!(old, new);
    assert!(!pid_alive(old), "the stopped sidecar is gone, not left behind");
    assert_eq!(restarting.await.unwrap(), "sidecar_not_responding");
    hub.send("main", &rows(0, 10)).unwrap();
    let (_, parquet) = w.row_reply().await;
    assert_eq!(parquet_rows(&parquet.unwrap()), 10);
    sup.shutdown().await;
}

/// The code of the error the next `restarting` status carries.
fn record_restart_error(sup: &Supervisor) -> tokio::task::JoinHandle<String> {
    let mut rx = sup.subscribe();
    tokio::spawn(async move {
        loop {
            rx.changed().await.unwrap();
            if let Status::Restarting { error, .. } = rx.borrow_and_update().clone() {
                return error.code.to_string();
            }
        }
    })
}
