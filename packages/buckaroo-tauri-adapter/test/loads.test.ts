import { describe, expect, it, vi } from "vitest";
import { LoadTracker } from "../src/loads.js";

describe("LoadTracker", () => {
  it("watches the grid's paint only for the row window a load awaits, and ends the load once painted", async () => {
    const seen: unknown[] = [];
    const loads = new LoadTracker((l) => seen.push(l));
    const painted = vi.fn(() => Promise.resolve());
    loads.rowsArrived(painted); // no load: a scroll's window
    expect(painted).not.toHaveBeenCalled();

    loads.begin("/data/a.parquet", "page");
    loads.rowsArrived(painted); // the load's data has not come yet
    expect(painted).not.toHaveBeenCalled();

    loads.dataArrived("/data/a.parquet");
    loads.rowsArrived(painted);
    expect(painted).toHaveBeenCalledOnce();
    await vi.waitFor(() => expect(loads.current).toBeNull());
    expect(seen.at(-1)).toBeNull();
  });
});
