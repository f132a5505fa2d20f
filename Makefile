# Two commands: `make run` (install, migrate, seed, serve) and `make test` (install, lint, test).
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-$(shell cat requirements.txt requirements-dev.txt | cksum | cut -d' ' -f1)

.PHONY: install run test test-browser lint migrate seed clean

$(STAMP): requirements.txt requirements-dev.txt
	@$(PYTHON) -c 'import sys; assert sys.version_info >= (3, 11), "Python 3.11+ is required"'
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements-dev.txt
	rm -f $(VENV)/.installed-*
	touch $(STAMP)

install: $(STAMP)

run: install
	$(PY) scripts/init_env.py
	$(PY) manage.py migrate --noinput
	$(PY) manage.py seed_demo
	$(PY) scripts/run.py

lint: install
	$(VENV)/bin/ruff check .

test: install lint
	$(VENV)/bin/pytest $(PYTEST_ARGS)

# The console in Debian's chromium (apt-get install chromium); `make test` leaves these out.
test-browser: install
	RETEN_BROWSER_TESTS=1 $(VENV)/bin/pytest -m browser $(PYTEST_ARGS)

clean:
	rm -rf $(VENV) db.sqlite3 staticfiles
