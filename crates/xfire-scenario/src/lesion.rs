//! Nested lesion runs (`[phantom.lesion]`): the micro phantom placed in a generated lesion
//! and body (docs/physics.md, "Nested geometry" and "Sources in the lesion").
//!
//! The plan nests the micro phantom ([`NestedPlan::new`]); the transport of each part of each
//! component is stratified: decays in the micro phantom (its site map, N histories), in
//! shells of lesion activity by the distance of the decay point to the micro box (pieces of
//! the lesion voxels, distances halving from the part's largest charged-particle range down
//! to an eighth of the box's edge; N each), and in the rest of the lesion (10 N). Every
//! stratum is transported in full (all particles, both
//! grids); the strata's tallies are added with the exact weights k = (activity of the
//! stratum) / (activity of the micro phantom), so the result is the energy per decay *in the
//! micro phantom* with the lesion's decays included — the quantity the kinetics multiplies.
//! α parts sample the micro phantom and the shells together in proportion to their activity
//! (weight ≈ 1, so single-event counts stay counts).

use std::path::Path;
use xfire_data::nuclides::{library, EmissionSampler, Radiation};

use xfire_phantom::nested::{lesion_phantom, BODY_LABEL, LESION_LABEL, OUTSIDE_LABEL};
use xfire_phantom::{BoxSource, Geometry, MaterialEntry, Nested, Phantom, SourceBox, SourceMap};
use xfire_tally::{BatchScorer, EventLayout, RegionMap, TallyLayout, TallyResult};
use xfire_transport::{Emitter, PhysicsTables, Source, TransportSetup};

use crate::plan::SiteMap;
use crate::spec::{
    LesionActivity, LesionGeometry, LesionPosition, LesionSpec, Problem, BODY_MATERIAL,
};
use crate::transport::{ComponentTransport, Options, Part, PartTransport};
use crate::{Context, Result, ScenarioError};
use xfire_tally::ExactTally;

/// The nested geometry of a plan and what its transport needs.
#[derive(Debug, Clone)]
pub struct NestedPlan {
    /// The lesion specification.
    pub spec: LesionSpec,
    /// The micro phantom (the plan's phantom) nested in the lesion phantom.
    pub nested: Nested,
    /// The tally layout over both grids: the plan's region maps, each with one more region
    /// (the last) holding every macro voxel; events as the plan's.
    pub layout: TallyLayout,
    /// Per site of the plan: the macro lesion activity weight per macro voxel (0 without
    /// lesion activity) and the micro site map's total weight.
    pub sites: Vec<(String, Vec<f32>, f64)>,
    /// The material most of the lesion voxels are made of (it sets how far the charged
    /// particles reach, [`reach`]).
    pub lesion_material: String,
    /// How the macro activity was set, for the run's notes.
    pub activity_note: String,
    /// Factor on the shells' outer bound R (1; R only sets how many histories go where,
    /// which the R-doubling check of docs/validation.md tests with 2).
    pub range_scale: f64,
}

fn material(name: &str) -> Result<MaterialEntry> {
    let m = xfire_data::materials::builtin(name).ok_or_else(|| {
        ScenarioError::Check(format!("material {name:?} is not a built-in material"))
    })?;
    Ok(MaterialEntry {
        name: m.name.clone(),
        density_g_cm3: m.density_g_cm3,
    })
}

/// A problem of the `[phantom.lesion]` table of the scenario `file`, at its line.
fn invalid(spec: &LesionSpec, file: &str, message: String) -> ScenarioError {
    ScenarioError::Invalid {
        file: file.to_string(),
        problems: vec![Problem {
            line: spec.line,
            message: format!("phantom.lesion: {message}"),
        }],
    }
}

/// The name of the lesion label in the macro phantom.
fn lesion_label(spec: &LesionSpec) -> &str {
    match &spec.geometry {
        LesionGeometry::File { path, label } if is_phantom_file(path) => label,
        _ => LESION_LABEL,
    }
}

fn is_phantom_file(path: &Path) -> bool {
    let l = path.to_string_lossy().to_ascii_lowercase();
    l.ends_with(".h5") || l.ends_with(".hdf5")
}

/// The macro phantom of a label image: voxels of value `label` are the lesion (`material`),
/// other non-zero voxels the body ([`BODY_MATERIAL`]), zeros outside the body (vacuum).
fn image_phantom(spec: &LesionSpec, file: &str, path: &Path, label: &str) -> Result<Phantom> {
    let img = xfire_io::read_image(path).map_err(|e| invalid(spec, file, e.to_string()))?;
    let value: u16 = label
        .trim()
        .parse()
        .ok()
        .filter(|&v| v > 0)
        .ok_or_else(|| {
            invalid(
                spec,
                file,
                format!(
                    "label = {label:?}: the lesion of a label image is its integer value \
                     (1-65535; 0 is outside the body)"
                ),
            )
        })?;
    if let Some((v, x)) = img
        .values
        .iter()
        .enumerate()
        .find(|(_, x)| !(x.is_finite() && **x >= 0.0 && x.fract() == 0.0 && **x <= 65535.0))
    {
        return Err(invalid(
            spec,
            file,
            format!(
                "{}: voxel {v} holds {x}, not a label value (an integer 0-65535)",
                path.display()
            ),
        ));
    }
    let body = material(BODY_MATERIAL)?;
    let mut p = Phantom::uniform(img.grid, body, 0);
    let lm = material(&spec.material)?;
    let lesion_m = p
        .material_or_add(&lm.name, lm.density_g_cm3)
        .context("phantom.lesion")?;
    let ids = |n: &str, p: &mut Phantom| p.labels.get_or_add(n).context("phantom.lesion");
    let (l_lesion, l_body, l_out) = (
        ids(LESION_LABEL, &mut p)?,
        ids(BODY_LABEL, &mut p)?,
        ids(OUTSIDE_LABEL, &mut p)?,
    );
    for (v, &x) in img.values.iter().enumerate() {
        if x as u16 == value {
            p.material[v] = lesion_m;
            p.density_g_cm3[v] = lm.density_g_cm3 as f32;
            p.label[v] = l_lesion;
        } else if x == 0.0 {
            p.label[v] = l_out;
            p.density_g_cm3[v] = 0.0;
        } else {
            p.label[v] = l_body;
        }
    }
    p.provenance = format!(
        "label image {}: value {value} lesion ({}), other non-zero values body ({BODY_MATERIAL}), 0 vacuum",
        path.display(),
        lm.name
    );
    Ok(p)
}

/// The macro phantom `spec` asks for: generated, read from an xfire phantom file, or built
/// from a label image; a file without the lesion label is a problem of the scenario `file`.
fn macro_phantom(spec: &LesionSpec, file: &str) -> Result<Phantom> {
    let p = match &spec.geometry {
        LesionGeometry::Sphere(s) => lesion_phantom(
            s.radius_cm,
            s.voxel_cm,
            material(&spec.material)?,
            material(BODY_MATERIAL)?,
            s.body_radius_cm,
        )
        .context("phantom.lesion")?,
        LesionGeometry::File { path, .. } if is_phantom_file(path) => {
            let mut p =
                xfire_io::h5::read_phantom(path).map_err(|e| invalid(spec, file, e.to_string()))?;
            // the macro phantom keeps geometry, materials and labels only
            p.source_maps = Vec::new();
            p
        }
        LesionGeometry::File { path, label } => image_phantom(spec, file, path, label)?,
    };
    let name = lesion_label(spec);
    let n = p
        .labels
        .id(name)
        .map_or(0, |id| p.label.iter().filter(|&&l| l == id).count());
    if n == 0 {
        let LesionGeometry::File { path, .. } = &spec.geometry else {
            return Err(ScenarioError::Check(
                "phantom.lesion: the generated lesion has no voxel".into(),
            ));
        };
        let names: Vec<&str> = p.labels.entries().iter().map(|e| e.1.as_str()).collect();
        let what = if is_phantom_file(path) {
            format!(
                "has no voxel labelled {name:?} (its labels: {})",
                names.join(", ")
            )
        } else {
            format!("has no voxel of the label value {}", lesion_value(spec))
        };
        return Err(invalid(
            spec,
            file,
            format!("label: {} {what}", path.display()),
        ));
    }
    Ok(p)
}

