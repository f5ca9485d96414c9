#!/usr/bin/env python3
"""Reference voxel S-values of 177Lu (full emission: beta, IC, Auger, gamma, X) in water from
ompMC (C re-implementation of EGSnrc coupled photon-electron transport), for
crates/xfire-transport/tests/photon_transport.rs and docs/validation.md.

Rerunnable, offline; never needed to build or test (the numbers are committed):

    python3 -m venv .venv-ompmc
    .venv-ompmc/bin/pip install ompmc==0.4.0 icrp107-database==0.0.3
    OMP_NUM_THREADS=2 .venv-ompmc/bin/python scripts/ompmc_vsv_reference.py \
        [--decays 10000000] [--driver scripts/ompmc_driver.py]

It runs the project's peer driver `scripts/ompmc_driver.py --source lu177-full --spread voxel --voxel 0.442
--grid 15` (decays uniform in the central 4.42 mm voxel of a 15^3 water box, PEGS4 521icru:
10 keV electron and photon cuts), averages the energy per decay over the voxels of each
symmetry class (i, j, k) with i >= j >= k >= 0, and writes
crates/xfire-transport/tests/data/ompmc_lu177_full_vsv_4p42mm.csv: class, number of voxels,
energy per decay per voxel [MeV], S-value [Gy/decay] (voxel mass 0.442^3 g), relative standard
uncertainty (from ompMC's per-voxel batch uncertainties, combined over the class).

Licence: ompMC is GPL-3.0 and its data derive from EGSnrc (AGPL); neither code nor data is
shipped by xfire. Only the computed dose numbers (results of a calculation) are stored.
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT = os.path.join(ROOT, "crates", "xfire-transport", "tests", "data", "ompmc_lu177_full_vsv_4p42mm.csv")
VOXEL_CM = 0.442
GRID = 15
MEV_PER_G_TO_GY = 1.602176634e-10


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--decays", type=int, default=10_000_000)
    ap.add_argument("--seed", type=int, default=12345)
    ap.add_argument("--driver", default=os.path.join(ROOT, "scripts", "ompmc_driver.py"))
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        out = os.path.join(tmp, "run")
        cmd = [sys.executable, args.driver, "--source", "lu177-full", "--spread", "voxel",
               "--voxel", str(VOXEL_CM), "--grid", str(GRID), "--decays", str(args.decays),
               "--seed", str(args.seed), "--out", out]
        subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL)
        edep = np.load(os.path.join(out, "edep_per_decay.npy"))
        unc = np.load(os.path.join(out, "edep_rel_unc.npy"))
        with open(os.path.join(out, "summary.json")) as f:
            summary = json.load(f)
    c = GRID // 2
    classes = {}
    for ix in range(GRID):
        for iy in range(GRID):
            for iz in range(GRID):
                key = tuple(sorted((abs(ix - c), abs(iy - c), abs(iz - c)), reverse=True))
                classes.setdefault(key, []).append((ix, iy, iz))
    mass_g = VOXEL_CM ** 3 * 1.0
    os.makedirs(os.path.dirname(OUT), exist_ok=True)
    with open(OUT, "w") as f:
        f.write("# ompMC 0.4.0 (EGSnrc physics, PEGS4 521icru H2O521ICRU, 10 keV e-/photon cuts) voxel S-values\n")
        f.write(f"# of 177Lu, full ICRP-107 emission (beta spectrum, IC, Auger, gamma, X lines; icrp107-database 0.0.3),\n")
        f.write(f"# decays uniform in the centre voxel of a {GRID}^3 water box of {VOXEL_CM * 10} mm voxels; {args.decays} decays, seed {args.seed}.\n")
        f.write("# Produced by scripts/ompmc_vsv_reference.py with scripts/ompmc_driver.py.\n")
        f.write(f"# ompMC per decay: emitted {summary['emitted_MeV_per_decay']:.6f} MeV, deposited in the box "
                f"{summary['deposited_MeV_per_decay']:.6f} MeV; {summary['decays_per_s_transport_only']:.3g} decays/s "
                f"({summary['omp_threads']} threads)\n")
        f.write("# Class (i,j,k) = sorted |voxel offsets|; values averaged over the class's voxels.\n")
        f.write("i,j,k,n_voxels,mev_per_decay,s_gy_per_decay,rel_unc\n")
        for key in sorted(classes, key=lambda k: (sum(x * x for x in k), k)):
            if key[0] > 4:
                continue
            vox = classes[key]
            e = np.array([edep[v] for v in vox])
            u = np.array([unc[v] for v in vox])
            mean = e.mean()
            # independent voxels: σ(mean) = sqrt(Σ (u_i e_i)^2) / n
            sig = np.sqrt(np.sum((u * e) ** 2)) / len(vox)
            f.write(f"{key[0]},{key[1]},{key[2]},{len(vox)},{mean:.6e},{mean / mass_g * MEV_PER_G_TO_GY:.6e},{sig / mean if mean > 0 else 1.0:.3e}\n")
    print("wrote", OUT)


if __name__ == "__main__":
    main()
