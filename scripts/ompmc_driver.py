#!/usr/bin/env python3
"""xfire's driver for the ompMC peer: a radionuclide or mono-energetic source inside a uniform
voxel box, transported by ompMC (PyPI `ompmc` 0.4.0: an OpenMP C re-implementation of EGSnrc
condensed-history photon-electron transport, Doerner & Caprile, Med. Phys. 44 (2017) 6672;
its wheel ships the PEGS4 521icru/700icru media, XCOM and multiple-scattering data, so nothing
is fetched at run time). Every reference CSV of `crates/xfire-transport/tests/data/` and the
peer column of `docs/perf.md` come from this driver (scripts/ompmc_*.py, scripts/bench-vs-peer).

    python3 -m venv .venv-ompmc && .venv-ompmc/bin/pip install ompmc==0.4.0 icrp107-database==0.0.3
    OMP_NUM_THREADS=1 .venv-ompmc/bin/python scripts/ompmc_driver.py --source mono-e --energy 0.5 \\
        --decays 20000 --voxel 0.01 --grid 41 --out ompmc-run

How the source gets in: ompMC has no isotropic internal source, so the driver samples the
emissions itself and hands them to `ompmc.calc_forward_phsp` as a synthetic IAEA phase-space
file whose particles lie inside the phantom (ompMC transports them from where they are). Each
emitted particle is one ompMC history; results are renormalised per decay.

Sources (`--source`): `mono-e`, `mono-g` (electrons or photons of `--energy` MeV), `nuclide`
(ICRP-107 emissions of `--nuclide` from PyPI `icrp107-database` 0.0.3: the tabulated β
spectrum, plus IC and Auger lines with `--emissions electrons`, plus γ and X lines with
`full`; each line sampled independently with its yield), and the shorthands `lu177-beta`,
`lu177-full`. `--spread point` puts the source at the centre of the central voxel, `voxel`
spreads decays uniformly over it (voxel S values). `--medium` picks a PEGS4 medium of the
data file (default H2O521ICRU) and `--density` its density.

Physics: PEGS4 521icru, ECUT 0.521 MeV total (10 keV electron kinetic cut), PCUT 10 keV;
particles created below the cuts deposit locally (EGSnrc convention). ompMC seeds (97, 33).
The numpy generator is drawn in a fixed order (emissions, then decay positions for `voxel`,
then directions), so a seed gives the same source in every script that uses this module.

Outputs (in `--out`): summary.json (energy balance, centre voxel, energy within voxelised
spheres, timings), edep_per_decay.npy (MeV per decay per voxel, C order [ix, iy, iz], voxel
centres at (i - n//2) * voxel), edep_rel_unc.npy (ompMC's batch relative uncertainty,
0.9999999 where nothing was deposited), radial.csv (energy per decay by voxel-centre radius).

Licence: this driver is part of xfire (MIT OR Apache-2.0). ompMC is GPL-3.0 and its data derive
from EGSnrc; neither is shipped by xfire, only computed results are stored.
"""

import argparse
import json
import os
import time
from pathlib import Path

import numpy as np

PHOTON, ELECTRON, POSITRON = 1, 2, 3

# IAEA phase-space record as ompMC reads it: little endian, X Y Z U V and the weight stored,
# no extra floats or longs: int8 particle type (negative when the direction cosine W < 0) and
# float32 E, X, Y, Z, U, V, weight. A negative energy marks the first particle of a history.
IAEA_RECORD = np.dtype([
    ("type", "i1"), ("E", "<f4"), ("x", "<f4"), ("y", "<f4"), ("z", "<f4"),
    ("u", "<f4"), ("v", "<f4"), ("wt", "<f4"),
])
assert IAEA_RECORD.itemsize == 29

PEGS = "521icru"


def isotropic(rng, n):
    """`n` isotropic unit vectors (cos θ uniform, then φ uniform)."""
    mu = rng.uniform(-1.0, 1.0, n)
    phi = rng.uniform(0.0, 2.0 * np.pi, n)
    s = np.sqrt(1.0 - mu * mu)
    return np.column_stack([s * np.cos(phi), s * np.sin(phi), mu])


