# Two entry points for a new user (see README): `make run` and `make test`.
PYTHON ?= python3
VENV   ?= .venv
PY      = $(VENV)/bin/python
# A CUDA torch already in the venv is kept; otherwise the CPU build from local disk / PyPI.
TORCH_SPEC ?= torch==2.13.0

.PHONY: run test test-fast faults fuzz install install-dev lint bench clean package

run: install
	@bash packaging/linux_system_deps.sh
	$(VENV)/bin/melodex-studio

test: install-dev
	QT_QPA_PLATFORM=offscreen $(PY) -m pytest -q --durations=25
	$(VENV)/bin/lint-imports

faults: install-dev
	QT_QPA_PLATFORM=offscreen MELODEX_FAULT_TRIES=20 $(PY) -m pytest -q tests/test_faults.py

# 2,000 mutations each of a real project, real MIDI files and the model checkpoints (tests/fuzz; numbers in tests/README.md)
FUZZ_EXAMPLES ?= 2000
fuzz: install-dev
	mkdir -p build && rm -f build/fuzz-report.jsonl
	QT_QPA_PLATFORM=offscreen MELODEX_FUZZ_EXAMPLES=$(FUZZ_EXAMPLES) MELODEX_FUZZ_MAX_SECONDS=5 MELODEX_FUZZ_REPORT=build/fuzz-report.jsonl \
		$(PY) -m pytest -q -s -p no:cacheprovider tests/fuzz -k "mutated"

test-fast: install-dev
	QT_QPA_PLATFORM=offscreen $(PY) -m pytest -q -m "not slow"
	$(VENV)/bin/lint-imports

install: $(VENV)/.installed

install-dev: $(VENV)/.installed-dev

# constraints.txt: the exact versions the tests ran with (packaging/make_constraints.py); torch is TORCH_SPEC.
# tinysoundfont with --no-deps: its PyAudio requirement has no Linux wheel and is unused (packaging/README.md);
# a plain `pip install .` works without it (the CLI then renders with the diffusion renderer).
$(VENV)/.installed: pyproject.toml constraints.txt
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -c "import torch" 2>/dev/null || $(PY) -m pip install -q "$(TORCH_SPEC)"
	$(PY) -m pip install -q -c constraints.txt -e .
	$(PY) -m pip install -q -c constraints.txt --no-deps "tinysoundfont>=0.3.7"
	touch $@

$(VENV)/.installed-dev: $(VENV)/.installed
	$(PY) -m pip install -q -c constraints.txt -e ".[dev]"
	touch $@

lint: install-dev
	$(VENV)/bin/lint-imports

bench: install
	$(PY) benchmarks/run_all.py

# The Linux desktop bundle: dist/Melodex Studio/ (PyInstaller one-dir, packaging/melodex.spec), its tarball, a
# self-extracting single file (.run), and its test from another folder with a minimal environment (packaging/README.md).
VERSION = $(shell sed -n 's/^version = "\(.*\)"/\1/p' pyproject.toml)
package: install
	$(PY) -m pip install -q -c constraints.txt "pyinstaller>=6.10"
	rm -rf "dist/Melodex Studio"
	$(VENV)/bin/pyinstaller --noconfirm --log-level WARN --distpath dist --workpath build/pyinstaller packaging/melodex.spec
	ln -sf melodex-studio "dist/Melodex Studio/melodex"
	install -m 755 packaging/install_desktop.sh "dist/Melodex Studio/install-desktop-entry.sh"
	tar -C dist -czf dist/melodex-studio-$(VERSION)-linux-x86_64.tar.gz "Melodex Studio"
	sed 's/@VERSION@/$(VERSION)/' packaging/selfextract.sh | cat - dist/melodex-studio-$(VERSION)-linux-x86_64.tar.gz \
		> dist/melodex-studio-$(VERSION)-linux-x86_64.run && chmod +x dist/melodex-studio-$(VERSION)-linux-x86_64.run
	bash packaging/test_bundle.sh "dist/Melodex Studio"

clean:
	rm -rf $(VENV) build *.egg-info
