//! One sidecar process: probe the interpreter, spawn the server in its own
//! process group with stdin held open, read the stdout handshake, drain stderr.
//! No Tauri types here.

use crate::error::{Error, Result};
use crate::handshake::{self, Handshake};
use std::collections::VecDeque;
use std::path::{Path, PathBuf};
use std::process::{ExitStatus, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, ChildStdin, Command};
use tokio::task::JoinHandle;

/// The helper script shipped inside the crate; run with `python -c`, so nothing
/// is written to disk and nothing must be pip-installed.
pub const HELPER_PY: &str = include_str!("../python/buckaroo_tauri_sidecar.py");

/// buckaroo versions the launcher and the adapter were tested against.
pub const TESTED_BUCKAROO: &str = "0.15.11";

/// The launcher's exit code for "buckaroo internals not recognised".
const EXIT_UNSUPPORTED: i32 = 3;

/// Header carrying the per-launch secret on every request to the secure launcher.
pub const TOKEN_HEADER: &str = "X-Buckaroo-Token";
/// Environment variable the launcher reads the secret from (never argv: argv is public).
pub const TOKEN_ENV: &str = "BUCKAROO_TAURI_TOKEN";

/// A fresh 256-bit secret, hex.
pub fn new_token() -> String {
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes).expect("OS random source");
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[derive(Debug, Clone, serde::Deserialize, serde::Serialize)]
pub struct ProbeReport {
    pub python: String,
    pub python_version: String,
    pub buckaroo: Option<String>,
    pub pandas: Option<String>,
    pub tornado: Option<String>,
    pub problems: Vec<String>,
    #[serde(default)]
    pub warnings: Vec<String>,
    pub pip: String,
    pub ok: bool,
}

/// Ask `python` whether it can run the server; an actionable error if not.
pub async fn probe(python: &Path, env: &[(String, String)], timeout: Duration) -> Result<ProbeReport> {
    let mut cmd = Command::new(python);
    cmd.arg("-c").arg(HELPER_PY).arg("--probe").stdin(Stdio::null()).kill_on_drop(true);
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
    if !report.ok {
        return Err(Error::BuckarooMissing {
            python: python.display().to_string(),
            problems: report.problems.join("; "),
            pip: report.pip.clone(),
        });
    }
    Ok(report)
}

#[derive(Debug, Clone)]
pub struct SpawnSpec {
    pub python: PathBuf,
    pub args: Vec<String>,
    pub env: Vec<(String, String)>,
    pub working_dir: Option<PathBuf>,
    pub handshake_timeout: Duration,
}

impl SpawnSpec {
    /// The server's CLI contract, shared by the launcher and `python -m buckaroo.server`.
    const SERVER_ARGS: [&'static str; 4] = ["--port", "0", "--no-browser", "--stdio-control"];

    fn new(python: PathBuf, program: [&str; 2], extra_args: &[String], env: Vec<(String, String)>) -> Self {
        let args = program
            .into_iter()
            .chain(Self::SERVER_ARGS)
            .map(String::from)
            .chain(extra_args.iter().cloned())
            .collect();
        Self {
            python,
            args,
            env,
            working_dir: None,
            handshake_timeout: Duration::from_secs(30),
        }
    }

    /// The crate's secure launcher, with `token` passed through the environment.
    pub fn secure_launcher(python: PathBuf, extra_args: &[String], token: &str) -> Self {
        let env = vec![(TOKEN_ENV.to_string(), token.to_string())];
        Self::new(python, ["-c", HELPER_PY], extra_args, env)
    }

    pub fn buckaroo_server(python: PathBuf, extra_args: &[String]) -> Self {
        Self::new(python, ["-m", "buckaroo.server"], extra_args, Vec::new())
    }
}

/// Last stderr lines, kept for error messages. Enough for a typical traceback, so
/// its header is usually still there when the exit is explained.
#[derive(Debug, Default, Clone)]
pub struct StderrTail(Arc<Mutex<VecDeque<String>>>);

impl StderrTail {
    const KEEP: usize = 40;

    fn push(&self, line: String) {
        let mut q = self.0.lock().unwrap_or_else(|e| e.into_inner());
        if q.len() == Self::KEEP {
            q.pop_front();
        }
        q.push_back(line);
    }

    pub fn text(&self) -> String {
        let q = self.0.lock().unwrap_or_else(|e| e.into_inner());
        q.iter().rev().take(5).rev().cloned().collect::<Vec<_>>().join(" | ")
    }

