#!/usr/bin/env python3
"""ompMC (EGSnrc condensed history, PyPI `ompmc`) reference point kernels outside the issue's
list: other media (ICRP cortical bone, inflated ICRU-44 lung at 0.26 g/cm3), a higher energy
(2 MeV) and another nuclide (131I electrons), for crates/xfire-transport/tests/condensed.rs
`point_kernels_match_ompmc_in_bone_lung_and_at_2_mev` (docs/validation.md, "Electron
condensed history").

Same sampling and transport as the project's peer driver scripts/ompmc_driver.py
(its `nuclide_particles`, `isotropic`, `write_iaea_phsp`, `box`, `transport`; point source at the centre of the
central voxel; every emitted particle one ompMC history; PEGS4 521icru, ECUT = 0.521 MeV total
-> 10 keV electron cut, PCUT = 10 keV), but with the medium and its density chosen per case:

    H2O521ICRU        water, 1.0 g/cm3
    ICRPBONE521ICRU   ICRP cortical bone, 1.85 g/cm3 (xfire's built-in `bone_cortical`:
                      same composition and I = 106.4 eV)
    LUNG521ICRU       ICRU 44 lung, 0.26 g/cm3 as in the PEGS4 file (xfire: the user material
                      `lung_icru44` defined in the test with the PEGS4 mass fractions and
                      I = 75.3 eV)

The per-voxel energy is reduced to symmetry classes (|i| >= |j| >= |k| >= 0 of the offsets
from the centre) and written as crates/xfire-transport/tests/data/ompmc_<case>.csv in the
format of scripts/ompmc_reference.py, plus `# medium` and `# density_g_cm3` header lines.
The grids are coarse (voxel ~ X90/10): ompMC's kernels depend on its voxel size on fine grids
(docs/validation.md, "Reference artefact").

With --study, each case is also run on a grid 3x coarser (9^3 voxels) and the energy in the
central coarse voxel is compared with the same cube on the reference grid (ompMC's own grid
dependence, written as tests/data/ompmc_cubes_<case>.csv and reported by the test beside its
criterion as the reference systematic).

Usage (never needed to build or test):
    python3 -m venv .venv-ompmc
    .venv-ompmc/bin/pip install ompmc==0.4.0 icrp107-database==0.0.3 numpy
    OMP_NUM_THREADS=1 .venv-ompmc/bin/python scripts/ompmc_media_kernels.py [case ...]
    OMP_NUM_THREADS=1 .venv-ompmc/bin/python scripts/ompmc_media_kernels.py --study [case ...]
Run folders go to `ompmc-media/` in the system temporary directory.
"""
import os
import sys
import tempfile
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
RUNS = Path(tempfile.gettempdir()) / "ompmc-media"
sys.path.insert(0, str(ROOT / "scripts"))
OUT = ROOT / "crates" / "xfire-transport" / "tests" / "data"
SEED = 4242

# name: (source, PEGS4 medium, density g/cm3, voxel edge cm, voxels per axis, decays)
CASES = {
    "e2000_water": (("mono", 2.0), "H2O521ICRU", 1.0, 0.1, 25, 100000),
    "e200_bone": (("mono", 0.2), "ICRPBONE521ICRU", 1.85, 0.003, 21, 200000),
    "e1000_lung": (("mono", 1.0), "LUNG521ICRU", 0.26, 0.2, 25, 100000),
    "lu177e_lung": (("nuclide", "Lu-177", "electrons"), "LUNG521ICRU", 0.26, 0.02, 25, 300000),
    "i131e_water": (("nuclide", "I-131", "electrons"), "H2O521ICRU", 1.0, 0.01, 31, 300000),
}


def simulate(src, medium, rho, voxel, grid, decays, out):
    import ompmc
    import ompmc_driver as peer

    out.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(SEED)
    if src[0] == "mono":
        energy = np.full(decays, float(src[1]))
        decay = np.arange(decays)
        ptype = np.full(decays, peer.ELECTRON)
    else:
        kinds = {"beta": (), "electrons": ("IE", "auger")}[src[2]]
        decay, ptype, energy = peer.nuclide_particles(rng, decays, src[1], kinds)
    n_part = len(energy)
    pos = np.zeros((n_part, 3))
    direc = peer.isotropic(rng, n_part)
    base = out / "source"
    peer.write_iaea_phsp(str(base), ptype, energy, pos, direc, np.ones(n_part, dtype=bool))
    nh = n_part // 10 * 10
    t, e, unc, _ = peer.transport(peer.box(medium, rho, voxel, grid), base, out, nh)
    covered = int(decay[nh - 1]) + 1
    edep = e * nh / covered
    return {
        "peer": "ompMC " + ompmc.__version__ + " (EGSnrc physics, PEGS4 521icru)",
        "histories_run": int(nh),
        "decays_covered": covered,
        "emitted_MeV_per_decay": float(energy[:nh].sum() / covered),
        "deposited_MeV_per_decay": float(edep.sum()),
        "decays_per_s": covered / t,
        "omp_threads": os.environ.get("OMP_NUM_THREADS", "unset"),
    }, edep, unc


