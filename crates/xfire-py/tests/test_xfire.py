"""The Python package against the command line: same numbers, bytes for bytes, for the same
arguments and seed; bad arguments raise ValueError/TypeError with the command's messages;
progress and Ctrl-C. The `xfire` binary is XFIRE_BIN (scripts/test-python.sh sets it to the
release build); without it these tests fail (never skip)."""

import gzip
import json
import os
import signal
import struct
import subprocess
import sys
import time
import tomllib
from pathlib import Path

import h5py
import numpy as np
import pytest

import xfire

ROOT = Path(__file__).resolve().parents[3]
TINY = ROOT / "phantoms" / "tiny-lu177.toml"


def cli(*args, cwd=None):
    exe = os.environ.get("XFIRE_BIN")
    assert exe, "XFIRE_BIN must name the xfire binary (scripts/test-python.sh sets it)"
    out = subprocess.run([exe, *args], capture_output=True, text=True, cwd=cwd)
    assert out.returncode == 0, out.stderr
    return out.stdout


def test_nuclide_chain_range_equal_the_cli():
    assert xfire.nuclide("225Ac") == json.loads(cli("nuclide", "show", "225Ac", "--json"))
    assert xfire.nuclides() == json.loads(cli("nuclide", "list", "--json"))
    c = json.loads(cli("chain", "Ac-225", "--times", "1h,1d,10d", "--activity", "1MBq", "--json"))
    assert xfire.chain("Ac-225", ["1h", "1d", "10d"], "1MBq") == c
    r = json.loads(cli("range", "electron", "500 keV", "--material", "water", "--json"))
    assert xfire.range("electron", "500 keV", material="water") == r
    assert abs(r["csda_range_cm"] / 0.17656 - 1) < 2e-3  # ESTAR


KERNEL = dict(voxel="20 um", grid=11, decays=3000, seed=5, batch_size=500)
VOLATILE = {"wall_s", "decays_per_s", "threads", "files"}


@pytest.mark.parametrize(
    "emitter, source",
    [
        (dict(nuclide="Lu-177", emissions="all"), "voxel"),
        (dict(particle="alpha", energy="5 MeV"), "point"),
    ],
)
def test_kernel_arrays_are_the_cli_bytes(tmp_path, emitter, source):
    args = ["kernel", "--source", source, "--voxel", KERNEL["voxel"], "--grid", "11"]
    args += ["--decays", "3000", "--seed", "5", "--batch-size", "500", "--json", "--quiet"]
    for k, v in emitter.items():
        args += [f"--{k}", v]
    summary = json.loads(cli(*args, "--out", str(tmp_path / "k")))
    k = xfire.kernel(source=source, threads=1, **emitter, **KERNEL)
    with h5py.File(tmp_path / "k" / "kernel.h5") as f:
        for name in ("edep_mev_per_decay", "dose_gy_per_decay", "rel_unc"):
            a = getattr(k, name)
            assert a.shape == (11, 11, 11) and a.dtype == np.float64
            assert a.tobytes() == f[name][...].astype("<f8").tobytes(), name
    assert k.dose_gy_per_decay.sum() > 0
    keep = lambda s: {n: v for n, v in s.items() if n not in VOLATILE}  # noqa: E731
    assert keep(k.summary) == keep(summary)
    assert "files" not in k.summary


def test_run_per_cell_doses_are_the_cli_bytes(tmp_path):
    cli("run", str(TINY), "--out", str(tmp_path / "run"), "--no-cache", "--quiet")
    r = xfire.run(TINY)
    with h5py.File(tmp_path / "run" / "results.h5") as f:
        cells = f["cells"]
        assert len(cells["dose_gy"]) > 10
        for name in ("dose_gy", "alpha_dose_gy", "dose_sd_gy", "bed_gy", "surviving_fraction",
                     "rbe_weighted_dose_gy", "dose_at_times_gy", "id", "kind"):
            a = cells[name][...]
            assert r.cells[name].tobytes() == a.tobytes(), name
        assert np.array_equal(r.cells["labelled"], cells["labelled"][...].astype(bool))
    on_disk = json.loads((tmp_path / "run" / "summary.json").read_text())
    assert r.summary["tumour"] == on_disk["tumour"]
    assert r.window == on_disk["window"]
    # the same scenario as a dict (file names in it would resolve against base)
    d = tomllib.loads(TINY.read_text())
    r2 = xfire.run(d, base=TINY.parent, threads=1)
    assert r2.cells["dose_gy"].tobytes() == r.cells["dose_gy"].tobytes()


