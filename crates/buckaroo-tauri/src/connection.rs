//! One window's internal WebSocket: page → writer task → server → reader task →
//! pairer → the window's sink. No Tauri types here.

use crate::error::{Error, Result};
use crate::pairing::{inspect, Incoming, Outgoing, Pairer};
use crate::state::{Observed, SessionView};
use crate::supervisor::Endpoint;
use futures_util::{SinkExt, StreamExt};
use serde_json::Value;
use std::sync::{Arc, Mutex};
use tokio::sync::mpsc;
use tokio_tungstenite::tungstenite::Message;

/// Where a window's frames go (a Tauri Channel in the app, a Vec in tests).
pub trait FrameSink: Send + Sync + 'static {
    /// Deliver one frame; `false` if the page is gone.
    fn deliver(&self, frame: Outgoing) -> bool;
}

/// The only messages a page may send to the server.
pub const ALLOWED_TYPES: &[&str] = &["infinite_request", "buckaroo_state_change", "stats_request"];

/// buckaroo's own messages nest a handful of levels; anything this deep is not one of them.
pub const MAX_DEPTH: usize = 32;

/// Called with the number of page requests the server just answered.
pub type OnServed = Arc<dyn Fn(u64) + Send + Sync>;

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

/// Check a page message; returns its type.
pub fn validate(msg: &Value) -> Result<&str> {
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
    if !ALLOWED_TYPES.contains(&kind) {
        return Err(Error::MessageNotAllowed(kind.into()));
    }
    match kind {
        "infinite_request" if !obj.get("payload_args").is_some_and(Value::is_object) => {
            Err(Error::InvalidMessage("infinite_request needs an object `payload_args`".into()))
        }
        "buckaroo_state_change" => match obj.get("new_state").and_then(Value::as_object) {
            Some(new_state) => crate::state::check_types(new_state).map(|()| kind),
            None => Err(Error::InvalidMessage("buckaroo_state_change needs an object `new_state`".into())),
        },
        _ => Ok(kind),
    }
}

struct Shared {
    pairer: Pairer,
    closed: bool,
    /// What the server last said about this session's state.
    view: SessionView,
}

pub struct Connection {
    pub generation: u64,
    pub session: String,
    tx: mpsc::Sender<String>,
    shared: Arc<Mutex<Shared>>,
    max_in_flight: usize,
}

const WRITE_QUEUE: usize = 256;
pub const LOST: &str = "buckaroo-tauri: the connection to the sidecar was lost (it is restarting); request failed";

impl Connection {
    pub async fn open(ep: &Endpoint, session: &str, sink: Arc<dyn FrameSink>, max_in_flight: usize) -> Result<Self> {
        Self::open_observed(ep, session, sink, max_in_flight, Arc::new(|_| {})).await
    }

    /// [`open`](Self::open), telling `on_served` about every reply the server sends
    /// to a row request (the supervisor's restart rule counts them).
    pub async fn open_observed(
        ep: &Endpoint,
        session: &str,
        sink: Arc<dyn FrameSink>,
        max_in_flight: usize,
        on_served: OnServed,
    ) -> Result<Self> {
        use tokio_tungstenite::tungstenite::client::IntoClientRequest;
        let mut request = format!("ws://127.0.0.1:{}/ws/{session}", ep.port).into_client_request()?;
        if let Some(token) = &ep.token {
            let value = token
                .parse()
                .map_err(|_| Error::InvalidMessage("token is not a header value".into()))?;
            request.headers_mut().insert(crate::sidecar::TOKEN_HEADER, value);
        }
        // Parquet windows of 10,000 rows are ~1 MB; allow up to 256 MiB per frame.
        let config = tokio_tungstenite::tungstenite::protocol::WebSocketConfig::default()
            .max_message_size(Some(256 << 20))
            .max_frame_size(Some(256 << 20));
        let (ws, _) = tokio_tungstenite::connect_async_with_config(request, Some(config), true).await?;
        let _ = ws.get_ref().get_ref().set_nodelay(true);
        log::info!("[buckaroo-tauri] internal WS open: session={session} generation={}", ep.generation);
        let (mut write, read) = ws.split();
        let (tx, mut rx) = mpsc::channel::<String>(WRITE_QUEUE);
        let shared = Arc::new(Mutex::new(Shared {
            pairer: Pairer::default(),
            closed: false,
            view: SessionView::default(),
        }));

        // Dropping the Connection drops `tx`: the writer then sends a close frame, the
        // server answers it, and the reader fails whatever was still unanswered.
        tokio::spawn(async move {
            while let Some(text) = rx.recv().await {
                if write.send(Message::text(text)).await.is_err() {
                    break;
                }
            }
            let _ = write.close().await;
        });

        tokio::spawn(read_loop(read, shared.clone(), sink, on_served, session.to_string()));

        Ok(Self {
            generation: ep.generation,
            session: session.into(),
            tx,
            shared,
            max_in_flight,
        })
    }

