# One entry point for students, instructors and CI. Every target creates the environment first
# if it is missing, so a fresh clone needs nothing but Python 3.11+.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
# Two levels of one environment: what students need (requirements.txt: make lab, make notebooks),
# and on top what grading, the classroom hub and the tests need (requirements-dev.txt).
READY := $(VENV)/.ready
DEV_READY := $(VENV)/.ready-dev
# nbgrader runs helpers (alembic, the kernel) by name: the environment's bin comes first.
export PATH := $(CURDIR)/$(BIN):$(PATH)
# One math-library thread per process: the course's models are small, outputs then match bit for bit
# between runs, and parallel test workers do not oversubscribe the cores.
export OMP_NUM_THREADS := 1
export OPENBLAS_NUM_THREADS := 1
export MKL_NUM_THREADS := 1
# Students work in WORK, a copy of notebooks/ that git ignores (make lab adds new notebooks to it,
# never overwrites one). JupyterLab's settings for students and for instructors: jupyter/.
WORK := work
START_PAGE := 00_start_here/00_start_here.ipynb
LAB_SETTINGS := --Application.log_level=ERROR --KernelManager.transport=ipc

# `make notebooks COURSE_ROOT=/elsewhere` builds into a copy of the course (the drift test does).
COURSE_ROOT ?= $(CURDIR)
NBGRADER := $(BIN)/nbgrader
ASSIGNMENTS := $(sort $(notdir $(patsubst %/,%,$(dir $(wildcard $(COURSE_ROOT)/source/*/*.ipynb)))))

.PHONY: env env-dev lab author student-edition test notebooks grade collect-lms export report bench clean-env system-packages grade-packages hub hub-env hub-proxy

env: $(READY)
env-dev: $(DEV_READY)

# Debian packages: grading needs bubblewrap (the sandbox) only; the tests add Chromium and its driver.
# As root (CI, a grader container) the missing ones are installed; otherwise they are named, and what
# needs them says so when run.
GRADE_PACKAGES := bubblewrap
SYSTEM_PACKAGES := $(GRADE_PACKAGES) chromium chromium-driver
define install-missing
	@missing=$$(for p in $(1); do dpkg-query -W -f='$${Status}' $$p 2>/dev/null | grep -q 'ok installed' || echo $$p; done); \
	if [ -z "$$missing" ]; then exit 0; fi; \
	if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
		echo "Installing Debian packages: $$missing"; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing >/dev/null; \
	else \
		echo "Not installed (install them for the full sandbox and tests): $$missing"; \
	fi
endef
system-packages:
	$(call install-missing,$(SYSTEM_PACKAGES))
grade-packages:
	$(call install-missing,$(GRADE_PACKAGES))

$(READY): requirements.txt pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "Python 3.11 or newer is needed: run make with PYTHON=/path/to/python3.11")'
	@echo "Installing the course's Python packages into $(VENV) (once, a few minutes)..."
	@$(PYTHON) -m venv $(VENV)
	@$(BIN)/python -m pip install --quiet --upgrade pip
	@$(BIN)/python -m pip install --quiet -r requirements.txt
	@# setuptools prints a banner for every editable install: shown only when the install fails.
	@out=$$($(BIN)/python -m pip install --quiet --no-deps --editable . 2>&1) || { echo "$$out"; exit 1; }
	@touch $@

$(DEV_READY): $(READY) requirements-dev.txt autograder/hub/requirements.txt
	@echo "Installing the grading, hub and test tools into $(VENV)..."
	@$(BIN)/python -m pip install --quiet -r requirements-dev.txt
	@touch $@

# JupyterLab for students on $(WORK), opening on the start page: nbgrader's Validate button, none of
# the parts that need a hub (jupyter/student/). $(WORK) gets every file of notebooks/ it lacks, the
# data beside them too, so answers are never in files git tracks and a `git pull` cannot conflict
# with them. As root (containers, Colab) JupyterLab needs --allow-root.
# LAB_ARGS passes options to JupyterLab, e.g. LAB_ARGS="--no-browser --port=8890".
lab: $(READY)
	@new=$$(cd notebooks && find . -type f | while read -r f; do \
		[ -e "../$(WORK)/$$f" ] || { mkdir -p "../$(WORK)/$${f%/*}" && cp -p "$$f" "../$(WORK)/$$f" && echo "$(WORK)/$$f"; }; \
	done | grep '\.ipynb$$'); [ -z "$$new" ] || $(BIN)/jupyter trust $$new >/dev/null 2>&1
	@mkdir -p $(VENV)/workspaces
	@[ -e $(VENV)/workspaces/default-37a8.jupyterlab-workspace ] || cp jupyter/student/default.jupyterlab-workspace $(VENV)/workspaces/default-37a8.jupyterlab-workspace
	@root=; if [ "$$(id -u)" = 0 ]; then root=--allow-root; \
		echo "You are root (as in most containers): JupyterLab refuses that unless told, so make adds --allow-root."; fi; \
	echo "Your notebooks are in $(WORK)/. Open the address below in a browser; Ctrl-C twice stops JupyterLab."; \
	JUPYTER_CONFIG_PATH=$(CURDIR)/jupyter/student $(BIN)/jupyter lab $$root --ServerApp.root_dir=$(CURDIR)/$(WORK) \
		--LabApp.default_url=/lab/tree/$(START_PAGE) --LabApp.workspaces_dir=$(CURDIR)/$(VENV)/workspaces $(LAB_SETTINGS) $(LAB_ARGS)

# JupyterLab for authors on the whole repository, with nbgrader's authoring tools (Create Assignment,
# the formgrader); the exchange's parts stay off without a hub (jupyter/instructor/).
author: $(DEV_READY)
	@root=; if [ "$$(id -u)" = 0 ]; then root=--allow-root; fi; \
	JUPYTER_CONFIG_PATH=$(CURDIR)/jupyter/instructor $(BIN)/jupyter lab $$root --ServerApp.root_dir=$(CURDIR) \
		--LabApp.default_url=/lab/tree/source $(LAB_SETTINGS) $(LAB_ARGS)

# What students get (docs/instructor-guide.md): the student notebooks with their data, the helper
# package, a README, the student environment and JupyterLab's settings for students; no sources,
# solutions, tests or grader. Built from notebooks/ as generated; Binder opens it from the branch
# student-edition of the repository named in pyproject.toml.
EDITION ?= $(CURDIR)/dist/imbalanced-course-student
REPOSITORY_URL := $(shell sed -n 's/^Repository = "\(.*\)"$$/\1/p' pyproject.toml)
BINDER_URL := $(REPOSITORY_URL:https://github.com/%=https://mybinder.org/v2/gh/%/student-edition)?urlpath=lab/tree/$(START_PAGE)
student-edition:
	@rm -rf $(EDITION) $(EDITION).zip && mkdir -p $(EDITION)/imbalanced_course $(EDITION)/jupyter
	@cp -Rp notebooks/. $(EDITION)/
	@find $(EDITION) -name .ipynb_checkpoints -prune -exec rm -rf {} +
	@cp -p imbalanced_course/*.py $(EDITION)/imbalanced_course/
	@cp -p requirements.txt environment.yml LICENSE LICENSE-CONTENT.md student/pyproject.toml student/start $(EDITION)/
	@cp -Rp jupyter/student/jupyter_server_config.json jupyter/student/labconfig $(EDITION)/jupyter/
	@sed -e 's|REPOSITORY_URL|$(REPOSITORY_URL)|g' -e 's|BINDER_URL|$(BINDER_URL)|g' student/README.md > $(EDITION)/README.md
	@cd $(dir $(EDITION)) && rm -f $(notdir $(EDITION)).zip && $(PYTHON) -m zipfile -c $(notdir $(EDITION)).zip $(notdir $(EDITION))
	@echo "Student edition: $(EDITION)/ and its .zip (docs/instructor-guide.md says how to hand it out)."

test: $(DEV_READY) system-packages hub-env hub-proxy
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
grade: $(DEV_READY) grade-packages
	$(BIN)/python -m autograder.grade --root $(COURSE_ROOT) $(GRADE_ARGS)

# Submissions downloaded from an LMS into autograder/submitted/ (docs/instructor-guide.md), through
# nbgrader's zip_collect: make collect-lms ASSIGNMENT=02_syntax ZIP=submissions.zip LMS=canvas|moodle
# [ROSTER=roster.csv] [DUE="2026-12-01 23:59 UTC"] [ZIP_TIMEZONE=Europe/Paris].
collect-lms: $(DEV_READY)
	@[ -n "$(ASSIGNMENT)" ] && [ -n "$(ZIP)" ] && [ -n "$(LMS)" ] || { echo "Usage: make collect-lms ASSIGNMENT=02_syntax ZIP=submissions.zip LMS=canvas (or LMS=moodle) [ROSTER=roster.csv] [DUE='2026-12-01 23:59 UTC']"; exit 2; }
	$(BIN)/python -m autograder.lms --root $(COURSE_ROOT) --assignment "$(ASSIGNMENT)" --zip "$(ZIP)" --lms "$(LMS)" \
		$(if $(ROSTER),--roster "$(ROSTER)") $(if $(DUE),--due "$(DUE)") $(if $(ZIP_TIMEZONE),--zip-timezone "$(ZIP_TIMEZONE)")

# Grades from the gradebook into autograder/exports/: sorted CSVs, per exercise, the LMS's import
# format and its feedback upload: make export LMS=canvas|moodle [ROSTER=roster.csv].
export: $(DEV_READY)
	@[ -n "$(LMS)" ] || { echo "Usage: make export LMS=canvas (or LMS=moodle) [ROSTER=roster.csv]"; exit 2; }
	$(BIN)/python -m autograder.exports --root $(COURSE_ROOT) --lms "$(LMS)" $(if $(ROSTER),--roster "$(ROSTER)")

# The class report after `make grade`: autograder/class-report.html, one page with its figures inside.
report: $(DEV_READY)
	$(BIN)/python -m autograder.report --root $(COURSE_ROOT)

# Grades the corpus with stock nbgrader, then with `make grade`, and prints both times (about 7 min).
bench: $(DEV_READY) grade-packages
	$(BIN)/python tests/bench_grading.py $(BENCH_ARGS)

clean-env:
	rm -rf $(VENV)

# --- The classroom hub (autograder/hub/; docs/hub.md) ---
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
hub-env: $(DEV_READY)
else
hub-env: $(HUB_ENV)/.ready
# The course package is copied in (not linked to this folder, which other accounts may not reach).
$(HUB_ENV)/.ready: requirements.txt $(HUB)/requirements.txt pyproject.toml $(wildcard imbalanced_course/*.py autograder/*.py autograder/templates/*/*)
	@$(HUB_PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "The hub needs Python 3.11 or newer that every account can run: make HUB_PYTHON=/path/to/python3.11")'
	$(HUB_PYTHON) -m venv $(HUB_ENV)
	$(HUB_ENV)/bin/python -m pip install --quiet --upgrade pip
	$(HUB_ENV)/bin/python -m pip install --quiet -r $(HUB)/requirements.txt
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
hub: $(DEV_READY) hub-env hub-proxy
	$(BIN)/python $(HUB)/prepare.py --root $(HUB_ROOT) $(if $(filter 0,$(shell id -u)),--grader $(HUB_GRADER))
	IMBC_HUB_ROOT=$(HUB_ROOT) IMBC_HUB_GRADER=$(HUB_GRADER) IMBC_HUB_PORT=$(HUB_PORT) \
		$(BIN)/jupyterhub -f $(HUB)/jupyterhub_config.py