BASE = dict(nuclide="Lu-177", voxel="50 um", grid=11, source="voxel", decays=30)


@pytest.mark.parametrize(
    "change, error, text",
    [
        (dict(grid=40), ValueError, "grid must be an odd number of voxels per axis"),
        (dict(grid=1003), ValueError, "grid 1003 is too large"),
        (dict(voxel="0 um"), ValueError, 'voxel must be positive, got "0 um"'),
        (dict(voxel="50 parsec"), ValueError, 'unknown or missing unit "parsec"'),
        (dict(voxel="50 UM"), ValueError, 'units and SI prefixes are case-sensitive (m = milli, M = mega); write "um"'),
        (dict(decays=0), ValueError, "decays must be at least 1, got 0"),
        (dict(decays=-5), ValueError, "decays must be >= 0, got -5"),
        (dict(batch_size=0), ValueError, "batch_size must be at least 1"),
        (dict(electron_cut="2 MeV"), ValueError, 'electron_cut "2 MeV" = 2 MeV is outside'),
        (dict(nuclide="Xx-999"), ValueError, 'unknown radionuclide "Xx-999"'),
        (dict(material="blood"), ValueError, 'unknown material "blood"'),
        (dict(source="sphere"), ValueError, "source must be one of point, voxel"),
        (dict(emissions="gamma"), ValueError, "emissions must be one of"),
        (dict(grid="11"), TypeError, "grid must be an integer, got str"),
        (dict(voxel=0.005), TypeError, "voxel must be text with its unit"),
        (dict(alpha_straggling=1), TypeError, "alpha_straggling must be True or False"),
        (dict(particle="alpha", energy="5 MeV"), TypeError, "not both"),
        (dict(progress=3), TypeError, "progress must be callable"),
    ],
)
def test_kernel_bad_arguments(change, error, text):
    with pytest.raises(error) as e:
        xfire.kernel(**{**BASE, **change})
    assert text in str(e.value)


def test_other_bad_arguments():
    with pytest.raises(ValueError, match="1 keV"):
        xfire.range("electron", "10 eV")
    with pytest.raises(ValueError, match='write "meV" or "MeV"'):
        xfire.kernel(particle="electron", energy="5 Mev", voxel="1 um", grid=11,
                     source="point", decays=10)
    with pytest.raises(ValueError, match="times must be >= 0 s"):
        xfire.chain("Ac-225", "1h,-1d")
    with pytest.raises(ValueError, match="unknown radionuclide"):
        xfire.nuclide("Xx-999")
    with pytest.raises(ValueError, match="problem"):
        xfire.run({"seed": 1})
    with pytest.raises(TypeError, match="path or a dict"):
        xfire.run(42)
    with pytest.raises(ValueError) as e:
        xfire.compare(TINY, nuclides=["Lu-177", "Ac-225"], normalise="activity")
    assert "normalise activity needs the scenario's amount as an activity" in str(e.value)
    assert "--normalise" not in str(e.value)


def test_progress_reports_every_round_and_its_errors_stop_the_run():
    seen = []
    xfire.kernel(**{**BASE, "decays": 4000, "batch_size": 100},
                 progress=lambda what, done, total: seen.append((what, done, total)))
    assert seen[-1] == ("kernel", 4000, 4000)
    assert [d for _, d, _ in seen] == sorted(d for _, d, _ in seen)

    def fail(what, done, total):
        raise RuntimeError("stop here")

    with pytest.raises(RuntimeError, match="stop here"):
        xfire.kernel(**{**BASE, "decays": 4000, "batch_size": 100}, progress=fail)


# Python's own Ctrl-C handler (a shell job started in the background inherits SIGINT ignored,
# and Python then keeps it ignored)
CTRL_C = """
import signal, xfire
signal.signal(signal.SIGINT, signal.default_int_handler)
def progress(what, done, total):
    print("started", flush=True)
xfire.kernel(nuclide="Lu-177", voxel="50 um", grid=41, source="voxel", decays=10**9,
             batch_size=100, threads=1, progress=progress)
"""


def test_ctrl_c_interrupts_the_transport():
    p = subprocess.Popen([sys.executable, "-c", CTRL_C], stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, text=True)
    assert p.stdout.readline().strip() == "started"
    t0 = time.time()
    p.send_signal(signal.SIGINT)
    _, err = p.communicate(timeout=60)
    assert p.returncode != 0
    assert "KeyboardInterrupt" in err, err
    assert time.time() - t0 < 30


