"""Facts written in more than one place must agree (issue 17: structure).

- The tested buckaroo version: `TESTED_BUCKAROO` in the crate (crates/buckaroo-tauri/src,
  the source of truth) against the launcher, the adapter, python/pyproject.toml and the
  pip commands and version lines of the READMEs and docs/*.md. "Supported" is the same
  rule everywhere: the same minor as the tested version.
- The IPC contract: the plugin's command names (build.rs, `generate_handler!`, the
  permissions, the adapter's `COMMANDS`, docs/protocol.md) and its error codes
  (`Error::code`, the adapter's `BuckarooErrorCode`, docs/protocol.md).
- The launcher's contract (its package's contract.py): the codes it sends (`CODES`,
  against the adapter's `ServerErrorCode`, docs/protocol.md's "Launcher error codes" and
  the plugin's hints in error.rs), the token header and variable and EXIT_UNSUPPORTED
  (against the crate and buckaroo_tauri_dev.server). These checks are functions of a
  tree's root returning what disagrees, and the suite mutates a scratch copy in one
  place each to see them fail.

Plain files only, no server. The files are found by searching for their pattern, so
code may move between modules. Run against another tree (a scratch copy with one file
edited, to see a check fail) with BUCKAROO_TAURI_REPO_ROOT=<dir>.
"""

from __future__ import annotations

import importlib
import json
import os
import re
import shlex
import sys
import tomllib
from functools import cache
from pathlib import Path

import pytest

from buckaroo_tauri_dev import contract

ROOT = Path(os.environ.get("BUCKAROO_TAURI_REPO_ROOT") or Path(__file__).resolve().parents[2])
CRATE = ROOT / "crates/buckaroo-tauri"
ADAPTER = ROOT / "packages/buckaroo-tauri-adapter"
LAUNCHER_PACKAGE = "buckaroo_tauri_sidecar"
LAUNCHER = CRATE / "python" / LAUNCHER_PACKAGE
PROTOCOL_MD = ROOT / "docs/protocol.md"

# Commands a capability must grant explicitly: not in the `default` permission set.
# Opt-in sets of the plugin (permissions/<name>.toml) and the commands each grants.
OPT_IN_SETS = {"allow-export": {"buckaroo_pick_export", "buckaroo_export", "buckaroo_export_cancel"},
               "allow-copy": {"buckaroo_copy_cells", "buckaroo_copy_text"},
               "allow-database": {"buckaroo_db_tables", "buckaroo_open_table",
                                  "buckaroo_db_save", "buckaroo_db_saved", "buckaroo_db_forget"}}
OPT_IN = {"buckaroo_load_expr", "buckaroo_reload_expr", "buckaroo_load_compare", *set().union(*OPT_IN_SETS.values())}
# What the plugin needs installed next to buckaroo; the version comes from TESTED_BUCKAROO.
PIP_TEMPLATE = '"buckaroo[server,polars]=={version}" six "pandas<3"'
# The same plus the xorq extra: what expressions need, and what the dev venv installs.
XORQ_PIP_TEMPLATE = '"buckaroo[server,polars,xorq]=={version}" duckdb==2.0.1 six "pandas<3"'


def rel(path: Path) -> str:
    return str(path.relative_to(ROOT)) if path.is_relative_to(ROOT) else str(path)


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


def import_launcher(root: Path, module: str):
    """`buckaroo_tauri_sidecar.<module>` of the tree at `root`, imported from there (no
    bytecode written) and then forgotten, so no other tree's copy is ever reused."""
    def ours() -> list[str]:
        return [name for name in sys.modules if name == LAUNCHER_PACKAGE or name.startswith(LAUNCHER_PACKAGE + ".")]
    saved = {name: sys.modules.pop(name) for name in ours()}
    entry, bytecode = str(root / "crates/buckaroo-tauri/python"), sys.dont_write_bytecode
    sys.path.insert(0, entry)
    sys.dont_write_bytecode = True
    importlib.invalidate_caches()
    try:
        return importlib.import_module(f"{LAUNCHER_PACKAGE}.{module}")
    finally:
        sys.path.remove(entry)
        sys.dont_write_bytecode = bytecode
        for name in ours():
            del sys.modules[name]
        sys.modules.update(saved)


