//! Exact compartment kinetics: a lower-triangular linear system dx/dt = M x with impulses.
//!
//! Compartments are (chain member × site × kinetic term) states, or helper states (an uptake
//! input, the value and slope of a tabulated curve). Between impulses (administrations,
//! table points) the state obeys dx/dt = M x with M lower triangular and Metzler:
//! M_ii = −r_i (removal: physical decay plus biological clearance), M_ji = flow i → j ≥ 0
//! (decay into a daughter, uptake, redistribution), j > i. Each compartment counts decays
//! at `count_rate_per_s` × x_i (λ of its nuclide, or 1 for a state that holds an activity
//! directly); counters are part of the augmented generator, so decays in any interval are
//! exact (no quadrature) and as accurate as the state (see `expm.rs`: every entry of e^{Mt}
//! is a sum of non-negative terms).
//!
//! A *component* is a group of compartments whose decays share one spatial distribution
//! (chain member × site); the transport gives dose per decay per component, so the outputs
//! here are per component: decay rate Ṅ_c(t) \[1/s\] and decays in \[t0, t1\] \[1\].

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use crate::error::{finite, non_negative, KResult, KineticsError};
use crate::expm::Generator;

/// One state of the linear system.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Compartment {
    /// The component whose decays this compartment's decays are (None: not tallied, e.g.
    /// activity in blood before uptake, or a slope helper state).
    pub component: Option<usize>,
    /// Decays per unit state per second \[1/s\]: λ of the nuclide for atoms; 1 for a state
    /// that holds an activity \[Bq\] directly.
    pub count_rate_per_s: f64,
    /// Total removal rate r ≥ 0 \[1/s\] (diagonal −r): physical decay + biological clearance.
    pub removal_per_s: f64,
}

/// A flow from compartment `from` to a later compartment `to` at `rate_per_s` × x_from.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Flow {
    /// Source compartment index.
    pub from: usize,
    /// Destination compartment index (> `from`).
    pub to: usize,
    /// Transfer rate ≥ 0 \[1/s\].
    pub rate_per_s: f64,
}

/// A jump of the state at `time_s`: first the listed compartments are set to zero, then
/// the deltas are added (an administration, or a corner of a tabulated curve).
#[derive(Debug, Clone, PartialEq)]
pub struct Impulse {
    /// Time of the jump \[s\].
    pub time_s: f64,
    /// Compartments set to 0 before the deltas are added.
    pub reset: Vec<usize>,
    /// (compartment, amount added) \[state units: atoms, Bq, or Bq/s for a slope\].
    pub delta: Vec<(usize, f64)>,
}

/// Maximum number of cached step propagators before the cache is cleared.
const CACHE_MAX: usize = 4096;

/// The lower-triangular system with decay counters; propagators cached by step length.
#[derive(Debug)]
pub struct LinearSystem {
    compartments: Vec<Compartment>,
    n_components: usize,
    generator: Generator,
    cache: Mutex<HashMap<u64, Arc<Vec<f64>>>>,
}

impl Clone for LinearSystem {
    fn clone(&self) -> Self {
        Self {
            compartments: self.compartments.clone(),
            n_components: self.n_components,
            generator: self.generator.clone(),
            cache: Mutex::new(HashMap::new()),
        }
    }
}

