#!/usr/bin/env bash
# Tests scripts/slurm/*.sbatch on a single-node Slurm cluster on localhost: starts munged,
# slurmctld and slurmd with a throw-away configuration, submits the tiny scenario as a 3-task
# job array plus the merge job (afterok), and compares the merged result byte for byte with a
# single run. Needs root and Debian's slurm-wlm and munge:
#
#   apt-get install slurm-wlm munge
#   cargo build --release -p xfire-cli && scripts/slurm/test-local.sh
#
# Prints SKIPPED and exits 0 when slurmctld/slurmd/munged are not installed.
set -euo pipefail
cd "$(dirname "$0")/../.."
ROOT=$PWD
XFIRE="${XFIRE:-$ROOT/target/release/xfire}"
for b in slurmctld slurmd munged sbatch; do
    if ! command -v "$b" >/dev/null; then
        echo "SKIPPED: $b not found (apt-get install slurm-wlm munge)"
        exit 0
    fi
done
[ "$(id -u)" = 0 ] || { echo "SKIPPED: needs root to start slurmd"; exit 0; }
[ -x "$XFIRE" ] || { echo "build first: cargo build --release -p xfire-cli" >&2; exit 1; }

W=$(mktemp -d -t xfire-slurm.XXXXXX)
pids=()
cleanup() {
    for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
    for p in "${pids[@]}"; do
        while kill -0 "$p" 2>/dev/null; do sleep 0.2; done
    done
    rm -rf "$W"
}
trap cleanup EXIT

# munge
mkdir -p "$W/munge" && chmod 700 "$W/munge"
dd if=/dev/urandom of="$W/munge/munge.key" bs=1024 count=1 status=none
chmod 400 "$W/munge/munge.key"
munged --force --key-file="$W/munge/munge.key" --socket="$W/munge/sock" \
    --pid-file="$W/munge/pid" --log-file="$W/munge/log" --seed-file="$W/munge/seed"
pids+=("$(cat "$W/munge/pid")")

# slurm
HOST=$(hostname -s)
CPUS=$(nproc)
mkdir -p "$W/state" "$W/spool"
cat > "$W/slurm.conf" <<CONF
ClusterName=xfire-test
SlurmctldHost=$HOST
AuthType=auth/munge
AuthInfo=socket=$W/munge/sock
CredType=cred/munge
SlurmUser=root
SlurmdUser=root
StateSaveLocation=$W/state
SlurmdSpoolDir=$W/spool
SlurmctldPidFile=$W/slurmctld.pid
SlurmdPidFile=$W/slurmd.pid
SlurmctldLogFile=$W/slurmctld.log
SlurmdLogFile=$W/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SchedulerType=sched/backfill
SelectType=select/cons_tres
SelectTypeParameters=CR_CPU
ReturnToService=2
MpiDefault=none
NodeName=$HOST CPUs=$CPUS State=UNKNOWN
PartitionName=test Nodes=$HOST Default=YES MaxTime=INFINITE State=UP
CONF
export SLURM_CONF="$W/slurm.conf"
slurmctld -i
slurmd
sleep 3
pids+=("$(cat "$W/slurmctld.pid")" "$(cat "$W/slurmd.pid")")
sinfo

# the jobs
SC="$ROOT/phantoms/tiny-lu177.toml"
export XFIRE SCENARIO="$SC" OUTDIR="$W/run"
jid=$(sbatch --parsable --array=0-2 --cpus-per-task=1 --chdir="$W" \
    --export=ALL "$ROOT/scripts/slurm/array.sbatch")
mid=$(sbatch --parsable --dependency=afterok:"$jid" --chdir="$W" \
    --export=ALL "$ROOT/scripts/slurm/merge.sbatch")
echo "submitted array $jid and merge $mid"
for _ in $(seq 1 120); do
    [ -f "$W/run/result/summary.csv" ] && break
    sleep 1
done
squeue || true
cat "$W"/xfire-*.out 2>/dev/null || true

"$XFIRE" run "$SC" --out "$W/single" --no-cache --quiet >/dev/null
[ -f "$W/run/result/summary.csv" ] || { echo "the merge job did not finish in 120 s" >&2; exit 1; }
for f in results.h5 summary.json summary.csv; do
    cmp "$W/single/$f" "$W/run/result/$f"
done
echo "slurm test passed: 3-task array + merge = single run (results.h5, summary.json, summary.csv)"
