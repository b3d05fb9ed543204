//! One window's internal WebSocket: a writer task fed by a bounded queue, and a reader
//! task that parses each server frame once, keeps the session view up to date, and
//! passes the frame through the pairer to the window's sink. No Tauri types here.

use crate::error::{Error, Result};
use crate::frame::FrameHead;
use crate::message::{Kind, PageMessage};
use crate::pairing::{Incoming, Outgoing, Pairer};
use crate::state::{Observed, SessionView};
use crate::supervisor::Endpoint;
use crate::tasks;
use futures_util::stream::{SplitSink, Stream};
use futures_util::{SinkExt, StreamExt};
use std::sync::{Arc, Mutex};
use tokio::net::TcpStream;
use tokio::sync::mpsc;
use tokio_tungstenite::tungstenite::{self, Message};
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

/// Where a window's frames go (a Tauri Channel in the app, a Vec in tests).
pub trait FrameSink: Send + Sync + 'static {
    /// Deliver one frame; `false` if the page is gone.
    fn deliver(&self, frame: Outgoing) -> bool;
}

/// Called with the number of page requests the server just answered.
pub(crate) type OnServed = Arc<dyn Fn(u64) + Send + Sync>;

type Ws = WebSocketStream<MaybeTlsStream<TcpStream>>;

#[derive(Default)]
struct Shared {
    pairer: Pairer,
    closed: bool,
    /// What the server last said about this session's state.
    view: SessionView,
}

/// One window's open socket; dropping it closes the socket.
pub(crate) struct Connection {
    /// The sidecar generation it was opened to.
    pub generation: u64,
    tx: mpsc::Sender<String>,
    shared: Arc<Mutex<Shared>>,
    max_in_flight: usize,
    /// The reader's sink, for replies the plugin gives itself ([`Self::abandon_in_flight`]).
    sink: Arc<dyn FrameSink>,
}

const WRITE_QUEUE: usize = 256;
const LOST: &str = "buckaroo-tauri: the connection to the sidecar was lost (it is restarting); request failed";
const READER_PANICKED: &str = "buckaroo-tauri: the connection's reader failed; request failed";

impl Connection {
    /// Open `session`'s socket to the sidecar at `ep`; its frames go to `sink`, and
    /// `on_served` hears of every reply to a row request (the restart rule counts them).
    pub async fn open(ep: &Endpoint, session: &str, sink: Arc<dyn FrameSink>, max_in_flight: usize, on_served: OnServed) -> Result<Self> {
        let ws = connect(ep, session).await?;
        log::info!("[buckaroo-tauri] internal WS open: session={session} generation={}", ep.generation);
        let (write, read) = ws.split();
        let (tx, rx) = mpsc::channel::<String>(WRITE_QUEUE);
        let shared = Arc::new(Mutex::new(Shared::default()));
        spawn_writer(write, rx);
        let _reader = spawn_reader(Reader {
            read,
            shared: shared.clone(),
            sink: sink.clone(),
            on_served,
            session: session.to_string(),
        });
        Ok(Self {
            generation: ep.generation,
            tx,
            shared,
            max_in_flight,
            sink,
        })
    }

    /// The sidecar went silent: answer every request in flight now with `code`; a late
    /// reply to one is dropped. Returns how many were answered.
    pub fn abandon_in_flight(&self, code: &str, reason: &str) -> usize {
        let failed = lock(&self.shared).pairer.abandon_all(code, reason);
        let n = failed.len();
        for frame in failed {
            deliver(&*self.sink, frame);
        }
        n
    }

    /// False once the server closed the socket (or its reader stopped).
    pub fn is_open(&self) -> bool {
        !lock(&self.shared).closed
    }

    /// Queue a checked page message. A row request that cannot be queued is an error
    /// the caller turns into a failed request; it is never silently dropped. A state
    /// change is completed from, and checked against, the session's last state.
    pub fn send(&self, msg: &PageMessage) -> Result<()> {
        let text = self.admit(msg)?;
        self.tx.try_send(text).map_err(|e| {
            if let Some(args) = msg.row_args() {
                lock(&self.shared).pairer.request_unsent(args);
            }
            match e {
                mpsc::error::TrySendError::Full(_) => Error::Backpressure(WRITE_QUEUE),
                mpsc::error::TrySendError::Closed(_) => Error::ConnectionClosed,
            }
        })
    }