impl LinearSystem {
    /// A system of `compartments` with `flows` (summed when repeated), grouped into
    /// `n_components` components. Errors: rates negative or not finite, flows not from an
    /// earlier to a later compartment, component indices out of range.
    pub fn new(
        compartments: Vec<Compartment>,
        flows: &[Flow],
        n_components: usize,
    ) -> KResult<Self> {
        let n = compartments.len();
        if n == 0 {
            return Err(KineticsError::Empty("compartment list".into()));
        }
        let d = 2 * n;
        let mut g = Generator::zeros(d);
        for (i, c) in compartments.iter().enumerate() {
            non_negative(
                format!("count rate of compartment {i}"),
                c.count_rate_per_s,
                "1/s",
            )?;
            non_negative(
                format!("removal rate of compartment {i}"),
                c.removal_per_s,
                "1/s",
            )?;
            if let Some(k) = c.component {
                if k >= n_components {
                    return Err(KineticsError::Index {
                        what: format!("component of compartment {i}"),
                        index: k,
                        len: n_components,
                    });
                }
            }
            g.rate[i] = c.removal_per_s;
            g.off[(n + i) * d + i] = c.count_rate_per_s;
        }
        for f in flows {
            if f.from >= n || f.to >= n {
                return Err(KineticsError::Index {
                    what: "flow".into(),
                    index: f.from.max(f.to),
                    len: n,
                });
            }
            if f.to <= f.from {
                return Err(KineticsError::BadValue {
                    what: format!("flow {} -> {} (destination index)", f.from, f.to),
                    value: f.to as f64,
                    unit: "1",
                    expected: "greater than the source index (lower-triangular system)",
                });
            }
            non_negative(
                format!("flow rate {} -> {}", f.from, f.to),
                f.rate_per_s,
                "1/s",
            )?;
            g.off[f.to * d + f.from] += f.rate_per_s;
        }
        Ok(Self {
            compartments,
            n_components,
            generator: g,
            cache: Mutex::new(HashMap::new()),
        })
    }

    /// The compartments.
    pub fn compartments(&self) -> &[Compartment] {
        &self.compartments
    }

    /// Number of components.
    pub fn n_components(&self) -> usize {
        self.n_components
    }

    fn exp(&self, dt_s: f64) -> Arc<Vec<f64>> {
        let key = dt_s.to_bits();
        if let Ok(c) = self.cache.lock() {
            if let Some(e) = c.get(&key) {
                return Arc::clone(e);
            }
        }
        let e = Arc::new(self.generator.exp(dt_s));
        if let Ok(mut c) = self.cache.lock() {
            if c.len() >= CACHE_MAX {
                c.clear();
            }
            c.insert(key, Arc::clone(&e));
        }
        e
    }

    /// Advance `state` by `dt_s` ≥ 0 \[s\] in place; add the decays of every compartment
    /// during the step to `decays` \[1\].
    pub fn step(&self, state: &mut [f64], decays: &mut [f64], dt_s: f64) {
        if dt_s <= 0.0 {
            return;
        }
        let n = self.compartments.len();
        let d = 2 * n;
        let e = self.exp(dt_s);
        let mut next = vec![0.0; n];
        for j in 0..n {
            let (mut x, mut c) = (0.0, 0.0);
            for i in 0..=j {
                x += e[j * d + i] * state[i];
                c += e[(n + j) * d + i] * state[i];
            }
            next[j] = x;
            decays[j] += c;
        }
        state.copy_from_slice(&next);
    }

    /// Decay rate of every component \[1/s\] for a state.
    pub fn component_rates(&self, state: &[f64]) -> Vec<f64> {
        let mut out = vec![0.0; self.n_components];
        for (c, x) in self.compartments.iter().zip(state) {
            if let Some(k) = c.component {
                out[k] += c.count_rate_per_s * x;
            }
        }
        out
    }

    /// Sum compartment decays into components \[1\].
    pub fn component_decays(&self, decays: &[f64]) -> Vec<f64> {
        let mut out = vec![0.0; self.n_components];
        for (c, x) in self.compartments.iter().zip(decays) {
            if let Some(k) = c.component {
                out[k] += x;
            }
        }
        out
    }
}

