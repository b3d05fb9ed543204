import { afterEach, describe, expect, it, vi } from "vitest";
import { clearMocks, mockIPC } from "@tauri-apps/api/mocks";
import { emit } from "@tauri-apps/api/event";
import { Channel } from "@tauri-apps/api/core";
import { COMMANDS, commands, EVENTS, loadPath, onStatus, PLUGIN, whenReady, type SidecarStatus } from "../src/index.js";

afterEach(() => clearMocks());

const ready: SidecarStatus = { state: "ready", generation: 1, pid: 42, python: "/py", buckarooVersion: "0.15.11" };

describe("commands", () => {
  it("invoke names and camelCase args follow the contract", async () => {
    const calls: Array<[string, unknown]> = [];
    mockIPC((cmd, args) => {
      calls.push([cmd, args]);
      return { sessionId: "s", path: "/d/x.parquet", mode: "buckaroo", rows: 3, backend: "pandas", columns: [] };
    });
    const r = await loadPath({ path: "/d/x.parquet", mode: "viewer", componentConfig: { a: 1 } });
    expect(r.rows).toBe(3);
    expect(calls).toEqual([["plugin:buckaroo-tauri|buckaroo_load_path", { args: { path: "/d/x.parquet", mode: "viewer", componentConfig: { a: 1 } } }]]);
  });

  it("the wrappers call exactly the plugin's COMMANDS", async () => {
    const called: string[] = [];
    mockIPC((cmd) => {
      called.push(cmd);
      return null;
    });
    await Promise.all([
      commands.status(),
      commands.retry(),
      commands.health(),
      commands.diagnostics(),
      commands.attach(new Channel<unknown>()),
      commands.loadPath({ path: "/d/x.csv" }),
      commands.reload(),
      commands.loadExpr({ buildDir: "/b" }),
      commands.reloadExpr(),
      commands.loadCompare({ path1: "/a", path2: "/b", joinColumns: ["id"] }),
      commands.send({ type: "infinite_request" }),
      commands.poll(1),
      commands.pickFile(),
      commands.pickBuild(),
      commands.cancelSetup(),
      commands.resetEnvironment(),
      commands.pickExportPath("a.csv"),
      commands.exportView({ path: "/d/a.csv" }),
      commands.cancelExport(),
      commands.copyCells({ start: 0, end: 3, columns: ["a"] }),
      commands.copyText("id"),
      commands.listTables({ connectionId: "db1" }),
      commands.openTable({ connectionId: "db1", table: { name: "t" } }),
      commands.saveConnection("db1", "Sales"),
      commands.savedConnections(),
      commands.forgetConnection("s1"),
    ]);
    expect(called).toEqual(COMMANDS.map((c) => `${PLUGIN}|${c}`));
  });

  it("a rejected command keeps the plugin's coded error", async () => {
    mockIPC(() => {
      throw { code: "path_not_allowed", message: "path not allowed: /etc/passwd", hint: "pick it" };
    });
    await expect(loadPath({ path: "/etc/passwd" })).rejects.toMatchObject({ code: "path_not_allowed", hint: "pick it" });
  });
});

describe("plain-string rejections", () => {
  it("become coded errors (Tauri refuses some malformed calls before the plugin sees them)", async () => {
    mockIPC(() => {
      throw "invalid args `msg` for command `buckaroo_send`: command buckaroo_send missing required key msg";
    });
    await expect(loadPath({ path: "/x" })).rejects.toEqual({
      code: "invalid_request",
      message: "invalid args `msg` for command `buckaroo_send`: command buckaroo_send missing required key msg",
      hint: undefined,
      serverCode: undefined,
    });
  });
});

describe("status subscription", () => {
  it("sees ready when it happened before subscribing", async () => {
    mockIPC((cmd) => (cmd.endsWith("buckaroo_status") ? ready : null), { shouldMockEvents: true });
    const seen: string[] = [];
    await onStatus((s) => seen.push(s.state));
    expect(seen).toEqual(["ready"]);
    await expect(whenReady()).resolves.toMatchObject({ pid: 42 });
  });

  it("an event that arrives while the query is in flight is not overwritten by the stale answer", async () => {
    let answer!: (s: SidecarStatus) => void;
    mockIPC(
      (cmd) => (cmd.endsWith("buckaroo_status") ? new Promise<SidecarStatus>((r) => (answer = r)) : null),
      { shouldMockEvents: true },
    );
    const seen: string[] = [];
    const sub = onStatus((s) => seen.push(s.state));
    await vi.waitFor(() => expect(answer).toBeTypeOf("function"));
    await emit(EVENTS.status, ready);
    answer({ state: "starting", attempt: 1 });
    await sub;
    expect(seen).toEqual(["ready"]);
  });

  it("whenReady rejects with the failure", async () => {
    mockIPC((cmd) => (cmd.endsWith("buckaroo_status") ? { state: "failed", error: { code: "buckaroo_missing", message: "m" } } : null), {
      shouldMockEvents: true,
    });
    await expect(whenReady()).rejects.toMatchObject({ code: "buckaroo_missing" });
  });
});
