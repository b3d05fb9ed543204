//! Why a sidecar exited, in one line for the status banner: how it ended ("exited
//! with code 1", "was killed by signal 9 (SIGKILL)") and the stderr line that
//! explains it. Not simply the last stderr line: that is often an unrelated
//! warning printed after (or long before) the real cause. Pure.

use crate::error::Error;
use std::process::ExitStatus;

const TRACEBACK: &str = "Traceback (most recent call last):";
const MAX_LINE: usize = 300;

/// `SidecarExited` for a process that ended with `status` after printing `stderr`.
pub fn exited(status: &std::io::Result<ExitStatus>, stderr: &[String]) -> Error {
    Error::SidecarExited {
        status: describe(status),
        cause: cause(status, stderr).unwrap_or_default(),
    }
}

/// "exited with code N", "was killed by signal N (SIGNAME)".
pub fn describe(status: &std::io::Result<ExitStatus>) -> String {
    let st = match status {
        Ok(st) => st,
        Err(e) => return format!("could not be waited for ({e})"),
    };
    if let Some(code) = st.code() {
        return format!("exited with code {code}");
    }
    #[cfg(unix)]
    {
        use std::os::unix::process::ExitStatusExt;
        if let Some(sig) = st.signal() {
            let name = nix::sys::signal::Signal::try_from(sig).map(|s| s.as_str()).unwrap_or("unknown");
            let core = if st.core_dumped() { ", core dumped" } else { "" };
            return format!("was killed by signal {sig} ({name}{core})");
        }
    }
    format!("exited ({st})")
}

/// The stderr line that explains the exit, if one does.
///
/// Killed by a signal: the signal is the reason; only Python's own "Fatal Python
/// error" (a segfault, an abort) says more, and an older traceback (buckaroo logs
/// the ones it handled) would mislead. A clean exit needs no explanation. Otherwise
/// the last of: a traceback's exception line, the launcher's own message, an argparse
/// error, or a bare `SomethingError: ...` (its traceback header may have scrolled
/// out of the kept tail).
pub fn cause(status: &std::io::Result<ExitStatus>, stderr: &[String]) -> Option<String> {
    let st = status.as_ref().ok();
    if st.is_some_and(|s| s.success()) {
        return None;
    }
    let by_signal = st.is_some_and(|s| s.code().is_none());
    let found = if by_signal {
        stderr
            .iter()
            .rev()
            .find(|l| l.trim_start().starts_with("Fatal Python error"))
            .cloned()
    } else {
        last_explanation(stderr)
    };
    found.map(|l| truncate(l.trim()))
}

fn last_explanation(lines: &[String]) -> Option<String> {
    let mut in_traceback = false;
    let mut found = None;
    for line in lines {
        if line.trim_end().ends_with(TRACEBACK) {
            // Also "ERROR buckaroo...: request failed: Traceback (most recent call last):".
            in_traceback = true;
        } else if in_traceback {
            // Frames and source lines are indented; the first line that is not ends it.
            if !line.is_empty() && !line.starts_with(char::is_whitespace) {
                found = Some(line.clone());
                in_traceback = false;
            }
        } else if explains(line) {
            found = Some(line.clone());
        }
    }
    found
}

/// A line that states an error on its own.
fn explains(line: &str) -> bool {
    let l = line.trim();
    l.starts_with("buckaroo-tauri-sidecar:") || l.starts_with("Fatal Python error") || l.contains(": error: ") || is_exception_line(l)
}

/// `ModuleNotFoundError: ...`, `pyarrow.lib.ArrowInvalid: ...` is not matched (its name
/// does not say so), which is why tracebacks are read by their structure first.
fn is_exception_line(l: &str) -> bool {
    let name = l.split(':').next().unwrap_or("");
    let is_ident = !name.is_empty()
        && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '.')
        && name.starts_with(|c: char| c.is_ascii_alphabetic());
    is_ident && ["Error", "Exception", "Exit", "Interrupt"].iter().any(|s| name.ends_with(s))
}

fn truncate(s: &str) -> String {
    match s.char_indices().nth(MAX_LINE) {
        Some((i, _)) => format!("{}…", &s[..i]),
        None => s.to_string(),
    }
}

#[cfg(all(test, unix))]
mod tests {
    use super::*;
    use std::os::unix::process::ExitStatusExt;

