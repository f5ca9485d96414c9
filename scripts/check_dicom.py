#!/usr/bin/env python3
"""Independent check of xfire's DICOM reading and RT Dose writing with pydicom.

Writes the synthetic patient (phantoms/patient-lu177) as DICOM with pydicom — the CT as
single-frame CT images in Implicit VR Little Endian with a -1024 rescale intercept, the three
SPECT time points as single-frame PET-style (PT) images in Explicit VR Little Endian with a
rescale slope per slice, Units BQML, decay correction START and the radiopharmaceutical
start and acquisition times, files named in reverse slice order — runs
`xfire dose --method vsv --fit mono` on them, and reads `dose.dcm` back with pydicom:
SOP class, frame of reference and study of the CT, geometry (position, spacing, frame
offsets), units, and the pixels × Dose Grid Scaling against `dose.nii.gz` of the same run.

    python3 -m venv /tmp/dcm && /tmp/dcm/bin/pip install pydicom numpy
    /tmp/dcm/bin/python scripts/check_dicom.py [--xfire target/release/xfire]

Exit status 0 when every check passes; each check is printed.
"""

import argparse
import datetime as dt
import gzip
import json
import pathlib
import subprocess
import sys
import tempfile
import time

import numpy as np
import pydicom
from pydicom.dataset import FileDataset, FileMetaDataset
from pydicom.uid import ExplicitVRLittleEndian, ImplicitVRLittleEndian, generate_uid

ROOT = pathlib.Path(__file__).resolve().parent.parent
PATIENT = ROOT / "phantoms" / "patient-lu177"
FAILED = []


def check(name, ok, detail=""):
    print(f"{'ok  ' if ok else 'FAIL'} {name} {detail}")
    if not ok:
        FAILED.append(name)


def read_nifti(path):
    """A NIfTI-1 image as (array [z, y, x], voxel mm, centre of voxel 0 mm) (sform offsets)."""
    raw = gzip.open(path).read() if str(path).endswith(".gz") else open(path, "rb").read()
    dim = np.frombuffer(raw[40:56], "<i2")
    code = int(np.frombuffer(raw[70:72], "<i2")[0])
    pixdim = np.frombuffer(raw[76:108], "<f4")
    off = int(np.frombuffer(raw[108:112], "<f4")[0])
    slope, inter = np.frombuffer(raw[112:120], "<f4")
    srow = np.frombuffer(raw[280:328], "<f4").reshape(3, 4)
    dtype = {2: "u1", 4: "<i2", 8: "<i4", 16: "<f4", 64: "<f8", 512: "<u2"}[code]
    n = int(dim[1]) * int(dim[2]) * int(dim[3])
    a = np.frombuffer(raw[off:], dtype, count=n).astype(np.float64)
    if slope not in (0.0, 1.0) or inter != 0.0:
        a = a * (slope if slope != 0 else 1.0) + inter
    return a.reshape(int(dim[3]), int(dim[2]), int(dim[1])), pixdim[1:4].astype(float), srow[:, 3].astype(float)


def base(sop_class, modality, series_uid, ref, ts):
    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = sop_class
    meta.MediaStorageSOPInstanceUID = generate_uid()
    meta.TransferSyntaxUID = ts
    ds = FileDataset(None, {}, file_meta=meta, preamble=b"\0" * 128)
    ds.SOPClassUID = sop_class
    ds.SOPInstanceUID = meta.MediaStorageSOPInstanceUID
    ds.Modality = modality
    ds.SeriesInstanceUID = series_uid
    ds.StudyInstanceUID = ref["study"]
    ds.FrameOfReferenceUID = ref["for"]
    ds.PatientName = "Pydicom^Check"
    ds.PatientID = "PYDCM1"
    ds.ImageOrientationPatient = [1, 0, 0, 0, 1, 0]
    ds.SamplesPerPixel = 1
    ds.PhotometricInterpretation = "MONOCHROME2"
    ds.BitsAllocated = 16
    ds.BitsStored = 16
    ds.HighBit = 15
    return ds


def save(ds, path, ts):
    ds.is_little_endian = True
    ds.is_implicit_VR = ts == ImplicitVRLittleEndian
    # pydicom >= 3 takes the encoding from the transfer syntax; older versions need the flags
    try:
        ds.save_as(path, enforce_file_format=True)
    except TypeError:
        ds.save_as(path, write_like_original=False)


def write_slices(folder, img, voxel, centre0, modality, ref, series_uid, extra):
    folder.mkdir(parents=True)
    nz, ny, nx = img.shape
    sop = "1.2.840.10008.5.1.4.1.1.2" if modality == "CT" else "1.2.840.10008.5.1.4.1.1.128"
    ts = ImplicitVRLittleEndian if modality == "CT" else ExplicitVRLittleEndian
    for k in range(nz):
        ds = base(sop, modality, series_uid, ref, ts)
        ds.Rows, ds.Columns = ny, nx
        ds.PixelSpacing = [f"{voxel[1]:.6g}", f"{voxel[0]:.6g}"]
        ds.SliceThickness = f"{voxel[2]:.6g}"
        ds.ImagePositionPatient = [f"{centre0[0]:.6f}", f"{centre0[1]:.6f}", f"{centre0[2] + k * voxel[2]:.6f}"]
        ds.InstanceNumber = k + 1
        extra(ds, img[k])
        save(ds, folder / f"IMG{nz - k:04d}.dcm", ts)


def ct_pixels(ds, sl):
    ds.PixelRepresentation = 0
    ds.RescaleIntercept = "-1024"
    ds.RescaleSlope = "1"
    ds.RescaleType = "HU"
    ds.PixelData = np.round(sl + 1024).clip(0, 65535).astype("<u2").tobytes()