fn lesion_value(spec: &LesionSpec) -> &str {
    match &spec.geometry {
        LesionGeometry::File { label, .. } => label.trim(),
        LesionGeometry::Sphere(_) => "",
    }
}

/// The point the micro box is centred on \[cm\]: the generated lesion's centre (origin) or a
/// depth below its surface on +z; a file lesion's voxels' centroid; or the point given.
fn centre_cm(spec: &LesionSpec, outer: &Phantom) -> [f64; 3] {
    match (&spec.position, &spec.geometry) {
        (LesionPosition::Point(p), _) => *p,
        (LesionPosition::Depth(d), LesionGeometry::Sphere(s)) => [0.0, 0.0, s.radius_cm - d],
        (_, LesionGeometry::Sphere(_)) => [0.0; 3],
        (_, LesionGeometry::File { .. }) => {
            // in index space (integer sums: exact), so that a symmetric lesion's centroid is
            // its centre voxel's centre to the bit
            let id = outer.labels.id(lesion_label(spec));
            let (mut c, mut n) = ([0u64; 3], 0u64);
            for v in (0..outer.grid.len()).filter(|&v| Some(outer.label[v]) == id) {
                let ijk = outer.grid.ijk(v);
                for a in 0..3 {
                    c[a] += ijk[a] as u64;
                }
                n += 1;
            }
            let g = &outer.grid;
            [0, 1, 2].map(|a| g.origin_cm[a] + (c[a] as f64 / n as f64 + 0.5) * g.voxel_cm[a])
        }
    }
}

/// How the position reads in messages.
fn where_text(spec: &LesionSpec, c: [f64; 3]) -> String {
    match &spec.position {
        LesionPosition::Centre => "at the lesion centre".to_string(),
        LesionPosition::Depth(d) => format!("centred {d} cm below the lesion surface"),
        LesionPosition::Point(_) => format!("centred at ({}, {}, {}) cm", c[0], c[1], c[2]),
    }
}

/// Places `micro` (its box centred at [`centre_cm`]) and checks that its box lies inside
/// the lesion: inside the sphere of a generated lesion, on lesion voxels only in a file's
/// grid; the problem names the sizes in cm.
fn place(spec: &LesionSpec, micro: &mut Phantom, outer: &Phantom, file: &str) -> Result<()> {
    let ext = micro.grid.extent_cm();
    let c = centre_cm(spec, outer);
    micro.grid.origin_cm = [0, 1, 2].map(|a| c[a] - 0.5 * ext[a]);
    let box_text = format!(
        "the micro phantom's box ({} x {} x {} cm) {}",
        ext[0],
        ext[1],
        ext[2],
        where_text(spec, c)
    );
    if let Some(s) = spec.sphere() {
        let far = (0..3)
            .map(|a| (c[a].abs() + 0.5 * ext[a]).powi(2))
            .sum::<f64>()
            .sqrt();
        if far > s.radius_cm {
            return Err(invalid(
                spec,
                file,
                format!(
                    "{box_text} does not fit inside the lesion of radius {} cm (its farthest \
                     corner is {far:.4} cm from the centre)",
                    s.radius_cm
                ),
            ));
        }
        return Ok(());
    }
    let g = &outer.grid;
    let lesion = outer.labels.id(lesion_label(spec));
    let (lo, hi) = (
        [0, 1, 2].map(|a| c[a] - 0.5 * ext[a]),
        [0, 1, 2].map(|a| c[a] + 0.5 * ext[a]),
    );
    let inside = (0..3).all(|a| {
        lo[a] >= g.origin_cm[a] && hi[a] <= g.origin_cm[a] + g.dims()[a] as f64 * g.voxel_cm[a]
    });
    let covered = |a: usize| {
        let f = |x: f64| ((x - g.origin_cm[a]) / g.voxel_cm[a]).floor().max(0.0) as usize;
        f(lo[a])..(f(hi[a] - 1e-12 * g.voxel_cm[a]) + 1).min(g.dims()[a])
    };
    if !inside {
        return Err(invalid(
            spec,
            file,
            format!("{box_text} does not fit inside the macro grid"),
        ));
    }
    let outside = covered(2)
        .flat_map(|k| covered(1).flat_map(move |j| covered(0).map(move |i| g.index(i, j, k))))
        .find(|&v| Some(outer.label[v]) != lesion);
    let Some(v) = outside else {
        return Ok(());
    };
    let name = outer.labels.name(outer.label[v]).unwrap_or("?");
    let x = g.centre(v);
    Err(invalid(
        spec,
        file,
        format!(
            "{box_text} does not fit inside the lesion: it covers the macro voxel centred at \
             ({:.4}, {:.4}, {:.4}) cm, labelled {name:?}",
            x[0], x[1], x[2]
        ),
    ))
}

/// The plan's layout over both grids: each region map gets one more region for the macro
/// voxels; events as the plan's (the extra region in no class).
fn nested_layout(plan_layout: &TallyLayout, n_macro: usize) -> Result<TallyLayout> {
    let bad = |source| ScenarioError::Tally {
        context: "nested tally layout".into(),
        source,
    };
    let mut maps = Vec::new();
    for m in &plan_layout.regions {
        let (n, of) = (m.of_voxel.len(), &m.of_voxel);
        let region = |v: usize| if v < n { of.get(v) } else { m.n_regions as u32 };
        maps.push(RegionMap::from_fn(&m.name, n + n_macro, m.n_regions + 1, region).map_err(bad)?);
    }
    let mut l = TallyLayout::new(plan_layout.n_voxels + n_macro, maps).map_err(bad)?;
    // the macro voxels' extra cell region is above every cell: no decay there has a cell
    if let Some(s) = plan_layout.self_cell {
        l = l.with_self_cell(s).map_err(bad)?;
    }
    match &plan_layout.events {
        None => Ok(l),
        Some(e) => {
            let mut class = e.class_of_region.clone();
            class.push(0);
            let mut gy = e.gy_per_mev.clone();
            gy.push(0.0);
            let ev = EventLayout::new(e.map, class, e.n_classes, gy).map_err(bad)?;
            l.with_events(ev).map_err(bad)
        }
    }
}

/// Nests `micro` as `spec` says: the macro phantom made or read ([`macro_phantom`]), the
/// micro grid moved so that its box sits where asked (a box that does not fit in the lesion
/// is a problem of the scenario `file`), the tables shared.
pub fn nest(spec: &LesionSpec, micro: Phantom, file: &str) -> Result<Nested> {
    let mut micro = micro;
    let outer = macro_phantom(spec, file)?;
    place(spec, &mut micro, &outer, file)?;
    Nested::new(micro, outer).context("nesting")
}

/// The lesion voxels of the macro phantom (the label `spec` names).
fn lesion_voxels<'a>(spec: &LesionSpec, n: &'a Nested) -> impl Iterator<Item = usize> + 'a {
    let id = n.micro.labels.id(lesion_label(spec));
    (0..n.outer.grid.len()).filter(move |&v| Some(n.outer.label[v]) == id)
}

/// The material of most lesion voxels.
fn lesion_material(spec: &LesionSpec, n: &Nested) -> String {
    let mut count = vec![0usize; n.micro.materials.len()];
    for v in lesion_voxels(spec, n) {
        count[n.outer.material[v] as usize] += 1;
    }
    let m = (0..count.len()).max_by_key(|&m| count[m]).unwrap_or(0);
    n.micro.materials[m].name.clone()
}

