#!/usr/bin/env python3
"""ompMC (EGSnrc condensed history, PyPI `ompmc`) reference voxel S values in water and in
ICRU four-component soft tissue, for crates/xfire-transport/tests/vsv.rs (docs/validation.md,
"Voxel S values").

Does what the project's peer driver scripts/ompmc_driver.py does for
`--source nuclide --spread voxel` (its `nuclide_particles`, `isotropic`, `write_iaea_phsp`,
`box` and `transport` are called in the same order with the same generator, so a run
reproduces the driver's result), with the medium named as:

    water   H2O521ICRU            (the driver's default)
    tissue  ICRUTISSUE521ICRU     (rho = 1.0; mass fractions H 0.101172, C 0.111, N 0.026,
                                   O 0.761828: xfire's built-in `soft_tissue_icru`)

Decays are uniform in the central voxel of an n^3 box of the medium; every emitted particle
is one ompMC history; PEGS4 521icru (AE = 0.521 MeV total -> 10 keV electron cut,
AP = 10 keV). The per-voxel energy is reduced to symmetry classes (|i| >= |j| >= |k| >= 0 of
the voxel offsets from the centre) and written in the format of the existing
tests/data/ompmc_vsv_*.csv (scripts/ompmc_reference.py).

Usage (never needed to build or test):
    python3 -m venv .venv-ompmc
    .venv-ompmc/bin/pip install ompmc==0.4.0 icrp107-database==0.0.3 numpy
    OMP_NUM_THREADS=1 .venv-ompmc/bin/python scripts/ompmc_vsv_media.py [case ...]
        cases: see CASES (default: all), e.g. vsv_lu177e_2mm_tissue
    OMP_NUM_THREADS=1 python scripts/ompmc_vsv_media.py --run --nuclide Y-90 --emissions beta \
        --medium tissue --voxel 0.2 --grid 15 --decays 200000 [--csv FILE]
"""
import argparse
import json
import os
import sys
import tempfile
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
RUNS = Path(tempfile.gettempdir()) / "ompmc-vsv"
sys.path.insert(0, str(ROOT / "scripts"))
OUT = ROOT / "crates" / "xfire-transport" / "tests" / "data"

MEDIA = {"water": "H2O", "tissue": "ICRUTISSUE"}
PEGS = "521icru"
SEED = 12345

# name: (nuclide, emissions, voxel edge [cm], voxels per axis, decays)
CASES = {}
for _vox, _tag, _lu, _y in ((0.2, "2mm", (7, 400000), (15, 200000)),
                           (0.4, "4mm", (7, 400000), (9, 200000)),
                           (0.6, "6mm", (5, 400000), (7, 200000))):
    for _med in MEDIA:
        CASES[f"vsv_lu177e_{_tag}_{_med}"] = ("Lu-177", "electrons", _vox, _lu[0], _lu[1], _med)
        CASES[f"vsv_y90b_{_tag}_{_med}"] = ("Y-90", "beta", _vox, _y[0], _y[1], _med)


def medium_name(medium):
    return MEDIA.get(medium, medium) + PEGS.upper()


def simulate(nuclide, emissions, voxel, grid, decays, medium, seed, out):
    """scripts/ompmc_driver.py --source nuclide --spread voxel, in `medium`."""
    import ompmc
    import ompmc_driver as peer

    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    kinds = {"beta": (), "electrons": ("IE", "auger"),
             "full": ("IE", "auger", "gamma", "X")}[emissions]
    decay, ptype, energy = peer.nuclide_particles(rng, decays, nuclide, kinds)
    n_part = len(energy)
    half = 0.5 * voxel
    pos = rng.uniform(-half, half, size=(decays, 3))[decay]
    direc = peer.isotropic(rng, n_part)
    base = out / "source"
    peer.write_iaea_phsp(str(base), ptype, energy, pos, direc, np.ones(n_part, dtype=bool))
    med = medium_name(medium)
    geo = peer.box(med, 1.0, voxel, grid)
    t_warm, *_ = peer.transport(geo, base, out, 200)  # as the driver's default warm-up
    nh = n_part // 10 * 10
    t_run, e_hist, unc, _ = peer.transport(geo, base, out, nh)
    decays_covered = int(decay[nh - 1]) + 1
    edep = e_hist * nh / decays_covered
    return {
        "peer": "ompMC " + ompmc.__version__ + " (EGSnrc physics, PEGS4 " + PEGS + ")",
        "medium": med,
        "histories_run": int(nh),
        "decays_covered": decays_covered,
        "emitted_MeV_per_decay": float(energy[:nh].sum() / decays_covered),
        "deposited_MeV_per_decay": float(edep.sum()),
        "decays_per_s_transport_only": decays_covered / max(t_run - t_warm, 1e-9),
        "t_run_s": t_run,
        "omp_threads": os.environ.get("OMP_NUM_THREADS", "unset"),
    }, edep, unc


