//! A page's message for the server, checked before it goes anywhere: an object of an
//! allowed `type`, of buckaroo's shape, not nested deeper than [`MAX_DEPTH`].

use crate::error::{Error, Result};
use serde_json::Value;

/// What a page message asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// `infinite_request`: a row window (answered through the pairer).
    RowRequest,
    /// `buckaroo_state_change`: completed from the session's state before it is sent.
    StateChange,
    /// `stats_request`.
    StatsRequest,
}

impl Kind {
    fn parse(kind: &str) -> Option<Self> {
        match kind {
            "infinite_request" => Some(Kind::RowRequest),
            "buckaroo_state_change" => Some(Kind::StateChange),
            "stats_request" => Some(Kind::StatsRequest),
            _ => None,
        }
    }
}

/// A page message that passed [`PageMessage::check`].
#[derive(Debug)]
pub struct PageMessage<'a> {
    /// What it asks for.
    pub kind: Kind,
    /// The message as the page sent it.
    pub value: &'a Value,
}

impl<'a> PageMessage<'a> {
    /// Check a page message.
    pub fn check(msg: &'a Value) -> Result<Self> {
        validate(msg).map(|kind| Self { kind, value: msg })
    }

    /// A row request's `payload_args` (its key in the reply).
    pub fn row_args(&self) -> Option<&'a Value> {
        (self.kind == Kind::RowRequest).then(|| &self.value["payload_args"])
    }
}

/// buckaroo's own messages nest a handful of levels; anything this deep is not one of them.
pub const MAX_DEPTH: usize = 32;

/// Nesting depth of `v`, counted without recursion and only up to `limit + 1`.
fn depth_exceeds(v: &Value, limit: usize) -> bool {
    let mut stack = vec![(v, 1usize)];
    while let Some((v, d)) = stack.pop() {
        let children: Box<dyn Iterator<Item = &Value>> = match v {
            Value::Array(a) => Box::new(a.iter()),
            Value::Object(o) => Box::new(o.values()),
            _ => continue,
        };
        if d > limit {
            return true;
        }
        stack.extend(children.map(|c| (c, d + 1)));
    }
    false
}

/// Check a page message; returns its kind.
fn validate(msg: &Value) -> Result<Kind> {
    let obj = msg
        .as_object()
        .ok_or_else(|| Error::InvalidMessage("must be a JSON object".into()))?;
    if depth_exceeds(msg, MAX_DEPTH) {
        return Err(Error::InvalidMessage(format!("nested deeper than {MAX_DEPTH} levels")));
    }
    let kind = obj
        .get("type")
        .and_then(Value::as_str)
        .ok_or_else(|| Error::InvalidMessage("missing string field `type`".into()))?;
    let kind = Kind::parse(kind).ok_or_else(|| Error::MessageNotAllowed(kind.into()))?;
    match kind {
        Kind::RowRequest if !obj.get("payload_args").is_some_and(Value::is_object) => {
            Err(Error::InvalidMessage("infinite_request needs an object `payload_args`".into()))
        }
        Kind::StateChange => match obj.get("new_state").and_then(Value::as_object) {
            Some(new_state) => crate::state::check_types(new_state).map(|()| kind),
            None => Err(Error::InvalidMessage("buckaroo_state_change needs an object `new_state`".into())),
        },
        _ => Ok(kind),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn only_allowed_types_pass() {
        assert_eq!(
            validate(&json!({"type":"infinite_request","payload_args":{}})).unwrap(),
            Kind::RowRequest
        );
        assert_eq!(
            validate(&json!({"type":"buckaroo_state_change","new_state":{}})).unwrap(),
            Kind::StateChange
        );
        assert_eq!(validate(&json!({"type":"stats_request"})).unwrap(), Kind::StatsRequest);
        assert_eq!(validate(&json!({"type":"load"})).unwrap_err().code(), "message_not_allowed");
        assert_eq!(validate(&json!([1, 2])).unwrap_err().code(), "invalid_message");
        assert_eq!(validate(&json!({"type":"infinite_request"})).unwrap_err().code(), "invalid_message");
        assert_eq!(
            validate(&json!({"type":"buckaroo_state_change","new_state":"x"}))
                .unwrap_err()
                .code(),
            "invalid_message"
        );
        assert_eq!(
            validate(&json!({"type":"buckaroo_state_change","new_state":{"df_display": 3}}))
                .unwrap_err()
                .code(),
            "invalid_message"
        );
    }

    fn nested(depth: usize) -> Value {
        (1..depth).fold(json!(1), |v, _| json!([v]))
    }

    #[test]
    fn deep_messages_are_refused_with_a_code() {
        // The message (1) > payload_args (2) > x: nested(k) adds k - 1 levels.
        let msg = |args: Value| json!({"type": "infinite_request", "payload_args": {"start": 0, "x": args}});
        assert!(validate(&msg(nested(MAX_DEPTH - 1))).is_ok());
        let e = validate(&msg(nested(MAX_DEPTH))).unwrap_err();
        assert_eq!(e.code(), "invalid_message");
        assert!(e.to_string().contains("nested deeper than 32 levels"), "{e}");
        assert!(depth_exceeds(&nested(1000), MAX_DEPTH));
    }

    /// Tauri parses the IPC body (`{"msg": ...}`) with serde_json's default limit before
    /// any command runs: a body of 128 levels or more (a `msg` of 127+) never reaches the
    /// plugin, and Tauri rejects the call with a plain string. Everything shallower
    /// does, and `validate` refuses what is deeper than ours with a code.
    #[test]
    fn the_ipc_body_parse_limit_is_above_ours() {
        let body = |depth: usize| format!("{{\"msg\":{}}}", nested(depth));
        assert!(serde_json::from_str::<Value>(&body(127)).is_ok());
        assert!(serde_json::from_str::<Value>(&body(128))
            .unwrap_err()
            .to_string()
            .contains("recursion limit exceeded"));
        const { assert!(MAX_DEPTH < 127) };
    }
}