@cache
def launcher():
    """The launcher's contract.py: standard library only, so importing it runs nothing."""
    return import_launcher(ROOT, "contract")


def test_launcher_version_pip_spec_and_rule():
    mod, where, tested, spec = launcher(), rel(LAUNCHER / "contract.py"), buckaroo_tested(), pip_spec()
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


def test_the_opt_in_permission_sets_grant_their_commands():
    sets = {s["identifier"]: s for path in sorted((CRATE / "permissions").glob("*.toml"))
            for s in tomllib.loads(path.read_text()).get("set", [])}
    assert set(sets) == set(OPT_IN_SETS)
    for name, want in OPT_IN_SETS.items():
        assert {permission_name(p) for p in sets[name]["permissions"]} == want, name
        assert want <= set(commands()), f"{name} grants commands build.rs does not have"


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


def protocol_ts(root: Path = ROOT) -> tuple[Path, str]:
    adapter = root / ADAPTER.relative_to(ROOT)
    path, _ = find_one(files(adapter, "src/**/*.ts"), r"\bexport\s+const\s+COMMANDS\b", "export const COMMANDS")
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
    codes = set(re.findall(r"=>\s*\"([a-z_]+)\"", braced(strip_comments(path.read_text()), m.end())))
    assert codes, f"{rel(path)}: no `=> \"code\"` arms in fn code"
    return codes


def braced(text: str, start: int) -> str:
    """What stands between `start` (just after a `{`) and its closing `}`."""
    depth, end = 1, start
    while depth:
        depth += {"{": 1, "}": -1}.get(text[end], 0)
        end += 1
    return text[start:end - 1]


def ts_union(name: str, root: Path = ROOT) -> set[str] | None:
    """String literals of a TS type alias, following aliases it names (`A | B`)."""
    path, text = protocol_ts(root)
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
        assert getattr(mod, name) == json.loads(rust_const(name)), f"{rel(LAUNCHER / 'contract.py')}: {name} differs from config.rs"
    shift = re.fullmatch(r"(\d+) << (\d+)", rust_const("DEFAULT_ENGINE_MIN_BYTES"))
    assert shift, "DEFAULT_ENGINE_MIN_BYTES in config.rs is not `a << b`"
    assert int(shift.group(1)) << int(shift.group(2)) == mod.DEFAULT_ENGINE_MIN_BYTES


# -- The launcher's contract: its codes, token and exit code -------------------------------
# Each check is a function of a tree's root returning what disagrees ([] when nothing),
# so test_launcher_contract_mutations can run them on a scratch copy changed in one place.

# buckaroo's own codes the adapter lists in ServerErrorCode next to the launcher's (the
# launcher sends some of them too; those are in CODES as well).
BUCKAROO_OWN = {"file_not_found", "invalid_file", "invalid_backend", "load_error", "bad_request"}
# buckaroo's own /load_expr and /reload_expr codes the launcher passes through untouched:
# the plugin hints them, the launcher never sends them itself.
BUCKAROO_OWN_HINTED = {"build_dir_not_found", "no_project_root"}
# Launcher codes the plugin gives no hint for, and why.
NO_HINT = {
    "forbidden": "the plugin sends the token on every request: a 403 is the plugin's own bug",
    "invalid_message": "the plugin refuses such messages itself (its own invalid_message) before they reach the launcher",
    "invalid_session": "the plugin always sends its session id as a string",
    "serialization_failed": "a row window's code: it reaches the page as rows_failed's serverCode, never as a plugin Error",
    "row_request_failed": "a row window's code, as serialization_failed",
    "rows_superseded": "a row window's code, as serialization_failed (the adapter does not even report it)",
    "file_changed": "a row window's code, as serialization_failed (the window's banner offers Reload)",
    "row_request_timeout": "a row window's code, as serialization_failed (its message names the engine)",
}
# Launcher codes the plugin turns into a code of its own (which has its own hint): the Rust that does it.
RUST_MAPPED = {"xorq_not_installed": r'server_code\s*==\s*"xorq_not_installed"'}
LAUNCHER_CONTRACT = "crates/buckaroo-tauri/python/buckaroo_tauri_sidecar/contract.py"


