//! The plan: a validated scenario with its phantom, labelled-cell source map, sites and
//! source components — everything the transport and time steps need, nothing computed yet.

use std::sync::Arc;

use xfire_kinetics::{DaughterRelease, Quantity, Site, SourceKinetics, SourceModel};
use xfire_phantom::{build_source_map, labels, CellKind, Phantom, SourceMap};
use xfire_tally::{dose_gy, EventLayout, RegionMap, SelfCellLayout, TallyLayout, VoxelTally};

use crate::spec::{AmountSpec, PhantomSource, Problem, Scenario};
use crate::voxels::VoxelSubset;
use crate::{Context, Result, ScenarioError};

/// Index of the "group" region map in the tally layout (after "label" and "cell").
pub const GROUP_MAP: usize = 2;
/// Group region: tumour cells (tumour nucleus + cytoplasm labels).
pub const GROUP_TUMOUR: usize = 1;
/// Group region: lymphocytes (lymphocyte nucleus + cytoplasm labels).
pub const GROUP_LYMPHOCYTE: usize = 2;

/// A spatial distribution of decays: a site of the kinetics model and its source map.
#[derive(Debug, Clone)]
pub struct SiteMap {
    /// Site name (the binding name for the bound site).
    pub name: String,
    /// The map the transport samples decays from.
    pub map: SourceMap,
}

/// Everything fixed before any transport.
#[derive(Debug, Clone)]
pub struct Plan {
    /// The scenario.
    pub scenario: Scenario,
    /// The phantom, without its stored source maps (the sites' maps are in `sites`; the
    /// content hash covers them).
    pub phantom: Phantom,
    /// Content hash of the phantom (part of the cache key).
    pub phantom_hash: u64,
    /// Ids of the labelled tumour cells.
    pub labelled_cells: Vec<u32>,
    /// Uptake weight of each labelled cell (mean 1), in `labelled_cells` order.
    pub cell_weights: Vec<f64>,
    /// Mass of the phantom's tumour (every voxel not labelled `medium`) \[g\].
    pub tumour_mass_g: f64,
    /// The solved source kinetics (components and their exact time course).
    pub source: SourceKinetics,
    /// The source maps of the sites (bound site first).
    pub sites: Vec<SiteMap>,
    /// The tally layout: region maps "label", "cell", "group".
    pub layout: TallyLayout,
    /// The voxels whose dose per decay a transported part keeps, when the layout keeps
    /// per-voxel tallies (None: every voxel; [`Plan::with_phantom`] sets None).
    pub dose_voxels: Option<Arc<VoxelSubset>>,
    /// Lines printed while building (phantom generation report).
    pub notes: Vec<String>,
    /// The phantom nested in a lesion (`[phantom.lesion]`); `phantom` is then its micro
    /// phantom (moved into place, with the lesion's materials and labels in its tables).
    pub nested: Option<crate::lesion::NestedPlan>,
}

/// Material density lookup for the generator: built-in materials.
fn density(name: &str) -> Option<f64> {
    xfire_data::materials::builtin(name).map(|m| m.density_g_cm3)
}

/// Load or generate the phantom of a scenario.
pub fn load_phantom(s: &Scenario) -> Result<(Phantom, Vec<String>)> {
    match &s.phantom {
        PhantomSource::File(p) => {
            let ph =
                xfire_io::h5::read_phantom(p).map_err(|source| ScenarioError::PhantomFile {
                    path: p.clone(),
                    source,
                })?;
            Ok((ph, vec![format!("phantom read from {}", p.display())]))
        }
        PhantomSource::Spec { text, origin } => {
            let spec =
                xfire_phantom::Spec::from_toml(text).context(format!("phantom spec ({origin})"))?;
            let g = xfire_phantom::generate(&spec, text, &density)
                .context(format!("phantom spec ({origin})"))?;
            let mut notes = vec![format!("phantom generated from {origin}")];
            notes.extend(g.report);
            Ok((g.phantom, notes))
        }
    }
}

/// The source map `name` of `phantom`: stored, built from labels and cells, or "uniform"
/// (weight 1 in every voxel).
pub fn site_map(phantom: &Phantom, name: &str) -> std::result::Result<SourceMap, String> {
    if name == "uniform" {
        return Ok(SourceMap {
            name: name.into(),
            method: "1 per voxel of the whole phantom".into(),
            weight: vec![1.0; phantom.grid.len()],
        });
    }
    if let Some(m) = phantom.source_map(name) {
        return Ok(m.clone());
    }
    build_source_map(
        name,
        &phantom.grid,
        &phantom.label,
        &phantom.cell_id,
        &phantom.labels,
        &phantom.cells,
    )
    .map_err(|e| {
        let stored: Vec<&str> = phantom
            .source_maps
            .iter()
            .map(|m| m.name.as_str())
            .collect();
        format!("{e} (maps stored in the phantom: {stored:?}; also uniform, vessels, label:<name>)")
    })
}

