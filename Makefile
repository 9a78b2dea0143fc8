# Every target creates .venv on first use; only Python 3.11 and pip are needed.
PYTHON ?= python3.11
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: check test validate evidence bench lint mutate reliability clean-venv

$(STAMP): pyproject.toml
	@command -v $(PYTHON) >/dev/null 2>&1 || { echo "need $(PYTHON) on PATH (or make PYTHON=python3 ...)"; exit 2; }
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'   # the package, its extras, and what the tests and lint use
	touch $(STAMP)

check: $(STAMP)          ## live conformance check of this repository on the embedded engine
	$(BIN)/chconform check

test: $(STAMP)           ## the whole test suite, in parallel
	$(BIN)/python -m pytest -n auto

validate: $(STAMP)       ## static validator (no engine)
	$(BIN)/python scripts/validate_clickhouse_schema.py

evidence: $(STAMP)       ## double bootstrap, describes, smoke, checks; writes logs/evidence.md
	$(BIN)/chconform evidence

bench: $(STAMP)          ## benchmarks/RESULTS.md
	$(BIN)/python benchmarks/run.py

lint: $(STAMP)           ## ruff and mypy on the package (configured in pyproject.toml)
	$(BIN)/ruff check src
	$(BIN)/mypy

mutate: $(STAMP)         ## mutation score per core module vs the unit tests (docs/MUTATION.md); MODULES="config gate" for some
	test -x $(BIN)/mutmut || $(BIN)/python -m pip install --quiet -e '.[mutation]'
	nice -n 19 $(BIN)/python scripts/mutation_score.py $(MODULES)

reliability: $(STAMP)    ## run the hostile-input, forgery, limit and fault probes; rewrite docs/RELIABILITY.md's table
	$(BIN)/python -m tests.reliability

clean-venv:
	rm -rf $(VENV)