def launcher_codes(root: Path) -> set[str]:
    return set(import_launcher(root, "contract").CODES)


def adapter_server_code_drift(root: Path) -> list[str]:
    path, _ = protocol_ts(root)
    union, want = ts_union("ServerErrorCode", root), launcher_codes(root) | BUCKAROO_OWN
    if union is None:
        return [f"{rel(path)}: no `type ServerErrorCode`"]
    return [] if union == want else [drift("ServerErrorCode and the launcher's CODES + buckaroo's own", path, union, want)]


def launcher_doc_codes(root: Path) -> set[str]:
    """The codes in the `error_code` column of every table under docs/protocol.md's
    "Launcher error codes"."""
    section, codes = markdown_section(root / "docs/protocol.md", "Launcher error codes"), set()
    for table in re.findall(r"(?:^\|.*\n?)+", section, re.M):
        header, *rows = table_rows(table)
        if "`error_code`" in header:
            column = header.index("`error_code`")
            codes |= {code for row in rows for code in re.findall(r"`([a-z_]+)`", row[column])}
    return codes


def protocol_md_launcher_code_drift(root: Path) -> list[str]:
    documented, codes = launcher_doc_codes(root), launcher_codes(root)
    return [] if documented == codes else [drift("the Launcher error codes tables and CODES", root / "docs/protocol.md", documented, codes)]


def rust_hinted_codes(root: Path) -> set[str]:
    """The server codes the plugin's `match server_code { ... }` blocks hint (a load's, an export's)."""
    found = set()
    for path in files(root / "crates/buckaroo-tauri/src", "**/*.rs"):
        text = strip_comments(path.read_text())
        for m in re.finditer(r"match\s+server_code\s*\{", text):
            arms = re.findall(r'((?:"[a-z_]+"\s*\|\s*)*"[a-z_]+")\s*=>', braced(text, m.end()))
            found |= {code for arm in arms for code in quoted(arm)}
    assert found, "the plugin's hints for server codes (`match server_code {`) not found"
    return found


def rust_hint_drift(root: Path) -> list[str]:
    codes, hinted = launcher_codes(root), rust_hinted_codes(root)
    rust = "".join(strip_comments(p.read_text()) for p in files(root / "crates/buckaroo-tauri/src", "**/*.rs"))
    excused = set(NO_HINT)
    problems = [f"error.rs hints {code!r}: not a launcher code (CODES) nor buckaroo's own"
                for code in sorted(hinted - codes - BUCKAROO_OWN - BUCKAROO_OWN_HINTED)]
    problems += [f"{code!r} (CODES) has no hint in error.rs and no reason in NO_HINT"
                 for code in sorted(codes - hinted - excused - set(RUST_MAPPED))]
    problems += [f"{code!r} is hinted in error.rs: drop it from NO_HINT" for code in sorted(hinted & excused)]
    problems += [f"{code!r} in NO_HINT / RUST_MAPPED is not in CODES"
                 for code in sorted((excused | set(RUST_MAPPED)) - codes)]
    problems += [f"the plugin no longer maps {code!r} (/{pattern}/ not in crates/buckaroo-tauri/src)"
                 for code, pattern in RUST_MAPPED.items() if not re.search(pattern, rust)]
    return problems


def rust_str_const(root: Path, name: str) -> str:
    _, m = find_one(files(root / "crates/buckaroo-tauri/src", "**/*.rs"),
                    rf"\b{name}\s*:\s*&(?:'static\s+)?str\s*=\s*\"([^\"]*)\"", f"const {name}: &str")
    return m.group(1)


