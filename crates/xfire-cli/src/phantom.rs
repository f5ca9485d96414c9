//! `xfire phantom`: generate, inspect, import and export voxel phantoms.

use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::{bail, Context};
use clap::Subcommand;
use xfire_io::{ElementType, Volume};
use xfire_phantom::{estimate_memory, Phantom, Spec};

/// Arguments of `xfire phantom`.
#[derive(clap::Args)]
pub struct Args {
    #[command(subcommand)]
    cmd: Cmd,
}

#[derive(Subcommand)]
enum Cmd {
    /// Generate a phantom from a TOML specification (see docs/formats/phantom.md and phantoms/).
    Generate {
        /// The specification file.
        spec: PathBuf,
        /// Output HDF5 file.
        #[arg(short, long)]
        output: PathBuf,
        /// Refuse when the estimated peak memory exceeds this ("8GiB", "500MB", bytes);
        /// default: half of the machine's RAM.
        #[arg(long)]
        max_memory: Option<String>,
        /// Also write a VTKHDF file for ParaView.
        #[arg(long)]
        vtkhdf: Option<PathBuf>,
        /// Print the grid size and memory estimate, then stop.
        #[arg(long)]
        dry_run: bool,
    },
    /// Dimensions, voxel size, counts, volumes and masses per label, cells by kind, memory.
    Info {
        /// A phantom HDF5 file.
        file: PathBuf,
        /// Print JSON instead of text.
        #[arg(long)]
        json: bool,
    },
    /// Build a phantom from a label image (MetaImage .mhd/.mha or NIfTI .nii/.nii.gz), an
    /// optional density image [g/cm³] and a label → material table (TOML).
    Import {
        /// Label image.
        #[arg(long)]
        labels: PathBuf,
        /// Density image [g/cm³] (default: densities from the table).
        #[arg(long)]
        density: Option<PathBuf>,
        /// Label → material table: `[labels.N] name = "...", material = "...", density = 1.0`.
        #[arg(long)]
        table: PathBuf,
        /// User materials TOML (docs/formats/materials.md).
        #[arg(long)]
        materials: Option<PathBuf>,
        /// Output HDF5 file.
        #[arg(short, long)]
        output: PathBuf,
    },
    /// Export a phantom to MetaImage (GATE, 3D Slicer), NIfTI or VTKHDF (ParaView).
    Export {
        /// A phantom HDF5 file.
        file: PathBuf,
        /// Write PREFIX_labels.mhd/.raw, PREFIX_density.mhd/.raw and PREFIX_labels.txt.
        #[arg(long)]
        mhd: Option<PathBuf>,
        /// Write PREFIX_labels.nii.gz, PREFIX_density.nii.gz and PREFIX_labels.txt.
        #[arg(long)]
        nifti: Option<PathBuf>,
        /// Write a VTKHDF ImageData file.
        #[arg(long)]
        vtkhdf: Option<PathBuf>,
    },
}

/// Run `xfire phantom`.
pub fn run(args: Args) -> anyhow::Result<()> {
    match args.cmd {
        Cmd::Generate {
            spec,
            output,
            max_memory,
            vtkhdf,
            dry_run,
        } => generate(
            &spec,
            &output,
            max_memory.as_deref(),
            vtkhdf.as_deref(),
            dry_run,
        ),
        Cmd::Info { file, json } => info(&file, json),
        Cmd::Import {
            labels,
            density,
            table,
            materials,
            output,
        } => import(
            &labels,
            density.as_deref(),
            &table,
            materials.as_deref(),
            &output,
        ),
        Cmd::Export {
            file,
            mhd,
            nifti,
            vtkhdf,
        } => export(&file, mhd.as_deref(), nifti.as_deref(), vtkhdf.as_deref()),
    }
}

fn known_materials_hint() -> String {
    format!(
        "built-in materials: {}",
        xfire_data::materials::builtin_names().join(", ")
    )
}

