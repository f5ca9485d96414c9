#!/usr/bin/env python3
"""ICRP-107 reference tables for crates/xfire-data/tests/icrp107_reference.rs, made from the
published data files independently of xfire's own import (scripts/import_icrp107.py): its own
reading of ICRP-07.NDX and its own sums over the ICRP-07.RAD records.

Rerunnable, offline (never needed to build or test: the tables are committed):

    python3 -m venv .venv && .venv/bin/pip install icrp107-database==0.0.3 decaychain==0.7.1
    .venv/bin/python scripts/gen_icrp107_refs.py [--out DIR]

Writes, in crates/xfire-data/tests/data/ (or DIR):
- icrp107_nuclide_summary.csv: per nuclide, half-life (NDX text, unit and seconds with
  1 y = 365.25 d), decay modes, daughters and branching, the NDX energy totals, the sums of
  yield × energy over the RAD records by radiation type, α and β yields and line counts.
- icrp107_beta_spectra.csv: the tabulated total β spectra N(E) (ICRP-07.BET) of the nuclides
  that have one.

Sources: ICRP Publication 107 (K.F. Eckerman, A. Endo, Ann. ICRP 38(3), 2008; copyrighted,
cited here, derived sums only): ICRP-07.NDX as shipped in PyPI decaychain 0.7.1, ICRP-07.RAD and
ICRP-07.BET as JSON in PyPI icrp107-database 0.0.3 (OpenGATE).
"""
import argparse
import json
import os

import decaychain
import icrp107_database

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
NUCLIDES = """Lu-177 Y-90 I-131 Tb-161 Cu-67 Ho-166 Sm-153 Ra-223 Rn-219 Po-215 Pb-211 Bi-211
Tl-207 Po-211 Ac-225 Fr-221 At-217 Rn-217 Bi-213 Po-213 Tl-209 Pb-209 At-211 Bi-207 Pb-212
Bi-212 Po-212 Tl-208 Th-227 Tb-149 I-125 In-111 Tc-99m""".split()
SECONDS = {"us": 1e-6, "ms": 1e-3, "s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0,
           "y": 365.25 * 86400.0}
# summary column -> RAD record type
RAD = [("rad_alpha_MeV", "alpha"), ("rad_alpha_recoil_MeV", "alpha recoil"),
       ("rad_beta_minus_MeV", "beta-"), ("rad_beta_plus_MeV", "beta+"),
       ("rad_IC_electron_MeV", "IE"), ("rad_Auger_electron_MeV", "auger"),
       ("rad_gamma_MeV", "gamma"), ("rad_Xray_MeV", "X"), ("rad_annihilation_MeV", "annihilation")]


def ndx_records():
    """ICRP-07.NDX by nuclide, from its Fortran format (a7,a8,a2,a8,3i7,i6,1x,
    3(a7,i6,e11.0,1x),a7,i6,e11.0,f7.0,2f8.0,...)."""
    path = os.path.join(os.path.dirname(decaychain.__file__), "data", "ICRP-07.NDX")
    out = {}
    for line in open(path, encoding="latin-1").read().splitlines()[1:]:
        name = line[:7].strip()
        if not name:
            continue
        pos = 7 + 8 + 2 + 8 + 3 * 7 + 6 + 1
        daughters = []
        for _ in range(4):
            field = line[pos:pos + 24]
            if field[:7].strip():
                daughters.append((field[:7].strip(), float(field[13:24])))
            pos += 25
        e_alpha, e_electron, e_photon = (float(x) for x in line[pos - 1:].split()[:3])
        out[name] = dict(hl=line[7:15].strip(), unit=line[15:17].strip(),
                         modes="".join(line[17:25].split()), daughters=daughters,
                         ndx=(e_alpha, e_electron, e_photon))
    return out


def rad(name):
    path = os.path.join(os.path.dirname(icrp107_database.__file__), "icrp107", name + ".json")
    with open(path) as f:
        d = json.load(f)
    return (json.loads(d) if isinstance(d, str) else d)["emissions"]


def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", default=os.path.join(ROOT, "crates", "xfire-data", "tests", "data"))
    args = ap.parse_args()
    os.makedirs(args.out, exist_ok=True)
    ndx = ndx_records()
    rows, spectra = [], []
    for name in NUCLIDES:
        n, em = ndx[name], rad(name)
        total = {t: sum(e * y for e, y in em[t]) for _, t in RAD}
        yld = {t: sum(y for _, y in em[t]) for t in ("alpha", "beta-", "beta+")}
        rows.append(",".join([
            name, n["hl"], n["unit"], f"{float(n['hl']) * SECONDS[n['unit']]:g}", n["modes"],
            ";".join(f"{d}:{b:g}" for d, b in n["daughters"]),
            *(f"{x:g}" for x in n["ndx"]),
            *(f"{total[t]:g}" for _, t in RAD),
            *(f"{yld[t]:g}" for t in ("alpha", "beta-", "beta+")),
            str(len(em["beta-"]) + len(em["beta+"])), str(len(em["alpha"]))]))
        spectra += [f"{name},{e:g},{v:g}" for e, v in em["b-spectra"]]
    src = ("# Source: ICRP Publication 107 (Eckerman & Endo 2008, Ann. ICRP 38(3)), file "
           "ICRP-07.NDX as shipped in PyPI package decaychain 0.7.1; emission data from "
           "ICRP-07.RAD/.BET as JSON in PyPI package icrp107-database 0.0.3 (OpenGATE). "
           "Made by scripts/gen_icrp107_refs.py.")
    with open(os.path.join(args.out, "icrp107_nuclide_summary.csv"), "w") as f:
        f.write("# Per-nuclide half-life, decay modes, daughters/branching and energy emitted per "
                "nuclear transformation (nt).\n" + src + "\n")
        f.write("# Columns ndx_*: values printed in ICRP-07.NDX (MeV/nt). NOTE ndx_E_alpha "
                "INCLUDES the alpha-recoil nucleus energy (alpha+recoil);\n"
                "#   ndx_E_electron = beta(-/+) + internal-conversion + Auger electrons; "
                "ndx_E_photon = gamma + X-ray + annihilation photons.\n"
                "# Columns rad_*: sums of yield*energy over the ICRP-07.RAD records (JSON) by "
                "radiation type (MeV/nt).\n"
                "# half_life_s with 1 y = 365.25 d. Branching fractions are per decay of that "
                "nuclide.\n")
        f.write("nuclide,half_life,half_life_unit,half_life_s,decay_modes,daughters_and_branching,"
                "ndx_E_alpha_plus_recoil_MeV,ndx_E_electron_MeV,ndx_E_photon_MeV,"
                + ",".join(c for c, _ in RAD)
                + ",yield_alpha,yield_beta_minus,yield_beta_plus,n_beta_branches,n_alpha_lines\n")
        f.write("\n".join(rows) + "\n")
    with open(os.path.join(args.out, "icrp107_beta_spectra.csv"), "w") as f:
        f.write("# Total beta spectra (all branches summed; beta- or beta+), N(E) = number of "
                "betas per MeV per nt at kinetic energy E.\n" + src
                + " Integral of N(E) dE = total beta yield; integral of E N(E) dE = mean beta "
                "energy per nt.\n")
        f.write("nuclide,energy_MeV,betas_per_MeV_per_decay\n" + "\n".join(spectra) + "\n")


if __name__ == "__main__":
    main()