def test_phantom_generate_and_load_equal_the_cli_file(tmp_path):
    spec = tomllib.loads(TINY.read_text())["phantom"]["spec"]
    p = xfire.phantom.generate(spec)
    assert p.label.shape == (12, 12, 12) and p.label.dtype == np.uint16
    assert p.voxel_cm == pytest.approx((4e-4, 4e-4, 4e-4))
    assert p.cell_id.max() > 10 and "tumour_nucleus" in p.labels.values()
    # the same specification through `xfire phantom generate`, read back from its file
    toml_path = tmp_path / "spec.toml"
    toml_path.write_text(xfire._xfire.toml_from_json(json.dumps(spec)))
    cli("phantom", "generate", str(toml_path), "-o", str(tmp_path / "p.h5"))
    q = xfire.phantom.load(tmp_path / "p.h5")
    for name in ("label", "material", "density_g_cm3", "cell_id"):
        assert getattr(p, name).tobytes() == getattr(q, name).tobytes(), name
    assert p.labels == q.labels and p.materials == q.materials
    assert xfire.phantom.generate(toml_path).label.tobytes() == p.label.tobytes()
    with pytest.raises(OSError, match="missing.h5"):
        xfire.phantom.load(tmp_path / "missing.h5")
    (tmp_path / "bad.h5").write_bytes(b"not HDF5")
    with pytest.raises(ValueError, match="bad.h5"):
        xfire.phantom.load(tmp_path / "bad.h5")
    with pytest.raises(ValueError, match="voxel"):
        xfire.phantom.generate({**spec, "grid": {"voxel": "4 parsec", "size": "48 um"}})


# --- xfire.dose: a small synthetic image (18 x 16 x 14 voxels of 4.42 mm, the voxel of the
# built-in Lu-177 S-value kernels) with lung and bone in the CT, as arrays and as MetaImage
# files the command reads

VOXEL_MM = 4.42


def synthetic_images():
    z, y, x = np.meshgrid(np.arange(14), np.arange(16), np.arange(18), indexing="ij")
    r2 = (x - 8.5) ** 2 + (y - 7) ** 2 + (z - 6) ** 2
    a24 = 2e6 * np.exp(-r2 / 6.0) + 1e3 * (x + 1)  # Bq, a hot spot on a gradient
    a72 = 0.6 * a24 + 5e2 * np.exp(-((x - 3) ** 2) / 4.0)
    ct = np.zeros(a24.shape)  # HU: soft tissue, a lung slab, a bone block
    ct[:, :, 12:] = -750.0
    ct[2:5, 3:6, 2:5] = 900.0
    labels = np.ones(a24.shape, dtype=np.uint16)
    labels[r2 < 6] = 2
    labels[:, :, 12:] = 3
    return a24, a72, ct, labels


def write_mhd(path, a):
    """A MetaImage file (header + raw float64) on the centred grid of `voxel` VOXEL_MM."""
    nz, ny, nx = a.shape
    offset = [(-n * VOXEL_MM + VOXEL_MM) / 2 for n in (nx, ny, nz)]  # centre of voxel 0 [mm]
    np.ascontiguousarray(a, dtype="<f8").tofile(path.with_suffix(".raw"))
    path.write_text(
        "ObjectType = Image\nNDims = 3\nBinaryData = True\nBinaryDataByteOrderMSB = False\n"
        f"Offset = {offset[0]!r} {offset[1]!r} {offset[2]!r}\n"
        f"ElementSpacing = {VOXEL_MM} {VOXEL_MM} {VOXEL_MM}\nDimSize = {nx} {ny} {nz}\n"
        f"ElementType = MET_DOUBLE\nElementDataFile = {path.with_suffix('.raw').name}\n"
    )
    return path


def nifti_f32(path):
    """The float32 data bytes and shape (nz, ny, nx) of a gzipped NIfTI-1 file."""
    raw = gzip.decompress(path.read_bytes())
    dim = struct.unpack("<8h", raw[40:56])
    assert struct.unpack("<h", raw[70:72])[0] == 16  # float32
    offset = int(struct.unpack("<f", raw[108:112])[0])
    n = dim[1] * dim[2] * dim[3]
    return raw[offset:offset + 4 * n], (dim[3], dim[2], dim[1])


