#!/usr/bin/env bash
# Coverage-guided fuzzing of xfire's readers with libFuzzer on STABLE Rust (fuzz/README.md).
#
#   fuzz/run.sh [TARGET...]        default: every harness of fuzz/src/lib.rs
#   FUZZ_SECONDS=60  per target (default 60), or FUZZ_RUNS=1000000 executions per target
#   FUZZ_SEED=1      libFuzzer's seed: with FUZZ_RUNS, a repeatable run (what CI does)
#
# Builds the fuzz targets with SanitizerCoverage instrumentation (the flags cargo-fuzz passes,
# minus the nightly-only -Zsanitizer), then runs each one on a scratch copy of its seed
# corpus. Crashes, timeouts and heap-bound violations land in fuzz/artifacts/TARGET/ and the
# script exits non-zero. New corpus entries stay in the scratch folder (printed).
set -euo pipefail
cd "$(dirname "$0")/.."
all=(scenario phantom_spec materials import_table h5_phantom metaimage nifti dicom part_file tally_cache shard_manifest)
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=("${all[@]}")
host=$(rustc -vV | sed -n 's/^host: //p')
tdir="${CARGO_TARGET_DIR:-target}/fuzz-engine"
# --target makes RUSTFLAGS skip build scripts and proc macros, as cargo-fuzz does
RUSTFLAGS="--cfg fuzzing -Cpasses=sancov-module -Cllvm-args=-sanitizer-coverage-level=4 \
-Cllvm-args=-sanitizer-coverage-inline-8bit-counters -Cllvm-args=-sanitizer-coverage-pc-table \
-Cllvm-args=-sanitizer-coverage-trace-compares -Cdebug-assertions -Coverflow-checks" \
  cargo build --release -p xfire-fuzz --features engine --bins --target "$host" --target-dir "$tdir"
work="${FUZZ_WORK:-$(mktemp -d)}"
limit=(-max_total_time="${FUZZ_SECONDS:-60}")
[ -z "${FUZZ_RUNS:-}" ] || limit=(-runs="$FUZZ_RUNS")
[ -z "${FUZZ_SEED:-}" ] || limit+=(-seed="$FUZZ_SEED")
status=0
for t in "${targets[@]}"; do
  mkdir -p "$work/$t" "fuzz/artifacts/$t"
  echo "== fuzz $t"
  log="$work/$t.log"
  rc=0
  start=$SECONDS
  scratch=$(mktemp -d -p "$([ -d /dev/shm ] && echo /dev/shm || echo "${TMPDIR:-/tmp}")")
  XFIRE_FUZZ_SCRATCH="$scratch" "$tdir/$host/release/$t" "$work/$t" "fuzz/corpus/$t" "${limit[@]}" -timeout=5 \
    -rss_limit_mb=2048 -print_final_stats=1 -artifact_prefix="fuzz/artifacts/$t/" \
    >"$log" 2>&1 || rc=$?
  rm -rf "$scratch"
  echo "time: $((SECONDS - start)) s"
  grep -E "^#[0-9]+[[:space:]]+(INITED|DONE)|^stat::(number_of_executed_units|average_exec_per_sec|peak_rss_mb)|==[0-9]+==|panicked|exceeded|SUMMARY|Test unit written" "$log" || true
  [ $rc -eq 0 ] || { echo "!! $t: crash (see fuzz/artifacts/$t/ and $log)"; status=1; }
done
echo "new corpus entries: $work"
exit $status
