#!/usr/bin/env python3
"""Import ICRP Publication 107 radionuclide data into xfire's compact data file.

Rerunnable. Needs only the PyPI packages named below (no network at build or test time):

    python3 -m venv .venv && .venv/bin/pip install icrp107-database==0.0.3 decaychain==0.7.1
    .venv/bin/python scripts/import_icrp107.py

Sources:
  * ICRP-07.NDX (index: half-lives, decay modes, daughters, branching, energy totals) as
    shipped in PyPI `decaychain` 0.7.1 (MIT-licensed package; data (c) 2008 A. Endo and
    K.F. Eckerman, ICRP Publication 107).
  * ICRP-07.RAD / ICRP-07.BET (emission lines and beta spectra) as JSON in PyPI
    `icrp107-database` 0.0.3 (OpenGATE; LGPL-3.0 package).

Writes crates/xfire-data/data/icrp107.json: the 33 nuclides xfire is asked for plus every
radioactive member their chains reach.
"""
import json
import os
import sys

import decaychain
import icrp107_database

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT = os.path.join(ROOT, "crates", "xfire-data", "data", "icrp107.json")

WANTED = """Lu-177 Y-90 I-131 Tb-161 Cu-67 Ho-166 Sm-153 Ra-223 Rn-219 Po-215 Pb-211 Bi-211
Tl-207 Po-211 Ac-225 Fr-221 At-217 Bi-213 Po-213 Tl-209 Pb-209 Rn-217 At-211 Bi-207 Pb-212
Bi-212 Po-212 Tl-208 Th-227 Tb-149 I-125 In-111 Tc-99m""".split()

UNIT_S = {"us": 1e-6, "ms": 1e-3, "s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0,
          "y": 365.25 * 86400.0}


def read_ndx():
    path = os.path.join(os.path.dirname(decaychain.__file__), "data", "ICRP-07.NDX")
    lines = open(path, encoding="latin-1").read().splitlines()
    rows = {}
    for l in lines[1:]:
        name = l[0:7].strip()
        if not name:
            continue
        hl_text = l[7:15].strip()
        unit = l[15:17].strip()
        mode = l[17:25].strip()
        base = 7 + 8 + 2 + 8 + 21 + 6 + 1
        daughters = []
        for k in range(4):
            s = l[base + k * 25: base + (k + 1) * 25]
            d = s[0:7].strip()
            if d:
                daughters.append({"nuclide": d, "branching": float(s[13:24])})
        rest = l[base + 4 * 25:].split()
        rows[name] = {
            "half_life_text": hl_text,
            "half_life_unit": unit,
            "half_life_s": float(hl_text) * UNIT_S[unit],
            "decay_modes": mode,
            "daughters": daughters,
            "ndx_e_alpha_mev": float(rest[0]),
            "ndx_e_electron_mev": float(rest[1]),
            "ndx_e_photon_mev": float(rest[2]),
        }
    return rows


def read_rad(name):
    path = os.path.join(os.path.dirname(icrp107_database.__file__), "icrp107", name + ".json")
    d = json.load(open(path))
    if isinstance(d, str):
        d = json.loads(d)
    return d["emissions"]


def main():
    ndx = read_ndx()
    order, seen, queue = [], set(), list(WANTED)
    while queue:
        n = queue.pop(0)
        if n in seen:
            continue
        seen.add(n)
        if n not in ndx:
            continue  # stable end point
        order.append(n)
        queue.extend(d["nuclide"] for d in ndx[n]["daughters"])
    out = []
    for n in order:
        e = read_rad(n)
        alpha = e.get("alpha", [])
        recoil = e.get("alpha recoil", [])
        if len(alpha) != len(recoil):
            sys.exit(f"{n}: {len(alpha)} alpha lines but {len(recoil)} recoil lines")
        for a, r in zip(alpha, recoil):
            if abs(a[1] - r[1]) > 1e-9 * max(a[1], 1e-30):
                sys.exit(f"{n}: alpha/recoil yields differ: {a} {r}")
        for k in ("neutron", "fission", "betaD"):
            if e.get(k):
                sys.exit(f"{n}: unexpected {k} records")
        spec = e.get("b-spectra", [])
        rec = dict(ndx[n])
        rec["name"] = n
        rec["alpha"] = [[a[0], a[1], r[0]] for a, r in zip(alpha, recoil)]
        rec["beta_minus_branches"] = e.get("beta-", [])
        rec["beta_plus_branches"] = e.get("beta+", [])
        rec["ic"] = e.get("IE", [])
        rec["auger"] = e.get("auger", [])
        rec["gamma"] = e.get("gamma", [])
        rec["xray"] = e.get("X", [])
        rec["annihilation"] = e.get("annihilation", [])
        if spec:
            kind = "beta-" if e.get("beta-") else "beta+"
            rec["beta_spectrum"] = {"kind": kind, "energy_mev": [p[0] for p in spec],
                                    "per_mev_per_decay": [p[1] for p in spec]}
        else:
            rec["beta_spectrum"] = None
        out.append(rec)
    doc = {
        "format": "xfire-icrp107/1",
        "source": "ICRP Publication 107 (Eckerman & Endo 2008, Ann. ICRP 38(3)): ICRP-07.NDX from "
                  "PyPI decaychain 0.7.1; ICRP-07.RAD/BET as JSON from PyPI icrp107-database 0.0.3",
        "generated_by": "scripts/import_icrp107.py",
        "nuclides": out,
    }
    with open(OUT, "w") as f:
        json.dump(doc, f, separators=(",", ":"))
        f.write("\n")
    print(f"wrote {len(out)} nuclides to {OUT} ({os.path.getsize(OUT)} bytes)")


if __name__ == "__main__":
    main()