/// Decay rates and decays of every component on a time grid (see [`Evolution::timeline`]).
#[derive(Debug, Clone, PartialEq)]
pub struct Timeline {
    /// The grid times \[s\], increasing.
    pub times_s: Vec<f64>,
    /// `rates[k][c]`: decay rate of component c at `times_s[k]` \[1/s\] (after any impulse
    /// at that time).
    pub rates: Vec<Vec<f64>>,
    /// `rates_before[k][c]`: the left limit, just before any impulse at `times_s[k]` \[1/s\]
    /// (equal to `rates[k][c]` where no administration or table corner falls on that time).
    pub rates_before: Vec<Vec<f64>>,
    /// `decays[k][c]`: decays of component c in \[times_s\[k\], times_s\[k+1\]\] \[1\]
    /// (one entry fewer than `times_s`).
    pub decays: Vec<Vec<f64>>,
    /// `cumulative[k][c]`: decays of component c from the first impulse to `times_s[k]` \[1\].
    pub cumulative: Vec<Vec<f64>>,
}

/// A linear system with its impulses: the whole time course of every component.
#[derive(Debug, Clone)]
pub struct Evolution {
    system: LinearSystem,
    impulses: Vec<Impulse>,
}

/// Walks the evolution forward in time.
struct Marcher<'a> {
    ev: &'a Evolution,
    t: f64,
    next_impulse: usize,
    state: Vec<f64>,
    zero: bool,
    last_dt: f64,
}

impl<'a> Marcher<'a> {
    fn new(ev: &'a Evolution) -> Self {
        let n = ev.system.compartments.len();
        Self {
            ev,
            t: f64::NEG_INFINITY,
            next_impulse: 0,
            state: vec![0.0; n],
            zero: true,
            last_dt: f64::NAN,
        }
    }

    fn advance_state(&mut self, t: f64, decays: &mut [f64]) {
        if t > self.t {
            if !self.zero {
                // Steps of a uniform grid, t_{k+1} − t_k, differ from each other by rounding
                // of the absolute times (a few ulp of t); such a step reuses the previous
                // step's length (and its cached propagator). The shift is below the
                // resolution of the times themselves.
                let mut dt = t - self.t;
                let tol = 4.0 * f64::EPSILON * t.abs().max(self.t.abs());
                if (dt - self.last_dt).abs() <= tol {
                    dt = self.last_dt;
                } else {
                    self.last_dt = dt;
                }
                self.ev.system.step(&mut self.state, decays, dt);
            }
            self.t = t;
        }
    }

    /// Advance to `t` with the impulses before `t` applied (not those at `t`), adding
    /// compartment decays to `decays`.
    fn advance_before(&mut self, t: f64, decays: &mut [f64]) {
        while let Some(imp) = self.ev.impulses.get(self.next_impulse) {
            if imp.time_s >= t {
                break;
            }
            self.advance_state(imp.time_s, decays);
            self.apply(self.next_impulse);
        }
        self.advance_state(t, decays);
    }

    fn apply(&mut self, k: usize) {
        let imp = &self.ev.impulses[k];
        for &i in &imp.reset {
            self.state[i] = 0.0;
        }
        for &(i, a) in &imp.delta {
            self.state[i] += a;
        }
        self.zero = false;
        self.next_impulse = k + 1;
    }

    /// Apply the impulses at the current time.
    fn apply_current(&mut self) {
        while let Some(imp) = self.ev.impulses.get(self.next_impulse) {
            if imp.time_s > self.t {
                break;
            }
            self.apply(self.next_impulse);
        }
    }

    /// Advance to `t` (impulses at `t` applied), adding compartment decays to `decays`.
    fn advance_to(&mut self, t: f64, decays: &mut [f64]) {
        self.advance_before(t, decays);
        self.apply_current();
    }
}

/// Far horizon for "total" decays: this many years after the last impulse \[y\].
pub const TOTAL_HORIZON_YEARS: f64 = 1e4;

