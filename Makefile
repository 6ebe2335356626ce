# The workbook's two commands: `make report` builds the strategic assessment from the
# bundled data, `make test` runs the whole test suite.  Both create the virtual
# environment in .venv on first use (Python >= 3.11, no conda needed).

PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
PARAMS ?= parameters/2025.yaml
# How notebooks are stripped, by the git filter (.gitattributes) and `make strip-notebooks`:
# outputs, counts and run-time metadata go; cell ids and everything written by hand stay.
NBSTRIPOUT_ARGS := --keep-id --extra-keys metadata.language_info

.PHONY: report test lint check-layers strip-notebooks venv clean-venv refresh-golden help

help:
	@echo "make report          build the strategic assessment for $(PARAMS) into outputs/"
	@echo "make test            run the whole test suite (ruff, pytest, nbval)"
	@echo "make check-layers    check sa_lib's layers, import cycles and module sizes"
	@echo "make strip-notebooks remove outputs from notebooks/*.ipynb (the git filter does it on add)"
	@echo "make refresh-golden  re-execute the golden notebooks and expected tables (on purpose)"

$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "Python 3.11 or newer is needed")'
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	@# Strip notebook outputs on `git add` (see .gitattributes), when this is a git checkout.
	if git rev-parse --git-dir >/dev/null 2>&1; then \
	  git config filter.nbstripout.clean '"$(CURDIR)/$(BIN)/python" -m nbstripout $(NBSTRIPOUT_ARGS)' && \
	  git config filter.nbstripout.smudge cat && \
	  git config diff.ipynb.textconv '"$(CURDIR)/$(BIN)/python" -m nbstripout -t $(NBSTRIPOUT_ARGS)'; \
	fi
	@# ... and JupyterLab saves the series without outputs, so git status stays clean.
	mkdir -p $(VENV)/etc/jupyter
	echo '{"FileContentsManager": {"pre_save_hook": "sa_lib.run.lab.strip_outputs_on_save"}}' \
	  > $(VENV)/etc/jupyter/jupyter_server_config.json
	touch $(STAMP)

venv: $(STAMP)

report: $(STAMP)
	$(BIN)/sa run $(PARAMS)

test: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/python -m pytest

# Re-execute the golden notebooks (tests/golden) and rewrite the expected tables
# (tests/expected) from the bundled data.  Only when a change to the figures is
# intended; review `git diff tests/golden tests/expected` before committing.
refresh-golden: $(STAMP)
	$(BIN)/python tools/refresh_golden.py

check-layers: $(STAMP)
	$(BIN)/python -m pytest -q -p no:cacheprovider tests/test_layering.py

strip-notebooks: $(STAMP)
	$(BIN)/python -m nbstripout $(NBSTRIPOUT_ARGS) notebooks/*.ipynb

lint: $(STAMP)
	$(BIN)/ruff check .

clean-venv:
	rm -rf $(VENV)