/// An activity image on the macro grid: values finite and >= 0, some activity in the
/// lesion; voxels outside the body (density 0) get none. Problems name the file and voxel.
fn activity_map(spec: &LesionSpec, n: &Nested, path: &Path, file: &str) -> Result<Vec<f64>> {
    let bad = |m: String| invalid(spec, file, format!("activity: {}: {m}", path.display()));
    let img =
        xfire_io::read_image(path).map_err(|e| invalid(spec, file, format!("activity: {e}")))?;
    let g = n.grid.outer();
    if !g.same_as(&img.grid) {
        return Err(bad(format!(
            "its grid ({:?} voxels of {:?} cm from {:?} cm) is not the macro phantom's \
             ({:?} voxels of {:?} cm from {:?} cm)",
            img.grid.dims(),
            img.grid.voxel_cm,
            img.grid.origin_cm,
            g.dims(),
            g.voxel_cm,
            g.origin_cm
        )));
    }
    if let Some((v, x)) = img
        .values
        .iter()
        .enumerate()
        .find(|(_, x)| !(x.is_finite() && **x >= 0.0))
    {
        return Err(bad(format!(
            "voxel {v} holds {x}: activity must be finite and >= 0"
        )));
    }
    if lesion_voxels(spec, n).all(|v| img.values[v] == 0.0) {
        return Err(bad(format!(
            "no activity in the lesion (label {:?})",
            lesion_label(spec)
        )));
    }
    Ok(img.values)
}

/// The macro activity weight per macro voxel of the micro site map `micro`, the map's total
/// weight and a note: `"match"` the micro phantom's mean weight per gram in every lesion
/// voxel; a map scaled so that the lesion's mean per gram is the micro phantom's (what the
/// micro box covers removed, as with "match"); none. Voxels without mass get none.
fn macro_weights(
    spec: &LesionSpec,
    n: &Nested,
    micro: &SourceMap,
    map: Option<&[f64]>,
) -> (Vec<f32>, f64, String) {
    let nm = n.grid.n_micro();
    let m_micro: f64 = (0..nm).map(|v| n.voxel_mass_g(v)).sum();
    let w_micro: f64 = micro.weight.iter().map(|&w| w as f64).sum();
    let per_g = w_micro / m_micro;
    let g = n.grid.outer();
    let full_mass = |v: usize| n.outer.density_g_cm3[v] as f64 * g.voxel_volume_cm3();
    let owned = |v: usize| n.grid.owned_volume_cm3(nm + v) / g.voxel_volume_cm3();
    let (w, note): (Vec<f32>, String) = match (&spec.activity, map) {
        (LesionActivity::Map(path), Some(a)) => {
            let (mut a_l, mut m_l) = (0.0, 0.0);
            for v in lesion_voxels(spec, n) {
                a_l += a[v];
                m_l += full_mass(v);
            }
            let scale = per_g * m_l / a_l;
            let dropped = (0..g.len())
                .filter(|&v| a[v] > 0.0 && full_mass(v) <= 0.0)
                .count();
            let w = (0..g.len())
                .map(|v| {
                    if full_mass(v) > 0.0 {
                        (scale * a[v] * owned(v)) as f32
                    } else {
                        0.0
                    }
                })
                .collect();
            let note = format!(
                "the map {} scaled to the micro phantom's mean activity per gram in the lesion \
                 ({m_l:.4} g){}",
                path.display(),
                if dropped > 0 {
                    format!("; {dropped} voxels outside the body (density 0) with activity in the map get none")
                } else {
                    String::new()
                }
            );
            (w, note)
        }
        (LesionActivity::Match, _) => {
            let mut w = vec![0f32; g.len()];
            for v in lesion_voxels(spec, n) {
                w[v] = (per_g * n.voxel_mass_g(nm + v)) as f32;
            }
            (w, "matched to the micro phantom's mean per gram".into())
        }
        _ => (vec![0f32; g.len()], "none".into()),
    };
    (w, w_micro, note)
}

impl NestedPlan {
    /// The nested plan of `nested` (made by [`nest`]): the macro activity of every site
    /// ([`macro_weights`]) and the layout over both grids; `file` is the scenario, named in
    /// problems of an activity map.
    pub fn new(
        spec: &LesionSpec,
        nested: Nested,
        sites: &[SiteMap],
        layout: &TallyLayout,
        file: &str,
    ) -> Result<Self> {
        let map = match &spec.activity {
            LesionActivity::Map(path) => Some(activity_map(spec, &nested, path, file)?),
            _ => None,
        };
        let mut out = Vec::new();
        let mut activity_note = String::new();
        for s in sites {
            let (w, w_micro, note) = macro_weights(spec, &nested, &s.map, map.as_deref());
            activity_note = note;
            out.push((s.name.clone(), w, w_micro));
        }
        let layout = nested_layout(layout, nested.outer.grid.len())?;
        Ok(Self {
            spec: spec.clone(),
            lesion_material: lesion_material(spec, &nested),
            nested,
            layout,
            sites: out,
            activity_note,
            range_scale: 1.0,
        })
    }

    /// Number of micro voxels.
    pub fn n_micro(&self) -> usize {
        self.nested.grid.n_micro()
    }

    /// Lines for the run's notes.
    pub fn notes(&self) -> Vec<String> {
        let g = self.nested.grid.outer();
        let s = &self.spec;
        let (lo, hi) = self.nested.grid.micro_box_cm();
        let c = [0, 1, 2].map(|a| 0.5 * (lo[a] + hi[a]));
        let lesion = match &s.geometry {
            LesionGeometry::Sphere(x) => format!(
                "a lesion of radius {} cm ({}) in a body of radius {} cm ({BODY_MATERIAL})",
                x.radius_cm, s.material, x.body_radius_cm
            ),
            LesionGeometry::File { path, label } => {
                format!("the lesion {label:?} of {}", path.display())
            }
        };
        vec![format!(
            "nested in {lesion}, {} (box centre ({:.4}, {:.4}, {:.4}) cm), macro grid {}x{}x{} \
             of {:?} cm; lesion activity {}",
            where_text(s, c),
            c[0],
            c[1],
            c[2],
            g.nx,
            g.ny,
            g.nz,
            g.voxel_cm,
            self.activity_note
        )]
    }
}

/// The largest CSDA range \[cm\] of the charged particles of `part` of `nuclide` in the
/// lesion and body materials (their densities), 10 % added for energy-loss straggling.
fn max_range_cm(nuclide: &str, part: Part, physics: &PhysicsTables, np: &NestedPlan) -> f64 {
    let Some(n) = library().get(nuclide) else {
        return f64::INFINITY;
    };
    let e_max = |r: Radiation| n.lines(r).iter().fold(0.0_f64, |m, l| m.max(l.0));
    let (e, alpha) = match part {
        Part::Alpha => (e_max(Radiation::Alpha), true),
        Part::LowLet => (
            n.beta_endpoint_mev()
                .unwrap_or(0.0)
                .max(e_max(Radiation::Ic))
                .max(e_max(Radiation::Auger)),
            false,
        ),
    };
    let mut r = 0.0_f64;
    let outer = &np.nested.outer;
    let mut used = vec![false; outer.materials.len()];
    for (v, &m) in outer.material.iter().enumerate() {
        used[m as usize] |= outer.density_g_cm3[v] > 0.0;
    }
    for m in (0..used.len()).filter(|&m| used[m]) {
        let Some(k) = physics
            .names
            .iter()
            .position(|x| *x == outer.materials[m].name)
        else {
            return f64::INFINITY;
        };
        let rho = outer.materials[m].density_g_cm3;
        let g = if alpha {
            physics
                .alpha
                .get(k)
                .map_or(f64::INFINITY, |t| t.csda_range_g_cm2(e))
        } else {
            physics.electron[k].csda_range_g_cm2(e)
        };
        r = r.max(g / rho);
    }
    1.1 * r
}

/// Emissions drawn to estimate how far the charged particles' energy reaches ([`reach`]).
const REACH_SAMPLES: u64 = 20_000;

/// Projected over CSDA range assumed for the electrons' reach ([`reach`]): their paths wind.
const DETOUR: f64 = 0.6;

/// The constant C of the shells' histories √(C k f) ([`shell_histories`]).
const ALLOC: f64 = 6.0;

