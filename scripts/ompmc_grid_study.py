#!/usr/bin/env python3
"""ompMC grid-convergence study for the condensed-history electron validation
(docs/validation.md, "Electron condensed history", "Reference artefact").

For each case the same point source in water is run by ompMC (EGSnrc condensed history,
PyPI `ompmc` 0.4.0, PEGS4 521icru, 10 keV cuts) through the project's peer driver
`scripts/ompmc_driver.py` on three voxel grids whose edges differ by a
factor of 3, so that centred cubes of half-width (K + 1/2) H (H: coarsest voxel, K = 0, 1, 2)
have common faces on all three grids. In a homogeneous medium the energy in a fixed cube
cannot depend on the scoring grid; ompMC's does (its electron steps and boundary-crossing
mode depend on the voxel faces), which this study measures. The energy per decay in each cube
with its standard error (ompMC's per-voxel batch uncertainties, combined as independent) is
written to crates/xfire-transport/tests/data/ompmc_cubes_<case>.csv with a provenance header.

Usage (never needed to build or test; ~15 min on one core):
    python3 -m venv .venv-ompmc
    .venv-ompmc/bin/pip install ompmc==0.4.0 icrp107-database==0.0.3 numpy
    OMP_NUM_THREADS=1 .venv-ompmc/bin/python scripts/ompmc_grid_study.py [case ...]
Runs go to `ompmc-grid-study/` in the system temporary directory; set OMPMC_STUDY_RUNS to
reuse an existing run directory.
"""
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
PEER = ROOT / "scripts" / "ompmc_driver.py"
OUT = ROOT / "crates" / "xfire-transport" / "tests" / "data"
RUNS = Path(os.environ.get("OMPMC_STUDY_RUNS", Path(tempfile.gettempdir()) / "ompmc-grid-study"))
SEED = 777

# case: (driver arguments, decays, [(voxel edge cm, voxels per axis), coarse -> fine])
CASES = {
    "e100": (["--source", "mono-e", "--energy", "0.1"], 100000,
             [(0.009, 5), (0.003, 15), (0.001, 41)]),
    "e500": (["--source", "mono-e", "--energy", "0.5"], 100000,
             [(0.09, 5), (0.03, 15), (0.01, 41)]),
    "e1000": (["--source", "mono-e", "--energy", "1.0"], 100000,
              [(0.225, 5), (0.075, 15), (0.025, 41)]),
    "lu177e": (["--source", "nuclide", "--nuclide", "Lu-177", "--emissions", "electrons"],
               200000, [(0.045, 9), (0.015, 27), (0.005, 81)]),
    "y90b": (["--source", "nuclide", "--nuclide", "Y-90", "--emissions", "beta"],
             200000, [(0.45, 5), (0.15, 15), (0.05, 45)]),
}


def run_dir(case, n):
    return RUNS / f"{case}_{n}"


def run(case, args, decays, vox, n):
    d = run_dir(case, n)
    if (d / "edep_per_decay.npy").exists():
        return d
    d.mkdir(parents=True, exist_ok=True)
    cmd = [sys.executable, str(PEER), *args, "--decays", str(decays), "--voxel", f"{vox:.10g}",
           "--grid", str(n), "--seed", str(SEED), "--out", str(d)]
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL)
    return d


def cubes(d, vox, n, coarse):
    e = np.load(d / "edep_per_decay.npy")
    u = np.load(d / "edep_rel_unc.npy")
    u = np.where(u < 0.99, u, 0.0)
    c = n // 2
    out = []
    for kc in range(3):
        k = int(round((kc + 0.5) * coarse / vox - 0.5))
        if k > c:
            break
        s = np.s_[c - k:c + k + 1, c - k:c + k + 1, c - k:c + k + 1]
        out.append((kc, float(e[s].sum()), float(np.sqrt(((e[s] * u[s]) ** 2).sum()))))
    return out


def main():
    import ompmc
    todo = sys.argv[1:] or list(CASES)
    for case in todo:
        args, decays, grids = CASES[case]
        coarse = grids[0][0]
        rows = []
        for vox, n in grids:
            d = run(case, args, decays, vox, n)
            summ = json.loads((d / "summary.json").read_text())
            for kc, e, s in cubes(d, vox, n, coarse):
                rows.append((vox, n, kc, (kc + 0.5) * coarse, e, s, summ["emitted_MeV_per_decay"]))
        path = OUT / f"ompmc_cubes_{case}.csv"
        with open(path, "w") as f:
            f.write(f"# ompMC grid-convergence study '{case}' (scripts/ompmc_grid_study.py)\n")
            f.write(f"# peer: ompMC {ompmc.__version__} (EGSnrc physics, PEGS4 521icru, 10 keV cuts); "
                    "driver scripts/ompmc_driver.py\n")
            f.write(f"# driver arguments: {' '.join(args)} --decays {decays} --seed {SEED} "
                    "--voxel <voxel_cm> --grid <n>; OMP_NUM_THREADS=1\n")
            f.write("# columns: voxel edge [cm], voxels per axis, cube index K, cube half-width "
                    "(K + 1/2) x coarsest voxel [cm], energy in the cube [MeV/decay], its std. "
                    "error [MeV/decay], emitted energy [MeV/decay]\n")
            f.write("voxel_cm,n,k,half_width_cm,e_mev,e_sd_mev,emitted_mev\n")
            for r in rows:
                f.write(f"{r[0]:.10g},{r[1]},{r[2]},{r[3]:.10g},{r[4]:.8e},{r[5]:.3e},{r[6]:.8g}\n")
        print("wrote", path)


if __name__ == "__main__":
    main()
