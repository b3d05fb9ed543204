//! Frame pairing and in-flight tracking for one window's internal WebSocket.
//!
//! The server answers a row request with an `infinite_resp` JSON frame, followed by
//! ONE binary parquet frame only when `payload.format == "parquet_buffer"`. Every
//! other reply (errors, "not ready") has no binary frame and must be forwarded at
//! once, or the grid's request callback never fires.

use crate::frame::FrameHead;
use serde_json::{json, Value};
use std::collections::VecDeque;

/// A JSON frame for the page: its text, forwarded as-is, and its `type`, read once.
#[derive(Debug, Clone, PartialEq)]
pub struct JsonFrame {
    /// The frame's `type` (empty when it has none).
    pub kind: String,
    /// The frame, as the server sent it.
    pub text: String,
}

/// What the relay hands to the page, in order.
#[derive(Debug, Clone, PartialEq)]
pub enum Outgoing {
    /// A JSON text frame.
    Json(JsonFrame),
    /// A parquet row reply: its `infinite_resp` header and the parquet bytes, delivered
    /// as one message (see [`Outgoing::rows_frame`]).
    Rows {
        /// The `infinite_resp` that announced the bytes.
        header: JsonFrame,
        /// The server's parquet frame, as it sent it.
        parquet: Vec<u8>,
    },
}

impl Outgoing {
    /// A row reply as one binary message: the header's length (u32, little-endian), the
    /// header's JSON text, then the parquet bytes. One Channel message instead of two
    /// (a JSON one, then bytes the page fetches separately); the page parses the header
    /// once and views the parquet bytes in place.
    pub fn rows_frame(header: &JsonFrame, parquet: &[u8]) -> Vec<u8> {
        let mut out = Vec::with_capacity(Self::rows_frame_len(header, parquet));
        Self::write_rows_frame(&mut out, header, parquet);
        out
    }

    /// The byte length of [`Self::rows_frame`] for this header and these bytes.
    pub(crate) fn rows_frame_len(header: &JsonFrame, parquet: &[u8]) -> usize {
        4 + header.text.len() + parquet.len()
    }

    /// [`Self::rows_frame`]'s layout appended to `out` (a poll's batch), without a
    /// frame of its own to copy from.
    pub(crate) fn write_rows_frame(out: &mut Vec<u8>, header: &JsonFrame, parquet: &[u8]) {
        let head = header.text.as_bytes();
        out.extend_from_slice(&(head.len() as u32).to_le_bytes());
        out.extend_from_slice(head);
        out.extend_from_slice(parquet);
    }
}

/// A frame read from the server.
#[derive(Debug)]
pub enum Incoming {
    /// A text frame and its head (`None`: not a JSON object).
    Text(String, Option<FrameHead>),
    /// A binary (parquet) frame.
    Binary(Vec<u8>),
}

#[cfg(test)]
impl Incoming {
    /// A text frame, its head parsed here (the session view's part is dropped).
    pub fn text(text: String) -> Self {
        let head = FrameHead::parse(&text).map(|(head, _)| head);
        Incoming::Text(text, head)
    }
}

/// An `infinite_resp` the grid treats as a failed request for `key`.
pub fn error_reply(key: &Value, reason: &str) -> Outgoing {
    coded_reply(json!({"type": "infinite_resp", "key": key, "length": 0, "error_info": reason}))
}

/// [`error_reply`] with the `error_code` a page can branch on.
pub fn coded_error_reply(key: &Value, code: &str, reason: &str) -> Outgoing {
    coded_reply(json!({"type": "infinite_resp", "key": key, "length": 0, "error_info": reason, "error_code": code}))
}

fn coded_reply(reply: Value) -> Outgoing {
    Outgoing::Json(JsonFrame {
        kind: "infinite_resp".into(),
        text: reply.to_string(),
    })
}

/// How many failed-early requests are remembered, so their late replies are dropped.
const ABANDONED_KEPT: usize = 1024;

/// Pairs binary frames with their headers and tracks which row requests are unanswered.
#[derive(Debug, Default)]
pub struct Pairer {
    /// Header of a parquet reply whose binary frame has not arrived yet.
    pending: Option<(JsonFrame, Option<Value>)>,
    /// `payload_args` of row requests sent and not yet answered, oldest first.
    in_flight: VecDeque<Value>,
    /// Requests answered early with an error (a silent sidecar): their late replies
    /// are dropped, so each request still gets one answer.
    abandoned: VecDeque<Value>,
    /// Binary frames that arrived with no header waiting (protocol violation; counted, dropped).
    pub orphans: u64,
    /// Row replies the server sent (with rows or with its own error): proof it serves.
    pub served: u64,
}

impl Pairer {
    /// Row requests sent and not yet answered.
    pub fn in_flight(&self) -> usize {
        self.in_flight.len()
    }

    /// Record a row request about to be sent (and its optional `second_request`).
    pub fn request_sent(&mut self, payload_args: &Value) {
        self.in_flight.push_back(payload_args.clone());
        if let Some(second) = payload_args.get("second_request").filter(|v| v.is_object()) {
            self.in_flight.push_back(second.clone());
        }
    }

