"""Facts written in more than one place must agree (issue 17: structure).

- The tested buckaroo version: `TESTED_BUCKAROO` in the crate (crates/buckaroo-tauri/src,
  the source of truth) against the launcher, the adapter, python/pyproject.toml and the
  pip commands and version lines of the READMEs and docs/*.md. "Supported" is the same
  rule everywhere: the same minor as the tested version.
- The IPC contract: the plugin's command names (build.rs, `generate_handler!`, the
  permissions, the adapter's `COMMANDS`, docs/protocol.md) and its error codes
  (`Error::code`, the adapter's `BuckarooErrorCode`, docs/protocol.md).

Plain files only, no server. The files are found by searching for their pattern, so
code may move between modules. Run against another tree (a scratch copy with one file
edited, to see a check fail) with BUCKAROO_TAURI_REPO_ROOT=<dir>.
"""

from __future__ import annotations

import importlib.util
import json
import os
import re
import shlex
import tomllib
from functools import cache
from pathlib import Path

import pytest

from buckaroo_tauri_dev import contract

ROOT = Path(os.environ.get("BUCKAROO_TAURI_REPO_ROOT") or Path(__file__).resolve().parents[2])
CRATE = ROOT / "crates/buckaroo-tauri"
ADAPTER = ROOT / "packages/buckaroo-tauri-adapter"
LAUNCHER = CRATE / "python/buckaroo_tauri_sidecar.py"
PROTOCOL_MD = ROOT / "docs/protocol.md"

# Commands a capability must grant explicitly: not in the `default` permission set.
OPT_IN = {"buckaroo_load_expr", "buckaroo_reload_expr", "buckaroo_load_compare"}
# What the plugin needs installed next to buckaroo; the version comes from TESTED_BUCKAROO.
PIP_TEMPLATE = '"buckaroo[server,polars]=={version}" six "pandas<3"'
# The same plus the xorq extra: what expressions need, and what the dev venv installs.
XORQ_PIP_TEMPLATE = '"buckaroo[server,polars,xorq]=={version}" duckdb==2.0.1 six "pandas<3"'


def rel(path: Path) -> str:
    return str(path.relative_to(ROOT))


def drift(what: str, where: Path, got, want) -> str:
    """An assertion message naming the file and what is missing or extra there."""
    got, want = set(got), set(want)
    parts = [f"{what} in {rel(where)} disagree"]
    if want - got:
        parts.append(f"missing: {sorted(want - got)}")
    if got - want:
        parts.append(f"extra: {sorted(got - want)}")
    return "; ".join(parts)


def strip_comments(text: str) -> str:
    """Drop // and /* */ comments (Rust, TypeScript); string literals here hold none."""
    return re.sub(r"/\*.*?\*/|//[^\n]*", "", text, flags=re.S)


def files(root: Path, *patterns: str) -> list[Path]:
    return sorted({p for pattern in patterns for p in root.glob(pattern) if p.is_file()})


def find_one(where: list[Path], pattern: str, what: str, flags: int = re.S) -> tuple[Path, re.Match]:
    """The one file (and match) among `where` holding `pattern`."""
    hits = [(p, m) for p in where for m in re.finditer(pattern, strip_comments(p.read_text()), flags)]
    assert hits, f"{what} not found in {', '.join(rel(p) for p in where) or 'no files'}"
    assert len(hits) == 1, f"{what} found {len(hits)} times: {', '.join(rel(p) for p, _ in hits)}"
    return hits[0]


def quoted(text: str) -> list[str]:
    return re.findall(r"""["']([^"'\n]*)["']""", text)


# -- The tested buckaroo version ------------------------------------------------------


@cache
def buckaroo_tested() -> str:
    """TESTED_BUCKAROO in the crate: the source of truth."""
    return contract.tested_buckaroo(ROOT)


def minor(version: str) -> str:
    return ".".join(version.split(".")[:2])


def neighbours(version: str) -> tuple[list[str], list[str]]:
    """Versions the "same minor" rule must accept, and ones it must refuse."""
    major, mnr, *_ = (int(x) for x in version.split("."))
    same = [version, f"{major}.{mnr}.0", f"{major}.{mnr}.99"]
    other = [f"{major}.{mnr + 1}.0", f"{major + 1}.{mnr}.0"] + ([f"{major}.{mnr - 1}.99"] if mnr else [])
    return same, other


def pip_spec() -> str:
    return PIP_TEMPLATE.format(version=buckaroo_tested())


def xorq_pip_spec() -> str:
    return XORQ_PIP_TEMPLATE.format(version=buckaroo_tested())


