// @vitest-environment jsdom
import { afterEach, describe, expect, it, vi } from "vitest";
import { CellSelection, SELECTED_CLASS, type CellBlock } from "../src/selection.js";

/** AG Grid's shape as buckaroo draws it: a status-bar grid, then the data grid (index column first). */
function gridDom(rows: number, cols = ["index", "a", "b", "c", "d"]): HTMLElement {
  const host = document.createElement("div");
  const cell = (col: string, text: string) => `<div class="ag-cell" col-id="${col}">${text}</div>`;
  host.innerHTML = `
    <div class="ag-root-wrapper"><div class="ag-header-cell" col-id="total_rows"></div></div>
    <div class="ag-root-wrapper">
      ${cols.map((c) => `<div class="ag-header-cell" col-id="${c}">${c}</div>`).join("")}
      <div class="ag-center-cols-container">
        ${Array.from({ length: rows }, (_, r) => `<div class="ag-row" row-index="${r}">${cols.map((c) => cell(c, `${c}${r}`)).join("")}</div>`).join("")}
      </div>
    </div>`;
  document.body.append(host);
  return host;
}

/** The element `selector` finds under `root`; the test fails when there is none. */
function must(root: ParentNode, selector: string): HTMLElement {
  const el = root.querySelector<HTMLElement>(selector);
  if (!el) throw new Error(`no ${selector}`);
  return el;
}

const at = (host: HTMLElement, row: number, col: string) => must(host, `.ag-row[row-index="${row}"] .ag-cell[col-id="${col}"]`);
const mouse = (el: HTMLElement, type: string, init: MouseEventInit = {}) =>
  el.dispatchEvent(new MouseEvent(type, { bubbles: true, button: 0, buttons: 1, ...init }));

describe("CellSelection", () => {
  afterEach(() => document.body.replaceChildren());

  it("a drag selects a block in grid order, marks its cells, and Ctrl+C copies it once", async () => {
    const host = gridDom(6);
    const copied: CellBlock[] = [];
    const sel = new CellSelection(host, async (b) => copied.push(b));
    mouse(at(host, 1, "b"), "mousedown");
    mouse(at(host, 3, "d"), "mousemove");
    document.dispatchEvent(new MouseEvent("mouseup"));
    expect(sel.block()).toEqual({ start: 1, end: 4, columns: ["b", "c", "d"] });
    expect(host.querySelectorAll(`.${SELECTED_CLASS}`)).toHaveLength(9);
    expect(at(host, 0, "b").classList.contains(SELECTED_CLASS)).toBe(false);
    const key = new KeyboardEvent("keydown", { key: "c", ctrlKey: true, cancelable: true, bubbles: true });
    document.dispatchEvent(key);
    expect(key.defaultPrevented).toBe(true);
    expect(copied).toEqual([{ start: 1, end: 4, columns: ["b", "c", "d"] }]);
    sel.dispose();
  });

  it("Shift+click extends from the anchor, upwards too; an index cell selects whole rows", () => {
    const host = gridDom(8);
    const sel = new CellSelection(host, async () => {});
    mouse(at(host, 5, "c"), "mousedown");
    document.dispatchEvent(new MouseEvent("mouseup"));
    const shift = new MouseEvent("mousedown", { bubbles: true, button: 0, shiftKey: true, cancelable: true });
    at(host, 2, "a").dispatchEvent(shift);
    expect(shift.defaultPrevented).toBe(true); // no native text selection to take Ctrl+C
    expect(sel.block()).toEqual({ start: 2, end: 6, columns: ["a", "b", "c"] });
    mouse(at(host, 4, "index"), "mousedown");
    expect(sel.block()).toEqual({ start: 4, end: 5, columns: ["a", "b", "c", "d"] });
    sel.dispose();
  });

  it("Ctrl+C in the search box, or with nothing selected, is left to the page", () => {
    const host = gridDom(3);
    const copy = vi.fn(async () => {});
    const sel = new CellSelection(host, copy);
    const none = new KeyboardEvent("keydown", { key: "c", ctrlKey: true, cancelable: true });
    document.dispatchEvent(none);
    expect(none.defaultPrevented).toBe(false);
    mouse(at(host, 0, "a"), "mousedown");
    const input = document.createElement("input");
    document.body.append(input);
    input.focus();
    const inInput = new KeyboardEvent("keydown", { key: "c", ctrlKey: true, cancelable: true });
    document.dispatchEvent(inInput);
    expect(inInput.defaultPrevented).toBe(false);
    expect(copy).not.toHaveBeenCalled();
    sel.dispose();
  });

  it("cells drawn again after a scroll are marked again; dispose stops listening", async () => {
    const host = gridDom(4);
    const copy = vi.fn(async () => {});
    const sel = new CellSelection(host, copy);
    mouse(at(host, 1, "a"), "mousedown");
    // AG Grid recycles a row element for another row index.
    const row = must(host, '.ag-row[row-index="3"]');
    row.setAttribute("row-index", "1");
    must(row, ".ag-cell").after(Object.assign(document.createElement("span"), { textContent: "x" }));
    await new Promise((r) => requestAnimationFrame(() => setTimeout(r, 0)));
    expect(must(row, '.ag-cell[col-id="a"]').classList.contains(SELECTED_CLASS)).toBe(true);
    sel.dispose();
    document.dispatchEvent(new KeyboardEvent("keydown", { key: "c", ctrlKey: true }));
    expect(copy).not.toHaveBeenCalled();
  });
});
