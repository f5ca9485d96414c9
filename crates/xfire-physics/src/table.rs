//! Stopping-power tables with power-law (log–log linear) interpolation and the CSDA range
//! integrated exactly on that interpolant, so that `energy_from_range(range(E)) == E` to
//! rounding and track deposits telescope exactly.
//!
//! Between nodes i and i+1, S(E) = Sᵢ (E/Eᵢ)^bᵢ with bᵢ = ln(Sᵢ₊₁/Sᵢ)/ln(Eᵢ₊₁/Eᵢ); then
//! R(E) − R(Eᵢ) = (Eᵢ/Sᵢ) ((E/Eᵢ)^(1−bᵢ) − 1)/(1−bᵢ) (or (Eᵢ/Sᵢ) ln(E/Eᵢ) when bᵢ = 1).
//! Below the first node S follows a power law of exponent `b_low` (< 1), giving
//! R(E₀) = E₀ / ((1 − b_low) S₀); above the last node the last segment is extended.

/// A tabulated total stopping power S(E) [MeV cm²/g] on an increasing energy grid \[MeV\],
/// with its CSDA range R(E) [g/cm²].
#[derive(Debug, Clone, PartialEq)]
pub struct RangeTable {
    e: Vec<f64>,
    ln_e: Vec<f64>,
    s: Vec<f64>,
    b: Vec<f64>,
    r: Vec<f64>,
    b_low: f64,
    /// Set when the grid is uniform in ln E: (ln E₀, 1/Δ ln E).
    uniform: Option<(f64, f64)>,
}

/// exp(x·y)−1 over y, stable near y = 0: ((e^(y·l)) − 1)/y where l = ln x.
fn pow_m1_over(l: f64, y: f64) -> f64 {
    if (y * l).abs() < 1e-8 {
        l * (1.0 + 0.5 * y * l)
    } else {
        (y * l).exp_m1() / y
    }
}

impl RangeTable {
    /// Builds the table. `e_mev` strictly increasing and positive, `s` positive, same length
    /// ≥ 2, `b_low` < 1 the power-law exponent of S below the first node (−1 for electrons,
    /// ESTAR's convention R(E₀) = E₀/(2 S₀)).
    ///
    /// Callers validate inputs; this returns `None` if they are inconsistent.
    pub fn new(e_mev: Vec<f64>, s: Vec<f64>, b_low: f64) -> Option<RangeTable> {
        let n = e_mev.len();
        if n < 2 || s.len() != n || b_low >= 1.0 || !b_low.is_finite() {
            return None;
        }
        if e_mev.windows(2).any(|w| w[1].is_nan() || w[1] <= w[0])
            || e_mev[0] <= 0.0
            || s.iter().any(|v| !(v.is_finite() && *v > 0.0))
        {
            return None;
        }
        let ln_e: Vec<f64> = e_mev.iter().map(|v| v.ln()).collect();
        let mut b = Vec::with_capacity(n);
        for i in 0..n - 1 {
            b.push((s[i + 1] / s[i]).ln() / (ln_e[i + 1] - ln_e[i]));
        }
        b.push(b[n - 2]);
        let mut r = Vec::with_capacity(n);
        r.push(e_mev[0] / ((1.0 - b_low) * s[0]));
        for i in 0..n - 1 {
            let dr = e_mev[i] / s[i] * pow_m1_over(ln_e[i + 1] - ln_e[i], 1.0 - b[i]);
            r.push(r[i] + dr);
        }
        let d0 = ln_e[1] - ln_e[0];
        let uniform = ln_e
            .windows(2)
            .all(|w| ((w[1] - w[0]) - d0).abs() < 1e-9 * d0)
            .then_some((ln_e[0], 1.0 / d0));
        Some(RangeTable {
            e: e_mev,
            ln_e,
            s,
            b,
            r,
            b_low,
            uniform,
        })
    }

    /// Lowest tabulated energy \[MeV\].
    pub fn min_energy_mev(&self) -> f64 {
        self.e[0]
    }

    /// Highest tabulated energy \[MeV\].
    pub fn max_energy_mev(&self) -> f64 {
        self.e[self.e.len() - 1]
    }

    /// Energy nodes \[MeV\].
    pub fn energies_mev(&self) -> &[f64] {
        &self.e
    }

    /// Index i of the segment [Eᵢ, Eᵢ₊₁) holding ln E (clamped to the table).
    #[inline]
    fn segment(&self, ln_e: f64) -> usize {
        let last = self.e.len() - 2;
        match self.uniform {
            Some((l0, inv)) => {
                let x = (ln_e - l0) * inv;
                if x <= 0.0 {
                    0
                } else {
                    let i = x as usize;
                    // guard against rounding at node boundaries
                    let i = i.min(last);
                    if ln_e < self.ln_e[i] && i > 0 {
                        i - 1
                    } else {
                        i
                    }
                }
            }
            None => self
                .ln_e
                .partition_point(|&v| v <= ln_e)
                .saturating_sub(1)
                .min(last),
        }
    }