def dvh_csv(path):
    rows = [line.split(",") for line in path.read_text().splitlines()]
    return [name.split(":", 1)[1] for name in rows[0][1:]], np.array(rows[1:], dtype=float)


def test_dose_vsv_arrays_and_files_are_the_cli_bytes(tmp_path):
    a24, a72, ct, labels = synthetic_images()
    files = {n: write_mhd(tmp_path / f"{n}.mhd", v)
             for n, v in dict(a24=a24, a72=a72, ct=ct, labels=labels).items()}
    (tmp_path / "names.csv").write_text("id,name\n1,body\n2,tumour\n3,lung\n")
    tp = f"24 h:{files['a24']},72 h:{files['a72']}"
    common = dict(nuclide="Lu-177", quantity="activity", method="vsv", fit="mono")
    cli("dose", "--nuclide", "Lu-177", "--quantity", "activity", "--method", "vsv", "--fit",
        "mono", "--timepoints", tp, "--ct", str(files["ct"]), "--labels",
        str(files["labels"]), "--label-names", str(tmp_path / "names.csv"), "--quiet",
        "--out", str(tmp_path / "cli"))
    arrays = xfire.dose(timepoints=[("24 h", a24), ("72 h", a72)], ct=ct, labels=labels,
                        label_names={1: "body", 2: "tumour", 3: "lung"}, voxel="4.42 mm",
                        **common)
    paths = xfire.dose(timepoints=tp, ct=files["ct"], labels=files["labels"],
                       label_names=tmp_path / "names.csv", **common)
    data, shape = nifti_f32(tmp_path / "cli" / "dose.nii.gz")
    for r in (arrays, paths):
        assert r.dose_gy.shape == a24.shape == shape and r.rel_unc is None
        assert r.dose_gy.astype("<f4").tobytes() == data
        assert r.tia_bq_s.astype("<f4").tobytes() == nifti_f32(tmp_path / "cli" / "tia.nii.gz")[0]
    assert arrays.dose_gy.tobytes() == paths.dose_gy.tobytes()
    assert arrays.tia_bq_s.tobytes() == paths.tia_bq_s.tobytes()
    on_disk = json.loads((tmp_path / "cli" / "summary.json").read_text())
    assert arrays.labels == paths.labels == on_disk["labels"]
    assert [lab["name"] for lab in arrays.labels] == ["body", "tumour", "lung"]
    tumour = arrays.labels[1]
    assert tumour["mean_gy"] > arrays.labels[0]["mean_gy"] > 0
    assert tumour["d98_gy"] <= tumour["d90_gy"] <= tumour["d50_gy"]
    names, table = dvh_csv(tmp_path / "cli" / "dvh.csv")
    assert arrays.dvh["labels"] == names
    assert np.array_equal(arrays.dvh["dose_gy"], table[:, 0])
    assert np.array_equal(arrays.dvh["volume_fraction"], table[:, 1:].T)


def test_dose_monte_carlo_is_the_cli_bytes_and_reports_progress(tmp_path):
    a24, _, ct, _ = synthetic_images()
    tia = a24 * 3600.0  # Bq s
    write_mhd(tmp_path / "tia.mhd", tia)
    write_mhd(tmp_path / "ct.mhd", ct)
    mc = ["--decays", "20000", "--batch-size", "2000", "--seed", "7"]
    cli("dose", str(tmp_path / "tia.mhd"), "--nuclide", "Lu-177", "--quantity", "tia",
        "--method", "mc", "--ct", str(tmp_path / "ct.mhd"), *mc, "--quiet",
        "--out", str(tmp_path / "cli"))
    seen = []
    r = xfire.dose(tia, nuclide="Lu-177", quantity="tia", method="mc", ct=ct,
                   voxel=["4.42 mm"] * 3, decays=20000, batch_size=2000, seed=7, threads=1,
                   out=tmp_path / "py", progress=lambda *a: seen.append(a))
    data, _ = nifti_f32(tmp_path / "cli" / "dose.nii.gz")
    assert r.dose_gy.astype("<f4").tobytes() == data
    unc, _ = nifti_f32(tmp_path / "cli" / "uncertainty.nii.gz")
    assert r.rel_unc.astype("<f4").tobytes() == unc
    assert seen[-1] == ("dose", 20000, 20000)
    on_disk = json.loads((tmp_path / "cli" / "summary.json").read_text())
    assert r.labels == on_disk["labels"] and r.summary["monte_carlo"]["decays"] == 20000
    # out= writes the command's files (the same dose image)
    assert sorted(r.summary["files"]) == sorted(on_disk["files"])
    assert nifti_f32(tmp_path / "py" / "dose.nii.gz")[0] == data
    with pytest.raises(OSError, match="does not exist yet"):
        xfire.dose(tia, nuclide="Lu-177", quantity="tia", method="vsv", voxel="4.42 mm",
                   out=tmp_path / "py")

    def fail(what, done, total):
        raise RuntimeError("stop the dose")

    # the callback's exception stops the transport at the next round (10^8 decays would take
    # many minutes), and nothing is written
    with pytest.raises(RuntimeError, match="stop the dose"):
        xfire.dose(tia, nuclide="Lu-177", quantity="tia", method="mc", voxel="4.42 mm",
                   decays=10**8, batch_size=1000, threads=1, progress=fail,
                   out=tmp_path / "stopped")
    assert not (tmp_path / "stopped").exists()