    pub fn is_open(&self) -> bool {
        !lock(&self.shared).closed
    }

    pub fn in_flight(&self) -> usize {
        lock(&self.shared).pairer.in_flight()
    }

    /// Queue a validated page message. A row request that cannot be queued is an
    /// error the caller turns into a failed request; it is never silently dropped.
    pub fn send(&self, msg: &Value) -> Result<()> {
        let kind = validate(msg)?;
        self.send_validated(kind, msg)
    }

    /// `send` for a message `validate` already accepted as `kind` (no second check on the hot path).
    /// A state change is completed from, and checked against, the session's last state.
    pub(crate) fn send_validated(&self, kind: &str, msg: &Value) -> Result<()> {
        let row_args = (kind == "infinite_request").then(|| &msg["payload_args"]);
        let text = {
            let mut s = lock(&self.shared);
            if s.closed {
                return Err(Error::ConnectionClosed);
            }
            let text = match kind {
                "buckaroo_state_change" => s.view.complete(msg)?.to_string(),
                _ => msg.to_string(),
            };
            if let Some(args) = row_args {
                if s.pairer.in_flight() >= self.max_in_flight {
                    return Err(Error::Backpressure(self.max_in_flight));
                }
                s.pairer.request_sent(args);
            }
            text
        };
        match self.tx.try_send(text) {
            Ok(()) => Ok(()),
            Err(e) => {
                if let Some(args) = row_args {
                    lock(&self.shared).pairer.request_unsent(args);
                }
                Err(match e {
                    mpsc::error::TrySendError::Full(_) => Error::Backpressure(WRITE_QUEUE),
                    mpsc::error::TrySendError::Closed(_) => Error::ConnectionClosed,
                })
            }
        }
    }
}

/// Server frames → pairer → the window's sink, until the socket closes; then every
/// unanswered row request is failed, so none is left waiting.
async fn read_loop<S>(mut read: S, shared: Arc<Mutex<Shared>>, sink: Arc<dyn FrameSink>, on_served: OnServed, session: String)
where
    S: futures_util::Stream<Item = std::result::Result<Message, tokio_tungstenite::tungstenite::Error>> + Unpin,
{
    while let Some(msg) = read.next().await {
        let incoming = match msg {
            Ok(Message::Text(t)) => Incoming::Text(t.as_str().to_owned()),
            Ok(Message::Binary(b)) => Incoming::Binary(b.into()),
            Ok(Message::Close(_)) | Err(_) => break,
            Ok(_) => continue,
        };
        // Parsed before taking the lock: an initial_state can be large.
        let observed = match &incoming {
            Incoming::Text(t) => Observed::parse(t),
            Incoming::Binary(_) => None,
        };
        let (out, served) = {
            let mut s = lock(&shared);
            if let Some(o) = observed {
                s.view.observe(o);
            }
            let before = s.pairer.served;
            let out = s.pairer.push(incoming);
            (out, s.pairer.served - before)
        };
        if served > 0 {
            on_served(served);
        }
        for frame in out {
            log_frame(&frame);
            sink_deliver(&*sink, frame);
        }
    }
    let failed = {
        let mut s = lock(&shared);
        s.closed = true;
        s.pairer.fail_all(LOST)
    };
    log::info!(
        "[buckaroo-tauri] internal WS closed: session={session} ({} requests failed)",
        failed.len()
    );
    for frame in failed {
        sink_deliver(&*sink, frame);
    }
}

fn lock(m: &Mutex<Shared>) -> std::sync::MutexGuard<'_, Shared> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

fn sink_deliver(sink: &dyn FrameSink, frame: Outgoing) {
    if !sink.deliver(frame) {
        log::debug!("[buckaroo-tauri] page gone; frame dropped");
    }
}

fn log_frame(frame: &Outgoing) {
    if !log::log_enabled!(log::Level::Debug) {
        return;
    }
    match frame {
        Outgoing::Json(text) => {
            let kind = inspect(text).map(|i| i.kind).unwrap_or_default();
            log::debug!("[buckaroo-tauri] relay msg type={kind} bytes={}", text.len());
        }
        Outgoing::Raw(bytes) => log::debug!("[buckaroo-tauri] relay infinite_resp + binary ({} parquet bytes)", bytes.len()),
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
            "infinite_request"
        );
        assert_eq!(
            validate(&json!({"type":"buckaroo_state_change","new_state":{}})).unwrap(),
            "buckaroo_state_change"
        );
        assert_eq!(validate(&json!({"type":"stats_request"})).unwrap(), "stats_request");
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
