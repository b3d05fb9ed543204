//! One sidecar process: probe the interpreter, spawn the server in its own
//! process group with stdin held open, read the stdout handshake, drain stderr.
//! No Tauri types here.

use crate::error::{Error, Result};
use crate::handshake::{self, Handshake};
use crate::launcher::{EXIT_UNSUPPORTED, PACKAGE, TOKEN_ENV};
use crate::oom::OomWatch;
use std::collections::VecDeque;
use std::path::PathBuf;
use std::process::{ExitStatus, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tauri::async_runtime::JoinHandle;
use tokio::io::Lines;
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, ChildStderr, ChildStdin, ChildStdout, Command};

/// A fresh 256-bit secret, hex.
pub fn new_token() -> String {
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes).expect("OS random source");
    bytes.iter().map(|b| format!("{b:02x}")).collect()
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

    /// The crate's secure launcher (`python -m buckaroo_tauri_sidecar`), with `token`
    /// passed through the environment. The caller adds what makes the package
    /// importable ([`crate::launcher::prepared_env`]).
    pub fn secure_launcher(python: PathBuf, extra_args: &[String], token: &str) -> Self {
        let env = vec![(TOKEN_ENV.to_string(), token.to_string())];
        Self::new(python, ["-m", PACKAGE], extra_args, env)
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

/// The sidecar's process group, killed when this is dropped: every path that lets go
/// of a sidecar (an error mid-spawn, a panic in the supervisor, the plugin's drop)
/// leaves nothing behind. [`sweep`](Self::sweep) kills it early, where the order
/// matters (before stderr is drained: what the sidecar started holds stderr open).
#[derive(Debug)]
struct ProcessGroup {
    pgid: u32,
    swept: bool,
}

impl ProcessGroup {
    fn sweep(&mut self) {
        kill_group(self.pgid);
        self.swept = true;
    }
}

impl Drop for ProcessGroup {
    fn drop(&mut self) {
        if !self.swept {
            kill_group(self.pgid);
        }
    }
}

/// One running sidecar: the child, its group, its held-open stdin, its stderr tail.
/// Dropping it kills the group.
#[derive(Debug)]
pub(crate) struct Sidecar {
    child: Child,
    /// Held open for the child's whole life: EOF tells `--stdio-control` to exit, and the
    /// kernel closes it for us if this process is SIGKILLed.
    stdin: Option<ChildStdin>,
    group: ProcessGroup,
    pub port: u16,
    pub pid: u32,
    pub stderr: StderrTail,
    stderr_reader: Option<JoinHandle<()>>,
    /// Its memory cgroup's OOM-kill count when it became ready (it is in its cgroup by then).
    oom: Option<OomWatch>,
}

/// A child that has not printed its handshake yet.
struct Starting {
    child: Child,
    group: ProcessGroup,
    pid: u32,
    stdin: Option<ChildStdin>,
    stdout: Lines<BufReader<ChildStdout>>,
    stderr: StderrTail,
    stderr_reader: Option<JoinHandle<()>>,
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

/// Start the sidecar and wait for its `BUCKAROO_PORT` line.
pub(crate) async fn spawn(spec: &SpawnSpec) -> Result<Sidecar> {
    let mut starting = start_child(spec)?;
    let port = read_handshake(&mut starting, spec.handshake_timeout).await?;
    drain_stdout(starting.stdout);
    Ok(Sidecar {
        child: starting.child,
        stdin: starting.stdin,
        group: starting.group,
        port,
        pid: starting.pid,
        stderr: starting.stderr,
        stderr_reader: starting.stderr_reader,
        oom: OomWatch::of(starting.pid),
    })
}

/// Spawn the child in its own group, its stderr read into the tail from the start.
fn start_child(spec: &SpawnSpec) -> Result<Starting> {
    let mut child = command(spec)
        .spawn()
        .map_err(|e| Error::PythonNotFound(format!("cannot start {}: {e}", spec.python.display())))?;
    let pid = child.id().unwrap_or_default();
    let stdin = child.stdin.take();
    let stdout = child.stdout.take().expect("stdout is piped");
    let stderr = StderrTail::default();
    let stderr_reader = read_stderr(child.stderr.take().expect("stderr is piped"), stderr.clone());
    Ok(Starting {
        child,
        group: ProcessGroup { pgid: pid, swept: false },
        pid,
        stdin,
        stdout: BufReader::new(stdout).lines(),
        stderr,
        stderr_reader: Some(stderr_reader),
    })
}

/// Every stderr line goes to the debug log and the tail.
fn read_stderr(pipe: ChildStderr, tail: StderrTail) -> JoinHandle<()> {
    crate::tasks::spawn_logged("sidecar-stderr", async move {
        let mut lines = BufReader::new(pipe).lines();
        while let Ok(Some(line)) = lines.next_line().await {
            log::debug!("[buckaroo-tauri] sidecar stderr: {line}");
            tail.push(line);
        }
    })
}

/// The port from the first stdout line. On an error `starting` is dropped by the
/// caller, and its group with it.
async fn read_handshake(starting: &mut Starting, timeout: Duration) -> Result<u16> {
    match tokio::time::timeout(timeout, starting.stdout.next_line()).await {
        Err(_) => Err(Error::HandshakeTimeout(timeout)),
        Ok(Ok(Some(line))) => match handshake::parse_line(&line) {
            Handshake::Port(port) => Ok(port),
            Handshake::Unexpected(line) => Err(Error::HandshakeInvalid { line }),
        },
        Ok(Ok(None)) | Ok(Err(_)) => Err(exited_before_handshake(starting).await),
    }
}

/// The contract says stdout stays silent; keep draining so the child never blocks on it.
fn drain_stdout(mut lines: Lines<BufReader<ChildStdout>>) {
    crate::tasks::spawn_logged("sidecar-stdout", async move {
        while let Ok(Some(line)) = lines.next_line().await {
            log::warn!("[buckaroo-tauri] unexpected sidecar stdout: {line}");
        }
    });
}

/// The child closed stdout without a handshake: it is exiting; say why.
async fn exited_before_handshake(starting: &mut Starting) -> Error {
    let status = starting.child.wait().await;
    starting.group.sweep(); // anything it started holds stderr open
    let unsupported = status.as_ref().ok().and_then(|s| s.code()) == Some(EXIT_UNSUPPORTED);
    let tail = &starting.stderr;
    match explain_exit(status, tail, starting.stderr_reader.take()).await {
        // The launcher's own message says which buckaroo and what to do.
        Error::SidecarExited { cause, .. } if unsupported => Error::LauncherUnsupported(if cause.is_empty() { tail.text() } else { cause }),
        other => other,
    }
}

impl Sidecar {
    /// Whether it has exited already (a parked standby killed from outside).
    pub fn has_exited(&mut self) -> bool {
        !matches!(self.child.try_wait(), Ok(None))
    }

    /// Wait for the sidecar to exit.
    pub async fn wait(&mut self) -> std::io::Result<ExitStatus> {
        self.child.wait().await
    }

    /// After [`wait`](Self::wait) returned `status`: kill what the sidecar left in its
    /// group, then say why it exited (`SidecarExited` with the explaining stderr line).
    pub async fn exit_error(&mut self, status: std::io::Result<ExitStatus>) -> Error {
        self.group.sweep();
        if self.oom.as_ref().is_some_and(OomWatch::grew) && killed(&status) {
            log::error!("[buckaroo-tauri] sidecar pid={} killed by the kernel: out of memory", self.pid);
            return Error::SidecarOutOfMemory;
        }
        explain_exit(status, &self.stderr, self.stderr_reader.take()).await
    }

    /// Close stdin, SIGTERM the group, SIGKILL after `grace`.
    pub async fn shutdown(&mut self, grace: Duration) {
        self.stdin.take();
        if tokio::time::timeout(grace / 2, self.child.wait()).await.is_err() {
            #[cfg(unix)]
            signal_group(self.pid, nix::sys::signal::Signal::SIGTERM);
            if tokio::time::timeout(grace / 2, self.child.wait()).await.is_err() {
                self.group.sweep();
                let _ = self.child.wait().await;
            }
        }
        self.group.sweep(); // anything the leader left in its group
    }
}

/// Ended by SIGKILL (what the OOM killer sends).
fn killed(status: &std::io::Result<ExitStatus>) -> bool {
    #[cfg(unix)]
    {
        use std::os::unix::process::ExitStatusExt;
        status.as_ref().ok().and_then(|s| s.signal()) == Some(nix::sys::signal::Signal::SIGKILL as i32)
    }
    #[cfg(not(unix))]
    {
        let _ = status;
        false
    }
}

#[cfg(unix)]
fn signal_group(pgid: u32, sig: nix::sys::signal::Signal) {
    if pgid > 0 {
        let _ = nix::sys::signal::killpg(nix::unistd::Pid::from_raw(pgid as i32), sig);
    }
}

/// SIGKILL the whole process group (the sidecar is its leader). Called by
/// [`ProcessGroup`], and by [`crate::Supervisor::kill_now`] where no `Sidecar` can be
/// reached (the plugin's drop, without an async runtime).
pub(crate) fn kill_group(pgid: u32) {
    #[cfg(unix)]
    signal_group(pgid, nix::sys::signal::Signal::SIGKILL);
    #[cfg(not(unix))]
    let _ = pgid;
}

#[cfg(all(test, target_os = "linux"))]
mod tests {
    use super::*;

    /// Live (non-zombie) members of process group `pgid`.
    fn group_members(pgid: u32) -> Vec<u32> {
        let mut out = Vec::new();
        for entry in std::fs::read_dir("/proc").unwrap().flatten() {
            let Ok(pid) = entry.file_name().to_string_lossy().parse::<u32>() else {
                continue;
            };
            if let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) {
                // Fields after `(comm)`: state ppid pgrp.
                let rest: Vec<&str> = stat.rsplit(')').next().unwrap_or("").split_whitespace().collect();
                if rest.get(2).and_then(|g| g.parse::<u32>().ok()) == Some(pgid) && rest.first() != Some(&"Z") {
                    out.push(pid);
                }
            }
        }
        out
    }

    fn spec(script: &str) -> SpawnSpec {
        SpawnSpec {
            python: "sh".into(),
            args: vec!["-c".into(), script.into()],
            env: Vec::new(),
            working_dir: None,
            handshake_timeout: Duration::from_secs(5),
        }
    }

    async fn gone(pgid: u32) -> bool {
        for _ in 0..100 {
            if group_members(pgid).is_empty() {
                return true;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        false
    }

    #[tokio::test]
    async fn dropping_a_sidecar_kills_its_whole_group() {
        // The leader starts a grandchild in its group, as a server's workers would.
        let sc = spawn(&spec("sleep 60 & echo BUCKAROO_PORT=5; wait")).await.unwrap();
        let pgid = sc.pid;
        assert_eq!(sc.port, 5);
        assert!(group_members(pgid).len() >= 2, "{:?}", group_members(pgid));
        drop(sc);
        assert!(gone(pgid).await, "group {pgid} left behind: {:?}", group_members(pgid));
    }

    #[tokio::test]
    async fn a_failed_handshake_leaves_no_group_behind() {
        let pid_file = std::env::temp_dir().join(format!("bt-sidecar-pgid-{}", std::process::id()));
        let script = format!("echo $$ > '{}'; sleep 60 & echo hello; wait", pid_file.display());
        let e = spawn(&spec(&script)).await.unwrap_err();
        assert_eq!(e.code(), "handshake_invalid");
        let pgid: u32 = std::fs::read_to_string(&pid_file).unwrap().trim().parse().unwrap();
        let _ = std::fs::remove_file(&pid_file);
        assert!(gone(pgid).await, "group {pgid} left behind: {:?}", group_members(pgid));
    }
}