def pt_pixels(when, admin):
    def f(ds, sl):
        slope = max(sl.max(), 1e-30) / 65535.0
        ds.PixelRepresentation = 0
        ds.RescaleIntercept = "0"
        ds.RescaleSlope = f"{slope:.10g}"
        ds.Units = "BQML"
        ds.DecayCorrection = "START"
        ds.SeriesDate = ds.AcquisitionDate = when.strftime("%Y%m%d")
        ds.SeriesTime = ds.AcquisitionTime = when.strftime("%H%M%S")
        item = pydicom.Dataset()
        item.RadiopharmaceuticalStartDateTime = admin.strftime("%Y%m%d%H%M%S")
        item.RadionuclideHalfLife = "574300.8"
        ds.RadiopharmaceuticalInformationSequence = [item]
        ds.PixelData = np.round(sl / float(ds.RescaleSlope)).clip(0, 65535).astype("<u2").tobytes()
    return f


def make_input(d):
    ref = {"study": generate_uid(), "for": generate_uid()}
    ct, voxel, centre0 = read_nifti(PATIENT / "ct.nii.gz")
    write_slices(d / "ct", ct, voxel, centre0, "CT", ref, generate_uid(), ct_pixels)
    admin = dt.datetime(2024, 1, 1, 8, 0, 0)
    tps = []
    ml = np.prod(voxel) / 1000.0
    for h in (24, 72, 168):
        a, _, _ = read_nifti(PATIENT / f"activity_{h:03d}h.nii.gz")
        when = admin + dt.timedelta(hours=h)
        write_slices(d / f"pt{h}", a / ml, voxel, centre0, "PT", ref, generate_uid(), pt_pixels(when, admin))
        tps.append(f"{h} h:{d / f'pt{h}'}")
    return ref, voxel, centre0, ",".join(tps)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--xfire", default=str(ROOT / "target" / "release" / "xfire"))
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        d = pathlib.Path(tmp)
        ref, voxel, centre0, tps = make_input(d)
        out = d / "out"
        cmd = [args.xfire, "dose", "--nuclide", "Lu-177", "--quantity", "activity", "--fit", "mono",
               "--timepoints", tps, "--ct", str(d / "ct"), "--method", "vsv", "--quiet", "--out", str(out)]
        t0 = time.perf_counter()
        r = subprocess.run(cmd, capture_output=True, text=True)
        wall = time.perf_counter() - t0
        check("xfire dose on pydicom input", r.returncode == 0, f"{wall:.2f} s " + r.stderr.strip()[-500:])
        if r.returncode != 0:
            return 1
        rd = pydicom.dcmread(out / "dose.dcm")
        check("SOP class RT Dose", rd.SOPClassUID == "1.2.840.10008.5.1.4.1.1.481.2", rd.SOPClassUID)
        check("Modality RTDOSE", rd.Modality == "RTDOSE")
        check("frame of reference of the CT", rd.FrameOfReferenceUID == ref["for"])
        check("study of the CT", rd.StudyInstanceUID == ref["study"])
        check("patient copied", rd.PatientID == "PYDCM1" and str(rd.PatientName) == "Pydicom^Check")
        check("Dose Units GY, PHYSICAL", rd.DoseUnits == "GY" and rd.DoseType == "PHYSICAL")
        ipp = np.array([float(x) for x in rd.ImagePositionPatient])
        check("Image Position = CT's first voxel centre", np.allclose(ipp, centre0, atol=1e-4), f"{ipp} vs {centre0}")
        ps = [float(x) for x in rd.PixelSpacing]
        check("Pixel Spacing", np.allclose(ps, [voxel[1], voxel[0]], atol=1e-6), str(ps))
        off = np.array([float(x) for x in rd.GridFrameOffsetVector])
        check("Grid Frame Offset Vector = k·Δz", np.allclose(off, np.arange(len(off)) * voxel[2], atol=1e-6))
        dose = rd.pixel_array.astype(np.float64) * float(rd.DoseGridScaling)
        nii, _, _ = read_nifti(out / "dose.nii.gz")
        check("frames × rows × columns", dose.shape == nii.shape, f"{dose.shape} vs {nii.shape}")
        err = np.abs(dose - nii).max() / nii.max()
        check("pixels × scaling = dose.nii.gz", err < 1e-6, f"max |Δ| = {err:.2e} of the maximum {nii.max():.4g} Gy")
        s = json.loads((out / "summary.json").read_text())
        # the same patient from its NIfTI files: the same dose up to the SPECT's 16-bit steps
        ref_tp = ",".join(f"{h} h:activity_{h:03d}h.nii.gz" for h in (24, 72, 168))
        ref_cmd = cmd[:cmd.index("--timepoints")] + ["--timepoints", ref_tp, "--ct", "ct.nii.gz",
                                                      "--method", "vsv", "--quiet", "--out", str(d / "ref")]
        t0 = time.perf_counter()
        r = subprocess.run(ref_cmd, capture_output=True, text=True, cwd=PATIENT)
        wall_ref = time.perf_counter() - t0
        ref = json.loads((d / "ref" / "summary.json").read_text())
        a, b = s["labels"][0]["mean_gy"], ref["labels"][0]["mean_gy"]
        check("mean dose = the NIfTI input's", r.returncode == 0 and abs(a / b - 1) < 1e-3,
              f"{a:.6g} vs {b:.6g} Gy ({a / b - 1:+.2e}); xfire dose {wall:.2f} s (DICOM) vs {wall_ref:.2f} s (NIfTI)")
        print(f"     pydicom {pydicom.__version__}, numpy {np.__version__}")
    return 1 if FAILED else 0


if __name__ == "__main__":
    sys.exit(main())
