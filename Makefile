# Set-up from nothing on Debian 12 (as root, or with sudo), then the two entry points:
#   make run   verify everything, write build/actly.img, boot it on QEMU with 4 cores
#   make test  the whole test suite
# Both install only what is missing, so a second run is quick.

VENV := .venv
PYTHON ?= python3
APT_PACKAGES := binutils-aarch64-linux-gnu qemu-system-arm python3-venv graphviz
CROSS_COMPILE ?= aarch64-linux-gnu-
export CROSS_COMPILE
TOOLS := $(CROSS_COMPILE)as $(CROSS_COMPILE)ld $(CROSS_COMPILE)objcopy qemu-system-aarch64 dot
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
STAMP := $(VENV)/.installed

.PHONY: run test setup tools clean

run: setup
	$(VENV)/bin/verify all
	$(VENV)/bin/verify boot --cores 4

test: setup
	$(VENV)/bin/pytest -q -n 2 --dist worksteal

setup: tools $(STAMP)

tools:
	@missing=""; for t in $(TOOLS); do command -v $$t >/dev/null || missing="$$missing $$t"; done; \
	$(PYTHON) -c 'import ensurepip, venv' 2>/dev/null || missing="$$missing python3-venv"; \
	if [ -n "$$missing" ] && ! command -v apt-get >/dev/null; then \
		echo "missing:$$missing. Without apt-get, install them yourself (see README.md)"; exit 1; \
	fi; \
	if [ -n "$$missing" ]; then \
		echo "installing$$missing (Debian: $(APT_PACKAGES))"; \
		$(SUDO) apt-get update -qq && \
		DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq $(APT_PACKAGES) >/dev/null; \
	fi

$(STAMP): pyproject.toml
	@command -v $(PYTHON) >/dev/null || { echo "$(PYTHON) not found: install Debian's python3 and python3-venv"; exit 1; }
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install -q --upgrade pip
	$(VENV)/bin/pip install -q -e .
	touch $@

clean:
	rm -rf build
	find reports -type f ! -name README.md -delete
