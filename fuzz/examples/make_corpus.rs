//! Writes the seed corpus `fuzz/corpus/<harness>/` with the project's own writers:
//! `cargo run --release -p xfire-fuzz --example make_corpus`. Files named `ok-*` are valid
//! and must be read (the corpus test checks it); the others are near-misses for coverage.

use std::path::{Path, PathBuf};
use xfire_io::{ElementType, Volume};
use xfire_scenario::shard::{PartHeader, ShardManifest, ShardPart};
use xfire_tally::{BatchScorer, ExactTally, RegionMap, Scorer, TallyLayout};

fn dir(name: &str) -> PathBuf {
    let d = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("corpus")
        .join(name);
    std::fs::create_dir_all(&d).unwrap();
    d
}

fn put(name: &str, file: &str, bytes: &[u8]) {
    std::fs::write(dir(name).join(file), bytes).unwrap();
}

/// A shipped TOML without its comment lines (the comments are prose, not syntax).
fn shipped(rel: &str) -> String {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let t = std::fs::read_to_string(root.join(rel)).unwrap();
    t.lines()
        .filter(|l| !l.trim_start().starts_with('#'))
        .map(|l| format!("{l}\n"))
        .collect()
}

/// Writes a file with `write` into a scratch folder and returns its bytes.
fn via(name: &str, write: impl FnOnce(&Path)) -> Vec<u8> {
    let d = std::env::temp_dir().join(format!("xfire-make-corpus-{}", std::process::id()));
    std::fs::create_dir_all(&d).unwrap();
    let p = d.join(name);
    write(&p);
    let b = std::fs::read(&p).unwrap();
    let _ = std::fs::remove_dir_all(&d);
    b
}

fn texts() {
    for f in ["water-box", "cell-cluster", "til-spheroid"] {
        put(
            "phantom_spec",
            &format!("ok-{f}.toml"),
            shipped(&format!("phantoms/{f}.toml")).as_bytes(),
        );
    }
    put(
        "scenario",
        "ok-tiny-lu177.toml",
        shipped("phantoms/tiny-lu177.toml").as_bytes(),
    );
    // refers to a phantom spec file that is not beside it: a reported problem
    put(
        "scenario",
        "til-spheroid-ac225.toml",
        shipped("phantoms/til-spheroid-ac225.toml").as_bytes(),
    );
    put(
        "materials",
        "ok-pmma.toml",
        b"[materials.pmma]\ndensity_g_cm3 = 1.19\nmean_excitation_ev = 74.0\ncomposition = { H = 0.080538, C = 0.599848, O = 0.319614 }\nsource = \"NIST ESTAR\"\n\n[materials.bone2]\ndensity_g_cm3 = 1.85\nmean_excitation_ev = 106.4\ncomposition = { \"1\" = 0.034, C = 0.155, N = 0.042, O = 0.435, Na = 0.001, Mg = 0.002, P = 0.103, S = 0.003, Ca = 0.225 }\n",
    );
    put(
        "import_table",
        "ok-table.toml",
        b"[labels.1]\nname = \"tumour\"\nmaterial = \"soft_tissue_icru\"\n\n[labels.2]\nname = \"bone\"\nmaterial = \"bone_cortical\"\ndensity = 1.92\n",
    );
}

fn density(m: &str) -> Option<f64> {
    xfire_data::materials::builtin(m).map(|x| x.density_g_cm3)
}

fn h5() {
    let spec = "sources = [\"label:box\"]\n[grid]\nvoxel = \"1 mm\"\nsize = \"3 mm\"\n[shape]\ntype = \"box\"\nlabel = \"box\"\nmaterial = \"water\"\n";
    let s = xfire_phantom::Spec::from_toml(spec).unwrap();
    let g = xfire_phantom::generate(&s, spec, &density).unwrap();
    let b = via("p.h5", |p| {
        xfire_io::h5::write_phantom(p, &g.phantom).unwrap()
    });
    put("h5_phantom", "ok-box3.h5", &b);
}

fn images() {
    let grid = xfire_phantom::Grid::new([3, 2, 2], [0.1, 0.1, 0.2], [0.0, 0.0, 0.0]).unwrap();
    for (element, tag) in [(ElementType::U8, "u8"), (ElementType::F32, "f32")] {
        let v = Volume {
            grid,
            values: (0..12).map(|i| i as f64).collect(),
            element,
        };
        let nii = via("v.nii", |p| xfire_io::nifti::write_nifti(p, &v).unwrap());
        put(
            "nifti",
            &format!("ok-{tag}.nii"),
            &[[0u8].as_slice(), &nii].concat(),
        );
        let gz = via("v.nii.gz", |p| xfire_io::nifti::write_nifti(p, &v).unwrap());
        put(
            "nifti",
            &format!("ok-{tag}.nii.gz"),
            &[[1u8].as_slice(), &gz].concat(),
        );
        let d = std::env::temp_dir().join(format!("xfire-make-corpus-mhd-{}", std::process::id()));
        std::fs::create_dir_all(&d).unwrap();
        xfire_io::metaimage::write_metaimage(&d.join("img.mhd"), &v).unwrap();
        let hdr = std::fs::read_to_string(d.join("img.mhd")).unwrap();
        let raw = std::fs::read(d.join("img.raw")).unwrap();
        let _ = std::fs::remove_dir_all(&d);
        let split = [hdr.as_bytes(), xfire_fuzz::MHD_SPLIT, &raw].concat();
        put("metaimage", &format!("ok-{tag}.mhd"), &split);
        let mut local: String = hdr
            .lines()
            .filter(|l| !l.starts_with("ElementDataFile"))
            .map(|l| format!("{l}\n"))
            .collect();
        local.push_str("ElementDataFile = LOCAL\n");
        put(
            "metaimage",
            &format!("ok-{tag}.mha"),
            &[local.as_bytes(), &raw].concat(),
        );
    }
    // zlib-compressed .mha (CompressedData = True), 12 u8 voxels
    let mut z = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::default());
    std::io::Write::write_all(&mut z, &(0..12u8).collect::<Vec<_>>()).unwrap();
    let z = z.finish().unwrap();
    let hdr = format!("ObjectType = Image\nNDims = 3\nDimSize = 3 2 2\nElementSpacing = 1 1 2\nOffset = 0 0 0\nElementType = MET_UCHAR\nCompressedData = True\nCompressedDataSize = {}\nElementDataFile = LOCAL\n", z.len());
    put("metaimage", "ok-zlib.mha", &[hdr.as_bytes(), &z].concat());
}