@cache
def launcher():
    spec = importlib.util.spec_from_file_location("buckaroo_tauri_sidecar_drift", LAUNCHER)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)  # standard library only at import time
    return module


def test_launcher_version_pip_spec_and_rule():
    mod, where, tested, spec = launcher(), rel(LAUNCHER), buckaroo_tested(), pip_spec()
    assert tested == mod.TESTED_BUCKAROO, f"{where}: TESTED_BUCKAROO {mod.TESTED_BUCKAROO!r}, the crate says {tested!r}"
    assert spec == mod.PIP_SPEC, f"{where}: PIP_SPEC {mod.PIP_SPEC!r}, expected {spec!r}"
    assert xorq_pip_spec() == mod.XORQ_PIP, f"{where}: XORQ_PIP {mod.XORQ_PIP!r}, expected {xorq_pip_spec()!r}"
    same, other = neighbours(tested)
    refused = [v for v in same if not mod.supported(v)]
    accepted = [v for v in other if mod.supported(v)]
    assert not refused and not accepted, (
        f"{where}: supported() must accept the tested minor {minor(buckaroo_tested())}.x only; "
        f"refuses {refused}, accepts {accepted}")


def adapter_assets() -> tuple[Path, str]:
    path, _ = find_one(files(ADAPTER, "src/**/*.ts"), r"\bexport\s+const\s+TESTED_BUCKAROO\b", "export const TESTED_BUCKAROO")
    return path, strip_comments(path.read_text())


def test_adapter_tested_version():
    path, text = adapter_assets()
    m = re.search(r"\bTESTED_BUCKAROO\b[^=]*=\s*\[([^\]]*)\]", text)
    assert m, f"{rel(path)}: TESTED_BUCKAROO is not an array literal"
    assert quoted(m.group(1)) == [buckaroo_tested()], drift("TESTED_BUCKAROO", path, quoted(m.group(1)), [buckaroo_tested()])


def test_adapter_supported_rule_is_the_tested_minor():
    path, text = adapter_assets()
    m = re.search(r"\bSUPPORTED_BUCKAROO\b[^=]*=\s*/((?:\\.|[^/\n])+)/([a-z]*)", text)
    assert m, f"{rel(path)}: SUPPORTED_BUCKAROO is not a regex literal"
    rule = re.compile(m.group(1))  # a JS regex this simple reads the same in Python
    same, other = neighbours(buckaroo_tested())
    refused = [v for v in same if not rule.search(v)]
    accepted = [v for v in other if rule.search(v)]
    assert not refused and not accepted, (
        f"{rel(path)}: SUPPORTED_BUCKAROO /{m.group(1)}/ must match the tested minor {minor(buckaroo_tested())}.x only; "
        f"refuses {refused}, accepts {accepted}")


def test_adapter_pip_command():
    path, text = adapter_assets()
    m = re.search(r"\bPIP_INSTALL\b[^=]*=\s*`([^`]*)`", text)
    assert m, f"{rel(path)}: PIP_INSTALL is not a template literal"
    command = re.sub(r"\$\{\s*TESTED_BUCKAROO\s*\[\s*0\s*\]\s*\}", buckaroo_tested(), m.group(1))
    assert command == f"python -m pip install {pip_spec()}", f"{rel(path)}: PIP_INSTALL is `{m.group(1)}`"


def test_pyproject_pins_the_tested_version():
    path = ROOT / "python/pyproject.toml"
    deps = tomllib.loads(path.read_text())["project"]["dependencies"]
    want = shlex.split(xorq_pip_spec())  # the dev venv runs the xorq tests too
    assert set(want) <= set(deps), drift("the xorq pip spec's requirements", path, set(deps) & set(want), want) + (
        f"; buckaroo there: {[d for d in deps if d.startswith('buckaroo')]}")


def prose_docs() -> list[Path]:
    return [p for p in [ROOT / "README.md", CRATE / "README.md", ADAPTER / "README.md", *files(ROOT, "docs/*.md")] if p.exists()]


def version_mentions(text: str) -> list[tuple[str, str, str]]:
    """(what, found, expected-kind) for every version a doc states as tested or supported."""
    out = []
    for m in re.finditer(r"buckaroo\[[^\]]*\]==([0-9][\w.]*)", text):
        out.append((m.group(0), m.group(1), "tested"))
    for m in re.finditer(r"\bbuckaroo (\d+\.\d+\.\d+)\b(?! is not supported)", text):  # logs, fixes; not a refused example
        out.append((m.group(0), m.group(1), "tested"))
    for m in re.finditer(r"\b(\d+\.\d+\.\d+)(?: is the)? tested\b|\btested:? (\d+\.\d+\.\d+)", text):
        out.append((m.group(0), m.group(1) or m.group(2), "tested"))
    for m in re.finditer(r"\b(\d+\.\d+)(?:\.x\b| versions\b)", text):
        out.append((m.group(0), m.group(1), "minor"))
    return out