impl Evolution {
    /// An evolution from a system and its impulses (sorted by time here; stable for equal
    /// times). Errors: impulse times not finite, indices out of range, amounts not finite.
    pub fn new(system: LinearSystem, mut impulses: Vec<Impulse>) -> KResult<Self> {
        let n = system.compartments.len();
        for imp in &impulses {
            finite("impulse time", imp.time_s, "s")?;
            for &i in imp.reset.iter().chain(imp.delta.iter().map(|(i, _)| i)) {
                if i >= n {
                    return Err(KineticsError::Index {
                        what: "impulse compartment".into(),
                        index: i,
                        len: n,
                    });
                }
            }
            for &(_, a) in &imp.delta {
                finite("impulse amount", a, "state units")?;
            }
        }
        impulses.sort_by(|a, b| a.time_s.total_cmp(&b.time_s));
        Ok(Self { system, impulses })
    }

    /// The linear system.
    pub fn system(&self) -> &LinearSystem {
        &self.system
    }

    /// The impulses, sorted by time.
    pub fn impulses(&self) -> &[Impulse] {
        &self.impulses
    }

    /// Number of components.
    pub fn n_components(&self) -> usize {
        self.system.n_components
    }

    /// Time of the first impulse \[s\] (None without impulses).
    pub fn first_time_s(&self) -> Option<f64> {
        self.impulses.first().map(|i| i.time_s)
    }

    /// Time of the last impulse \[s\] (None without impulses).
    pub fn last_time_s(&self) -> Option<f64> {
        self.impulses.last().map(|i| i.time_s)
    }

    /// Compartment state at `t_s` \[s\] (impulses at `t_s` included).
    pub fn state_at(&self, t_s: f64) -> KResult<Vec<f64>> {
        finite("time", t_s, "s")?;
        let mut m = Marcher::new(self);
        let mut scratch = vec![0.0; self.system.compartments.len()];
        m.advance_to(t_s, &mut scratch);
        Ok(m.state)
    }

    /// Decay rate Ṅ_c(t) of every component at `t_s` \[1/s\] (right-continuous: an
    /// administration at `t_s` counts).
    pub fn decay_rates(&self, t_s: f64) -> KResult<Vec<f64>> {
        Ok(self.system.component_rates(&self.state_at(t_s)?))
    }

    /// Decays of every component in \[t0_s, t1_s\] \[1\], exact. If t1 < t0 the result is the
    /// negative of \[t1, t0\].
    pub fn decays(&self, t0_s: f64, t1_s: f64) -> KResult<Vec<f64>> {
        finite("interval start", t0_s, "s")?;
        finite("interval end", t1_s, "s")?;
        if t1_s < t0_s {
            return Ok(self.decays(t1_s, t0_s)?.into_iter().map(|x| -x).collect());
        }
        let n = self.system.compartments.len();
        let mut m = Marcher::new(self);
        let mut scratch = vec![0.0; n];
        // state just before t0 (impulses at t0 belong to the interval)
        m.advance_before(t0_s, &mut scratch);
        let mut dec = vec![0.0; n];
        m.advance_to(t1_s, &mut dec);
        Ok(self.system.component_decays(&dec))
    }

    /// Decays of every component from the first impulse to `TOTAL_HORIZON_YEARS` after the
    /// last one \[1\] (the complete cumulated decays of every member with a half-life well
    /// below that horizon).
    pub fn total_decays(&self) -> Vec<f64> {
        match (self.first_time_s(), self.last_time_s()) {
            (Some(a), Some(b)) => self
                .decays(a, b + TOTAL_HORIZON_YEARS * xfire_core::constants::YEAR_S)
                .unwrap_or_else(|_| vec![0.0; self.n_components()]),
            _ => vec![0.0; self.n_components()],
        }
    }

