//! Which Python runs the sidecar. Pure: the environment is passed in, so every
//! rule is unit-tested without touching the real machine.

use std::ffi::OsString;
use std::path::{Path, PathBuf};

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    Configured,
    Venv,
    EnvVar,
    /// The interpreter that runs the `buckaroo-server` script found on PATH.
    BuckarooServerScript(PathBuf),
    Path,
}

impl std::fmt::Display for Source {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Source::Configured => write!(f, "BuckarooConfig::with_python"),
            Source::Venv => write!(f, "BuckarooConfig::with_venv"),
            Source::EnvVar => write!(f, "BUCKAROO_PYTHON"),
            Source::BuckarooServerScript(p) => write!(f, "shebang of {}", p.display()),
            Source::Path => write!(f, "python3 on PATH"),
        }
    }
}

#[derive(Debug, Default, Clone)]
pub struct Inputs {
    pub configured: Option<PathBuf>,
    pub venv_python: Option<PathBuf>,
    pub env_python: Option<OsString>,
    pub path_var: Option<OsString>,
}

impl Inputs {
    pub fn from_env(configured: Option<PathBuf>, venv_python: Option<PathBuf>) -> Self {
        Self {
            configured,
            venv_python,
            env_python: std::env::var_os("BUCKAROO_PYTHON").filter(|v| !v.is_empty()),
            path_var: std::env::var_os("PATH"),
        }
    }
}

/// First match wins: configured → venv → BUCKAROO_PYTHON → buckaroo-server's
/// interpreter → python3 on PATH. An explicit choice that does not exist is an
/// error, not a reason to fall through silently to some other Python.
pub fn resolve(inputs: &Inputs) -> Result<(PathBuf, Source), String> {
    if let Some(p) = &inputs.configured {
        return existing(p, "configured python").map(|p| (p, Source::Configured));
    }
    if let Some(p) = &inputs.venv_python {
        return existing(p, "venv python").map(|p| (p, Source::Venv));
    }
    if let Some(p) = &inputs.env_python {
        let p = PathBuf::from(p);
        let found = if p.components().count() == 1 {
            which(p.as_os_str(), inputs.path_var.as_deref())
        } else {
            Some(p.clone())
        };
        return match found {
            Some(found) => existing(&found, "BUCKAROO_PYTHON").map(|p| (p, Source::EnvVar)),
            None => Err(format!("BUCKAROO_PYTHON={} is not on PATH", p.display())),
        };
    }
    if let Some(script) = which("buckaroo-server".as_ref(), inputs.path_var.as_deref()) {
        if let Some(python) = script_interpreter(&script) {
            return Ok((python, Source::BuckarooServerScript(script)));
        }
    }
    for name in ["python3", "python"] {
        if let Some(p) = which(name.as_ref(), inputs.path_var.as_deref()) {
            return Ok((p, Source::Path));
        }
    }
    Err("no BUCKAROO_PYTHON, no buckaroo-server and no python3 on PATH".into())
}

fn existing(p: &Path, what: &str) -> Result<PathBuf, String> {
    if p.is_file() {
        Ok(p.to_path_buf())
    } else {
        Err(format!("{what} {} does not exist", p.display()))
    }
}

/// Look `name` up in a PATH-style list.
pub fn which(name: &std::ffi::OsStr, path_var: Option<&std::ffi::OsStr>) -> Option<PathBuf> {
    let path_var = path_var?;
    std::env::split_paths(path_var).map(|dir| dir.join(name)).find(|p| is_executable(p))
}

fn is_executable(p: &Path) -> bool {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        p.metadata()
            .map(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
            .unwrap_or(false)
    }
    #[cfg(not(unix))]
    {
        p.is_file()
    }
}

/// The Python that runs a console script: its `#!` line (pip writes an absolute
/// interpreter path), else a python next to the symlink-resolved script
/// (pipx/uv shims are symlinks into the real environment).
pub fn script_interpreter(script: &Path) -> Option<PathBuf> {
    let resolved = std::fs::canonicalize(script).ok()?;
    if let Some(python) = shebang_python(&resolved) {
        return Some(python);
    }
    let dir = resolved.parent()?;
    ["python3", "python", "python.exe"]
        .iter()
        .map(|n| dir.join(n))
        .find(|p| p.is_file())
}