def central_cube(edep, unc, half):
    """Energy [MeV/decay] and its std. error in the centred cube of (2 half + 1)^3 voxels."""
    c = edep.shape[0] // 2
    sl = slice(c - half, c + half + 1)
    e = edep[sl, sl, sl]
    u = np.where(unc[sl, sl, sl] < 0.99, unc[sl, sl, sl], 1.0)
    return float(e.sum()), float(np.sqrt(((e * u) ** 2).sum()))


def grid_study(name):
    """ompMC's own grid dependence: the energy in the central voxel of a 3x coarser grid, and in
    the same cube (3^3 voxels) of the reference grid -> tests/data/ompmc_cubes_<name>.csv (the
    format of scripts/ompmc_grid_study.py; read by the test as the reference's systematic)."""
    src, medium, rho, voxel, grid, decays = CASES[name]
    rows = []
    for vox, n, half in ((3 * voxel, 9, 0), (voxel, grid, 1)):
        summ, edep, unc = simulate(src, medium, rho, vox, n, decays,
                                   RUNS / f"{name}_study_{n}")
        e, sd = central_cube(edep, unc, half)
        rows.append(f"{vox:g},{n},0,{1.5 * voxel:g},{e:.8e},{sd:.3e},"
                    f"{summ['emitted_MeV_per_decay']:.8g}")
    with open(OUT / f"ompmc_cubes_{name}.csv", "w") as f:
        f.write(f"# ompMC grid-convergence check '{name}' (scripts/ompmc_media_kernels.py --study)\n")
        f.write(f"# peer: ompMC (EGSnrc physics, PEGS4 521icru, 10 keV cuts); medium {medium}, "
                f"{rho} g/cm3; seed {SEED}; {decays} decays per grid; OMP_NUM_THREADS="
                f"{os.environ.get('OMP_NUM_THREADS', 'unset')}\n")
        f.write("# columns: voxel edge [cm], voxels per axis, cube index K, cube half-width "
                "(K + 1/2) x coarsest voxel [cm], energy in the cube [MeV/decay], its std. error "
                "[MeV/decay], emitted energy [MeV/decay]\n")
        f.write("voxel_cm,n,k,half_width_cm,e_mev,e_sd_mev,emitted_mev\n")
        f.write("\n".join(rows) + "\n")
    print(name, "study", rows, flush=True)


def main():
    from ompmc_vsv_media import reduce_classes, write_class_rows

    if sys.argv[1:2] == ["--study"]:
        for name in sys.argv[2:] or list(CASES):
            grid_study(name)
        return
    names = sys.argv[1:] or list(CASES)
    for name in names:
        src, medium, rho, voxel, grid, decays = CASES[name]
        summ, edep, unc = simulate(src, medium, rho, voxel, grid, decays,
                                   RUNS / name)
        classes = reduce_classes(edep, unc)
        desc = (f"mono-energetic electrons {src[1]} MeV" if src[0] == "mono"
                else f"{src[1]} {src[2]} (ICRP-107 via icrp107-database)")
        with open(OUT / f"ompmc_{name}.csv", "w") as f:
            f.write(f"# ompMC reference point kernel '{name}' (scripts/ompmc_media_kernels.py)\n")
            f.write(f"# peer: {summ['peer']}; sampling and transport as scripts/ompmc_driver.py\n")
            f.write(f"# source: {desc}, point at the centre of the central voxel\n")
            f.write(f"# medium {medium}\n# density_g_cm3 {rho}\n")
            f.write(f"# seed {SEED}, ompMC seeds (97, 33), {summ['histories_run']} histories, "
                    f"{summ['decays_covered']} decays, 10 batches, "
                    f"OMP_NUM_THREADS={summ['omp_threads']}\n")
            f.write(f"# voxel_cm {voxel}\n# grid {grid}\n")
            f.write(f"# emitted_MeV_per_decay {summ['emitted_MeV_per_decay']:.8g}\n")
            f.write(f"# deposited_MeV_per_decay {summ['deposited_MeV_per_decay']:.8g}\n")
            f.write(f"# decays_per_s_transport_only {summ['decays_per_s']:.6g}\n")
            write_class_rows(f, classes)
        print(name, summ, flush=True)


if __name__ == "__main__":
    main()
