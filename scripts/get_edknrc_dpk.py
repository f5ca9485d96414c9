#!/usr/bin/env python3
"""Writes crates/xfire-transport/tests/data/edknrc_dpk_water.csv from the EGSnrc (EDKnrc)
dose point kernels shipped with Geant4 (examples/extended/electromagnetic/TestEm12/berger/
EGSnrc/100keV-DPK.ascii and 1MeV-DPK.ascii; Mainegra-Hing, Rogers, Kawrakow, Med. Phys. 32
(2005) 685). Usage: scripts/get_edknrc_dpk.py GEANT4_SOURCE_DIR [OUT]  (a clone of
https://github.com/Geant4/geant4; no other dependency). Reproduces the committed file byte for
byte."""
import pathlib
import sys

HEADER = '# EGSnrc (EDKnrc) dose point kernels of mono-energetic electrons in water, shell-scored\n# (energy deposited in concentric spherical shells around an isotropic point source in an\n# infinite water medium; no voxel grid), scaled: d(E/E0)/d(r/r0) per shell of width 0.05 r0,\n# r0 = CSDA range. Columns: r_over_r0 (the shell\'s quoted abscissa, as in the source file),\n# then the kernel at 0.1 MeV and at 1 MeV. Shell k (k = 0..23) spans [0.05 k, 0.05 (k+1)] r0;\n# the sums of kernel x 0.05 are 0.9996 (0.1 MeV) and 0.9967 (1 MeV): the rest is\n# bremsstrahlung leaving the scoring spheres.\n# Source: Geant4 source tree, examples/extended/electromagnetic/TestEm12/berger/EGSnrc/\n# 100keV-DPK.ascii and 1MeV-DPK.ascii ("Water", "October 2010"), whose README says: computed\n# with the EGSnrc user code EDKnrc developed by E. Mainegra et al.; PRESTA-II, EXACT boundary\n# crossing (skin 3), ESTEPE 1 %, electron tracking cut 1 keV below 1 MeV and 10 keV at 1 MeV;\n# references E. Mainegra-Hing, D.W.O. Rogers, I. Kawrakow, Med. Phys. 32 (2005) 685-699, and\n# D.W.O. Rogers et al., NRC report PIRS-702(RevB). Values copied unchanged (3 decimals).\n# Licence: redistributed from Geant4 under the Geant4 Software License v1.0\n# (https://geant4.web.cern.ch/license/LICENSE.html), which allows redistribution with this\n# notice; the numbers are results of the EGSnrc runs cited above.\n# Regenerate: scripts/get_edknrc_dpk.py (copies the two Geant4 files into this table).\n'


def read(path):
    lines = path.read_text().split("\n")
    n = int(lines[0])
    rows = [tuple(float(x) for x in l.split()) for l in lines[1 : n + 1]]
    assert len(rows) == n == 24, path
    return rows


def main():
    src = pathlib.Path(sys.argv[1]) / "examples/extended/electromagnetic/TestEm12/berger/EGSnrc"
    here = pathlib.Path(__file__).resolve().parent.parent
    out = pathlib.Path(sys.argv[2]) if len(sys.argv) > 2 else (
        here / "crates/xfire-transport/tests/data/edknrc_dpk_water.csv")
    lo, hi = read(src / "100keV-DPK.ascii"), read(src / "1MeV-DPK.ascii")
    text = HEADER + "r_over_r0,kernel_0p1mev,kernel_1mev\n"
    for (x, p), (x2, q) in zip(lo, hi):
        assert x == x2
        text += f"{x:.3f},{p:.3f},{q:.3f}\n"
    out.write_text(text)


if __name__ == "__main__":
    main()