def reduce_classes(edep, unc):
    """Symmetry classes: {(i, j, k): [n voxels, energy sum, variance of the sum]}."""
    n = edep.shape[0]
    c = n // 2
    idx = np.abs(np.arange(n) - c)
    I, J, K = np.meshgrid(idx, idx, idx, indexing="ij")
    keys = -np.sort(-np.stack([I, J, K], axis=-1), axis=-1).reshape(-1, 3)
    e = edep.reshape(-1)
    u = np.where(unc.reshape(-1) < 0.99, unc.reshape(-1), 1.0)
    classes = {}
    for key, ei, ui in zip(map(tuple, keys), e, u):
        s = classes.setdefault(tuple(int(x) for x in key), [0, 0.0, 0.0])
        s[0] += 1
        s[1] += ei
        s[2] += (ei * ui) ** 2
    return classes


def write_csv(path, name, cmd, summ, voxel, grid, classes):
    with open(path, "w") as f:
        f.write(f"# ompMC reference voxel S values '{name}' (scripts/ompmc_vsv_media.py)\n")
        f.write(f"# peer: {summ['peer']}; sampling and transport as "
                "scripts/ompmc_driver.py --source nuclide --spread voxel\n")
        f.write(f"# command: {cmd}\n")
        f.write(f"# medium {summ['medium']} (rho 1.0 g/cm3), decays uniform in the central voxel\n")
        f.write(f"# seed {SEED}, ompMC seeds (97, 33), {summ['histories_run']} histories, "
                f"{summ['decays_covered']} decays, 10 batches, "
                f"OMP_NUM_THREADS={summ['omp_threads']}\n")
        f.write(f"# voxel_cm {voxel}\n# grid {grid}\n")
        f.write(f"# emitted_MeV_per_decay {summ['emitted_MeV_per_decay']:.8g}\n")
        f.write(f"# deposited_MeV_per_decay {summ['deposited_MeV_per_decay']:.8g}\n")
        f.write(f"# decays_per_s_transport_only {summ['decays_per_s_transport_only']:.6g}\n")
        write_class_rows(f, classes)


def write_class_rows(f, classes):
    """The column comment, header and one row per symmetry class (`reduce_classes`)."""
    f.write("# columns: i>=j>=k>=0 voxel offsets from the centre, n voxels in the class,\n")
    f.write("# sum of the class's energy [MeV/decay], its std. error [MeV/decay] "
            "(ompMC batch unc.)\n")
    f.write("i,j,k,n,e_sum_mev,e_sum_sd_mev\n")
    for key in sorted(classes):
        nv, e, v2 = classes[key]
        f.write(f"{key[0]},{key[1]},{key[2]},{nv},{e:.6e},{np.sqrt(v2):.3e}\n")


def one(nuclide, emissions, voxel, grid, decays, medium, seed, out, csv, name):
    cmd = (f"scripts/ompmc_vsv_media.py --run --nuclide {nuclide} --emissions {emissions} "
           f"--medium {medium} --voxel {voxel} --grid {grid} --decays {decays} --seed {seed}")
    summ, edep, unc = simulate(nuclide, emissions, voxel, grid, decays, medium, seed, out)
    classes = reduce_classes(edep, unc)
    if csv:
        write_csv(csv, name, cmd, summ, voxel, grid, classes)
    self_ = classes[(0, 0, 0)]
    face = classes[(1, 0, 0)]
    print(name, json.dumps({
        **{k: summ[k] for k in ("medium", "emitted_MeV_per_decay", "deposited_MeV_per_decay",
                                "decays_per_s_transport_only", "t_run_s")},
        "self": [self_[1], np.sqrt(self_[2]) / self_[1]],
        "face": [face[1], np.sqrt(face[2]) / face[1]]}), flush=True)


def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("cases", nargs="*", help="case names (default: all)")
    ap.add_argument("--run", action="store_true", help="one run from the options below")
    ap.add_argument("--nuclide", default="Lu-177")
    ap.add_argument("--emissions", default="electrons", choices=["beta", "electrons", "full"])
    ap.add_argument("--medium", default="water",
                    help="water, tissue, or a PEGS4 medium prefix (+ '521ICRU')")
    ap.add_argument("--voxel", type=float, default=0.4, help="voxel edge [cm]")
    ap.add_argument("--grid", type=int, default=7, help="voxels per axis (odd)")
    ap.add_argument("--decays", type=int, default=100000)
    ap.add_argument("--seed", type=int, default=SEED)
    ap.add_argument("--out", default=None, help="work folder (phase-space file)")
    ap.add_argument("--csv", default=None, help="write the class CSV here (--run)")
    args = ap.parse_args()
    if args.run:
        out = args.out or RUNS / "run"
        one(args.nuclide, args.emissions, args.voxel, args.grid, args.decays, args.medium,
            args.seed, out, args.csv, "run")
        return
    for name in args.cases or list(CASES):
        nuc, em, vox, grid, decays, med = CASES[name]
        one(nuc, em, vox, grid, decays, med, SEED, RUNS / name,
            OUT / f"ompmc_{name}.csv", name)


if __name__ == "__main__":
    main()
