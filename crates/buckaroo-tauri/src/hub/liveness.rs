//! The liveness check: a sidecar that runs but stops answering (stopped, frozen in a C
//! extension that holds the GIL, swapping) is `unresponsive` within 3 s (30 s while it
//! uses CPU: busy, not frozen; a row reply counts as an answer, so a loop slow to reach
//! `/health` behind a queue of windows is not silent), its waiting row requests are answered with
//! `sidecar_not_responding`, new ones are refused with that code, and it is `ready`
//! again as soon as it answers.

use super::{announce_replay, lock, Hub};
use crate::error::Error;
use crate::supervisor::Endpoint;
use crate::tasks;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// How often the sidecar is asked (`GET /health`, a loop round trip).
const PERIOD: Duration = Duration::from_secs(1);
/// Silent this long: `unresponsive`. The loop answers /health between any two row
/// windows (file windows are ms; expression windows and loads run in threads).
pub(crate) const UNRESPONSIVE_AFTER: Duration = Duration::from_secs(3);
/// Silent this long while it works (its CPU time grew over the last period): a loop busy
/// with a pandas state change under load is slow, not frozen. A stopped process, or one
/// waiting on a dead socket, gains no CPU and keeps the 3 s.
pub(crate) const BUSY_UNRESPONSIVE_AFTER: Duration = Duration::from_secs(30);
/// The share of one core a sidecar must use over a period to count as working: two
/// clock ticks. A stopped process gains none; on 2 cores under 8 busy webviews a working
/// sidecar can get less than a tenth of one.
const WORKING_SHARE: f64 = 0.02;

impl Hub {
    /// Follow the ready sidecar with the liveness check; run once on the async runtime.
    pub async fn watch_liveness(self: Arc<Self>) {
        let mut endpoints = self.sup.endpoints();
        loop {
            let ep = endpoints.borrow_and_update().clone();
            let changed = match ep {
                Some(ep) => {
                    tokio::select! {
                        () = self.check_liveness(&ep) => unreachable!("the check runs until the endpoint changes"),
                        r = endpoints.changed() => r,
                    }
                }
                None => endpoints.changed().await,
            };
            if changed.is_err() {
                return;
            }
        }
    }

    async fn check_liveness(self: &Arc<Self>, ep: &Endpoint) {
        let mut answered_at = Instant::now();
        let mut cpu = CpuSample::of(ep.pid);
        loop {
            let asked = Instant::now();
            let answered = tokio::time::timeout(PERIOD, self.http.get(ep, "/health"))
                .await
                .is_ok_and(|r| r.is_ok());
            if answered {
                answered_at = Instant::now();
            }
            // A queue of row windows can keep /health waiting for seconds under load
            // (8 windows on 2 cores); replies still flowing say the sidecar lives.
            answered_at = answered_at.max(self.sup.last_served(ep.generation).unwrap_or(answered_at));
            if answered && self.sup.mark_responsive(ep.generation) {
                log::info!("[buckaroo-tauri] sidecar pid={} answers again", ep.pid);
                let (hub, ep) = (self.clone(), ep.clone());
                tasks::spawn_logged("refill", async move { hub.refill_failed_windows(&ep).await });
            }
            // Over the last period only: work done before a SIGSTOP must not count.
            let now = CpuSample::of(ep.pid);
            let working = cpu.zip(now).is_some_and(|(a, b)| b.share_since(&a) >= WORKING_SHARE);
            cpu = now;
            let limit = if working { BUSY_UNRESPONSIVE_AFTER } else { UNRESPONSIVE_AFTER };
            if !answered && answered_at.elapsed() >= limit {
                self.went_silent(ep, answered_at.elapsed());
            }
            tokio::time::sleep(PERIOD.saturating_sub(asked.elapsed())).await;
        }
    }