/// Tumour cells labelled (deterministic from `seed`) and their lognormal weights.
pub fn labelled_cells(
    phantom: &Phantom,
    fraction: f64,
    sigma: f64,
    seed: u64,
) -> Result<(Vec<u32>, Vec<f64>)> {
    let mut ids = Vec::new();
    for c in &phantom.cells.cells {
        if c.kind != CellKind::TUMOUR {
            continue;
        }
        let mut r = xfire_core::rng::Rng::for_stream(
            seed ^ 0x6c61_6265_6c6c_6564,
            c.id as u64,
            xfire_core::rng::STREAM_KINETICS,
        );
        if fraction >= 1.0 || r.uniform() < fraction {
            ids.push(c.id);
        }
    }
    if ids.is_empty() {
        return Ok((ids, vec![]));
    }
    let w = xfire_kinetics::lognormal_uptake_weights(ids.len(), sigma, seed)
        .context("uptake heterogeneity")?;
    Ok((ids, w))
}

/// The tally layout: "label", "cell" and "group" (0 other, 1 tumour cells, 2 lymphocytes),
/// and per-voxel sums (no sums of squares: the time step uses per-voxel means only, for
/// dose maps, label dose-volume figures, the dose slice and migrating lymphocytes; the
/// comparison drops them for nuclides whose answer needs none).
pub fn layout(phantom: &Phantom) -> Result<TallyLayout> {
    let id = |n: &str, d: u16| phantom.labels.id(n).unwrap_or(d);
    let (tn, tc) = (
        id("tumour_nucleus", labels::TUMOUR_NUCLEUS),
        id("tumour_cytoplasm", labels::TUMOUR_CYTOPLASM),
    );
    let (ln, lc) = (
        id("lymphocyte_nucleus", labels::LYMPHOCYTE_NUCLEUS),
        id("lymphocyte_cytoplasm", labels::LYMPHOCYTE_CYTOPLASM),
    );
    let group_of = |v: usize| {
        let l = phantom.label[v];
        if l == tn || l == tc {
            GROUP_TUMOUR as u32
        } else if l == ln || l == lc {
            GROUP_LYMPHOCYTE as u32
        } else {
            0
        }
    };
    let group =
        RegionMap::from_fn("group", phantom.grid.len(), 3, group_of).context("tally layout")?;
    let l = xfire_transport::phantom_layout(phantom, vec![group]).context("tally layout")?;
    // single-event spectra per cell type (class 1 tumour cells, 2 lymphocytes) on the cells
    let masses = xfire_transport::region_masses_g(phantom, &l.regions[1]);
    let mut class = vec![0u8; masses.len()];
    for c in &phantom.cells.cells {
        class[c.id as usize] = if c.kind == CellKind::TUMOUR {
            1
        } else if c.kind == CellKind::LYMPHOCYTE {
            2
        } else {
            0
        };
    }
    let gy_per_mev: Vec<f64> = masses
        .iter()
        .map(|&m| if m > 0.0 { dose_gy(1.0, m) } else { 0.0 })
        .collect();
    for (c, g) in class.iter_mut().zip(&gy_per_mev) {
        if *g == 0.0 {
            *c = 0;
        }
    }
    let ev = EventLayout::new(1, class, 2, gy_per_mev).context("tally layout")?;
    // energy from decays in their own cell, per group, in the same pass (the cross-fire
    // fraction of the comparison)
    let own_cell = SelfCellLayout {
        cell_map: 1,
        n_cells: phantom.cells.len() as u32,
        by_map: GROUP_MAP,
    };
    l.with_events(ev)
        .and_then(|l| l.with_self_cell(own_cell))
        .map(|l| l.with_voxels(VoxelTally::Sum))
        .context("tally layout")
}

impl Plan {
    /// Build the plan of a validated scenario: phantom, maps, kinetics. Problems that need
    /// the phantom (unknown source map or label) are collected with their lines.
    pub fn new(scenario: Scenario) -> Result<Self> {
        let (phantom, notes) = load_phantom(&scenario)?;
        Self::with_phantom(scenario, phantom, notes)
    }

