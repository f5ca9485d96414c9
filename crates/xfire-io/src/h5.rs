//! The phantom HDF5 file (layout in `docs/formats/phantom.md`, format version
//! [`FORMAT_VERSION`]) and the VTKHDF ImageData export for ParaView.

use std::collections::HashMap;
use std::path::Path;

use hdf5_pure::{AttrValue, CompoundTypeBuilder, Datatype, File, FileBuilder};
use xfire_phantom::{CellKind, CellRegistry, Grid, LabelTable, MaterialEntry, Phantom, SourceMap};

use crate::{check_dims, fmt_err, write_atomic, IoError, Result, DEFLATE_MAX_RATIO};

/// Version of the phantom file layout written by [`write_phantom`].
pub const FORMAT_VERSION: i64 = 1;
/// Value of the root attribute `format`.
pub const FORMAT_NAME: &str = "xfire-phantom";

/// Chunk shape for an array shaped (nz, ny, nx): at most 32 × 64 × 64.
fn chunks(shape: [usize; 3]) -> [u64; 3] {
    [
        shape[0].min(32) as u64,
        shape[1].min(64) as u64,
        shape[2].min(64) as u64,
    ]
}

fn vstr(s: &str) -> AttrValue {
    AttrValue::VarLenString(s.to_string())
}

// field layout of cells/table (packed, little endian)
const CELL_FIELDS: [(&str, usize); 9] = [
    ("id", 4),
    ("kind", 2),
    ("centre_x_cm", 8),
    ("centre_y_cm", 8),
    ("centre_z_cm", 8),
    ("radius_cm", 8),
    ("nucleus_radius_cm", 8),
    ("n_nucleus_voxels", 4),
    ("n_cytoplasm_voxels", 4),
];

