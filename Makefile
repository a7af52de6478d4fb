# The two commands a new user needs: `make run` and `make test`.
# Everything is set up from scratch on a machine with Python 3.11 and make.

PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
export FLASK_APP := wsgi:app
# Translation catalogs; the targets that build them are in the Translations section below.
TRANSLATIONS := volunteer_app/translations
POT := $(TRANSLATIONS)/messages.pot
# Every marker the code uses besides pybabel's defaults (_, gettext, ngettext, ...);
# tests/test_i18n.py reads this line, so extraction there matches extraction here.
BABEL_KEYWORDS := -k lazy_gettext -k _l -k lazy_ngettext:1,2
PO_FILES := $(wildcard $(TRANSLATIONS)/*/LC_MESSAGES/messages.po)
MO_FILES := $(PO_FILES:.po=.mo)
# apt-get needs root; as anyone else, ask sudo.
SUDO := $(if $(filter 0,$(shell id -u)),,sudo)

.PHONY: run test test-clock lint format install db demo worker serve clean translations bench-http
.PHONY: translations-extract translations-update

$(BIN)/python:
	$(PYTHON) -m venv $(VENV) || python3 -m venv $(VENV)

$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

install: $(STAMP) $(MO_FILES)

## Serve the app with demo data on the embedded SQLite database (and the SMS worker beside it).
run: install
	$(BIN)/flask db upgrade
	$(BIN)/flask seed demo --if-empty
	$(BIN)/flask seed logins
	$(BIN)/python -m volunteer_app.devserver

## Set up everything and run the whole suite (SQLite, plus PostgreSQL when TEST_DATABASE_URL is set).
test: install
	$(BIN)/python -m pytest $(PYTEST_ARGS)

## The clock-sensitive tests under a faked clock (libfaketime), once at each instant that trips
## time-of-day bugs: 19:30 UTC, New Year's Eve, both US clock changes, 00:30 local (tests/clock.py).
test-clock: install
	@command -v faketime >/dev/null || { \
		echo "Installing faketime (libfaketime) with apt-get"; \
		$(SUDO) apt-get update -qq && $(SUDO) apt-get install -y -qq faketime >/dev/null; }
	$(BIN)/python -m tests.clock $(PYTEST_ARGS)

## Requests/s, p50 and p99 of the pages at city scale under gunicorn, next to a Flask hello world
## (benchmarks/http_load.py; e.g. BENCH_ARGS="--scale 0.2 --postgres postgresql://...").
bench-http: install
	@command -v wrk >/dev/null || { \
		echo "Installing wrk with apt-get"; \
		$(SUDO) apt-get update -qq && $(SUDO) apt-get install -y -qq wrk >/dev/null; }
	$(BIN)/python benchmarks/http_load.py $(BENCH_ARGS)

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports
	$(BIN)/mypy

format: install
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

## Translations: the .po catalogs are committed; the .mo files they compile to are not.
## `make translations-update` after adding or changing user-facing text, then translate what
## it reports in volunteer_app/translations/<lang>/LC_MESSAGES/messages.po (tests/test_i18n.py
## fails while a message is untranslated, fuzzy or missing from the catalog).
## `install` compiles them, so `make run` and `make test` on a fresh clone speak every language.

$(TRANSLATIONS)/%/LC_MESSAGES/messages.mo: $(TRANSLATIONS)/%/LC_MESSAGES/messages.po | $(STAMP)
	$(BIN)/pybabel -q compile -i $< -o $@ -l $*

translations: $(MO_FILES)

translations-extract: | $(STAMP)
	$(BIN)/pybabel -q extract -F babel.cfg $(BABEL_KEYWORDS) --add-location=file --sort-by-file \
		--project volunteer-app --copyright-holder "volunteer-app contributors" -o $(POT) .

translations-update: translations-extract
	$(BIN)/pybabel -q update -i $(POT) -d $(TRANSLATIONS) --ignore-obsolete
	$(BIN)/python $(TRANSLATIONS)/status.py
	$(MAKE) --no-print-directory translations

clean:
	rm -rf $(VENV) instance/*.sqlite3 .pytest_cache
