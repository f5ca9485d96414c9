"""xfire: Monte Carlo dosimetry for radiopharmaceutical therapy at the scale of cells.

Python bindings of the xfire engine (the same library the ``xfire`` command calls; the same
numbers for the same arguments and seed). Quantities with units are text, read exactly as on
the command line: energies ``"500 keV"``, lengths ``"50 um"``, times ``"6.647 d"``,
activities ``"7.4 GBq"`` (units are case-exact, ``docs/formats/units.md``).

Functions: :func:`nuclide`, :func:`nuclides`, :func:`chain`, :func:`range`, :func:`kernel`,
:func:`run`, :func:`compare`; :mod:`xfire.phantom` (``generate``, ``load``: numpy arrays).
Transport releases the GIL; Ctrl-C stops it at the next round of batches
(``KeyboardInterrupt``); ``progress=callable(what, done, total)`` reports decays done
(:func:`tqdm_progress` makes one that draws tqdm bars). Bad arguments raise ``ValueError`` or
``TypeError`` with the command line's messages (the value and its unit).
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from typing import Any, Callable, Dict, List, Optional, Sequence, Union

import numpy as np

from . import _xfire, phantom

__version__: str = _xfire.__version__

Progress = Callable[[str, int, int], Any]
"""A progress callback: ``progress(what, done, total)`` with decays done of ``total``."""

__all__ = [
    "nuclide",
    "nuclides",
    "chain",
    "range",
    "kernel",
    "run",
    "compare",
    "Comparison",
    "phantom",
    "Kernel",
    "RunResult",
    "tqdm_progress",
]


def nuclide(name: str) -> Dict[str, Any]:
    """One radionuclide of the ICRP-107 library, as ``xfire nuclide show NAME --json``.

    ``name``: any spelling (``"Lu-177"``, ``"177Lu"``, ``"lu177"``). Keys: ``half_life_s``
    [s], ``energy_per_decay_mev`` [MeV] and ``yield_per_decay`` by radiation type,
    ``daughters`` with branching fractions, ... (``docs/formats/nuclide.md``).
    """
    return json.loads(_xfire.nuclide(name))


def nuclides() -> List[Dict[str, Any]]:
    """Every radionuclide of the library (``name``, ``half_life_s`` [s], ``decay_modes``)."""
    return json.loads(_xfire.nuclides())


def chain(
    name: str, times: Union[str, Sequence[str]], activity: str = "1 Bq"
) -> Dict[str, Any]:
    """Activities and cumulated decays of every member of a decay chain (exact Bateman).

    As ``xfire chain NAME --times T --activity A --json`` (``docs/formats/chain.md``).
    ``times``: ``"1h,1d,10d"`` or a list of times with units; ``activity``: of the parent at
    t = 0 with its unit. Returns ``times_s`` [s] and per member ``activity_bq`` [Bq] and
    ``cumulated_decays`` (decays in [0, t]).
    """
    if not isinstance(times, str):
        times = ",".join(times)
    return json.loads(_xfire.chain(name, times, activity))


def range(  # noqa: A001 (the command's name)
    particle: str,
    energy: str,
    material: str = "water",
    materials_file: Optional[Union[str, os.PathLike]] = None,
) -> Dict[str, Any]:
    """CSDA range and stopping power, as ``xfire range PARTICLE ENERGY --json``.

    ``particle``: ``"electron"`` (ICRU 37 / ESTAR method) or ``"alpha"`` (ASTAR, ICRU 49);
    ``energy``: kinetic energy with its unit (``"500 keV"``); ``material``: built in
    (``water``, ``soft_tissue_icrp``, ...) or defined in ``materials_file`` (TOML,
    ``docs/formats/materials.md``). Keys include ``csda_range_cm`` [cm], ``csda_range_um``
    [µm] and ``stopping_power_mev_cm2_g`` [MeV cm²/g] (``docs/formats/range.md``).
    """
    kw = dict(particle=particle, energy=energy, material=material)
    if materials_file is not None:
        kw["materials_file"] = os.fspath(materials_file)
    return json.loads(_xfire.range(kw))


def _array(data: bytes, dtype: str, shape: Sequence[int]) -> np.ndarray:
    return np.frombuffer(bytearray(data), dtype=np.dtype(dtype)).reshape(tuple(shape))


@dataclass
class Kernel:
    """A dose point kernel or voxel S-values (``xfire kernel``, ``docs/formats/kernel.md``).

    Arrays are shaped (grid, grid, grid) as (z, y, x) (x fastest, as in ``kernel.h5``); the
    source is in voxel (grid//2, grid//2, grid//2).
    """

    edep_mev_per_decay: np.ndarray
    """Energy deposited per decay in each voxel [MeV]."""
    dose_gy_per_decay: np.ndarray
    """Absorbed dose per decay in each voxel [Gy]."""
    rel_unc: np.ndarray
    """Relative standard uncertainty of the energy (batch method; 1 where nothing was
    scored, NaN with fewer than 2 batches)."""
    summary: Dict[str, Any]
    """The command's JSON summary (energies per decay [MeV], ``voxel_cm``, ``wall_s``, ...),
    without ``files``."""


def kernel(
    *,
    nuclide: Optional[str] = None,
    emissions: str = "all",
    particle: Optional[str] = None,
    energy: Optional[str] = None,
    material: str = "water",
    materials_file: Optional[Union[str, os.PathLike]] = None,
    voxel: str,
    grid: int,
    source: str,
    decays: int,
    seed: int = 1,
    threads: int = 0,
    batch_size: int = 1000,
    alpha_straggling: bool = False,
    electron_model: str = "auto",
    electron_cut: str = "auto",
    progress: Optional[Progress] = None,
) -> Kernel:
    """A dose point kernel or voxel S-values in a homogeneous medium (``xfire kernel``).

    Give ``nuclide`` (any spelling; ``emissions``: ``beta``, ``electrons``, ``alpha`` or
    ``all``) or ``particle`` (``electron``, ``alpha``, ``photon``) with ``energy`` (``"5
    MeV"``). ``voxel``: edge length with its unit (``"50 um"``); ``grid``: voxels per axis
    (odd, at most 1001); ``source``: ``"point"`` (decays at the centre of the centre voxel)
    or ``"voxel"`` (uniform in it); ``decays``: histories; ``threads``: 0 = all cores (the
    numbers do not depend on it); ``batch_size``: histories per batch (statistics are over
    batches); ``electron_model``: ``auto`` (= ``condensed``) or ``csda``; ``electron_cut``:
    condensed-history cutoff (``"10 keV"``, 1 keV to 1 MeV) or ``auto`` (10 keV for voxels
    of 25 µm and more, else 1 keV). Same numbers as the command for the same arguments.
    """
    if nuclide is None:
        emissions = None  # type: ignore[assignment]
    kw: Dict[str, Any] = dict(
        nuclide=nuclide,
        emissions=emissions,
        particle=particle,
        energy=energy,
        material=material,
        materials_file=None if materials_file is None else os.fspath(materials_file),
        voxel=voxel,
        grid=grid,
        source=source,
        decays=decays,
        seed=seed,
        threads=threads,
        batch_size=batch_size,
        alpha_straggling=alpha_straggling,
        electron_model=electron_model,
        electron_cut=electron_cut,
        progress=progress,
    )
    out = _xfire.kernel(kw)
    n = out["grid"]
    arrays = {
        k: _array(out[k], "<f8", (n, n, n))
        for k in ("edep_mev_per_decay", "dose_gy_per_decay", "rel_unc")
    }
    return Kernel(summary=json.loads(out["summary"]), **arrays)


@dataclass
class RunResult:
    """The results of a scenario (``xfire run``; ``docs/formats/results.md``)."""

    summary: Dict[str, Any]
    """``summary.json``: per label and cell group doses [Gy], survival, exposures, the
    immunotherapy ``window``, parameters used, notes."""
    cells: Dict[str, np.ndarray]
    """Per resident cell (tumour cells, then lymphocytes), as ``results.h5`` ``cells/``:
    ``id``, ``kind`` (0 tumour, 1 lymphocyte), ``labelled``, ``uptake_weight``,
    ``dose_gy``, ``alpha_dose_gy``, ``dose_sd_gy``, ``alpha_dose_sd_gy``,
    ``rbe_weighted_dose_gy``, ``bed_gy`` [Gy], ``surviving_fraction`` [1], and
    ``dose_at_times_gy`` (reporting times × cells) [Gy]."""
    curves: Dict[str, Any]
    """``times_s`` [s], ``names`` (tumour cells, lymphocytes, then every label),
    ``rate_gy_per_s`` [Gy/s] and ``cumulative_gy`` [Gy] shaped (curves, times)."""

    @property
    def window(self) -> Optional[Dict[str, Any]]:
        """The immunotherapy window (``summary["window"]``: survival vs start day, start and
        end day), or None."""
        return self.summary.get("window")


def _cells(raw: Dict[str, Any]) -> Dict[str, np.ndarray]:
    types = {"id": "<u4", "kind": "<u2", "labelled": "u1"}
    n = len(raw["id"]) // 4
    cells: Dict[str, np.ndarray] = {}
    for key, value in raw.items():
        if key == "times":
            continue
        if key == "dose_at_times_gy":
            cells[key] = _array(value, "<f8", (raw["times"], n))
        else:
            cells[key] = _array(value, types.get(key, "<f8"), (n,))
    cells["labelled"] = cells["labelled"].astype(bool)
    return cells


def _curves(raw: Dict[str, Any]) -> Dict[str, Any]:
    times = _array(raw["times_s"], "<f8", (-1,))
    shape = (len(raw["names"]), len(times))
    return {
        "times_s": times,
        "names": list(raw["names"]),
        "rate_gy_per_s": _array(raw["rate_gy_per_s"], "<f8", shape),
        "cumulative_gy": _array(raw["cumulative_gy"], "<f8", shape),
    }


def run(
    scenario: Union[str, os.PathLike, Dict[str, Any]],
    *,
    decays: Optional[int] = None,
    threads: int = 0,
    base: Optional[Union[str, os.PathLike]] = None,
    progress: Optional[Progress] = None,
) -> RunResult:
    """Runs a scenario end to end (``xfire run``, without files or cache).

    ``scenario``: a scenario file (TOML, ``docs/formats/scenario.md``) or a dict of the same
    content (relative file names in it resolve against ``base``). ``decays`` replaces the
    scenario's ``transport.decays``; ``threads``: 0 = all cores (the numbers do not depend on
    it). Same per-cell doses as ``xfire run`` for the same scenario.
    """
    kw: Dict[str, Any] = dict(decays=decays, threads=threads, progress=progress)
    kw.update(_scenario_kw(scenario, base))
    out = _xfire.run(kw)
    return RunResult(
        summary=json.loads(out["summary"]),
        cells=_cells(out["cells"]),
        curves=_curves(out["curves"]),
    )


def _scenario_kw(
    scenario: Union[str, os.PathLike, Dict[str, Any]],
    base: Optional[Union[str, os.PathLike]],
) -> Dict[str, Any]:
    if isinstance(scenario, dict):
        return {
            "toml": _xfire.toml_from_json(json.dumps(scenario)),
            "base": None if base is None else os.fspath(base),
        }
    if isinstance(scenario, (str, os.PathLike)):
        return {"path": os.fspath(scenario)}
    raise TypeError(f"scenario must be a path or a dict, got {type(scenario).__name__}")


@dataclass
class Comparison:
    """Nuclides compared on one scenario (``xfire compare``; ``docs/formats/comparison.md``)."""

    comparison: Dict[str, Any]
    """``comparison.json``: one row per nuclide (tumour and lymphocyte doses [Gy], survival
    per exposure model, the window's start and end day [d], ...)."""
    survival: Dict[str, Any]
    """Per nuclide: ``(start_days, survival)`` numpy arrays, the curves of the
    ``survival_vs_start_day`` figure (mean surviving fraction of a lymphocyte cohort arriving
    on each day [d])."""


def compare(
    scenario: Union[str, os.PathLike, Dict[str, Any]],
    *,
    nuclides: Union[str, Sequence[str]] = "Lu-177,Tb-161,Ac-225,Bi-213,At-211,Pb-212,Ra-223",
    normalise: str = "tumour-dose",
    reference: Optional[str] = None,
    decays: Optional[int] = None,
    crossfire_decays: int = 20000,
    threads: int = 0,
    base: Optional[Union[str, os.PathLike]] = None,
    progress: Optional[Progress] = None,
) -> Comparison:
    """Compares nuclides on one scenario (``xfire compare``, without files or cache).

    ``nuclides``: names (list or comma-separated); ``normalise``: ``tumour-dose`` (equal
    mean tumour dose), ``activity`` or ``decays``; ``reference``: the nuclide whose amount
    is the scenario's (default: the first); ``decays`` replaces ``transport.decays``;
    ``crossfire_decays``: decays of the self-cell transport (0: no cross-fire fraction).
    """
    if not isinstance(nuclides, str):
        nuclides = ",".join(nuclides)
    kw: Dict[str, Any] = dict(
        nuclides=nuclides,
        normalise=normalise,
        reference=reference,
        decays=decays,
        crossfire_decays=crossfire_decays,
        threads=threads,
        progress=progress,
    )
    kw.update(_scenario_kw(scenario, base))
    out = _xfire.compare(kw)
    survival = {
        name: (_array(days, "<f8", (-1,)), _array(s, "<f8", (-1,)))
        for name, (days, s) in out["survival"].items()
    }
    return Comparison(comparison=json.loads(out["comparison"]), survival=survival)


def tqdm_progress(**tqdm_kwargs: Any) -> Progress:
    """A progress callback drawing one tqdm bar per transported part (needs ``tqdm``)."""
    from tqdm.auto import tqdm  # imported here: tqdm is optional

    bars: Dict[str, Any] = {}

    def progress(what: str, done: int, total: int) -> None:
        bar = bars.get(what)
        if bar is None:
            for other in bars.values():
                other.close()
            bar = bars[what] = tqdm(total=total, desc=what, unit="decays", **tqdm_kwargs)
        bar.total = total
        bar.update(done - bar.n)
        if done >= total:
            bar.close()

    return progress