def launcher_constants_drift(root: Path) -> list[str]:
    """The token header and variable, EXIT_UNSUPPORTED and TESTED_BUCKAROO against the
    crate (and the header against buckaroo_tauri_dev.server)."""
    sidecar, where = import_launcher(root, "contract"), LAUNCHER_CONTRACT
    _, exit_code = find_one(files(root / "crates/buckaroo-tauri/src", "**/*.rs"), r"\bEXIT_UNSUPPORTED\s*:\s*i32\s*=\s*(\d+)",
                            "const EXIT_UNSUPPORTED: i32")
    crate = {"TOKEN_HEADER": rust_str_const(root, "TOKEN_HEADER"), "TOKEN_ENV": rust_str_const(root, "TOKEN_ENV"),
             "EXIT_UNSUPPORTED": int(exit_code.group(1)), "TESTED_BUCKAROO": contract.tested_buckaroo(root)}
    problems = [f"{where}: {name} = {getattr(sidecar, name)!r}, the crate says {value!r}"
                for name, value in crate.items() if getattr(sidecar, name) != value]
    server = root / "python/src/buckaroo_tauri_dev/server.py"
    if py_const(server, "TOKEN_HEADER") != sidecar.TOKEN_HEADER:
        problems.append(f"{rel(server)}: TOKEN_HEADER = {py_const(server, 'TOKEN_HEADER')!r}, {where} says {sidecar.TOKEN_HEADER!r}")
    return problems


LAUNCHER_CONTRACT_CHECKS = (adapter_server_code_drift, protocol_md_launcher_code_drift, rust_hint_drift, launcher_constants_drift)


@pytest.mark.parametrize("check", LAUNCHER_CONTRACT_CHECKS, ids=lambda check: check.__name__)
def test_launcher_contract(check):
    problems = check(ROOT)
    assert not problems, "\n".join(problems)


def launcher_contract_drift(root: Path) -> list[str]:
    return [problem for check in LAUNCHER_CONTRACT_CHECKS for problem in check(root)]


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
    viewer = WHEEL_PKG / "src/buckaroo_desktop/viewer.py"
    assert py_const(viewer, "INSTANCE_ENV") == app_const(APP / "src-tauri/src/lib.rs", "INSTANCE_ENV")


def test_the_wheels_buckaroo_extra_is_the_tested_line():
    path = WHEEL_PKG / "pyproject.toml"
    extra = tomllib.loads(path.read_text())["project"]["optional-dependencies"]["buckaroo"]
    tested = buckaroo_tested()
    major, minor_, _ = tested.split(".")
    # The launcher's pip spec pins the tested version; the wheel accepts its minor line.
    want = [f"buckaroo[server,polars]>={tested},<{major}.{int(minor_) + 1}",
            *(r for r in shlex.split(pip_spec()) if not r.startswith("buckaroo"))]
    assert sorted(extra) == sorted(want), drift("the buckaroo extra", path, extra, want)


# -- The launcher contract checks catch a change made in one place --------------------------

SCRATCH_FILES = ("crates/buckaroo-tauri/python/buckaroo_tauri_sidecar/__init__.py", LAUNCHER_CONTRACT, "docs/protocol.md",
                 "python/src/buckaroo_tauri_dev/server.py")
SCRATCH_DIRS = ("crates/buckaroo-tauri/src", "packages/buckaroo-tauri-adapter/src")


