# fleetpatch.esxi -- the README's two commands are `make demo` and `make test`.
# Everything else is installed by this file: Debian packages with apt-get, Python packages into .venv.
SHELL := /bin/bash
.DEFAULT_GOAL := help
ROOT := $(CURDIR)
VENV := $(ROOT)/.venv
PY := $(VENV)/bin/python
PYTHON ?= python3
COLL_LINK := $(ROOT)/.collections/ansible_collections/fleetpatch/esxi
APT_PACKAGES := golang-go golang-github-vmware-govmomi-dev golang-github-google-uuid-dev chromium fonts-dejavu-core
GOENV := GOPATH=/usr/share/gocode GO111MODULE=off GOPROXY=off GOFLAGS= GOCACHE=$(ROOT)/.cache/go
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
export ANSIBLE_CONFIG := $(ROOT)/ansible.cfg
export ANSIBLE_LOCAL_TEMP := $(ROOT)/.cache/ansible/tmp
export ANSIBLE_REMOTE_TEMP := $(ROOT)/.cache/ansible/remote_tmp
export ANSIBLE_HOME := $(ROOT)/.cache/ansible/home

.PHONY: help demo test venv deps sim unit typecheck gotest sanity lint bench clean matrix release-check docsite molecule

help:
	@echo "make demo   - install what is needed, then run the main job end to end on simulated hosts"
	@echo "make test   - install what is needed, then run every test, ansible-test sanity and ansible-lint"
	@echo "make unit   - the fast loop: unit tests only (tests/unit, 2 workers, under a minute)"
	@echo "make molecule - the molecule scenario of each role (slow; make test runs the roles through playbooks)"
	@echo "make matrix - sanity + units on every supported ansible-core (tools/matrix.py, results into README)"
	@echo "make release-check - build the tarball, galaxy-importer, install it in a fresh venv, run it"
	@echo "make venv | sim | typecheck | gotest | sanity | lint | bench | clean"

# ---- installation ---------------------------------------------------------------------------
deps: .cache/apt.stamp
.cache/apt.stamp:
	@mkdir -p .cache
	@missing=""; for p in $(APT_PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
	  echo "apt-get install:$$missing"; \
	  $(SUDO) apt-get update -qq && DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq --no-install-recommends $$missing; \
	fi
	@touch $@

venv: $(VENV)/.stamp $(COLL_LINK)
$(VENV)/.stamp: requirements.txt requirements-dev.txt
	@[ -x $(PY) ] || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -r requirements-dev.txt
	@touch $@

$(COLL_LINK):
	@mkdir -p $(dir $(COLL_LINK))
	@ln -sfn ../../.. $(COLL_LINK)

sim: deps .bin/esxisim
.bin/esxisim: $(wildcard sim/*.go)
	@mkdir -p .bin .cache/go
	$(GOENV) go build -o .bin/esxisim ./sim

# ---- checks ---------------------------------------------------------------------------------
unit: venv
	$(PY) -m pytest -q -n 2 tests/unit

molecule: venv sim
	$(PY) -m pytest -q -n 2 -m molecule

typecheck: venv
	$(PY) -m mypy -p ansible_collections.fleetpatch.esxi.plugins.module_utils

gotest: deps
	@mkdir -p .cache/go
	$(GOENV) go test ./sim

sanity: venv
	$(PY) tools/sanity.py

lint: venv
	$(PY) tools/lint.py

# sanity + units on every ansible-core that meta/runtime.yml admits (make test runs the oldest and newest)
matrix: venv
	$(PY) tools/matrix.py --readme

# the release as a user gets it: tarball, galaxy-importer, fresh venv, ansible-doc, playbooks by FQCN
release-check: venv sim
	$(PY) tools/release_check.py

docsite: venv
	$(PY) tools/docsite.py

# The unit tests (tests/unit) run under ansible-test units on the oldest and the newest ansible-core (the matrix
# ends), not a third time under pytest here; the matrix ends run next to the pytest suite, whose simulator tests
# spend much of their time waiting, so the two cores are used instead of one after the other.
test: venv sim
	@mkdir -p .cache
	@$(PY) tools/matrix.py --ends > .cache/matrix-ends.log 2>&1 & matrix=$$!; \
	$(PY) -m pytest -q -n 2 -m "not molecule" --ignore=tests/unit; suite=$$?; \
	wait $$matrix; ends=$$?; cat .cache/matrix-ends.log; \
	echo "make test: pytest (integration, simulator, tooling) rc=$$suite, matrix ends (sanity + units) rc=$$ends"; \
	[ $$suite -eq 0 ] && [ $$ends -eq 0 ]
	$(MAKE) --no-print-directory typecheck gotest
	$(PY) tools/lint.py
	$(PY) tools/release_check.py --quick

bench: venv sim
	$(PY) bench/run.py --out bench/results.json

demo: venv sim
	$(PY) tools/demo.py

clean:
	rm -rf .bin .cache .collections tests/output bench/results.json
