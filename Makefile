# Tsudoi: two commands on a fresh machine.
#   make run   set everything up and serve the app with demo data on http://127.0.0.1:$(PORT)
#   make test  set everything up, then ruff and the whole pytest suite
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
PORT ?= 5000
export FLASK_APP := wsgi

.PHONY: run test setup system-packages lint catalogs migrate bench bench-pg clean

setup: system-packages $(VENV)/.installed static/vendor/.installed catalogs

# Debian packages the PDF receipts (WeasyPrint) need: a Japanese font, and HarfBuzz's
# subsetter (smaller PDFs). Installed with apt-get when missing and allowed (root);
# elsewhere a warning says what to install.
SYSTEM_PACKAGES := fonts-noto-cjk libharfbuzz-subset0
system-packages:
	@command -v dpkg >/dev/null || exit 0; \
	missing=$$(for p in $(SYSTEM_PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || echo $$p; done); \
	[ -z "$$missing" ] && exit 0; \
	if command -v apt-get >/dev/null && [ "$$(id -u)" = 0 ]; then \
	  echo "apt-get install $$missing"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing >/dev/null; \
	else \
	  echo "warning: PDF receipts need: apt-get install $$missing" >&2; \
	fi

$(VENV)/.installed: pyproject.toml
	test -d $(VENV) || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e ".[dev]"
	touch $@

# Browser code from the npm registry (package-lock.json), served from static/vendor.
static/vendor/.installed: package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	mkdir -p static/vendor
	cp node_modules/jsqr/dist/jsQR.js static/vendor/jsQR.js
	cp node_modules/axe-core/axe.min.js static/vendor/axe.min.js
	touch $@

catalogs: $(VENV)/.installed
	$(BIN)/python scripts/catalog.py compile

migrate: setup
	$(BIN)/flask db upgrade

run: migrate
	$(BIN)/flask seed-demo
	@echo "Tsudoi is on http://127.0.0.1:$(PORT)  (Ctrl-C stops it)"
	$(BIN)/flask run --host 127.0.0.1 --port $(PORT)

lint: $(VENV)/.installed
	$(BIN)/ruff check .

test: setup lint
	$(BIN)/python scripts/catalog.py check
	$(BIN)/python -m pytest $(PYTEST_ARGS)

bench: setup
	$(BIN)/python -m bench.run

bench-pg: setup
	DATABASE_URL=$${DATABASE_URL:-postgresql://postgres@127.0.0.1:5432/test} $(BIN)/python -m bench.run

clean:
	rm -rf $(VENV) node_modules static/vendor .pytest_cache .ruff_cache
