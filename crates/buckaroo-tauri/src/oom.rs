//! Whether the kernel killed the sidecar for memory: the OOM-kill count of its memory
//! cgroup (v1 `memory.oom_control`, v2 `memory.events`) grew while it ran. A SIGKILL alone
//! cannot tell an OOM kill from a `kill -9`; the count can, where a cgroup limits memory
//! (containers, systemd units, `systemd-run -p MemoryMax=`). No Tauri types here.

use std::path::{Path, PathBuf};

/// A process's memory cgroup counter, read when it became ready.
#[derive(Debug, Clone)]
pub(crate) struct OomWatch {
    file: PathBuf,
    kills: u64,
}

impl OomWatch {
    /// The counter of `pid`'s memory cgroup now; `None` without one (not Linux, no cgroup fs).
    pub fn of(pid: u32) -> Option<Self> {
        let cgroups = std::fs::read_to_string(format!("/proc/{pid}/cgroup")).ok()?;
        let file = counter_file(&cgroups, Path::new("/sys/fs/cgroup"))?;
        let kills = oom_kills(&std::fs::read_to_string(&file).ok()?)?;
        Some(Self { file, kills })
    }

    /// The cgroup has OOM-killed a process since (the sidecar, when it just died of SIGKILL).
    pub fn grew(&self) -> bool {
        std::fs::read_to_string(&self.file)
            .ok()
            .and_then(|t| oom_kills(&t))
            .is_some_and(|now| now > self.kills)
    }
}

/// The file holding the OOM-kill count for a `/proc/<pid>/cgroup` text: the v1 memory
/// controller's, else the v2 hierarchy's (at `root`, or `root/unified` on a hybrid host).
fn counter_file(cgroups: &str, root: &Path) -> Option<PathBuf> {
    let mut v2 = None;
    for line in cgroups.lines() {
        let mut parts = line.splitn(3, ':');
        let (_, controllers, path) = (parts.next()?, parts.next()?, parts.next()?);
        let rel = path.trim_start_matches('/');
        if controllers.split(',').any(|c| c == "memory") {
            let file = root.join("memory").join(rel).join("memory.oom_control");
            if file.is_file() {
                return Some(file);
            }
        } else if controllers.is_empty() {
            v2 = [root.join(rel), root.join("unified").join(rel)]
                .into_iter()
                .map(|d| d.join("memory.events"))
                .find(|f| f.is_file());
        }
    }
    v2
}

/// `oom_kill N` of a memory.events / memory.oom_control text.
fn oom_kills(text: &str) -> Option<u64> {
    text.lines()
        .find_map(|l| l.strip_prefix("oom_kill "))
        .and_then(|n| n.trim().parse().ok())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_counter_of_v1_and_v2_cgroups_is_found_and_read() {
        let root = std::env::temp_dir().join(format!("bt-oom-{}", std::process::id()));
        let v1 = root.join("memory/app/x");
        let v2 = root.join("user.slice/app");
        std::fs::create_dir_all(&v1).unwrap();
        std::fs::create_dir_all(&v2).unwrap();
        std::fs::write(v1.join("memory.oom_control"), "oom_kill_disable 0\nunder_oom 0\noom_kill 3\n").unwrap();
        std::fs::write(v2.join("memory.events"), "low 0\nhigh 0\nmax 9\noom 2\noom_kill 2\n").unwrap();
        let hybrid = "4:memory:/app/x\n0::/user.slice/app\n";
        assert_eq!(counter_file(hybrid, &root), Some(v1.join("memory.oom_control")));
        assert_eq!(counter_file("0::/user.slice/app\n", &root), Some(v2.join("memory.events")));
        assert_eq!(counter_file("0::/elsewhere\n", &root), None);
        assert_eq!(oom_kills("oom_kill_disable 0\nunder_oom 0\noom_kill 3\n"), Some(3));
        assert_eq!(oom_kills("oom 2\noom_kill 2\n"), Some(2));
        std::fs::remove_dir_all(&root).unwrap();
    }
}
