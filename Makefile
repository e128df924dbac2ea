# One entry point for students, instructors and CI. Every target creates the environment first
# if it is missing, so a fresh clone needs nothing but Python 3.11+.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
READY := $(VENV)/.ready
# nbgrader runs helpers (alembic, the kernel) by name: the environment's bin comes first.
export PATH := $(CURDIR)/$(BIN):$(PATH)
# One math-library thread per process: the course's models are small, outputs then match bit for bit
# between runs, and parallel test workers do not oversubscribe the cores.
export OMP_NUM_THREADS := 1
export OPENBLAS_NUM_THREADS := 1
export MKL_NUM_THREADS := 1
START_PAGE := notebooks/00_start_here/00_start_here.ipynb

# `make notebooks COURSE_ROOT=/elsewhere` builds into a copy of the course (the drift test does).
COURSE_ROOT ?= $(CURDIR)
NBGRADER := $(BIN)/nbgrader
ASSIGNMENTS := $(sort $(notdir $(patsubst %/,%,$(dir $(wildcard $(COURSE_ROOT)/source/*/*.ipynb)))))

.PHONY: env lab test notebooks grade bench clean-env system-packages hub hub-env hub-proxy

env: $(READY)

# Debian packages the grader's sandbox and the tests use. As root (CI, a grader container) they are
# installed when missing; otherwise the missing ones are named, and what needs them says so when run.
SYSTEM_PACKAGES := bubblewrap chromium chromium-driver
system-packages:
	@missing=$$(for p in $(SYSTEM_PACKAGES); do dpkg-query -W -f='$${Status}' $$p 2>/dev/null | grep -q 'ok installed' || echo $$p; done); \
	if [ -z "$$missing" ]; then exit 0; fi; \
	if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
		echo "Installing Debian packages: $$missing"; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing >/dev/null; \
	else \
		echo "Not installed (install them for the full sandbox and tests): $$missing"; \
	fi

$(READY): requirements.txt pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "Python 3.11 or newer is needed: run make with PYTHON=/path/to/python3.11")'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r requirements.txt
	$(BIN)/python -m pip install --quiet --no-deps --editable .
	touch $@

# LAB_ARGS passes options to JupyterLab, e.g. LAB_ARGS="--no-browser --port=8890".
lab: $(READY)
	$(BIN)/jupyter lab --ServerApp.root_dir=$(CURDIR) --LabApp.default_url=/lab/tree/$(START_PAGE) $(LAB_ARGS)

test: $(READY) system-packages hub-env hub-proxy
	$(BIN)/python -m pytest

# Student versions into notebooks/, executed reference versions into solutions/, both from source/.
# All assignments by default; `make notebooks ASSIGNMENTS=02_syntax` for one. Generated folders whose
# source is gone are removed; nbgrader's --force replaces each assignment's folder whole.
# nbgrader writes to a scratch gradebook here: it refuses to change the cells of an assignment that
# has submissions in its gradebook, which protects grades but must not block authoring. `make grade`
# records the source in the real gradebook itself.
notebooks: $(READY)
	for dir in $(COURSE_ROOT)/notebooks/* $(COURSE_ROOT)/solutions/*; do \
		[ -d "$(COURSE_ROOT)/source/$$(basename "$$dir")" ] || rm -rf "$$dir"; \
	done
	set -e; scratch=$$(mktemp -d); trap 'rm -rf "$$scratch"' EXIT; \
	args="--force --log-level=WARN --CourseDirectory.root=$(COURSE_ROOT) --CourseDirectory.db_url=sqlite:///$$scratch/gradebook.db"; \
	for a in $(ASSIGNMENTS); do \
		$(NBGRADER) generate_assignment $$a $$args; \
		$(NBGRADER) generate_solution $$a $$args; \
	done

# GRADE_ARGS passes options to the grader, e.g. GRADE_ARGS="--workers 4 --timeout 60 --regrade".
grade: $(READY) system-packages
	$(BIN)/python -m autograder.grade --root $(COURSE_ROOT) $(GRADE_ARGS)

# Grades the corpus with stock nbgrader, then with `make grade`, and prints both times (about 7 min).
bench: $(READY) system-packages
	$(BIN)/python tests/bench_grading.py $(BENCH_ARGS)

clean-env:
	rm -rf $(VENV)

# --- The classroom hub (autograder/hub/; README, "Classroom JupyterHub") ---
HUB := autograder/hub
HUB_GRADER ?= grader-imbalanced-course
HUB_PORT ?= 8000
# As root, every user's server runs under their own account, which cannot execute .venv when the
# default python3 lives in root's home (mode 0700): the hub gets an environment of its own, made
# from a Python every account can run, in a folder every account can read. Otherwise .venv serves.
ifeq ($(shell id -u),0)
HUB_PYTHON ?= /usr/bin/python3.11
HUB_ENV ?= /opt/imbalanced-course-hub
HUB_ROOT ?= /srv/imbalanced-course
else
HUB_ENV ?= $(CURDIR)/$(VENV)
HUB_ROOT ?= $(CURDIR)/.hub
endif
export IMBC_HUB_ENV := $(HUB_ENV)

ifeq ($(HUB_ENV),$(CURDIR)/$(VENV))
hub-env: $(READY)
else
hub-env: $(HUB_ENV)/.ready
# The course package is copied in (not linked to this folder, which other accounts may not reach).
$(HUB_ENV)/.ready: requirements.txt pyproject.toml $(wildcard imbalanced_course/*.py autograder/*.py)
	@$(HUB_PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "The hub needs Python 3.11 or newer that every account can run: make HUB_PYTHON=/path/to/python3.11")'
	$(HUB_PYTHON) -m venv $(HUB_ENV)
	$(HUB_ENV)/bin/python -m pip install --quiet --upgrade pip
	$(HUB_ENV)/bin/python -m pip install --quiet -r requirements.txt
	$(HUB_ENV)/bin/python -m pip install --quiet --no-deps --force-reinstall .
	chmod -R a+rX $(HUB_ENV)
	touch $@
endif

# JupyterHub's proxy, at the versions package-lock.json pins.
hub-proxy: $(HUB)/node_modules/.installed
$(HUB)/node_modules/.installed: $(HUB)/package.json $(HUB)/package-lock.json
	cd $(HUB) && npm ci --no-audit --no-fund --loglevel=error
	touch $@

# A hub for the course on http://127.0.0.1:$(HUB_PORT). As root the accounts must exist; otherwise
# everyone runs as you. Set IMBC_HUB_PASSWORD for a trial without system passwords.
hub: $(READY) hub-env hub-proxy
	$(BIN)/python $(HUB)/prepare.py --root $(HUB_ROOT) $(if $(filter 0,$(shell id -u)),--grader $(HUB_GRADER))
	IMBC_HUB_ROOT=$(HUB_ROOT) IMBC_HUB_GRADER=$(HUB_GRADER) IMBC_HUB_PORT=$(HUB_PORT) \
		$(BIN)/jupyterhub -f $(HUB)/jupyterhub_config.py
