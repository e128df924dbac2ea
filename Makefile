# One entry point for students, instructors and CI. Every target creates the environment first
# if it is missing, so a fresh clone needs nothing but Python 3.11+.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
READY := $(VENV)/.ready
# nbgrader runs helpers (alembic, the kernel) by name: the environment's bin comes first.
export PATH := $(CURDIR)/$(BIN):$(PATH)
START_PAGE := notebooks/00_start_here/00_start_here.ipynb

# `make notebooks COURSE_ROOT=/elsewhere` builds into a copy of the course (the drift test does).
COURSE_ROOT ?= $(CURDIR)
NBGRADER := $(BIN)/nbgrader
NBGRADER_ARGS := --CourseDirectory.root=$(COURSE_ROOT) \
	--CourseDirectory.db_url=sqlite:///$(COURSE_ROOT)/autograder/gradebook.db
ASSIGNMENTS := $(sort $(notdir $(patsubst %/,%,$(dir $(wildcard $(COURSE_ROOT)/source/*/*.ipynb)))))

.PHONY: env lab test notebooks grade clean-env

env: $(READY)

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

test: $(READY)
	$(BIN)/python -m pytest

# Student versions into notebooks/, executed reference versions into solutions/, both from source/.
notebooks: $(READY)
	rm -rf $(COURSE_ROOT)/notebooks $(COURSE_ROOT)/solutions
	set -e; for a in $(ASSIGNMENTS); do \
		$(NBGRADER) generate_assignment $$a --force --log-level=WARN $(NBGRADER_ARGS); \
		$(NBGRADER) generate_solution $$a --force --log-level=WARN $(NBGRADER_ARGS); \
	done

grade: $(READY)
	$(BIN)/python -m autograder.grade --root $(COURSE_ROOT)

clean-env:
	rm -rf $(VENV)