/// Write `phantom` to `path` (atomically: temporary file, then rename).
pub fn write_phantom(path: &Path, phantom: &Phantom) -> Result<()> {
    phantom.validate().map_err(|e| IoError::Phantom {
        path: path.to_path_buf(),
        error: e,
    })?;
    let g = &phantom.grid;
    let shape_zyx = g.shape_zyx();
    let shape = [
        shape_zyx[0] as u64,
        shape_zyx[1] as u64,
        shape_zyx[2] as u64,
    ];
    let ch = chunks(shape_zyx);
    let mut b = FileBuilder::new();
    b.set_attr("format", vstr(FORMAT_NAME));
    b.set_attr("format_version", AttrValue::I64(FORMAT_VERSION));
    b.set_attr(
        "creator",
        vstr(&format!("xfire {}", env!("CARGO_PKG_VERSION"))),
    );
    b.set_attr("units", vstr("length cm, density g/cm3, mass g"));
    b.set_attr(
        "array_order",
        vstr("arrays shaped (nz, ny, nx), x fastest; index = (k*ny + j)*nx + i"),
    );
    b.set_attr("voxel_size_cm", AttrValue::F64Array(g.voxel_cm.to_vec()));
    b.set_attr("origin_cm", AttrValue::F64Array(g.origin_cm.to_vec()));
    b.set_attr(
        "dims_xyz",
        AttrValue::I64Array(vec![g.nx as i64, g.ny as i64, g.nz as i64]),
    );
    b.set_attr("provenance", vstr(&phantom.provenance));
    b.set_attr("n_cells", AttrValue::I64(phantom.cells.len() as i64));
    b.set_attr("content_hash", AttrValue::U64(content_hash(phantom)));

    // labels: u8 when every id fits, else u16
    let lab = b.create_dataset("labels");
    if phantom.labels.max_id() <= u8::MAX as u16 {
        let v: Vec<u8> = phantom.label.iter().map(|&l| l as u8).collect();
        lab.with_u8_data(&v);
    } else {
        lab.with_u16_data(&phantom.label).with_shuffle();
    }
    lab.with_shape(&shape)
        .with_chunks(&ch)
        .with_deflate(4)
        .with_fletcher32()
        .set_attr(
            "description",
            vstr("label id per voxel; names in label_table"),
        );
    b.create_dataset("material")
        .with_u8_data(&phantom.material)
        .with_shape(&shape)
        .with_chunks(&ch)
        .with_deflate(4)
        .with_fletcher32()
        .set_attr(
            "description",
            vstr("material index per voxel; names in material_table"),
        );
    b.create_dataset("density")
        .with_f32_data(&phantom.density_g_cm3)
        .with_shape(&shape)
        .with_chunks(&ch)
        .with_shuffle()
        .with_deflate(4)
        .with_fletcher32()
        .set_attr("units", vstr("g/cm3"));
    b.create_dataset("cell_id")
        .with_u32_data(&phantom.cell_id)
        .with_shape(&shape)
        .with_chunks(&ch)
        .with_shuffle()
        .with_deflate(4)
        .with_fletcher32()
        .set_attr(
            "description",
            vstr("cell id per voxel (0 = no cell); rows of cells/table"),
        );

    let mut lt = b.create_group("label_table");
    let ids: Vec<u16> = phantom.labels.entries().iter().map(|e| e.0).collect();
    let names: Vec<&str> = phantom
        .labels
        .entries()
        .iter()
        .map(|e| e.1.as_str())
        .collect();
    lt.create_dataset("id").with_u16_data(&ids);
    lt.create_dataset("name").with_vlen_strings(&names);
    b.add_group(lt.finish());

    let mut mt = b.create_group("material_table");
    let mnames: Vec<&str> = phantom.materials.iter().map(|m| m.name.as_str()).collect();
    let mdens: Vec<f64> = phantom.materials.iter().map(|m| m.density_g_cm3).collect();
    mt.create_dataset("name").with_vlen_strings(&mnames);
    mt.create_dataset("density_g_cm3").with_f64_data(&mdens);
    b.add_group(mt.finish());

    let mut cg = b.create_group("cells");
    let kinds: Vec<&str> = phantom
        .cells
        .kind_names
        .iter()
        .map(|s| s.as_str())
        .collect();
    cg.create_dataset("kind_names").with_vlen_strings(&kinds);
    cg.set_attr("count", AttrValue::I64(phantom.cells.len() as i64));
    if !phantom.cells.is_empty() {
        let dt = CompoundTypeBuilder::new()
            .u32_field("id")
            .u16_field("kind")
            .f64_field("centre_x_cm")
            .f64_field("centre_y_cm")
            .f64_field("centre_z_cm")
            .f64_field("radius_cm")
            .f64_field("nucleus_radius_cm")
            .u32_field("n_nucleus_voxels")
            .u32_field("n_cytoplasm_voxels")
            .build()
            .map_err(|e| fmt_err(path, format!("building the cell table type: {e}")))?;
        let rec: usize = CELL_FIELDS.iter().map(|f| f.1).sum();
        let mut raw = Vec::with_capacity(rec * phantom.cells.len());
        for c in &phantom.cells.cells {
            raw.extend_from_slice(&c.id.to_le_bytes());
            raw.extend_from_slice(&c.kind.0.to_le_bytes());
            for x in c.centre_cm {
                raw.extend_from_slice(&x.to_le_bytes());
            }
            raw.extend_from_slice(&c.radius_cm.to_le_bytes());
            raw.extend_from_slice(&c.nucleus_radius_cm.to_le_bytes());
            raw.extend_from_slice(&(c.nucleus_voxels.len() as u32).to_le_bytes());
            raw.extend_from_slice(&(c.cytoplasm_voxels.len() as u32).to_le_bytes());
        }
        cg.create_dataset("table")
            .with_compound_data(dt, raw, phantom.cells.len() as u64)
            .set_attr(
                "description",
                vstr("one row per cell; kind indexes cells/kind_names; voxels in cell_id"),
            );
    }
    b.add_group(cg.finish());

    let mut sg = b.create_group("source_maps");
    for m in &phantom.source_maps {
        sg.create_dataset(&m.name)
            .with_f32_data(&m.weight)
            .with_shape(&shape)
            .with_chunks(&ch)
            .with_shuffle()
            .with_deflate(4)
            .with_fletcher32()
            .set_attr("method", vstr(&m.method))
            .set_attr("units", vstr("relative activity weight per voxel"));
    }
    b.add_group(sg.finish());

    write_atomic(path, |tmp| {
        b.write(tmp)
            .map_err(|e| fmt_err(path, format!("writing HDF5: {e}")))
    })
}