def sample_table(rng, e, pdf, n, fine=20000):
    """`n` energies from a piecewise-linear tabulated spectrum, by inversion of its cumulative
    integral on `fine` equal steps (trapezoids), linear within a step."""
    grid = np.linspace(e[0], e[-1], fine + 1)
    p = np.interp(grid, e, pdf)
    cdf = np.concatenate([[0.0], np.cumsum(0.5 * (p[1:] + p[:-1]) * np.diff(grid))])
    cdf /= cdf[-1]
    u = rng.random(n)
    k = np.clip(np.searchsorted(cdf, u, side="right") - 1, 0, fine - 1)
    frac = (u - cdf[k]) / np.maximum(cdf[k + 1] - cdf[k], 1e-300)
    return grid[k] + frac * (grid[k + 1] - grid[k])


def _counts(rng, n_decays, y):
    """Emissions per decay of a line of yield `y`: floor(y), plus one with the remainder."""
    k = int(np.floor(y))
    cnt = np.full(n_decays, k, dtype=np.int64)
    cnt += rng.random(n_decays) < (y - k)
    return cnt


def nuclide_particles(rng, n_decays, nuclide, kinds):
    """ICRP-107 emissions of `n_decays` decays of `nuclide`: the β spectrum, then the line
    kinds in `kinds` (a subset of "IE", "auger", "gamma", "X", in that order). Returns (decay
    index, particle type, kinetic energy MeV), sorted by decay."""
    from icrp107_database import get_icrp107_spectrum as spectrum

    b = spectrum(nuclide, "b-spectra")
    e_b, pdf_b = np.asarray(b["energies"]), np.asarray(b["weights"])
    n_beta = _counts(rng, n_decays, float(np.trapezoid(pdf_b, e_b)))
    parts = [(np.repeat(np.arange(n_decays), n_beta), np.full(n_beta.sum(), ELECTRON),
              sample_table(rng, e_b, pdf_b, int(n_beta.sum())))]
    for kind, ptype in (("IE", ELECTRON), ("auger", ELECTRON), ("gamma", PHOTON), ("X", PHOTON)):
        if kind not in kinds:
            continue
        lines = spectrum(nuclide, kind)
        for en, y in zip(lines["energies"], lines["weights"]):
            cnt = _counts(rng, n_decays, y)
            if cnt.sum() == 0:
                continue
            parts.append((np.repeat(np.arange(n_decays), cnt), np.full(cnt.sum(), ptype),
                          np.full(cnt.sum(), float(en))))
    decay, ptype, energy = (np.concatenate([p[i] for p in parts]) for i in range(3))
    order = np.argsort(decay, kind="stable")
    return decay[order], ptype[order], energy[order]


def write_iaea_phsp(base, ptype, energy, pos, direction, new_history):
    """Writes `base`.IAEAphsp (records) and `base`.IAEAheader: types 1/2/3, kinetic energy MeV,
    positions cm, unit directions, True on the first particle of each history."""
    n = len(energy)
    rec = np.zeros(n, dtype=IAEA_RECORD)
    rec["type"] = np.where(direction[:, 2] < 0, -ptype, ptype).astype(np.int8)
    rec["E"] = np.where(new_history, -energy, energy)
    rec["x"], rec["y"], rec["z"] = pos[:, 0], pos[:, 1], pos[:, 2]
    rec["u"], rec["v"] = direction[:, 0], direction[:, 1]
    rec["wt"] = 1.0
    rec.tofile(f"{base}.IAEAphsp")
    count = {t: int(np.count_nonzero(ptype == t)) for t in (PHOTON, ELECTRON, POSITRON)}
    stored = "\n".join(f"{int(s)} // {what}" for s, what in (
        (1, "X is stored ?"), (1, "Y is stored ?"), (1, "Z is stored ?"), (1, "U is stored ?"),
        (1, "V is stored ?"), (1, "W is stored ?"), (1, "Weight is stored ?"),
        (0, "Extra floats stored ?"), (0, "Extra longs stored ?")))
    header = (f"$IAEA_INDEX:\n0 // synthetic\n$TITLE:\nxfire ompmc_driver source\n"
              f"$FILE_TYPE:\n0\n$CHECKSUM:\n{n * IAEA_RECORD.itemsize}\n"
              f"$RECORD_CONTENTS:\n{stored}\n$RECORD_CONSTANT:\n\n"
              f"$RECORD_LENGTH:\n{IAEA_RECORD.itemsize}\n$BYTE_ORDER:\n1234\n"
              f"$ORIG_HISTORIES:\n{int(np.count_nonzero(new_history))}\n$PARTICLES:\n{n}\n"
              f"$PHOTONS:\n{count[PHOTON]}\n$ELECTRONS:\n{count[ELECTRON]}\n"
              f"$POSITRONS:\n{count[POSITRON]}\n")
    with open(f"{base}.IAEAheader", "w") as f:
        f.write(header)


