//! One window's internal WebSocket: page → writer task → server → reader task →
//! pairer → the window's sink. No Tauri types here.

use crate::error::{Error, Result};
use crate::pairing::{inspect, Incoming, Outgoing, Pairer};
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

/// Check a page message; returns its type.
pub fn validate(msg: &Value) -> Result<&str> {
    let obj = msg
        .as_object()
        .ok_or_else(|| Error::InvalidMessage("must be a JSON object".into()))?;
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
        "buckaroo_state_change" if !obj.get("new_state").is_some_and(Value::is_object) => {
            Err(Error::InvalidMessage("buckaroo_state_change needs an object `new_state`".into()))
        }
        _ => Ok(kind),
    }
}

struct Shared {
    pairer: Pairer,
    closed: bool,
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
        let (mut write, mut read) = ws.split();
        let (tx, mut rx) = mpsc::channel::<String>(WRITE_QUEUE);
        let shared = Arc::new(Mutex::new(Shared {
            pairer: Pairer::default(),
            closed: false,
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

        let reader_shared = shared.clone();
        let reader_session = session.to_string();
        tokio::spawn(async move {
            while let Some(msg) = read.next().await {
                let incoming = match msg {
                    Ok(Message::Text(t)) => Incoming::Text(t.as_str().to_owned()),
                    Ok(Message::Binary(b)) => Incoming::Binary(b.into()),
                    Ok(Message::Close(_)) | Err(_) => break,
                    Ok(_) => continue,
                };
                let out = lock(&reader_shared).pairer.push(incoming);
                for frame in out {
                    log_frame(&frame);
                    sink_deliver(&*sink, frame);
                }
            }
            let failed = {
                let mut s = lock(&reader_shared);
                s.closed = true;
                s.pairer.fail_all(LOST)
            };
            log::info!(
                "[buckaroo-tauri] internal WS closed: session={reader_session} ({} requests failed)",
                failed.len()
            );
            for frame in failed {
                sink_deliver(&*sink, frame);
            }
        });

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
    pub(crate) fn send_validated(&self, kind: &str, msg: &Value) -> Result<()> {
        let text = msg.to_string();
        let row_args = (kind == "infinite_request").then(|| &msg["payload_args"]);
        {
            let mut s = lock(&self.shared);
            if s.closed {
                return Err(Error::ConnectionClosed);
            }
            if let Some(args) = row_args {
                if s.pairer.in_flight() >= self.max_in_flight {
                    return Err(Error::Backpressure(self.max_in_flight));
                }
                s.pairer.request_sent(args);
            }
        }
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
    }
}
