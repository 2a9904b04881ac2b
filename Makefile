# twostep: the two commands of the README, and the checks CI runs.
.PHONY: run test check fmt bench sync

UV ?= uv

sync:
	@scripts/ensure-tools.sh
	$(UV) sync --frozen

run: sync
	$(UV) run --frozen twostep serve

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

bench: sync
	$(UV) run --frozen python bench/otp.py
