#!/usr/bin/env python3
"""Reference dose point kernels from ompMC (EGSnrc condensed history, PyPI `ompmc`) for the
condensed-history electron validation (docs/validation.md, "Electron condensed history").

Runs the project's peer driver `scripts/ompmc_driver.py` for each case: point
source at the centre of a water voxel box, PEGS4 521icru (10 keV electron and photon cuts),
and reduces the per-voxel energy to symmetry classes (|i| >= |j| >= |k| >= 0 of the voxel
offsets from the centre: octants and axis permutations averaged), written as
crates/xfire-transport/tests/data/ompmc_<case>.csv with a provenance header.

Usage (never needed to build or test):
    python3 -m venv .venv-ompmc
    .venv-ompmc/bin/pip install ompmc==0.4.0 icrp107-database==0.0.3 numpy
    OMP_NUM_THREADS=1 .venv-ompmc/bin/python scripts/ompmc_reference.py [case ...]
Run folders go to the system temporary directory (`ompmc-ref/<case>`).
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

# name: (driver arguments, voxel edge [cm], voxels per axis, decays)
CASES = {
    "e050": (["--source", "mono-e", "--energy", "0.05"], 0.0003, 41, 40000),
    "e100": (["--source", "mono-e", "--energy", "0.1"], 0.001, 41, 40000),
    "e500": (["--source", "mono-e", "--energy", "0.5"], 0.01, 41, 40000),
    "e1000": (["--source", "mono-e", "--energy", "1.0"], 0.025, 41, 40000),
    "lu177e": (["--source", "nuclide", "--nuclide", "Lu-177", "--emissions", "electrons"],
               0.005, 81, 200000),
    "tb161e": (["--source", "nuclide", "--nuclide", "Tb-161", "--emissions", "electrons"],
               0.005, 81, 200000),
    "y90b": (["--source", "nuclide", "--nuclide", "Y-90", "--emissions", "beta"],
             0.05, 41, 40000),
    # voxel S values: decays uniform in the central voxel
    "vsv_lu177e_4mm": (["--source", "nuclide", "--nuclide", "Lu-177", "--emissions", "electrons",
                        "--spread", "voxel"], 0.4, 7, 400000),
    "vsv_y90b_4mm": (["--source", "nuclide", "--nuclide", "Y-90", "--emissions", "beta",
                      "--spread", "voxel"], 0.4, 9, 200000),
}
SEED = 12345


def main():
    sys.path.insert(0, str(ROOT / "scripts"))
    from ompmc_vsv_media import reduce_classes, write_class_rows

    names = sys.argv[1:] or list(CASES)
    import ompmc  # noqa: F401  (version for the header)
    for name in names:
        args, voxel, grid, decays = CASES[name]
        run_dir = Path(tempfile.gettempdir()) / "ompmc-ref" / name
        cmd = [sys.executable, str(PEER), *args, "--decays", str(decays), "--voxel", str(voxel),
               "--grid", str(grid), "--seed", str(SEED)]
        env = dict(os.environ, OMP_NUM_THREADS=os.environ.get("OMP_NUM_THREADS", "1"))
        subprocess.run(cmd + ["--out", str(run_dir)], check=True, env=env,
                       stdout=subprocess.DEVNULL)
        summ = json.loads((run_dir / "summary.json").read_text())
        edep = np.load(run_dir / "edep_per_decay.npy")
        unc = np.load(run_dir / "edep_rel_unc.npy")
        classes = reduce_classes(edep, unc)
        with open(OUT / f"ompmc_{name}.csv", "w") as f:
            f.write(f"# ompMC reference point kernel '{name}' (scripts/ompmc_reference.py)\n")
            f.write(f"# peer: {summ['peer']}; driver scripts/ompmc_driver.py\n")
            f.write(f"# command: python scripts/ompmc_driver.py {' '.join(cmd[2:])}\n")
            f.write(f"# seed {SEED}, ompMC seeds (97, 33), {summ['histories_run']} histories, "
                    f"{summ['decays_covered']} decays, 10 batches, OMP_NUM_THREADS={summ['omp_threads']}\n")
            f.write(f"# voxel_cm {voxel}\n# grid {grid}\n")
            f.write(f"# emitted_MeV_per_decay {summ['emitted_MeV_per_decay']:.8g}\n")
            f.write(f"# deposited_MeV_per_decay {summ['deposited_MeV_per_decay']:.8g}\n")
            f.write(f"# decays_per_s_transport_only {summ['decays_per_s_transport_only']:.6g}\n")
            write_class_rows(f, classes)
        print(name, json.dumps({k: summ[k] for k in (
            "emitted_MeV_per_decay", "deposited_MeV_per_decay", "decays_per_s_transport_only")}))


if __name__ == "__main__":
    main()
