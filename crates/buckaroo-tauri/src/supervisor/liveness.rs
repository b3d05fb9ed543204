//! `ready` ↔ `unresponsive`: what the hub's liveness check ([`crate::hub`]) reports
//! about a sidecar that runs but stopped answering, and Retry's restart of one.

use super::{lock, Supervisor};
use crate::models::Status;
use crate::sidecar;
use std::sync::atomic::Ordering;
use std::time::Duration;

impl Supervisor {
    /// Generation `generation` has not answered for `silent`: `unresponsive` (again, with
    /// the new `silent`). True the first time, when it was `ready`.
    pub(crate) fn mark_unresponsive(&self, generation: u64, silent: Duration) -> bool {
        let mut first = false;
        self.status.send_if_modified(|s| {
            let pid = match s {
                Status::Ready { generation: g, pid, .. } | Status::Unresponsive { generation: g, pid, .. } if *g == generation => *pid,
                _ => return false,
            };
            if matches!(s, Status::Ready { .. }) {
                *lock(&self.last_ready) = Some(s.clone());
                first = true;
            }
            *s = Status::Unresponsive {
                generation,
                pid,
                silent_ms: silent.as_millis() as u64,
            };
            true
        });
        first
    }

    /// Generation `generation` answers again: `ready` as it was. True if it was `unresponsive`.
    pub(crate) fn mark_responsive(&self, generation: u64) -> bool {
        self.status.send_if_modified(|s| match (&*s, lock(&self.last_ready).take()) {
            (Status::Unresponsive { generation: g, .. }, Some(ready)) if *g == generation => {
                *s = ready;
                true
            }
            _ => false,
        })
    }

    /// Retry while `unresponsive`: kill the silent sidecar's group (SIGKILL ends a
    /// stopped process too); the supervision loop then starts a new one, which gets
    /// every window's load again.
    pub(super) fn restart_unresponsive(&self) -> bool {
        let Status::Unresponsive { pid, silent_ms, .. } = self.status() else {
            return false;
        };
        log::warn!("[buckaroo-tauri] Retry: killing sidecar pid={pid}, silent for {silent_ms} ms");
        self.killed_silent.store(silent_ms.max(1), Ordering::SeqCst);
        sidecar::kill_group(pid);
        true
    }

    /// How long the sidecar this loop just lost had been silent when Retry killed it.
    pub(super) fn take_killed_silent(&self) -> Option<Duration> {
        Some(self.killed_silent.swap(0, Ordering::SeqCst))
            .filter(|ms| *ms > 0)
            .map(Duration::from_millis)
    }
}
