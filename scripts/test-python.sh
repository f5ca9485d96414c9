#!/usr/bin/env bash
# The Python package crates/xfire-py in a fresh virtual environment, as a user installs it:
# `pip install ./crates/xfire-py` (maturin builds the extension module in release mode, in
# cargo's target folder, so the release build of the rest of CI is reused), then pytest
# (crates/xfire-py/tests: the same bytes as the release `xfire` binary, errors, progress,
# Ctrl-C) and the example script examples/python/window.py (the README's main-job figure,
# small), and scripts/check_dicom.py (DICOM against pydicom). Needs python3 (>= 3.9) with
# venv, and network access to PyPI for maturin, numpy, pytest, h5py, matplotlib and pydicom
# (or a pip cache / index that has them).
#   XFIRE_PY_VENV   the virtual environment to (re)create (default: $CARGO_TARGET_DIR/python-venv)
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$PWD/target}"
venv="${XFIRE_PY_VENV:-$CARGO_TARGET_DIR/python-venv}"
rm -rf "$venv"
python3 -m venv "$venv"
start=$SECONDS
"$venv/bin/pip" install --quiet "./crates/xfire-py[test,examples]"
echo "test-python: pip install ./crates/xfire-py took $((SECONDS - start)) s"
cargo build --release --quiet -p xfire-cli
XFIRE_BIN="$CARGO_TARGET_DIR/release/xfire" "$venv/bin/python" -m pytest -q crates/xfire-py/tests
"$venv/bin/python" examples/python/window.py "$venv/window.png" --decays 2000
# DICOM against pydicom: the synthetic patient's SPECT/CT written by pydicom, `xfire dose`,
# its RT Dose read back (scripts/check_dicom.py, about 3 s)
"$venv/bin/pip" install --quiet pydicom
"$venv/bin/python" scripts/check_dicom.py --xfire "$CARGO_TARGET_DIR/release/xfire"
echo "test-python: ok ($((SECONDS - start)) s)"
