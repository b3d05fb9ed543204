/**
 * Deferred summary stats: buckaroo's server sends an initial_state whose
 * `df_meta.stats` is not yet complete, then pushes the stats in a `stats_update`
 * (or gives up with `stats_aborted`) once the grid's first row request named the
 * owed generation (`stats_gen`). StatsChannel merges them into the model the way
 * buckaroo's own WebSocketModel does, so the grid shows them.
 */
import type { BuckarooError } from "./protocol.js";

/** `df_meta.stats`: where the summary stats of the shown data stand. */
export interface StatsState {
  /** "complete" when nothing is owed; "pending", "error", "not_computed", … otherwise. */
  status: string;
  /** How much was computed ("schema", "full", …). */
  tier?: string;
  /** The generation the server owes a `stats_update` for. */
  gen?: number;
  /** Why status is "error" (the adapter sets "stats_failed"). */
  reason?: string;
}

/** One summary-stat row: `index` names the stat, one key per column. */
export type StatsRow = Record<string, unknown>;

/** A parquet_b64 or json envelope, a plain array of rows, or nothing. */
export type StatsEnvelope = StatsRow[] | { format?: string; data?: unknown; layout?: string; json_columns?: string[] } | null | undefined;

/** `df_meta.stats` of a df_meta value, when it has one. */
export function statsOf(dfMeta: unknown): StatsState | undefined {
  const s = (dfMeta as { stats?: unknown } | null | undefined)?.stats;
  return s && typeof s === "object" ? (s as StatsState) : undefined;
}

function base64Bytes(b64: string): ArrayBuffer {
  const bin = atob(b64);
  const bytes = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i++) bytes[i] = bin.charCodeAt(i);
  return bytes.buffer;
}

// As buckaroo's decoder: the grid formats numbers, so a BigInt that fits becomes a number.
function fromBigInt(v: bigint): number | string {
  return v >= -BigInt(Number.MAX_SAFE_INTEGER) && v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : String(v);
}

function parseJson(v: string): unknown {
  try {
    return JSON.parse(v);
  } catch {
    return v;
  }
}

function tallRow(row: StatsRow, jsonColumns: Set<string> | undefined): StatsRow {
  const out: StatsRow = {};
  for (const [k, v] of Object.entries(row)) {
    if (k === "index" || k === "level_0") out[k] = typeof v === "bigint" ? Number(v) : v;
    else if (typeof v === "bigint") out[k] = fromBigInt(v);
    else if (typeof v === "string" && (jsonColumns === undefined || jsonColumns.has(k))) out[k] = parseJson(v);
    else out[k] = v;
  }
  return out;
}

/** "wide": one parquet row whose columns are `<column>__<stat>`; the grid wants one row per stat. */
function wideRows(row: StatsRow | undefined): StatsRow[] {
  if (!row) return [];
  const columns = new Set<string>();
  const byStat = new Map<string, StatsRow>();
  for (const [k, v] of Object.entries(row)) {
    const cut = k.indexOf("__");
    if (cut === -1) continue;
    const column = k.slice(0, cut);
    const stat = k.slice(cut + 2);
    columns.add(column);
    let values = byStat.get(stat);
    if (!values) {
      values = {};
      byStat.set(stat, values);
    }
    values[column] = typeof v === "bigint" ? fromBigInt(v) : typeof v === "string" ? parseJson(v) : v;
  }
  return [...byStat].map(([stat, values]) => {
    const out: StatsRow = { index: stat, level_0: stat };
    for (const c of columns) out[c] = values[c] ?? null;
    return out;
  });
}

/**
 * Rows of a stats envelope, as buckaroo's own decoder gives them. Throws on an
 * envelope it cannot read (unknown format, bad base64 or parquet). hyparquet is
 * imported only here, so pages that never get deferred stats never load it.
 */
export async function decodeStats(envelope: StatsEnvelope): Promise<StatsRow[]> {
  if (envelope == null) return [];
  if (Array.isArray(envelope)) return envelope;
  if (envelope.format === "json") {
    const data = envelope.data ?? [];
    if (!Array.isArray(data)) throw new Error("json stats envelope without a row array");
    return data as StatsRow[];
  }
  if (envelope.format === "parquet_b64") {
    if (typeof envelope.data !== "string") throw new Error("parquet_b64 stats envelope without base64 data");
    const { parquetReadObjects } = await import("hyparquet");
    const rows = (await parquetReadObjects({ file: base64Bytes(envelope.data) })) as StatsRow[];
    if (envelope.layout === "wide") return wideRows(rows[0]);
    const jsonColumns = envelope.json_columns ? new Set(envelope.json_columns) : undefined;
    return rows.map((r) => tallRow(r, jsonColumns));
  }
  throw new Error(`unknown stats envelope format ${JSON.stringify(envelope.format)}`);
}

/**
 * `update` merged into `current`, keyed by `index`: new stats are appended; for a
 * known one every value is replaced, except that null never hides a value already shown.
 */