def make_source(rng, args):
    """(decay index, type, energy, position) of every emitted particle for the CLI options."""
    n_dec = args.decays
    if args.source.startswith("lu177") or args.source == "nuclide":
        nuclide = "Lu-177" if args.source.startswith("lu177") else args.nuclide
        emissions = {"lu177-beta": "beta", "lu177-full": "full"}.get(args.source, args.emissions)
        kinds = {"beta": (), "electrons": ("IE", "auger"),
                 "full": ("IE", "auger", "gamma", "X")}[emissions]
        decay, ptype, energy = nuclide_particles(rng, n_dec, nuclide, kinds)
    else:
        decay = np.arange(n_dec)
        ptype = np.full(n_dec, ELECTRON if args.source == "mono-e" else PHOTON)
        energy = np.full(n_dec, args.energy)
    if args.spread == "point":
        pos = np.zeros((len(energy), 3))
    else:
        half = 0.5 * args.voxel
        pos = rng.uniform(-half, half, size=(n_dec, 3))[decay]
    return decay, ptype, energy, pos


def box(medium, density, voxel, n):
    """ompMC geometry: n³ voxels of edge `voxel` cm centred on the origin, one medium."""
    import ompmc

    b = np.linspace(-n * voxel / 2.0, n * voxel / 2.0, n + 1)
    return ompmc.Geometry(b, b, b, [medium], np.full((n, n, n), density, order="F"),
                          np.ones((n, n, n), dtype=np.int32, order="F"))


def transport(geo, base, out, n_histories, ecut=0.521, pcut=0.010, pegs=PEGS):
    """Runs ompMC on the phase space `base` for `n_histories` (a multiple of 10: 10 batches).
    Returns (seconds, mean energy per history per voxel [MeV], relative uncertainty, summary)."""
    import ompmc

    phys = ompmc.Physics(pegs_file=ompmc.data_path() / "pegs4" / f"{pegs}.pegs4dat",
                         global_ecut=ecut, global_pcut=pcut, n_split=1, seeds=(97, 33),
                         output_folder=str(out))
    t = time.perf_counter()
    e, unc, summ = ompmc.calc_forward_phsp(
        geo, ompmc.PhaseSpaceSource(str(base), order="replay"), phys,
        n_histories=n_histories, n_batches=10, output_dose=False, verbosity=0)
    return time.perf_counter() - t, np.asarray(e), np.asarray(unc), summ


