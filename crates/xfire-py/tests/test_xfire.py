"""The Python package against the command line: same numbers, bytes for bytes, for the same
arguments and seed; bad arguments raise ValueError/TypeError with the command's messages;
progress and Ctrl-C. The `xfire` binary is XFIRE_BIN (scripts/test-python.sh sets it to the
release build); without it these tests fail (never skip)."""

import json
import os
import signal
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
