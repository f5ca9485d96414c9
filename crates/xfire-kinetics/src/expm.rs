//! Exponential of a lower-triangular *Metzler* generator (non-negative off-diagonal entries,
//! diagonal −r_i ≤ 0) with **componentwise** relative accuracy.
//!
//! A decay chain in topological order has exactly this generator: dN_j/dt = −λ_j N_j +
//! Σ_i b_ij λ_i N_i. Its exponential E(t) = e^{Mt} has non-negative entries, and each entry is a
//! sum over decay paths of (product of b λ along the path) × (divided difference of e^{−λt} over
//! the path's decay constants). We need every entry to a small *relative* error, even those of
//! size 1e−60 next to entries of size 1, and even when two λ are equal to 1e−12.
//!
//! Method: scaling and squaring, arranged so that no step subtracts.
//!
//! 1. Choose s so that h = t/2^s gives max_i r_i h ≤ 1/2.
//! 2. Taylor series of e^{Wh}, W = M h, to order dim + 18. With |diagonal| ≤ 1/2 the sum of the
//!    absolute values of the terms exceeds the value of each entry by at most e^{1}: the series
//!    is componentwise well conditioned, and the truncated tail is below 1e−19 relative
//!    per entry (the tail of a path of length k is bounded by 0.5^{m−k}/(m−k)!).
//! 3. Square s times: E(2τ)_{ji} = Σ_k E(τ)_{jk} E(τ)_{ki}, a sum of non-negative products, so
//!    the relative error of an entry grows only additively (≈ path length × s × u), never by
//!    cancellation.
//! 4. At every level the diagonal is set to e^{−r_i τ} from `f64::exp`. This matters: the
//!    diagonal of the scaled exponential is 1 − O(1e−12) and squaring it 45 times would amplify
//!    its rounding error by 2^45; the off-diagonal entries carry no such constant "1".
//!
//! The result is lower triangular: entry (j, i) = `e[j * dim + i]`, non-zero only for j ≥ i.

/// A lower-triangular generator matrix in the layout described in the module doc.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Generator {
    /// Matrix dimension.
    pub dim: usize,
    /// Removal rates r_i ≥ 0 [1/s]; the diagonal entry is −r_i.
    pub rate: Vec<f64>,
    /// Off-diagonal feed rates [1/s], row-major `off[j * dim + i]`, j > i, all ≥ 0
    /// (diagonal and upper triangle are zero).
    pub off: Vec<f64>,
}

impl Generator {
    /// A generator with no feeds and zero rates.
    pub fn zeros(dim: usize) -> Self {
        Self {
            dim,
            rate: vec![0.0; dim],
            off: vec![0.0; dim * dim],
        }
    }

    /// e^{M t} for t ≥ 0 [s] (t = 0 gives the identity). Lower triangular, row-major.
    pub fn exp(&self, t_s: f64) -> Vec<f64> {
        let n = self.dim;
        debug_assert!(
            t_s >= 0.0,
            "exp of a decay generator needs t ≥ 0, got {t_s} s"
        );
        let mut e = vec![0.0; n * n];
        if t_s == 0.0 {
            for i in 0..n {
                e[i * n + i] = 1.0;
            }
            return e;
        }
        if !t_s.is_finite() {
            // t = ∞: every radioactive member is gone; only sinks keep atoms. Not needed by
            // the public API (which integrates to finite times); NaN flags misuse.
            return vec![f64::NAN; n * n];
        }
        let max_rt = self.rate.iter().fold(0.0_f64, |m, &r| m.max(r * t_s));
        let mut s: i32 = 0;
        let mut x = max_rt;
        while x > 0.5 {
            x *= 0.5;
            s += 1;
        }
        let h = t_s * (0.5_f64).powi(s);

        // W = M h (lower triangular)
        let mut w = vec![0.0; n * n];
        for j in 0..n {
            for i in 0..j {
                w[j * n + i] = self.off[j * n + i] * h;
            }
            w[j * n + j] = -self.rate[j] * h;
        }
        // Taylor: e = Σ_m W^m / m!
        let mut term = vec![0.0; n * n];
        for i in 0..n {
            term[i * n + i] = 1.0;
            e[i * n + i] = 1.0;
        }
        let order = n + 18;
        let mut next = vec![0.0; n * n];
        for m in 1..=order {
            let inv_m = 1.0 / m as f64;
            let mut any = false;
            for j in 0..n {
                for i in 0..=j {
                    let mut acc = 0.0;
                    for k in i..=j {
                        acc += term[j * n + k] * w[k * n + i];
                    }
                    let v = acc * inv_m;
                    next[j * n + i] = v;
                    any |= v != 0.0;
                }
            }
            std::mem::swap(&mut term, &mut next);
            for j in 0..n {
                for i in 0..=j {
                    e[j * n + i] += term[j * n + i];
                }
            }
            if !any {
                break;
            }
        }
        for i in 0..n {
            e[i * n + i] = (-self.rate[i] * h).exp();
        }
        // Squaring
        let mut tau = h;
        for _ in 0..s {
            tau *= 2.0;
            for j in 0..n {
                for i in 0..j {
                    let mut acc = 0.0;
                    for k in i..=j {
                        acc += e[j * n + k] * e[k * n + i];
                    }
                    next[j * n + i] = acc;
                }
                next[j * n + j] = (-self.rate[j] * tau).exp();
            }
            std::mem::swap(&mut e, &mut next);
        }
        e
    }
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

    #[test]
    fn identity_at_zero_and_scalar_decay() {
        let mut g = Generator::zeros(1);
        g.rate[0] = 3.0;
        assert_eq!(g.exp(0.0), vec![1.0]);
        for t in [1e-9, 0.1, 1.0, 7.3, 100.0] {
            assert!(rel(g.exp(t)[0], (-3.0 * t).exp()) < 1e-15);
        }
    }

    #[test]
    fn two_member_matches_closed_form() {
        // 1 → 2 with λ1 = 1e-5, λ2 = 3e-3 /s; N2 = λ1 (e^{-λ1 t} − e^{-λ2 t})/(λ2 − λ1)
        let (l1, l2) = (1e-5, 3e-3);
        let mut g = Generator::zeros(2);
        g.rate = vec![l1, l2];
        g.off[2] = l1;
        for t in [1.0, 60.0, 3600.0, 86400.0, 8.64e6] {
            let e = g.exp(t);
            let exact = l1 * (-l1 * t).exp() * (-(-(l2 - l1) * t).exp_m1()) / (l2 - l1);
            assert!(rel(e[2], exact) < 1e-13, "t={t}: {} vs {exact}", e[2]);
        }
    }

    #[test]
    fn sink_counts_decays() {
        // 1 → sink: the sink holds 1 − e^{-λt} = −expm1(−λt), accurate for tiny λt too
        let mut g = Generator::zeros(2);
        g.rate = vec![2e-12, 0.0];
        g.off[2] = 2e-12;
        for t in [1.0, 1e3, 1e6] {
            let e = g.exp(t);
            assert!(rel(e[2], -(-2e-12 * t).exp_m1()) < 1e-14);
            assert_eq!(e[3], 1.0);
        }
    }
}
