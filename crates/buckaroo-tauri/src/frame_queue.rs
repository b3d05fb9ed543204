//! A window's frames as the page pulls them: the sink of an attach made with `poll`.
//! The page keeps one `buckaroo_poll` in flight; its reply carries every frame queued
//! since the last, in order. A reply to an invoke reaches the page in one turn of the
//! webview's main thread; a Channel message of over 1 KiB of bytes needs two (an eval,
//! then a fetch), which under a scroll's load cost a row reply ~57 ms (docs/benchmarks.md).
//! No Tauri types here.
//!
//! A poll's reply, the batch: records of `[u32 LE length][u8 kind][payload]`, where kind
//! 0 is a JSON frame's text and kind 1 a parquet row reply as [`Outgoing::rows_frame`]
//! lays it out. An empty batch: nothing came within the wait; poll again.

use crate::connection::FrameSink;
use crate::pairing::Outgoing;
use std::sync::Mutex;
use std::time::Duration;
use tokio::sync::Notify;

/// How long a poll waits for a frame before it ends empty (the page polls again).
pub const POLL_WAIT: Duration = Duration::from_secs(20);

/// A record's kind: a JSON frame's text.
pub const RECORD_JSON: u8 = 0;
/// A record's kind: a parquet row reply ([`Outgoing::rows_frame`]).
pub const RECORD_ROWS: u8 = 1;

#[derive(Default)]
struct Pending {
    batch: Vec<u8>,
    closed: bool,
}

/// The frames of one attach, waiting for the page's next poll.
#[derive(Default)]
pub struct FrameQueue {
    pending: Mutex<Pending>,
    arrived: Notify,
}

impl FrameQueue {
    /// The batch queued so far, waiting up to `wait` for one to start; empty if none
    /// came. `None` once the queue is closed (a newer attach, the window closed) and
    /// drained: the page stops polling it.
    pub async fn take(&self, wait: Duration) -> Option<Vec<u8>> {
        let deadline = tokio::time::Instant::now() + wait;
        loop {
            // Made before the check: a frame queued after it wakes this wait.
            let arrived = self.arrived.notified();
            {
                let mut p = lock(&self.pending);
                if !p.batch.is_empty() {
                    return Some(std::mem::take(&mut p.batch));
                }
                if p.closed {
                    return None;
                }
            }
            if tokio::time::timeout_at(deadline, arrived).await.is_err() {
                return Some(Vec::new());
            }
        }
    }

    /// No more frames: a poll waiting now, or later, ends once the queue is drained.
    pub fn close(&self) {
        lock(&self.pending).closed = true;
        self.arrived.notify_waiters();
    }

    /// Append one record of `kind` whose payload, `len` bytes, `write` appends.
    fn push(&self, kind: u8, len: usize, write: impl FnOnce(&mut Vec<u8>)) -> bool {
        {
            let mut p = lock(&self.pending);
            if p.closed {
                return false;
            }
            p.batch.reserve(5 + len);
            p.batch.extend_from_slice(&(len as u32).to_le_bytes());
            p.batch.push(kind);
            write(&mut p.batch);
        }
        self.arrived.notify_waiters();
        true
    }
}

impl FrameSink for FrameQueue {
    fn deliver(&self, frame: Outgoing) -> bool {
        match frame {
            Outgoing::Json(f) => self.push(RECORD_JSON, f.text.len(), |b| b.extend_from_slice(f.text.as_bytes())),
            Outgoing::Rows { header, parquet } => self.push(RECORD_ROWS, Outgoing::rows_frame_len(&header, &parquet), |b| {
                Outgoing::write_rows_frame(b, &header, &parquet)
            }),
        }
    }
}

/// A poll's batch as its records, `(kind, payload)` in order; `None` when one is cut off.
/// The adapter's `decodeBatch` is its reader in the page; this one is for Rust hosts and tests.
pub fn batch_records(mut batch: &[u8]) -> Option<Vec<(u8, &[u8])>> {
    let mut out = Vec::new();
    while !batch.is_empty() {
        let len = u32::from_le_bytes(batch.get(..4)?.try_into().ok()?) as usize;
        let kind = *batch.get(4)?;
        out.push((kind, batch.get(5..5 + len)?));
        batch = &batch[5 + len..];
    }
    Some(out)
}

fn lock(m: &Mutex<Pending>) -> std::sync::MutexGuard<'_, Pending> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pairing::JsonFrame;
    use std::sync::Arc;

    fn json(text: &str) -> Outgoing {
        Outgoing::Json(JsonFrame {
            kind: "x".into(),
            text: text.into(),
        })
    }

    /// The batch's records as (kind, payload).
    fn records(b: &[u8]) -> Vec<(u8, Vec<u8>)> {
        batch_records(b).unwrap().into_iter().map(|(k, p)| (k, p.to_vec())).collect()
    }

    #[tokio::test]
    async fn a_poll_takes_every_frame_queued_in_order_and_a_waiting_one_wakes() {
        let q = Arc::new(FrameQueue::default());
        assert!(q.deliver(json(r#"{"a":1}"#)));
        let header = JsonFrame {
            kind: "infinite_resp".into(),
            text: r#"{"type":"infinite_resp"}"#.into(),
        };
        let rows = Outgoing::Rows {
            header: header.clone(),
            parquet: b"PAR1".to_vec(),
        };
        assert!(q.deliver(rows));
        let got = records(&q.take(Duration::from_secs(5)).await.unwrap());
        assert_eq!(got[0], (RECORD_JSON, br#"{"a":1}"#.to_vec()));
        assert_eq!(got[1], (RECORD_ROWS, Outgoing::rows_frame(&header, b"PAR1")));
        assert_eq!(got.len(), 2);

        let waiting = tokio::spawn({
            let q = q.clone();
            async move { q.take(Duration::from_secs(5)).await }
        });
        tokio::time::sleep(Duration::from_millis(50)).await;
        assert!(q.deliver(json("{}")));
        assert_eq!(records(&waiting.await.unwrap().unwrap()), vec![(RECORD_JSON, b"{}".to_vec())]);
    }

    #[tokio::test]
    async fn an_idle_poll_ends_empty_and_a_closed_queue_ends_its_poll() {
        let q = Arc::new(FrameQueue::default());
        assert_eq!(q.take(Duration::from_millis(20)).await, Some(Vec::new()));
        let waiting = tokio::spawn({
            let q = q.clone();
            async move { q.take(Duration::from_secs(5)).await }
        });
        tokio::time::sleep(Duration::from_millis(50)).await;
        q.close();
        assert_eq!(waiting.await.unwrap(), None);
        assert!(!q.deliver(json("{}")), "a closed queue takes no frame");
    }

    #[test]
    fn a_batch_cut_off_inside_a_record_is_refused() {
        let q = FrameQueue::default();
        assert!(q.deliver(json(r#"{"a":1}"#)));
        let batch = std::mem::take(&mut lock(&q.pending).batch);
        assert_eq!(batch_records(&batch).map(|r| r.len()), Some(1));
        for cut in [1, 4, 5, batch.len() - 1] {
            assert_eq!(batch_records(&batch[..cut]), None, "cut at {cut}");
        }
    }

    #[tokio::test]
    async fn frames_queued_before_the_close_are_still_taken() {
        let q = FrameQueue::default();
        assert!(q.deliver(json("{}")));
        q.close();
        assert_eq!(q.take(Duration::from_secs(1)).await.map(|b| records(&b).len()), Some(1));
        assert_eq!(q.take(Duration::from_secs(1)).await, None);
    }
}