    fn code(n: i32) -> std::io::Result<ExitStatus> {
        Ok(ExitStatus::from_raw(n << 8))
    }

    fn signal(n: i32) -> std::io::Result<ExitStatus> {
        Ok(ExitStatus::from_raw(n))
    }

    fn lines(text: &str) -> Vec<String> {
        text.lines().map(String::from).collect()
    }

    const IMPORT_FAILURE: &str = "\
/venv/lib/python3.11/site-packages/pandas/__init__.py:1: UserWarning: an unrelated import warning
Traceback (most recent call last):
  File \"<string>\", line 250, in <module>
  File \"<string>\", line 90, in build_app
    from buckaroo.server.app import make_app
ModuleNotFoundError: No module named 'pyarrow'
/venv/lib/python3.11/site-packages/x.py:7: DeprecationWarning: printed at shutdown";

    #[test]
    fn status_lines() {
        assert_eq!(describe(&code(1)), "exited with code 1");
        assert_eq!(describe(&signal(9)), "was killed by signal 9 (SIGKILL)");
        assert_eq!(describe(&signal(11)), "was killed by signal 11 (SIGSEGV)");
        assert!(describe(&Err(std::io::Error::other("gone"))).contains("gone"));
    }

    #[test]
    fn a_tracebacks_exception_line_not_the_last_line() {
        let e = exited(&code(1), &lines(IMPORT_FAILURE));
        assert_eq!(
            e.to_string(),
            "the sidecar exited with code 1: ModuleNotFoundError: No module named 'pyarrow'"
        );
    }

    #[test]
    fn the_last_traceback_wins_and_headerless_ones_are_found() {
        let two = "Traceback (most recent call last):\n  File \"a\"\nKeyError: 'zz'\n\
                   During handling of the above exception, another exception occurred:\n\n\
                   Traceback (most recent call last):\n  File \"b\"\n    x()\n    ^^^\n\
                   pyarrow.lib.ArrowInvalid: bad file\nINFO buckaroo: bye";
        assert_eq!(cause(&code(1), &lines(two)).unwrap(), "pyarrow.lib.ArrowInvalid: bad file");
        // The kept tail lost the header: the bare exception line still explains it.
        let cut = "  File \"x\", line 3, in f\n    g()\nOSError: [Errno 98] Address already in use\nsome: note";
        assert_eq!(cause(&code(1), &lines(cut)).unwrap(), "OSError: [Errno 98] Address already in use");
    }

    #[test]
    fn launcher_and_argparse_messages() {
        let l = lines("WARNING x: y\nbuckaroo-tauri-sidecar: BUCKAROO_TAURI_TOKEN must hold a secret of 32+ characters");
        assert!(cause(&code(2), &l).unwrap().contains("must hold a secret"));
        let l = lines("usage: buckaroo-server [-h]\nbuckaroo-server: error: unrecognized arguments: --nope");
        assert!(cause(&code(2), &l).unwrap().contains("unrecognized arguments"));
    }

    #[test]
    fn nothing_explains_a_warning_or_a_clean_exit() {
        let l = lines("/x.py:1: UserWarning: unrelated\nINFO buckaroo: listening");
        assert_eq!(cause(&code(1), &l), None);
        assert_eq!(exited(&code(1), &l).to_string(), "the sidecar exited with code 1");
        assert_eq!(cause(&code(0), &lines(IMPORT_FAILURE)), None);
    }

    #[test]
    fn a_signal_is_its_own_reason() {
        // buckaroo logs tracebacks of requests it handled; they did not kill it.
        let e = exited(&signal(9), &lines(IMPORT_FAILURE));
        assert_eq!(e.to_string(), "the sidecar was killed by signal 9 (SIGKILL)");
        let segv = lines("Fatal Python error: Segmentation fault\n\nCurrent thread 0x1 (most recent call first):\n  File \"x\"");
        assert_eq!(cause(&signal(11), &segv).unwrap(), "Fatal Python error: Segmentation fault");
    }

    #[test]
    fn long_lines_are_cut() {
        let long = format!("ValueError: {}", "x".repeat(1000));
        assert!(cause(&code(1), &[long]).unwrap().chars().count() <= MAX_LINE + 1);
    }
}
