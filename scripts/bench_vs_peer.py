#!/usr/bin/env python3
"""Side-by-side speed and agreement of xfire and ompMC (EGSnrc condensed history, PyPI `ompmc`).

Run through `scripts/bench-vs-peer`, which creates the virtual environment, builds xfire and
calls this file with the venv's python. Each case runs in both engines, alternating
(xfire, ompMC, xfire, ompMC, ...), `--rounds` times each; the table reports the median
transport-only decays/s of each engine (xfire: `decays_per_s` of `xfire kernel --json`,
the transport loop without set-up and file writing; ompMC: `decays_per_s_transport_only` of the
peer driver, its run time minus a timed warm-up run that carries the initialisation), their
ratio, and the agreement of the results: energy deposited per decay within voxelised spheres
(voxel centres within r) and the self-voxel dose. With `--threads 2` every run is repeated at 1
and 2 threads and the table adds the parallel efficiency rate(2)/(2·rate(1)); xfire's
kernel.csv from 1 and 2 threads is compared byte for byte.
"""
import argparse
import itertools
import json
import os
import platform
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
MEV_J = 1.602176634e-13

# name, description, xfire kernel args, peer driver args, voxel [cm], grid, decays (xfire, peer)
CASES = [
    dict(key="lu177e_point_50um", ch=["--lu177-electrons", "--source", "point"],
         what="177Lu β+IC+Auger, point, 81³ × 50 µm",
         xfire=["--nuclide", "Lu-177", "--emissions", "electrons", "--source", "point"],
         peer=["--source", "nuclide", "--nuclide", "Lu-177", "--emissions", "electrons",
               "--spread", "point"],
         voxel_cm=0.005, grid=81, decays=dict(csda=1_000_000, ch=30_000, peer=50_000),
         radii_cm=(0.005, 0.01, 0.02, 0.05, 0.1)),
    dict(key="lu177e_voxel_4.42mm", ch=["--lu177-electrons", "--source", "voxel"],
         what="177Lu β+IC+Auger, uniform in centre voxel, 15³ × 4.42 mm",
         xfire=["--nuclide", "Lu-177", "--emissions", "electrons", "--source", "voxel"],
         peer=["--source", "nuclide", "--nuclide", "Lu-177", "--emissions", "electrons",
               "--spread", "voxel"],
         voxel_cm=0.442, grid=15, decays=dict(csda=4_000_000, ch=100_000, peer=300_000),
         radii_cm=(0.442,)),
    dict(key="e500keV_point_50um", ch=["--electron-mev", "0.5", "--source", "point"],
         what="0.5 MeV e⁻, point, 81³ × 50 µm",
         xfire=["--particle", "electron", "--energy", "0.5MeV", "--source", "point"],
         peer=["--source", "mono-e", "--energy", "0.5", "--spread", "point"],
         voxel_cm=0.005, grid=81, decays=dict(csda=400_000, ch=5_000, peer=10_000),
         radii_cm=(0.005, 0.01, 0.02, 0.05, 0.1)),
]


def child_cpu_s():
    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime


def run_cmd(cmd, env=None, log=None):
    c0, t0 = child_cpu_s(), time.perf_counter()
    p = subprocess.run(cmd, env=env, capture_output=True, text=True)
    wall, cpu = time.perf_counter() - t0, child_cpu_s() - c0
    if log is not None:
        log.write_text(p.stdout + "\n--- stderr ---\n" + p.stderr)
    if p.returncode != 0:
        sys.exit(f"command failed ({p.returncode}): {' '.join(cmd)}\n{p.stderr[-2000:]}")
    return p.stdout, wall, cpu


def multiplicity(i, j, k):
    perms = len(set(itertools.permutations((i, j, k))))
    return perms * 2 ** sum(1 for x in (i, j, k) if x)


def xfire_metrics(out, voxel_cm, radii_cm):
    rows = np.genfromtxt(out / "kernel.csv", delimiter=",", names=True)
    r = voxel_cm * np.sqrt(rows["i"] ** 2 + rows["j"] ** 2 + rows["k"] ** 2)
    mult = np.array([multiplicity(int(a), int(b), int(c))
                     for a, b, c in zip(rows["i"], rows["j"], rows["k"])])
    e = rows["edep_mev_per_decay"] * mult
    self_row = (rows["i"] == 0) & (rows["j"] == 0) & (rows["k"] == 0)
    return {
        "within": {R: float(e[r <= R + 1e-9].sum()) for R in radii_cm},
        "self_gy": float(rows["dose_gy_per_decay"][self_row][0]),
        "deposited": float(e.sum()),
    }


