//! What the server last told one session about its state, so that a page's
//! `buckaroo_state_change` can be completed and checked before it is sent.
//!
//! buckaroo replaces a session's whole `buckaroo_state` with the `new_state` it is
//! sent, and its grid shows `df_display_args[buckaroo_state.df_display]`: a partial
//! state (no `df_display`) or an unknown display is accepted and the grid goes
//! blank with no error. So a partial `new_state` is merged over the last state the
//! server sent this session, and the result must name a display the session has
//! and only options and commands the session offered. No Tauri types here.

use crate::error::{Error, Result};
use serde::de::IgnoredAny;
use serde::Deserialize;
use serde_json::{Map, Value};
use std::collections::HashMap;

/// The parts of an `initial_state` / `stats_update` frame the view keeps (read by
/// [`crate::frame::FrameHead::parse`]).
#[derive(Debug)]
pub struct Observed {
    pub(crate) kind: String,
    pub(crate) buckaroo_state: Option<Map<String, Value>>,
    pub(crate) df_display_args: Option<HashMap<String, IgnoredAny>>,
    pub(crate) buckaroo_options: Option<Map<String, Value>>,
    pub(crate) command_config: Option<CommandConfig>,
}

#[derive(Debug, Deserialize)]
pub(crate) struct CommandConfig {
    argspecs: Option<HashMap<String, IgnoredAny>>,
}

/// One session's state as its server last described it.
#[derive(Debug, Default, Clone)]
pub struct SessionView {
    /// `None` before the first `initial_state`, and in modes without one (viewer, lazy).
    state: Option<Map<String, Value>>,
    displays: Option<Vec<String>>,
    options: Option<Map<String, Value>>,
    commands: Option<Vec<String>>,
}

fn sorted_keys(m: HashMap<String, IgnoredAny>) -> Vec<String> {
    let mut keys: Vec<String> = m.into_keys().collect();
    keys.sort();
    keys
}

impl SessionView {
    pub fn observe(&mut self, frame: Observed) {
        if frame.kind == "initial_state" {
            self.state = frame.buckaroo_state;
            self.options = frame.buckaroo_options;
            self.commands = frame.command_config.and_then(|c| c.argspecs).map(sorted_keys);
        }
        if let Some(args) = frame.df_display_args {
            self.displays = Some(sorted_keys(args));
        }
    }

    /// The message to send for a page's `buckaroo_state_change` (already through
    /// [`check_types`]): its `new_state` merged over the session's state, if the
    /// result is one buckaroo can show. Records the merged state as the current one,
    /// so a second partial change sent before the server's reply builds on the first.
    pub fn complete(&mut self, msg: &Value) -> Result<Value> {
        let partial = msg.get("new_state").and_then(Value::as_object).cloned().unwrap_or_default();
        let mut merged = self.state.clone().unwrap_or_default();
        merged.extend(partial);
        self.check_members(&merged)?;
        let mut out = msg.clone();
        out["new_state"] = Value::Object(merged.clone());
        if self.state.is_some() {
            self.state = Some(merged);
        }
        Ok(out)
    }

    fn check_members(&self, state: &Map<String, Value>) -> Result<()> {
        if let (Some(Value::String(d)), Some(displays)) = (state.get("df_display"), &self.displays) {
            if !displays.contains(d) {
                return Err(refused(
                    format!("df_display {d:?} is not one of this session's displays"),
                    format!(
                        "df_display must name one of the keys of the session's initial_state.df_display_args: {}.",
                        displays.join(", ")
                    ),
                ));
            }
        }
        for key in ["cleaning_method", "post_processing"] {
            let offered = self.options.as_ref().and_then(|o| o.get(key)).and_then(Value::as_array);
            let chosen = state.get(key).and_then(Value::as_str).filter(|s| !s.is_empty());
            if let (Some(v), Some(offered)) = (chosen, offered) {
                if !offered.iter().any(|o| o == v) {
                    return Err(refused(
                        format!("{key} {v:?} is not offered by this session"),
                        format!(
                            "{key} must be \"\" or one of initial_state.buckaroo_options.{key}: {}.",
                            Value::from(offered.clone())
                        ),
                    ));
                }
            }
        }
        let commands = self.commands.as_ref();
        let qca = state.get("quick_command_args").and_then(Value::as_object);
        if let (Some(qca), Some(commands)) = (qca, commands) {
            if let Some(unknown) = qca.keys().find(|k| !commands.contains(k)) {
                return Err(refused(
                    format!("quick_command_args names the unknown command {unknown:?}"),
                    "quick_command_args keys must be commands in initial_state.command_config.argspecs (search, ...).".into(),
                ));
            }
        }
        Ok(())
    }
}

fn refused(problem: String, hint: String) -> Error {
    Error::InvalidStateChange { problem, hint }
}

