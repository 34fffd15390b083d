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

# The CUDA build of torch makes .venv about 7 GB; checking free space first turns a disk-full failure halfway
# through pip into one clear line. Wheels are not cached, which keeps the peak near the installed size.
MIN_FREE_GB ?= 8

# torch and torchvision are installed first, as a matching pair from the package index (a CPU-only torch wheel
# found elsewhere on the machine would not match PyPI's torchvision), then checked to import together.
$(STAMP): pyproject.toml | $(VPY)
	@$(VPY) -c "import shutil, sys; free = shutil.disk_usage('$(VENV)').free / 2**30; \
	sys.exit(0 if free >= $(MIN_FREE_GB) else f'setup needs about $(MIN_FREE_GB) GB free for $(VENV) (torch with its CUDA libraries), found {free:.1f} GB; free some disk or set MIN_FREE_GB')"
	$(VPY) -m pip install --quiet --no-cache-dir "torch>=2.14" "torchvision>=0.29"
	$(VPY) -m pip install --quiet --no-cache-dir -e ".[dev]"
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
