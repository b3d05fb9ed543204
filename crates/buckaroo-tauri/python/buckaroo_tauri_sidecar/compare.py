"""/load_compare shows only the compared columns.

buckaroo's col_join_dfs adds helper columns to the joined frame (`<col>|df2`,
`membership`, `<col>|eq`) and marks them `merge_rule: hidden`: the visible `<col>`'s
tooltip and colours read them, so they must stay in the rows. Its dataflow drops such
entries from column_config, but LoadCompareHandler copies `merge_rule` into the entry
and keeps it, and the page never reads `merge_rule`: the helpers show as columns. The
page does spread `ag_grid_specs` into AG Grid's column definition, and the handler
copies that key as it is, so a hidden helper gets `hide: true` there.
"""

from __future__ import annotations


def compare_helpers_hidden(col_join_dfs):
    """handlers.col_join_dfs, its hidden overrides also hidden in the grid."""
    def join(*args, **kwargs):
        merged, overrides, eqs = col_join_dfs(*args, **kwargs)
        for override in overrides.values():
            if override.get("merge_rule") == "hidden":
                override["ag_grid_specs"] = {**override.get("ag_grid_specs", {}), "hide": True}
        return merged, overrides, eqs
    return join