/// A 64-bit hash of everything stored (FNV-1a style over 8-byte words), written as the root
/// attribute `content_hash` and checked on read, so a corrupted file is refused rather than
/// read as different data.
pub fn content_hash(p: &Phantom) -> u64 {
    const P: u64 = 0x0000_0100_0000_01B3;
    #[inline]
    fn mix(h: u64, x: u64) -> u64 {
        let h = (h ^ x).wrapping_mul(P);
        h ^ (h >> 29)
    }
    fn bytes(mut h: u64, b: &[u8]) -> u64 {
        for w in b.chunks(8) {
            let mut x = [0u8; 8];
            x[..w.len()].copy_from_slice(w);
            h = mix(h, u64::from_le_bytes(x));
        }
        mix(h, b.len() as u64)
    }
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    let g = &p.grid;
    for x in [g.nx as u64, g.ny as u64, g.nz as u64] {
        h = mix(h, x);
    }
    for x in g.voxel_cm.iter().chain(&g.origin_cm) {
        h = mix(h, x.to_bits());
    }
    h = p.label.iter().fold(h, |h, &x| mix(h, x as u64));
    h = bytes(h, &p.material);
    h = p
        .density_g_cm3
        .iter()
        .fold(h, |h, &x| mix(h, x.to_bits() as u64));
    h = p.cell_id.iter().fold(h, |h, &x| mix(h, x as u64));
    for (id, name) in p.labels.entries() {
        h = bytes(mix(h, *id as u64), name.as_bytes());
    }
    for m in &p.materials {
        h = mix(bytes(h, m.name.as_bytes()), m.density_g_cm3.to_bits());
    }
    for k in &p.cells.kind_names {
        h = bytes(h, k.as_bytes());
    }
    for c in &p.cells.cells {
        h = mix(mix(h, c.id as u64), c.kind.0 as u64);
        for x in c
            .centre_cm
            .iter()
            .chain([&c.radius_cm, &c.nucleus_radius_cm])
        {
            h = mix(h, x.to_bits());
        }
    }
    for m in &p.source_maps {
        h = bytes(bytes(h, m.name.as_bytes()), m.method.as_bytes());
        h = m.weight.iter().fold(h, |h, &x| mix(h, x.to_bits() as u64));
    }
    bytes(h, p.provenance.as_bytes())
}

fn h5err(path: &Path, what: &str, e: hdf5_pure::Error) -> IoError {
    fmt_err(path, format!("{what}: {e}"))
}

fn attr_f64s(path: &Path, attrs: &HashMap<String, AttrValue>, name: &str) -> Result<Vec<f64>> {
    attrs.get(name).and_then(|a| a.to_f64s()).ok_or_else(|| {
        fmt_err(
            path,
            format!("root attribute {name:?} is missing or not numeric"),
        )
    })
}

fn attr_str(attrs: &HashMap<String, AttrValue>, name: &str) -> Option<String> {
    attrs
        .get(name)
        .and_then(|a| a.as_str())
        .map(|s| s.to_string())
}

/// Read a phantom written by [`write_phantom`]. Errors name the file and what is wrong;
/// a corrupt file never panics.
pub fn read_phantom(path: &Path) -> Result<Phantom> {
    let p = path.to_path_buf();
    match std::panic::catch_unwind(move || read_phantom_inner(&p)) {
        Ok(r) => r,
        Err(_) => Err(fmt_err(path, "corrupt HDF5 file (the reader failed)")),
    }
}

