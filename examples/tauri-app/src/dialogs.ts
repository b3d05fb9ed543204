/** The app's own dialogs: About, Compare with…, and the update notice in the status bar. */
import { invoke } from "@tauri-apps/api/core";
import { getCurrentWebviewWindow } from "@tauri-apps/api/webviewWindow";
import type { BuckarooError, LoadCompareArgs } from "buckaroo-tauri-adapter";

const $ = <T extends HTMLElement>(id: string) => document.getElementById(id) as T;

interface About {
  name: string;
  version: string;
  plugin: string;
  tauri: string;
  buckaroo: string | null;
  python: string | null;
  pythonPath: string | null;
  /** Whether the interpreter was probed yet: before, the two above are unknown. */
  probed: boolean;
  /** Why the sidecar failed (`code: message`), while it is failed. */
  problem: string | null;
}

/** Help › About: the app, plugin, Tauri, buckaroo and Python versions. */
export async function showAbout(): Promise<void> {
  const a = await invoke<About>("app_about");
  // Not probed: still starting (or setting up), or the failure came before the probe.
  const unknown = a.problem ? "not found (see Problem)" : "starting…";
  const rows: [string, string][] = [
    [a.name, a.version],
    ["buckaroo-tauri", a.plugin],
    ["Tauri", a.tauri],
    ["buckaroo", a.buckaroo ?? (a.probed ? `not installed in ${a.pythonPath}` : unknown)],
    ["Python", a.python ? `${a.python} (${a.pythonPath})` : unknown],
  ];
  if (a.problem) rows.push(["Problem", a.problem]);
  const list = $("about-list");
  list.replaceChildren();
  for (const [k, v] of rows) {
    const dt = document.createElement("dt");
    dt.textContent = k;
    const dd = document.createElement("dd");
    dd.textContent = v;
    dd.dataset.key = k;
    list.append(dt, dd);
  }
  $<HTMLDialogElement>("about").showModal();
}

export interface CompareChoice {
  path2: string;
  joinColumns: string[];
  how: NonNullable<LoadCompareArgs["how"]>;
}

/**
 * Compare with…: the join column(s) among `columns` (the open file's), `id`-like
 * ones ticked first. Resolves null on Cancel.
 */
export function askCompare(path2: string, columns: string[]): Promise<CompareChoice | null> {
  const dialog = $<HTMLDialogElement>("compare");
  $("compare-file").textContent = path2.split(/[\\/]/).pop() ?? path2;
  const box = $("compare-columns");
  box.replaceChildren();
  const guess = columns.find((c) => /^(id|key)$/i.test(c)) ?? columns[0];
  for (const c of columns) {
    const label = document.createElement("label");
    const input = document.createElement("input");
    input.type = "checkbox";
    input.value = c;
    input.checked = c === guess;
    label.append(input, ` ${c}`);
    box.append(label);
  }
  return new Promise((resolve) => {
    dialog.addEventListener(
      "close",
      () => {
        const joinColumns = [...box.querySelectorAll<HTMLInputElement>("input:checked")].map((i) => i.value);
        const how = $<HTMLSelectElement>("compare-how").value as CompareChoice["how"];
        resolve(dialog.returnValue === "go" && joinColumns.length ? { path2, joinColumns, how } : null);
      },
      { once: true },
    );
    dialog.returnValue = "";
    dialog.showModal();
  });
}

interface UpdateInfo {
  current: string;
  available: string | null;
  notes: string | null;
}

/** What the app says about the update download (`updates.rs` PROGRESS_EVENT). */
interface UpdateProgress {
  downloaded: number;
  total: number | null;
  installing: boolean;
}

const megabytes = (n: number) => `${(n / 1e6).toFixed(1)} MB`;

/**
 * Help › Check for Updates…: one request to the update manifest; a newer version
 * offers "Install and relaunch". Cancel ends the check or the download at any point
 * before dpkg installs; a stalled download ends by itself (`update_stalled`). Errors
 * go to `showError` with their code; Install stays offered after a failed download.
 */
export async function checkForUpdates(showError: (e: BuckarooError | null) => void): Promise<void> {
  const note = $("update");
  const install = $<HTMLButtonElement>("update-install");
  const cancel = $<HTMLButtonElement>("update-cancel");
  const say = (text: string, state: string) => {
    note.hidden = false;
    note.textContent = text;
    note.dataset.state = state;
    cancel.hidden = !(state === "checking" || state === "downloading");
  };
  cancel.onclick = () => void invoke("app_cancel_update").catch(() => {});
  showError(null);
  install.hidden = true;
  say("Checking for updates…", "checking");
  let info: UpdateInfo;
  try {
    info = await invoke<UpdateInfo>("app_check_update");
  } catch (e) {
    note.hidden = true;
    cancel.hidden = true;
    showError(e as BuckarooError);
    return;
  }
  if (!info.available) return say(`Up to date (${info.current})`, "current");
  const version = info.available;
  say(`Version ${version} is available (this is ${info.current})`, "available");
  note.dataset.version = version;
  install.hidden = false;
  install.onclick = async () => {
    install.disabled = true;
    install.hidden = true;
    showError(null);
    say(`Downloading ${version}…`, "downloading");
    const unlisten = await getCurrentWebviewWindow().listen<UpdateProgress>("app:update-progress", ({ payload: p }) => {
      if (p.installing) return say(`Installing ${version}…`, "installing");
      const part = p.total ? `${Math.round((100 * p.downloaded) / p.total)} %` : megabytes(p.downloaded);
      say(`Downloading ${version}… ${part}`, "downloading");
    });
    try {
      await invoke("app_install_update"); // relaunches on success
    } catch (e) {
      say(`Version ${version} was not installed`, "failed");
      showError(e as BuckarooError);
      install.hidden = false; // the app kept the update: Install tries again
    } finally {
      unlisten();
      install.disabled = false;
    }
  };
}
