#!/usr/bin/env bash
# MPI test: builds xfire with `--features mpi`, runs the tiny scenario with 2 ranks and as a
# single process, and compares results.h5, summary.json and summary.csv byte for byte.
# Prints SKIPPED and exits 0 when mpirun/mpicc are not installed
# (apt-get install libopenmpi-dev openmpi-bin libclang-dev, or libmpich-dev mpich).
set -euo pipefail
cd "$(dirname "$0")/.."
if ! command -v mpirun >/dev/null || ! command -v mpicc >/dev/null; then
    echo "SKIPPED: MPI test (no mpirun/mpicc; apt-get install libopenmpi-dev openmpi-bin libclang-dev)"
    exit 0
fi
# the shared target dir: only xfire-cli is rebuilt with the feature (target/release/xfire is
# then the MPI build; the next cargo build/test rebuilds the default one)
export CARGO_TARGET_DIR="${MPI_TARGET_DIR:-target}"
cargo build --release -p xfire-cli --features mpi
X="$CARGO_TARGET_DIR/release/xfire"
W=$(mktemp -d)
trap 'rm -rf "$W"' EXIT
extra=()
if mpirun --version 2>&1 | grep -qi "open mpi"; then
    [ "$(id -u)" = 0 ] && extra+=(--allow-run-as-root)
    extra+=(--oversubscribe)
fi
SC=phantoms/tiny-lu177.toml
mpirun "${extra[@]}" -n 2 "$X" run "$SC" --out "$W/mpi" --no-cache --threads 1 --quiet >/dev/null
"$X" run "$SC" --out "$W/single" --no-cache --threads 1 --quiet >/dev/null
for f in results.h5 summary.json summary.csv; do
    cmp "$W/single/$f" "$W/mpi/$f"
done
[ ! -e "$W/mpi/mpi" ] || { echo "rank folders left behind" >&2; exit 1; }
echo "MPI test passed: 2 ranks = single process (results.h5, summary.json, summary.csv)"
