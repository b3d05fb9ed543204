//! One server text frame, parsed once, in the connection's reader: what the pairer
//! routes by (`type`, `key`, whether a parquet frame follows), what the session view
//! keeps of a state frame, and the kind the sink and the log name it by. The rest of a
//! frame (`df_data_dict` can be megabytes) is skipped, not built.

use crate::state::{CommandConfig, Observed};
use serde::de::IgnoredAny;
use serde::Deserialize;
use serde_json::{Map, Value};
use std::collections::HashMap;

/// What the pairer, the sink and the log need to know about one JSON frame.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct FrameHead {
    /// Its `type` (empty when it has none).
    pub kind: String,
    /// Its `key` (a row reply's request).
    pub key: Option<Value>,
    /// An `infinite_resp` announcing a parquet frame.
    pub expects_binary: bool,
}

/// A frame's head, and the session state an `initial_state` / `stats_update` carries.
pub type Parsed = (FrameHead, Option<Observed>);

/// The fields any frame is read for; everything else is skipped.
#[derive(Deserialize)]
struct Wire {
    #[serde(rename = "type")]
    kind: Option<String>,
    key: Option<Value>,
    payload: Option<PayloadHead>,
    buckaroo_state: Option<Map<String, Value>>,
    df_display_args: Option<HashMap<String, IgnoredAny>>,
    buckaroo_options: Option<Map<String, Value>>,
    command_config: Option<CommandConfig>,
}

#[derive(Deserialize)]
struct PayloadHead {
    format: Option<String>,
}

impl FrameHead {
    /// `None` when `text` is not a JSON object (the page could not read it either).
    pub fn parse(text: &str) -> Option<Parsed> {
        if !text.trim_start().starts_with('{') {
            return None;
        }
        match serde_json::from_str::<Wire>(text) {
            Ok(wire) => Some(Self::from_wire(wire)),
            // A field of an unexpected shape: still an object to forward.
            Err(_) => Some((Self::from_value(serde_json::from_str::<Value>(text).ok()?.as_object()?), None)),
        }
    }

    fn from_wire(w: Wire) -> Parsed {
        let kind = w.kind.unwrap_or_default();
        let expects_binary = kind == "infinite_resp" && w.payload.and_then(|p| p.format).as_deref() == Some("parquet_buffer");
        let is_state = kind == "initial_state" || kind == "stats_update";
        let observed = (is_state && w.df_display_args.is_some()).then(|| Observed {
            kind: kind.clone(),
            buckaroo_state: w.buckaroo_state,
            df_display_args: w.df_display_args,
            buckaroo_options: w.buckaroo_options,
            command_config: w.command_config,
        });
        let head = Self {
            kind,
            key: w.key,
            expects_binary,
        };
        (head, observed)
    }

    fn from_value(obj: &Map<String, Value>) -> Self {
        let kind = obj.get("type").and_then(Value::as_str).unwrap_or("").to_string();
        let format = obj.get("payload").and_then(|p| p.get("format")).and_then(Value::as_str);
        Self {
            expects_binary: kind == "infinite_resp" && format == Some("parquet_buffer"),
            key: obj.get("key").cloned(),
            kind,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn heads_are_read_and_oddities_still_forwarded() {
        let (h, _) = FrameHead::parse(r#"{"type":"infinite_resp","key":{"start":1},"payload":{"format":"parquet_buffer"}}"#).unwrap();
        assert_eq!((h.kind.as_str(), h.expects_binary), ("infinite_resp", true));
        assert_eq!(h.key.unwrap()["start"], 1);
        // A field of another shape than buckaroo's falls back to a plain read.
        let (h, observed) = FrameHead::parse(r#"{"type":"initial_state","buckaroo_state":"x","df_display_args":{}}"#).unwrap();
        assert_eq!(h.kind, "initial_state");
        assert!(observed.is_none());
        let (h, _) = FrameHead::parse(r#"{"type":"infinite_resp","payload":"odd"}"#).unwrap();
        assert!(!h.expects_binary);
        assert!(FrameHead::parse("[1, 2]").is_none());
        assert!(FrameHead::parse("not json").is_none());
        assert_eq!(FrameHead::parse(r#"{"no_type": 1}"#).unwrap().0.kind, "");
    }

    #[test]
    fn only_state_frames_carry_observed_state() {
        let observed = |text: &str| FrameHead::parse(text).unwrap().1;
        assert!(observed(r#"{"type":"infinite_resp","key":{},"length":3}"#).is_none());
        assert!(observed(r#"{"type":"error","df_display_args":{}}"#).is_none());
        assert!(observed(r#"{"type":"stats_update","df_display_args":{"main":{}},"df_data_dict":{"all_stats":[1]}}"#).is_some());
    }
}