@pytest.mark.parametrize("doc", prose_docs(), ids=rel)
def test_docs_state_the_tested_version(doc: Path):
    text = doc.read_text()
    want = {"tested": buckaroo_tested(), "minor": minor(buckaroo_tested())}
    wrong = [f"{what!r} (line {text[: text.find(what)].count(chr(10)) + 1})"
             for what, found, kind in version_mentions(text) if found != want[kind]]
    assert not wrong, (f"{rel(doc)}: tested buckaroo is {buckaroo_tested()} (supported {minor(buckaroo_tested())}.x), "
                       f"but it says {', '.join(wrong)}")
    commands = [line for line in text.splitlines() if "pip install" in line and "buckaroo[" in line]
    off = [line.strip() for line in commands if pip_spec() not in line and xorq_pip_spec() not in line]
    assert not off, f"{rel(doc)}: pip commands without the spec {pip_spec()} (or {xorq_pip_spec()}): {off}"


# -- The IPC contract: commands --------------------------------------------------------


def rust_files() -> list[Path]:
    return files(CRATE, "build.rs", "src/**/*.rs")


@cache
def commands() -> list[str]:
    """build.rs `COMMANDS`: what tauri-plugin generates the permissions from."""
    _, m = find_one(rust_files(), r"\bCOMMANDS\s*:\s*&\[\s*&(?:'static\s+)?str\s*\]\s*=\s*&\[(.*?)\]", "const COMMANDS: &[&str]")
    names = quoted(m.group(1))
    assert len(names) == len(set(names)), f"COMMANDS lists a name twice: {names}"
    return names


def test_generate_handler_lists_the_commands():
    path, m = find_one(files(CRATE, "src/**/*.rs"), r"generate_handler!\s*\[(.*?)\]", "tauri::generate_handler![...]")
    handlers = [item.strip().split("::")[-1] for item in m.group(1).split(",") if item.strip()]
    assert sorted(handlers) == sorted(commands()), drift("generate_handler! and build.rs COMMANDS", path, handlers, commands())


def permission_name(identifier: str) -> str:
    return identifier.removeprefix("allow-").replace("-", "_")


def test_default_permission_set():
    path = CRATE / "permissions/default.toml"
    granted = [permission_name(p) for p in tomllib.loads(path.read_text())["default"]["permissions"]]
    want = [c for c in commands() if c not in OPT_IN]
    assert sorted(granted) == sorted(want), drift(
        f"the default permission set (every command but the opt-in {sorted(OPT_IN)}) and build.rs COMMANDS", path, granted, want)


def test_autogenerated_command_permissions():
    folder = CRATE / "permissions/autogenerated/commands"
    found = {p.stem: tomllib.loads(p.read_text()) for p in folder.glob("*.toml")}
    assert sorted(found) == sorted(commands()), drift("permission files and build.rs COMMANDS", folder, found, commands())
    for name, doc in found.items():
        allow = [p for p in doc.get("permission", []) if p.get("identifier") == "allow-" + name.replace("_", "-")]
        assert allow and allow[0].get("commands", {}).get("allow") == [name], (
            f"{rel(folder / (name + '.toml'))}: no allow-{name.replace('_', '-')} granting exactly {name}")


@cache
def protocol_ts() -> tuple[Path, str]:
    path, _ = find_one(files(ADAPTER, "src/**/*.ts"), r"\bexport\s+const\s+COMMANDS\b", "export const COMMANDS")
    return path, strip_comments(path.read_text())


def test_adapter_commands():
    path, text = protocol_ts()
    m = re.search(r"\bexport\s+const\s+COMMANDS\b[^=]*=\s*\[(.*?)\]\s*as\s+const", text, re.S)
    assert m, f"{rel(path)}: COMMANDS is not `[...] as const`"
    names = quoted(m.group(1))
    assert names == commands(), drift("COMMANDS (same names, same order as build.rs)", path, names, commands()) + (
        f"; order: {names}" if sorted(names) == sorted(commands()) else "")