/// Parse "8GiB", "500 MB", "1e9" into bytes.
fn parse_bytes(text: &str) -> anyhow::Result<u64> {
    let t = text.trim();
    let split = t
        .find(|c: char| !(c.is_ascii_digit() || c == '.' || c == 'e' || c == 'E'))
        .unwrap_or(t.len());
    let (num, unit) = t.split_at(split);
    let v: f64 = num
        .parse()
        .with_context(|| format!("--max-memory {text:?}: expected e.g. \"8GiB\" or \"500MB\""))?;
    let f = match unit.trim().to_ascii_lowercase().as_str() {
        "" | "b" => 1.0,
        "k" | "kb" => 1e3,
        "kib" => 1024.0,
        "m" | "mb" => 1e6,
        "mib" => 1024.0 * 1024.0,
        "g" | "gb" => 1e9,
        "gib" => 1024.0 * 1024.0 * 1024.0,
        "t" | "tb" => 1e12,
        "tib" => 1024f64.powi(4),
        u => bail!("--max-memory {text:?}: unknown unit {u:?} (use B, kB, MB, GB, KiB, MiB, GiB)"),
    };
    if !(v.is_finite() && v > 0.0) {
        bail!("--max-memory {text:?} must be positive");
    }
    Ok((v * f) as u64)
}

/// Half of MemTotal from /proc/meminfo, or 4 GiB when it cannot be read.
fn default_max_memory() -> u64 {
    let fallback = 4 * 1024 * 1024 * 1024;
    std::fs::read_to_string("/proc/meminfo")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("MemTotal:"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|kb| kb.parse::<u64>().ok())
        })
        .map(|kb| kb * 1024 / 2)
        .unwrap_or(fallback)
}

fn human(bytes: u64) -> String {
    let b = bytes as f64;
    if b >= 1024.0 * 1024.0 * 1024.0 {
        format!("{:.2} GiB", b / (1024.0 * 1024.0 * 1024.0))
    } else if b >= 1024.0 * 1024.0 {
        format!("{:.1} MiB", b / (1024.0 * 1024.0))
    } else {
        format!("{:.1} KiB", b / 1024.0)
    }
}

fn generate(
    spec_path: &Path,
    output: &Path,
    max_memory: Option<&str>,
    vtkhdf: Option<&Path>,
    dry_run: bool,
) -> anyhow::Result<()> {
    let t0 = Instant::now();
    let text = std::fs::read_to_string(spec_path)
        .with_context(|| format!("reading specification {}", spec_path.display()))?;
    let spec = Spec::from_toml(&text).with_context(|| format!("{}", spec_path.display()))?;
    let grid = spec
        .grid
        .grid()
        .with_context(|| format!("{}", spec_path.display()))?;
    let est = estimate_memory(&grid, spec.source_names().len());
    let limit = match max_memory {
        Some(s) => parse_bytes(s)?,
        None => default_max_memory(),
    };
    println!(
        "grid {}×{}×{} = {} voxels of {:.4}×{:.4}×{:.4} um ({:.1}×{:.1}×{:.1} um)",
        grid.nx,
        grid.ny,
        grid.nz,
        grid.len(),
        grid.voxel_cm[0] * 1e4,
        grid.voxel_cm[1] * 1e4,
        grid.voxel_cm[2] * 1e4,
        grid.extent_cm()[0] * 1e4,
        grid.extent_cm()[1] * 1e4,
        grid.extent_cm()[2] * 1e4
    );
    println!(
        "memory estimate: phantom {}, peak while writing {} (limit {})",
        human(est.phantom_bytes),
        human(est.peak_bytes),
        human(limit)
    );
    if est.peak_bytes > limit {
        bail!(
            "{}: the phantom needs about {} at peak, more than --max-memory {}; use larger voxels or a smaller grid",
            spec_path.display(),
            human(est.peak_bytes),
            human(limit)
        );
    }
    if dry_run {
        return Ok(());
    }
    let user = spec
        .materials_file
        .as_ref()
        .map(|f| spec_path.parent().unwrap_or(Path::new(".")).join(f));
    let resolve = xfire_api::phantom::nominal_density(user.as_deref())?;
    let g = xfire_phantom::generate(&spec, &text, &resolve)
        .with_context(|| format!("{} ({})", spec_path.display(), known_materials_hint()))?;
    let t_gen = t0.elapsed().as_secs_f64();
    for line in &g.report {
        println!("{line}");
    }
    xfire_io::h5::write_phantom(output, &g.phantom)?;
    if let Some(v) = vtkhdf {
        xfire_io::h5::write_vtkhdf(v, &g.phantom)?;
        println!("wrote {}", v.display());
    }
    println!(
        "wrote {} in {:.2} s (generation {:.2} s)",
        output.display(),
        t0.elapsed().as_secs_f64(),
        t_gen
    );
    Ok(())
}

