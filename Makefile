# Two commands set everything up on a fresh machine:
#   make run    virtualenv, packages, front-end assets, database, Meishan demo; serves http://127.0.0.1:8000
#   make test   the same set-up (plus Chromium for browser tests), then the whole test suite
# Embedded by default (SQLite, tasks in-process); set DATABASE_URL / REDIS_URL for PostgreSQL / Redis.

PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
PY := $(VENV)/bin/python
# The demo's residents: empty = the seed's scale (the target, 72,000). DEMO_ARGS=--reset reloads it.
DEMO_RESIDENTS ?=
DEMO_ARGS ?=
HOST ?= 127.0.0.1:8000
# The test suite runs in this many processes (pytest-xdist), each on its own database and Redis database.
TEST_PROCESSES ?= 2
# Development commands run with DEBUG=1 unless DEBUG is set: with DEBUG=0 the settings refuse the
# built-in development SECRET_KEY (a production host exports DEBUG=0 and its own SECRET_KEY).
DEV := DEBUG=$${DEBUG:-1}

.PHONY: run test setup lint format migrate demo worker worker-messages beat serve browser clean

run: setup migrate demo
	@echo "Serving the demo at http://$(HOST)/ (Ctrl-C stops it)."
	$(DEV) $(PY) manage.py runserver $(HOST)

test: setup browser
	$(VENV)/bin/pytest -n $(TEST_PROCESSES) --dist loadfile

setup: $(VENV)/.installed node_modules/.installed staticfiles/.collected

$(VENV)/.installed: requirements.txt requirements-dev.txt
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements-dev.txt
	touch $@

node_modules/.installed: package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	touch $@

staticfiles/.collected: $(VENV)/.installed node_modules/.installed $(shell find static -type f 2>/dev/null)
	$(DEV) $(PY) manage.py collectstatic --noinput -v0
	touch $@

migrate: setup
	$(DEV) $(PY) manage.py migrate --noinput -v0

# The seed's COVID campaign, then part 三's measles campaign for children beside it (two campaigns at once).
demo: migrate
	$(DEV) $(PY) manage.py load_demo $(if $(DEMO_RESIDENTS),--residents $(DEMO_RESIDENTS)) $(DEMO_ARGS)
	$(DEV) $(PY) manage.py load_demo --campaign measles

# Debian's Chromium and a CJK font for browser tests (no browser download: Playwright drives /usr/bin/chromium).
# LibreOffice (headless Calc) and poppler print the Excel files and PDFs a test looks at.
browser:
	@if ! command -v chromium >/dev/null || ! fc-list 2>/dev/null | grep -qi "Noto Sans CJK" \
		|| ! command -v soffice >/dev/null || ! command -v pdftoppm >/dev/null; then \
		echo "Installing Debian's chromium, fonts-noto-cjk, libreoffice-calc-nogui and poppler-utils for the browser tests"; \
		apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends \
			chromium fonts-noto-cjk libreoffice-calc-nogui poppler-utils >/dev/null; \
	fi

lint: setup
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

format: setup
	$(VENV)/bin/ruff format .
	$(VENV)/bin/ruff check --fix .

# Production processes (with DATABASE_URL, REDIS_URL, SECRET_KEY set: README.md, "Production").
# The web server: gunicorn with gunicorn.conf.py (GUNICORN_BIND, WEB_CONCURRENCY, GUNICORN_THREADS, ...).
serve: setup migrate
	$(VENV)/bin/gunicorn -c gunicorn.conf.py campaign.wsgi

# `worker` takes every queue; messages (SMS) have their own queue, so a host can add `worker-messages`
# and keep a slow provider away from bookings and exports.
worker: setup
	$(VENV)/bin/celery -A campaign worker -Q celery,messages --loglevel=INFO

worker-messages: setup
	$(VENV)/bin/celery -A campaign worker -Q messages --hostname=messages@%h --loglevel=INFO

beat: setup
	$(VENV)/bin/celery -A campaign beat --loglevel=INFO

clean:
	rm -rf $(VENV) node_modules staticfiles db.sqlite3 db.sqlite3-*