/// Histories of a shell per `transport.decays`: √(C k f) rounded, 1 to this (k the shell's
/// weight, f its straight-track share of the charged energy, [`shell_histories`]).
pub const MAX_SHELL_HISTORIES: u64 = 24;

/// The fraction of the charged particles' emitted energy that straight tracks of
/// [`DETOUR`] × their CSDA range in the lesion material deposit beyond distance `d` \[cm\]
/// of their decay point, as a function of `d`: from [`REACH_SAMPLES`] emissions of
/// `sampler` drawn with a fixed seed. It only sets how many histories each shell gets,
/// never a weight.
fn reach(
    sampler: &EmissionSampler,
    physics: &PhysicsTables,
    np: &NestedPlan,
) -> Box<dyn Fn(f64) -> f64> {
    use xfire_physics::csda::RangeEnergy;
    let m = physics.names.iter().position(|x| *x == np.lesion_material);
    let mut tracks = Vec::new(); // (range cm, energy MeV)
    let mut em = Vec::new();
    if let Some(m) = m {
        let rho = np.nested.micro.materials[m].density_g_cm3;
        let t = &physics.electron[m];
        for i in 0..REACH_SAMPLES {
            let mut rng = xfire_core::rng::Rng::for_stream(0x0072_6561_6368, i, 0);
            sampler.sample(&mut rng, &mut em);
            for e in &em {
                use xfire_data::nuclides::Particle;
                if matches!(
                    e.radiation.particle(),
                    Particle::Electron | Particle::Positron
                ) {
                    tracks.push((DETOUR * t.range_g_cm2(e.energy_mev) / rho, e.energy_mev));
                }
            }
        }
        let total: f64 = tracks.iter().map(|x| x.1).sum();
        let t = t.clone();
        return Box::new(move |d: f64| {
            if total <= 0.0 {
                return 0.0;
            }
            let left: f64 = tracks
                .iter()
                .filter(|x| x.0 > d)
                .map(|x| t.energy_at_range((x.0 - d) * rho / DETOUR))
                .sum();
            left / total
        });
    }
    Box::new(|_| 1.0)
}

/// Histories of a shell per `transport.decays`: √(C k f) rounded, between 1 and
/// [`MAX_SHELL_HISTORIES`] — k the shell's weight (its activity per micro activity), f its
/// share of the charged energy ([`reach`] at its inner minus at its outer bound). A cell's
/// relative variance from a shell grows as k·f/N (a k-times larger source whose share of
/// the cell's dose is f hits it k/f times more rarely per history), so √(k f / cost) is the
/// Neyman allocation; shell histories cost about a fifth of the micro phantom's, and C =
/// [`ALLOC`] was set on the 177Lu lesion scenario (docs/physics.md).
fn shell_histories(n: u64, k: f64, f: f64, share: f64) -> u64 {
    let m = (share * (ALLOC * k * f.max(0.0)).sqrt()).round() as u64;
    n * m.clamp(1, MAX_SHELL_HISTORIES)
}

/// Largest weight of one lesion history, in micro-phantom histories of the part, that
/// [`weight_floor`] allows: k·N/N_s ≤ this (split photons: k·N/(N_s·copies)).
pub const MAX_HISTORY_WEIGHT: f64 = 20.0;

/// Most histories per `transport.decays` that [`weight_floor`] asks of one stratum (the cost
/// bound: ¹⁶¹Tb's far strata cost ~6× ¹⁷⁷Lu's per history, docs/physics.md).
pub const MAX_WEIGHTED_HISTORIES: u64 = 32;

/// Histories per `transport.decays` that keep one history of a stratum of weight `k` (its
/// activity per micro activity) from weighing more than [`MAX_HISTORY_WEIGHT`] histories of
/// the micro phantom, for a part whose shells get `share` times the histories
/// ([`part_histories`]) and whose particles reach the micro box as `copies` copies (split
/// photons; 1 for electrons): ⌈share·k / (copies·W)⌉, 1 to [`MAX_WEIGHTED_HISTORIES`].
///
/// Why: the far strata reach a given cell in rare hits, each of weight k·N/N_s; the Neyman
/// allocation of [`shell_histories`] balances the *variance* of a mean, but a cell hit once
/// by a history of weight 10³ gets 10–50 times its neighbours' dose, and such outliers set
/// the class moments of the noise-corrected survival (`xfire_kinetics::noise`). Bounding the
/// weight bounds the outliers; these strata are the cheapest (the reach cut stops most of
/// their electrons at once). Like every allocation it decides how many histories, never a
/// weight.
fn weight_floor(k: f64, share: f64, copies: u32) -> u64 {
    let m = (share * k / (f64::from(copies) * MAX_HISTORY_WEIGHT)).ceil();
    // NaN compares false (1); ∞ saturates (the cap)
    if m > 1.0 {
        (m as u64).min(MAX_WEIGHTED_HISTORIES)
    } else {
        1
    }
}

/// Smallest fraction of `transport.decays` a low-LET part's micro phantom gets
/// ([`part_histories`]).
pub const MIN_PART_FRACTION: f64 = 0.125;

/// The micro phantom's histories of a part and the factor on its shells' allocation: a
/// low-LET part whose electrons carry a share φ of the chain's charged energy
/// ([`electron_share`]) gets N·q histories, q = max(φ, [`MIN_PART_FRACTION`]) but at least
/// 10 batches (or N), and its shells √(C k f)·φ/q times that, so that every stratum gets
/// N·φ·√(C k f) as the Neyman allocation asks (within the clamps); α parts get N and 1.
fn part_histories(n: u64, batch: u64, part: Part, share: f64) -> (u64, f64) {
    if part == Part::Alpha {
        return (n, 1.0);
    }
    let q = share.clamp(MIN_PART_FRACTION, 1.0);
    let np = ((n as f64 * q).round() as u64).max(n.min(10 * batch.max(1)));
    (np, share / (np as f64 / n as f64))
}

/// The share of `member`'s electrons in the charged-particle energy (electrons, α and
/// recoils, ICRP-107 totals) that the chain of `parent` emits per parent decay, members
/// counted by their decays per parent decay at equilibrium (products of the library's
/// branching fractions). A part's variance enters a cell's dose with its share squared, so
/// the Neyman allocation scales its shells' histories by it ([`shell_histories`]): the β
/// daughters of an α chain (a few per cent of its energy) get few shell histories. It sets
/// how many histories, never a weight.
fn electron_share(parent: &str, member: &str) -> f64 {
    fn count(name: &str, c: f64, depth: usize, out: &mut Vec<(String, f64)>) {
        let Some(n) = library().get(name) else {
            return;
        };
        match out.iter_mut().find(|x| x.0 == n.name) {
            Some(x) => x.1 += c,
            None => out.push((n.name.clone(), c)),
        }
        if depth < 32 {
            for d in &n.daughters {
                count(&d.nuclide, c * d.branching, depth + 1, out);
            }
        }
    }
    let mut counts = Vec::new();
    count(parent, 1.0, 0, &mut counts);
    let (mut total, mut mine) = (0.0, None);
    for (name, c) in &counts {
        let n = library()
            .get(name)
            .expect("counted members are in the library");
        total += c * (n.ndx_e_electron_mev + n.ndx_e_alpha_mev);
        if library().get(member).is_some_and(|m| m.name == n.name) {
            mine = Some(c * n.ndx_e_electron_mev);
        }
    }
    // a member outside the chain, or a chain without charged energy: no scaling
    match mine {
        Some(e) if total > 0.0 => (e / total).min(1.0),
        _ => 1.0,
    }
}