def markdown_section(path: Path, heading: str) -> str:
    text = path.read_text()
    m = re.search(rf"^## {re.escape(heading)}\s*$(.*?)(?=^## |\Z)", text, re.M | re.S)
    assert m, f"{rel(path)}: no '## {heading}' section"
    return m.group(1)


def table_rows(section: str) -> list[list[str]]:
    rows = [[c.strip() for c in line.strip().strip("|").split("|")] for line in section.splitlines() if line.lstrip().startswith("|")]
    return [r for r in rows if not all(set(c) <= set("-: ") for c in r)]


def test_protocol_md_command_table():
    rows = table_rows(markdown_section(PROTOCOL_MD, "Commands"))
    documented = {cell: row[-1] for row in rows for cell in re.findall(r"`(buckaroo_\w+)`", row[0])}
    assert sorted(documented) == sorted(commands()), drift("the Commands table and build.rs COMMANDS", PROTOCOL_MD, documented, commands())
    says_default = {name for name, column in documented.items() if column.lower().startswith("yes")}
    want = set(commands()) - OPT_IN
    assert says_default == want, drift("the Commands table's `in default` column and default.toml", PROTOCOL_MD, says_default, want)


# -- The IPC contract: error codes -----------------------------------------------------


@cache
def rust_codes() -> set[str]:
    path, m = find_one(files(CRATE, "src/**/*.rs"), r"fn\s+code\s*\(\s*&self\s*\)\s*->\s*&(?:'static\s+)?str\s*\{",
                       "fn code(&self) -> &str")
    text = strip_comments(path.read_text())
    depth, end = 1, m.end()
    while depth:
        depth += {"{": 1, "}": -1}.get(text[end], 0)
        end += 1
    codes = set(re.findall(r"=>\s*\"([a-z_]+)\"", text[m.end():end]))
    assert codes, f"{rel(path)}: no `=> \"code\"` arms in fn code"
    return codes


def ts_union(name: str) -> set[str] | None:
    """String literals of a TS type alias, following aliases it names (`A | B`)."""
    path, text = protocol_ts()
    aliases = dict(re.findall(r"\btype\s+(\w+)\s*=\s*([^;]*);", text))
    if name not in aliases:
        return None
    out, todo, seen = set(), [name], set()
    while todo:
        alias = todo.pop()
        if alias in seen:
            continue
        seen.add(alias)
        body = aliases[alias]
        out |= set(quoted(body))
        todo += [word for word in re.findall(r"\b[A-Z]\w*\b", body) if word in aliases]
    return out


def test_adapter_error_codes():
    path, _ = protocol_ts()
    every = ts_union("BuckarooErrorCode")
    assert every is not None, f"{rel(path)}: no `type BuckarooErrorCode`"
    assert rust_codes() <= every, drift("BuckarooErrorCode and Error::code", path, every & rust_codes(), rust_codes())
    plugin = ts_union("PluginErrorCode")
    if plugin is not None:  # the adapter's name for exactly what the plugin sends
        assert plugin == rust_codes(), drift("PluginErrorCode and Error::code", path, plugin, rust_codes())


def test_protocol_md_error_table():
    rows = table_rows(markdown_section(PROTOCOL_MD, "Errors"))
    documented = {code for row in rows if row for code in re.findall(r"`([a-z_]+)`", row[0])}
    every = ts_union("BuckarooErrorCode") or set()
    want = rust_codes() | every
    assert documented == want, drift("the Errors tables and Error::code + BuckarooErrorCode", PROTOCOL_MD, documented, want)


# -- The launcher's settings --------------------------------------------------------------

def rust_const(name: str) -> str:
    """A `pub const NAME: T = value;` in the crate's config.rs, as written."""
    text = strip_comments((CRATE / "src/config.rs").read_text())
    m = re.search(rf"pub const {name}: [^=]+= ([^;]+);", text)
    assert m, f"pub const {name} not found in crates/buckaroo-tauri/src/config.rs"
    return m.group(1).strip()


def test_launcher_settings_are_the_crates():
    """The variables the plugin sets for the launcher, and the engine threshold's default,
    written once in config.rs and copied into the launcher (which has no Rust to read)."""
    mod = launcher()
    for name in ("LOAD_TIMEOUT_ENV", "ENGINE_MIN_BYTES_ENV", "WARM_XORQ_ENV"):
        assert getattr(mod, name) == json.loads(rust_const(name)), f"{rel(LAUNCHER)}: {name} differs from config.rs"
    shift = re.fullmatch(r"(\d+) << (\d+)", rust_const("DEFAULT_ENGINE_MIN_BYTES"))
    assert shift, "DEFAULT_ENGINE_MIN_BYTES in config.rs is not `a << b`"
    assert int(shift.group(1)) << int(shift.group(2)) == mod.DEFAULT_ENGINE_MIN_BYTES