    /// Forget a request that could not be sent after all.
    pub fn request_unsent(&mut self, payload_args: &Value) {
        self.answered(payload_args);
        if let Some(second) = payload_args.get("second_request") {
            self.answered(second);
        }
    }

    /// The reply for `key` came: true to deliver it, false for the late reply of a
    /// request answered early ([`abandon_all`](Self::abandon_all)).
    fn answered(&mut self, key: &Value) -> bool {
        if let Some(i) = self.in_flight.iter().position(|k| k == key) {
            self.in_flight.remove(i);
            return true;
        }
        match self.abandoned.iter().position(|k| k == key) {
            Some(i) => {
                self.abandoned.remove(i);
                false
            }
            None => true,
        }
    }

    /// Feed one server frame; returns what to deliver, in order.
    pub fn push(&mut self, frame: Incoming) -> Vec<Outgoing> {
        let mut out = Vec::with_capacity(2);
        match frame {
            Incoming::Binary(bytes) => match self.pending.take() {
                Some((header, key)) => {
                    self.served += 1;
                    if key.is_none_or(|key| self.answered(&key)) {
                        out.push(Outgoing::Rows { header, parquet: bytes });
                    }
                }
                None => self.orphans += 1,
            },
            Incoming::Text(text, head) => {
                // A text frame where a binary one was due: fail that request rather than hold it.
                if let Some((_, key)) = self.pending.take() {
                    let key = key.unwrap_or(Value::Null);
                    if self.answered(&key) {
                        out.push(error_reply(&key, "buckaroo-tauri: parquet frame missing from reply"));
                    }
                }
                // Not JSON: the page cannot parse it either; drop it (the caller logs).
                let Some(head) = head else { return out };
                let frame = JsonFrame { kind: head.kind, text };
                if head.expects_binary {
                    self.pending = Some((frame, head.key));
                    return out;
                }
                if frame.kind == "infinite_resp" {
                    self.served += 1;
                    if head.key.as_ref().is_some_and(|key| !self.answered(key)) {
                        return out;
                    }
                }
                out.push(Outgoing::Json(frame));
            }
        }
        out
    }

    /// The connection is gone: answer every unanswered request with an error reply
    /// coded `connection_closed` (a page holds those and asks again after a restart's
    /// replay).
    pub fn fail_all(&mut self, reason: &str) -> Vec<Outgoing> {
        self.pending = None;
        self.in_flight
            .drain(..)
            .map(|key| coded_error_reply(&key, crate::Error::ConnectionClosed.code(), reason))
            .collect()
    }