/// Nearest and farthest distance \[cm\] between the points of the box `lo`–`hi` and the
/// box `blo`–`bhi` (the distance to a box is convex and separable by axis: the farthest
/// point is a corner).
fn distance_range(lo: [f64; 3], hi: [f64; 3], blo: [f64; 3], bhi: [f64; 3]) -> (f64, f64) {
    let (mut near, mut far) = (0.0, 0.0);
    for a in 0..3 {
        let n = (blo[a] - hi[a]).max(lo[a] - bhi[a]).max(0.0);
        let f = (blo[a] - lo[a]).max(hi[a] - bhi[a]).max(0.0);
        near += n * n;
        far += f * f;
    }
    (near.sqrt(), far.sqrt())
}

/// Histories of the rest of the lesion per `transport.decays`: only its photons reach the
/// micro box, in rare events of large weight, and its histories are cheap (mm voxels).
pub const FAR_HISTORIES: u64 = 10;

/// Copies of a photon entering the micro box ([`xfire_transport::PhotonSplit`]): a lesion
/// photon crossing a sub-millimetre box interacts in it about once in a hundred crossings,
/// and those rare events of large weight were the heavy tail of the lesion strata
/// (docs/physics.md, "Sources in the lesion").
pub const PHOTON_COPIES: u32 = 32;

/// Copies of a photon from the rest of the lesion (beyond the charged particles' range)
/// entering the micro box: photons are all that stratum contributes, and few of its photons
/// cross the box, so copies cost little there.
pub const FAR_PHOTON_COPIES: u32 = 256;

/// The name of the stratum of the rest of the lesion.
const FAR_NAME: &str = "rest of the lesion";

/// Where a stratum's decays are drawn from.
enum StratumSource {
    /// The micro phantom's site map (over both grids).
    Map(SourceMap),
    /// Micro voxels and pieces of lesion voxels.
    Boxes(BoxSource),
}

/// One stratum: its source, its weight k and its histories.
struct Stratum {
    name: String,
    source: StratumSource,
    k: f64,
    decays: u64,
}

/// Upper bounds \[cm\] of the distance of a decay point to the micro box for the shells:
/// `range_cm`, halved while the half is at least `inner_cm`, in increasing order.
fn shell_bounds(inner_cm: f64, range_cm: f64) -> Vec<f64> {
    let mut b = vec![range_cm.max(0.0)];
    while b[b.len() - 1] * 0.5 >= inner_cm && inner_cm > 0.0 {
        b.push(b[b.len() - 1] * 0.5);
    }
    b.reverse();
    b
}

/// The stratum of a point at distance `d` \[cm\] from the micro box: the first shell whose
/// bound exceeds it, or `bounds.len()` (the rest of the lesion).
fn stratum_of(d: f64, bounds: &[f64]) -> usize {
    bounds.iter().position(|&b| d < b).unwrap_or(bounds.len())
}

/// Lesion activity split by the distance of the decay point to the micro box.
struct Splitter<'a> {
    bounds: &'a [f64],
    blo: [f64; 3],
    bhi: [f64; 3],
}

impl Splitter<'_> {
    /// The smallest width of the strata `a..=b` \[cm\] (the rest of the lesion counts as
    /// wide as the last shell).
    fn min_width(&self, a: usize, b: usize) -> f64 {
        let w = |j: usize| {
            let j = j.min(self.bounds.len() - 1);
            self.bounds[j] - if j == 0 { 0.0 } else { self.bounds[j - 1] }
        };
        (a..=b).map(w).fold(f64::INFINITY, f64::min)
    }

    /// Adds the piece `lo`–`hi` of macro voxel `voxel` (activity `per_cm3` per cm³) to
    /// `out` (one list per stratum): whole when all its points lie in one stratum or it is
    /// at most half as wide as the narrowest stratum it spans (then by its centre),
    /// otherwise as its eight halves.
    fn split(
        &self,
        (lo, hi): ([f64; 3], [f64; 3]),
        voxel: usize,
        per_cm3: f64,
        out: &mut [Vec<SourceBox>],
    ) {
        let (dn, df) = distance_range(lo, hi, self.blo, self.bhi);
        let (sn, sf) = (stratum_of(dn, self.bounds), stratum_of(df, self.bounds));
        let edge = (0..3).map(|a| hi[a] - lo[a]).fold(0.0, f64::max);
        if sn == sf || edge <= 0.5 * self.min_width(sn, sf) {
            let c = [
                0.5 * (lo[0] + hi[0]),
                0.5 * (lo[1] + hi[1]),
                0.5 * (lo[2] + hi[2]),
            ];
            let s = stratum_of(distance_range(c, c, self.blo, self.bhi).0, self.bounds);
            let b = SourceBox {
                lo,
                hi,
                voxel,
                weight: 0.0,
            };
            out[s].push(SourceBox {
                weight: per_cm3 * b.volume_cm3(),
                ..b
            });
            return;
        }
        let mid = [
            0.5 * (lo[0] + hi[0]),
            0.5 * (lo[1] + hi[1]),
            0.5 * (lo[2] + hi[2]),
        ];
        for octant in 0..8 {
            let (mut l, mut h) = (lo, hi);
            for a in 0..3 {
                if octant >> a & 1 == 0 {
                    h[a] = mid[a];
                } else {
                    l[a] = mid[a];
                }
            }
            self.split((l, h), voxel, per_cm3, out);
        }
    }
}

/// The lesion activity `macro_w` (per macro voxel) split into the shells of `bounds` and
/// the rest of the lesion (the last list): pieces of the macro voxels' owned space, each
/// with its share of its voxel's weight (uniform per volume), global voxel indices.
fn lesion_shells(np: &NestedPlan, macro_w: &[f32], bounds: &[f64]) -> Vec<Vec<SourceBox>> {
    let g = &np.nested.grid;
    let (blo, bhi) = g.micro_box_cm();
    let sp = Splitter { bounds, blo, bhi };
    let nm = np.n_micro();
    let mut out = vec![Vec::new(); bounds.len() + 1];
    for (v, &w) in macro_w.iter().enumerate() {
        if w > 0.0 {
            let per_cm3 = w as f64 / g.owned_volume_cm3(nm + v);
            for piece in g.owned_boxes(v) {
                sp.split(piece, nm + v, per_cm3, &mut out);
            }
        }
    }
    out
}

/// The strata of one part of one site (see the module doc): the micro phantom, shells of
/// lesion activity by the distance of the decay point to the micro box ([`shell_bounds`],
/// from an eighth of the box's smallest edge to the range) and the rest of the lesion,
/// each with `n` histories (the rest of the lesion `n` × [`FAR_HISTORIES`]) and its weight
/// k; for α parts the micro phantom and the shells together, sampled in proportion to
/// activity.
fn strata(
    np: &NestedPlan,
    site: &SiteMap,
    (part, range_cm, n): (Part, f64, u64),
    reach: &dyn Fn(f64) -> f64,
    share: f64,
) -> Vec<Stratum> {
    let (_, macro_w, w_micro) = np
        .sites
        .iter()
        .find(|s| s.0 == site.name)
        .expect("every plan site has lesion weights");
    let w_micro = *w_micro;
    let nt = np.n_micro() + macro_w.len();
    let ext = np.nested.grid.micro().extent_cm();
    let inner = ext[0].min(ext[1]).min(ext[2]) / 8.0;
    let bounds = shell_bounds(inner, range_cm);
    let mut shells = lesion_shells(np, macro_w, &bounds);
    let far = shells.pop().expect("the rest of the lesion");
    let name = |i: usize| {
        let lo = if i == 0 { 0.0 } else { bounds[i - 1] * 1e4 };
        format!(
            "lesion {lo:.0}-{:.0} um from the micro box",
            bounds[i] * 1e4
        )
    };
    let total = |b: &[SourceBox]| b.iter().map(|x| x.weight).sum::<f64>();
    let boxes = |name: &str, voxel_weight: Vec<f32>, boxes: Vec<SourceBox>| BoxSource {
        name: format!("{}:{name}", site.name),
        voxel_weight,
        boxes,
    };
    let mut micro = site.map.weight.clone();
    micro.resize(nt, 0.0);
    let mut out = Vec::new();
    if part == Part::Alpha {
        // micro and shells together in proportion to activity: weight ≈ 1 per history
        let near: Vec<SourceBox> = shells.into_iter().flatten().collect();
        let k = (w_micro + total(&near)) / w_micro;
        let decays = ((n as f64 * k).round() as u64).max(n);
        let what = "micro phantom and lesion within the range";
        out.push(Stratum {
            name: what.into(),
            source: StratumSource::Boxes(boxes(what, micro, near)),
            k,
            decays,
        });
    } else {
        out.push(Stratum {
            name: "micro phantom".into(),
            source: StratumSource::Map(SourceMap {
                name: format!("{}:micro phantom", site.name),
                method: "lesion stratum micro phantom".into(),
                weight: micro,
            }),
            k: 1.0,
            decays: n,
        });
        for (i, b) in shells.into_iter().enumerate() {
            let w = total(&b);
            if w > 0.0 {
                let what = name(i);
                let lo = if i == 0 { 0.0 } else { bounds[i - 1] };
                let k = w / w_micro;
                out.push(Stratum {
                    source: StratumSource::Boxes(boxes(&what, Vec::new(), b)),
                    name: what,
                    k,
                    decays: shell_histories(n, k, reach(lo) - reach(bounds[i]), share)
                        .max(n * weight_floor(k, share, 1)),
                });
            }
        }
    }
    let w = total(&far);
    if w > 0.0 {
        let what = FAR_NAME;
        let k = w / w_micro;
        // α parts: no photons, and the far lesion adds no α events
        let floor = match part {
            Part::Alpha => 1,
            _ => weight_floor(k, share, FAR_PHOTON_COPIES),
        };
        out.push(Stratum {
            name: what.into(),
            source: StratumSource::Boxes(boxes(what, Vec::new(), far)),
            k,
            decays: n * FAR_HISTORIES.max(floor),
        });
    }
    out
}