def scratch_tree(dest: Path) -> Path:
    """The files the launcher contract checks read, copied from ROOT to `dest`."""
    import shutil

    for name in SCRATCH_FILES:
        (dest / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(ROOT / name, dest / name)
    for name in SCRATCH_DIRS:
        shutil.copytree(ROOT / name, dest / name)
    return dest


def mutations() -> list[tuple[str, str, str, str, str]]:
    """(what, file glob, anchor regex, old, new): each changes the first `old` after the
    anchor in the one matching file holding the anchor."""
    rust, ts = "crates/buckaroo-tauri/src/**/*.rs", "packages/buckaroo-tauri-adapter/src/**/*.ts"
    md, ours = "docs/protocol.md", LAUNCHER_CONTRACT
    out = []
    for code in sorted(launcher().CODES):
        out += [(f"{code} in contract.py", ours, r"^", f'= "{code}"', f'= "{code}_renamed"'),
                (f"{code} in ServerErrorCode", ts, r"\btype\s+ServerErrorCode\b", f'"{code}"', f'"{code}_renamed"'),
                (f"{code} in protocol.md", md, r"^## Launcher error codes", f"| `{code}` |", f"| `{code}_renamed` |")]
        if code in rust_hinted_codes(ROOT):
            out.append((f"{code} hinted in Rust", rust, r"match\s+server_code\s*\{", f'"{code}"', f'"{code}_renamed"'))
        if code in RUST_MAPPED:
            out.append((f"{code} mapped in Rust", rust, RUST_MAPPED[code], f'"{code}"', f'"{code}_renamed"'))
    header, tested = launcher().TOKEN_HEADER, launcher().TESTED_BUCKAROO
    bumped = f"{minor(tested)}.{int(tested.split('.')[2]) + 1}"
    for what, glob, anchor in (("contract.py", ours, r"^TOKEN_HEADER"), ("the crate", rust, r"\bTOKEN_HEADER\s*:"),
                               ("server.py", "python/src/buckaroo_tauri_dev/server.py", r"^TOKEN_HEADER")):
        out.append((f"the token header in {what}", glob, anchor, f'"{header}"', f'"{header}-Renamed"'))
    out += [("the tested version in contract.py", ours, r"^TESTED_BUCKAROO", f'"{tested}"', f'"{bumped}"'),
            ("the tested version in the crate", rust, r"\bTESTED_BUCKAROO\s*:", f'"{tested}"', f'"{bumped}"'),
            ("EXIT_UNSUPPORTED in contract.py", ours, r"^EXIT_UNSUPPORTED", "= 3", "= 4"),
            ("EXIT_UNSUPPORTED in the crate", rust, r"\bEXIT_UNSUPPORTED\s*:\s*i32", "= 3", "= 4")]
    return out


def mutate(root: Path, glob: str, anchor: str, old: str, new: str) -> tuple[Path, str]:
    """Apply one mutation under `root`; the file changed and its original text."""
    hits = [(p, m) for p in files(root, glob) for m in [re.search(anchor, p.read_text(), re.M)] if m]
    assert len(hits) == 1, f"/{anchor}/ in {len(hits)} files of {glob}"
    path, m = hits[0]
    text = path.read_text()
    at = text.index(old, m.start())
    path.write_text(text[:at] + new + text[at + len(old):])
    return path, text


def test_launcher_contract_mutations(tmp_path):
    """Each launcher code, the token header, the tested version and EXIT_UNSUPPORTED,
    changed in one place of a scratch copy, makes the checks above report drift."""
    root = scratch_tree(tmp_path)
    assert launcher_contract_drift(root) == [], "the unchanged scratch copy already drifts"
    unnoticed = []
    for what, glob, anchor, old, new in mutations():
        path, original = mutate(root, glob, anchor, old, new)
        try:
            if not launcher_contract_drift(root):
                unnoticed.append(what)
        finally:
            path.write_text(original)
    assert not unnoticed, f"changed in one place, and no check noticed: {unnoticed}"


def test_the_open_dialog_offers_every_extension_the_viewer_opens():
    from buckaroo_tauri_dev import bundle

    picker = (CRATE / "src/picker.rs").read_text()
    (listed,) = re.findall(r'add_filter\("Tables", &\[([^\]]*)\]', picker)
    assert set(re.findall(r'"([^"]+)"', listed)) == bundle.opened_extensions()


def test_poll_batch_record_kinds_are_the_same_numbers_on_both_sides():
    rust = dict(re.findall(r"pub const (RECORD_\w+): u8 = (\d+);", (CRATE / "src/frame_queue.rs").read_text()))
    page = dict(re.findall(r"const (RECORD_\w+) = (\d+);", (ADAPTER / "src/frames.ts").read_text()))
    assert rust and rust == page, drift("poll batch record kinds", ADAPTER / "src/frames.ts", page.items(), rust.items())