    /// Decay rates and decays of every component on an increasing grid of times \[s\],
    /// computed in one forward march (one propagator per distinct step length).
    /// Errors: empty grid, times not finite or not increasing.
    pub fn timeline(&self, times_s: &[f64]) -> KResult<Timeline> {
        check_grid(times_s)?;
        let n = self.system.compartments.len();
        let mut m = Marcher::new(self);
        let mut rates = Vec::with_capacity(times_s.len());
        let mut decays = Vec::with_capacity(times_s.len().saturating_sub(1));
        let mut cumulative = Vec::with_capacity(times_s.len());
        let mut rates_before = Vec::with_capacity(times_s.len());
        // decays before the first grid time
        let mut interval = vec![0.0; n];
        m.advance_before(times_s[0], &mut interval);
        rates_before.push(self.system.component_rates(&m.state));
        m.apply_current();
        let mut running = self.system.component_decays(&interval);
        rates.push(self.system.component_rates(&m.state));
        cumulative.push(running.clone());
        for &t in &times_s[1..] {
            interval.iter_mut().for_each(|x| *x = 0.0);
            m.advance_before(t, &mut interval);
            rates_before.push(self.system.component_rates(&m.state));
            m.apply_current();
            rates.push(self.system.component_rates(&m.state));
            let d = self.system.component_decays(&interval);
            running.iter_mut().zip(&d).for_each(|(r, x)| *r += x);
            decays.push(d);
            cumulative.push(running.clone());
        }
        Ok(Timeline {
            times_s: times_s.to_vec(),
            rates,
            rates_before,
            decays,
            cumulative,
        })
    }
}