def test_committed_bench_results_name_no_machine_paths():
    """docs/bench/results.json is committed: files in it are named relative to the repo."""
    results = json.loads((ROOT / "docs" / "bench" / "results.json").read_text())
    absolute = re.compile(r"^(/|[A-Za-z]:\\)[^/\s]+[/\\]")

    def strings(x):
        if isinstance(x, dict):
            for v in x.values():
                yield from strings(v)
        elif isinstance(x, list):
            for v in x:
                yield from strings(v)
        elif isinstance(x, str):
            yield x

    assert not [s for s in strings(results) if absolute.match(s)]


# -- the example app: Rust and its page name the same events and menu actions ----

APP = ROOT / "examples/tauri-app"


def app_const(path: Path, name: str) -> str:
    m = re.search(rf'const {name}: &str = "([^"]+)";', path.read_text())
    assert m, f"{name} not found in {rel(path)}"
    return m.group(1)


def test_the_app_events_are_the_same_strings_on_both_sides():
    page = (APP / "src/main.ts").read_text() + (APP / "src/dialogs.ts").read_text()
    menu, updates = APP / "src-tauri/src/menu.rs", APP / "src-tauri/src/updates.rs"
    for path, name in ((menu, "MENU_EVENT"), (menu, "OPEN_EVENT"), (updates, "PROGRESS_EVENT")):
        assert f'"{app_const(path, name)}"' in page, f"{name} of {rel(path)} is not what the page listens to"


def test_every_page_menu_action_has_a_handler():
    menu = (APP / "src-tauri/src/menu.rs").read_text()
    rust = set(re.findall(r'"([a-z-]+)"', re.search(r"const PAGE_ACTIONS: &\[&str\] = &\[([^\]]+)\]", menu).group(1)))
    block = re.search(r"const actions: Record<string, \(\) => Promise<void>> = \{(.*?)\};", (APP / "src/main.ts").read_text(), re.S)
    page = {k.strip('"') for k in re.findall(r'^\s*("?[a-z-]+"?)\s*[:,]', block.group(1), re.M)}
    assert rust == page, drift("menu actions", APP / "src/main.ts", page, rust)
    ids = set(re.findall(r'item\("([a-z-]+)"', menu))
    assert rust <= ids, f"PAGE_ACTIONS not in the menu: {sorted(rust - ids)}"


# -- the Python wheel and the app it carries -------------------------------------------

WHEEL_PKG = ROOT / "python/buckaroo-desktop"


def py_const(path: Path, name: str) -> str:
    m = re.search(rf'^{name} = "([^"]+)"', path.read_text(), re.M)
    assert m, f"{name} not found in {rel(path)}"
    return m.group(1)


def test_show_and_the_app_agree_on_temporary_files_and_updates():
    show = WHEEL_PKG / "src/buckaroo_desktop/_show.py"
    temporary = APP / "src-tauri/src/temporary.rs"
    for name in ("DIR_PREFIX", "OWNER_FILE"):
        assert py_const(show, name) == app_const(temporary, name), f"{name}: {rel(show)} and {rel(temporary)} differ"
    assert '"--title", name, "--temporary"' in show.read_text()
    cli = (APP / "src-tauri/src/cli.rs").read_text()
    assert re.search(r"#\[arg\(long[^)]*\)\]\s*pub title:", cli) and re.search(r"#\[arg\(long\)\]\s*pub temporary: bool", cli)
    env = app_const(APP / "src-tauri/src/updates.rs", "UPDATED_BY_ENV")
    assert f'"{env}":' in (WHEEL_PKG / "src/buckaroo_desktop/viewer.py").read_text()


def test_the_wheels_buckaroo_extra_is_the_tested_line():
    path = WHEEL_PKG / "pyproject.toml"
    extra = tomllib.loads(path.read_text())["project"]["optional-dependencies"]["buckaroo"]
    tested = buckaroo_tested()
    major, minor_, _ = tested.split(".")
    # The launcher's pip spec pins the tested version; the wheel accepts its minor line.
    want = [f"buckaroo[server,polars]>={tested},<{major}.{int(minor_) + 1}",
            *(r for r in shlex.split(pip_spec()) if not r.startswith("buckaroo"))]
    assert sorted(extra) == sorted(want), drift("the buckaroo extra", path, extra, want)
