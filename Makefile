# Two entry points: `make demo` and `make test`. Everything they need is installed
# here, idempotently, on a fresh Debian 12 machine (as root, or with sudo).
SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help

export CARGO_TARGET_DIR ?= $(HOME)/.cache/buckaroo-tauri/target
export CARGO_TERM_COLOR ?= never
# The sidecar starts ~4x slower without .pyc files; we compile them in setup, and
# tests must be allowed to use them.
unexport PYTHONDONTWRITEBYTECODE

VENV   := python/.venv
PY     := $(VENV)/bin/python
STAMPS := .make
SUDO   := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
APT_PACKAGES := build-essential pkg-config curl file libssl-dev libxdo-dev librsvg2-dev \
	libwebkit2gtk-4.1-dev libsoup-3.0-dev libjavascriptcoregtk-4.1-dev libayatana-appindicator3-dev \
	xvfb xauth webkit2gtk-driver fonts-dejavu-core chromium chromium-driver xdotool postgresql \
	dbus python3-gi gir1.2-gtk-3.0 sudo socat xclip gnome-keyring libsecret-tools
CARGO_FEATURES := --workspace --features tauri/custom-protocol
APP_BIN := $(CARGO_TARGET_DIR)/debug/buckaroo-tauri-example
E2E_SUITE    := $(PY) -m pytest python/tests -m "e2e and not scaffold and not bundle and not wheel" -q
BUNDLE_SUITE := $(PY) -m pytest python/tests -m bundle -q -s
WHEEL_SUITE  := $(PY) -m pytest python/tests -m wheel -q -s

.PHONY: help setup apt toolchain venv venv-pandas3 node data adapter app env-lock env-bundle bundle wheel demo test test-rust test-ts test-python test-e2e test-bundle test-wheel test-scaffold bench soak clean-stamps

help:
	@echo "make demo   build the example app and show the real grid on sample data"
	@echo "make test   every suite: Rust, TypeScript, Python, end-to-end, the .deb and its update, the wheel, scaffolded app"
	@echo "make wheel  the Python wheel (out/wheel): pip install it, then buckaroo-desktop FILE or buckaroo_desktop.show(df)"

setup: apt toolchain venv venv-pandas3 node data

apt:
	@missing=$$(for p in $(APT_PACKAGES); do dpkg-query -W -f='$${Status}\n' $$p 2>/dev/null | grep -q "install ok installed" || echo $$p; done); \
	if [ -n "$$missing" ]; then \
		echo "[setup] apt: installing $$missing"; \
		$(SUDO) apt-get update -qq; \
		DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq --no-install-recommends $$missing; \
	fi

toolchain:
	@command -v cargo >/dev/null || { echo "[setup] cargo not found: install Rust (rustup) first"; exit 1; }
	@command -v node >/dev/null && command -v npm >/dev/null || { echo "[setup] node/npm not found: install Node.js 20+"; exit 1; }
	@rustup component list --installed 2>/dev/null | grep -q clippy || rustup component add clippy rustfmt

venv: $(STAMPS)/venv
$(STAMPS)/venv: python/pyproject.toml
	@mkdir -p $(STAMPS)
	@test -x $(PY) || python3 -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e python
	@# Bytecode for the sidecar's imports: 0.5 s start instead of 2 s.
	$(PY) -m compileall -q -j 0 $(VENV)/lib python/src >/dev/null
	@touch $@

# A deliberately broken environment (pandas 3) for the sidecar probe's tests.
venv-pandas3: $(STAMPS)/venv-pandas3
$(STAMPS)/venv-pandas3:
	@mkdir -p $(STAMPS)
	@test -x python/.venv-pandas3/bin/python || python3 -m venv python/.venv-pandas3
	python/.venv-pandas3/bin/python -m pip install -q "pandas>=3" six tornado
	@touch $@

node: $(STAMPS)/node
$(STAMPS)/node: package-lock.json package.json packages/buckaroo-tauri-adapter/package.json examples/tauri-app/package.json
	@mkdir -p $(STAMPS)
	@# Not `npm ci`: the registry here lacks @crabnebula/tauri-driver's darwin/win32
	@# optional packages, so the lockfile cannot list them and `ci` refuses it. The
	@# lockfile lists every @tauri-apps/cli platform, so `install` leaves it unchanged.
	npm install --no-audit --no-fund --loglevel=error
	@touch $@

data: venv
	@$(PY) -m buckaroo_tauri_dev.sample_data >/dev/null

adapter: node
	npm run build --silent -w buckaroo-tauri-adapter

# `tauri build` (not cargo build): it embeds the front end so the binary serves its own assets.
app: setup adapter
	cd examples/tauri-app && npx tauri build --debug --no-bundle