def peer_metrics(out, voxel_cm, radii_cm):
    edep = np.load(out / "edep_per_decay.npy")
    n = edep.shape[0]
    idx = (np.arange(n) - n // 2) * voxel_cm
    X, Y, Z = np.meshgrid(idx, idx, idx, indexing="ij")
    r = np.sqrt(X ** 2 + Y ** 2 + Z ** 2)
    c = n // 2
    mass_kg = voxel_cm ** 3 * 1e-3
    return {
        "within": {R: float(edep[r <= R + 1e-9].sum()) for R in radii_cm},
        "self_gy": float(edep[c, c, c] * MEV_J / mass_kg),
        "deposited": float(edep.sum()),
    }


def run_xfire(args, case, threads, out, scale):
    nd = max(1, int(case["decays"]["csda"] * scale))
    cmd = [str(args.xfire), "kernel", *case["xfire"], "--voxel", f"{case['voxel_cm']}cm",
           "--grid", str(case["grid"]), "--decays", str(nd), "--threads", str(threads),
           "--seed", "12345", "--out", str(out), "--json", "--quiet", *args.xfire_args]
    stdout, wall, cpu = run_cmd(cmd, log=out.with_suffix(".log"))
    s = json.loads(stdout)
    return {"rate": s["decays_per_s"], "decays": s["decays"], "wall": wall, "cpu": cpu,
            "cpu_rate": s["decays"] / cpu, "model": s.get("electron_model"),
            "cmd": " ".join(cmd),
            **xfire_metrics(out, case["voxel_cm"], case["radii_cm"])}


def run_ch(args, case, threads, out, scale):
    nd = max(1, int(case["decays"]["ch"] * scale))
    out.mkdir(parents=True, exist_ok=True)
    cmd = [str(args.xfire_ch), "--model", "condensed", *case["ch"],
           "--voxel-cm", str(case["voxel_cm"]), "--grid", str(case["grid"]),
           "--decays", str(nd), "--threads", str(threads), "--seed", "12345",
           "--radii-cm", ",".join(str(r) for r in case["radii_cm"]), *args.ch_args]
    stdout, wall, cpu = run_cmd(cmd, log=out.with_suffix(".log"))
    s = json.loads(stdout)
    (out / "hash").write_text(s["voxel_sum_hash"])
    return {"rate": s["decays_per_s"], "decays": s["decays"], "wall": wall, "cpu": cpu,
            "cpu_rate": s["decays"] / cpu, "model": s["electron_model"],
            "cmd": " ".join(cmd),
            "within": {R: s["within_mev_per_decay"][str(R)] for R in case["radii_cm"]},
            "self_gy": s["centre_voxel_dose_gy_per_decay"],
            "deposited": s["deposited_in_voxels_mev_per_decay"]}


def run_peer(args, case, threads, out, scale):
    nd = max(100, int(case["decays"]["peer"] * scale))
    cmd = [sys.executable, str(args.peer), *case["peer"], "--voxel", str(case["voxel_cm"]),
           "--grid", str(case["grid"]), "--decays", str(nd), "--out", str(out)]
    env = dict(os.environ, OMP_NUM_THREADS=str(threads))
    _, wall, cpu = run_cmd(cmd, env=env, log=out.with_suffix(".log"))
    s = json.loads((out / "summary.json").read_text())
    rate = s["decays_per_s_transport_only"]
    if s["t_run_s"] - s["t_warmup_run_s"] < 0.5 * s["t_run_s"]:
        # run too short for the warm-up subtraction: fall back to the rate incl. init
        print(f"warning: ompMC run of {nd} decays too short to subtract its initialisation; "
              "use more decays (--scale)", file=sys.stderr)
        rate = s["decays_per_s_wall_incl_init"]
    return {"rate": rate, "decays": s["decays_covered"],
            "wall": wall, "cpu": cpu, "cpu_rate": s["decays_covered"] / cpu,
            "cmd": f"OMP_NUM_THREADS={threads} " + " ".join(cmd),
            **peer_metrics(out, case["voxel_cm"], case["radii_cm"])}


def loadavg():
    try:
        return os.getloadavg()[0]
    except OSError:
        return float("nan")


def machine():
    model = "?"
    try:
        for line in subprocess.run(["lscpu"], capture_output=True, text=True).stdout.splitlines():
            if line.startswith("Model name"):
                model = line.split(":", 1)[1].strip()
    except OSError:
        pass
    rustc = subprocess.run(["rustc", "--version"], capture_output=True, text=True).stdout.strip()
    mem = "?"
    try:
        kb = int(Path("/proc/meminfo").read_text().split()[1])
        mem = f"{kb / 2**20:.0f} GiB"
    except (OSError, ValueError, IndexError):
        pass
    commit = subprocess.run(["git", "-C", str(ROOT), "rev-parse", "--short", "HEAD"],
                            capture_output=True, text=True).stdout.strip()
    return (f"`lscpu` model name \"{model}\", `nproc` = {os.cpu_count()}, {mem} RAM, "
            f"{platform.platform()}, {rustc}, xfire commit {commit} (+ working tree), "
            f"ompmc {__import__('ompmc').__version__}")


def pct(a, b):
    return f"{100.0 * (a / b - 1.0):+.1f} %" if b else "n/a"


# "csda": the `xfire kernel` command (its electron model is whatever --xfire-args selects,
# CSDA straight line by default; the table names the model the run reported)
ENGINES = {"csda": ("xfire `kernel`", run_xfire),
           "ch": ("xfire condensed history", run_ch),
           "peer": ("ompMC", run_peer)}


def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--xfire", type=Path, default=ROOT / "target" / "release" / "xfire")
    ap.add_argument("--xfire-ch", type=Path,
                    default=ROOT / "target" / "release" / "xfire-bench-kernel")
    ap.add_argument("--peer", type=Path,
                    default=ROOT / "scripts" / "ompmc_driver.py")
    ap.add_argument("--threads", type=int, default=1, choices=[1, 2])
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--scale", type=float, default=1.0, help="multiplies every decay count")
    ap.add_argument("--cases", default=",".join(c["key"] for c in CASES))
    ap.add_argument("--engines", default="csda,ch,peer",
                    help="csda (xfire kernel), ch (xfire condensed history), peer (ompMC)")
    ap.add_argument("--work", type=Path,
                    default=Path(tempfile.gettempdir()) / "xfire-bench-vs-peer")
    ap.add_argument("--append", action="store_true", help="append the table to docs/perf.md")
    ap.add_argument("--xfire-args", default="", help="extra arguments for every xfire kernel run")
    ap.add_argument("--ch-args", default="",
                    help="extra arguments for every xfire-bench-kernel run (e.g. '--elastic long "
                         "--max-loss 0.25')")
    args = ap.parse_args()
    args.xfire_args = args.xfire_args.split()
    args.ch_args = args.ch_args.split()
    engines = args.engines.split(",")
    if "peer" in engines and not args.peer.is_file():
        sys.exit(f"peer driver not found: {args.peer} (give --peer PATH)")
    for e, b in (("csda", args.xfire), ("ch", args.xfire_ch)):
        if e in engines and not b.is_file():
            sys.exit(f"binary not found: {b} (cargo build --release -p xfire-cli -p xfire-bench)")
    args.work.mkdir(parents=True, exist_ok=True)
    thread_counts = [1] if args.threads == 1 else [1, 2]
    wanted = args.cases.split(",")
    cases = [c for c in CASES if c["key"] in wanted]
    load0, t_start = loadavg(), time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
    res = {}
    for case in cases:
        for th in thread_counts:
            for rnd in range(args.rounds):
                tag = f"{case['key']}_t{th}_r{rnd}"
                for eng in engines:
                    out = args.work / f"{eng}_{tag}"
                    r = ENGINES[eng][1](args, case, th, out, args.scale)
                    res.setdefault((case["key"], th, eng), []).append(r)
                    print(f"{tag:32s} {eng:5s} {r['rate']:12.0f} decays/s "
                          f"(wall {r['wall']:.1f} s, load {loadavg():.1f})", flush=True)
        if args.threads == 2:
            ident = {}
            for eng, f in (("csda", "kernel.csv"), ("ch", "hash")):
                if eng in engines:
                    a = (args.work / f"{eng}_{case['key']}_t1_r0" / f).read_bytes()
                    b = (args.work / f"{eng}_{case['key']}_t2_r0" / f).read_bytes()
                    ident[eng] = a == b
            case["identical"] = ident
    load1 = loadavg()

    med = statistics.median
    lines = [f"Run {t_start}, `scripts/bench-vs-peer --threads {args.threads} --rounds "
             f"{args.rounds} --scale {args.scale:g}"
             + (f" --xfire-args '{' '.join(args.xfire_args)}'" if args.xfire_args else "")
             + (f" --ch-args '{' '.join(args.ch_args)}'" if args.ch_args else "")
             + f"`. Machine: {machine()}. Load average (1 min) {load0:.1f} at the start, "
             f"{load1:.1f} at the end.", ""]
    lines.append("| case | engine | threads | decays/s | × ompMC | decays per CPU-s (whole "
                 "process) | energy within r [MeV/decay] (vs ompMC) | self-voxel dose "
                 "[Gy/decay] (vs ompMC) |")
    lines.append("|---|---|---|---|---|---|---|---|")
    for case in cases:
        for th in thread_counts:
            peer = res.get((case["key"], th, "peer"))
            pr = med(r["rate"] for r in peer) if peer else None
            for eng in engines:
                rs = res[(case["key"], th, eng)]
                rate, cpu_rate, x = med(r["rate"] for r in rs), med(r["cpu_rate"] for r in rs), rs[0]
                p = peer[0] if peer else None
                within = "; ".join(
                    f"{R * 10:g} mm: {x['within'][R]:.4g}"
                    + (f" ({pct(x['within'][R], p['within'][R])})" if p and eng != "peer" else "")
                    for R in case["radii_cm"])
                within += f"; box: {x['deposited']:.4g}"
                selfd = f"{x['self_gy']:.4e}" + (
                    f" ({pct(x['self_gy'], p['self_gy'])})" if p and eng != "peer" else "")
                ratio = f"**{rate / pr:.2g}×**" if pr and eng != "peer" else "1"
                name = f"xfire `kernel` ({x['model']})" if eng == "csda" else ENGINES[eng][0]
                lines.append(f"| {case['what']} | {name} | {th} | {rate:,.0f} | "
                             f"{ratio} | {cpu_rate:,.0f} | {within} | {selfd} |")
    if args.threads == 2:
        lines += ["", "| case | engine | decays/s 1 → 2 threads | parallel efficiency | "
                  "results identical (1 vs 2 threads) |", "|---|---|---|---|---|"]
        for case in cases:
            for eng in engines:
                r1 = med(r["rate"] for r in res[(case["key"], 1, eng)])
                r2 = med(r["rate"] for r in res[(case["key"], 2, eng)])
                ident = case["identical"].get(eng)
                ident = {True: "yes (bytes)", False: "NO", None: "yes (ompMC: Philox per "
                         "history, not rechecked here)"}[ident]
                lines.append(f"| {case['what']} | {ENGINES[eng][0]} | {r1:,.0f} → {r2:,.0f} | "
                             f"{r2 / (2 * r1):.0%} | {ident} |")
    lines.append("")
    lines.append("Decays per run: " + "; ".join(
        f"{c['what']}: " + ", ".join(f"{ENGINES[e][0]} {res[(c['key'], 1, e)][0]['decays']:,}"
                                     for e in engines) for c in cases)
        + f". Rates are medians of {args.rounds} alternating runs (engines in the order "
        f"{', '.join(engines)}, repeated); every command and its output in the run's "
        "`--work` folder (`*.log`).")
    text = "\n".join(lines) + "\n"
    print()
    print(text)
    (args.work / f"table_t{args.threads}.md").write_text(text)
    if args.append:
        with open(ROOT / "docs" / "perf.md", "a") as f:
            f.write("\n" + text)


if __name__ == "__main__":
    main()
