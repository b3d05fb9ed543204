//! A warm standby sidecar ([`BuckarooConfig::with_standby`](crate::BuckarooConfig::with_standby)).
//! Once the running sidecar has been ready a while and is idle, a second one is started
//! and parked: its imports done, no session. When the running one dies, the standby is
//! promoted at once, so a restart skips the respawn (buckaroo's imports: 0.8–2.4 s here).
//! The next running sidecar parks a new standby when it is idle in turn.

use super::{lock, Supervisor};
use crate::sidecar::{self, Sidecar};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// How long the running sidecar must have been ready, and quiet, before a standby starts:
/// its imports take both cores for a second or two, which a first load should not share.
const READY_FOR: Duration = Duration::from_secs(5);
const QUIET_FOR: Duration = Duration::from_secs(2);
const LOOK_EVERY: Duration = Duration::from_millis(500);

/// A parked sidecar and its token.
pub(super) struct Parked {
    pub sc: Sidecar,
    pub token: Option<String>,
}

/// The standby slot: empty, or one parked sidecar.
#[derive(Default)]
pub(super) struct Standby {
    parked: Mutex<Option<Parked>>,
    /// Its pid (0: none), for [`Supervisor::kill_now`], which cannot lock or await.
    pid: AtomicU32,
}

impl Standby {
    /// The parked sidecar, if it is still alive.
    pub fn take(&self) -> Option<Parked> {
        let mut parked = lock(&self.parked).take()?;
        self.pid.store(0, Ordering::SeqCst);
        if parked.sc.has_exited() {
            log::warn!(
                "[buckaroo-tauri] the standby sidecar pid={} had exited: starting a new one",
                parked.sc.pid
            );
            return None;
        }
        Some(parked)
    }

    fn park(&self, parked: Parked) {
        self.pid.store(parked.sc.pid, Ordering::SeqCst);
        log::info!("[buckaroo-tauri] standby sidecar parked: pid={}", parked.sc.pid);
        // A standby already parked (none should be) is dropped, and its group killed.
        *lock(&self.parked) = Some(parked);
    }

    fn is_parked(&self) -> bool {
        lock(&self.parked).is_some()
    }

    /// The parked sidecar's pid, if one is parked.
    pub fn pid(&self) -> Option<u32> {
        Some(self.pid.load(Ordering::SeqCst)).filter(|p| *p != 0)
    }

    /// Stop the parked sidecar, if any, and wait for it.
    pub async fn shutdown(&self, grace: Duration) {
        let parked = lock(&self.parked).take();
        self.pid.store(0, Ordering::SeqCst);
        if let Some(mut p) = parked {
            p.sc.shutdown(grace).await;
        }
    }

    /// Last resort, without awaiting: kill the parked sidecar's group.
    pub fn kill_now(&self) {
        if let Some(pid) = self.pid() {
            sidecar::kill_group(pid);
        }
    }
}

impl Supervisor {
    /// Park a standby once sidecar `generation` has been ready [`READY_FOR`] and answered
    /// nothing for [`QUIET_FOR`]; returns when one is parked (or none is configured).
    /// Dropped when that sidecar ends: a standby half started is then killed with it.
    pub(super) async fn prepare_standby(&self, generation: u64, ready_at: Instant) {
        let Some(standby) = &self.standby else { return };
        loop {
            if standby.is_parked() {
                return;
            }
            let quiet = self.last_served(generation).is_none_or(|t| t.elapsed() >= QUIET_FOR);
            if ready_at.elapsed() >= READY_FOR && quiet {
                break;
            }
            tokio::time::sleep(LOOK_EVERY).await;
        }
        // The interpreter the running sidecar was started on, as it was probed: never a
        // set-up or a repair of the environment beside the running sidecar.
        let Some((python, _)) = lock(&self.probe).clone().filter(|(_, report)| report.ok) else {
            return;
        };
        let t0 = Instant::now();
        match self.spawn_on(python).await {
            Ok((sc, token)) => {
                log::info!("[buckaroo-tauri] standby sidecar started in {} ms", t0.elapsed().as_millis());
                standby.park(Parked { sc, token });
            }
            // Not the running sidecar's trouble: a restart starts one as it always did.
            Err(e) => log::warn!("[buckaroo-tauri] no standby sidecar: {e}"),
        }
    }

    /// The parked standby's pid, if one is parked (diagnostics, tests).
    pub fn standby_pid(&self) -> Option<u32> {
        self.standby.as_ref().and_then(Standby::pid)
    }
}