fn read_phantom_inner(path: &Path) -> Result<Phantom> {
    let meta = std::fs::metadata(path).map_err(|e| crate::io_err(path, e))?;
    if !meta.is_file() {
        return Err(fmt_err(path, "is not a regular file"));
    }
    let f = File::open(path).map_err(|e| h5err(path, "not a readable HDF5 file", e))?;
    let attrs = f
        .root()
        .attrs()
        .map_err(|e| h5err(path, "reading root attributes", e))?;
    match attr_str(&attrs, "format").as_deref() {
        Some(FORMAT_NAME) => {}
        other => {
            return Err(fmt_err(
                path,
                format!("not an xfire phantom file (root attribute format = {other:?})"),
            ))
        }
    }
    let version = attrs
        .get("format_version")
        .and_then(|a| a.as_i64())
        .unwrap_or(-1);
    if version != FORMAT_VERSION {
        return Err(fmt_err(
            path,
            format!("format_version {version} is not supported (expected {FORMAT_VERSION})"),
        ));
    }
    let voxel = attr_f64s(path, &attrs, "voxel_size_cm")?;
    let origin = attr_f64s(path, &attrs, "origin_cm")?;
    let dims = attrs
        .get("dims_xyz")
        .and_then(|a| a.to_i64s())
        .ok_or_else(|| fmt_err(path, "root attribute dims_xyz is missing"))?;
    if voxel.len() != 3 || origin.len() != 3 || dims.len() != 3 {
        return Err(fmt_err(
            path,
            "voxel_size_cm, origin_cm and dims_xyz need 3 values each",
        ));
    }
    let d = check_dims(path, [dims[0], dims[1], dims[2]])?;
    let grid = Grid::new(
        d,
        [voxel[0], voxel[1], voxel[2]],
        [origin[0], origin[1], origin[2]],
    )
    .map_err(|e| IoError::Phantom {
        path: path.to_path_buf(),
        error: e,
    })?;
    let n = grid.len();
    // every dataset is stored (chunked, deflated): one byte of file holds at most
    // DEFLATE_MAX_RATIO voxels, so a larger claim is refused before anything is read
    if n as u128 > DEFLATE_MAX_RATIO as u128 * meta.len() as u128 {
        return Err(fmt_err(
            path,
            format!(
                "dims_xyz {}×{}×{} claim {n} voxels but the file holds only {} bytes (at most {DEFLATE_MAX_RATIO} voxels per byte with deflate)",
                d[0],
                d[1],
                d[2],
                meta.len()
            ),
        ));
    }
    let want_shape = vec![grid.nz as u64, grid.ny as u64, grid.nx as u64];
    let ds = |name: &str| -> Result<hdf5_pure::Dataset> {
        let ds = f
            .dataset(name)
            .map_err(|e| h5err(path, &format!("dataset {name:?}"), e))?;
        let shape = ds
            .shape()
            .map_err(|e| h5err(path, &format!("shape of {name:?}"), e))?;
        if shape != want_shape {
            return Err(fmt_err(
                path,
                format!(
                    "dataset {name:?} has shape {shape:?}, expected (nz, ny, nx) = {want_shape:?}"
                ),
            ));
        }
        Ok(ds)
    };
    let lds = ds("labels")?;
    let label: Vec<u16> = match lds.dtype().map_err(|e| h5err(path, "labels dtype", e))? {
        hdf5_pure::DType::U8 => lds
            .read_u8()
            .map_err(|e| h5err(path, "reading labels", e))?
            .into_iter()
            .map(|x| x as u16)
            .collect(),
        _ => lds
            .read_u16()
            .map_err(|e| h5err(path, "reading labels", e))?,
    };
    let material = ds("material")?
        .read_u8()
        .map_err(|e| h5err(path, "reading material", e))?;
    let density = ds("density")?
        .read_f32()
        .map_err(|e| h5err(path, "reading density", e))?;
    let cell_id = ds("cell_id")?
        .read_u32()
        .map_err(|e| h5err(path, "reading cell_id", e))?;
    for (name, len) in [
        ("labels", label.len()),
        ("material", material.len()),
        ("density", density.len()),
        ("cell_id", cell_id.len()),
    ] {
        if len != n {
            return Err(fmt_err(
                path,
                format!("dataset {name:?} holds {len} values, expected {n}"),
            ));
        }
    }

    let ids = f
        .dataset("label_table/id")
        .and_then(|d| d.read_u16())
        .map_err(|e| h5err(path, "label_table/id", e))?;
    let names = read_strings(&f, path, "label_table/name")?;
    if ids.len() != names.len() {
        return Err(fmt_err(
            path,
            format!(
                "label_table has {} ids but {} names",
                ids.len(),
                names.len()
            ),
        ));
    }
    let labels = LabelTable::from_entries(ids.into_iter().zip(names).collect()).map_err(|e| {
        IoError::Phantom {
            path: path.to_path_buf(),
            error: e,
        }
    })?;
    let mnames = read_strings(&f, path, "material_table/name")?;
    let mdens = f
        .dataset("material_table/density_g_cm3")
        .and_then(|d| d.read_f64())
        .map_err(|e| h5err(path, "material_table/density_g_cm3", e))?;
    if mnames.len() != mdens.len() {
        return Err(fmt_err(
            path,
            "material_table name and density_g_cm3 lengths differ",
        ));
    }
    let materials = mnames
        .into_iter()
        .zip(mdens)
        .map(|(name, density_g_cm3)| MaterialEntry {
            name,
            density_g_cm3,
        })
        .collect();

    let mut cells = CellRegistry::new();
    cells.kind_names = read_strings(&f, path, "cells/kind_names")?;
    let n_cells = attrs.get("n_cells").and_then(|a| a.as_i64()).unwrap_or(0);
    if n_cells > 0 {
        let t = f
            .dataset("cells/table")
            .map_err(|e| h5err(path, "cells/table", e))?;
        let offsets = compound_offsets(path, &t)?;
        let raw = t
            .read_raw()
            .map_err(|e| h5err(path, "reading cells/table", e))?;
        let rec = match t.datatype() {
            Ok(Datatype::Compound { size, .. }) => size as usize,
            _ => return Err(fmt_err(path, "cells/table is not a compound table")),
        };
        if rec == 0 || raw.len() != rec * n_cells as usize {
            return Err(fmt_err(
                path,
                format!(
                    "cells/table holds {} bytes, expected {n_cells} records of {rec} bytes",
                    raw.len()
                ),
            ));
        }
        for r in raw.chunks_exact(rec) {
            let u32_at = |o: usize| u32::from_le_bytes([r[o], r[o + 1], r[o + 2], r[o + 3]]);
            let f64_at = |o: usize| {
                let mut b = [0u8; 8];
                b.copy_from_slice(&r[o..o + 8]);
                f64::from_le_bytes(b)
            };
            let id = u32_at(offsets[0]);
            let kind = u16::from_le_bytes([r[offsets[1]], r[offsets[1] + 1]]);
            let c = [f64_at(offsets[2]), f64_at(offsets[3]), f64_at(offsets[4])];
            let got = cells.push(CellKind(kind), c, f64_at(offsets[5]), f64_at(offsets[6]));
            if got != id {
                return Err(fmt_err(
                    path,
                    format!("cells/table row {} has id {id}, expected {got}", got - 1),
                ));
            }
        }
    }
    // source maps
    let mut source_maps = Vec::new();
    if let Ok(g) = f.group("source_maps") {
        let names = g
            .datasets()
            .map_err(|e| h5err(path, "listing source_maps", e))?;
        for name in names {
            let full = format!("source_maps/{name}");
            let d = ds(&full)?;
            let method = d
                .attrs()
                .ok()
                .and_then(|a| attr_str(&a, "method"))
                .unwrap_or_default();
            let weight = d.read_f32().map_err(|e| h5err(path, &full, e))?;
            source_maps.push(SourceMap {
                name,
                method,
                weight,
            });
        }
    }
    let mut phantom = Phantom {
        grid,
        materials,
        labels,
        material,
        density_g_cm3: density,
        label,
        cell_id,
        cells,
        source_maps,
        provenance: attr_str(&attrs, "provenance").unwrap_or_default(),
    };
    let perr = |e| IoError::Phantom {
        path: path.to_path_buf(),
        error: e,
    };
    phantom.validate().map_err(perr)?;
    if let Some(stored) = attrs.get("content_hash").and_then(|a| a.as_u64()) {
        let now = content_hash(&phantom);
        if stored != now {
            return Err(fmt_err(
                path,
                format!("content hash {now:#018x} differs from the stored {stored:#018x}: the file is corrupt"),
            ));
        }
    }
    let (cid, lab, lt) = (&phantom.cell_id, &phantom.label, &phantom.labels);
    phantom
        .cells
        .rebuild_voxel_lists(cid, lab, lt)
        .map_err(perr)?;
    Ok(phantom)
}

