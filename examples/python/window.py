"""The README's main-job figure from Python, small: lymphocyte survival vs immunotherapy
start day for each nuclide, normalised to equal mean tumour dose (the `survival_vs_start_day`
figure of `xfire compare`, docs/img/compare-survival.png).

The README's run compares seven nuclides at 40 000 decays; this script compares two (177Lu,
225Ac) at DECAYS decays so that CI can run it in seconds: the curves are the same models,
noisier. `python examples/python/window.py [OUT.png] [--decays N] [--nuclides A,B,...]`.
"""

import argparse
from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # no display needed
import matplotlib.pyplot as plt  # noqa: E402

import xfire  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("out", nargs="?", default="window.png", help="figure file (PNG)")
    ap.add_argument("--decays", type=int, default=2000)
    ap.add_argument("--nuclides", default="Lu-177,Ac-225")
    a = ap.parse_args()
    c = xfire.compare(
        ROOT / "phantoms" / "til-spheroid-lu177.toml",
        nuclides=a.nuclides.split(","),
        decays=a.decays,
    )
    target = c.comparison["rows"][0]["survival_target"]
    fig, ax = plt.subplots(figsize=(8, 4.7))
    for row in c.comparison["rows"]:
        days, survival = c.survival[row["nuclide"]]
        (line,) = ax.plot(days, survival, label=row["nuclide"])
        if row["window_day"] is not None:
            i = list(days).index(row["window_day"])
            ax.plot(days[i], survival[i], "o", color=line.get_color())
        print(f"{row['nuclide']}: window opens on day {row['window_day']}")
    ax.axhline(target, ls="--", color="grey", label=f"{100 * target:.0f} % target")
    ax.set_xlabel("Immunotherapy start day (after the first administration)")
    ax.set_ylabel("Mean lymphocyte surviving fraction")
    ax.set_title("Lymphocyte survival vs immunotherapy start day")
    ax.set_ylim(0, 1.02)
    ax.legend()
    fig.tight_layout()
    fig.savefig(a.out, dpi=100)
    print(f"wrote {a.out}")


if __name__ == "__main__":
    main()