    /// The text to send for `msg`, with a row request recorded as in flight.
    fn admit(&self, msg: &PageMessage) -> Result<String> {
        let mut s = lock(&self.shared);
        if s.closed {
            return Err(Error::ConnectionClosed);
        }
        let text = match msg.kind {
            Kind::StateChange => s.view.complete(msg.value)?.to_string(),
            Kind::RowRequest | Kind::StatsRequest => msg.value.to_string(),
        };
        if let Some(args) = msg.row_args() {
            if s.pairer.in_flight() >= self.max_in_flight {
                return Err(Error::Backpressure(self.max_in_flight));
            }
            s.pairer.request_sent(args);
        }
        Ok(text)
    }
}

/// The upgrade, with the launch token and room for large parquet frames.
async fn connect(ep: &Endpoint, session: &str) -> Result<Ws> {
    use tungstenite::client::IntoClientRequest;
    // `stats_update`: a deferred-stats session (an expression) sends its stats after the
    // first rows; without the capability the server computes them before any state.
    // File loads never defer, so their frames are the same either way.
    let mut request = format!("ws://127.0.0.1:{}/ws/{session}?caps=stats_update", ep.port).into_client_request()?;
    if let Some(token) = &ep.token {
        let value = token
            .parse()
            .map_err(|_| Error::InvalidMessage("token is not a header value".into()))?;
        request.headers_mut().insert(crate::launcher::TOKEN_HEADER, value);
    }
    // Parquet windows of 10,000 rows are ~1 MB; allow up to 256 MiB per frame.
    let config = tungstenite::protocol::WebSocketConfig::default()
        .max_message_size(Some(256 << 20))
        .max_frame_size(Some(256 << 20));
    let (ws, _) = tokio_tungstenite::connect_async_with_config(request, Some(config), true).await?;
    if let MaybeTlsStream::Plain(tcp) = ws.get_ref() {
        let _ = tcp.set_nodelay(true);
    }
    Ok(ws)
}

/// Dropping the Connection drops the queue's sender: the writer then sends a close
/// frame, the server answers it, and the reader fails whatever was still unanswered.
fn spawn_writer(mut write: SplitSink<Ws, Message>, mut rx: mpsc::Receiver<String>) {
    tasks::spawn_logged("ws-writer", async move {
        while let Some(text) = rx.recv().await {
            if write.send(Message::text(text)).await.is_err() {
                break;
            }
        }
        let _ = write.close().await;
    });
}

/// The reader, supervised: if it panics, every request it would have answered is failed.
fn spawn_reader<S: ServerFrames>(reader: Reader<S>) -> tauri::async_runtime::JoinHandle<()> {
    let (shared, sink) = (reader.shared.clone(), reader.sink.clone());
    tasks::spawn("ws-reader", reader.run(), move |_| {
        fail_pending(&shared, &*sink, READER_PANICKED);
    })
}

/// What the reader reads: the socket's frames (a plain stream in tests).
trait ServerFrames: Stream<Item = std::result::Result<Message, tungstenite::Error>> + Unpin + Send + 'static {}
impl<S: Stream<Item = std::result::Result<Message, tungstenite::Error>> + Unpin + Send + 'static> ServerFrames for S {}

struct Reader<S> {
    read: S,
    shared: Arc<Mutex<Shared>>,
    sink: Arc<dyn FrameSink>,
    on_served: OnServed,
    session: String,
}

impl<S: ServerFrames> Reader<S> {
    /// Relay frames until the socket closes; then fail every unanswered row request,
    /// so none is left waiting.
    async fn run(mut self) {
        while let Some((frame, observed)) = next_frame(&mut self.read).await {
            self.relay(frame, observed);
        }
        let failed = fail_pending(&self.shared, &*self.sink, LOST);
        log::info!(
            "[buckaroo-tauri] internal WS closed: session={} ({failed} requests failed)",
            self.session
        );
    }

