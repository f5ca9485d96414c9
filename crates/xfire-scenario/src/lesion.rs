//! Nested lesion runs (`[phantom.lesion]`): the micro phantom placed in a generated lesion
//! and body (docs/physics.md, "Nested geometry" and "Sources in the lesion").
//!
//! The plan nests the micro phantom ([`NestedPlan::new`]); the transport of each part of each
//! component is stratified: decays in the micro phantom (its site map, N histories), in the
//! lesion shells by distance to the micro box up to the part's largest charged-particle range
//! (N each), and in the rest of the lesion (10 N). Every stratum is transported in full (all particles, both
//! grids); the strata's tallies are added with the exact weights k = (activity of the
//! stratum) / (activity of the micro phantom), so the result is the energy per decay *in the
//! micro phantom* with the lesion's decays included — the quantity the kinetics multiplies.
//! α parts sample the micro phantom and the shell together in proportion to their activity
//! (weight ≈ 1, so single-event counts stay counts).

use xfire_data::nuclides::{library, EmissionSampler, Radiation};
use xfire_phantom::nested::{lesion_phantom, LESION_LABEL};
use xfire_phantom::{MaterialEntry, Nested, Phantom, SourceMap};
use xfire_tally::{BatchScorer, EventLayout, RegionMap, TallyLayout, TallyResult};
use xfire_transport::{Emitter, PhysicsTables, Source, TransportSetup};

use crate::plan::SiteMap;
use crate::spec::{LesionSpec, Problem, BODY_MATERIAL};
use crate::transport::{ComponentTransport, Options, Part, PartTransport};
use crate::{Result, ScenarioError};
use xfire_tally::ExactTally;

fn failed(what: impl std::fmt::Display) -> ScenarioError {
    ScenarioError::Failed(what.to_string())
}

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
}

fn material(name: &str) -> Result<MaterialEntry> {
    let m = xfire_data::materials::builtin(name)
        .ok_or_else(|| failed(format!("material {name:?} is not a built-in material")))?;
    Ok(MaterialEntry {
        name: m.name.clone(),
        density_g_cm3: m.density_g_cm3,
    })
}

/// Places `micro` (its box centre at the lesion centre or at the depth asked, on +z) and
/// checks that its box lies inside the lesion; the problem names the sizes in cm.
fn place(spec: &LesionSpec, micro: &mut Phantom, file: &str) -> Result<()> {
    let ext = micro.grid.extent_cm();
    let z = spec.depth_cm.map_or(0.0, |d| spec.radius_cm - d);
    let centre = [0.0, 0.0, z];
    micro.grid.origin_cm = [
        centre[0] - 0.5 * ext[0],
        centre[1] - 0.5 * ext[1],
        centre[2] - 0.5 * ext[2],
    ];
    let half = [0.5 * ext[0], 0.5 * ext[1], 0.5 * ext[2] + z.abs()];
    let far = (half[0] * half[0] + half[1] * half[1] + half[2] * half[2]).sqrt();
    if far > spec.radius_cm {
        let at = spec
            .depth_cm
            .map_or("at the lesion centre".to_string(), |d| {
                format!("centred {d} cm below the lesion surface")
            });
        return Err(ScenarioError::Invalid {
            file: file.to_string(),
            problems: vec![Problem {
                line: spec.line,
                message: format!(
                    "phantom.lesion: the micro phantom's box ({} x {} x {} cm) {at} does not fit \
                     inside the lesion of radius {} cm (its farthest corner is {far:.4} cm from \
                     the centre)",
                    ext[0], ext[1], ext[2], spec.radius_cm
                ),
            }],
        });
    }
    Ok(())
}