    pub fn lines(&self) -> Vec<String> {
        self.0.lock().unwrap_or_else(|e| e.into_inner()).iter().cloned().collect()
    }
}

/// How long to wait for the last stderr lines after the process is gone.
const STDERR_DRAIN: Duration = Duration::from_millis(500);

/// Wait for the stderr reader to reach EOF (the group is dead, so it will), then
/// explain the exit from what it collected; the whole tail goes to the log.
async fn explain_exit(status: std::io::Result<ExitStatus>, tail: &StderrTail, reader: Option<JoinHandle<()>>) -> Error {
    if let Some(reader) = reader {
        let _ = tokio::time::timeout(STDERR_DRAIN, reader).await;
    }
    let lines = tail.lines();
    if !lines.is_empty() {
        log::warn!("[buckaroo-tauri] sidecar stderr before it exited:\n  {}", lines.join("\n  "));
    }
    crate::exit::exited(&status, &lines)
}

#[derive(Debug)]
pub struct Sidecar {
    child: Child,
    /// Held open for the child's whole life: EOF tells `--stdio-control` to exit, and the
    /// kernel closes it for us if this process is SIGKILLed.
    stdin: Option<ChildStdin>,
    pub port: u16,
    pub pid: u32,
    pub started: Instant,
    pub stderr: StderrTail,
    stderr_reader: Option<JoinHandle<()>>,
}

/// The child closed stdout without a handshake: it is exiting; say why.
async fn exited_before_handshake(child: &mut Child, pid: u32, tail: &StderrTail, reader: Option<JoinHandle<()>>) -> Error {
    let status = child.wait().await;
    kill_group(pid); // anything it started holds stderr open
    let unsupported = status.as_ref().ok().and_then(|s| s.code()) == Some(EXIT_UNSUPPORTED);
    match explain_exit(status, tail, reader).await {
        // The launcher's own message says which buckaroo and what to do.
        Error::SidecarExited { cause, .. } if unsupported => Error::LauncherUnsupported(if cause.is_empty() { tail.text() } else { cause }),
        other => other,
    }
}

fn command(spec: &SpawnSpec) -> Command {
    let mut cmd = Command::new(&spec.python);
    cmd.args(&spec.args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        // Only loopback clients without an Origin header (our Rust WS) or localhost pages.
        .env("BUCKAROO_STRICT_ORIGIN", "1")
        .env("PYTHONUNBUFFERED", "1");
    cmd.envs(spec.env.iter().map(|(k, v)| (k, v)));
    if let Some(dir) = &spec.working_dir {
        cmd.current_dir(dir);
    }
    // Own process group: shutdown signals reach anything the server starts.
    #[cfg(unix)]
    cmd.process_group(0);
    cmd
}

pub async fn spawn(spec: &SpawnSpec) -> Result<Sidecar> {
    let mut child = command(spec)
        .spawn()
        .map_err(|e| Error::PythonNotFound(format!("cannot start {}: {e}", spec.python.display())))?;
    let pid = child.id().unwrap_or_default();
    let stdin = child.stdin.take();
    let stdout = child.stdout.take().expect("stdout is piped");
    let stderr_pipe = child.stderr.take().expect("stderr is piped");

    let tail = StderrTail::default();
    let stderr_tail = tail.clone();
    let mut stderr_reader = Some(tokio::spawn(async move {
        let mut lines = BufReader::new(stderr_pipe).lines();
        while let Ok(Some(line)) = lines.next_line().await {
            log::debug!("[buckaroo-tauri] sidecar stderr: {line}");
            stderr_tail.push(line);
        }
    }));

    let mut lines = BufReader::new(stdout).lines();
    let handshake = tokio::time::timeout(spec.handshake_timeout, lines.next_line()).await;
    let port = match handshake {
        Err(_) => {
            kill_group(pid);
            return Err(Error::HandshakeTimeout(spec.handshake_timeout));
        }
        Ok(Ok(Some(line))) => match handshake::parse_line(&line) {
            Handshake::Port(port) => port,
            Handshake::Unexpected(line) => {
                kill_group(pid);
                return Err(Error::HandshakeInvalid { line });
            }
        },
        Ok(Ok(None)) | Ok(Err(_)) => return Err(exited_before_handshake(&mut child, pid, &tail, stderr_reader.take()).await),
    };
    // The contract says stdout stays silent; keep draining so the child never blocks on it.
    tokio::spawn(async move {
        while let Ok(Some(line)) = lines.next_line().await {
            log::warn!("[buckaroo-tauri] unexpected sidecar stdout: {line}");
        }
    });
    Ok(Sidecar {
        child,
        stdin,
        port,
        pid,
        started: Instant::now(),
        stderr: tail,
        stderr_reader,
    })
}

impl Sidecar {
    pub async fn wait(&mut self) -> std::io::Result<ExitStatus> {
        self.child.wait().await
    }

    /// After [`wait`](Self::wait) returned `status` and the group was killed: why it
    /// exited (`SidecarExited` with the explaining stderr line).
    pub async fn exit_error(&mut self, status: std::io::Result<ExitStatus>) -> Error {
        explain_exit(status, &self.stderr, self.stderr_reader.take()).await
    }

    /// Close stdin, SIGTERM the group, SIGKILL after `grace`.
    pub async fn shutdown(&mut self, grace: Duration) {
        self.stdin.take();
        if tokio::time::timeout(grace / 2, self.child.wait()).await.is_err() {
            #[cfg(unix)]
            signal_group(self.pid, nix::sys::signal::Signal::SIGTERM);
            if tokio::time::timeout(grace / 2, self.child.wait()).await.is_err() {
                kill_group(self.pid);
                let _ = self.child.wait().await;
            }
        }
        kill_group(self.pid); // sweep anything the leader left in its group
    }
}

#[cfg(unix)]
fn signal_group(pgid: u32, sig: nix::sys::signal::Signal) {
    if pgid > 0 {
        let _ = nix::sys::signal::killpg(nix::unistd::Pid::from_raw(pgid as i32), sig);
    }
}

/// SIGKILL the whole process group (the sidecar is its leader).
pub fn kill_group(pgid: u32) {
    #[cfg(unix)]
    signal_group(pgid, nix::sys::signal::Signal::SIGKILL);
    #[cfg(not(unix))]
    let _ = pgid;
}