    /// Interpolated stopping power S(E) [MeV cm²/g]; E > 0 \[MeV\].
    #[inline]
    pub fn stopping_power(&self, e_mev: f64) -> f64 {
        if e_mev < self.e[0] {
            return self.s[0] * (e_mev / self.e[0]).powf(self.b_low);
        }
        let l = e_mev.ln();
        let i = self.segment(l);
        self.s[i] * ((l - self.ln_e[i]) * self.b[i]).exp()
    }

    /// CSDA range R(E) [g/cm²]; 0 for E ≤ 0.
    #[inline]
    pub fn range(&self, e_mev: f64) -> f64 {
        if e_mev <= 0.0 {
            return 0.0;
        }
        self.range_with_ln(e_mev, e_mev.ln())
    }

    /// [`Self::range`] with ln(`e_mev`) supplied by the caller (`ln_e` must be ln(e_mev)
    /// to rounding; saves the logarithm in hot loops that already have it).
    #[inline]
    pub fn range_with_ln(&self, e_mev: f64, ln_e: f64) -> f64 {
        if e_mev <= 0.0 {
            return 0.0;
        }
        if e_mev < self.e[0] {
            return self.r[0] * (e_mev / self.e[0]).powf(1.0 - self.b_low);
        }
        let l = ln_e;
        let i = self.segment(l);
        self.r[i] + self.e[i] / self.s[i] * pow_m1_over(l - self.ln_e[i], 1.0 - self.b[i])
    }

    /// Inverse of [`RangeTable::range`]: the energy \[MeV\] whose CSDA range is `r_g_cm2`
    /// [g/cm²]; 0 for r ≤ 0.
    #[inline]
    pub fn energy_from_range(&self, r_g_cm2: f64) -> f64 {
        if r_g_cm2 <= 0.0 {
            return 0.0;
        }
        if r_g_cm2 < self.r[0] {
            return self.e[0] * (r_g_cm2 / self.r[0]).powf(1.0 / (1.0 - self.b_low));
        }
        let last = self.e.len() - 2;
        let i = self
            .r
            .partition_point(|&v| v <= r_g_cm2)
            .saturating_sub(1)
            .min(last);
        self.energy_in_segment(r_g_cm2, i)
    }

    /// [`Self::energy_from_range`] for a range `r_g_cm2` known to be at most the range of the
    /// energy whose logarithm is `ln_upper` (e.g. the range left after a step from that
    /// energy): the segment is found by a short walk down from that energy's segment instead
    /// of a binary search; same result.
    #[inline]
    pub fn energy_from_range_below(&self, r_g_cm2: f64, ln_upper: f64) -> f64 {
        if r_g_cm2 <= 0.0 {
            return 0.0;
        }
        if r_g_cm2 < self.r[0] {
            return self.e[0] * (r_g_cm2 / self.r[0]).powf(1.0 / (1.0 - self.b_low));
        }
        let last = self.e.len() - 2;
        let mut i = self.segment(ln_upper);
        while i > 0 && self.r[i] > r_g_cm2 {
            i -= 1;
        }
        while i < last && self.r[i + 1] <= r_g_cm2 {
            i += 1;
        }
        self.energy_in_segment(r_g_cm2, i)
    }

    #[inline]
    fn energy_in_segment(&self, r_g_cm2: f64, i: usize) -> f64 {
        // invert R = r_i + (e_i/s_i) (x^(1-b) - 1)/(1-b), x = E/e_i
        let a = (r_g_cm2 - self.r[i]) * self.s[i] / self.e[i];
        let y = 1.0 - self.b[i];
        let ln_x = if (a * y).abs() < 1e-8 {
            a * (1.0 - 0.5 * a * y)
        } else {
            (a * y).ln_1p() / y
        };
        self.e[i] * ln_x.exp()
    }