#[derive(serde::Serialize)]
struct KindInfo {
    kind: String,
    count: usize,
    mean_cell_volume_um3: f64,
    mean_nucleus_volume_um3: f64,
    cells_without_nucleus_voxels: usize,
}

#[derive(serde::Serialize)]
struct SourceInfo {
    name: String,
    method: String,
    voxels_with_weight: usize,
}

#[derive(serde::Serialize)]
struct Info {
    file: String,
    dims_xyz: [usize; 3],
    voxel_size_cm: [f64; 3],
    origin_cm: [f64; 3],
    extent_cm: [f64; 3],
    voxels: usize,
    memory_bytes: u64,
    total_mass_g: f64,
    labels: Vec<xfire_phantom::LabelStats>,
    materials: Vec<(String, f64)>,
    cells: Vec<KindInfo>,
    source_maps: Vec<SourceInfo>,
    provenance: String,
}

fn info_of(file: &Path, p: &Phantom) -> Info {
    let vv_um3 = p.grid.voxel_volume_cm3() * 1e12;
    let counts = p.cells.count_by_kind();
    let cells = counts
        .iter()
        .enumerate()
        .filter(|(_, &n)| n > 0)
        .map(|(k, &n)| {
            let of: Vec<_> = p
                .cells
                .cells
                .iter()
                .filter(|c| c.kind.0 as usize == k)
                .collect();
            let vox: usize = of
                .iter()
                .map(|c| c.nucleus_voxels.len() + c.cytoplasm_voxels.len())
                .sum();
            let nuc: usize = of.iter().map(|c| c.nucleus_voxels.len()).sum();
            KindInfo {
                kind: p.cells.kind_names[k].clone(),
                count: n,
                mean_cell_volume_um3: vox as f64 * vv_um3 / n as f64,
                mean_nucleus_volume_um3: nuc as f64 * vv_um3 / n as f64,
                cells_without_nucleus_voxels: of
                    .iter()
                    .filter(|c| c.nucleus_voxels.is_empty())
                    .count(),
            }
        })
        .collect();
    let labels = p.label_stats();
    Info {
        file: file.display().to_string(),
        dims_xyz: p.grid.dims(),
        voxel_size_cm: p.grid.voxel_cm,
        origin_cm: p.grid.origin_cm,
        extent_cm: p.grid.extent_cm(),
        voxels: p.grid.len(),
        memory_bytes: p.memory_bytes(),
        total_mass_g: labels.iter().map(|l| l.mass_g).sum(),
        labels,
        materials: p
            .materials
            .iter()
            .map(|m| (m.name.clone(), m.density_g_cm3))
            .collect(),
        cells,
        source_maps: p
            .source_maps
            .iter()
            .map(|m| SourceInfo {
                name: m.name.clone(),
                method: m.method.clone(),
                voxels_with_weight: m.weight.iter().filter(|&&w| w > 0.0).count(),
            })
            .collect(),
        provenance: p.provenance.clone(),
    }
}

