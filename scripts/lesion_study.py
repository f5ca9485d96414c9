#!/usr/bin/env python3
"""The lesion study of issue 14: the seven nuclides on the TIL tissue, spheroid alone vs nested.

Runs `xfire compare --normalise activity` (the scenario's regimen: 6 x 7.4 GBq, uptake 0.7 %
per 10 g, so every lesion gets the same activity per gram) on five geometries:

  spheroid   phantoms/til-spheroid-lu177.toml as shipped (300 um spheroid, water margin, vacuum)
  1mm        til-tissue at the centre of a 1 mm-radius lesion (0.25 mm voxels, 1 cm body)
  3mm        ... of a 3 mm-radius lesion (0.5 mm voxels, 1.5 cm body)
  1cm        ... of a 1 cm-radius lesion (1 mm voxels, 3 cm body): phantoms/til-lesion-lu177.toml
  1cm-rim    ... of the 1 cm lesion, 0.5 mm below its surface

and writes, into OUT (default out/lesion-study):
  <case>/                 each comparison's output folder (comparison.json, report.html, ...)
  lesion_study.csv        one row per nuclide and case: doses per GBq, ratio, survival, window
  lesion_study.md         the same as a Markdown table (what docs/lesion-study.md shows)
  lesion_study.png/.svg   the figure (needs matplotlib; see below)

Usage:
  scripts/lesion_study.py [--decays N] [--out DIR] [--xfire PATH] [--cases a,b] [--plot-only]

--decays is per part (per stratum for a lesion); the cost on 2 cores is ~5 min per nested
case at 2e4. A case whose comparison.json exists is not run again (delete its folder to
rerun). The figure needs matplotlib: without it the script says how to get it (e.g. the venv
of scripts/test-python.sh, `$CARGO_TARGET_DIR/python-venv/bin/python scripts/lesion_study.py`).
"""
import argparse
import csv
import json
import os
import re
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

# case -> (label, lesion table overrides or None for the spheroid)
CASES = {
    "spheroid": ("spheroid alone", None),
    "1mm": ("1 mm lesion, centre",
            {"radius": "1 mm", "voxel": "0.25 mm", "body_radius": "1 cm", "position": "centre"}),
    "3mm": ("3 mm lesion, centre",
            {"radius": "3 mm", "voxel": "0.5 mm", "body_radius": "1.5 cm", "position": "centre"}),
    "1cm": ("1 cm lesion, centre",
            {"radius": "1 cm", "voxel": "1 mm", "body_radius": "3 cm", "position": "centre"}),
    "1cm-rim": ("1 cm lesion, 0.5 mm below the surface",
                {"radius": "1 cm", "voxel": "1 mm", "body_radius": "3 cm", "position": "0.5 mm"}),
}
NUCLIDES = "Lu-177,Tb-161,Ac-225,Bi-213,At-211,Pb-212,Ra-223"


def fail(msg):
    print(f"lesion_study: {msg}", file=sys.stderr)
    sys.exit(2)


def scenario_text(overrides):
    """The shipped nested scenario with the [phantom.lesion] keys replaced."""
    path = os.path.join(ROOT, "phantoms", "til-lesion-lu177.toml")
    text = open(path, encoding="utf-8").read()
    tissue = os.path.join(ROOT, "phantoms", "til-tissue.toml")
    text = text.replace('generate = "til-tissue.toml"', f"generate = {json.dumps(tissue)}")
    for key, value in overrides.items():
        text, n = re.subn(rf'(?m)^{key} = ".*"$', f'{key} = "{value}"', text, count=1)
        if n != 1:
            fail(f"key {key} not found in {path}")
    return text


def run_case(case, args):
    folder = os.path.join(args.out, case)
    result = os.path.join(folder, "comparison.json")
    if os.path.exists(result):
        return json.load(open(result, encoding="utf-8"))
    overrides = CASES[case][1]
    if overrides is None:
        scenario = os.path.join(ROOT, "phantoms", "til-spheroid-lu177.toml")
    else:
        scenario = os.path.join(args.out, f"{case}.toml")
        with open(scenario, "w", encoding="utf-8") as f:
            f.write(scenario_text(overrides))
    cmd = [args.xfire, "compare", scenario, "--nuclides", NUCLIDES, "--normalise", "activity",
           "--decays", str(args.decays), "--out", folder, "-q"]
    print(f"[{case}] {' '.join(cmd)}", flush=True)
    t0 = time.time()
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL)
    print(f"[{case}] {time.time() - t0:.0f} s", flush=True)
    return json.load(open(result, encoding="utf-8"))


def survival_text(est):
    if not est:
        return ""
    v = est["value"]
    flag = " !" if est.get("too_wide") else ""
    hi = est["interval"][1]
    if hi < 0.01:
        return f"< 0.01{flag}"
    return f"{v:.3g} [{est['interval'][0]:.2g}, {hi:.2g}]{flag}"


def rows_of(case, comp):
    out = []
    for r in comp["rows"]:
        gbq = r["activity_per_administration_bq"] * r["administrations"] / 1e9
        resident = next(l for l in r["lymphocytes"] if l["model"] == "resident")
        p95 = r.get("cell_rel_unc_p95") or [None, None]
        out.append({
            "case": case,
            "geometry": CASES[case][0],
            "nuclide": r["nuclide"],
            "administered_gbq": gbq,
            "tumour_gy_per_gbq": r["tumour_gy"] / gbq,
            "tumour_rel_unc": r["tumour_rel_unc"],
            "lymphocyte_gy_per_gbq": resident["mean_gy"] / gbq,
            "ratio": r["tumour_to_lymphocyte"][0],
            "ratio_rbe": r["tumour_to_lymphocyte"][1],
            "resident_survival": survival_text(resident.get("survival")),
            "cell_u95_tumour": p95[0],
            "cell_u95_lymphocytes": p95[1],
            "window_day": r.get("window_day"),
            "window_survival": survival_text(r.get("window_survival_estimate")),
        })
    return out


