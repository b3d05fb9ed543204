import { readFileSync } from "node:fs";
import { join } from "node:path";
import { createElement, useLayoutEffect } from "react";
import { flushSync } from "react-dom";
import { createRoot } from "react-dom/client";
import type { IModel, WidgetModule } from "../src/index.js";
import { prefetchId } from "../src/prefetch.js";

// jsdom rewrites import.meta.url to http:, so resolve from this file's directory instead.
const dir = `${join(__dirname, "fixtures")}/`;

/** What the grid sent, without the model's own early first window (prefetch.ts). */
export function fromGrid<T>(sent: T[]): T[] {
  return sent.filter((m) => prefetchId((m as { payload_args?: unknown } | undefined)?.payload_args) === undefined);
}

/** A frame recorded from the real buckaroo server (see python/src/buckaroo_tauri_dev/fixtures.py). */
export function fixture<T = Record<string, unknown>>(name: string): T {
  return JSON.parse(readFileSync(`${dir}${name}.json`, "utf8")) as T;
}

export function parquetFixture(): ArrayBuffer {
  const buf = readFileSync(`${dir}infinite_resp_parquet.bin`);
  return buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.byteLength) as ArrayBuffer;
}

/**
 * A parquet row reply as the plugin sends it (Outgoing::rows_frame in pairing.rs): the
 * header's length (u32 LE), the header's JSON, the parquet bytes.
 */
export function rowsReply(header: Record<string, unknown> = fixture("infinite_resp_parquet"), parquet: ArrayBuffer = parquetFixture()): ArrayBuffer {
  const head = new TextEncoder().encode(JSON.stringify(header));
  const out = new Uint8Array(4 + head.byteLength + parquet.byteLength);
  new DataView(out.buffer).setUint32(0, head.byteLength, true);
  out.set(head, 4);
  out.set(new Uint8Array(parquet), 4 + head.byteLength);
  return out.buffer;
}

/** Push a message into a Channel the way the Rust side does (ordered by index). */
export function channelSend(channel: { id: number } | undefined, message: unknown, index: number): void {
  if (!channel) throw new Error("no Channel attached yet");
  (window as unknown as { __TAURI_INTERNALS__: { runCallback: (id: number, d: unknown) => void } }).__TAURI_INTERNALS__.runCallback(
    channel.id,
    { message, index },
  );
}

/** What the mocked plugin reads from a command's arguments (each command sends one of these). */
export interface IpcArgs {
  onEvent: { id: number };
  args: { path: string };
  msg: Record<string, unknown>;
}

/**
 * Stands in for widget.js: renders "rows of <session>" and counts its live React trees
 * (`trees.live`): render adds one, the cleanup it returns (as buckaroo's does) removes it.
 */
export function countingWidget(trees: { live: number }): WidgetModule {
  return {
    default: async () => ({
      render: ({ el, model }) => {
        trees.live += 1;
        el.textContent = `rows of ${(model as IModel).get("df_id")}`;
        return () => {
          trees.live -= 1;
        };
      },
    }),
  };
}

/** The tree `rootWidget` renders: live from its commit to its unmount. */
function Tree({ text, trees }: { text: string; trees: { live: number } }) {
  useLayoutEffect(() => {
    trees.live += 1;
    return () => {
      trees.live -= 1;
    };
  }, [trees]);
  return createElement("span", null, text);
}

/**
 * Stands in for buckaroo 0.15.11's widget.js: its render makes a React root in `el`
 * (`createRoot`) and returns nothing, so only that root's `unmount` ends the tree. The
 * tree counts itself live from its commit to its unmount (`trees.live`).
 */
export function rootWidget(trees: { live: number }): WidgetModule {
  return {
    default: async () => ({
      render: ({ el, model }) => {
        const root = createRoot(el);
        flushSync(() => root.render(createElement(Tree, { text: `rows of ${(model as IModel).get("df_id")}`, trees })));
      },
    }),
  };
}
