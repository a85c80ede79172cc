# Set-up and everyday commands. `make test` and `make train` create .venv on first use.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: test test-all train lint format clean

$(STAMP): pyproject.toml constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip "setuptools>=77"  # the wheel test builds without isolation
	$(PY) -m pip install --quiet torch==2.13.0
	$(PY) -m pip install --quiet -c constraints.txt -e ".[dev,onnx]"
	touch $(STAMP)

# `make test`: everything but the slow reproductions (a few minutes on 2 cores);
# `make test-all`: everything, as CI runs it.
test: $(STAMP)
	$(PY) -m pytest -m "not slow" $(PYTEST_ARGS)

test-all: $(STAMP)
	$(PY) -m pytest $(PYTEST_ARGS)

# `make train` runs the quickstart recipe; ARGS adds Hydra overrides, e.g. ARGS="model=vgg7".
TRAIN_ARGS ?= experiment=quickstart
train: $(STAMP)
	$(PY) -m sr_lab.train $(TRAIN_ARGS) $(ARGS)

lint: $(STAMP)
	$(VENV)/bin/ruff check src tests
	$(VENV)/bin/ruff format --check src tests

format: $(STAMP)
	$(VENV)/bin/ruff format src tests
	$(VENV)/bin/ruff check --fix src tests

clean:
	rm -rf $(VENV) outputs/* .pytest_cache .ruff_cache