/// The JSON type each `buckaroo_state` key must have; buckaroo raises (and, for some
/// keys, half-applies the change) on anything else. Unknown keys pass: buckaroo
/// stores and returns them untouched.
pub fn check_types(new_state: &Map<String, Value>) -> Result<()> {
    let hint = "Send new_state as buckaroo's grid does: a string for df_display and search_string, a string or false for \
                cleaning_method and post_processing, an object of arrays for quick_command_args, false/true or a string for \
                sampled and show_commands.";
    for (key, v) in new_state {
        let ok = match key.as_str() {
            "df_display" => v.is_string(),
            // The grid's own defaults are `false` before the server's state arrives.
            "cleaning_method" | "post_processing" => v.is_string() || v == &Value::Bool(false) || v.is_null(),
            "search_string" => v.is_string() || v.is_null(),
            "sampled" | "show_commands" => v.is_boolean() || v.is_string() || v.is_null(),
            "quick_command_args" => v.as_object().is_some_and(|m| m.values().all(Value::is_array)),
            _ => true,
        };
        if !ok {
            return Err(refused(format!("new_state.{key} has the wrong type ({v})"), hint.into()));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    /// What buckaroo 0.15.11 sends for tiny.parquet in buckaroo mode (abridged).
    fn initial_state() -> String {
        json!({
            "type": "initial_state", "protocol_version": 1, "mode": "buckaroo",
            "df_display_args": {"main": {"df_viewer_config": {}}, "summary": {}},
            "df_data_dict": {"empty": [], "all_stats": [{"index": "dtype"}]},
            "buckaroo_state": {"cleaning_method": "", "post_processing": "", "sampled": false,
                "show_commands": false, "df_display": "main", "search_string": "", "quick_command_args": {}},
            "buckaroo_options": {"sampled": ["random"], "post_processing": [""], "df_display": ["main", "summary"],
                "show_commands": ["on"], "cleaning_method": ["default", ""]},
            "command_config": {"argspecs": {"search": [[3, "term", "type", "string"]], "dropcol": [null]}},
        })
        .to_string()
    }

    fn view() -> SessionView {
        let mut v = SessionView::default();
        v.observe(parse(&initial_state()).unwrap());
        v
    }

    fn change(new_state: Value) -> Value {
        json!({"type": "buckaroo_state_change", "new_state": new_state, "state_seq": 3})
    }

    #[test]
    fn a_partial_state_is_completed_from_the_servers() {
        let mut v = view();
        let out = v.complete(&change(json!({"quick_command_args": {"search": ["a"]}}))).unwrap();
        assert_eq!(out["new_state"]["df_display"], "main");
        assert_eq!(out["new_state"]["quick_command_args"]["search"][0], "a");
        assert_eq!(out["state_seq"], 3);
        // The next partial change builds on the one just sent.
        let out = v.complete(&change(json!({"df_display": "summary"}))).unwrap();
        assert_eq!(out["new_state"]["quick_command_args"]["search"][0], "a");
        assert_eq!(out["new_state"]["df_display"], "summary");
    }

    #[test]
    fn an_unknown_display_option_or_command_is_refused() {
        let mut v = view();
        for bad in [
            json!({"df_display": "nope"}),
            json!({"post_processing": "zzz"}),
            json!({"cleaning_method": "zzz"}),
            json!({"quick_command_args": {"nosuch": ["a"]}}),
        ] {
            let e = v.complete(&change(bad.clone())).unwrap_err();
            assert_eq!(e.code(), "invalid_message", "{bad}");
            assert!(e.hint().is_some(), "{bad}");
        }
        let e = v.complete(&change(json!({"df_display": "nope"}))).unwrap_err();
        assert!(e.hint().unwrap().contains("main, summary"), "{:?}", e.hint());
        // A refused change does not become the state.
        assert_eq!(v.complete(&change(json!({}))).unwrap()["new_state"]["df_display"], "main");
        assert!(v
            .complete(&change(json!({"cleaning_method": "default", "post_processing": ""})))
            .is_ok());
        // The grid's pre-state defaults: false, never checked against the offer.
        assert!(v
            .complete(&change(json!({"cleaning_method": false, "post_processing": false})))
            .is_ok());
    }

    #[test]
    fn wrong_types_are_refused_before_any_session_is_known() {
        for bad in [
            json!({"df_display": 5}),
            json!({"cleaning_method": 5}),
            json!({"quick_command_args": "x"}),
            json!({"quick_command_args": {"search": 5}}),
            json!({"sampled": 1}),
        ] {
            let e = check_types(bad.as_object().unwrap()).unwrap_err();
            assert_eq!(e.code(), "invalid_message", "{bad}");
        }
        let ok = json!({"df_display": "main", "sampled": "random", "show_commands": false, "search_string": null,
            "cleaning_method": false, "post_processing": "", "x_custom": [1]});
        assert!(check_types(ok.as_object().unwrap()).is_ok());
        // Nothing known yet (no load, or viewer mode): forwarded as sent, the server ignores it.
        let mut empty = SessionView::default();
        assert_eq!(
            empty.complete(&change(json!({"df_display": "nope"}))).unwrap()["new_state"],
            json!({"df_display": "nope"})
        );
    }

    fn parse(text: &str) -> Option<Observed> {
        crate::frame::FrameHead::parse(text)?.1
    }

    #[test]
    fn only_state_frames_are_observed() {
        assert!(parse(r#"{"type":"infinite_resp","key":{},"length":3}"#).is_none());
        assert!(parse(r#"{"type":"error","df_display_args":{}}"#).is_none());
        let mut v = view();
        // A final stats_update replaces the display args (and their keys) only.
        v.observe(parse(r#"{"type":"stats_update","df_display_args":{"main":{},"summary":{},"extra":{}}}"#).unwrap());
        assert!(v.complete(&change(json!({"df_display": "extra"}))).is_ok());
        // A viewer-mode initial_state has no buckaroo_state: nothing to merge.
        v.observe(parse(r#"{"type":"initial_state","mode":"viewer","df_display_args":{"main":{}}}"#).unwrap());
        assert_eq!(
            v.complete(&change(json!({"sampled": false}))).unwrap()["new_state"],
            json!({"sampled": false})
        );
    }
}