    /// Integral over the table of g(S) as a sum of per-segment integrals of
    /// k S(E)^(−p) dE, returned cumulatively from 0 up to E [units of k·MeV/(MeV cm²/g)^p].
    /// Used for range straggling (p = 3).
    pub fn integral_of_inverse_power(&self, e_mev: f64, p: f64) -> f64 {
        if e_mev <= 0.0 {
            return 0.0;
        }
        // ∫ S^-p dE with S = s_i x^b, E = e_i x: s_i^-p e_i ∫ x^(-p b) dx
        let seg =
            |e0: f64, s0: f64, b: f64, ln_x: f64| s0.powf(-p) * e0 * pow_m1_over(ln_x, 1.0 - p * b);
        let low_total = |upto: f64| {
            // from 0 to upto < e[0] with S = s0 (E/e0)^b_low: e0 s0^-p (x^(1-p b))/(1-p b)
            let y = 1.0 - p * self.b_low;
            if y <= 0.0 {
                return f64::INFINITY;
            }
            self.s[0].powf(-p) * self.e[0] * (upto / self.e[0]).powf(y) / y
        };
        if e_mev < self.e[0] {
            return low_total(e_mev);
        }
        let mut acc = low_total(self.e[0]);
        let l = e_mev.ln();
        let k = self.segment(l);
        for i in 0..k {
            acc += seg(
                self.e[i],
                self.s[i],
                self.b[i],
                self.ln_e[i + 1] - self.ln_e[i],
            );
        }
        acc + seg(self.e[k], self.s[k], self.b[k], l - self.ln_e[k])
    }
}

/// A smooth test table, 1 keV–1 GeV, S = 2 E^−0.8 + 1.5 + 0.01 E (b_low = −0.8).
#[cfg(test)]
pub(crate) fn smooth_test_table() -> RangeTable {
    let e: Vec<f64> = (0..=300)
        .map(|i| 1e-3 * 10f64.powf(i as f64 / 100.0))
        .collect();
    let s: Vec<f64> = e
        .iter()
        .map(|x| 2.0 / x.powf(0.8) + 1.5 + 0.01 * x)
        .collect();
    RangeTable::new(e, s, -0.8).unwrap()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The segment walk of `energy_from_range_below` gives the binary search's result bit for
    /// bit, for ranges left after losses of 0–100 % from energies across the table (and
    /// beyond both ends), and `range_with_ln` equals `range`.
    #[test]
    fn range_shortcuts_equal_the_general_methods() {
        let t = smooth_test_table();
        let mut x: f64 = 5e-4;
        while x < 2.0 {
            let l = x.ln();
            assert_eq!(t.range_with_ln(x, l), t.range(x));
            for f in [0.0, 1e-9, 0.01, 0.05, 0.1, 0.2, 0.5, 0.9, 1.0] {
                let r = t.range(x) * (1.0 - f);
                assert_eq!(
                    t.energy_from_range_below(r, l),
                    t.energy_from_range(r),
                    "{x} {f}"
                );
            }
            x *= 1.0137;
        }
    }

    #[test]
    fn constant_stopping_power_gives_linear_range() {
        let e: Vec<f64> = (0..50).map(|i| 0.01 * 1.2f64.powi(i)).collect();
        let s = vec![2.0; e.len()];
        let t = RangeTable::new(e, s, 0.0).unwrap();
        for x in [0.001, 0.01, 0.3, 1.0, 10.0] {
            assert!((t.range(x) - x / 2.0).abs() < 1e-12 * x.max(1.0), "{x}");
            assert!((t.energy_from_range(x / 2.0) - x).abs() < 1e-12 * x.max(1.0));
        }
    }

    #[test]
    fn power_law_exact_and_inverse() {
        // S = 3 E^-0.7 on a uniform log grid: R = E^1.7/(3*1.7)
        let e: Vec<f64> = (0..=60)
            .map(|i| 1e-3 * 10f64.powf(i as f64 / 20.0))
            .collect();
        let s: Vec<f64> = e.iter().map(|x| 3.0 * x.powf(-0.7)).collect();
        let t = RangeTable::new(e, s, -0.7).unwrap();
        assert!(t.uniform.is_some());
        for x in [2e-4f64, 1.7e-3, 0.0123, 0.5, 0.999] {
            let exact = x.powf(1.7) / 5.1;
            assert!((t.range(x) / exact - 1.0).abs() < 1e-12, "{x}");
            assert!((t.stopping_power(x) / (3.0 * x.powf(-0.7)) - 1.0).abs() < 1e-12);
            assert!((t.energy_from_range(t.range(x)) / x - 1.0).abs() < 1e-12);
        }
        // straggling-type integral ∫ S^-3 dE = E^(1+2.1)/(27*3.1)
        let x: f64 = 0.3;
        let exact = x.powf(3.1) / (27.0 * 3.1);
        assert!((t.integral_of_inverse_power(x, 3.0) / exact - 1.0).abs() < 1e-10);
    }

    #[test]
    fn rejects_bad_input() {
        assert!(RangeTable::new(vec![1.0], vec![1.0], 0.0).is_none());
        assert!(RangeTable::new(vec![1.0, 1.0], vec![1.0, 1.0], 0.0).is_none());
        assert!(RangeTable::new(vec![1.0, 2.0], vec![1.0, -1.0], 0.0).is_none());
        assert!(RangeTable::new(vec![1.0, 2.0], vec![1.0, 1.0], 1.0).is_none());
    }
}