    /// As [`Plan::new`] with a phantom already in memory.
    pub fn with_phantom(scenario: Scenario, phantom: Phantom, notes: Vec<String>) -> Result<Self> {
        let s = &scenario;
        let file = s
            .path
            .as_ref()
            .map_or("<scenario>".to_string(), |p| p.display().to_string());
        let (phantom, nested) = match &s.lesion {
            Some(l) => {
                let n = crate::lesion::nest(l, phantom, &file)?;
                (n.micro.clone(), Some(n))
            }
            None => (phantom, None),
        };
        let mut notes = notes;
        let mut problems: Vec<Problem> = Vec::new();
        let a = &s.agent;
        let seed = s.transport.seed;
        let (cells, weights) = labelled_cells(&phantom, a.labelled_fraction, a.uptake_sigma, seed)?;
        let bound = bound_site(s, &phantom, (&cells, &weights), &mut problems);
        let (sites, site_maps) = release_sites(s, &phantom, &mut problems);
        let tumour_mass_g = tumour_mass_g(&phantom);
        let quantity = quantity(s, cells.len(), tumour_mass_g, &mut problems);
        if !problems.is_empty() {
            return Err(ScenarioError::Invalid { file, problems });
        }
        let bound = bound.expect("checked");
        let source = source_kinetics(s, quantity, sites)?;
        let mut all_sites = vec![bound];
        all_sites.extend(site_maps);
        let layout = layout(&phantom)?;
        let phantom_hash = xfire_io::h5::content_hash(&phantom);
        // the sites hold the maps the run samples; the phantom's stored maps (a generated
        // phantom has several, 4 bytes per voxel each) are not needed again
        let mut phantom = phantom;
        phantom.source_maps = Vec::new();
        let nested = match (nested, &s.lesion) {
            (Some(n), Some(l)) => {
                let np = crate::lesion::NestedPlan::new(l, n, &all_sites, &layout, &file)?;
                notes.extend(np.notes());
                Some(np)
            }
            _ => None,
        };
        Ok(Plan {
            scenario,
            phantom,
            phantom_hash,
            labelled_cells: cells,
            cell_weights: weights,
            tumour_mass_g,
            source,
            sites: all_sites,
            layout,
            dose_voxels: None,
            notes,
            nested,
        })
    }

    /// The phantom and the notes, the rest of the plan dropped.
    pub fn into_phantom(self) -> (Phantom, Vec<String>) {
        (self.phantom, self.notes)
    }

    /// The source map of site `name`.
    pub fn site(&self, name: &str) -> Option<&SiteMap> {
        self.sites.iter().find(|s| s.name == name)
    }
}

/// The bound site's map: `agent.binding` in `phantom`, weighted by the labelled cells'
/// uptake `(ids, weights)` when the binding is cell based; None (with a problem in
/// `problems`) when it is unknown or has no activity.
fn bound_site(
    s: &Scenario,
    phantom: &Phantom,
    (cells, weights): (&[u32], &[f64]),
    problems: &mut Vec<Problem>,
) -> Option<SiteMap> {
    let a = &s.agent;
    let mut m = match site_map(phantom, &a.binding) {
        Ok(m) => m,
        Err(e) => {
            problems.push(Problem {
                line: a.binding_line,
                message: format!("agent.binding = {:?}: {e}", a.binding),
            });
            return None;
        }
    };
    if a.binding.starts_with("tumour_") {
        let mut f = vec![0f32; phantom.cells.len() + 1];
        for (id, w) in cells.iter().zip(weights) {
            f[*id as usize] = *w as f32;
        }
        for (w, &c) in m.weight.iter_mut().zip(&phantom.cell_id) {
            *w *= f.get(c as usize).copied().unwrap_or(0.0);
        }
        m.method = format!(
            "{}; {} of {} tumour cells labelled (fraction {}), lognormal uptake sigma {}",
            m.method,
            cells.len(),
            phantom
                .cells
                .cells
                .iter()
                .filter(|c| c.kind == CellKind::TUMOUR)
                .count(),
            a.labelled_fraction,
            a.uptake_sigma
        );
    }
    if m.weight.iter().all(|&w| w <= 0.0) {
        problems.push(Problem { line: a.binding_line, message: format!("agent.binding = {:?}: the source map has no activity in this phantom (no labelled voxels)", a.binding) });
        return None;
    }
    Some(SiteMap {
        name: a.binding.clone(),
        map: m,
    })
}

