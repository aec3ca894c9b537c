# The portal's two everyday commands: `make run` and `make test` (see README.md).
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
# Where `make run` serves: this machine only, port 8000 (`make run HOST=0.0.0.0 PORT=8080` to
# serve the network on another port). gunicorn started alone, as in production, listens on
# 0.0.0.0 (gunicorn.conf.py). Links in e-mails follow unless PORTAL_BASE_URL says otherwise.
HOST   ?= 127.0.0.1
PORT   ?= 8000
PORTAL_BASE_URL ?= http://$(HOST):$(PORT)
# Re-install when the dependencies change.
DEPS_STAMP := $(VENV)/.deps-$(shell cat pyproject.toml | cksum | cut -d' ' -f1)
TEST_STAMP := $(VENV)/.test-$(shell cat pyproject.toml | cksum | cut -d' ' -f1)
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

.PHONY: run test install install-test system-test-deps translations check-translations \
        extract lifecycle-table lint format test-sqlite test-postgres bench-pages bench-server \
        bench-signin bench-uploads bench-imports bench-documents bench-list system-pdf-deps \
        lighthouse test-hostile test-images test-durability clean

# The mail sender and the documents worker (print runs, the summit's list) run beside gunicorn
# and stop with it (Ctrl-C): without PORTAL_SMTP_HOST the sender writes each e-mail to the log.
run: install system-pdf-deps translations
	$(BIN)/flask --app portal db upgrade
	$(BIN)/flask --app portal demo load --if-new
	PORTAL_BASE_URL=$(PORTAL_BASE_URL) $(BIN)/flask --app portal mail send --watch & sender=$$!; \
	PORTAL_BASE_URL=$(PORTAL_BASE_URL) $(BIN)/flask --app portal documents work --watch & worker=$$!; \
	trap 'kill $$sender $$worker 2>/dev/null; wait $$sender $$worker' EXIT; trap 'exit 130' INT TERM; \
	HOST=$(HOST) PORT=$(PORT) PORTAL_BASE_URL=$(PORTAL_BASE_URL) \
	  $(BIN)/gunicorn -c gunicorn.conf.py wsgi:app

test: install-test system-pdf-deps system-test-deps translations lint check-translations test-sqlite \
      test-postgres

$(BIN)/python:
	$(PYTHON) -m venv $(VENV) || { \
	  echo "python3 -m venv failed: installing Debian's python3-venv"; \
	  $(SUDO) apt-get update -q && $(SUDO) apt-get install -y -q python3-venv && \
	  rm -rf $(VENV) && $(PYTHON) -m venv $(VENV); }
	$(BIN)/python -m pip install -q --upgrade pip

$(DEPS_STAMP): $(BIN)/python pyproject.toml
	$(BIN)/pip install -q -e .
	touch $@

$(TEST_STAMP): $(BIN)/python pyproject.toml
	$(BIN)/pip install -q -e '.[test]'
	touch $@ $(DEPS_STAMP)

install: $(DEPS_STAMP)

install-test: $(TEST_STAMP)

# What WeasyPrint draws badges, letters and lists with (README: Documents): Debian's Pango and
# HarfBuzz's subsetter (fonts embedded in a PDF are cut down in milliseconds). The fonts
# themselves are shipped in portal/documents/fonts.
PDF_LIBS := libpango-1.0-0 libpangoft2-1.0-0 libharfbuzz-subset0
system-pdf-deps:
	@dpkg-query -W -f='$${Status}\n' $(PDF_LIBS) 2>/dev/null | grep -c 'ok installed' | \
	  grep -qx $(words $(PDF_LIBS)) || { \
	  $(SUDO) apt-get update -q && \
	  DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -q $(PDF_LIBS); }

# Debian's Chromium for the browser tests, gettext's msgfmt for the catalogue checks, and
# poppler-utils (pdftotext, pdftoppm) and zbar-tools (zbarimg) to read the PDFs the tests make.
system-test-deps:
	@command -v chromium >/dev/null && command -v msgfmt >/dev/null && \
	  command -v pdftotext >/dev/null && command -v zbarimg >/dev/null || { \
	  $(SUDO) apt-get update -q && \
	  DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -q chromium gettext \
	    poppler-utils zbar-tools; }

