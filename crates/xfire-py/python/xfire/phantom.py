"""Phantoms as numpy arrays: :func:`generate` from a specification (as ``xfire phantom
generate``), :func:`load` from a phantom file (HDF5,
``docs/formats/phantom.md``)."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Dict, List, Optional, Tuple, Union

import numpy as np

from . import _xfire

__all__ = ["Phantom", "generate", "load"]


@dataclass
class Phantom:
    """A voxel phantom. Arrays are shaped (nz, ny, nx) (x fastest, as in the file)."""

    label: np.ndarray
    """Label id per voxel (uint16); names in :attr:`labels`."""
    material: np.ndarray
    """Material index per voxel (uint8) into :attr:`materials`."""
    density_g_cm3: np.ndarray
    """Mass density per voxel [g/cm³] (float32)."""
    cell_id: np.ndarray
    """Cell id per voxel (uint32; 0 = not in a cell)."""
    voxel_cm: Tuple[float, float, float]
    """Voxel edges (x, y, z) [cm]."""
    origin_cm: Tuple[float, float, float]
    """Position of the grid's corner (x, y, z) [cm]."""
    labels: Dict[int, str]
    """Label id → name."""
    materials: List[Tuple[str, float]]
    """Material name and nominal density [g/cm³], by index."""
    report: List[str] = field(default_factory=list)
    """The generator's report lines (empty for a loaded file)."""


def _phantom(d: Dict[str, Any], report: Optional[List[str]] = None) -> Phantom:
    shape = tuple(d["shape"])

    def arr(key: str, dtype: str) -> np.ndarray:
        return np.frombuffer(bytearray(d[key]), dtype=np.dtype(dtype)).reshape(shape)

    return Phantom(
        label=arr("label", "<u2"),
        material=arr("material", "u1"),
        density_g_cm3=arr("density_g_cm3", "<f4"),
        cell_id=arr("cell_id", "<u4"),
        voxel_cm=tuple(d["voxel_cm"]),
        origin_cm=tuple(d["origin_cm"]),
        labels=dict(d["labels"]),
        materials=[tuple(m) for m in d["materials"]],
        report=list(report or []),
    )


def generate(
    spec: Union[str, os.PathLike, Dict[str, Any]],
    *,
    base: Optional[Union[str, os.PathLike]] = None,
) -> Phantom:
    """Generates a phantom from a specification file (TOML) or a dict of the same content
    (relative file names in it resolve against ``base``), in memory."""
    if isinstance(spec, dict):
        text = _xfire.toml_from_json(json.dumps(spec))
        folder = None if base is None else os.fspath(base)
    elif isinstance(spec, (str, os.PathLike)):
        path = Path(spec)
        text = path.read_text()
        folder = os.fspath(path.parent)
    else:
        raise TypeError(f"spec must be a path or a dict, got {type(spec).__name__}")
    d, report = _xfire.phantom_generate({"toml": text, "base": folder})
    return _phantom(d, report)


def load(path: Union[str, os.PathLike]) -> Phantom:
    """Reads a phantom file (HDF5 written by ``xfire phantom generate`` or ``import``).

    A missing file raises ``FileNotFoundError``, a malformed one ``ValueError``."""
    path = os.fspath(path)
    if not os.path.isfile(path):
        raise FileNotFoundError(f"phantom file {path} does not exist (or is not a file)")
    return _phantom(_xfire.phantom_load(path))