    /// Keep what a state frame says, pair the frame, count what was served, deliver.
    fn relay(&self, frame: Incoming, observed: Option<Observed>) {
        let (out, served) = {
            let mut s = lock(&self.shared);
            if let Some(o) = observed {
                s.view.observe(o);
            }
            let before = s.pairer.served;
            let out = s.pairer.push(frame);
            (out, s.pairer.served - before)
        };
        if served > 0 {
            (self.on_served)(served);
        }
        for frame in out {
            log_frame(&frame);
            deliver(&*self.sink, frame);
        }
    }
}

/// The next text or binary frame, a text frame's head parsed here, once, before any
/// lock is taken (an initial_state can be large); `None` once the socket is closed.
async fn next_frame<S: ServerFrames>(read: &mut S) -> Option<(Incoming, Option<Observed>)> {
    loop {
        return match read.next().await? {
            Ok(Message::Text(t)) => {
                let text = t.as_str().to_owned();
                let (head, observed) = FrameHead::parse(&text).unzip();
                Some((Incoming::Text(text, head), observed.flatten()))
            }
            Ok(Message::Binary(b)) => Some((Incoming::Binary(b.into()), None)),
            Ok(Message::Close(_)) | Err(_) => None,
            Ok(_) => continue,
        };
    }
}

/// Mark the connection closed and answer every unanswered row request with `reason`;
/// returns how many were failed.
fn fail_pending(shared: &Mutex<Shared>, sink: &dyn FrameSink, reason: &str) -> usize {
    let failed = {
        let mut s = lock(shared);
        s.closed = true;
        s.pairer.fail_all(reason)
    };
    let n = failed.len();
    for frame in failed {
        deliver(sink, frame);
    }
    n
}

fn lock(m: &Mutex<Shared>) -> std::sync::MutexGuard<'_, Shared> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

fn deliver(sink: &dyn FrameSink, frame: Outgoing) {
    if !sink.deliver(frame) {
        log::debug!("[buckaroo-tauri] page gone; frame dropped");
    }
}

fn log_frame(frame: &Outgoing) {
    match frame {
        Outgoing::Json(f) => log::debug!("[buckaroo-tauri] relay msg type={} bytes={}", f.kind, f.text.len()),
        Outgoing::Rows { parquet, .. } => log::debug!("[buckaroo-tauri] relay infinite_resp + {} parquet bytes", parquet.len()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;
    use std::sync::atomic::{AtomicBool, Ordering};

    /// Panics on the first frame it is given, then collects.
    struct PanicsOnce(AtomicBool, Mutex<Vec<Outgoing>>);
    impl FrameSink for PanicsOnce {
        fn deliver(&self, frame: Outgoing) -> bool {
            if !self.0.swap(true, Ordering::SeqCst) {
                panic!("sink bug");
            }
            self.1.lock().unwrap().push(frame);
            true
        }
    }

    #[tokio::test]
    async fn a_panicking_reader_fails_every_pending_request() {
        let shared = Arc::new(Mutex::new(Shared::default()));
        lock(&shared).pairer.request_sent(&json!({"start": 0}));
        lock(&shared).pairer.request_sent(&json!({"start": 50}));
        let sink = Arc::new(PanicsOnce(AtomicBool::new(false), Mutex::default()));
        let reply = json!({"type": "infinite_resp", "key": {"start": 0}, "length": 0, "error_info": "x"}).to_string();
        let frames = futures_util::stream::iter(vec![Ok(Message::text(reply))]).chain(futures_util::stream::pending());
        let reader = Reader {
            read: Box::pin(frames),
            shared: shared.clone(),
            sink: sink.clone(),
            on_served: Arc::new(|_| {}),
            session: "s".into(),
        };
        spawn_reader(reader).await.unwrap();
        let got = sink.1.lock().unwrap().clone();
        assert_eq!(got.len(), 1, "{got:?}");
        let Outgoing::Json(f) = &got[0] else { panic!() };
        assert!(f.text.contains("reader failed") && f.text.contains(r#""start":50"#), "{}", f.text);
        assert!(lock(&shared).closed);
    }
}
