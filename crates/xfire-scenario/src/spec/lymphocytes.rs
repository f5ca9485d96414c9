//! `[lymphocytes]`, `[lymphocytes.migrating]` and `[lymphocytes.circulating]`: the
//! lymphocyte exposure models.

use xfire_kinetics::ExpTerm;

use super::{get_num, get_qty, get_time_list, get_u64, parse_mass_g, parse_speed_cm_per_s};
use super::{sub, time, Ctx, Tab};

/// Migrating lymphocytes (persistent random walks).
#[derive(Debug, Clone, PartialEq)]
pub struct MigratingSpec {
    /// Number of walkers per arrival time.
    pub walkers: usize,
    /// Speed \[cm/s\].
    pub speed_cm_per_s: f64,
    /// Persistence time \[s\].
    pub persistence_s: f64,
}

/// Circulating blood lymphocytes.
#[derive(Debug, Clone, PartialEq)]
pub struct CirculatingSpec {
    /// Fraction of the administered activity in blood at t = 0 \[1\].
    pub blood_fraction: f64,
    /// Blood clearance (biological) as exponential terms.
    pub clearance: Vec<ExpTerm>,
    /// Blood mass \[g\].
    pub blood_mass_g: f64,
    /// Fraction of time a circulating lymphocyte spends in the tumour's vessels \[1\].
    pub tumour_transit_fraction: f64,
    /// Exposure window: from the first administration to this time \[s\].
    pub until_s: f64,
}

/// Lymphocyte exposure models.
#[derive(Debug, Clone, PartialEq)]
pub struct LymphocyteSpec {
    /// Residence time of an arriving cohort \[s\].
    pub residence_s: f64,
    /// Arrival times of the cohorts reported individually \[s\].
    pub arrivals_s: Vec<f64>,
    /// Migrating lymphocytes, if asked for.
    pub migrating: Option<MigratingSpec>,
    /// Circulating blood lymphocytes, if asked for.
    pub circulating: Option<CirculatingSpec>,
}

impl MigratingSpec {
    /// `[lymphocytes.migrating]`, defaults for the keys not given.
    fn from_table(cx: &mut Ctx, mt: Tab) -> Self {
        let mut mt = mt;
        let w = get_u64(cx, &mut mt, "walkers", 1).unwrap_or(200);
        let sp = get_qty(cx, &mut mt, "speed", "speed", false, &parse_speed_cm_per_s)
            .unwrap_or(5e-4 / 60.0);
        let p = get_qty(cx, &mut mt, "persistence", "time", false, &time).unwrap_or(180.0);
        mt.finish(cx, &[]);
        MigratingSpec {
            walkers: w as usize,
            speed_cm_per_s: sp,
            persistence_s: p,
        }
    }
}

impl CirculatingSpec {
    /// `[lymphocytes.circulating]`, defaults for the keys not given.
    fn from_table(cx: &mut Ctx, ct: Tab) -> Self {
        let mut ct = ct;
        let bf = get_num(cx, &mut ct, "blood_fraction", 0.0, false, 1.0).unwrap_or(0.0);
        let hts = get_time_list(cx, &mut ct, "blood_half_times", false)
            .unwrap_or_else(|| vec![10.8 * 3600.0]);
        let bm = get_qty(cx, &mut ct, "blood_mass", "mass", false, &parse_mass_g).unwrap_or(5000.0);
        let tf = get_num(cx, &mut ct, "tumour_transit_fraction", 0.0, false, 1.0).unwrap_or(0.0);
        let until = get_qty(cx, &mut ct, "until", "time", false, &time).unwrap_or(56.0 * 86400.0);
        ct.finish(cx, &[]);
        let n = hts.len().max(1) as f64;
        CirculatingSpec {
            blood_fraction: bf,
            clearance: hts
                .iter()
                .map(|&h| ExpTerm {
                    fraction: 1.0 / n,
                    half_time_s: h,
                })
                .collect(),
            blood_mass_g: bm,
            tumour_transit_fraction: tf,
            until_s: until,
        }
    }
}

impl LymphocyteSpec {
    /// `[lymphocytes]` of the root table (the defaults when it is absent).
    pub(super) fn from_root(cx: &mut Ctx, root: &mut Tab) -> Self {
        let mut lymphocytes = LymphocyteSpec {
            residence_s: 3.0 * 86400.0,
            arrivals_s: vec![0.0, 7.0 * 86400.0, 14.0 * 86400.0, 28.0 * 86400.0],
            migrating: None,
            circulating: None,
        };
        if let Some(mut lt) = sub(cx, root, "lymphocytes") {
            if let Some(r) = get_qty(cx, &mut lt, "residence", "time", false, &time) {
                lymphocytes.residence_s = r;
            }
            if let Some(a) = get_time_list(cx, &mut lt, "arrivals", true) {
                lymphocytes.arrivals_s = a;
            }
            if let Some(mt) = sub(cx, &mut lt, "migrating") {
                lymphocytes.migrating = Some(MigratingSpec::from_table(cx, mt));
            }
            if let Some(ct) = sub(cx, &mut lt, "circulating") {
                lymphocytes.circulating = Some(CirculatingSpec::from_table(cx, ct));
            }
            lt.finish(cx, &[]);
        }
        lymphocytes
    }
}