demo: app
	$(PY) -m buckaroo_tauri_dev.demo

test: setup
	@# The app first: its front end (dist/) must exist before clippy expands generate_context!.
	$(MAKE) app
	$(MAKE) test-rust
	$(MAKE) test-ts
	$(MAKE) test-python
	$(MAKE) test-e2e
	@# One make for both: the release build (bundle) runs once for the .deb and the wheel.
	$(MAKE) test-bundle test-wheel
	$(MAKE) test-scaffold
	@echo "[test] all suites passed"

test-rust: adapter
	@test -d examples/tauri-app/dist || $(MAKE) app
	cargo fmt --all --check
	cargo clippy $(CARGO_FEATURES) --all-targets -- -D warnings
	@# Under a display: webview_memory's test makes real WebKit web contexts.
	BUCKAROO_TEST_PYTHON=$(abspath $(PY)) xvfb-run -a cargo test $(CARGO_FEATURES)
	@# As a user of the crate runs them: no workspace features.
	cargo test -p buckaroo-tauri --doc --quiet
	cargo package -p buckaroo-tauri --allow-dirty --quiet

test-ts: adapter
	npm run lint --silent -w buckaroo-tauri-adapter -w buckaroo-tauri-example
	npm run typecheck --silent -w buckaroo-tauri-adapter
	npm test --silent -w buckaroo-tauri-adapter
	cd packages/buckaroo-tauri-adapter && npm pack --dry-run --silent >/dev/null

# --config: the launcher inside the crate has no pyproject of its own; one rule set for both.
test-python:
	$(PY) -m ruff check --config python/pyproject.toml python crates/buckaroo-tauri/python
	$(PY) -m pytest python/tests -m "not e2e and not scaffold and not bundle and not wheel" -q

test-e2e: app env-bundle
	$(E2E_SUITE)

# The managed environment's locks (crates/buckaroo-tauri/env), rewritten from the
# launcher's pip requirements (uv resolves against the package index).
env-lock: venv
	$(PY) -m buckaroo_tauri_dev.env_lock

# What the .deb ships for the managed environment's offline first run (out/env-bundle):
# the engine lock's wheels, uv and a manifest. Does nothing when it matches the lock.
env-bundle: venv
	$(PY) -m buckaroo_tauri_dev.env_bundle

# The release build, once: signed .debs of this version and the next (out/bundle),
# for the installed-app and self-update tests (docs/shipping.md). It embeds dist/ as
# built here (bundle.py turns off tauri's beforeBuildCommand).
bundle: setup adapter env-bundle
	cd examples/tauri-app && npm run build --silent
	$(PY) -m buckaroo_tauri_dev.bundle

# Installs the .deb for real (dpkg -i, as root) and removes it after.
test-bundle: bundle app
	$(BUNDLE_SUITE)

# The Python wheel (python/buckaroo-desktop, docs/python.md): the .deb's release binary,
# stripped, behind `buckaroo-desktop` and `buckaroo_desktop.show()`. No second build.
wheel: bundle
	$(PY) -m buckaroo_tauri_dev.wheel

# pip-installs the wheel into fresh venvs (removed after) and runs it under Xvfb.
test-wheel: wheel app
	$(WHEEL_SUITE)

# An outside user's path: create-tauri-app → init → tauri build and tauri dev (docs/embedding-guide.md).
test-scaffold: app
	$(PY) -m pytest python/tests -m scaffold -q -s --timeout=3600

# A benchmark, not a test: it fails on errors and wrong rows, never on slowness.
bench: app env-bundle
	$(PY) -m buckaroo_tauri_dev.bench_sidecar --json out/bench/sidecar.json | tee out/bench-sidecar.md
	$(PY) -m buckaroo_tauri_dev.bench_first_run --json out/bench/first-run.json | tee out/bench-first-run.md
	$(PY) -m buckaroo_tauri_dev.bench_export --json out/bench/export.json | tee out/bench-export.md
	$(PY) -m buckaroo_tauri_dev.bench_databases --json out/bench/databases.json | tee out/bench-databases.md
	$(PY) -m buckaroo_tauri_dev.bench_webview_memory --json out/bench/webview-memory.json | tee out/bench-webview-memory.md
	$(PY) -m buckaroo_tauri_dev.bench

# An hour of 8 windows scrolling, sorting and searching (not in CI; 2 minutes of it run in
# test-e2e). Fails on unanswered, failed or wrong windows, never on slowness.
soak: app env-bundle
	mkdir -p out
	$(PY) -m buckaroo_tauri_dev.soak --minutes 60 --big-rows 20000000 --json docs/soak/soak-60min.json | tee out/soak.md

clean-stamps:
	rm -rf $(STAMPS)
