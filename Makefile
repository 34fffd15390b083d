# `make demo` and `make test` work on a fresh machine: they create .venv and install what they need.
PYTHON ?= python3
VENV := .venv
VPY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
export NO_ALBUMENTATIONS_UPDATE := 1

.PHONY: setup test demo bench clean

$(VPY):
	$(PYTHON) -m venv $(VENV)
	$(VPY) -m pip install --quiet --upgrade pip

# torch and torchvision are installed first, as a matching pair from the package index (a CPU-only torch wheel
# found elsewhere on the machine would not match PyPI's torchvision), then checked to import together.
$(STAMP): pyproject.toml | $(VPY)
	$(VPY) -m pip install --quiet "torch>=2.14" "torchvision>=0.29"
	$(VPY) -m pip install --quiet -e ".[dev]"
	$(VPY) -c "import torch, torchvision, torchvision.ops; torchvision.ops.nms; print('torch', torch.__version__, 'torchvision', torchvision.__version__)"
	touch $(STAMP)

setup: $(STAMP)

test: $(STAMP)
	$(VPY) -m pytest tests

demo: $(STAMP)
	$(VENV)/bin/emotifusion demo --output-dir runs/demo

bench: $(STAMP)
	$(VPY) -m bench --out bench/results.json

clean:
	rm -rf $(VENV) build dist *.egg-info
