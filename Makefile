# fc-plugin: every target sets itself up from nothing (`make install` is a prerequisite).
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

# llamafactory-cli spawns torchrun from PATH; everything runs offline (no model hub).
export PATH := $(CURDIR)/$(BIN):$(PATH)
export HF_HUB_OFFLINE := 1
export HF_DATASETS_OFFLINE := 1
export DISABLE_VERSION_CHECK := 1
export TOKENIZERS_PARALLELISM := false

.PHONY: install test test-fast demo lint clean convert

install: $(STAMP)

$(STAMP): pyproject.toml constraints.txt hatch_build.py fc_plugin_autoload.pth _fc_plugin_hook.py
	test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -c constraints.txt -e '.[dev]'
	touch $(STAMP)

## test: the whole suite, end-to-end runs included (what CI runs)
test: install
	$(BIN)/python -m pytest -q

## test-fast: unit tests only (skips the e2e-marked real training / browser runs)
test-fast: install
	$(BIN)/python -m pytest -q -m "not e2e"

## demo: the main job: tiny model -> train recipes/fc_lora.yaml on CPU -> adapter + loss plot
demo: install
	$(BIN)/fc-plugin demo --out outputs/demo

## convert: every raw sample in data/raw/ -> data/fc_<name>_sample.json + dataset_info.json (with hub entries)
convert: install
	$(BIN)/python -m fc_plugin.convert.batch data/raw --out-dir data --info dataset_info.json

lint: install
	$(BIN)/ruff check .

clean:
	rm -rf outputs saves .pytest_cache
