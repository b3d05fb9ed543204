//! The command line: `buckaroo-tauri-example [FILE]...`, each file in its own window.

use clap::{CommandFactory, FromArgMatches, Parser};
use std::ffi::OsString;
use std::path::{Path, PathBuf};

/// View Parquet, CSV, TSV and JSON files with buckaroo.
#[derive(Debug, Parser)]
#[command(name = "buckaroo-tauri-example")]
pub struct Cli {
    /// Files to open, each in its own window (a running app opens them instead).
    pub files: Vec<PathBuf>,
    /// Name the files' windows TITLE instead of by file name.
    #[arg(long, value_name = "TITLE")]
    pub title: Option<String>,
    /// The files are temporary copies (buckaroo_desktop.show): each is removed, with
    /// its private folder, when its window closes or the app exits.
    #[arg(long)]
    pub temporary: bool,
}

/// Parse `argv` (program name first); `version` is the app's, from tauri.conf.json.
pub fn parse<I, T>(argv: I, version: &str) -> Result<Cli, clap::Error>
where
    I: IntoIterator<Item = T>,
    T: Into<OsString> + Clone,
{
    // clap wants a 'static version string; this runs once per launch.
    let version: &'static str = Box::leak(version.to_string().into_boxed_str());
    let matches = Cli::command().version(version).try_get_matches_from(argv)?;
    Cli::from_arg_matches(&matches)
}

impl Cli {
    /// The files, relative ones resolved against `cwd` (the caller's, for a second launch).
    pub fn files_from(&self, cwd: &Path) -> Vec<PathBuf> {
        self.files.iter().map(|f| cwd.join(f)).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn files_resolve_against_the_callers_cwd() {
        let cli = parse(["app", "a.parquet", "/abs/b.csv"], "0.1.0").unwrap();
        assert_eq!(
            cli.files_from(Path::new("/home/u/data")),
            [PathBuf::from("/home/u/data/a.parquet"), PathBuf::from("/abs/b.csv")]
        );
    }

    #[test]
    fn version_and_help_are_answered_by_clap() {
        let v = parse(["app", "--version"], "9.8.7").unwrap_err();
        assert_eq!(v.kind(), clap::error::ErrorKind::DisplayVersion);
        assert!(v.to_string().contains("9.8.7"));
        let h = parse(["app", "--help"], "0.1.0").unwrap_err();
        assert_eq!(h.kind(), clap::error::ErrorKind::DisplayHelp);
        assert!(h.to_string().contains("FILES"));
    }

    #[test]
    fn title_and_temporary_apply_to_the_files() {
        let cli = parse(["app", "--title", "sales", "--temporary", "/tmp/x/f.parquet"], "0.1.0").unwrap();
        assert_eq!((cli.title.as_deref(), cli.temporary), (Some("sales"), true));
        let plain = parse(["app", "f.parquet"], "0.1.0").unwrap();
        assert_eq!((plain.title, plain.temporary), (None, false));
    }

    #[test]
    fn an_unknown_flag_is_an_error() {
        assert_eq!(
            parse(["app", "--nope"], "0.1.0").unwrap_err().kind(),
            clap::error::ErrorKind::UnknownArgument
        );
    }
}
