# casework: `make run` serves the demo; `make test` runs the whole suite.
PYTHON ?= python3.11
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
# Test processes: one per CPU (each has a database of its own).
TEST_WORKERS ?= auto

.PHONY: run test install translations translations-update lint check-translations clean security \
	bandit audit-deps load

$(STAMP): pyproject.toml
	@command -v $(PYTHON) >/dev/null 2>&1 || { echo "Python 3.11 is required ($(PYTHON) not found)"; exit 1; }
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

translations: $(STAMP)
	$(BIN)/pybabel -q compile -d casework/translations

run: translations
	CASEWORK_ENV=development $(BIN)/casework init
	CASEWORK_ENV=development $(BIN)/casework demo
	CASEWORK_ENV=development $(BIN)/casework run --host 127.0.0.1 --port 5000

test: translations
	$(BIN)/python -m pytest -n $(TEST_WORKERS) $(PYTEST_ARGS)

# After changing user-facing strings: refresh the template and merge it into every catalogue.
translations-update: $(STAMP)
	$(BIN)/pybabel -q extract -F babel.cfg -k _l -k lazy_gettext --no-location --sort-output \
		--project casework -o casework/translations/messages.pot .
	$(BIN)/pybabel -q update --no-fuzzy-matching -i casework/translations/messages.pot -d casework/translations

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

# Static analysis and the dependency audit. Every bandit finding is fixed or marked in place with
# `# nosec BXXX` after its reason; bandit's "nosec encountered" notes on multi-line statements are
# dropped from the output (its exit status is kept). .ci/audit-deps says which packages it audited.
security: bandit audit-deps

bandit: $(STAMP)
	@$(BIN)/bandit -q -c pyproject.toml -r casework .ci/audit-deps >$(VENV)/bandit.out 2>&1; \
		status=$$?; grep -v 'nosec encountered' $(VENV)/bandit.out; \
		test $$status -eq 0 && echo "bandit: 0 findings (every exception explained in place)"; \
		exit $$status

audit-deps: $(STAMP)
	.ci/audit-deps $(BIN)/python

# gunicorn under 200 signed-in staff (LOAD_ARGS="--cases 1000000 --db /var/tmp/cases.db", --pg URL).
load: translations
	$(BIN)/python bench/load.py $(LOAD_ARGS)

check-translations: $(STAMP)
	$(BIN)/python -m casework.i18n_check

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache
