#!/usr/bin/env python3
"""Check an xfire phantom HDF5 file with h5py/numpy only (no xfire code).

Usage: python scripts/check_phantom_h5.py PHANTOM.h5 [--write-test-images DIR]

Checks the layout of docs/formats/phantom.md: root attributes (format, format_version,
voxel_size_cm, origin_cm, dims_xyz), datasets labels/material/density/cell_id shaped
(nz, ny, nx), chunked and deflate-compressed, label and material tables, the cell table and
the source maps; prints per-label volumes and cell counts computed with numpy.

With --write-test-images DIR it also writes a MetaImage (.mhd/.raw) and a NIfTI-1 (.nii)
label image and a density image with numpy alone, plus an import table, so that
`xfire phantom import` can be tried on files not written by xfire.
Needs: pip install h5py numpy.  Exit code 0 when every check passes.
"""
import struct
import sys

import h5py
import numpy as np


def fail(msg):
    print("FAIL:", msg)
    sys.exit(1)


def check(path):
    with h5py.File(path, "r") as f:
        a = f.attrs
        fmt = a["format"]
        fmt = fmt.decode() if isinstance(fmt, bytes) else fmt
        if fmt != "xfire-phantom":
            fail(f"format attribute is {fmt!r}")
        if int(a["format_version"]) != 1:
            fail(f"format_version {a['format_version']}")
        vox = np.asarray(a["voxel_size_cm"], dtype=float)
        origin = np.asarray(a["origin_cm"], dtype=float)
        nx, ny, nz = (int(x) for x in a["dims_xyz"])
        if vox.shape != (3,) or np.any(vox <= 0):
            fail(f"voxel_size_cm {vox}")
        shape = (nz, ny, nx)
        for name in ("labels", "material", "density", "cell_id"):
            d = f[name]
            if d.shape != shape:
                fail(f"{name} shape {d.shape} != {shape}")
            if d.chunks is None or d.compression != "gzip":
                fail(f"{name} not chunked+gzip: chunks={d.chunks} compression={d.compression}")
        labels = f["labels"][...]
        density = f["density"][...]
        if density.dtype != np.float32:
            fail(f"density dtype {density.dtype}")
        if not np.all(np.isfinite(density)) or density.min() < 0:
            fail("density has NaN or negative values")
        ids = f["label_table/id"][...]
        names = [n.decode() if isinstance(n, bytes) else n for n in f["label_table/name"][...]]
        table = dict(zip(ids.tolist(), names))
        present = set(np.unique(labels).tolist())
        if not present <= set(table):
            fail(f"labels {present - set(table)} not in label_table")
        mats = [n.decode() if isinstance(n, bytes) else n for n in f["material_table/name"][...]]
        mat = f["material"][...]
        if mat.max() >= len(mats):
            fail("material index outside material_table")
        vv_mm3 = float(np.prod(vox)) * 1e3
        print(f"{path}: {nx}x{ny}x{nz} voxels of {vox * 1e4} um, origin {origin * 1e4} um")
        print(f"  {'id':>5} {'label':<22} {'voxels':>10} {'volume[mm3]':>13} {'mass[g]':>12}")
        for i, n in table.items():
            m = labels == i
            cnt = int(m.sum())
            mass = float(density[m].astype(np.float64).sum()) * float(np.prod(vox))
            print(f"  {i:>5} {n:<22} {cnt:>10} {cnt * vv_mm3:>13.6e} {mass:>12.6e}")
        n_cells = int(a["n_cells"])
        kinds = [k.decode() if isinstance(k, bytes) else k for k in f["cells/kind_names"][...]]
        if n_cells:
            t = f["cells/table"][...]
            if len(t) != n_cells:
                fail(f"cells/table has {len(t)} rows, n_cells = {n_cells}")
            if not np.array_equal(t["id"], np.arange(1, n_cells + 1)):
                fail("cell ids are not 1..n")
            cid = f["cell_id"][...]
            counts = np.bincount(cid.ravel(), minlength=n_cells + 1)[1:]
            if not np.array_equal(counts, t["n_nucleus_voxels"] + t["n_cytoplasm_voxels"]):
                fail("cell voxel counts in cells/table disagree with cell_id")
            for k, kn in enumerate(kinds):
                sel = t["kind"] == k
                if sel.any():
                    r = t["radius_cm"][sel] * 1e4
                    print(f"  cells: {int(sel.sum())} {kn}, radius {r.mean():.2f} um")
        for name, d in f["source_maps"].items():
            w = d[...]
            if w.shape != shape or np.any(w < 0):
                fail(f"source map {name} bad")
            meth = d.attrs["method"]
            meth = meth.decode() if isinstance(meth, bytes) else meth
            print(f"  source map {name}: {int((w > 0).sum())} voxels; {meth}")
    print("OK")


def write_test_images(outdir):
    """Label + density images written with numpy alone (MetaImage and NIfTI-1)."""
    import os

    os.makedirs(outdir, exist_ok=True)
    nx, ny, nz = 12, 10, 8
    z, y, x = np.mgrid[0:nz, 0:ny, 0:nx]
    lab = np.zeros((nz, ny, nx), np.uint8)
    lab[(x - 6) ** 2 + (y - 5) ** 2 + (z - 4) ** 2 < 9] = 2
    lab[x < 2] = 1
    dens = np.where(lab == 2, 1.06, np.where(lab == 1, 0.0012, 1.0)).astype(np.float32)
    for name, arr, met in (("labels", lab, "MET_UCHAR"), ("density", dens, "MET_FLOAT")):
        arr.tofile(os.path.join(outdir, f"{name}.raw"))
        with open(os.path.join(outdir, f"{name}.mhd"), "w") as h:
            h.write("ObjectType = Image\nNDims = 3\nBinaryData = True\nBinaryDataByteOrderMSB = False\n"
                    "Offset = 1 1 1.5\nElementSpacing = 2 2 3\n"
                    f"DimSize = {nx} {ny} {nz}\nElementType = {met}\nElementDataFile = {name}.raw\n")
    # NIfTI-1 (little endian, u8 labels), vox_offset 352
    hdr = bytearray(352)
    struct.pack_into("<i", hdr, 0, 348)
    struct.pack_into("<8h", hdr, 40, 3, nx, ny, nz, 1, 1, 1, 1)
    struct.pack_into("<hh", hdr, 70, 2, 8)
    struct.pack_into("<8f", hdr, 76, 1, 2, 2, 3, 1, 1, 1, 1)
    struct.pack_into("<f", hdr, 108, 352.0)
    hdr[123] = 2
    struct.pack_into("<h", hdr, 254, 1)
    struct.pack_into("<4f", hdr, 280, 2, 0, 0, 1)
    struct.pack_into("<4f", hdr, 296, 0, 2, 0, 1)
    struct.pack_into("<4f", hdr, 312, 0, 0, 3, 1.5)
    hdr[344:348] = b"n+1\0"
    with open(os.path.join(outdir, "labels.nii"), "wb") as h:
        h.write(bytes(hdr))
        h.write(lab.tobytes())
    with open(os.path.join(outdir, "table.toml"), "w") as h:
        h.write('[labels.0]\nname = "body"\nmaterial = "water"\n'
                '[labels.1]\nname = "air"\nmaterial = "air"\n'
                '[labels.2]\nname = "lesion"\nmaterial = "soft_tissue_icrp"\ndensity = 1.06\n')
    print(f"wrote test images in {outdir}: labels.mhd/.raw, density.mhd/.raw, labels.nii, table.toml")
    print(f"  lesion voxels: {int((lab == 2).sum())}, air voxels: {int((lab == 1).sum())}")


if __name__ == "__main__":
    if len(sys.argv) < 2:
        print(__doc__)
        sys.exit(2)
    if sys.argv[1] == "--write-test-images":
        write_test_images(sys.argv[2])
    else:
        for p in sys.argv[1:]:
            check(p)
