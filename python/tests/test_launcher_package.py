"""The launcher package's shape, without a server: its floors (from `__init__`'s
docstring) against what each module imports, its sizes, the one home of its codes, the
probe's standard-library-only imports, and the environment `__main__` hands on."""

from __future__ import annotations

import ast
import json
import os
import re
import subprocess
import sys
from functools import cache

import pytest

from buckaroo_tauri_dev.server import LAUNCHER, LAUNCHER_PACKAGE, LAUNCHER_PATH_ENTRY, launcher_command, launcher_module

HEAVY = {"buckaroo", "tornado", "pandas", "polars", "pyarrow", "xorq", "duckdb", "numpy"}
MAX_MODULE_LINES = 400
MAX_FUNCTION_LINES = 60


def modules() -> dict[str, ast.Module]:
    return {path.stem: ast.parse(path.read_text(), str(path)) for path in sorted(LAUNCHER.glob("*.py"))}


@cache
def floors() -> dict[str, int]:
    """`  <floor>  <module>  ...` lines of the package docstring's Floors block."""
    doc = ast.get_docstring(modules()["__init__"]) or ""
    block = doc[doc.index("Floors"):]
    found = [(m.group(2), int(m.group(1))) for m in re.finditer(r"^\s*(\d+)\s+(\w+)\s", block, re.M)]
    assert len(found) == len(dict(found)), f"a module listed twice in the Floors block: {found}"
    return {"__init__": -1, **dict(found)}


def imported(tree: ast.Module) -> set[str]:
    """The package's modules that `tree` imports, anywhere in it (lazy imports too)."""
    out = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.level:
            out |= {node.module.split(".")[0]} if node.module else {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and (node.module or "").startswith(LAUNCHER_PACKAGE + "."):
            out.add(node.module.split(".")[1])
        elif isinstance(node, ast.Import):
            out |= {a.name.split(".")[1] for a in node.names if a.name.startswith(LAUNCHER_PACKAGE + ".")}
    return out


def test_the_package_is_flat():
    others = [p.name for p in LAUNCHER.iterdir() if p.suffix != ".py" and p.name != "__pycache__"]
    assert not others, f"{LAUNCHER}: only *.py files, no subpackages or data files: {others}"


def test_every_module_has_a_floor_and_imports_only_lower_floors():
    mods, floor = modules(), floors()
    assert set(mods) == set(floor), f"modules {sorted(set(mods) - set(floor))} have no floor; floors name {sorted(set(floor) - set(mods))}"
    upward = [f"{name} (floor {floor[name]}) imports {dep} (floor {floor[dep]})"
              for name, tree in mods.items() for dep in sorted(imported(tree)) if floor[dep] >= floor[name]]
    assert not upward, "imports that do not go down a floor:\n" + "\n".join(upward)


def test_the_imports_form_a_dag():
    graph = {name: imported(tree) for name, tree in modules().items()}
    done: set[str] = set()

    def visit(name: str, path: tuple[str, ...]) -> None:
        assert name not in path, f"import cycle: {' -> '.join((*path, name))}"
        if name not in done:
            for dep in graph[name]:
                visit(dep, (*path, name))
            done.add(name)
    for name in graph:
        visit(name, ())


def test_no_module_or_function_is_too_long():
    too_long = [f"{name}.py: {len(tree.body) and tree.body[-1].end_lineno} lines"
                for name, tree in modules().items() if tree.body and tree.body[-1].end_lineno > MAX_MODULE_LINES]
    functions = [(name, node) for name, tree in modules().items() for node in ast.walk(tree)
                 if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef))]
    too_long += [f"{name}.{node.name}: {node.end_lineno - node.lineno + 1} lines" for name, node in functions
                 if node.end_lineno - node.lineno + 1 > MAX_FUNCTION_LINES]
    assert not too_long, too_long


def test_codes_are_written_only_in_contract():
    codes = set(launcher_module("contract").CODES)
    literals = [f"{name}.py:{node.lineno}: {node.value!r}" for name, tree in modules().items() if name != "contract"
                for node in ast.walk(tree) if isinstance(node, ast.Constant) and node.value in codes]
    assert not literals, f"codes written outside contract.py (use its constants): {literals}"