/// Adds the strata's tallies with their weights into the tally per micro decay, `n` decays:
/// means Σ k·mean, variances Σ k²·var (independent strata), stored as batch sums that
/// [`xfire_tally::rel_uncertainty`] reads back (batches of the first stratum). Event counts
/// are added as counts (α strata have k ≈ 1, see the module doc).
fn combine(parts: &[(TallyResult, f64)], n: u64) -> TallyResult {
    let (first, _) = &parts[0];
    let b = first.batches;
    let nf = n as f64;
    // (sum, sum2) of one quantity from its per-stratum (sum, sum2)
    let one = |get: &dyn Fn(&TallyResult) -> (f64, f64)| -> (f64, f64) {
        let (mut mean, mut var) = (0.0, 0.0);
        for (t, k) in parts {
            let (s, s2) = get(t);
            let ns = t.decays as f64;
            mean += k * s / ns;
            if s != 0.0 {
                var += k * k * (s2 - s * s / ns) / ((t.batches as f64 - 1.0) * ns);
            }
        }
        let sum = nf * mean;
        (sum, sum * sum / nf + (b as f64 - 1.0) * nf * var.max(0.0))
    };
    let mut out = first.clone();
    out.decays = n;
    out.batches = b;
    for v in 0..out.voxel_sum.len() {
        (out.voxel_sum[v], out.voxel_sum2[v]) = one(&|t| (t.voxel_sum[v], t.voxel_sum2[v]));
    }
    for (i, r) in out.regions.iter_mut().enumerate() {
        for j in 0..r.sum.len() {
            (r.sum[j], r.sum2[j]) = one(&|t| (t.regions[i].sum[j], t.regions[i].sum2[j]));
        }
    }
    combine_self_cell(&mut out, parts, n);
    let stat = |f: fn(&xfire_tally::EnergyBalance) -> xfire_tally::BatchStat| {
        let (sum, sum2) = one(&|t| {
            let x = f(&t.balance);
            (x.sum, x.sum2)
        });
        xfire_tally::BatchStat { sum, sum2 }
    };
    out.balance.emitted = stat(|e| e.emitted);
    out.balance.deposited = stat(|e| e.deposited);
    out.balance.escaped_charged = stat(|e| e.escaped_charged);
    out.balance.escaped_photon = stat(|e| e.escaped_photon);
    out.balance.below_cutoff = stat(|e| e.below_cutoff);
    for (t, _) in &parts[1..] {
        out.max_history_imbalance_rel = out
            .max_history_imbalance_rel
            .max(t.max_history_imbalance_rel);
        for (e, o) in out.events.iter_mut().zip(&t.events) {
            e.add(o);
        }
    }
    out
}

/// The self-cell sums of [`combine`]'s `out` from the strata: means Σ k·mean, variances and
/// the self–total covariance Σ k²·(co)variance, stored as batch sums of `out`'s `n` decays
/// and batches that [`TallyResult::self_cell_mean`] reads back. Only the micro stratum has
/// decays in cells; every stratum adds to the totals.
fn combine_self_cell(out: &mut TallyResult, parts: &[(TallyResult, f64)], n: u64) {
    let (nf, b) = (n as f64, out.batches as f64);
    let Some(sc) = &mut out.self_cell else {
        return;
    };
    for r in 0..sc.sum.len() {
        let (mut s, mut vs, mut cov) = (0.0, 0.0, 0.0);
        for (t, k) in parts {
            if let Some(x) = t.self_cell_mean(r) {
                s += k * x.self_mev;
                vs += k * k * x.var_self;
                cov += k * k * x.cov;
            }
        }
        let sum = nf * s;
        let total = out.regions[sc.by_map].sum[r];
        sc.sum[r] = sum;
        sc.sum2[r] = sum * sum / nf + (b - 1.0) * nf * vs;
        sc.cross[r] = sum * total / nf + (b - 1.0) * nf * cov;
    }
}

/// Transports one part of one component of a nested plan: its strata, combined (no cache,
/// checkpoints or shards: the plan's whole run in one go). `None` when the nuclide emits
/// nothing of the part.
pub fn transport_part(
    plan: &crate::plan::Plan,
    np: &NestedPlan,
    physics: &PhysicsTables,
    (nuclide, site, part): (&str, &str, Part),
    opts: &Options,
) -> Result<Option<PartTransport>> {
    let t = &plan.scenario.transport;
    check_supported(t, opts)?;
    let nuc = library()
        .resolve(nuclide)
        .context(format!("nuclide {nuclide}"))?;
    let Ok(sampler) = EmissionSampler::new(nuc, part.set(t.recoil)) else {
        return Ok(None);
    };
    let sm = plan
        .site(site)
        .ok_or_else(|| ScenarioError::Check(format!("no source map for site {site:?}")))?;
    let start = std::time::Instant::now();
    let range = np.range_scale * max_range_cm(nuclide, part, physics, np);
    let mut tallies = Vec::new();
    let mut key = String::new();
    let reach = reach(&sampler, physics, np);
    let (n, share) = part_histories(
        t.decays,
        t.batch_size,
        part,
        electron_share(&plan.scenario.agent.nuclide, nuclide),
    );
    for (j, s) in strata(np, sm, (part, range, n), &reach, share)
        .into_iter()
        .enumerate()
    {
        let setup = stratum_setup(plan, np, physics, (&s, j), &sampler, part, opts);
        if j == 0 {
            key = crate::transport::cache_key(plan, nuclide, site, part, &setup);
        }
        let what = format!("{nuclide} @ {site} ({}, {})", part.name(), s.name);
        let acc = run_stratum(np, &setup, part, (&what, s.decays), opts)?;
        tallies.push((acc.to_result(), s.k));
    }
    let mut tally = combine(&tallies, t.decays);
    plan_regions(&mut tally, plan);
    // the time step's per-voxel doses: the micro voxels (the plan's phantom)
    let n = tally.decays.max(1) as f64;
    let voxel_dose = crate::transport::voxel_dose(plan, |v| tally.voxel_sum[v] / n);
    Ok(Some(PartTransport {
        part,
        tally,
        voxel_dose: Some(voxel_dose),
        from_cache: false,
        key,
        wall_s: start.elapsed().as_secs_f64(),
        cache_note: None,
    }))
}

