#!/usr/bin/env python3
"""EGSnrc's first elastic transport cross section 1/lambda_1 of liquid water, as its
condensed-history electron transport uses it, from the data shipped in the PyPI `ompmc` 0.4.0
wheel (a C port of EGSnrc; data files `spinms.data`, PEGS4 `521icru`).

EGSnrc's elastic model (Kawrakow, Med. Phys. 27 (2000) 485; PIRS-701 section 2.4): screened
Rutherford cross section with a screening parameter eta' fitted per element to partial-wave
(PWA) cross sections, times a spin rejection function whose effect on the first moment is the
factor c (both from spinms.data, combined for the compound with weights n_i Z_i(Z_i+1)
as in ompMC's initSpinData), times ms_corr = 1 - g_M/g_R * sum(n Z)/sum(n Z(Z+1)), the removal of
the hard Moller deflections from the Z(Z+1) term (AE = 10 keV kinetic). Then
1/lambda_1 = 2 K sum_i(...)[ln(1 + 1/eta) - 1/(1 + eta)] c ms_corr with
K = pi r_e^2 (m c^2)^2 / (p^2 beta^2) N_A sum_i w_i Z_i(Z_i+1)/A_i [cm^2/g].

Writes crates/xfire-physics/tests/data/egsnrc_water_lambda1.csv (checked by the test
`elastic_transport_cross_section_matches_egsnrc` in crates/xfire-physics/tests/condensed_history.rs).

Usage (never needed to build or test):
    .venv-ompmc/bin/python scripts/egsnrc_transport_xs.py
"""
import math
from pathlib import Path

import numpy as np
import ompmc

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "crates" / "xfire-physics" / "tests" / "data" / "egsnrc_water_lambda1.csv"
RM = 0.5109989461
N = 15  # MXE_SPIN
ALPHA_TF2 = (137.03604 * 0.88534138) ** 2
R_E = 2.8179403262e-13
N_A = 6.02214076e23
# water as in PEGS4 H2O521ICRU: H pz = 2, O pz = 1; mass fractions for K
ELS = [(1.0, 2.0, 1.008), (8.0, 1.0, 15.999)]
CUT = 0.01  # AE - m: Moller threshold [MeV]


def spin_tables():
    raw = (ompmc.data_path() / "data" / "spinms.data").read_bytes()
    f = np.frombuffer(raw[: len(raw) // 4 * 4], dtype="<f4")
    emin, emax, b2min, b2max = [float(x) for x in np.frombuffer(raw[36:52], dtype="<f4")]
    e = [emin * math.exp(i * math.log(emax / emin) / N) for i in range(N + 1)]
    e.append(emax)
    b, db = b2min, (b2max - b2min) / N
    for _ in range(N + 2, 2 * N + 2):
        b += db
        e.append(RM * 1000 * (1 / math.sqrt(1 - b) - 1) if b < 0.999 else 50585.1)
    sum_z2 = sum(z * (z + 1) * pz for z, pz, _ in ELS)
    rows = []
    for i in range(2 * N + 2):
        tau = e[i] / 1000.0 / RM
        eta_acc = c = 0.0
        for z, pz, _ in ELS:
            o = 276 * (1 + (int(z) - 1) * 4 * (N + 1) + i)  # electrons: iq = 0
            d1, _, d3, aux = f[o], f[o + 1], f[o + 2], f[o + 3]
            tmp = z * (z + 1) * pz
            z23 = z ** (2.0 / 3.0)
            eta_acc += tmp * math.log(z23 * aux)
            eta = z23 / ALPHA_TF2 * aux / 4 / tau / (tau + 2)
            c += tmp * (math.log(1 + 1 / eta) - 1 / (1 + eta)) * d1 * d3
        eta_eff = math.exp(eta_acc / sum_z2) / ALPHA_TF2 / 4 / tau / (tau + 2)
        rows.append((e[i] / 1000.0, eta_eff, c / sum_z2))
    return rows


def ms_corr(t_mev, eta):
    sum_z = sum(z * pz for z, pz, _ in ELS)
    sum_z2 = sum(z * (z + 1) * pz for z, pz, _ in ELS)
    tau, tc = t_mev / RM, CUT / RM
    if tau <= 2 * tc:
        return 1.0
    g_r = (1 + 2 * eta) * math.log(1 + 1 / eta) - 2
    r = (tau + 2) / (tau + 1)
    g_m = (math.log(0.5 * tau / tc) + (1 + r * r) * math.log(2 * (tau - tc + 2) / (tau + 4))
           - 0.25 * (tau + 2) * (tau + 2 + 2 * (2 * tau + 1) / (tau + 1) ** 2)
           * math.log((tau + 4) * (tau - tc) / tau / (tau - tc + 2))
           + 0.5 * (tau - 2 * tc) * (tau + 2) * (1 / (tau - tc) - 1 / (tau + 1) ** 2))
    return 1 - (g_m / g_r if g_m < g_r else 1.0) * sum_z / sum_z2


def main():
    rows = spin_tables()
    le = np.log([r[0] for r in rows[: N + 1]] + [r[0] for r in rows[N + 2:]])
    etas = [r[1] for r in rows[: N + 1]] + [r[1] for r in rows[N + 2:]]
    cs = [r[2] for r in rows[: N + 1]] + [r[2] for r in rows[N + 2:]]
    mass = sum(pz * a for _, pz, a in ELS)
    zz1 = sum(pz * z * (z + 1) for z, pz, _ in ELS) / mass
    with open(OUT, "w") as f:
        f.write("# EGSnrc first elastic transport cross section of water (scripts/egsnrc_transport_xs.py)\n")
        f.write(f"# data: ompMC {ompmc.__version__} wheel (EGSnrc spinms.data; PEGS4 521icru, AE = 10 keV kinetic)\n")
        f.write("# licence of the source data: EGSnrc (AGPL-3.0, NRC Canada); these are derived numbers\n")
        f.write("# columns: kinetic energy [MeV], screening eta' (PWA-fitted), spin and per-element correction c of the first moment relative to screened Rutherford with eta', ms_corr, 1/lambda_1 [cm^2/g]\n")
        f.write("t_mev,eta,c,ms_corr,inv_lambda1_cm2_g\n")
        for t in [0.02, 0.05, 0.1, 0.2, 0.3, 0.5, 0.7, 1.0, 1.5, 2.0]:
            eta = float(np.interp(math.log(t), le, etas))
            c = float(np.interp(math.log(t), le, cs))
            tau = t / RM
            p2 = tau * (tau + 2) * RM * RM
            b2 = tau * (tau + 2) / (tau + 1) ** 2
            k = math.pi * R_E ** 2 * RM ** 2 / (p2 * b2) * N_A * zz1
            mc = ms_corr(t, eta)
            # c holds sum_i n_i Z_i(Z_i+1) [ln(1 + 1/eta_i) - 1/(1 + eta_i)] c_i / sum n Z(Z+1)
            inv_l1 = 2 * k * c * mc
            c_rel = c / (math.log(1 + 1 / eta) - 1 / (1 + eta))
            f.write(f"{t},{eta:.6e},{c_rel:.6f},{mc:.6f},{inv_l1:.6e}\n")
    print("wrote", OUT)


if __name__ == "__main__":
    main()