    /// Still silent after `silent`: say so, and answer what the windows wait for.
    fn went_silent(&self, ep: &Endpoint, silent: Duration) {
        if !self.sup.mark_unresponsive(ep.generation, silent) {
            return; // said already; the status carries the new `silent`
        }
        let reason = Error::SidecarNotResponding { silent }.to_string();
        let conns: Vec<_> = lock(&self.windows)
            .iter()
            .filter_map(|(label, w)| Some((label.clone(), lock(&w.conn).clone()?)))
            .filter(|(_, c)| c.generation == ep.generation)
            .collect();
        let mut failed = 0;
        for (label, conn) in conns {
            let n = conn.abandon_in_flight("sidecar_not_responding", &reason);
            if n > 0 {
                lock(&self.silent_failed).insert(label);
            }
            failed += n;
        }
        log::warn!(
            "[buckaroo-tauri] sidecar pid={} silent for {} ms: unresponsive, {failed} row requests failed",
            ep.pid,
            silent.as_millis()
        );
    }

    /// The sidecar answers again: windows refused meanwhile (row requests, a search) get
    /// their load again as a replay: the page keeps its grid, asks again for the rows it
    /// held back from the grid (which never asks for a failed block twice) and sends its
    /// view again if the refused search lost it.
    async fn refill_failed_windows(&self, ep: &Endpoint) {
        let labels: Vec<String> = lock(&self.silent_failed).drain().collect();
        for label in labels {
            let Ok(entry) = self.entry(&label) else { continue };
            let _op = entry.op.lock().await;
            announce_replay(&entry);
            if let Err(e) = self.replay_last_load(&entry, ep, "a silence").await {
                log::error!("[buckaroo-tauri] refilling window {label} failed: {e}");
                self.notify_error(&label, &e);
            }
        }
    }
}

/// A process's CPU time (user + system, all threads) and when it was read.
#[derive(Debug, Clone, Copy)]
struct CpuSample {
    cpu: Duration,
    at: Instant,
}

impl CpuSample {
    /// `None` where `/proc` cannot tell (not Linux, the process gone): then every
    /// silence gets the short limit, as before this check existed.
    fn of(pid: u32) -> Option<Self> {
        let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
        Some(Self {
            cpu: cpu_time(&stat)?,
            at: Instant::now(),
        })
    }

    /// Cores used on average since `earlier`.
    fn share_since(&self, earlier: &Self) -> f64 {
        let wall = self.at.saturating_duration_since(earlier.at).as_secs_f64();
        if wall <= 0.0 {
            return 0.0;
        }
        self.cpu.saturating_sub(earlier.cpu).as_secs_f64() / wall
    }
}

/// utime + stime of a `/proc/<pid>/stat` line. They count USER_HZ ticks, 100 per second
/// on every Linux the app is built for.
fn cpu_time(stat: &str) -> Option<Duration> {
    // After `(comm)` (which may hold spaces): state is field 3, utime 14, stime 15.
    let rest: Vec<&str> = stat.rsplit_once(')')?.1.split_whitespace().collect();
    let ticks = rest.get(11)?.parse::<u64>().ok()? + rest.get(12)?.parse::<u64>().ok()?;
    Some(Duration::from_millis(ticks * 10))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cpu_time_reads_utime_and_stime_after_a_command_with_spaces() {
        let stat = "4242 (python3 -m x) S 1 4242 4242 0 -1 4194560 900 0 0 0 250 37 0 0 20 0 9 0 100 1000 50";
        assert_eq!(cpu_time(stat), Some(Duration::from_millis(2870)));
        assert_eq!(cpu_time("4242 (trunc) S 1"), None);
    }

    /// Children, not this process: other tests' threads share its CPU time.
    #[cfg(target_os = "linux")]
    #[test]
    fn a_spinning_process_counts_as_working_and_a_sleeping_one_does_not() {
        let share = |script: &str| {
            let mut child = std::process::Command::new("sh").args(["-c", script]).spawn().unwrap();
            std::thread::sleep(Duration::from_millis(100));
            let a = CpuSample::of(child.id()).expect("/proc/<pid>/stat");
            std::thread::sleep(Duration::from_millis(500));
            let b = CpuSample::of(child.id()).unwrap();
            child.kill().unwrap();
            child.wait().unwrap();
            b.share_since(&a)
        };
        let spinning = share("while :; do :; done");
        assert!(spinning >= WORKING_SHARE, "spinning: {spinning}");
        let sleeping = share("sleep 5");
        assert!(sleeping < WORKING_SHARE, "sleeping: {sleeping}");
    }
}