/// The plan's layout over both grids: each region map gets one more region for the macro
/// voxels; events as the plan's (the extra region in no class).
fn nested_layout(plan_layout: &TallyLayout, n_macro: usize) -> Result<TallyLayout> {
    let bad = |e: xfire_tally::TallyError| failed(format!("nested tally layout: {e}"));
    let mut maps = Vec::new();
    for m in &plan_layout.regions {
        let mut of = m.of_voxel.clone();
        of.resize(of.len() + n_macro, m.n_regions as u32);
        maps.push(RegionMap::new(&m.name, of, m.n_regions + 1).map_err(bad)?);
    }
    let l = TallyLayout::new(plan_layout.n_voxels + n_macro, maps).map_err(bad)?;
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

/// Nests `micro` as `spec` says: the micro grid moved so that its box sits where asked (a
/// box that does not fit in the lesion is a problem of the scenario `file`), the lesion
/// phantom generated, the tables shared.
pub fn nest(spec: &LesionSpec, micro: Phantom, file: &str) -> Result<Nested> {
    let mut micro = micro;
    place(spec, &mut micro, file)?;
    let outer = lesion_phantom(
        spec.radius_cm,
        spec.voxel_cm,
        material(&spec.material)?,
        material(BODY_MATERIAL)?,
        spec.body_radius_cm,
    )
    .map_err(|e| failed(format!("phantom.lesion: {e}")))?;
    Nested::new(micro, outer).map_err(|e| failed(format!("nesting: {e}")))
}

impl NestedPlan {
    /// The nested plan of `nested` (made by [`nest`]): the lesion activity of every site
    /// (`activity = "match"`: the site's mean weight per gram of the micro phantom, per gram
    /// of lesion) and the layout over both grids.
    pub fn new(
        spec: &LesionSpec,
        nested: Nested,
        sites: &[SiteMap],
        layout: &TallyLayout,
    ) -> Result<Self> {
        let n_micro = nested.grid.n_micro();
        let m_micro: f64 = (0..n_micro).map(|v| nested.voxel_mass_g(v)).sum();
        let lesion = nested.micro.labels.id(LESION_LABEL);
        let mut out = Vec::new();
        for s in sites {
            let w_micro: f64 = s.map.weight.iter().map(|&w| w as f64).sum();
            let per_g = if spec.activity_match {
                w_micro / m_micro
            } else {
                0.0
            };
            let w: Vec<f32> = (0..nested.outer.grid.len())
                .map(|v| {
                    if Some(nested.outer.label[v]) == lesion {
                        (per_g * nested.voxel_mass_g(n_micro + v)) as f32
                    } else {
                        0.0
                    }
                })
                .collect();
            out.push((s.name.clone(), w, w_micro));
        }
        let layout = nested_layout(layout, nested.outer.grid.len())?;
        Ok(Self {
            spec: spec.clone(),
            nested,
            layout,
            sites: out,
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
        vec![format!(
            "nested in a lesion of radius {} cm ({}) {} in a body of radius {} cm ({}), macro \
             grid {}x{}x{} of {} cm; lesion activity {}",
            s.radius_cm,
            s.material,
            s.depth_cm.map_or("at its centre".to_string(), |d| format!(
                "{d} cm below its surface"
            )),
            s.body_radius_cm,
            BODY_MATERIAL,
            g.nx,
            g.ny,
            g.nz,
            s.voxel_cm,
            if s.activity_match {
                "matched to the micro phantom's mean per gram"
            } else {
                "none"
            }
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
    for name in [np.spec.material.as_str(), BODY_MATERIAL] {
        let Some(m) = physics.names.iter().position(|x| x == name) else {
            return f64::INFINITY;
        };
        let rho = np.nested.micro.materials[m].density_g_cm3;
        let g = if alpha {
            physics
                .alpha
                .get(m)
                .map_or(f64::INFINITY, |t| t.csda_range_g_cm2(e))
        } else {
            physics.electron[m].csda_range_g_cm2(e)
        };
        r = r.max(g / rho);
    }
    1.1 * r
}

/// Distance \[cm\] between macro voxel `v` (macro index) and the micro box.
fn voxel_box_distance(np: &NestedPlan, v: usize) -> f64 {
    let g = np.nested.grid.outer();
    let (lo, hi) = np.nested.grid.micro_box_cm();
    let c = g.corner(v);
    let mut s = 0.0;
    for a in 0..3 {
        let (vl, vh) = (c[a], c[a] + g.voxel_cm[a]);
        let d = (lo[a] - vh).max(vl - hi[a]).max(0.0);
        s += d * d;
    }
    s.sqrt()
}

/// Histories of the rest of the lesion per `transport.decays`: only its photons reach the
/// micro box, in rare events of large weight, and its histories are cheap (mm voxels).
pub const FAR_HISTORIES: u64 = 10;

/// One stratum: a source map over both grids, its weight k and its histories.
struct Stratum {
    map: SourceMap,
    k: f64,
    decays: u64,
}

/// Upper distance bounds \[cm\] of the shells around the micro box: 0 (the macro voxels the
/// box touches), then the macro voxel edge h, 2h, 4h, … up to `range_cm`.
fn shell_bounds(h: f64, range_cm: f64) -> Vec<f64> {
    let mut b = vec![0.0];
    let mut x = h;
    while x < range_cm {
        b.push(x);
        x *= 2.0;
    }
    b.push(range_cm.max(0.0));
    b
}

/// The strata of one part of one site (see the module doc): the micro phantom, shells of
/// the lesion by distance to the micro box ([`shell_bounds`]) and the rest of the lesion,
/// each with `n` histories (the rest of the lesion `n` × [`FAR_HISTORIES`]) and its weight
/// k; for α parts the micro phantom and the shells
/// together, sampled in proportion to activity.
fn strata(np: &NestedPlan, site: &SiteMap, part: Part, range_cm: f64, n: u64) -> Vec<Stratum> {
    let (_, macro_w, w_micro) = np
        .sites
        .iter()
        .find(|s| s.0 == site.name)
        .expect("every plan site has lesion weights");
    let nm = np.n_micro();
    let nt = nm + macro_w.len();
    let h = np.nested.grid.outer().voxel_cm[0];
    let bounds = shell_bounds(h, range_cm);
    // shell index of each lesion voxel (bounds.len() = beyond the last: far)
    let mut shells: Vec<(Vec<f32>, f64)> = vec![(vec![0f32; nt], 0.0); bounds.len() + 1];
    for (v, &w) in macro_w.iter().enumerate() {
        if w > 0.0 {
            let d = voxel_box_distance(np, v);
            let i = bounds.iter().position(|&b| d <= b).unwrap_or(bounds.len());
            shells[i].0[nm + v] = w;
            shells[i].1 += w as f64;
        }
    }
    let map = |name: String, weight: Vec<f32>| SourceMap {
        name: format!("{}:{name}", site.name),
        method: format!("lesion stratum {name}"),
        weight,
    };
    let name = |i: usize| match i {
        0 => "shell touching the micro box".to_string(),
        i if i == bounds.len() => "rest of the lesion".to_string(),
        i => format!(
            "shell {:.3}-{:.3} cm from the micro box",
            bounds[i - 1],
            bounds[i]
        ),
    };
    let mut out = Vec::new();
    let mut micro = site.map.weight.clone();
    micro.resize(nt, 0.0);
    let far = shells.pop().expect("at least one shell");
    if part == Part::Alpha {
        // micro and shells together in proportion to activity: weight ≈ 1 per history
        let mut w_near = *w_micro;
        for (w, s) in shells {
            for v in nm..nt {
                micro[v] += w[v];
            }
            w_near += s;
        }
        let k = w_near / w_micro;
        let decays = ((n as f64 * k).round() as u64).max(n);
        out.push(Stratum {
            map: map("micro phantom and shells".into(), micro),
            k,
            decays,
        });
    } else {
        out.push(Stratum {
            map: map("micro phantom".into(), micro),
            k: 1.0,
            decays: n,
        });
        for (i, (w, s)) in shells.into_iter().enumerate() {
            if s > 0.0 {
                out.push(Stratum {
                    map: map(name(i), w),
                    k: s / w_micro,
                    decays: n,
                });
            }
        }
    }
    if far.1 > 0.0 {
        out.push(Stratum {
            map: map(name(bounds.len()), far.0),
            k: far.1 / w_micro,
            decays: n * FAR_HISTORIES,
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
    if opts.shard.is_some() {
        return Err(failed(
            "a scenario with [phantom.lesion] cannot be run in shards yet: run it whole",
        ));
    }
    if t.has_target() {
        return Err(failed(
            "transport.target_uncertainty and target_cell_uncertainty are not supported with \
             [phantom.lesion] yet: set transport.decays",
        ));
    }
    let nuc = library()
        .resolve(nuclide)
        .map_err(|e| failed(format!("nuclide {nuclide}: {e}")))?;
    let Ok(sampler) = EmissionSampler::new(nuc, part.set(t.recoil)) else {
        return Ok(None);
    };
    let sm = plan
        .site(site)
        .ok_or_else(|| failed(format!("no source map for site {site:?}")))?;
    let start = std::time::Instant::now();
    let range = max_range_cm(nuclide, part, physics, np);
    let mut tallies = Vec::new();
    let mut key = String::new();
    for (j, s) in strata(np, sm, part, range, t.decays)
        .into_iter()
        .enumerate()
    {
        let mut setup = TransportSetup::nested(
            &np.nested,
            physics,
            Source::Map(&s.map),
            Emitter::Nuclide(&sampler),
            s.decays,
        );
        setup.seed = t.seed;
        setup.batch_size = t.batch_size;
        setup.threads = opts.threads;
        setup.electron_model = t.electron_model();
        // strata draw disjoint history ranges: independent random numbers
        setup.first_history = (j as u64) << 40;
        if j == 0 {
            key = crate::transport::cache_key(plan, nuclide, site, part, &setup);
        }
        let what = format!("{nuclide} @ {site} ({}, {})", part.name(), s.map.method);
        let mut acc = ExactTally::new(&np.layout);
        let stop = || {
            opts.stop
                .as_ref()
                .is_some_and(|f| f.load(std::sync::atomic::Ordering::Relaxed))
        };
        let stopped = xfire_transport::run_batches_until(
            &setup,
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
                    p(&what, d, s.decays);
                }
            },
            &stop,
        )
        .map_err(|e| failed(format!("transport of {what}: {e}")))?;
        if stopped {
            return Err(ScenarioError::Interrupted(format!(
                "{what}: runs with [phantom.lesion] keep no checkpoint; rerun to start again"
            )));
        }
        tallies.push((acc.to_result(), s.k));
    }
    let mut tally = combine(&tallies, t.decays);
    // the plan's regions (the macro region of each map dropped); voxels stay global
    for (r, m) in tally.regions.iter_mut().zip(&plan.layout.regions) {
        r.sum.truncate(m.n_regions);
        r.sum2.truncate(m.n_regions);
    }
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

/// Adds the group `macro` to `results.h5`: the macro grid, its labels and the dose of every
/// macro voxel to the end of the run \[Gy\] (all components and parts).
pub fn write_macro_group(
    b: &mut hdf5_pure::FileBuilder,
    np: &NestedPlan,
    tr: &[ComponentTransport],
    r: &crate::compute::RunResult,
) {
    use hdf5_pure::AttrValue;
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
    let [nz, ny, nx] = g.shape_zyx();
    let shape = [nz as u64, ny as u64, nx as u64];
    let mut gr = b.create_group("macro");
    let s = |x: &str| AttrValue::VarLenString(x.to_string());
    gr.set_attr("voxel_size_cm", AttrValue::F64Array(g.voxel_cm.to_vec()));
    gr.set_attr("origin_cm", AttrValue::F64Array(g.origin_cm.to_vec()));
    let (lo, hi) = np.nested.grid.micro_box_cm();
    gr.set_attr("micro_box_lo_cm", AttrValue::F64Array(lo.to_vec()));
    gr.set_attr("micro_box_hi_cm", AttrValue::F64Array(hi.to_vec()));
    gr.set_attr("lesion_radius_cm", AttrValue::F64(np.spec.radius_cm));
    gr.set_attr("body_radius_cm", AttrValue::F64(np.spec.body_radius_cm));
    gr.set_attr("description", s(&np.notes().join(" ")));
    gr.create_dataset("label")
        .with_u16_data(&np.nested.outer.label)
        .with_shape(&shape);
    gr.create_dataset("dose_gy")
        .with_f32_data(&dose.iter().map(|&d| d as f32).collect::<Vec<_>>())
        .with_shape(&shape)
        .set_attr(
            "units",
            s(
                "Gy to the end of the run; macro voxels the micro box cuts: \
            their part outside it; 0 where the micro box covers the voxel or outside the body",
            ),
        );
    b.add_group(gr.finish());
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A one-voxel, one-region tally of `decays` histories in batches with the values `b`.
    fn tally(batches: &[f64], per_batch: u64) -> TallyResult {
        let layout = TallyLayout::new(1, vec![RegionMap::new("r", vec![0], 1).unwrap()]).unwrap();
        let mut t = TallyResult::new(&layout);
        let n = per_batch as f64;
        for &x in batches {
            t.voxel_sum[0] += x;
            t.voxel_sum2[0] += x * x / n;
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
    }

    #[test]
    fn shells_double_from_the_voxel_edge_to_the_range() {
        assert_eq!(shell_bounds(0.1, 0.35), vec![0.0, 0.1, 0.2, 0.35]);
        assert_eq!(shell_bounds(0.1, 0.05), vec![0.0, 0.05]);
    }
}
