//! A sidecar that runs but stops answering (here SIGSTOP: in life a C extension holding
//! the GIL, a swap storm, a debugger), against the real buckaroo server.

mod common;

use buckaroo_tauri::{Error, Outgoing, Status, Supervisor};
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
    // Refused meanwhile: the window's load is replayed, said first, so the page keeps its
    // grid and asks again for what was refused. The late reply to "waiting" is not relayed.
    let replay = w.next().await;
    assert!(
        matches!(&replay, Outgoing::Json(f) if f.kind == "buckaroo_tauri_replay"),
        "{replay:?}"
    );
    w.next_json("initial_state").await;
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

/// A memory cgroup of our own with a limit (v1 here; v2 where the host has it), removed
/// on drop. `None` where none can be made (not root, no cgroup fs).
#[cfg(target_os = "linux")]
struct MemoryCgroup(std::path::PathBuf);

#[cfg(target_os = "linux")]
impl MemoryCgroup {
    fn new(limit: u64) -> Option<Self> {
        let own = std::fs::read_to_string("/proc/self/cgroup").ok()?;
        let name = format!("buckaroo-tauri-oom-{}", std::process::id());
        for line in own.lines() {
            let mut parts = line.splitn(3, ':');
            let (_, controllers, path) = (parts.next()?, parts.next()?, parts.next()?);
            let rel = path.trim_start_matches('/');
            let (dir, files) = if controllers.split(',').any(|c| c == "memory") {
                let d = std::path::Path::new("/sys/fs/cgroup/memory").join(rel).join(&name);
                (
                    d,
                    vec![
                        ("memory.limit_in_bytes", limit.to_string()),
                        ("memory.memsw.limit_in_bytes", limit.to_string()),
                    ],
                )
            } else if controllers.is_empty() && std::path::Path::new("/sys/fs/cgroup/cgroup.controllers").exists() {
                let d = std::path::Path::new("/sys/fs/cgroup").join(rel).join(&name);
                (d, vec![("memory.max", limit.to_string()), ("memory.swap.max", "0".to_string())])
            } else {
                continue;
            };
            if std::fs::create_dir(&dir).is_err() {
                continue;
            }
            for (file, value) in &files {
                let _ = std::fs::write(dir.join(file), value); // memsw/swap: absent without swap accounting
            }
            return Some(Self(dir));
        }
        None
    }

    fn procs(&self) -> std::path::PathBuf {
        self.0.join("cgroup.procs")
    }
}

#[cfg(target_os = "linux")]
impl Drop for MemoryCgroup {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir(&self.0);
    }
}

#[cfg(target_os = "linux")]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sidecar_the_kernel_kills_for_memory_says_so_and_no_file_is_loaded_into_it_again() {
    // 400 MiB: the launcher starts in ~160 MB; a pandas load of the 1M-row file peaks at ~620 MB.
    let Some(cg) = MemoryCgroup::new(400 << 20) else {
        panic!("no memory cgroup could be made: this test needs root and a cgroup file system (CI has both)");
    };
    let dir = std::env::temp_dir().join(format!("buckaroo-tauri-oom-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let wrapper = dir.join("python");
    write_executable(
        &wrapper,
        &format!(
            "#!/bin/sh\necho $$ > {}\nexec {} \"$@\"\n",
            cg.procs().display(),
            venv_python().display()
        ),
    );
    let (sup, hub) = start(config().with_python(wrapper)).await;
    let mut w = attach(&hub, "main").await;
    hub.load_path("main", load(&data("tiny.parquet"))).await.unwrap();
    w.next_json("initial_state").await;
    let restarting = record_restart_error(&sup);
    let mut big = load(&data("big_1m.parquet"));
    big.backend = Some("pandas".into());
    let err = hub.load_path("main", big).await.unwrap_err();
    assert_eq!(err.code(), "sidecar_out_of_memory", "{err:?}");
    assert!(err.hint().unwrap().contains("engine"), "{:?}", err.hint());
    assert_eq!(restarting.await.unwrap(), "sidecar_out_of_memory");
    // The new sidecar does not get the window's file again (it could be what killed it): the window is told.
    let told = w.next_json("buckaroo_tauri_error").await;
    assert_eq!(told["error"]["code"], "sidecar_out_of_memory", "{told}");
    hub.load_path("main", load(&data("tiny.parquet"))).await.unwrap(); // a file that fits still loads
    sup.shutdown().await;
    drop(cg);
    std::fs::remove_dir_all(&dir).unwrap();
}