def test_heavy_libraries_are_imported_only_inside_functions():
    top = [f"{name}.py: {alias.name}" for name, tree in modules().items() for node in tree.body
           if isinstance(node, (ast.Import, ast.ImportFrom))
           for alias in (node.names if isinstance(node, ast.Import) else [ast.alias(node.module or "")])
           if alias.name.split(".")[0] in HEAVY]
    assert not top, f"module-level imports of heavy libraries: {top}"


def test_the_probe_imports_the_standard_library_only(tmp_path):
    """Run as the plugin runs it, from a folder whose json.py would break it if the
    current directory were on sys.path (PYTHONSAFEPATH)."""
    (tmp_path / "json.py").write_text("raise ImportError('the working directory shadowed json')\n")
    show = ("import sys; from buckaroo_tauri_sidecar.__main__ import main; main(['--probe']); "
            f"print(sorted({{m.split('.')[0] for m in sys.modules}} & set({sorted(HEAVY)!r})))")
    args, env = launcher_command()
    out = subprocess.run([sys.executable, "-c", show], capture_output=True, text=True, timeout=60, env=env, cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    report, heavy = out.stdout.strip().splitlines()
    assert json.loads(report)["ok"] is True
    assert heavy == "[]", f"the probe imported {heavy}"
    done = subprocess.run([sys.executable, *args, "--probe"], capture_output=True, text=True, timeout=60, env=env, cwd=tmp_path)
    assert done.returncode == 0 and json.loads(done.stdout)["ok"] is True, done.stderr


@pytest.mark.parametrize(("pythonpath", "left"), [
    ("{ours}", None),
    ("{ours}" + os.pathsep + "/user/site", "/user/site"),
    ("{ours}" + os.pathsep + "/a" + os.pathsep + os.pathsep + "/b", "/a" + os.pathsep + os.pathsep + "/b"),
    ("{ours}/" + os.pathsep + "/user/site", "/user/site"),  # another spelling of the same folder
    ("/user/site" + os.pathsep + "{ours}", "/user/site"),
    ("/user/site", "/user/site"),  # not run by the plugin: left alone
    (None, None),
])
def test_main_hands_children_the_users_environment(pythonpath, left):
    restore = launcher_module("__main__").restore_user_env
    env = {"PYTHONSAFEPATH": "1", "OTHER": "x"}
    if pythonpath is not None:
        env["PYTHONPATH"] = pythonpath.format(ours=LAUNCHER_PATH_ENTRY)
    restore(env, str(LAUNCHER_PATH_ENTRY))
    assert env.get("PYTHONPATH") == left and "PYTHONSAFEPATH" not in env and env["OTHER"] == "x"


def test_launcher_command_is_the_plugins():
    args, env = launcher_command({"PYTHONPATH": "/user/site", "PATH": "/usr/bin"})
    assert args == ["-m", LAUNCHER_PACKAGE]
    assert env == {"PYTHONPATH": f"{LAUNCHER_PATH_ENTRY}{os.pathsep}/user/site", "PYTHONSAFEPATH": "1", "PATH": "/usr/bin"}
    assert launcher_command({})[1]["PYTHONPATH"] == str(LAUNCHER_PATH_ENTRY)


def test_the_collector_is_off_while_the_server_starts_and_on_once_it_listens(monkeypatch):
    """__main__ turns it off before the server's imports (~100 ms of a ~700 ms start, in
    docs/benchmarks.md); cli turns it on, with the start's objects frozen, at the handshake."""
    import gc
    import types

    seen = {}
    stub = types.ModuleType(f"{LAUNCHER_PACKAGE}.cli")
    stub.serve = lambda argv: seen.setdefault("collecting", gc.isenabled()) and 1 or 0
    monkeypatch.setitem(sys.modules, f"{LAUNCHER_PACKAGE}.cli", stub)
    monkeypatch.setattr(os, "environ", dict(os.environ))
    main = launcher_module("__main__").main
    try:
        assert main(["--port", "0"]) == 0
        assert seen == {"collecting": False}
    finally:
        gc.enable()
    monkeypatch.undo()

    gc.disable()
    try:
        launcher_module("cli").collect_from_now()
        assert gc.isenabled() and gc.get_freeze_count() > 0
    finally:
        gc.unfreeze()
        gc.enable()
