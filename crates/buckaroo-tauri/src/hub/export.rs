//! Exports: what a window's grid shows, written by the launcher to a path this window
//! may write ([`crate::export::ExportGrants`]). The launcher writes a part file beside
//! the target and renames it at the end; when the sidecar dies under it, the part file
//! is removed here.

use super::Hub;
use crate::error::{Error, Result};
use crate::export::{format_of, part_path};
use crate::models::{CopyArgs, ExportArgs, ExportResult};
use serde_json::json;
use std::path::Path;
use std::time::Duration;

impl Hub {
    /// The user picked `path` in window `label`'s save dialog: it may export there once.
    pub fn grant_export(&self, label: &str, path: &Path) {
        self.exports.grant(label, path);
    }

    /// Write what window `label` shows to `args.path` (`buckaroo_export`); progress goes
    /// to the window as `buckaroo_tauri_export_progress` frames.
    pub async fn export(&self, label: &str, args: ExportArgs) -> Result<ExportResult> {
        let target = self.exports.take(label, Path::new(&args.path))?;
        let format = match args.format.as_deref() {
            Some(f) => f.to_string(),
            None => format_of(&target)
                .ok_or_else(|| Error::ExportFailed {
                    server_code: "invalid_export".into(),
                    message: format!(
                        "{} has no export format's extension (.csv, .tsv, .parquet, .jsonl, .xlsx)",
                        target.display()
                    ),
                })?
                .to_string(),
        };
        let entry = self.entry(label)?;
        let ep = self.sup.ready(Duration::from_secs(5)).await?;
        let part = part_path(&target);
        let body = json!({"path": target, "part_path": part, "format": format, "whole_file": args.whole_file});
        let route = format!("/export/{}", entry.session);
        match self.http.post_unbounded(&ep, &route, &body).await {
            Ok(reply) => serde_json::from_value(reply).map_err(|e| Error::ExportFailed {
                server_code: "export_failed".into(),
                message: format!("the sidecar's reply was not understood: {e}"),
            }),
            Err(Error::LoadFailed { server_code, message, .. }) => Err(Error::ExportFailed { server_code, message }),
            Err(e) => {
                // The sidecar went away mid-write: its part file is ours to remove.
                let _ = std::fs::remove_file(&part);
                Err(e)
            }
        }
    }

    /// A block of what window `label` shows, as TSV with a header (`buckaroo_copy_cells`).
    pub async fn copy_cells(&self, label: &str, args: &CopyArgs) -> Result<String> {
        let entry = self.entry(label)?;
        let ep = self.sup.ready(Duration::from_secs(5)).await?;
        let body = json!({"start": args.start, "end": args.end, "columns": args.columns});
        let reply = match self.http.post(&ep, &format!("/copy/{}", entry.session), &body).await {
            Err(Error::LoadFailed { server_code, message, .. }) => return Err(Error::CopyFailed { server_code, message }),
            other => other?,
        };
        reply
            .get("tsv")
            .and_then(serde_json::Value::as_str)
            .map(String::from)
            .ok_or_else(|| Error::CopyFailed {
                server_code: "copy_failed".into(),
                message: "the sidecar's reply had no text".into(),
            })
    }

    /// Cancel window `label`'s running export; whether there was one.
    pub async fn export_cancel(&self, label: &str) -> Result<bool> {
        let entry = self.entry(label)?;
        let Some(ep) = self.sup.endpoint() else {
            return Ok(false);
        };
        let reply = self
            .http
            .post(&ep, &format!("/export_cancel/{}", entry.session), &json!({}))
            .await?;
        Ok(reply.get("cancelled").and_then(serde_json::Value::as_bool).unwrap_or(false))
    }
}