def write_tables(rows, out):
    keys = list(rows[0].keys())
    with open(os.path.join(out, "lesion_study.csv"), "w", newline="", encoding="utf-8") as f:
        w = csv.DictWriter(f, fieldnames=keys)
        w.writeheader()
        w.writerows(rows)
    lines = ["| nuclide | geometry | tumour cells (Gy/GBq, ±1σ) | resident lymphocytes (Gy/GBq) "
             "| ratio (absorbed / RBE-weighted) | resident survival [95 %] | cell u95 (tumour / lymph.) "
             "| window opens (day) |", "|---|---|---|---|---|---|---|---|"]
    for nuc in dict.fromkeys(r["nuclide"] for r in rows):
        for r in (r for r in rows if r["nuclide"] == nuc):
            u = lambda x: "" if x is None else f"{100 * x:.0f} %"
            day = "none" if r["window_day"] is None else f"{r['window_day']:g}"
            lines.append(
                f"| {nuc} | {r['geometry']} | {r['tumour_gy_per_gbq']:.3g} (± {100 * r['tumour_rel_unc']:.1f} %) "
                f"| {r['lymphocyte_gy_per_gbq']:.3g} | {r['ratio']:.2f} / {r['ratio_rbe']:.2f} "
                f"| {r['resident_survival']} | {u(r['cell_u95_tumour'])} / {u(r['cell_u95_lymphocytes'])} "
                f"| {day} |")
    with open(os.path.join(out, "lesion_study.md"), "w", encoding="utf-8") as f:
        f.write("\n".join(lines) + "\n")


def plot(rows, out):
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        print("lesion_study: no matplotlib, no figure (pip install matplotlib, or run with the "
              "venv of scripts/test-python.sh)", file=sys.stderr)
        return
    nucs = list(dict.fromkeys(r["nuclide"] for r in rows))
    cases = [c for c in CASES if any(r["case"] == c for r in rows)]
    fig, axes = plt.subplots(1, 3, figsize=(15, 4.6))
    width = 0.8 / len(cases)
    panels = [("tumour_gy_per_gbq", "tumour cells: absorbed dose (Gy/GBq)", True),
              ("lymphocyte_gy_per_gbq", "resident lymphocytes: absorbed dose (Gy/GBq)", True),
              ("ratio", "tumour / lymphocyte absorbed dose", False)]
    for ax, (key, title, log) in zip(axes, panels):
        for i, case in enumerate(cases):
            vals = [next(r[key] for r in rows if r["case"] == case and r["nuclide"] == n)
                    for n in nucs]
            xs = [j + (i - (len(cases) - 1) / 2) * width for j in range(len(nucs))]
            ax.bar(xs, vals, width, label=CASES[case][0])
        ax.set_xticks(range(len(nucs)))
        ax.set_xticklabels(nucs, rotation=30)
        ax.set_title(title, fontsize=10)
        if log:
            ax.set_yscale("log")
        else:
            ax.axhline(1.0, color="k", lw=0.8)
            ax.set_ylim(0.9, max(r[key] for r in rows) + 0.1)
        ax.grid(axis="y", alpha=0.3)
    handles, labels = axes[0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="lower center", ncol=len(cases), fontsize=9)
    fig.suptitle("Same activity per gram (6 × 7.4 GBq, 0.7 % per 10 g): the TIL tissue alone "
                 "vs nested in lesions", fontsize=11)
    fig.tight_layout(rect=(0, 0.07, 1, 1))
    for ext in ("png", "svg"):
        fig.savefig(os.path.join(out, f"lesion_study.{ext}"), dpi=110)
    print(f"figure: {os.path.join(out, 'lesion_study.png')}")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--decays", type=int, default=20000, help="decays per part / stratum")
    ap.add_argument("--out", default="out/lesion-study")
    ap.add_argument("--xfire", default=None, help="xfire binary (default: cargo build --release)")
    ap.add_argument("--cases", default=",".join(CASES))
    ap.add_argument("--plot-only", action="store_true", help="only tables and figure from OUT")
    args = ap.parse_args()
    cases = args.cases.split(",")
    for c in cases:
        if c not in CASES:
            fail(f"unknown case {c!r} (one of {', '.join(CASES)})")
    if args.decays <= 0:
        fail(f"--decays {args.decays}: must be a positive number of decays")
    os.makedirs(args.out, exist_ok=True)
    if args.xfire is None and not args.plot_only:
        subprocess.run(["cargo", "build", "--release", "-q", "--bin", "xfire"], cwd=ROOT, check=True)
        target = os.environ.get("CARGO_TARGET_DIR", os.path.join(ROOT, "target"))
        args.xfire = os.path.join(target, "release", "xfire")
    rows = []
    for case in cases:
        if args.plot_only:
            path = os.path.join(args.out, case, "comparison.json")
            if not os.path.exists(path):
                continue
            comp = json.load(open(path, encoding="utf-8"))
        else:
            comp = run_case(case, args)
        rows += rows_of(case, comp)
    if not rows:
        fail(f"no results in {args.out}")
    write_tables(rows, args.out)
    plot(rows, args.out)
    print(f"tables: {os.path.join(args.out, 'lesion_study.md')}")


if __name__ == "__main__":
    main()
