//! Source → target matrices: one row per source component (a chain member in a spatial
//! distribution), one column per target region (label or cell), absorbed dose per decay.

use crate::result::TallyResult;
use crate::{Result, TallyError};

/// A dense source × target matrix of absorbed dose per decay [Gy] with relative
/// uncertainties.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct DoseMatrix {
    /// Source names (rows).
    pub sources: Vec<String>,
    /// Name of the region map whose regions are the columns.
    pub region_map: String,
    /// Row-major dose per decay [Gy], `sources.len() × n_regions`.
    pub dose_gy_per_decay: Vec<f64>,
    /// Row-major energy per decay [MeV].
    pub energy_mev_per_decay: Vec<f64>,
    /// Row-major relative standard uncertainty.
    pub rel_unc: Vec<f64>,
    /// Number of target regions (columns).
    pub n_regions: usize,
}

/// Builds the matrix of region map `region_map` from one result per source; `mass_g` is the
/// mass of each target region [g].
pub fn dose_matrix(
    sources: &[(&str, &TallyResult)],
    region_map: &str,
    mass_g: &[f64],
) -> Result<DoseMatrix> {
    let n = mass_g.len();
    let mut out = DoseMatrix {
        sources: Vec::new(),
        region_map: region_map.to_string(),
        dose_gy_per_decay: Vec::with_capacity(sources.len() * n),
        energy_mev_per_decay: Vec::with_capacity(sources.len() * n),
        rel_unc: Vec::with_capacity(sources.len() * n),
        n_regions: n,
    };
    for (name, res) in sources {
        let m = res
            .regions
            .iter()
            .position(|r| r.name == region_map)
            .ok_or_else(|| {
                TallyError::Layout(format!(
                    "source {name:?}: the tally has no region map {region_map:?}"
                ))
            })?;
        if res.regions[m].sum.len() != n {
            return Err(TallyError::Layout(format!(
                "source {name:?}: region map {region_map:?} has {} regions, {n} masses given",
                res.regions[m].sum.len()
            )));
        }
        out.sources.push(name.to_string());
        for (r, &mass) in mass_g.iter().enumerate() {
            out.energy_mev_per_decay.push(res.region_mean_mev(m, r));
            out.dose_gy_per_decay.push(res.region_dose_gy(m, r, mass));
            out.rel_unc.push(res.region_rel_unc(m, r));
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{BatchScorer, RegionMap, Scorer, TallyLayout};

    #[test]
    fn matrix_rows_are_sources() {
        let l = TallyLayout::new(2, vec![RegionMap::new("label", vec![0, 1], 2).unwrap()]).unwrap();
        let run = |v: usize| {
            let mut r = TallyResult::new(&l);
            let mut s = BatchScorer::new(&l);
            for _ in 0..2 {
                s.begin_history(2.0, 0);
                s.deposit(v, 2.0);
                s.end_history();
                r.absorb(&s.finish_batch());
            }
            r
        };
        let (a, b) = (run(0), run(1));
        let m = dose_matrix(&[("a", &a), ("b", &b)], "label", &[1.0, 2.0]).unwrap();
        assert_eq!(m.energy_mev_per_decay, vec![2.0, 0.0, 0.0, 2.0]);
        let g = 1.602176634e-10;
        assert!((m.dose_gy_per_decay[0] - 2.0 * g).abs() < 1e-20);
        assert!((m.dose_gy_per_decay[3] - g).abs() < 1e-20);
        assert!(dose_matrix(&[("a", &a)], "cell", &[1.0, 2.0]).is_err());
        assert!(dose_matrix(&[("a", &a)], "label", &[1.0]).is_err());
    }
}