/// What nested runs cannot do yet: shards, uncertainty targets.
fn check_supported(t: &crate::spec::TransportSpec, opts: &Options) -> Result<()> {
    if opts.shard.is_some() {
        return Err(ScenarioError::Check(
            "a scenario with [phantom.lesion] cannot be run in shards (--shard, mpirun) yet: run it \
             whole in one process".into(),
        ));
    }
    if t.has_target() {
        return Err(ScenarioError::Check(
            "transport.target_uncertainty and target_cell_uncertainty are not supported with \
             [phantom.lesion] yet: set transport.decays"
                .into(),
        ));
    }
    Ok(())
}

/// The transport of stratum `s`, the `j`-th of the part: its source, the scenario's
/// settings, the electron reach cut, photons split at the micro box (low-LET parts), and a
/// history range of its own.
fn stratum_setup<'a>(
    plan: &crate::plan::Plan,
    np: &'a NestedPlan,
    physics: &'a PhysicsTables,
    (s, j): (&'a Stratum, usize),
    sampler: &'a EmissionSampler,
    part: Part,
    opts: &Options,
) -> TransportSetup<'a> {
    let t = &plan.scenario.transport;
    let source = match &s.source {
        StratumSource::Map(m) => Source::Map(m),
        StratumSource::Boxes(b) => Source::Boxes(b),
    };
    let mut setup = TransportSetup::nested(
        &np.nested,
        physics,
        source,
        Emitter::Nuclide(sampler),
        s.decays,
    );
    setup.seed = t.seed;
    setup.batch_size = t.batch_size;
    setup.threads = opts.threads;
    setup.electron_model = t.electron_model();
    // the answer is scored in the micro box (the macro map is a by-product)
    setup.electron_reach_cut = true;
    if part == Part::LowLet {
        // α parts count single events: no weights there (they emit no photons)
        let (lo_cm, hi_cm) = np.nested.grid.micro_box_cm();
        setup.photon_split = Some(xfire_transport::PhotonSplit {
            lo_cm,
            hi_cm,
            copies: if s.name == FAR_NAME {
                FAR_PHOTON_COPIES
            } else {
                PHOTON_COPIES
            },
        });
    }
    // strata draw disjoint history ranges: independent random numbers
    setup.first_history = (j as u64) << 40;
    setup
}

/// The `decays` of one stratum (`what` names it in progress and errors), in the nested
/// layout; stopped (Ctrl-C) runs keep nothing.
fn run_stratum(
    np: &NestedPlan,
    setup: &TransportSetup,
    part: Part,
    (what, decays): (&str, u64),
    opts: &Options,
) -> Result<ExactTally> {
    let mut acc = ExactTally::new(&np.layout);
    let stop = || {
        opts.stop
            .as_ref()
            .is_some_and(|f| f.load(std::sync::atomic::Ordering::Relaxed))
    };
    let stopped = xfire_transport::run_batches_until(
        setup,
        || {
            if part == Part::Alpha {
                BatchScorer::with_event_spectra(&np.layout)
            } else {
                BatchScorer::new(&np.layout)
            }
        },
        |b| b.finish_batch(),
        |b| acc.absorb(&b),
        &|d| {
            if let Some(p) = &opts.progress {
                p(what, d, decays);
            }
        },
        &stop,
    )
    .context(format!("transport of {what}"))?;
    if stopped {
        return Err(ScenarioError::Interrupted(format!(
            "{what}: runs with [phantom.lesion] keep no checkpoint; rerun to start again"
        )));
    }
    Ok(acc)
}

/// The plan's regions of a combined nested tally: the macro region of each map dropped
/// (voxels stay global).
fn plan_regions(tally: &mut TallyResult, plan: &crate::plan::Plan) {
    for (r, m) in tally.regions.iter_mut().zip(&plan.layout.regions) {
        r.sum.truncate(m.n_regions);
        r.sum2.truncate(m.n_regions);
    }
    if let Some(sc) = &mut tally.self_cell {
        let n = plan.layout.regions[sc.by_map].n_regions;
        for a in [&mut sc.sum, &mut sc.sum2, &mut sc.cross] {
            a.truncate(n);
        }
    }
}

/// The dose of every macro voxel to the end of the run \[Gy\] (all components and parts;
/// 0 where the voxel has no mass outside the micro box).
pub fn macro_dose_gy(
    np: &NestedPlan,
    tr: &[ComponentTransport],
    r: &crate::compute::RunResult,
) -> Vec<f64> {
    let g = np.nested.grid.outer();
    let nm = np.n_micro();
    let mut dose = vec![0f64; g.len()];
    for (c, t) in r.components.iter().zip(tr) {
        for p in &t.parts {
            for (v, d) in dose.iter_mut().enumerate() {
                let m = np.nested.voxel_mass_g(nm + v);
                if m > 0.0 {
                    *d += c.total_decays * xfire_tally::dose_gy(p.tally.voxel_mean_mev(nm + v), m);
                }
            }
        }
    }
    dose
}

/// The macro slice through the micro box's centre (z): `dose` per voxel (NaN where the micro
/// box covers the voxel) and the labels, x fastest, with the grid's nx, ny.
pub fn macro_slice(np: &NestedPlan, dose: &[f64]) -> (usize, usize, Vec<f64>, Vec<u32>) {
    let g = np.nested.grid.outer();
    let (lo, hi) = np.nested.grid.micro_box_cm();
    let zc = 0.5 * (lo[2] + hi[2]);
    let k = (((zc - g.origin_cm[2]) / g.voxel_cm[2]) as usize).min(g.nz - 1);
    let nm = np.n_micro();
    let (mut d, mut l) = (Vec::new(), Vec::new());
    for j in 0..g.ny {
        for i in 0..g.nx {
            let v = g.index(i, j, k);
            let owned = np.nested.grid.owned_volume_cm3(nm + v) > 0.0;
            d.push(if owned { dose[v] } else { f64::NAN });
            l.push(np.nested.outer.label[v] as u32);
        }
    }
    (g.nx, g.ny, d, l)
}