fn info(file: &Path, json: bool) -> anyhow::Result<()> {
    let p = xfire_io::h5::read_phantom(file)?;
    let i = info_of(file, &p);
    if json {
        println!("{}", serde_json::to_string_pretty(&i)?);
        return Ok(());
    }
    println!("{}", i.file);
    println!(
        "  grid      {}×{}×{} = {} voxels",
        i.dims_xyz[0], i.dims_xyz[1], i.dims_xyz[2], i.voxels
    );
    println!(
        "  voxel     {:.4} × {:.4} × {:.4} um  ({:.3e} × {:.3e} × {:.3e} cm)",
        i.voxel_size_cm[0] * 1e4,
        i.voxel_size_cm[1] * 1e4,
        i.voxel_size_cm[2] * 1e4,
        i.voxel_size_cm[0],
        i.voxel_size_cm[1],
        i.voxel_size_cm[2]
    );
    println!(
        "  extent    {:.1} × {:.1} × {:.1} um, origin ({:.1}, {:.1}, {:.1}) um",
        i.extent_cm[0] * 1e4,
        i.extent_cm[1] * 1e4,
        i.extent_cm[2] * 1e4,
        i.origin_cm[0] * 1e4,
        i.origin_cm[1] * 1e4,
        i.origin_cm[2] * 1e4
    );
    println!("  memory    {}", human(i.memory_bytes));
    println!("  total mass {:.4e} g", i.total_mass_g);
    println!("  labels:");
    println!(
        "    {:>5}  {:<22} {:>12} {:>14} {:>14}",
        "id", "name", "voxels", "volume [mm3]", "mass [g]"
    );
    for l in &i.labels {
        println!(
            "    {:>5}  {:<22} {:>12} {:>14.6e} {:>14.6e}",
            l.id,
            l.name,
            l.voxels,
            l.volume_cm3 * 1e3,
            l.mass_g
        );
    }
    println!("  materials:");
    for (k, (m, d)) in i.materials.iter().enumerate() {
        println!("    {k:>3}  {m:<22} {d} g/cm3");
    }
    if i.cells.is_empty() {
        println!("  cells: none");
    } else {
        println!("  cells:");
        for c in &i.cells {
            println!(
                "    {:<12} {:>7} cells, mean volume {:.1} um3, mean nucleus {:.1} um3{}",
                c.kind,
                c.count,
                c.mean_cell_volume_um3,
                c.mean_nucleus_volume_um3,
                if c.cells_without_nucleus_voxels > 0 {
                    format!(
                        " ({} without nucleus voxels)",
                        c.cells_without_nucleus_voxels
                    )
                } else {
                    String::new()
                }
            );
        }
    }
    if !i.source_maps.is_empty() {
        println!("  source maps:");
        for s in &i.source_maps {
            println!(
                "    {:<20} {:>10} voxels  {}",
                s.name, s.voxels_with_weight, s.method
            );
        }
    }
    if let Some(first) = i.provenance.lines().find(|l| !l.trim().is_empty()) {
        println!("  provenance: {first}");
    }
    Ok(())
}

fn read_image(path: &Path) -> anyhow::Result<Volume> {
    Ok(xfire_io::read_image(path)?)
}

fn import(
    labels: &Path,
    density: Option<&Path>,
    table: &Path,
    materials: Option<&Path>,
    output: &Path,
) -> anyhow::Result<()> {
    let lv = read_image(labels)?;
    let dv = density.map(read_image).transpose()?;
    let t = xfire_io::ImportTable::read(table)?;
    let resolve = xfire_api::phantom::nominal_density(materials)?;
    let p = xfire_io::import_images(&lv, labels, dv.as_ref().zip(density), &t, table, &resolve)
        .with_context(known_materials_hint)?;
    xfire_io::h5::write_phantom(output, &p)?;
    println!(
        "wrote {} ({}×{}×{} voxels, {} labels)",
        output.display(),
        p.grid.nx,
        p.grid.ny,
        p.grid.nz,
        p.labels.entries().len()
    );
    Ok(())
}

