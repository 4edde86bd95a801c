# The two commands a newcomer needs: `make run` and `make test` (see README.md).
SHELL := /bin/bash
# Prefer the system interpreter: single-user servers run as other OS accounts,
# which cannot read a Python installed under /root (pyenv).
PYTHON ?= $(shell if [ -x /usr/bin/python3 ]; then echo /usr/bin/python3; else command -v python3; fi)
VENV := .venv
PY := $(VENV)/bin/python
HASH := $(shell cat pyproject.toml | md5sum | cut -c1-12)
# What `make run` needs (the platform at run time) and what `make test` needs on top (the test
# tools: pytest, Playwright, etcd, syft, …): two stamps, so a person who only runs the platform
# never downloads the test tools.
RUN_STAMP := $(VENV)/.installed-run-$(HASH)
TEST_STAMP := $(VENV)/.installed-test-$(HASH)

$(PY):
	$(PYTHON) -m venv $(VENV) || { echo "Creating the venv failed: install python3-venv (apt-get install python3-venv)"; exit 1; }
	$(PY) -m pip install --quiet --upgrade pip

$(RUN_STAMP): pyproject.toml | $(PY)
	$(PY) -m pip install --quiet -e .
	@# rfc3987-syntax adds ~2.8 s to every Jupyter server start (jupyter_server#1559); nothing needs it.
	$(PY) -m pip uninstall --quiet -y rfc3987-syntax
	rm -f $(VENV)/.installed-run-* && touch $@

$(TEST_STAMP): pyproject.toml client/pyproject.toml | $(PY)
	@# The client (./client, its own distribution) is tested against the platform: installed with the test tools.
	$(PY) -m pip install --quiet -e '.[test]' -e ./client
	$(PY) -m pip uninstall --quiet -y rfc3987-syntax
	@# The test install holds everything the run install does.
	rm -f $(VENV)/.installed-* && touch $@ $(RUN_STAMP)

install: $(RUN_STAMP)

install-test: $(TEST_STAMP)

# As root: apt-get the image registry and container tools when missing; otherwise one line on what is missing.
runtime-deps:
	@bash scripts/runtime-deps.sh

run: install runtime-deps
	$(PY) manage.py migrate --no-input -v 0
	$(PY) manage.py ensure_admin
	$(PY) manage.py platform_run

test: install-test
	@# helm, kwok, kube-apiserver, kube-scheduler and kube-controller-manager for tests/kube: built once (minutes), then cached.
	bash scripts/kube-tools.sh >/dev/null
	@# kubelet, kube-proxy, CoreDNS, crictl and local-path-provisioner for tests/kube/realnode: a real node (Debian's containerd and runc).
	bash scripts/kube-node.sh >/dev/null
	DSW_REAL_NODE=1 bash scripts/test.sh $(ARGS)

# The Helm chart on a real node from the real images (tests/kube/realnode/test_chart_real_node.py): the chart's three
# images are built first with docker/build.sh (scripts/kube-images.sh: minutes cold, seconds when their inputs did not
# change). CI runs it after `make test` (.ci/run).
test-kube: install-test
	bash scripts/kube-tools.sh >/dev/null
	bash scripts/kube-node.sh >/dev/null
	bash scripts/kube-images.sh >/dev/null
	DSW_REAL_NODE=1 DSW_KUBE_IMAGES=1 bash scripts/test.sh tests/kube/realnode -n0 $(ARGS)

# The curated image set (images/definitions/: minimal, scipy, pytorch; IMAGES="pytorch-cuda" for the GPU one) built
# into the platform's registry with their SBOMs, to approve in the catalog. Needs `make run` running in another shell.
images: install runtime-deps
	$(PY) manage.py images_build $(IMAGES)

# The curated images built for real (about 11 minutes cold; downloads Debian and PyPI packages): not in `make test`.
test-images: install-test
	DSW_TEST_CURATED_IMAGES=1 bash scripts/test.sh tests/images/test_curated_build.py -n0 $(ARGS)

services: install
	bash scripts/services.sh start

services-stop:
	bash scripts/services.sh stop

lint-imports: install-test
	$(VENV)/bin/lint-imports

schema: install
	mkdir -p docs/api
	$(PY) manage.py spectacular --validate --file docs/api/openapi.yaml
