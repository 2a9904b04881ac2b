# twostep: the two commands of the README, and the checks CI runs.
.PHONY: run test check fmt bench sync sync-runtime readme

UV ?= uv
# `make run PORT=8001 HOST=127.0.0.1`: empty means the settings' default (127.0.0.1:8000).
PORT ?=
HOST ?=

sync:
	@scripts/ensure-tools.sh
	$(UV) sync --frozen

# The service alone: no test or lint tool chain.
sync-runtime:
	@scripts/ensure-tools.sh
	$(UV) sync --frozen --no-dev

run: sync-runtime
	$(UV) run --frozen --no-dev twostep serve $(if $(HOST),--host $(HOST)) $(if $(PORT),--port $(PORT))

test:
	@scripts/ensure-tools.sh --test
	$(UV) sync --frozen
	$(UV) run --frozen pytest $(PYTEST_ARGS)

check: sync
	$(UV) run --frozen ruff check .
	$(UV) run --frozen ruff format --check .
	$(UV) run --frozen mypy

fmt: sync
	$(UV) run --frozen ruff check --fix .
	$(UV) run --frozen ruff format .

# The README's configuration table, from the fields of twostep.config.Settings.
readme: sync
	$(UV) run --frozen python scripts/settings_table.py

bench: sync
	$(UV) run --frozen python bench/otp.py
