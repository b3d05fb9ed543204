//! A window's sink: its `ipc::Channel`. JSON frames arrive in JS as objects (the text
//! is sent as-is, never re-serialised), a parquet row reply as one ArrayBuffer holding
//! its header and its bytes.

use crate::connection::FrameSink;
use crate::pairing::Outgoing;
use tauri::ipc::{Channel, InvokeResponseBody};

/// The Channel of window `label`, given by its `buckaroo_attach`: every frame for the
/// window goes there, and only there.
pub(crate) struct ChannelSink {
    pub channel: Channel<InvokeResponseBody>,
    pub label: String,
}

impl FrameSink for ChannelSink {
    fn deliver(&self, frame: Outgoing) -> bool {
        match frame {
            Outgoing::Rows { header, parquet } => self
                .channel
                .send(InvokeResponseBody::Raw(Outgoing::rows_frame(&header, &parquet)))
                .is_ok(),
            Outgoing::Json(frame) => {
                if frame.kind != "infinite_resp" {
                    log::debug!("[buckaroo-tauri] relay {} to window {}", frame.kind, self.label);
                }
                self.channel.send(InvokeResponseBody::Json(frame.text)).is_ok()
            }
        }
    }
}