fn with_suffix(prefix: &Path, suffix: &str) -> PathBuf {
    let mut s = prefix.as_os_str().to_owned();
    s.push(suffix);
    PathBuf::from(s)
}

fn label_table_text(p: &Phantom) -> String {
    let mut s =
        String::from("# label_id name material density_g_cm3 (written by xfire phantom export)\n");
    let stats = p.label_stats();
    for (id, name) in p.labels.entries() {
        // material and density of the first voxel with this label
        let v = p.label.iter().position(|l| l == id);
        let (m, d) = match v {
            Some(v) => (
                p.materials[p.material[v] as usize].name.as_str(),
                p.density_g_cm3[v].to_string(),
            ),
            None => ("-", "-".to_string()),
        };
        let n = stats
            .iter()
            .find(|s| s.id == *id)
            .map(|s| s.voxels)
            .unwrap_or(0);
        s.push_str(&format!("{id} {name} {m} {d}  # {n} voxels\n"));
    }
    s
}

fn export(
    file: &Path,
    mhd: Option<&Path>,
    nifti: Option<&Path>,
    vtkhdf: Option<&Path>,
) -> anyhow::Result<()> {
    if mhd.is_none() && nifti.is_none() && vtkhdf.is_none() {
        bail!("nothing to do: give --mhd PREFIX, --nifti PREFIX or --vtkhdf FILE");
    }
    let p = xfire_io::h5::read_phantom(file)?;
    let labels = Volume {
        grid: p.grid,
        values: p.label.iter().map(|&l| l as f64).collect(),
        element: ElementType::U16,
    };
    let density = Volume {
        grid: p.grid,
        values: p.density_g_cm3.iter().map(|&d| d as f64).collect(),
        element: ElementType::F32,
    };
    let table = label_table_text(&p);
    if let Some(prefix) = mhd {
        for (suffix, v) in [("_labels.mhd", &labels), ("_density.mhd", &density)] {
            let out = with_suffix(prefix, suffix);
            xfire_io::metaimage::write_metaimage(&out, v)?;
            println!("wrote {}", out.display());
        }
    }
    if let Some(prefix) = nifti {
        for (suffix, v) in [("_labels.nii.gz", &labels), ("_density.nii.gz", &density)] {
            let out = with_suffix(prefix, suffix);
            xfire_io::nifti::write_nifti(&out, v)?;
            println!("wrote {}", out.display());
        }
    }
    let mut prefixes: Vec<&Path> = [mhd, nifti].into_iter().flatten().collect();
    prefixes.dedup();
    for prefix in prefixes {
        let out = with_suffix(prefix, "_labels.txt");
        let tmp = with_suffix(prefix, "_labels.txt.tmp");
        std::fs::write(&tmp, &table)
            .and_then(|_| std::fs::rename(&tmp, &out))
            .with_context(|| format!("writing {}", out.display()))?;
        println!("wrote {}", out.display());
    }
    if let Some(v) = vtkhdf {
        xfire_io::h5::write_vtkhdf(v, &p)?;
        println!("wrote {}", v.display());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bytes_parse() {
        assert_eq!(parse_bytes("8GiB").unwrap(), 8 * 1024 * 1024 * 1024);
        assert_eq!(parse_bytes("500 MB").unwrap(), 500_000_000);
        assert_eq!(parse_bytes("1000").unwrap(), 1000);
        assert!(parse_bytes("-1GB").is_err());
        assert!(parse_bytes("lots").is_err());
        assert!(parse_bytes("3 parsecs").is_err());
        assert!(default_max_memory() > 0);
    }
}