fn tallies() {
    let l = TallyLayout::new(3, vec![RegionMap::new("cells", vec![0, 1, 1], 2).unwrap()]).unwrap();
    let mut s = BatchScorer::new(&l);
    let mut exact = ExactTally::new(&l);
    for b in 0..2u32 {
        for h in 0..3u32 {
            s.begin_history(1.0, 0);
            s.deposit((h % 3) as usize, 0.25 + f64::from(b) * 0.5);
            s.end_history();
        }
        let t = s.finish_batch();
        exact.absorb(&t);
    }
    let h = PartHeader {
        key: "00112233aabbccdd".into(),
        nuclide: "Lu-177".into(),
        site: "tumour_membrane".into(),
        part: "low_let".into(),
        batch_size: 3,
        first_batch: 0,
        next_batch: 2,
        end_batch: 4,
        stopped: false,
    };
    let b = via("x.ckpt", |p| {
        xfire_scenario::shard::write_part(p, &h, &exact).unwrap()
    });
    put("part_file", "ok-checkpoint.ckpt", &b);
    let b = xfire_tally::exact::encode_file(b"{}", &exact);
    put("tally_cache", "ok-tally.bin", &b);
    let m = ShardManifest {
        format: "xfire-shard".into(),
        format_version: 1,
        xfire_version: "0.1.0".into(),
        scenario_path: "scenario.toml".into(),
        scenario_hash: xfire_scenario::shard::text_hash("x"),
        seed: 7,
        phantom_hash: "0123456789abcdef".into(),
        batch_size: 3,
        shard: 0,
        shards: 2,
        parts: vec![ShardPart {
            nuclide: "Lu-177".into(),
            site: "tumour_membrane".into(),
            part: "low_let".into(),
            key: "00112233aabbccdd".into(),
            file: "Lu-177_tumour_membrane_low_let_00112233aabbccdd.part".into(),
            first_batch: 0,
            end_batch: 2,
            total_batches: 4,
            decays: 6,
        }],
    };
    put(
        "shard_manifest",
        "ok-manifest.json",
        serde_json::to_string_pretty(&m).unwrap().as_bytes(),
    );
}

fn dicom() {
    let grid = xfire_phantom::Grid::new([3, 2, 2], [0.4, 0.4, 0.4], [-0.6, -0.4, 1.0]).unwrap();
    let v = Volume {
        grid,
        values: (0..12).map(|i| i as f64 * 10.0).collect(),
        element: ElementType::U16,
    };
    let info = xfire_io::dicom::SeriesInfo {
        modality: "NM".into(),
        series_uid: "1.2.3.4".into(),
        study_uid: "1.2.3.5".into(),
        frame_of_reference_uid: Some("1.2.3.6".into()),
        units: Some("BQML".into()),
        decay_correction: Some("START".into()),
        acquisition_s: Some(1.7e9 + 86_400.0),
        administration_s: Some(1.7e9),
        half_life_s: Some(574_300.0),
        ..Default::default()
    };
    let d = std::env::temp_dir().join(format!("xfire-make-corpus-dcm-{}", std::process::id()));
    xfire_io::dicom::write_series(&d.join("nm"), &v, &info).unwrap();
    put(
        "dicom",
        "ok-nm.dcm",
        &std::fs::read(d.join("nm/NM0001.dcm")).unwrap(),
    );
    xfire_io::dicom::write_rt_dose(&d.join("rd.dcm"), &grid, &v.values, &info, "seed", "0")
        .unwrap();
    put(
        "dicom",
        "ok-rtdose.dcm",
        &std::fs::read(d.join("rd.dcm")).unwrap(),
    );
    // one CT slice: refused (a 3-D image needs two slices), a near miss for coverage
    let ct = xfire_io::dicom::SeriesInfo {
        modality: "CT".into(),
        ..info
    };
    xfire_io::dicom::write_series(&d.join("ct"), &v, &ct).unwrap();
    put(
        "dicom",
        "ct-slice.dcm",
        &std::fs::read(d.join("ct/CT0000.dcm")).unwrap(),
    );
    let _ = std::fs::remove_dir_all(&d);
}

fn main() {
    dicom();
    texts();
    h5();
    images();
    tallies();
}
