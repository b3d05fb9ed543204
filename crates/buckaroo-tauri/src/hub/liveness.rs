//! The liveness check: a sidecar that runs but stops answering (stopped, frozen in a C
//! extension that holds the GIL, swapping) is `unresponsive` within a few seconds, its
//! waiting row requests are answered with `sidecar_not_responding`, new ones are
//! refused with that code, and it is `ready` again as soon as it answers.

use super::{lock, Hub};
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
        loop {
            let asked = Instant::now();
            let answered = tokio::time::timeout(PERIOD, self.http.get(ep, "/health"))
                .await
                .is_ok_and(|r| r.is_ok());
            if answered {
                answered_at = Instant::now();
                if self.sup.mark_responsive(ep.generation) {
                    log::info!("[buckaroo-tauri] sidecar pid={} answers again", ep.pid);
                    let (hub, ep) = (self.clone(), ep.clone());
                    tasks::spawn_logged("refill", async move { hub.refill_failed_windows(&ep).await });
                }
            } else if answered_at.elapsed() >= UNRESPONSIVE_AFTER {
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

    /// The sidecar answers again: windows whose row requests failed meanwhile get their
    /// load again, since the grid never asks for a failed block twice.
    async fn refill_failed_windows(&self, ep: &Endpoint) {
        let labels: Vec<String> = lock(&self.silent_failed).drain().collect();
        for label in labels {
            let Ok(entry) = self.entry(&label) else { continue };
            let _op = entry.op.lock().await;
            if let Err(e) = self.replay_last_load(&entry, ep, "a silence").await {
                log::error!("[buckaroo-tauri] refilling window {label} failed: {e}");
                self.notify_error(&label, &e);
            }
        }
    }
}