def write_outputs(out, args, energy, edep, unc, covered, timing):
    """summary.json, edep_per_decay.npy, edep_rel_unc.npy and radial.csv in `out`."""
    import ompmc

    n = args.grid
    idx = (np.arange(n) - n // 2) * args.voxel
    x, y, z = np.meshgrid(idx, idx, idx, indexing="ij")
    r = np.sqrt(x ** 2 + y ** 2 + z ** 2)
    np.save(out / "edep_per_decay.npy", np.ascontiguousarray(edep))
    np.save(out / "edep_rel_unc.npy", np.ascontiguousarray(unc))
    rb = np.arange(0.0, r.max() + args.voxel, args.voxel)
    shell = np.bincount(np.digitize(r.ravel(), rb) - 1, weights=edep.ravel(), minlength=len(rb))
    with open(out / "radial.csv", "w") as f:
        f.write("r_lo_cm,r_hi_cm,edep_MeV_per_decay\n")
        for i in range(len(rb) - 1):
            f.write(f"{rb[i]:.5f},{rb[i + 1]:.5f},{shell[i]:.6e}\n")
    c = n // 2
    mass_kg = args.voxel ** 3 * args.density * 1.0e-3
    t_transport = timing["t_run_s"] - timing["t_warmup_run_s"]
    summary = {
        "peer": f"ompMC {ompmc.__version__} (EGSnrc physics, PEGS4 {PEGS})",
        "driver": "scripts/ompmc_driver.py",
        "source": args.source, "nuclide": args.nuclide if args.source == "nuclide" else None,
        "emissions": args.emissions if args.source == "nuclide" else None,
        "energy_MeV": args.energy if args.source.startswith("mono") else None,
        "spread": args.spread, "medium": args.medium, "density_g_cm3": args.density,
        "decays": args.decays, "particles": int(len(energy)),
        "histories_run": timing["histories"], "voxel_cm": args.voxel, "grid": n,
        "omp_threads": os.environ.get("OMP_NUM_THREADS", "unset"),
        "emitted_MeV_per_decay": float(energy[:timing["histories"]].sum() / covered),
        "deposited_MeV_per_decay": float(edep.sum()),
        "centre_voxel_MeV_per_decay": float(edep[c, c, c]),
        "centre_voxel_Gy_per_decay": float(edep[c, c, c] * 1.602176634e-13 / mass_kg),
        "centre_voxel_rel_unc": float(unc[c, c, c]),
        "edep_MeV_per_decay_within_r_cm": {
            f"{rr:g}": float(edep[r <= rr + 1e-9].sum())
            for rr in (args.voxel, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1.0) if rr <= r.max()},
        **{k: v for k, v in timing.items() if k != "histories"},
        "decays_covered": covered,
        "decays_per_s_wall_incl_init": covered / timing["t_run_s"],
        "decays_per_s_transport_only": covered / max(t_transport, 1e-9),
    }
    with open(out / "summary.json", "w") as f:
        json.dump(summary, f, indent=1)
    return summary


def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--source", default="lu177-beta",
                    choices=["lu177-beta", "lu177-full", "mono-e", "mono-g", "nuclide"])
    ap.add_argument("--nuclide", default="Lu-177", help="ICRP-107 name (with --source nuclide)")
    ap.add_argument("--emissions", default="electrons", choices=["beta", "electrons", "full"])
    ap.add_argument("--energy", type=float, default=0.5, help="MeV (mono sources)")
    ap.add_argument("--decays", type=int, default=100000)
    ap.add_argument("--voxel", type=float, default=0.005, help="voxel edge [cm]")
    ap.add_argument("--grid", type=int, default=81, help="voxels per axis (odd)")
    ap.add_argument("--spread", choices=["point", "voxel"], default="point")
    ap.add_argument("--medium", default="H2O521ICRU", help="PEGS4 medium of 521icru")
    ap.add_argument("--density", type=float, default=1.0, help="g/cm3")
    ap.add_argument("--seed", type=int, default=12345)
    ap.add_argument("--out", default="ompmc-run", help="output folder (created)")
    ap.add_argument("--warmup", type=int, default=200,
                    help="histories of a first, timed run whose cost is subtracted as init")
    args = ap.parse_args()
    if args.grid % 2 != 1:
        ap.error(f"--grid must be odd, got {args.grid}")

    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(args.seed)
    t0 = time.perf_counter()
    decay, ptype, energy, pos = make_source(rng, args)
    base = out / "source"
    write_iaea_phsp(str(base), ptype, energy, pos, isotropic(rng, len(energy)),
                    np.ones(len(energy), dtype=bool))
    t_src = time.perf_counter() - t0

    geo = box(args.medium, args.density, args.voxel, args.grid)
    nw = max(10, args.warmup // 10 * 10)
    t_warm, *_ = transport(geo, base, out, nw)
    nh = len(energy) // 10 * 10
    t_run, e_hist, unc, _ = transport(geo, base, out, nh)
    covered = int(decay[nh - 1]) + 1  # the histories run cover this many decays
    edep = e_hist * nh / covered
    timing = {"histories": int(nh), "t_source_gen_s": t_src, "t_warmup_run_s": t_warm,
              "warmup_histories": nw, "t_run_s": t_run}
    print(json.dumps(write_outputs(out, args, energy, edep, unc, covered, timing), indent=1))


if __name__ == "__main__":
    main()
