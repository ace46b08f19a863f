# voxpop: two commands on a fresh machine.
#   make run    set everything up, start the devnet (solo node + API) in the foreground
#   make test   set everything up (incl. CometBFT), run lint, types and the whole test suite

PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
GOBIN  := $(shell go env GOPATH 2>/dev/null)/bin
export PATH := $(GOBIN):$(PATH)

.PHONY: run test install cometbft system-deps swap-tools proto ovos-venv contracts-sdk lint typecheck pytest bench bench-testnet bench-state-sync fuzz clean

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $@

install: $(VENV)/.installed

cometbft:
	bash scripts/install_cometbft.sh

# Debian packages the tests use (espeak-ng and sox make the speech the stt tests transcribe)
system-deps:
	bash scripts/install_system_deps.sh

# The dev chains the swap tests use (geth --dev; the Bitcoin node where it installs), built once
swap-tools:
	bash scripts/install_swap_tools.sh

# The generated ABCI types (src/voxpop/abci/gen) are committed, so a wheel ships them; this
# regenerates them (a no-op while the inputs are unchanged). tests/node/test_wheel.py checks they
# match the pinned protos.
proto: install cometbft
	PYTHON=$(abspath $(BIN)/python) bash scripts/gen_proto.sh

run: install
	$(BIN)/voxpop devnet up

lint: install
	$(BIN)/ruff check src tests bench
	$(BIN)/ruff format --check src tests bench

typecheck: install
	$(BIN)/mypy

# The outside client the agent tests run: ovos-backend-client 1.0.1 in its own venv
# (build/ovos-venv: it pins an old ovos-config, so never in .venv)
ovos-venv: install
	$(BIN)/python tests/agent/ovos_env.py

# The AssemblyScript compiler (asc 0.28, pinned by package-lock.json) that `voxpop contract build`
# and tests/contracts use, in the SDK's node_modules (ignored by git, never in the wheel)
contracts-sdk:
	cd src/voxpop/contracts/sdk && npm ci --no-audit --no-fund --loglevel=error

# pytest exits 5 when it collects nothing; that is a broken suite, so it fails too.
pytest: install proto system-deps swap-tools ovos-venv contracts-sdk
	$(BIN)/pytest -q --durations=30

test: lint typecheck pytest

bench: install
	$(BIN)/python bench/solo_throughput.py
	$(BIN)/python bench/app_per_tx.py
	$(BIN)/python bench/state_commit.py
	$(BIN)/python bench/proofs.py
	$(BIN)/python bench/light_client.py
	$(BIN)/python bench/paid_calls.py
	$(BIN)/python bench/stt.py
	$(BIN)/python bench/settings.py
	$(BIN)/python bench/agent_footprint.py
	$(BIN)/python bench/gov_tally.py
	$(BIN)/python bench/contracts.py
	$(BIN)/python bench/device_day.py
	$(BIN)/python bench/storage.py
	$(BIN)/python bench/reencrypt.py

# The fuzz campaign of docs/security.md: 1,000,000 inputs over every ABCI step (minutes)
fuzz: install
	$(BIN)/python bench/fuzz.py

bench-testnet: install proto
	$(BIN)/python bench/testnet_throughput.py

# State sync versus replay on a 20,000-block, 100,000-account chain (tens of minutes)
bench-state-sync: install proto
	$(BIN)/python bench/state_sync.py

clean:
	rm -rf $(VENV) build dist .pytest_cache .mypy_cache .ruff_cache