# Check and compile every catalogue (translators: see TRANSLATING.md).
translations: install
	$(BIN)/python -m portal.i18n_tools compile

check-translations: install
	$(BIN)/python -m portal.i18n_tools check --strict

# Developers: write the lifecycle tables into README.md from portal/lifecycle.py.
lifecycle-table: install
	$(BIN)/python -c "from portal.lifecycle import write_readme; write_readme()"

# Developers: extract the strings from the code and update the three catalogues.
extract: install-test
	$(BIN)/python -m portal.i18n_tools extract

lint: install-test
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: install-test
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

test-sqlite: install-test
	$(BIN)/pytest -q

# Runs only when TEST_DATABASE_URL names a PostgreSQL server (.ci/run sets it).
test-postgres: install-test
	@if [ -n "$$TEST_DATABASE_URL" ]; then \
	  echo "== the same suite on PostgreSQL"; \
	  PORTAL_TEST_DB=postgresql $(BIN)/pytest -q; \
	else echo "TEST_DATABASE_URL is not set: PostgreSQL run skipped (see README)"; fi

# The standing attack suites in full (README: Standing suites). `make test` runs a sample of each.
# The Big List of Naughty Strings, all of it, through every form, filter and import; the whole
# image corpus, with each decode's peak memory; the access matrix. Figures printed at the end.
HOSTILE_TESTS := tests/test_naughty_strings.py tests/test_image_corpus.py tests/test_access.py

test-hostile: install-test translations
	PORTAL_HOSTILE=full $(BIN)/pytest -q $(HOSTILE_TESTS)
	@if [ -n "$$TEST_DATABASE_URL" ]; then \
	  echo "== the same on PostgreSQL"; \
	  PORTAL_HOSTILE=full PORTAL_TEST_DB=postgresql $(BIN)/pytest -q $(HOSTILE_TESTS); \
	else echo "TEST_DATABASE_URL is not set: PostgreSQL run skipped (see README)"; fi

# The image corpus alone, whole (also part of test-hostile).
test-images: install-test translations
	PORTAL_HOSTILE=full $(BIN)/pytest -q tests/test_image_corpus.py

# kill -9 of workers and of the master during a burst of writes (PostgreSQL too when
# TEST_DATABASE_URL is set): every acknowledged write kept, none doubled, integrity checked.
test-durability: install-test translations
	$(BIN)/python bench/durability.py

# Benchmarks (README: Performance). The page weight under emulated Regular 2G, in Chromium.
bench-pages: install-test system-test-deps translations
	$(BIN)/python bench/pages.py

# The portal against a bare Flask app under the same gunicorn settings, loaded by wrk.
bench-server: install-test translations
	@command -v wrk >/dev/null || { \
	  $(SUDO) apt-get update -q && DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -q wrk; }
	$(BIN)/python bench/server.py

# How long each kind of failed sign-in takes at production's argon2 cost (printed, not asserted).
bench-signin: install-test translations
	$(BIN)/python bench/signin_timing.py

# 64 badge photo uploads at once (50 megapixels and the largest accepted): workers' peak memory.
bench-uploads: install-test translations
	$(BIN)/python bench/uploads.py

# A 500-row XLSX checked and previewed; the candidate readers' time and memory (README: Importing).
bench-imports: install-test translations
	$(BIN)/python bench/imports.py

# One badge on demand, and a print run of 500 badges: time and peak memory (README: Documents).
bench-documents: install system-pdf-deps translations
	$(BIN)/python bench/documents.py

# A letter on demand and the summit's list of 20,000 by the documents worker: time and memory.
bench-list: install-test system-pdf-deps translations
	$(BIN)/python bench/list.py

# lighthouse 12.2.3 from npm (installed once under bench/.node) against Debian's Chromium.
lighthouse: install-test system-test-deps translations
	@command -v npm >/dev/null || { \
	  $(SUDO) apt-get update -q && DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -q npm; }
	$(BIN)/python bench/lighthouse.py

clean:
	rm -rf $(VENV) instance .pytest_cache .ruff_cache
