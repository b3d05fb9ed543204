import { describe, expect, it } from "vitest";
import { gridHeight, MIN_GRID_HEIGHT, withDisplayHeight } from "../src/layout.js";

describe("layout", () => {
  it("sets dfvHeight in every view's component_config, keeping the rest", () => {
    const args = {
      main: { data_key: "main", df_viewer_config: { pinned_rows: [], component_config: { layoutType: "normal" } } },
      summary: { data_key: "all_stats" },
    };
    expect(withDisplayHeight(args, 480)).toEqual({
      main: { data_key: "main", df_viewer_config: { pinned_rows: [], component_config: { layoutType: "normal", dfvHeight: 480 } } },
      summary: { data_key: "all_stats", df_viewer_config: { component_config: { dfvHeight: 480 } } },
    });
    expect(args.main.df_viewer_config.component_config).toEqual({ layoutType: "normal" }); // not mutated
  });

  it("leaves display args alone until there is a height, and heights are whole and not too small", () => {
    const args = { main: {} };
    expect(withDisplayHeight(args, null)).toBe(args);
    expect(withDisplayHeight(undefined, 300)).toBeUndefined();
    expect(gridHeight(333.7)).toBe(333);
    expect(gridHeight(10)).toBe(MIN_GRID_HEIGHT);
  });
});
