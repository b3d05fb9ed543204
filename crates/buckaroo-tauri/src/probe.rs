//! The probe: ask an interpreter (`python -m buckaroo_tauri_sidecar --probe`) whether it
//! can run the server, and what to install if not. No Tauri types here.

use crate::config::BackendKind;
use crate::error::{Error, PipInstall, Result};
use crate::launcher::PACKAGE;
use std::path::Path;
use std::process::Stdio;
use std::time::Duration;
use tokio::process::Command;

/// What the probe found in the interpreter (`buckaroo_diagnostics`' `probe`).
#[derive(Debug, Clone, serde::Deserialize, serde::Serialize)]
pub struct ProbeReport {
    /// The interpreter's path.
    pub python: String,
    /// Its version.
    pub python_version: String,
    /// Its `sys.prefix`: the environment it runs in.
    #[serde(default)]
    pub prefix: String,
    /// buckaroo's version, if installed.
    pub buckaroo: Option<String>,
    /// pandas' version, if installed.
    pub pandas: Option<String>,
    /// tornado's version, if installed.
    pub tornado: Option<String>,
    /// xorq's version, if installed (optional: only expressions need it).
    #[serde(default)]
    pub xorq: Option<String>,
    /// The `pip install` arguments that add xorq.
    #[serde(default)]
    pub xorq_pip: String,
    /// What keeps it from running the server.
    pub problems: Vec<String>,
    /// What may go wrong but does not stop it.
    #[serde(default)]
    pub warnings: Vec<String>,
    /// The `pip install` arguments that fix the problems.
    pub pip: String,
    /// No problems.
    pub ok: bool,
    /// The OS owns the interpreter's packages (PEP 668): pip installs into a venv only.
    #[serde(default)]
    pub externally_managed: bool,
    /// `python -m venv` can make a venv with pip.
    #[serde(default)]
    pub venv_available: bool,
}

impl ProbeReport {
    /// This report, if the interpreter can run the server; what to install if not.
    pub fn usable(self) -> Result<Self> {
        if self.ok {
            return Ok(self);
        }
        Err(Error::BuckarooMissing {
            problems: self.problems.join("; "),
            install: self.pip_install(&self.pip),
        })
    }

    /// What a probe's report is worth logging, and how loud. xorq missing is only news
    /// (info): files load without it, and an expression asked for says so itself
    /// (`xorq_not_installed`, with the pip command).
    pub fn log_lines(&self, backend: BackendKind) -> Vec<(log::Level, String)> {
        let mut lines: Vec<_> = self.warnings.iter().map(|w| (log::Level::Warn, format!("probe: {w}"))).collect();
        if !self.ok {
            return lines; // the failure itself is the status's error
        }
        lines.push((
            log::Level::Info,
            format!(
                "probe ok: python {} buckaroo {} pandas {} tornado {} xorq {}",
                self.python_version,
                self.buckaroo.as_deref().unwrap_or("?"),
                self.pandas.as_deref().unwrap_or("?"),
                self.tornado.as_deref().unwrap_or("?"),
                self.xorq.as_deref().unwrap_or("not installed")
            ),
        ));
        if backend == BackendKind::Xorq && self.xorq.is_none() {
            lines.push((
                log::Level::Info,
                format!(
                    "BuckarooConfig::xorq(): xorq is not installed in {}; files load, expressions answer xorq_not_installed",
                    self.python
                ),
            ));
        }
        lines
    }

    /// How to install `pip` (arguments) into the probed interpreter.
    pub fn pip_install(&self, pip: &str) -> PipInstall {
        PipInstall {
            python: self.python.clone(),
            pip: pip.to_string(),
            externally_managed: self.externally_managed,
            venv_available: self.venv_available,
        }
    }
}

/// Ask `python` whether it can run the server ([`ProbeReport::usable`] says if not);
/// an error only when it does not answer. `env` must make the launcher package
/// importable ([`crate::launcher::prepared_env`]).
pub async fn probe(python: &Path, env: &[(String, String)], timeout: Duration) -> Result<ProbeReport> {
    let mut cmd = Command::new(python);
    cmd.args(["-m", PACKAGE, "--probe"]).stdin(Stdio::null()).kill_on_drop(true);
    cmd.envs(env.iter().map(|(k, v)| (k, v)));
    let out = match tokio::time::timeout(timeout, cmd.output()).await {
        Ok(Ok(out)) => out,
        Ok(Err(e)) => return Err(Error::PythonNotFound(format!("{} cannot be run: {e}", python.display()))),
        Err(_) => {
            return Err(Error::PythonNotFound(format!(
                "{} did not answer the probe within {timeout:?}",
                python.display()
            )))
        }
    };
    let stdout = String::from_utf8_lossy(&out.stdout);
    let report: ProbeReport = stdout.lines().rev().find_map(|l| serde_json::from_str(l).ok()).ok_or_else(|| {
        Error::PythonNotFound(format!(
            "{} is not a working Python 3 (probe said: {})",
            python.display(),
            String::from_utf8_lossy(&out.stderr).trim().chars().take(300).collect::<String>()
        ))
    })?;
    Ok(report)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn report(xorq: Option<&str>, ok: bool) -> ProbeReport {
        serde_json::from_value(serde_json::json!({
            "python": "/usr/bin/python3", "python_version": "3.11.2", "buckaroo": "0.15.11", "pandas": "2.2.3",
            "tornado": "6.4", "xorq": xorq, "problems": if ok { vec![] } else { vec!["tornado is not installed"] },
            "pip": "buckaroo", "ok": ok, "externally_managed": true, "venv_available": false,
        }))
        .unwrap()
    }

    #[test]
    fn xorq_missing_is_not_a_warning_for_users_who_never_ask_for_it() {
        let lines = report(None, true).log_lines(BackendKind::Xorq);
        assert!(lines.iter().all(|(level, _)| *level > log::Level::Warn), "{lines:?}");
        assert!(lines.iter().any(|(_, l)| l.contains("xorq is not installed")), "{lines:?}");
        assert_eq!(report(Some("0.3.7"), true).log_lines(BackendKind::Xorq).len(), 1);
    }

    #[test]
    fn an_unusable_report_is_buckaroo_missing_with_a_venv_hint_on_a_system_python() {
        let err = report(None, false).usable().unwrap_err();
        assert_eq!(err.code(), "buckaroo_missing");
        let hint = err.hint().unwrap();
        assert!(hint.contains("externally-managed-environment"), "{hint}");
        assert!(
            hint.contains("sudo apt install python3-venv && /usr/bin/python3 -m venv ~/.venvs/buckaroo"),
            "{hint}"
        );
        assert!(hint.contains("~/.venvs/buckaroo/bin/python -m pip install buckaroo"), "{hint}");
        assert!(hint.ends_with("BUCKAROO_PYTHON=~/.venvs/buckaroo/bin/python"), "{hint}");
        let plain = PipInstall {
            externally_managed: false,
            ..report(None, false).pip_install("xorq")
        };
        assert_eq!(plain.hint(), "/usr/bin/python3 -m pip install xorq");
    }
}