/// The release sites of `[daughters]` (one per site name) and their maps in `phantom`;
/// problems (two clearance half-times for one site, an unknown or empty site) in `problems`.
fn release_sites(
    s: &Scenario,
    phantom: &Phantom,
    problems: &mut Vec<Problem>,
) -> (Vec<Site>, Vec<SiteMap>) {
    let mut sites: Vec<Site> = Vec::new();
    let mut site_maps = Vec::new();
    for d in &s.daughters {
        if let Some(prev) = sites.iter().find(|x| x.name == d.to) {
            if prev.clearance_half_time_s != d.clearance_half_time_s {
                problems.push(Problem {
                    line: d.line,
                    message: format!(
                        "daughters: site {:?} is given two clearance half-times; use one per site",
                        d.to
                    ),
                });
            }
            continue;
        }
        match site_map(phantom, &d.to) {
            Ok(m) if m.weight.iter().any(|&w| w > 0.0) => {
                sites.push(Site {
                    name: d.to.clone(),
                    clearance_half_time_s: d.clearance_half_time_s,
                });
                site_maps.push(SiteMap {
                    name: d.to.clone(),
                    map: m,
                });
            }
            Ok(_) => problems.push(Problem {
                line: d.line,
                message: format!(
                    "daughters: release site {:?} is empty in this phantom",
                    d.to
                ),
            }),
            Err(e) => problems.push(Problem {
                line: d.line,
                message: format!("daughters: release site {:?}: {e}", d.to),
            }),
        }
    }
    (sites, site_maps)
}

/// Mass of the phantom's tumour: every voxel not labelled `medium` \[g\].
fn tumour_mass_g(phantom: &Phantom) -> f64 {
    phantom
        .label
        .iter()
        .enumerate()
        .filter(|(_, &l)| l != labels::MEDIUM)
        .map(|(v, _)| phantom.voxel_mass_g(v))
        .sum()
}

/// The amount of the scenario as the kinetics' quantity, for `n_cells` labelled cells and a
/// phantom tumour of `tumour_mass_g`; problems (no labelled cells, a tumour mass below the
/// phantom's, no tumour) in `problems`.
fn quantity(
    s: &Scenario,
    n_cells: usize,
    tumour_mass_g: f64,
    problems: &mut Vec<Problem>,
) -> Quantity {
    let quantity = match s.amount {
        AmountSpec::DecaysPerLabelledCell(d) => {
            if n_cells == 0 {
                problems.push(Problem { line: None, message: "kinetics.decays_per_labelled_cell: the phantom has no labelled tumour cells".into() });
            }
            Quantity::DecaysPerLabelledCell {
                decays_per_cell: d,
                labelled_cells: n_cells as f64,
            }
        }
        AmountSpec::BqPerGram(c) => Quantity::Concentration {
            bq_per_g: c,
            mass_g: tumour_mass_g.max(f64::MIN_POSITIVE),
        },
        AmountSpec::UptakeFraction {
            fraction,
            tumour_mass_g: m,
        } => {
            if tumour_mass_g > m {
                problems.push(Problem { line: None, message: format!("kinetics.tumour_mass = {m} g is smaller than the phantom's tumour ({tumour_mass_g:.3e} g)") });
            }
            Quantity::AdministeredFraction {
                uptake_fraction: (fraction * tumour_mass_g / m).min(1.0),
            }
        }
    };
    if tumour_mass_g <= 0.0 {
        problems.push(Problem {
            line: None,
            message: "the phantom has no tumour (every voxel is labelled medium)".into(),
        });
    }
    quantity
}

/// The solved source kinetics: the agent's chain at the bound site and the release `sites`,
/// `quantity` of every administration of the regimen.
fn source_kinetics(s: &Scenario, quantity: Quantity, sites: Vec<Site>) -> Result<SourceKinetics> {
    let a = &s.agent;
    let chain = xfire_kinetics::Chain::from_library(&a.nuclide).context("agent.nuclide")?;
    let model = SourceModel {
        chain,
        bound_site: a.binding.clone(),
        tac: s.tac.clone(),
        quantity,
        sites,
        releases: s
            .daughters
            .iter()
            .map(|d| DaughterRelease {
                daughter: d.daughter.clone(),
                fraction: d.release,
                to_site: d.to.clone(),
            })
            .collect(),
    };
    let adm = s
        .regimen
        .administrations(s.body_mass_kg)
        .context("regimen")?;
    model.build(&adm).context("kinetics")
}
