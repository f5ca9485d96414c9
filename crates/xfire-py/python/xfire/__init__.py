"""xfire: Monte Carlo dosimetry for radiopharmaceutical therapy at the scale of cells.

Python bindings of the xfire engine (the same library the ``xfire`` command calls; the same
numbers for the same arguments and seed). Quantities with units are text, read exactly as on
the command line: energies ``"500 keV"``, lengths ``"50 um"``, times ``"6.647 d"``,
activities ``"7.4 GBq"`` (units are case-exact, ``docs/formats/units.md``).

Functions: :func:`nuclide`, :func:`nuclides`, :func:`chain`, :func:`range`, :func:`kernel`,
:func:`run`, :func:`compare`, :func:`dose`; :mod:`xfire.phantom` (``generate``, ``load``: numpy
arrays).
Transport releases the GIL; Ctrl-C stops it at the next round of batches
(``KeyboardInterrupt``); ``progress=callable(what, done, total)`` reports decays done
(:func:`tqdm_progress` makes one that draws tqdm bars). Bad arguments raise ``ValueError`` or
``TypeError`` with the command line's messages (the value and its unit).
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from typing import Any, Callable, Dict, List, Mapping, Optional, Sequence, Tuple, Union

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
    "dose",
    "DoseResult",
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


def _fspath(path: Optional[Union[str, os.PathLike]]) -> Optional[str]:
    return None if path is None else os.fspath(path)


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
        materials_file=_fspath(materials_file),
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
            "base": _fspath(base),
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
    threads: int = 0,
    base: Optional[Union[str, os.PathLike]] = None,
    progress: Optional[Progress] = None,
) -> Comparison:
    """Compares nuclides on one scenario (``xfire compare``, without files or cache).

    ``nuclides``: names (list or comma-separated); ``normalise``: ``tumour-dose`` (equal
    mean tumour dose), ``activity`` or ``decays``; ``reference``: the nuclide whose amount
    is the scenario's (default: the first); ``decays`` replaces ``transport.decays``.
    """
    if not isinstance(nuclides, str):
        nuclides = ",".join(nuclides)
    kw: Dict[str, Any] = dict(
        nuclides=nuclides,
        normalise=normalise,
        reference=reference,
        decays=decays,
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


PathLike = Union[str, os.PathLike]
ImageArg = Union[str, os.PathLike, np.ndarray]
"""An image: a file (NIfTI ``.nii``/``.nii.gz``, MetaImage ``.mhd``; an xfire phantom ``.h5``
as ``ct`` or ``labels``) or a numpy array shaped (nz, ny, nx) on the grid of ``voxel`` and
``origin``."""


@dataclass
class DoseResult:
    """A dose from activity images (``xfire dose``; ``docs/formats/dose.md``).

    Arrays are shaped (nz, ny, nx) (x fastest): the shape and orientation of array inputs, and
    of files as read (the command's ``dose.nii.gz`` holds the same values, as float32, in the
    input file's orientation).
    """

    dose_gy: np.ndarray
    """Absorbed dose per voxel [Gy] (float64)."""
    rel_unc: Optional[np.ndarray]
    """Relative standard uncertainty of the dose per voxel (batch method; Monte Carlo, and
    the Monte Carlo voxels of ``hybrid``, 0 elsewhere); None for ``vsv``."""
    tia_bq_s: np.ndarray
    """Time-integrated activity per voxel [Bq·s] (= decays)."""
    summary: Dict[str, Any]
    """``summary.json``: ``labels`` (per label ``id``, ``name``, ``mass_g`` [g], ``tia_bq_s``
    [Bq·s], ``mean_gy``, ``d2_gy``, ``d50_gy``, ``d90_gy``, ``d98_gy`` [Gy], ``mean_rel_unc``),
    kernel, Monte Carlo settings, fits, notes (``files`` only with ``out``)."""
    dvh: Dict[str, Any]
    """Cumulative dose–volume histograms (``dvh.csv``): ``dose_gy`` (bins [Gy]), ``labels``
    (names, as ``summary["labels"]``), ``volume_fraction`` shaped (labels, bins)."""

    @property
    def labels(self) -> List[Dict[str, Any]]:
        """Per label statistics, ``summary["labels"]``."""
        return self.summary["labels"]


def _image(value: Optional[ImageArg], name: str) -> Any:
    if value is None:
        return None
    if isinstance(value, (str, os.PathLike)):
        return os.fspath(value)
    if isinstance(value, np.ndarray):
        if not (np.issubdtype(value.dtype, np.integer) or np.issubdtype(value.dtype, np.floating)):
            raise TypeError(f"{name} must hold real numbers, got dtype {value.dtype}")
        if value.ndim != 3:
            raise ValueError(f"{name} must be a 3-D array shaped (nz, ny, nx), got shape {value.shape}")
        data = np.ascontiguousarray(value, dtype="<f8").tobytes()
        return {"data": data, "shape": tuple(int(n) for n in value.shape)}
    raise TypeError(f"{name} must be a path or a numpy array, got {type(value).__name__}")


def _timepoints(
    timepoints: Union[None, str, Sequence[Tuple[str, ImageArg]]],
) -> Any:
    if timepoints is None or isinstance(timepoints, str):
        return timepoints
    out = []
    for k, pair in enumerate(timepoints):
        if not (isinstance(pair, (tuple, list)) and len(pair) == 2):
            raise TypeError(f"timepoints[{k}] must be a (time with unit, image) pair, e.g. (\"24 h\", array)")
        out.append((pair[0], _image(pair[1], f"timepoints[{k}]")))
    return out


def dose(
    activity: Optional[ImageArg] = None,
    *,
    nuclide: str,
    quantity: str,
    method: str,
    timepoints: Union[None, str, Sequence[Tuple[str, ImageArg]]] = None,
    fit: str = "trapezoid",
    fit_level: str = "voxel",
    voxel: Union[None, str, Sequence[str]] = None,
    origin: Optional[Sequence[str]] = None,
    ct: Optional[ImageArg] = None,
    hu_table: Optional[PathLike] = None,
    labels: Optional[ImageArg] = None,
    label_names: Union[None, PathLike, Mapping[int, str]] = None,
    medium: str = "soft_tissue_icru",
    kernel: Optional[PathLike] = None,
    decays: int = 1_000_000,
    seed: int = 1,
    batch_size: int = 10_000,
    threads: int = 0,
    hybrid_tolerance: float = 0.1,
    hybrid_margin: int = 2,
    out: Optional[PathLike] = None,
    progress: Optional[Progress] = None,
) -> DoseResult:
    """Absorbed dose from activity images (``xfire dose``; the same numbers for the same
    arguments and seed).

    ``activity``: one activity [Bq per voxel] or time-integrated activity [Bq·s per voxel]
    image (``quantity="activity"`` or ``"tia"``), a file or a numpy array; or none, with
    ``timepoints``: activity images at times after administration, the command's text
    (``"24 h:a24.nii.gz,72 h:a72.nii.gz"``) or a list of ``("24 h", image)`` pairs (times
    with units, increasing), integrated by ``fit`` (``trapezoid``, ``mono``; ``bi`` per
    label) per ``fit_level`` (``voxel`` or ``label``). A single activity image without times
    is taken at administration with physical decay only (TIA = A/λ).

    ``ct``: CT numbers [HU] on the activity's grid (calibrated by ``hu_table``, a CSV
    ``hu,density_g_cm3,material``, default the built-in ramp) or an xfire phantom file;
    without it the whole image is ``medium`` (a built-in material). ``labels``: label ids
    (whole numbers 0-65535, 0 = none) or an xfire phantom file; ``label_names``: a CSV file
    of ``id,name`` lines or a dict {id: name}.

    Numpy arrays are shaped (nz, ny, nx) (x fastest) and all lie on one grid: ``voxel``, the
    voxel size with units (``"4.42 mm"``, or three lengths (x, y, z)), and ``origin``, the
    outer corner of voxel (0, 0, 0) (three lengths (x, y, z); default: the grid centred on
    0). Voxels in messages are (x, y, z) indices: ``array[z, y, x]``.

    ``method``: ``vsv`` (voxel S-value convolution with density correction; the kernel of
    the built-in library for the nuclide, ``medium`` and voxel size, or the file
    ``kernel``), ``mc`` (Monte Carlo in the CT phantom: ``decays`` histories in batches of
    ``batch_size``, ``seed``; ``threads``: 0 = all cores, the numbers do not depend on it) or
    ``hybrid`` (Monte Carlo where the density departs from the kernel's by more than the
    fraction ``hybrid_tolerance`` or the material differs, and within ``hybrid_margin``
    voxels of those). ``out``: a new folder to write the command's files into (dose.nii.gz,
    tia.nii.gz, uncertainty.nii.gz, dvh.csv/png/svg, summary.json, report.md/html).
    ``progress(what, done, total)`` is called with the Monte Carlo decays done; Ctrl-C stops
    the transport (``KeyboardInterrupt``). Bad input raises ``ValueError`` (``TypeError``
    for a wrong type) naming the value and its unit, before anything is computed or written.
    """
    if isinstance(voxel, str):
        voxel = [voxel] * 3
    names: Dict[str, Any] = {}
    if isinstance(label_names, Mapping):
        names["label_name_map"] = {int(k): str(v) for k, v in label_names.items()}
    elif label_names is not None:
        names["label_names"] = os.fspath(label_names)
    kw: Dict[str, Any] = dict(
        activity=_image(activity, "activity"),
        timepoints=_timepoints(timepoints),
        nuclide=nuclide,
        quantity=quantity,
        method=method,
        fit=fit,
        fit_level=fit_level,
        voxel=None if voxel is None else list(voxel),
        origin=None if origin is None else list(origin),
        ct=_image(ct, "ct"),
        hu_table=_fspath(hu_table),
        labels=_image(labels, "labels"),
        medium=medium,
        kernel=_fspath(kernel),
        decays=decays,
        seed=seed,
        batch_size=batch_size,
        threads=threads,
        hybrid_tolerance=hybrid_tolerance,
        hybrid_margin=hybrid_margin,
        out=_fspath(out),
        progress=progress,
        **names,
    )
    raw = _xfire.dose(kw)
    shape = tuple(raw["shape"])
    summary = json.loads(raw["summary"])
    bins = _array(raw["dvh_dose_gy"], "<f8", (-1,))
    names_list = [label["name"] for label in summary["labels"]]
    dvh = {
        "dose_gy": bins,
        "labels": names_list,
        "volume_fraction": _array(raw["dvh_volume_fraction"], "<f8", (len(names_list), len(bins))),
    }
    rel_unc = raw["rel_unc"]
    return DoseResult(
        dose_gy=_array(raw["dose_gy"], "<f8", shape),
        rel_unc=None if rel_unc is None else _array(rel_unc, "<f8", shape),
        tia_bq_s=_array(raw["tia_bq_s"], "<f8", shape),
        summary=summary,
        dvh=dvh,
    )


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
