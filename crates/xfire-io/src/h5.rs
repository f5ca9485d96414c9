//! The phantom HDF5 file (layout in `docs/formats/phantom.md`, format version
//! [`FORMAT_VERSION`]) and the VTKHDF ImageData export for ParaView.

use std::collections::HashMap;
use std::path::Path;

use hdf5_pure::{AttrValue, Datatype, File};
use xfire_phantom::{CellKind, CellRegistry, Grid, LabelTable, MaterialEntry, Phantom, SourceMap};

use crate::hdf5::{Attr, Field, H5Dataset, H5Writer};
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

fn vstr(s: &str) -> Attr {
    Attr::text(s)
}

// field layout of cells/table (packed, little endian)
const CELL_FIELDS: [(&str, Field); 9] = [
    ("id", Field::U32),
    ("kind", Field::U16),
    ("centre_x_cm", Field::F64),
    ("centre_y_cm", Field::F64),
    ("centre_z_cm", Field::F64),
    ("radius_cm", Field::F64),
    ("nucleus_radius_cm", Field::F64),
    ("n_nucleus_voxels", Field::U32),
    ("n_cytoplasm_voxels", Field::U32),
];

/// A per-voxel array of `g`, shaped (nz, ny, nx) and stored in chunks with deflate (after
/// the byte shuffle when `shuffle`) and a Fletcher-32 checksum.
fn voxel_array<'a>(d: H5Dataset<'a>, g: &Grid, shuffle: bool) -> H5Dataset<'a> {
    let s = g.shape_zyx();
    let d = d
        .shape(&[s[0] as u64, s[1] as u64, s[2] as u64])
        .chunks(&chunks(s));
    let d = if shuffle { d.shuffle() } else { d };
    d.deflate(4).fletcher32()
}

/// Write `phantom` to `path` (atomically: temporary file, then rename).
pub fn write_phantom(path: &Path, phantom: &Phantom) -> Result<()> {
    phantom.validate().map_err(|e| IoError::Phantom {
        path: path.to_path_buf(),
        error: e,
    })?;
    let mut w = H5Writer::new();
    write_root_attrs(&mut w, phantom);
    write_voxel_arrays(&mut w, phantom);
    write_tables(&mut w, phantom);
    write_cells(&mut w, phantom)
        .map_err(|e| fmt_err(path, format!("building the cell table type: {e}")))?;
    write_source_maps(&mut w, phantom);
    write_atomic(path, |tmp| {
        w.write(tmp)
            .map_err(|e| fmt_err(path, format!("writing HDF5: {e}")))
    })
}

/// The root attributes: format, units, grid, provenance, cell count, content hash.
fn write_root_attrs(w: &mut H5Writer, phantom: &Phantom) {
    let g = &phantom.grid;
    w.attr("format", vstr(FORMAT_NAME));
    w.attr("format_version", Attr::I64(FORMAT_VERSION));
    w.attr(
        "creator",
        vstr(&format!("xfire {}", env!("CARGO_PKG_VERSION"))),
    );
    w.attr("units", vstr("length cm, density g/cm3, mass g"));
    w.attr(
        "array_order",
        vstr("arrays shaped (nz, ny, nx), x fastest; index = (k*ny + j)*nx + i"),
    );
    w.attr("voxel_size_cm", Attr::F64s(g.voxel_cm.to_vec()));
    w.attr("origin_cm", Attr::F64s(g.origin_cm.to_vec()));
    w.attr(
        "dims_xyz",
        Attr::I64s(vec![g.nx as i64, g.ny as i64, g.nz as i64]),
    );
    w.attr("provenance", vstr(&phantom.provenance));
    w.attr("n_cells", Attr::I64(phantom.cells.len() as i64));
    w.attr("content_hash", Attr::U64(content_hash(phantom)));
}

/// The per-voxel arrays: labels (`u8` when every id fits, else `u16`), material, density,
/// cell id.
fn write_voxel_arrays(w: &mut H5Writer, phantom: &Phantom) {
    let g = &phantom.grid;
    let lab = if phantom.labels.max_id() <= u8::MAX as u16 {
        let v: Vec<u8> = phantom.label.iter().map(|&l| l as u8).collect();
        voxel_array(w.dataset("labels").u8s(&v), g, false)
    } else {
        voxel_array(w.dataset("labels").u16s(&phantom.label), g, true)
    };
    lab.attr(
        "description",
        vstr("label id per voxel; names in label_table"),
    );
    voxel_array(w.dataset("material").u8s(&phantom.material), g, false).attr(
        "description",
        vstr("material index per voxel; names in material_table"),
    );
    voxel_array(w.dataset("density").f32s(&phantom.density_g_cm3), g, true)
        .attr("units", vstr("g/cm3"));
    voxel_array(w.dataset("cell_id").u32s(&phantom.cell_id), g, true).attr(
        "description",
        vstr("cell id per voxel (0 = no cell); rows of cells/table"),
    );
}