fn shebang_python(script: &Path) -> Option<PathBuf> {
    use std::io::Read;
    let mut head = [0u8; 512];
    let n = std::fs::File::open(script).ok()?.read(&mut head).ok()?;
    let text = std::str::from_utf8(&head[..n]).ok()?;
    let first = text.lines().next()?.strip_prefix("#!")?.trim();
    let mut parts = first.split_whitespace();
    let interp = PathBuf::from(parts.next()?);
    // `#!/usr/bin/env python3` names the program to find rather than a path.
    if interp.file_name().is_some_and(|n| n == "env") {
        let prog = parts.find(|a| !a.starts_with('-'))?;
        return which(prog.as_ref(), std::env::var_os("PATH").as_deref());
    }
    interp.is_file().then_some(interp)
}

#[cfg(all(test, unix))]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    fn exe(dir: &Path, name: &str, body: &str) -> PathBuf {
        let p = dir.join(name);
        std::fs::write(&p, body).unwrap();
        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o755)).unwrap();
        p
    }

    fn tmp(tag: &str) -> PathBuf {
        let d = std::env::temp_dir().join(format!("bt-disc-{tag}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&d);
        std::fs::create_dir_all(&d).unwrap();
        d
    }

    #[test]
    fn order_configured_venv_env_script_path() {
        let d = tmp("order");
        let conf = exe(&d, "conf-python", "");
        let venv = exe(&d, "venv-python", "");
        let envp = exe(&d, "env-python", "");
        let bin = d.join("bin");
        std::fs::create_dir_all(&bin).unwrap();
        let real = exe(&d, "real-python", "");
        exe(&bin, "buckaroo-server", &format!("#!{}\nprint(1)\n", real.display()));
        exe(&bin, "python3", "");
        let path = Some(bin.clone().into_os_string());

        let mut i = Inputs {
            configured: Some(conf.clone()),
            venv_python: Some(venv.clone()),
            env_python: Some(envp.clone().into()),
            path_var: path.clone(),
        };
        assert_eq!(resolve(&i).unwrap(), (conf, Source::Configured));
        i.configured = None;
        assert_eq!(resolve(&i).unwrap(), (venv, Source::Venv));
        i.venv_python = None;
        assert_eq!(resolve(&i).unwrap(), (envp, Source::EnvVar));
        i.env_python = None;
        assert_eq!(resolve(&i).unwrap().0, real);
        std::fs::remove_file(bin.join("buckaroo-server")).unwrap();
        assert_eq!(resolve(&i).unwrap(), (bin.join("python3"), Source::Path));
        i.path_var = Some(d.join("nothing").into_os_string());
        assert!(resolve(&i).is_err());
    }

    #[test]
    fn explicit_choice_that_does_not_exist_is_an_error() {
        let i = Inputs {
            configured: Some("/no/such/python".into()),
            ..Default::default()
        };
        assert!(resolve(&i).unwrap_err().contains("/no/such/python"));
        let i = Inputs {
            env_python: Some("/no/such/python".into()),
            ..Default::default()
        };
        assert!(resolve(&i).unwrap_err().contains("BUCKAROO_PYTHON"));
    }

    #[test]
    fn symlinked_shim_resolves_to_the_real_environment() {
        let d = tmp("shim");
        let env_bin = d.join("env/bin");
        std::fs::create_dir_all(&env_bin).unwrap();
        exe(&env_bin, "python3", "");
        // No usable shebang (relative), so the sibling of the *resolved* script wins.
        let script = exe(&env_bin, "buckaroo-server", "#!python\n");
        let shims = d.join("shims");
        std::fs::create_dir_all(&shims).unwrap();
        std::os::unix::fs::symlink(&script, shims.join("buckaroo-server")).unwrap();
        let i = Inputs {
            path_var: Some(shims.into_os_string()),
            ..Default::default()
        };
        let (py, src) = resolve(&i).unwrap();
        assert_eq!(py, std::fs::canonicalize(env_bin.join("python3")).unwrap());
        assert!(matches!(src, Source::BuckarooServerScript(_)));
    }
}
