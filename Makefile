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

.PHONY: install test test-fast demo convert synth augment recipe-data webui browser bench lint clean

# every target runs `fc-plugin compile` first: it compiles the modules of fc_plugin.compiled.MODULES whose source changed
# (Cython; 0.1 s when none did) so an edited module never runs from a stale build
install: $(STAMP)
	@$(BIN)/fc-plugin compile

$(STAMP): pyproject.toml constraints.txt hatch_build.py fc_plugin_autoload.pth _fc_plugin_hook.py
	test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -c constraints.txt -e '.[dev,compiled]'
	touch $(STAMP)

## test: the whole suite, end-to-end runs included (what CI runs)
test: install browser
	$(BIN)/python -m pytest -q

## test-fast: unit tests only (skips the e2e-marked real training / browser runs)
test-fast: install
	$(BIN)/python -m pytest -q -m "not e2e"

## demo: the main job: synthetic + converted data -> llamafactory-cli train of the shipped tiny base -> eval of tuned and base + compare
demo: install
	$(BIN)/fc-plugin demo --out outputs/demo

## convert: every raw sample in data/raw/ -> data/fc_<name>_sample.json + dataset_info.json (with hub entries)
convert: install
	$(BIN)/python -m fc_plugin.convert.batch data/raw --out-dir data --info dataset_info.json

## synth: the shipped synthetic example: the seeds' tools in data/tools -> data/fc_synth_seed_tools.json (+ _eval)
synth: install
	$(BIN)/fc-plugin synth --tools data/tools/seed_tools.json --templates data/tools/seed_templates.json \
		--n 1000 --lang en,zh --seed 0 --split-eval 0.1 --out data/fc_synth_seed_tools.json --no-progress

## augment: the shipped synthetic data with masked names, distractor tools, shuffled tool lists and
## irrelevance samples -> data/fc_synth_seed_tools_aug.json (recipes/fc_lora_augmented.yaml trains on it)
augment: install
	$(BIN)/fc-plugin augment fc_synth_seed_tools --out data/fc_synth_seed_tools_aug.json \
		--name fc_synth_seed_tools_aug --seed 0 --no-progress

## recipe-data: data the recipes use: data/general_chat_{en,zh}.json (+ hub general-chat entries) and
## fc_demo split by category for recipes/stages/ (data/fc_demo_{single,parallel,...}.json)
recipe-data: install
	$(BIN)/python -m fc_plugin.general_chat --out-dir data --info dataset_info.json
	$(BIN)/fc-plugin split fc_demo --by category --out-dir data --info dataset_info.json --no-progress

## webui: LLaMA-Factory's LlamaBoard on http://127.0.0.1:7860 with our templates; Data dir = this folder
webui: install
	$(BIN)/fc-plugin webui --dataset-dir .

## browser: Debian's headless Chromium for the WebUI browser test (skipped when /usr/bin/chromium exists)
SUDO := $(if $(filter 0,$(shell id -u)),,sudo)
browser:
	@test -x /usr/bin/chromium || { $(SUDO) apt-get update -q && \
		$(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y -q chromium chromium-driver; }

## bench: every benchmark in bench/, each printing its ratios side by side (results in bench/results/)
## (the learning bench trains once per template: about 10 minutes each; run it alone with
##  `.venv/bin/python bench/bench_learning.py`; the augment bench trains three models, 30-35 minutes on a quiet AMD EPYC)
BENCH_FAST := startup templates prompt_tokens convert synth eval train_step
bench: install
	for b in $(BENCH_FAST); do $(BIN)/python bench/bench_$$b.py || exit 1; done
	$(BIN)/python bench/bench_learning.py
	$(BIN)/python bench/bench_augment.py

lint: install
	$(BIN)/ruff check .

clean:
	rm -rf outputs saves .pytest_cache