/// The groups `label_table` (id, name) and `material_table` (name, density).
fn write_tables(w: &mut H5Writer, phantom: &Phantom) {
    let mut lt = w.group("label_table");
    let entries = phantom.labels.entries();
    let ids: Vec<u16> = entries.iter().map(|e| e.0).collect();
    let names: Vec<&str> = entries.iter().map(|e| e.1.as_str()).collect();
    lt.dataset("id").u16s(&ids);
    lt.dataset("name").strings(&names);
    w.add(lt);

    let mut mt = w.group("material_table");
    let mnames: Vec<&str> = phantom.materials.iter().map(|m| m.name.as_str()).collect();
    let mdens: Vec<f64> = phantom.materials.iter().map(|m| m.density_g_cm3).collect();
    mt.dataset("name").strings(&mnames);
    mt.dataset("density_g_cm3").f64s(&mdens);
    w.add(mt);
}

/// The group `cells`: kind names, the count and, when there are cells, the packed table.
fn write_cells(
    w: &mut H5Writer,
    phantom: &Phantom,
) -> std::result::Result<(), crate::hdf5::H5Error> {
    let mut cg = w.group("cells");
    let kinds: Vec<&str> = phantom
        .cells
        .kind_names
        .iter()
        .map(|s| s.as_str())
        .collect();
    cg.dataset("kind_names").strings(&kinds);
    cg.attr("count", Attr::I64(phantom.cells.len() as i64));
    if !phantom.cells.is_empty() {
        let rec: usize = CELL_FIELDS.iter().map(|f| f.1.width()).sum();
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
        cg.dataset("table")
            .records(&CELL_FIELDS, raw, phantom.cells.len() as u64)?
            .attr(
                "description",
                vstr("one row per cell; kind indexes cells/kind_names; voxels in cell_id"),
            );
    }
    w.add(cg);
    Ok(())
}

