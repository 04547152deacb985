# Briefing Digest: the two front-door commands are `make site` and `make test`.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
export NO_MKDOCS_2_WARNING := 1

.PHONY: setup site generate check serve test lint golden bench clean lock

# Python packages (pinned in requirements.lock with the hashes of every
# published distribution, so pip refuses a substituted file) and the npm
# assets (pinned, integrity-checked by package-lock.json). Re-runs when
# either lock changes.
# pip itself first, pinned in requirements-pip.lock: the pip a new venv
# brings (23.2 with Python 3.11), checking hashes, resolved a requirement
# with extras (justext's lxml[html_clean]) to a release newer than the
# pinned one as soon as there was one, and refused to install.
$(STAMP): requirements.lock requirements-pip.lock pyproject.toml package-lock.json scripts/debian-packages
	scripts/debian-packages site
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --require-hashes -r requirements-pip.lock
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --require-hashes -r requirements.lock
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --no-deps -e .
	npm ci --no-audit --no-fund --loglevel=error
	touch $@

setup: $(STAMP)

site: $(STAMP)
	$(BIN)/digest build

check: $(STAMP)
	$(BIN)/digest check

generate: $(STAMP)
	$(BIN)/digest generate

# Preview: rebuilds incrementally on every save and reloads the browser.
serve: $(STAMP)
	$(BIN)/digest serve --dev-addr 127.0.0.1:8000

lint: $(STAMP)
	$(BIN)/ruff check scripts tests overrides
	$(BIN)/mypy

test: lint
	scripts/debian-packages test
	$(BIN)/python -m pytest

# Measure on a synthetic corpus: make bench N=5000 (or N="5000 10000";
# ARGS=--long for the heavier corpus)
N ?= 1000
ARGS ?=
bench: $(STAMP)
	$(BIN)/digest bench $(N) $(ARGS)

# Regenerate the golden files after an intended change to the output.
golden: $(STAMP)
	$(BIN)/python -m pytest tests/test_golden.py --update-golden

# Update requirements.lock: the newest releases pyproject.toml allows, each
# with the hashes of all its distributions on PyPI (uv, itself locked);
# and requirements-pip.lock, the installer's own pin.
PIP_VERSION := 25.3
lock: $(STAMP)
	$(BIN)/uv pip compile pyproject.toml --extra test --generate-hashes --upgrade \
	  --python $(BIN)/python --custom-compile-command "make lock" -o requirements.lock
	echo "pip==$(PIP_VERSION)" | $(BIN)/uv pip compile - --generate-hashes \
	  --python $(BIN)/python --custom-compile-command "make lock" -o requirements-pip.lock

clean:
	-test ! -x $(BIN)/digest || $(BIN)/digest daemon --stop
	rm -rf site .site.* dist docs/digest docs/.digest.* .digest-cache .digest-partial.yml .pytest_cache .mypy_cache .ruff_cache