fn read_strings(f: &File, path: &Path, name: &str) -> Result<Vec<String>> {
    let d = f
        .dataset(name)
        .map_err(|e| h5err(path, &format!("dataset {name:?}"), e))?;
    match d.dtype() {
        Ok(hdf5_pure::DType::VariableLengthString) => d
            .read_vlen_strings(Default::default())
            .map_err(|e| h5err(path, name, e)),
        _ => d.read_string().map_err(|e| h5err(path, name, e)),
    }
}

fn compound_offsets(path: &Path, t: &hdf5_pure::Dataset) -> Result<[usize; 7]> {
    let dt = t
        .datatype()
        .map_err(|e| h5err(path, "cells/table datatype", e))?;
    let Datatype::Compound { members, size } = dt else {
        return Err(fmt_err(path, "cells/table is not a compound table"));
    };
    let mut out = [0usize; 7];
    for (k, (name, width)) in CELL_FIELDS.iter().take(7).enumerate() {
        let m = members
            .iter()
            .find(|m| m.name == *name)
            .ok_or_else(|| fmt_err(path, format!("cells/table has no field {name:?}")))?;
        let o = m.byte_offset as usize;
        if o + width > size as usize {
            return Err(fmt_err(
                path,
                format!("cells/table field {name:?} lies outside the record"),
            ));
        }
        out[k] = o;
    }
    Ok(out)
}