/// The group `source_maps`: one per-voxel weight array per map.
fn write_source_maps(w: &mut H5Writer, phantom: &Phantom) {
    let mut sg = w.group("source_maps");
    for m in &phantom.source_maps {
        voxel_array(sg.dataset(&m.name).f32s(&m.weight), &phantom.grid, true)
            .attr("method", vstr(&m.method))
            .attr("units", vstr("relative activity weight per voxel"));
    }
    w.add(sg);
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
    let (f, attrs, file_len) = open_phantom_file(path)?;
    let grid = read_grid(path, &attrs, file_len)?;
    let v = read_voxel_arrays(&f, path, &grid)?;
    let labels = read_label_table(&f, path)?;
    let materials = read_material_table(&f, path)?;
    let cells = read_cells(&f, path, &attrs)?;
    let mut phantom = Phantom {
        materials,
        labels,
        material: v.material,
        density_g_cm3: v.density,
        label: v.label,
        cell_id: v.cell_id,
        cells,
        source_maps: read_source_maps(&f, path, &grid)?,
        provenance: attr_str(&attrs, "provenance").unwrap_or_default(),
        grid,
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

/// Opens a regular file and checks its root attributes `format` and `format_version`;
/// returns the file, its root attributes and its length in bytes.
fn open_phantom_file(path: &Path) -> Result<(File, HashMap<String, AttrValue>, u64)> {
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
    Ok((f, attrs, meta.len()))
}

/// The grid of the root attributes, refused when it claims more voxels than a file of
/// `file_len` bytes can hold.
fn read_grid(path: &Path, attrs: &HashMap<String, AttrValue>, file_len: u64) -> Result<Grid> {
    let voxel = attr_f64s(path, attrs, "voxel_size_cm")?;
    let origin = attr_f64s(path, attrs, "origin_cm")?;
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
    if n as u128 > DEFLATE_MAX_RATIO as u128 * file_len as u128 {
        return Err(fmt_err(
            path,
            format!(
                "dims_xyz {}×{}×{} claim {n} voxels but the file holds only {file_len} bytes (at most {DEFLATE_MAX_RATIO} voxels per byte with deflate)",
                d[0],
                d[1],
                d[2],
            ),
        ));
    }
    Ok(grid)
}

/// The dataset `name`, checked to be shaped (nz, ny, nx) of `grid`.
fn voxel_dataset(f: &File, path: &Path, grid: &Grid, name: &str) -> Result<hdf5_pure::Dataset> {
    let want_shape = vec![grid.nz as u64, grid.ny as u64, grid.nx as u64];
    let ds = f
        .dataset(name)
        .map_err(|e| h5err(path, &format!("dataset {name:?}"), e))?;
    let shape = ds
        .shape()
        .map_err(|e| h5err(path, &format!("shape of {name:?}"), e))?;
    if shape != want_shape {
        return Err(fmt_err(
            path,
            format!("dataset {name:?} has shape {shape:?}, expected (nz, ny, nx) = {want_shape:?}"),
        ));
    }
    Ok(ds)
}

/// The per-voxel arrays of a phantom file.
struct VoxelArrays {
    label: Vec<u16>,
    material: Vec<u8>,
    density: Vec<f32>,
    cell_id: Vec<u32>,
}

/// Reads `labels` (`u8` or `u16`), `material`, `density` and `cell_id`, each checked to
/// hold one value per voxel of `grid`.
fn read_voxel_arrays(f: &File, path: &Path, grid: &Grid) -> Result<VoxelArrays> {
    let lds = voxel_dataset(f, path, grid, "labels")?;
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
    let material = voxel_dataset(f, path, grid, "material")?
        .read_u8()
        .map_err(|e| h5err(path, "reading material", e))?;
    let density = voxel_dataset(f, path, grid, "density")?
        .read_f32()
        .map_err(|e| h5err(path, "reading density", e))?;
    let cell_id = voxel_dataset(f, path, grid, "cell_id")?
        .read_u32()
        .map_err(|e| h5err(path, "reading cell_id", e))?;
    let n = grid.len();
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
    Ok(VoxelArrays {
        label,
        material,
        density,
        cell_id,
    })
}

/// The group `label_table`: ids and names.
fn read_label_table(f: &File, path: &Path) -> Result<LabelTable> {
    let ids = f
        .dataset("label_table/id")
        .and_then(|d| d.read_u16())
        .map_err(|e| h5err(path, "label_table/id", e))?;
    let names = read_strings(f, path, "label_table/name")?;
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
    LabelTable::from_entries(ids.into_iter().zip(names).collect()).map_err(|e| IoError::Phantom {
        path: path.to_path_buf(),
        error: e,
    })
}

/// The group `material_table`: names and nominal densities.
fn read_material_table(f: &File, path: &Path) -> Result<Vec<MaterialEntry>> {
    let mnames = read_strings(f, path, "material_table/name")?;
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
    Ok(mnames
        .into_iter()
        .zip(mdens)
        .map(|(name, density_g_cm3)| MaterialEntry {
            name,
            density_g_cm3,
        })
        .collect())
}

/// The group `cells`: kind names and, when the root attribute `n_cells` is positive, the
/// table of cells (ids checked to run 1, 2, …).
fn read_cells(f: &File, path: &Path, attrs: &HashMap<String, AttrValue>) -> Result<CellRegistry> {
    let mut cells = CellRegistry::new();
    cells.kind_names = read_strings(f, path, "cells/kind_names")?;
    let n_cells = attrs.get("n_cells").and_then(|a| a.as_i64()).unwrap_or(0);
    if n_cells <= 0 {
        return Ok(cells);
    }
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
    Ok(cells)
}

/// The group `source_maps` (absent: none): one weight array per map, with its method.
fn read_source_maps(f: &File, path: &Path, grid: &Grid) -> Result<Vec<SourceMap>> {
    let mut source_maps = Vec::new();
    let Ok(g) = f.group("source_maps") else {
        return Ok(source_maps);
    };
    let names = g
        .datasets()
        .map_err(|e| h5err(path, "listing source_maps", e))?;
    for name in names {
        let full = format!("source_maps/{name}");
        let d = voxel_dataset(f, path, grid, &full)?;
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
    Ok(source_maps)
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
    for (k, (name, field)) in CELL_FIELDS.iter().take(7).enumerate() {
        let width = field.width();
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
    let mut w = H5Writer::new();
    let mut v = w.group("VTKHDF");
    v.attr("Version", Attr::I64s(vec![2, 2]));
    v.attr("Type", Attr::Ascii("ImageData".into()));
    v.attr(
        "WholeExtent",
        Attr::I64s(vec![0, g.nx as i64, 0, g.ny as i64, 0, g.nz as i64]),
    );
    v.attr("Origin", Attr::F64s(g.origin_cm.to_vec()));
    v.attr("Spacing", Attr::F64s(g.voxel_cm.to_vec()));
    v.attr(
        "Direction",
        Attr::F64s(vec![1.0, 0.0, 0.0, 0.0, 1.0, 0.0, 0.0, 0.0, 1.0]),
    );
    let mut cd = v.group("CellData");
    voxel_array(cd.dataset("labels").u16s(&phantom.label), g, false);
    voxel_array(cd.dataset("material").u8s(&phantom.material), g, false);
    voxel_array(
        cd.dataset("density_g_cm3").f32s(&phantom.density_g_cm3),
        g,
        true,
    );
    voxel_array(cd.dataset("cell_id").u32s(&phantom.cell_id), g, true);
    for m in &phantom.source_maps {
        let name = format!("source_{}", m.name.replace([':', '/'], "_"));
        voxel_array(cd.dataset(&name).f32s(&m.weight), g, true);
    }
    v.add(cd);
    w.add(v);
    write_atomic(path, |tmp| {
        w.write(tmp)
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
        let h = crate::hdf5::H5Reader::open(&v).unwrap();
        let shape = h.shape("VTKHDF/CellData/density_g_cm3").unwrap();
        assert_eq!(shape, vec![16, 25, 30]);
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
        let mut b = H5Writer::new();
        b.dataset("x").f64s(&[1.0]);
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
        let mut b = H5Writer::new();
        b.attr("format", vstr(FORMAT_NAME));
        b.attr("format_version", Attr::I64(FORMAT_VERSION));
        b.attr("voxel_size_cm", Attr::F64s(vec![1e-4; 3]));
        b.attr("origin_cm", Attr::F64s(vec![0.0; 3]));
        b.attr("dims_xyz", Attr::I64s(vec![1000, 1000, 1000]));
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
