/**
 * Cell selection on buckaroo's grid, for copying: AG Grid's community edition (what
 * buckaroo ships) has no range selection, so the adapter keeps one. Press on a cell and
 * drag, or click then Shift+click, to select a block; click an `index` cell to select
 * whole rows. Ctrl+C (⌘C) copies the block through the plugin (`copyCells`): its rows
 * as the grid sorts and searches them, read by the sidecar, as TSV with a header row.
 * Selected cells get the `buckaroo-selected` class (styled by the adapter's CSS).
 */

export interface CellBlock {
  /** First row (the grid's row index), inclusive. */
  start: number;
  /** One past the last row. */
  end: number;
  /** The grid's column ids (`a`, `b`, …), in the order the grid shows them. */
  columns: string[];
}

interface Point {
  row: number;
  col: string;
}

export const SELECTED_CLASS = "buckaroo-selected";
const INDEX = "index";

/** The data grid under `host` (buckaroo draws its status bar as a grid too): the one with an index column. */
function dataGrid(host: HTMLElement): HTMLElement | null {
  const roots = [...host.querySelectorAll<HTMLElement>(".ag-root-wrapper")];
  return roots.filter((r) => r.querySelector('.ag-header-cell[col-id="index"]')).pop() ?? null;
}

/** Column ids in the order the grid shows them (header order), the index column first if shown. */
function columnOrder(grid: HTMLElement): string[] {
  const ids = [...grid.querySelectorAll<HTMLElement>(".ag-header-cell[col-id]")]
    .sort((a, b) => a.getBoundingClientRect().left - b.getBoundingClientRect().left)
    .map((h) => h.getAttribute("col-id") ?? "");
  return [...new Set(ids.filter(Boolean))];
}

function pointOf(target: EventTarget | null, grid: HTMLElement): Point | null {
  const cell = target instanceof Element ? target.closest<HTMLElement>(".ag-cell[col-id]") : null;
  const row = cell?.closest<HTMLElement>(".ag-row[row-index]");
  if (!cell || !row || !grid.contains(cell)) return null;
  const index = Number(row.getAttribute("row-index"));
  return Number.isInteger(index) && index >= 0 ? { row: index, col: cell.getAttribute("col-id") ?? "" } : null;
}

export class CellSelection {
  private anchor: Point | null = null;
  private focus: Point | null = null;
  private dragging = false;
  private wholeRows = false;
  private readonly observer: MutationObserver;
  private readonly stop: () => void;

  constructor(
    private readonly host: HTMLElement,
    private readonly copy: (block: CellBlock) => Promise<unknown>,
  ) {
    const doc = host.ownerDocument;
    const down = (e: MouseEvent) => this.press(e);
    const move = (e: MouseEvent) => this.drag(e);
    const up = () => (this.dragging = false);
    const key = (e: KeyboardEvent) => this.key(e);
    host.addEventListener("mousedown", down);
    host.addEventListener("mousemove", move);
    doc.addEventListener("mouseup", up);
    doc.addEventListener("keydown", key);
    // AG Grid recycles row elements as it scrolls: mark what is drawn again.
    let queued = false;
    this.observer = new MutationObserver(() => {
      if (queued || !this.anchor) return;
      queued = true;
      requestAnimationFrame(() => {
        queued = false;
        this.paint();
      });
    });
    this.observer.observe(host, { childList: true, subtree: true });
    this.stop = () => {
      host.removeEventListener("mousedown", down);
      host.removeEventListener("mousemove", move);
      doc.removeEventListener("mouseup", up);
      doc.removeEventListener("keydown", key);
    };
  }

  /** The selected block, or null. */
  block(): CellBlock | null {
    const grid = dataGrid(this.host);
    if (!this.anchor || !this.focus || !grid) return null;
    const order = columnOrder(grid).filter((c) => c !== INDEX);
    const [a, b] = [order.indexOf(this.anchor.col), order.indexOf(this.focus.col)];
    const columns = this.wholeRows ? order : a < 0 || b < 0 ? [] : order.slice(Math.min(a, b), Math.max(a, b) + 1);
    if (!columns.length) return null;
    const start = Math.min(this.anchor.row, this.focus.row);
    return { start, end: Math.max(this.anchor.row, this.focus.row) + 1, columns };
  }

  clear(): void {
    this.anchor = this.focus = null;
    this.paint();
  }

  dispose(): void {
    this.stop();
    this.observer.disconnect();
  }

  private press(e: MouseEvent): void {
    const grid = dataGrid(this.host);
    const p = grid && e.button === 0 ? pointOf(e.target, grid) : null;
    if (!p) return;
    if (e.shiftKey && this.anchor) {
      e.preventDefault(); // no native text selection: it would take Ctrl+C
      this.focus = p;
    } else {
      this.wholeRows = p.col === INDEX;
      this.anchor = this.focus = p;
      this.dragging = true;
    }
    this.paint();
  }

  private drag(e: MouseEvent): void {
    if (!this.dragging || !(e.buttons & 1)) return;
    const grid = dataGrid(this.host);
    const p = grid && pointOf(e.target, grid);
    if (!p || (p.row === this.focus?.row && p.col === this.focus?.col)) return;
    e.preventDefault();
    this.host.ownerDocument.getSelection()?.removeAllRanges();
    this.focus = this.wholeRows ? { ...p, col: INDEX } : p;
    this.paint();
  }

  private key(e: KeyboardEvent): void {
    const copyKey = (e.ctrlKey || e.metaKey) && !e.altKey && e.key.toLowerCase() === "c";
    if (!copyKey) return;
    const active = this.host.ownerDocument.activeElement;
    if (active instanceof HTMLInputElement || active instanceof HTMLTextAreaElement) return; // the search box's own copy
    const block = this.block();
    if (!block) return;
    e.preventDefault();
    void this.copy(block).catch(() => {}); // the caller reports it
  }

  private paint(): void {
    const grid = dataGrid(this.host);
    if (!grid) return;
    const block = this.block();
    const cols = new Set(block?.columns ?? []);
    for (const cell of grid.querySelectorAll<HTMLElement>(".ag-cell[col-id]")) {
      const row = Number(cell.closest(".ag-row[row-index]")?.getAttribute("row-index"));
      const on = !!block && row >= block.start && row < block.end && cols.has(cell.getAttribute("col-id") ?? "");
      cell.classList.toggle(SELECTED_CLASS, on);
    }
  }
}