def bad_dose(**change):
    a24, a72, ct, labels = synthetic_images()
    kw = dict(activity=a24, nuclide="Lu-177", quantity="activity", method="vsv",
              voxel="4.42 mm")
    kw.update(change)
    if "timepoints" in change:
        kw.pop("activity")
    return kw


@pytest.mark.parametrize(
    "change, error, text",
    [
        (dict(activity=-np.ones((3, 4, 5))), ValueError,
         "activity: voxel (0, 0, 0) has -1 Bq; activity must be finite and not negative"),
        (dict(ct=np.zeros((14, 16, 17))), ValueError, "grids differ: ct has 17×16×14"),
        (dict(timepoints=[("72 h", np.ones((2, 2, 2))), ("24 h", np.ones((2, 2, 2)))]),
         ValueError, 'timepoints[1]: time points must increase: "24 h" (86400 s) comes after'),
        (dict(timepoints=[("24 h", np.ones((2, 2, 2)))], fit="mono"), ValueError,
         "fit mono needs at least 2 time points, 1 given"),
        (dict(timepoints="24 h:a.nii,3 fortnights:b.nii"), ValueError,
         'timepoints entry "3 fortnights:b.nii": time "3 fortnights"'),
        (dict(quantity="tia", timepoints=[("24 h", np.ones((2, 2, 2)))]), ValueError,
         "timepoints give activities at times: use quantity activity"),
        (dict(medium="blood"), ValueError, 'unknown medium "blood"; built-in materials'),
        (dict(nuclide="Xx-999"), ValueError, 'nuclide: unknown radionuclide "Xx-999"'),
        (dict(voxel="5 mm"), ValueError, "give it as kernel FILE, or use method mc"),
        (dict(voxel="4.42 parsec"), ValueError, 'voxel "4.42 parsec": unknown or missing unit'),
        (dict(voxel=None), TypeError, "an array image needs voxel"),
        (dict(voxel=["4.42 mm", "0 mm", "4.42 mm"]), ValueError, 'voxel must be positive, got "0 mm"'),
        (dict(labels=np.full((14, 16, 18), 2.5)), ValueError,
         "labels: voxel 0 has label value 2.5; labels must be whole numbers"),
        (dict(method="mc", decays=10, batch_size=10), ValueError,
         "decays 10 is too few: at least 2 batches of 10"),
        (dict(hybrid_tolerance=-0.1), ValueError,
         "hybrid_tolerance must be a positive fraction, got -0.1"),
        (dict(activity=np.ones((4, 4))), ValueError, "activity must be a 3-D array"),
        (dict(activity="missing.nii.gz"), ValueError,
         "activity image missing.nii.gz does not exist"),
        (dict(activity=[1.0]), TypeError, "activity must be a path or a numpy array"),
        (dict(method="fast"), ValueError, "method must be one of vsv, mc, hybrid"),
        (dict(decays="many"), TypeError, "decays must be an integer"),
        (dict(activity=None), ValueError, "no activity image: give activity or timepoints"),
    ],
)
def test_dose_bad_arguments(change, error, text):
    with pytest.raises(error) as e:
        xfire.dose(**bad_dose(**change))
    assert text in str(e.value)


def test_unknown_material_names_the_python_argument():
    with pytest.raises(ValueError) as e:
        xfire.kernel(**{**BASE, "material": "blood"})
    assert "(user materials: materials_file)" in str(e.value)
    assert "--" not in str(e.value)