/// Error unless `times` is non-empty, finite and strictly increasing.
pub(crate) fn check_grid(times: &[f64]) -> KResult<()> {
    if times.is_empty() {
        return Err(KineticsError::Empty("time grid".into()));
    }
    for &t in times {
        finite("grid time", t, "s")?;
    }
    for w in times.windows(2) {
        if w[1] <= w[0] {
            return Err(KineticsError::NotIncreasing {
                what: "time grid".into(),
                earlier: w[0],
                later: w[1],
            });
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rel(a: f64, b: f64) -> f64 {
        if a == b {
            0.0
        } else {
            (a - b).abs() / b.abs()
        }
    }

    /// Two compartments 0 → 1 with removal, flow and counting; closed forms.
    #[test]
    fn two_compartments_closed_form() {
        let (r0, r1, f, l0, l1) = (2e-5, 3e-6, 1.5e-5, 1e-5, 2e-6);
        let sys = LinearSystem::new(
            vec![
                Compartment {
                    component: Some(0),
                    count_rate_per_s: l0,
                    removal_per_s: r0,
                },
                Compartment {
                    component: Some(1),
                    count_rate_per_s: l1,
                    removal_per_s: r1,
                },
            ],
            &[Flow {
                from: 0,
                to: 1,
                rate_per_s: f,
            }],
            2,
        )
        .unwrap();
        let ev = Evolution::new(
            sys,
            vec![Impulse {
                time_s: 100.0,
                reset: vec![],
                delta: vec![(0, 1e6)],
            }],
        )
        .unwrap();
        let x1 = |t: f64| 1e6 * f * ((-r0 * t).exp() - (-r1 * t).exp()) / (r1 - r0);
        let int0 = |t: f64| 1e6 * -(-r0 * t).exp_m1() / r0;
        let int1 =
            |t: f64| 1e6 * f / (r1 - r0) * (-(-r0 * t).exp_m1() / r0 - -(-r1 * t).exp_m1() / r1);
        let mut worst: f64 = 0.0;
        for t in [1.0, 3600.0, 86400.0, 1e6, 1e7] {
            let r = ev.decay_rates(100.0 + t).unwrap();
            worst = worst.max(rel(r[0], l0 * 1e6 * (-r0 * t).exp()));
            worst = worst.max(rel(r[1], l1 * x1(t)));
            let d = ev.decays(100.0, 100.0 + t).unwrap();
            worst = worst.max(rel(d[0], l0 * int0(t)));
            worst = worst.max(rel(d[1], l1 * int1(t)));
            // split interval adds up
            let a = ev.decays(0.0, 100.0 + t / 3.0).unwrap();
            let b = ev.decays(100.0 + t / 3.0, 100.0 + t).unwrap();
            worst = worst.max(rel(a[1] + b[1], d[1]));
        }
        eprintln!("two compartments vs closed form: max rel {worst:.1e}");
        assert!(worst < 1e-11);
        assert_eq!(ev.decay_rates(99.0).unwrap(), vec![0.0, 0.0]);
        assert_eq!(ev.decays(0.0, 50.0).unwrap(), vec![0.0, 0.0]);
        let neg = ev.decays(1e5, 200.0).unwrap();
        let pos = ev.decays(200.0, 1e5).unwrap();
        assert_eq!(neg[0], -pos[0]);
        // total = closed form to ∞
        let tot = ev.total_decays();
        assert!(rel(tot[0], 1e6 * l0 / r0) < 1e-12);
        assert!(rel(tot[1], 1e6 * f / (r0 * r1) * l1) < 1e-12);
    }

    #[test]
    fn timeline_matches_pointwise_queries_and_reset_works() {
        let sys = LinearSystem::new(
            vec![Compartment {
                component: Some(0),
                count_rate_per_s: 1e-4,
                removal_per_s: 1e-4,
            }],
            &[],
            1,
        )
        .unwrap();
        let ev = Evolution::new(
            sys,
            vec![
                Impulse {
                    time_s: 0.0,
                    reset: vec![],
                    delta: vec![(0, 10.0)],
                },
                Impulse {
                    time_s: 5000.0,
                    reset: vec![0],
                    delta: vec![(0, 3.0)],
                },
            ],
        )
        .unwrap();
        let times: Vec<f64> = (0..40).map(|k| -1000.0 + 500.0 * k as f64).collect();
        let tl = ev.timeline(&times).unwrap();
        for (k, &t) in times.iter().enumerate() {
            let r = ev.decay_rates(t).unwrap();
            assert!(rel(tl.rates[k][0], r[0]) < 1e-13 || r[0] == tl.rates[k][0]);
            if k + 1 < times.len() {
                let d = ev.decays(t, times[k + 1]).unwrap();
                assert!((tl.decays[k][0] - d[0]).abs() <= 1e-12 * (1.0 + d[0].abs()));
            }
        }
        // left limits differ only at the impulse times
        for (k, &t) in times.iter().enumerate() {
            if t == 0.0 {
                assert_eq!(tl.rates_before[k][0], 0.0);
                assert!(tl.rates[k][0] > 0.0);
            } else if t == 5000.0 {
                assert!(tl.rates_before[k][0] > tl.rates[k][0]);
                assert!(rel(tl.rates[k][0], 3e-4) < 1e-15);
            } else {
                assert_eq!(tl.rates_before[k][0], tl.rates[k][0]);
            }
        }
        // after the reset at 5000 s only 3 atoms remain
        let r = ev.decay_rates(6000.0).unwrap()[0];
        assert!(rel(r, 3.0 * 1e-4 * (-1e-4_f64 * 1000.0).exp()) < 1e-13);
        assert!(ev.timeline(&[1.0, 1.0]).is_err());
        assert!(ev.timeline(&[]).is_err());
        assert!(ev.decays(f64::NAN, 1.0).is_err());
    }

    #[test]
    fn bad_systems_are_rejected() {
        let c = Compartment {
            component: Some(0),
            count_rate_per_s: 1.0,
            removal_per_s: 1.0,
        };
        assert!(LinearSystem::new(vec![], &[], 1).is_err());
        assert!(LinearSystem::new(
            vec![c, c],
            &[Flow {
                from: 1,
                to: 0,
                rate_per_s: 1.0
            }],
            1
        )
        .is_err());
        assert!(LinearSystem::new(vec![c], &[], 0).is_err());
        let bad = Compartment {
            removal_per_s: f64::NAN,
            ..c
        };
        assert!(LinearSystem::new(vec![bad], &[], 1).is_err());
    }
}
