//! Discrete sampling: Walker/Vose alias tables, O(1) per draw after an O(n) build.

/// An alias table over `n` outcomes with given non-negative weights.
#[derive(Clone, Debug)]
pub struct AliasTable {
    prob: Vec<f64>,
    alias: Vec<u32>,
    total_weight: f64,
}

/// Why an alias table could not be built.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum AliasError {
    /// No outcomes, or all weights zero.
    #[error("cannot sample from an empty distribution (no outcome has a positive weight)")]
    Empty,
    /// A weight is negative, NaN or infinite.
    #[error("weight {index} is {value}, but weights must be finite and non-negative")]
    BadWeight {
        /// Index of the offending weight.
        index: usize,
        /// Its value.
        value: f64,
    },
}

impl AliasTable {
    /// Build from weights (need not be normalised).
    pub fn new(weights: &[f64]) -> Result<Self, AliasError> {
        let n = weights.len();
        for (index, &value) in weights.iter().enumerate() {
            if !value.is_finite() || value < 0.0 {
                return Err(AliasError::BadWeight { index, value });
            }
        }
        let total: f64 = weights.iter().sum();
        if n == 0 || total <= 0.0 {
            return Err(AliasError::Empty);
        }
        let mut scaled: Vec<f64> = weights.iter().map(|w| w * n as f64 / total).collect();
        let mut prob = vec![0.0; n];
        let mut alias = vec![0u32; n];
        let mut small: Vec<usize> = Vec::with_capacity(n);
        let mut large: Vec<usize> = Vec::with_capacity(n);
        for (i, &p) in scaled.iter().enumerate() {
            if p < 1.0 {
                small.push(i);
            } else {
                large.push(i);
            }
        }
        while let (Some(&s), Some(&l)) = (small.last(), large.last()) {
            small.pop();
            prob[s] = scaled[s];
            alias[s] = l as u32;
            scaled[l] = (scaled[l] + scaled[s]) - 1.0;
            if scaled[l] < 1.0 {
                large.pop();
                small.push(l);
            }
        }
        for &i in large.iter().chain(small.iter()) {
            prob[i] = 1.0;
            alias[i] = i as u32;
        }
        Ok(Self {
            prob,
            alias,
            total_weight: total,
        })
    }

    /// Number of outcomes.
    pub fn len(&self) -> usize {
        self.prob.len()
    }

    /// True when the table has no outcome (never, once built).
    pub fn is_empty(&self) -> bool {
        self.prob.is_empty()
    }

    /// Sum of the weights it was built from.
    pub fn total_weight(&self) -> f64 {
        self.total_weight
    }

    /// Draw an outcome index from one uniform number `u` in (0,1).
    #[inline]
    pub fn sample(&self, u: f64) -> usize {
        let n = self.prob.len();
        let x = u * n as f64;
        let i = (x as usize).min(n - 1);
        let frac = x - i as f64;
        if frac < self.prob[i] {
            i
        } else {
            self.alias[i] as usize
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rng::Rng;

    #[test]
    fn frequencies_match_weights_within_4_sigma() {
        let w = [1.0, 0.0, 3.0, 0.5, 5.5];
        let t = AliasTable::new(&w).unwrap();
        let mut r = Rng::for_stream(9, 0, 0);
        let n = 400_000;
        let mut c = [0usize; 5];
        for _ in 0..n {
            c[t.sample(r.uniform())] += 1;
        }
        let tot: f64 = w.iter().sum();
        for i in 0..5 {
            let p = w[i] / tot;
            let sigma = (p * (1.0 - p) / n as f64).sqrt();
            let f = c[i] as f64 / n as f64;
            assert!((f - p).abs() <= 4.0 * sigma + 1e-12, "{i}: {f} vs {p}");
        }
        assert_eq!(c[1], 0);
    }

    #[test]
    fn bad_weights_are_rejected() {
        assert_eq!(AliasTable::new(&[]).unwrap_err(), AliasError::Empty);
        assert_eq!(AliasTable::new(&[0.0, 0.0]).unwrap_err(), AliasError::Empty);
        assert!(matches!(
            AliasTable::new(&[1.0, f64::NAN]).unwrap_err(),
            AliasError::BadWeight { index: 1, .. }
        ));
        assert!(AliasTable::new(&[-1.0]).is_err());
    }
}