    /// The sidecar went silent: answer every unanswered request now with a coded
    /// error, and drop the replies if it answers them later after all.
    pub fn abandon_all(&mut self, code: &str, reason: &str) -> Vec<Outgoing> {
        let failed: Vec<_> = self.in_flight.drain(..).collect();
        let out = failed.iter().map(|key| coded_error_reply(key, code, reason)).collect();
        self.abandoned.extend(failed);
        while self.abandoned.len() > ABANDONED_KEPT {
            self.abandoned.pop_front();
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn text(s: String) -> Incoming {
        Incoming::text(s)
    }

    fn json(s: String) -> Outgoing {
        Outgoing::Json(JsonFrame {
            kind: "infinite_resp".into(),
            text: s,
        })
    }

    fn resp(key: i64, parquet: bool) -> String {
        if parquet {
            json!({"type":"infinite_resp","key":{"start":key},"length":10,"payload":{"format":"parquet_buffer","buffer_index":0}})
                .to_string()
        } else {
            json!({"type":"infinite_resp","key":{"start":key},"length":0,"error_info":"boom"}).to_string()
        }
    }

    #[test]
    fn parquet_reply_is_one_message_with_its_header() {
        let mut p = Pairer::default();
        p.request_sent(&json!({"start": 1}));
        assert!(p.push(text(resp(1, true))).is_empty());
        let out = p.push(Incoming::Binary(b"PAR1".to_vec()));
        let Outgoing::Json(header) = json(resp(1, true)) else { panic!() };
        assert_eq!(
            out,
            vec![Outgoing::Rows {
                header: header.clone(),
                parquet: b"PAR1".to_vec()
            }]
        );
        assert_eq!((p.in_flight(), p.served), (0, 1));
        let frame = Outgoing::rows_frame(&header, b"PAR1");
        let len = u32::from_le_bytes(frame[..4].try_into().unwrap()) as usize;
        assert_eq!(&frame[4..4 + len], header.text.as_bytes());
        assert_eq!(&frame[4 + len..], b"PAR1");
    }

    #[test]
    fn error_reply_is_forwarded_at_once() {
        let mut p = Pairer::default();
        p.request_sent(&json!({"start": 2}));
        assert_eq!(p.push(text(resp(2, false))), vec![json(resp(2, false))]);
        // The server's own error reply still shows it is serving.
        assert_eq!((p.in_flight(), p.served), (0, 1));
    }

    #[test]
    fn missing_binary_fails_the_request_and_keeps_going() {
        let mut p = Pairer::default();
        p.request_sent(&json!({"start": 3}));
        p.push(text(resp(3, true)));
        let out = p.push(text(r#"{"type":"initial_state"}"#.into()));
        assert_eq!(out.len(), 2);
        let Outgoing::Json(first) = &out[0] else { panic!() };
        assert!(first.text.contains("error_info") && first.text.contains(r#""start":3"#));
        assert_eq!((p.in_flight(), p.served), (0, 0));
    }

    #[test]
    fn abandoned_requests_are_answered_once_with_their_code_and_late_replies_dropped() {
        let mut p = Pairer::default();
        p.request_sent(&json!({"start": 1}));
        p.request_sent(&json!({"start": 2}));
        let out = p.abandon_all("sidecar_not_responding", "silent");
        assert_eq!(out.len(), 2);
        let Outgoing::Json(first) = &out[0] else { panic!() };
        let v: Value = serde_json::from_str(&first.text).unwrap();
        assert_eq!(
            (v["key"].clone(), v["error_code"].clone()),
            (json!({"start": 1}), json!("sidecar_not_responding"))
        );
        assert_eq!(p.in_flight(), 0);
        // The sidecar answers after all: those replies were given already.
        assert!(p.push(text(resp(1, false))).is_empty());
        assert!(p.push(text(resp(2, true))).is_empty());
        assert!(p.push(Incoming::Binary(b"PAR1".to_vec())).is_empty());
        // A new request for the same rows is answered as usual.
        p.request_sent(&json!({"start": 1}));
        assert_eq!(p.push(text(resp(1, false))).len(), 1);
        assert_eq!(p.in_flight(), 0);
    }

    #[test]
    fn orphan_binary_is_dropped_and_counted() {
        let mut p = Pairer::default();
        assert!(p.push(Incoming::Binary(vec![1])).is_empty());
        assert_eq!(p.orphans, 1);
    }

    #[test]
    fn fail_all_answers_every_request() {
        let mut p = Pairer::default();
        p.request_sent(&json!({"start": 1, "second_request": {"start": 9}}));
        p.request_sent(&json!({"start": 2}));
        let out = p.fail_all("gone");
        assert_eq!(out.len(), 3);
        for frame in &out {
            let Outgoing::Json(f) = frame else { panic!("a JSON reply") };
            assert_eq!(serde_json::from_str::<Value>(&f.text).unwrap()["error_code"], "connection_closed");
        }
        assert_eq!(p.in_flight(), 0);
    }

    #[derive(Debug, Clone)]
    enum Step {
        Send(u8),
        ReplyOk(u8),
        ReplyErr(u8),
        Other,
        Orphan,
    }

    fn step() -> impl Strategy<Value = Step> {
        prop_oneof![
            any::<u8>().prop_map(Step::Send),
            any::<u8>().prop_map(Step::ReplyOk),
            any::<u8>().prop_map(Step::ReplyErr),
            Just(Step::Other),
            Just(Step::Orphan),
        ]
    }

    proptest! {
        /// Whatever the server does, parquet bytes travel with the header that announced
        /// them, every request sent is answered by the time the socket is failed, and no
        /// JSON frame is lost.
        #[test]
        fn every_request_answered_parquet_always_with_its_header(steps in prop::collection::vec(step(), 0..60)) {
            let mut p = Pairer::default();
            let mut delivered = Vec::new();
            let mut sent = 0usize;
            for s in steps {
                match s {
                    Step::Send(k) => { p.request_sent(&json!({"start": k})); sent += 1; }
                    Step::ReplyOk(k) => {
                        delivered.extend(p.push(text(resp(k.into(), true))));
                        delivered.extend(p.push(Incoming::Binary(vec![k])));
                    }
                    Step::ReplyErr(k) => delivered.extend(p.push(text(resp(k.into(), false)))),
                    Step::Other => delivered.extend(p.push(text(r#"{"type":"error"}"#.into()))),
                    Step::Orphan => delivered.extend(p.push(Incoming::Binary(vec![0]))),
                }
            }
            delivered.extend(p.fail_all("closed"));
            prop_assert_eq!(p.in_flight(), 0);
            for o in &delivered {
                if let Outgoing::Rows { header, .. } = o {
                    prop_assert!(FrameHead::parse(&header.text).unwrap().0.expects_binary);
                }
                if let Outgoing::Json(t) = o {
                    prop_assert!(!FrameHead::parse(&t.text).is_some_and(|(h, _)| h.expects_binary), "a parquet header alone");
                }
            }
            let replies = delivered
                .iter()
                .filter(|o| matches!(o, Outgoing::Rows { .. }) || matches!(o, Outgoing::Json(t) if t.kind == "infinite_resp"))
                .count();
            prop_assert!(replies >= sent);
        }
    }
}