/// Adds the group `macro` to `results.h5`: the macro grid, its labels and the dose of every
/// macro voxel to the end of the run \[Gy\] ([`macro_dose_gy`]).
pub fn write_macro_group(
    b: &mut xfire_io::hdf5::H5Writer,
    np: &NestedPlan,
    tr: &[ComponentTransport],
    r: &crate::compute::RunResult,
) {
    use xfire_io::hdf5::Attr;
    let g = np.nested.grid.outer();
    let dose = macro_dose_gy(np, tr, r);
    let [nz, ny, nx] = g.shape_zyx();
    let shape = [nz as u64, ny as u64, nx as u64];
    let mut gr = b.group("macro");
    let s = |x: &str| Attr::Text(x.to_string());
    gr.attr("voxel_size_cm", Attr::F64s(g.voxel_cm.to_vec()));
    gr.attr("origin_cm", Attr::F64s(g.origin_cm.to_vec()));
    let (lo, hi) = np.nested.grid.micro_box_cm();
    gr.attr("micro_box_lo_cm", Attr::F64s(lo.to_vec()));
    gr.attr("micro_box_hi_cm", Attr::F64s(hi.to_vec()));
    match &np.spec.geometry {
        LesionGeometry::Sphere(x) => {
            gr.attr("lesion_radius_cm", Attr::F64(x.radius_cm));
            gr.attr("body_radius_cm", Attr::F64(x.body_radius_cm));
        }
        LesionGeometry::File { path, label } => {
            gr.attr("lesion_file", s(&path.display().to_string()));
            gr.attr("lesion_label", s(label));
        }
    }
    gr.attr("description", s(&np.notes().join(" ")));
    gr.dataset("label")
        .u16s(&np.nested.outer.label)
        .shape(&shape);
    gr.dataset("dose_gy")
        .f32s(&dose.iter().map(|&d| d as f32).collect::<Vec<_>>())
        .shape(&shape)
        .attr(
            "units",
            s(
                "Gy to the end of the run; macro voxels the micro box cuts: \
            their part outside it; 0 where the micro box covers the voxel or outside the body",
            ),
        );
    b.add(gr);
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A one-voxel, one-region tally of `decays` histories in batches with the values `b`
    /// (in the voxel and the region; the self-cell energy half of it).
    fn tally(batches: &[f64], per_batch: u64) -> TallyResult {
        let layout = TallyLayout::new(1, vec![RegionMap::new("r", vec![0], 1).unwrap()])
            .unwrap()
            .with_self_cell(xfire_tally::SelfCellLayout {
                cell_map: 0,
                n_cells: 0,
                by_map: 0,
            })
            .unwrap();
        let mut t = TallyResult::new(&layout);
        let n = per_batch as f64;
        for &x in batches {
            t.voxel_sum[0] += x;
            t.voxel_sum2[0] += x * x / n;
            t.regions[0].sum[0] += x;
            t.regions[0].sum2[0] += x * x / n;
            let sc = t.self_cell.as_mut().unwrap();
            sc.sum[0] += 0.5 * x;
            sc.sum2[0] += 0.25 * x * x / n;
            sc.cross[0] += 0.5 * x * x / n;
            t.decays += per_batch;
            t.batches += 1;
        }
        t
    }

    #[test]
    fn combined_strata_have_weighted_means_and_variances() {
        let a = tally(&[10.0, 12.0, 8.0, 10.0], 100);
        let b = tally(&[1.0, 3.0, 2.0, 2.0, 4.0, 0.0], 50);
        let (ka, kb) = (1.0, 7.5);
        let c = combine(&[(a.clone(), ka), (b.clone(), kb)], 400);
        let mean = |t: &TallyResult| t.voxel_mean_mev(0);
        let var = |t: &TallyResult| (t.voxel_rel_unc(0) * mean(t)).powi(2);
        let want_mean = ka * mean(&a) + kb * mean(&b);
        let want_var = ka * ka * var(&a) + kb * kb * var(&b);
        assert_eq!(c.decays, 400);
        assert!((mean(&c) - want_mean).abs() < 1e-12 * want_mean);
        assert!(
            (var(&c) - want_var).abs() < 1e-9 * want_var,
            "{} {want_var}",
            var(&c)
        );
        // the self-cell sums combine the same way, with the self–total covariance
        let m = c.self_cell_mean(0).unwrap();
        assert!((m.total_mev - want_mean).abs() < 1e-12 * want_mean);
        assert!((m.self_mev - 0.5 * want_mean).abs() < 1e-12 * want_mean);
        assert!((m.var_total - want_var).abs() < 1e-9 * want_var);
        assert!((m.var_self - 0.25 * want_var).abs() < 1e-9 * want_var);
        assert!((m.cov - 0.5 * want_var).abs() < 1e-9 * want_var);
    }

    #[test]
    fn chain_shares_scale_the_low_let_histories() {
        // a pure β emitter: all of its charged energy
        assert_eq!(electron_share("Lu-177", "Lu-177"), 1.0);
        // 213Bi's electrons in the 225Ac chain (four α decays per parent decay): ~1.5 %
        let bi = electron_share("Ac-225", "Bi-213");
        assert!(bi > 0.005 && bi < 0.03, "{bi}");
        // the chain's electron shares add to less than 1 (the α energy is the rest)
        let members = [
            "Ac-225", "Fr-221", "At-217", "Bi-213", "Po-213", "Tl-209", "Pb-209",
        ];
        let sum: f64 = members.iter().map(|m| electron_share("Ac-225", m)).sum();
        assert!(sum > 0.0 && sum < 0.1, "{sum}");
        // a member without electrons gets none; one outside the chain no scaling
        assert_eq!(electron_share("Ac-225", "Po-213"), 0.0);
        assert_eq!(electron_share("Lu-177", "Bi-213"), 1.0);
        // histories: α parts and φ = 1 unchanged; a small share gets N/8 and its shells φ/q
        assert_eq!(
            part_histories(40_000, 1000, Part::Alpha, 0.01),
            (40_000, 1.0)
        );
        assert_eq!(
            part_histories(40_000, 1000, Part::LowLet, 1.0),
            (40_000, 1.0)
        );
        let (n, f) = part_histories(40_000, 1000, Part::LowLet, 0.01);
        assert_eq!(n, 10_000);
        assert!((f - 0.04).abs() < 1e-12);
        // at least ten batches (or all N)
        assert_eq!(part_histories(40_000, 2000, Part::LowLet, 0.01).0, 20_000);
        assert_eq!(
            part_histories(4_000, 1000, Part::LowLet, 0.01),
            (4_000, 0.01)
        );
        // shells: N·φ·√(C k f), at least N of the part
        assert_eq!(shell_histories(1000, 100.0, 0.5, 1.0), 1000 * 17);
        assert_eq!(shell_histories(1000, 100.0, 0.5, 0.1), 1000 * 2);
        assert_eq!(shell_histories(1000, 100.0, 0.5, 0.01), 1000);
    }

    #[test]
    fn far_strata_histories_bound_the_weight_of_one_history() {
        // k N / N_s <= W: a shell of 613 micro activities needs 31 N (613/31 = 19.8 <= 20)
        assert_eq!(weight_floor(613.0, 1.0, 1), 31);
        // one of 4070 would need 204 N: capped
        assert_eq!(weight_floor(4070.0, 1.0, 1), MAX_WEIGHTED_HISTORIES);
        // a chain member's share scales it like the Neyman allocation; near shells: 1
        assert_eq!(weight_floor(613.0, 0.1, 1), 4);
        assert_eq!(weight_floor(5.0, 1.0, 1), 1);
        // split photons: each copy weighs 1/copies (1e5 / (256 · 20) = 19.5)
        assert_eq!(weight_floor(1e5, 1.0, 256), 20);
        assert_eq!(weight_floor(5.163e5, 1.0, 256), MAX_WEIGHTED_HISTORIES);
        // never zero, never a panic on odd input
        assert_eq!(weight_floor(0.0, 1.0, 1), 1);
        assert_eq!(weight_floor(f64::NAN, 1.0, 1), 1);
        assert_eq!(weight_floor(f64::INFINITY, 1.0, 1), MAX_WEIGHTED_HISTORIES);
        for k in [3.0, 40.0, 613.0, 639.9, 640.0, 641.0, 1e4] {
            let m = weight_floor(k, 1.0, 1);
            assert!(
                k / m as f64 <= MAX_HISTORY_WEIGHT || m == MAX_WEIGHTED_HISTORIES,
                "{k} {m}"
            );
        }
    }

    #[test]
    fn shells_halve_from_the_range_down_to_the_inner_width() {
        assert_eq!(shell_bounds(0.1, 0.8), vec![0.1, 0.2, 0.4, 0.8]);
        assert_eq!(shell_bounds(0.1, 0.35), vec![0.175, 0.35]);
        assert_eq!(shell_bounds(0.1, 0.05), vec![0.05]);
        assert_eq!(stratum_of(0.0, &[0.1, 0.2]), 0);
        assert_eq!(stratum_of(0.1, &[0.1, 0.2]), 1);
        assert_eq!(stratum_of(0.25, &[0.1, 0.2]), 2);
    }

    #[test]
    fn distance_ranges_between_boxes() {
        let (blo, bhi) = ([0.0; 3], [1.0; 3]);
        // overlapping: nearest 0, farthest the corner (2, 2, 2) from (1, 1, 1)
        let (n, f) = distance_range([0.5; 3], [2.0; 3], blo, bhi);
        assert_eq!(n, 0.0);
        assert!((f - 3f64.sqrt()).abs() < 1e-15);
        // beside along x: nearest 1, farthest corner (3, 1, 1) → gap 2 along x
        let (n, f) = distance_range([2.0, 0.0, 0.0], [3.0, 1.0, 1.0], blo, bhi);
        assert_eq!((n, f), (1.0, 2.0));
    }
}