export function mergeStats(current: readonly StatsRow[], update: readonly StatsRow[]): StatsRow[] {
  const merged = [...current];
  const at = new Map<unknown, number>();
  merged.forEach((row, i) => {
    at.set(row.index, i);
  });
  for (const row of update) {
    const i = at.get(row.index);
    if (i === undefined) {
      at.set(row.index, merged.length);
      merged.push({ ...row });
      continue;
    }
    const next = { ...merged[i] };
    for (const [k, v] of Object.entries(row)) {
      if (k === "index" || k === "level_0") continue;
      if (v === null && next[k] != null) continue;
      next[k] = v;
    }
    merged[i] = next;
  }
  return merged;
}

/** What StatsChannel needs from its model. */
export interface StatsHost {
  get(key: string): unknown;
  /** Set a model key from the server side (not a page change to save) and emit `change:<key>`. */
  put(key: string, value: unknown): void;
  /** A stats payload could not be applied. */
  failed(err: BuckarooError): void;
  readonly counters: { statsUpdates: number; statsAborted: number; statsStale: number };
}

/** `stats_update` as buckaroo's server sends it. */
interface StatsUpdate {
  type: "stats_update";
  stats_gen?: unknown;
  tier?: string;
  final?: boolean;
  payload?: StatsEnvelope;
  df_display_args?: unknown;
}

/** `stats_aborted`: the owed stats will not come. */
interface StatsAborted {
  type: "stats_aborted";
  stats_gen?: unknown;
  reason?: string;
}

/**
 * The model's `stats` (buckaroo's grid reads `model.stats.expectedGen` into every
 * row request): takes `stats_update` / `stats_aborted` for the owed generation and
 * applies them to `df_data_dict`, `df_display_args` and `df_meta.stats`.
 */
export class StatsChannel {
  // Updates apply one after another: each merges into what the one before left.
  private applying: Promise<void> = Promise.resolve();

  constructor(private readonly host: StatsHost) {}

  /** The generation the server owes a `stats_update` for (`df_meta.stats.gen`), if any. */
  get expectedGen(): number | undefined {
    const gen = statsOf(this.host.get("df_meta"))?.gen;
    return typeof gen === "number" ? gen : undefined;
  }

  /** Take a frame if it is a stats message; false for anything else. */
  handle(msg: Record<string, unknown>): boolean {
    if (msg.type === "stats_update") this.receiveUpdate(msg as unknown as StatsUpdate);
    else if (msg.type === "stats_aborted") this.receiveAborted(msg as unknown as StatsAborted);
    else return false;
    return true;
  }

  /** Resolves when every update received so far was applied (or dropped). */
  whenIdle(): Promise<void> {
    return this.applying;
  }

  private owed(gen: unknown): boolean {
    return typeof gen === "number" && gen === this.expectedGen;
  }

  private receiveUpdate(msg: StatsUpdate): void {
    if (!this.owed(msg.stats_gen)) {
      this.host.counters.statsStale += 1;
      return;
    }
    this.applying = this.applying.then(() => this.applyUpdate(msg));
  }

  private async applyUpdate(msg: StatsUpdate): Promise<void> {
    try {
      const update = await decodeStats(msg.payload);
      // Decoding yields: a new load or another update may have replaced the state meanwhile.
      for (;;) {
        if (!this.owed(msg.stats_gen)) {
          this.host.counters.statsStale += 1;
          return;
        }
        const dict = this.host.get("df_data_dict") as Record<string, unknown> | undefined;
        const current = await decodeStats(dict?.all_stats as StatsEnvelope);
        if (dict !== this.host.get("df_data_dict") || !this.owed(msg.stats_gen)) continue;
        this.host.put("df_data_dict", { ...dict, all_stats: mergeStats(current, update) });
        if (msg.df_display_args) this.host.put("df_display_args", msg.df_display_args);
        if (msg.final) this.replaceStats((s) => ({ status: "complete", tier: msg.tier ?? s.tier, gen: s.gen }));
        this.host.counters.statsUpdates += 1;
        return;
      }
    } catch (e) {
      if (!this.owed(msg.stats_gen)) {
        this.host.counters.statsStale += 1;
        return;
      }
      this.replaceStats((s) => ({ ...s, status: "error", reason: "stats_failed" }));
      this.host.failed({
        code: "stats_failed",
        message: `Summary stats could not be shown: ${e instanceof Error ? e.message : String(e)}`,
      });
    }
  }

  private receiveAborted(msg: StatsAborted): void {
    if (!this.owed(msg.stats_gen)) {
      this.host.counters.statsStale += 1;
      return;
    }
    this.host.counters.statsAborted += 1;
    // Other reasons (no_data, stale, unsupported_scope) leave the state as it is, as upstream.
    if (msg.reason === "error") this.replaceStats((s) => ({ ...s, status: "error", reason: "stats_failed" }));
    else if (msg.reason === "not_requestable") this.replaceStats((s) => ({ ...s, status: "not_computed" }));
  }

  private replaceStats(next: (s: StatsState) => StatsState): void {
    const meta = this.host.get("df_meta") as Record<string, unknown> | undefined;
    const s = statsOf(meta);
    if (meta && s) this.host.put("df_meta", { ...meta, stats: next(s) });
  }
}
