//! A window's sink: its `ipc::Channel`. JSON frames arrive in JS as objects (the text
//! is sent as-is, never re-serialised), a parquet row reply as one ArrayBuffer holding
//! its header and its bytes.

use crate::connection::FrameSink;
use crate::pairing::Outgoing;
use tauri::ipc::{Channel, InvokeResponseBody};
use tauri::{AppHandle, Emitter, Runtime};

/// The Channel of window `label`, given by its `buckaroo_attach`.
pub(crate) struct ChannelSink<R: Runtime> {
    pub channel: Channel<InvokeResponseBody>,
    pub app: AppHandle<R>,
    pub label: String,
}

impl<R: Runtime> FrameSink for ChannelSink<R> {
    fn deliver(&self, frame: Outgoing) -> bool {
        match frame {
            Outgoing::Rows { header, parquet } => self
                .channel
                .send(InvokeResponseBody::Raw(Outgoing::rows_frame(&header, &parquet)))
                .is_ok(),
            Outgoing::Json(frame) => {
                // Hosts that only want state (titles, status bars) listen to `buckaroo:msg`;
                // row replies stay on the Channel alone.
                if frame.kind != "infinite_resp" {
                    let _ = self.app.emit_str_to(self.label.as_str(), "buckaroo:msg", frame.text.clone());
                    log::debug!("[buckaroo-tauri] relay {} to window {}", frame.kind, self.label);
                }
                self.channel.send(InvokeResponseBody::Json(frame.text)).is_ok()
            }
        }
    }
}
