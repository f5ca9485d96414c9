//! Gauss–Legendre quadrature: the 8-point rule on [−1, 1] and composite integration over
//! panels split at given breakpoints (where an integrand has kinks).
//!
//! ```
//! use xfire_core::quadrature::integrate_panels;
//! // ∫₀² |x − 1| dx = 1: exact with a breakpoint at the kink
//! let v = integrate_panels(|x| (x - 1.0_f64).abs(), 0.0, 2.0, &[1.0], 1);
//! assert!((v - 1.0).abs() < 1e-14);
//! ```

/// Nodes of the 8-point Gauss–Legendre rule on [−1, 1].
pub const GL8_X: [f64; 8] = [
    -0.960_289_856_497_536_2,
    -0.796_666_477_413_626_7,
    -0.525_532_409_916_329,
    -0.183_434_642_495_649_8,
    0.183_434_642_495_649_8,
    0.525_532_409_916_329,
    0.796_666_477_413_626_7,
    0.960_289_856_497_536_2,
];

/// Weights of the 8-point Gauss–Legendre rule on [−1, 1] (sum 2).
pub const GL8_W: [f64; 8] = [
    0.101_228_536_290_376_3,
    0.222_381_034_453_374_5,
    0.313_706_645_877_887_3,
    0.362_683_783_378_362,
    0.362_683_783_378_362,
    0.313_706_645_877_887_3,
    0.222_381_034_453_374_5,
    0.101_228_536_290_376_3,
];

/// ∫ f over [a, b] with the 8-point rule on each of `sub` equal panels between consecutive
/// points of {a, b} ∪ (breakpoints inside (a, b)). Exact for polynomials of degree ≤ 15 on
/// each panel; put the integrand's kinks in `breakpoints`. Returns 0 when b ≤ a.
pub fn integrate_panels(
    f: impl Fn(f64) -> f64,
    a: f64,
    b: f64,
    breakpoints: &[f64],
    sub: usize,
) -> f64 {
    if b <= a || !a.is_finite() || !b.is_finite() {
        return 0.0;
    }
    let mut pts: Vec<f64> = Vec::with_capacity(breakpoints.len() + 2);
    pts.push(a);
    pts.extend(breakpoints.iter().copied().filter(|&x| x > a && x < b));
    pts.push(b);
    pts.sort_by(f64::total_cmp);
    let sub = sub.max(1);
    let mut sum = 0.0;
    for w in pts.windows(2) {
        let h = (w[1] - w[0]) / sub as f64;
        if h <= 0.0 {
            continue;
        }
        for p in 0..sub {
            let mid = w[0] + (p as f64 + 0.5) * h;
            for k in 0..8 {
                sum += 0.5 * h * GL8_W[k] * f(mid + 0.5 * h * GL8_X[k]);
            }
        }
    }
    sum
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rule_is_exact_to_degree_15_and_weights_sum_to_two() {
        assert!((GL8_W.iter().sum::<f64>() - 2.0).abs() < 1e-14);
        let v = integrate_panels(|x| x.powi(15) + x.powi(14), -1.0, 1.0, &[], 1);
        assert!((v - 2.0 / 15.0).abs() < 1e-14);
        assert_eq!(integrate_panels(|x| x, 1.0, 0.0, &[], 1), 0.0);
        let v = integrate_panels(f64::sin, 0.0, std::f64::consts::PI, &[1.0, 2.0], 3);
        assert!((v - 2.0).abs() < 1e-13);
    }
}