/// Write a VTKHDF ImageData file (ParaView ≥ 5.10 opens it directly) with the labels,
/// material, density, cell id and source maps as cell data. Lengths in the file are in cm.
pub fn write_vtkhdf(path: &Path, phantom: &Phantom) -> Result<()> {
    let g = &phantom.grid;
    let shape_zyx = g.shape_zyx();
    let shape = [
        shape_zyx[0] as u64,
        shape_zyx[1] as u64,
        shape_zyx[2] as u64,
    ];
    let ch = chunks(shape_zyx);
    let mut b = FileBuilder::new();
    let mut v = b.create_group("VTKHDF");
    v.set_attr("Version", AttrValue::I64Array(vec![2, 2]));
    v.set_attr("Type", AttrValue::AsciiString("ImageData".into()));
    v.set_attr(
        "WholeExtent",
        AttrValue::I64Array(vec![0, g.nx as i64, 0, g.ny as i64, 0, g.nz as i64]),
    );
    v.set_attr("Origin", AttrValue::F64Array(g.origin_cm.to_vec()));
    v.set_attr("Spacing", AttrValue::F64Array(g.voxel_cm.to_vec()));
    v.set_attr(
        "Direction",
        AttrValue::F64Array(vec![1.0, 0.0, 0.0, 0.0, 1.0, 0.0, 0.0, 0.0, 1.0]),
    );
    let mut cd = v.create_group("CellData");
    cd.create_dataset("labels")
        .with_u16_data(&phantom.label)
        .with_shape(&shape)
        .with_chunks(&ch)
        .with_deflate(4)
        .with_fletcher32();
    cd.create_dataset("material")
        .with_u8_data(&phantom.material)
        .with_shape(&shape)
        .with_chunks(&ch)
        .with_deflate(4)
        .with_fletcher32();
    cd.create_dataset("density_g_cm3")
        .with_f32_data(&phantom.density_g_cm3)
        .with_shape(&shape)
        .with_chunks(&ch)
        .with_shuffle()
        .with_deflate(4)
        .with_fletcher32();
    cd.create_dataset("cell_id")
        .with_u32_data(&phantom.cell_id)
        .with_shape(&shape)
        .with_chunks(&ch)
        .with_shuffle()
        .with_deflate(4)
        .with_fletcher32();
    for m in &phantom.source_maps {
        cd.create_dataset(&format!("source_{}", m.name.replace([':', '/'], "_")))
            .with_f32_data(&m.weight)
            .with_shape(&shape)
            .with_chunks(&ch)
            .with_shuffle()
            .with_deflate(4)
            .with_fletcher32();
    }
    v.add_group(cd.finish());
    b.add_group(v.finish());
    write_atomic(path, |tmp| {
        b.write(tmp)
            .map_err(|e| fmt_err(path, format!("writing VTKHDF: {e}")))
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use xfire_phantom::{generate, Spec};

    fn water(m: &str) -> Option<f64> {
        (m == "water" || m == "soft_tissue_icrp").then_some(1.0)
    }

    pub(crate) fn small_phantom() -> Phantom {
        let text = r#"
seed = 2
[grid]
voxel = ["2 um", "2 um", "2.5 um"]
size = ["60 um", "50 um", "40 um"]
[tumour]
shape = "block"
cell_radius = "5 um"
nucleus_radius = "3 um"
[tumour.capillaries]
radius = "3 um"
spacing = "30 um"
[lymphocytes]
count = 3
[labels.tumour_nucleus]
material = "soft_tissue_icrp"
density = 1.07
"#;
        generate(&Spec::from_toml(text).unwrap(), text, &water)
            .unwrap()
            .phantom
    }

    #[test]
    fn roundtrip_is_identical() {
        let p = small_phantom();
        assert!(p.cells.len() > 10);
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("p.h5");
        write_phantom(&f, &p).unwrap();
        let q = read_phantom(&f).unwrap();
        assert_eq!(p, q);
        // no temporary files left behind
        let n = std::fs::read_dir(dir.path()).unwrap().count();
        assert_eq!(n, 1);
        // VTKHDF export opens as HDF5 with the expected group
        let v = dir.path().join("p.vtkhdf");
        write_vtkhdf(&v, &p).unwrap();
        let h = File::open(&v).unwrap();
        let d = h.dataset("VTKHDF/CellData/density_g_cm3").unwrap();
        assert_eq!(d.shape().unwrap(), vec![16, 25, 30]);
    }

    #[test]
    fn u16_labels_roundtrip() {
        let g = Grid::new([3, 2, 2], [0.1; 3], [0.0; 3]).unwrap();
        let mut p = Phantom::uniform(
            g,
            MaterialEntry {
                name: "water".into(),
                density_g_cm3: 1.0,
            },
            0,
        );
        p.labels.add_with_id(300, "big").unwrap();
        p.label[5] = 300;
        p.density_g_cm3[1] = 0.25;
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("u16.h5");
        write_phantom(&f, &p).unwrap();
        assert_eq!(read_phantom(&f).unwrap(), p);
    }

    #[test]
    fn bad_files_give_errors_not_panics() {
        let p = small_phantom();
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("p.h5");
        write_phantom(&f, &p).unwrap();
        let bytes = std::fs::read(&f).unwrap();
        // truncated at several points
        for frac in [0.0, 0.01, 0.3, 0.6, 0.9, 0.999] {
            let t = dir.path().join("t.h5");
            std::fs::write(&t, &bytes[..(bytes.len() as f64 * frac) as usize]).unwrap();
            let e = read_phantom(&t).unwrap_err().to_string();
            assert!(e.contains("t.h5"), "{e}");
        }
        // corrupted bytes anywhere: an error, or (when only unused space was hit) the
        // same phantom; never silently different data
        let mut detected = 0;
        for k in 0..60 {
            let pos = bytes.len() * k / 60;
            let mut c = bytes.clone();
            for b in &mut c[pos..(pos + 16).min(bytes.len())] {
                *b ^= 0x5a;
            }
            let t = dir.path().join("c.h5");
            std::fs::write(&t, &c).unwrap();
            match read_phantom(&t) {
                Ok(q) => assert!(q == p, "corruption at byte {pos} changed the data silently"),
                Err(e) => {
                    assert!(e.to_string().contains("c.h5"), "{e}");
                    detected += 1;
                }
            }
        }
        assert!(detected > 5, "{detected}");
        // missing file
        let e = read_phantom(&dir.path().join("nope.h5"))
            .unwrap_err()
            .to_string();
        assert!(e.contains("nope.h5"));
        // an HDF5 file that is not a phantom
        let mut b = FileBuilder::new();
        b.create_dataset("x").with_f64_data(&[1.0]);
        let o = dir.path().join("other.h5");
        b.write(&o).unwrap();
        let e = read_phantom(&o).unwrap_err().to_string();
        assert!(e.contains("not an xfire phantom"), "{e}");
    }

    #[test]
    fn fuzz_found_files_give_the_error_that_names_the_value() {
        // inputs the fuzzer (fuzz/, harness h5_phantom) found, kept in the repository
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../../fuzz/regressions/h5_phantom");
        let mut n = 0;
        for f in std::fs::read_dir(&dir).unwrap() {
            let f = f.unwrap().path();
            let e = read_phantom(&f).unwrap_err().to_string();
            let name = f.file_name().unwrap().to_string_lossy().into_owned();
            // dims whose product overflowed u128 (a panic with overflow checks, wrapped to
            // a small count without them)
            if name.starts_with("dims-product-overflow") {
                assert!(e.contains("more than the supported"), "{name}: {e}");
            }
            n += 1;
        }
        assert!(n > 0, "no regression inputs in {}", dir.display());
    }

    #[test]
    fn dims_larger_than_the_file_can_hold_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        // not a regular file: refused before reading
        let e = read_phantom(dir.path()).unwrap_err().to_string();
        assert!(e.contains("not a regular file"), "{e}");
        // the root attributes of a phantom claiming 10⁹ voxels, and no data behind them:
        // refused from the file length before a dataset is read or allocated
        let p = dir.path().join("claim.h5");
        let mut b = FileBuilder::new();
        b.set_attr("format", vstr(FORMAT_NAME));
        b.set_attr("format_version", AttrValue::I64(FORMAT_VERSION));
        b.set_attr("voxel_size_cm", AttrValue::F64Array(vec![1e-4; 3]));
        b.set_attr("origin_cm", AttrValue::F64Array(vec![0.0; 3]));
        b.set_attr("dims_xyz", AttrValue::I64Array(vec![1000, 1000, 1000]));
        b.write(&p).unwrap();
        let e = read_phantom(&p).unwrap_err().to_string();
        assert!(
            e.contains("claim 1000000000 voxels") && e.contains("1032"),
            "{e}"
        );
    }

    #[test]
    fn invalid_phantom_is_not_written() {
        let mut p = small_phantom();
        p.density_g_cm3[7] = f32::NAN;
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("bad.h5");
        let e = write_phantom(&f, &p).unwrap_err().to_string();
        assert!(e.contains("NaN"), "{e}");
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
        p.density_g_cm3[7] = -1.0;
        assert!(write_phantom(&f, &p).is_err());
        p.density_g_cm3[7] = 1.0;
        p.label[3] = 999;
        let e = write_phantom(&f, &p).unwrap_err().to_string();
        assert!(e.contains("999"), "{e}");
        p.label[3] = 0;
        p.material[2] = 200;
        assert!(write_phantom(&f, &p).is_err());
        p.material[2] = 0;
        p.density_g_cm3.pop();
        assert!(write_phantom(&f, &p).is_err());
        assert!(!f.exists());
    }
}
