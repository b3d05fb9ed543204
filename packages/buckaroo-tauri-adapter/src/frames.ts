/**
 * What the window's Channel carries, decoded: a parquet row reply's one binary message,
 * and a failed row window as the page says it.
 */
import type { BuckarooError } from "./protocol.js";

type Frame = Record<string, unknown> & { type?: string };

/** What a page shows for a row window the server could not answer. */
export function rowWindowError(msg: Record<string, unknown>): BuckarooError {
  const key = (msg.key ?? {}) as { start?: number; end?: number };
  const where = typeof key.start === "number" ? ` ${key.start}–${key.end}` : "";
  const code = typeof msg.error_code === "string" ? msg.error_code : undefined;
  const column = typeof msg.column === "string" ? msg.column : undefined;
  return {
    code: "rows_failed",
    serverCode: code,
    message: `Rows${where} could not be shown: ${String(msg.error_info ?? "no data in the reply")}`,
    hint:
      code === "serialization_failed" && column !== undefined
        ? `Column '${column}' holds values buckaroo cannot display together (e.g. numbers mixed with text or lists); convert it to one type before loading.`
        : undefined,
  };
}

export function isArrayBuffer(x: unknown): x is ArrayBuffer {
  return Object.prototype.toString.call(x) === "[object ArrayBuffer]";
}

const utf8 = new TextDecoder();

/**
 * A parquet row reply as the plugin sends it, in one Channel message: the header's
 * length (u32, little-endian), the `infinite_resp` header's JSON, then the parquet
 * bytes, viewed in place. Null when the bytes are not such a frame.
 */
export function decodeRowsFrame(data: ArrayBuffer | ArrayBufferView): { header: Frame; parquet: DataView } | null {
  const bytes = isArrayBuffer(data) ? new Uint8Array(data) : new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
  if (bytes.byteLength < 4) return null;
  const len = new DataView(bytes.buffer, bytes.byteOffset, 4).getUint32(0, true);
  if (4 + len > bytes.byteLength) return null;
  try {
    const header = JSON.parse(utf8.decode(bytes.subarray(4, 4 + len))) as Frame;
    if (!header || typeof header !== "object" || header.type !== "infinite_resp") return null;
    return { header, parquet: new DataView(bytes.buffer, bytes.byteOffset + 4 + len, bytes.byteLength - 4 - len) };
  } catch {
    return null;
  }
}

/** A poll batch's record kinds (crates/buckaroo-tauri/src/frame_queue.rs). */
const RECORD_JSON = 0;
const RECORD_ROWS = 1;

/**
 * A `buckaroo_poll` batch as the frames it holds, in order: records of a length (u32,
 * little-endian), a kind (0: a JSON frame's text, 1: a parquet row reply laid out as
 * decodeRowsFrame reads it) and the payload. A JSON frame comes as its object (as a
 * Channel gives it), a row reply as a view into the batch.
 */
export function decodeBatch(data: ArrayBuffer | ArrayBufferView | number[]): unknown[] {
  const bytes = Array.isArray(data)
    ? Uint8Array.from(data)
    : isArrayBuffer(data)
      ? new Uint8Array(data)
      : new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const frames: unknown[] = [];
  for (let at = 0; at + 5 <= bytes.byteLength; ) {
    const len = view.getUint32(at, true);
    const kind = bytes[at + 4];
    const payload = bytes.subarray(at + 5, at + 5 + len);
    at += 5 + len;
    if (payload.byteLength !== len) throw new Error("buckaroo-tauri: a poll batch ends inside a record");
    if (kind === RECORD_JSON) frames.push(JSON.parse(utf8.decode(payload)));
    else if (kind === RECORD_ROWS) frames.push(payload);
  }
  return frames;
}
