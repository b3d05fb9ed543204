//! The OS interpreter a managed environment is made from: the first `python3` on PATH
//! that is 3.11 or newer, and, when there is none, the command that installs one on
//! this system (`python_missing`'s hint). No Tauri types here.

use crate::error::{Error, Result};
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;
use tokio::process::Command;

/// How long the OS interpreter may take to say its version.
const VERSION_TIMEOUT: Duration = Duration::from_secs(5);
/// Below this Python the locks do not resolve.
const MIN_MINOR: u32 = 11;
/// The OS interpreter an environment is made from.
#[derive(Debug, Clone)]
pub struct BasePython {
    /// Its path (as found on PATH).
    pub path: PathBuf,
    /// Its `major.minor`.
    pub version: String,
}

/// The first `python3` (or `python`) on `path_var` that is Python 3.11 or newer.
pub async fn find(path_var: Option<&std::ffi::OsStr>) -> Result<BasePython> {
    let mut seen = Vec::new();
    for name in ["python3", "python"] {
        let Some(path) = crate::discovery::which(name.as_ref(), path_var) else {
            continue;
        };
        match version_of(&path).await {
            Some(version) if minor_ok(&version) => return Ok(BasePython { path, version }),
            Some(version) => seen.push(format!("{} is Python {version}", path.display())),
            None => seen.push(format!("{} does not run", path.display())),
        }
    }
    let found = if seen.is_empty() {
        "no python3 on PATH".to_string()
    } else {
        seen.join("; ")
    };
    Err(Error::PythonMissing {
        found,
        install: install_advice(),
    })
}

fn minor_ok(version: &str) -> bool {
    let mut parts = version.split('.').map(|p| p.parse::<u32>().unwrap_or(0));
    matches!((parts.next(), parts.next()), (Some(3), Some(minor)) if minor >= MIN_MINOR)
}

async fn version_of(python: &Path) -> Option<String> {
    let mut cmd = Command::new(python);
    cmd.args(["-I", "-c", "import sys; print('%d.%d' % sys.version_info[:2])"])
        .stdin(Stdio::null())
        .kill_on_drop(true);
    let out = tokio::time::timeout(VERSION_TIMEOUT, cmd.output()).await.ok()?.ok()?;
    let text = String::from_utf8_lossy(&out.stdout).trim().to_string();
    (out.status.success() && !text.is_empty()).then_some(text)
}

/// The command that installs Python on this system, for `python_missing`'s hint.
pub fn install_advice() -> String {
    let os_release = std::fs::read_to_string("/etc/os-release").unwrap_or_default();
    advice_for(cfg!(target_os = "linux"), &os_release)
}

fn advice_for(linux: bool, os_release: &str) -> String {
    if !linux {
        return "Install Python 3.11 or newer (python.org), then Retry.".into();
    }
    let field = |key: &str| {
        os_release
            .lines()
            .find_map(|l| l.strip_prefix(key).map(|v| v.trim_matches('"').to_lowercase()))
            .unwrap_or_default()
    };
    let ids = format!("{} {}", field("ID="), field("ID_LIKE="));
    let has = |id: &str| ids.split_whitespace().any(|w| w == id);
    let command = if has("debian") || has("ubuntu") {
        "sudo apt install python3"
    } else if has("fedora") || has("rhel") || has("centos") {
        "sudo dnf install python3"
    } else if has("arch") {
        "sudo pacman -S python"
    } else if has("suse") || has("opensuse") {
        "sudo zypper install python3"
    } else if has("alpine") {
        "sudo apk add python3"
    } else {
        return "Install Python 3.11 or newer with your system's package manager, then Retry.".into();
    };
    format!("Install Python 3.11 or newer: `{command}`, then Retry.")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn advice_names_the_distribution_package() {
        let debian = "PRETTY_NAME=\"Debian GNU/Linux 12\"\nID=debian\n";
        assert!(advice_for(true, debian).contains("sudo apt install python3"));
        assert!(advice_for(true, "ID=linuxmint\nID_LIKE=\"ubuntu debian\"\n").contains("apt install python3"));
        assert!(advice_for(true, "ID=fedora\n").contains("dnf install python3"));
        assert!(advice_for(true, "ID=arch\n").contains("pacman -S python"));
        assert!(advice_for(true, "").contains("package manager"));
        assert!(advice_for(false, "").contains("python.org"));
    }

    #[test]
    fn only_python_3_11_and_newer_qualify() {
        assert!(minor_ok("3.11") && minor_ok("3.13"));
        assert!(!minor_ok("3.10") && !minor_ok("2.7") && !minor_ok("garbage"));
    }
}
