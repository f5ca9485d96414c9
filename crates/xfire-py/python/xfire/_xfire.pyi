"""The native module of xfire (Rust, PyO3, stable ABI). Use the typed functions of
``xfire`` (``__init__.py``); these take their keywords as one dict and return JSON text and
little-endian array bytes."""

from typing import Any, Dict, List, Tuple

__version__: str

def nuclide(name: str) -> str:
    """``xfire nuclide show NAME --json`` as JSON text."""

def nuclides() -> str:
    """``xfire nuclide list --json`` as JSON text."""

def chain(name: str, times: str, activity: str) -> str:
    """``xfire chain NAME --times T --activity A --json`` as JSON text (times, activity
    with units)."""

def range(kw: Dict[str, Any]) -> str:
    """``xfire range`` as JSON text; keys ``particle``, ``energy`` (with unit),
    ``material``, ``materials_file``."""

def kernel(kw: Dict[str, Any]) -> Dict[str, Any]:
    """``xfire kernel`` without files: ``summary`` (JSON text), ``grid`` and the arrays
    ``edep_mev_per_decay`` [MeV], ``dose_gy_per_decay`` [Gy], ``rel_unc`` as little-endian
    f64 bytes (x fastest). Keys as the keywords of ``xfire.kernel``."""

def dose(kw: Dict[str, Any]) -> Dict[str, Any]:
    """``xfire dose`` (files only with ``out``): ``summary`` (JSON text of summary.json),
    ``shape`` (nz, ny, nx), the arrays ``dose_gy`` [Gy], ``tia_bq_s`` [Bq·s] and ``rel_unc``
    (None for VSV) as little-endian f64 bytes (x fastest), ``dvh_dose_gy`` [Gy] and
    ``dvh_volume_fraction`` (labels × bins). Keys as the keywords of ``xfire.dose``; an
    array image is a dict ``data`` (f64 bytes), ``shape`` (nz, ny, nx) on the grid of
    ``voxel``, ``origin`` (three lengths with units, x, y, z); ``timepoints`` is text or a
    list of (time, image) pairs; ``label_name_map`` {id: name}."""

def run(kw: Dict[str, Any]) -> Dict[str, Any]:
    """``xfire run`` without files: ``summary`` (JSON text of summary.json), ``cells`` and
    ``curves`` as column bytes. Keys ``path`` or ``toml`` (+ ``base``), ``decays``,
    ``threads``, ``progress``."""

def toml_from_json(json: str) -> str:
    """Scenario TOML text from JSON text."""

def compare(kw: Dict[str, Any]) -> Dict[str, Any]:
    """``xfire compare`` without files: ``comparison`` (JSON text of comparison.json) and
    ``survival`` (per nuclide: start days [d] and survival as f64 bytes)."""

def phantom_generate(kw: Dict[str, Any]) -> Tuple[Dict[str, Any], List[str]]:
    """A phantom from specification TOML (keys ``toml``, ``base``): the phantom dict
    (``shape`` (nz, ny, nx), ``voxel_cm``, ``origin_cm`` [cm], ``labels``, ``materials``,
    arrays ``label`` u16, ``material`` u8, ``density_g_cm3`` f32 [g/cm³], ``cell_id`` u32 as
    little-endian bytes) and the report lines."""

def phantom_load(path: str) -> Dict[str, Any]:
    """A phantom file (HDF5) as the phantom dict of ``phantom_generate``."""
