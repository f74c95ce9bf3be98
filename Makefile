# rnalabel: two commands, `make run` and `make test`; each installs what it needs into .venv.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed
SHARED ?= ../shared
export PIP_DISABLE_PIP_VERSION_CHECK=1

.PHONY: install run test browser lint bench bench-rbp31 bench-eclip bench-speed clean

install: $(STAMP)

$(STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	# torch is pinned to the CPU build that lies on the development machines' disk
	$(PY) -m pip install -q torch==2.13.0
	$(PY) -m pip install -q -e ".[all,dev]"
	touch $(STAMP)

run: install
	$(VENV)/bin/rnalabel demo --out runs/demo

test: install browser
	$(PY) -m pytest -q -n 2 --dist loadfile

# Debian's chromium for the browser tests (playwright drives it; browser downloads are impossible here)
browser:
	@command -v chromium >/dev/null 2>&1 || command -v chromium-browser >/dev/null 2>&1 || { \
	  if [ "$$(id -u)" = 0 ]; then (apt-get install -y -q chromium || (apt-get update -q && apt-get install -y -q chromium)) >/dev/null; \
	  elif command -v sudo >/dev/null 2>&1; then (sudo apt-get install -y -q chromium || (sudo apt-get update -q && sudo apt-get install -y -q chromium)) >/dev/null; \
	  else echo "chromium is missing and cannot be installed here: the browser tests will be skipped"; fi; }

lint: install
	$(VENV)/bin/ruff check src tests benchmarks

bench: bench-rbp31 bench-eclip bench-speed

# Each target runs the command recorded under "Reproduce" in its results file (bench-rbp31 reuses the fits kept in
# benchmarks/results/rbp31_runs/ and imports the converged multi-task arm; bench-eclip is the converged run).
bench-rbp31: install
	$(PY) benchmarks/rbp31.py --data $(SHARED)/data/rbp31 --arms multitask,single,deepbind,deepmirbp \
	  --import-arm multitask=benchmarks/results/rbp31_converged.md --work benchmarks/results/rbp31_runs --jobs 2 \
	  --threads 1 --out benchmarks/results/rbp31.md --earlier benchmarks/results/rbp31_capped.md

bench-eclip: install
	$(PY) benchmarks/eclip_multilabel.py --data $(SHARED)/data/eclip --arms multiresbind_seq,deepripe_seq \
	  --work runs/bench_eclip_conv --out benchmarks/results/eclip_converged.md

bench-speed: install
	$(PY) benchmarks/speed.py --out benchmarks/results/speed.md --rbp31 $(SHARED)/data/rbp31 --auc-experiments 23

# the model zoo: each model rebuilt from the public data into src/rnalabel/zoo/models (hours on 2 CPU cores for
# eclip91 and rbp31; the epoch caps are what the shipped models were trained with, see their cards)
.PHONY: zoo bench-zoo
zoo: install
	$(PY) -m rnalabel.zoo build mirloc --data $(SHARED)/data
	$(PY) -m rnalabel.zoo build rbp31 --data $(SHARED)/data --max-epochs 8
	$(PY) -m rnalabel.zoo build eclip91 --data $(SHARED)/data --max-epochs 5

bench-zoo: install
	$(PY) benchmarks/zoo.py --out benchmarks/results/zoo.md

.PHONY: bench-explain
bench-explain: install
	nice -n 10 $(PY) benchmarks/explain_rbp31.py --data $(SHARED)/data/rbp31 --out benchmarks/results/explain.md

clean:
	rm -rf $(VENV) runs .pytest_cache
