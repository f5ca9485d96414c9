//! Physical constants in xfire's internal units (MeV, cm, g, s).
//! Values: CODATA 2018 and the exact SI 2019 definitions.

/// Electron rest energy m_e c² [MeV] (CODATA 2018).
pub const ELECTRON_MASS_MEV: f64 = 0.510_998_950_00;
/// Classical electron radius r_e [cm] (CODATA 2018).
pub const CLASSICAL_ELECTRON_RADIUS_CM: f64 = 2.817_940_326_2e-13;
/// Fine-structure constant α (CODATA 2018).
pub const FINE_STRUCTURE: f64 = 1.0 / 137.035_999_084;
/// Avogadro constant [1/mol] (exact).
pub const AVOGADRO: f64 = 6.022_140_76e23;
/// One MeV in joule (exact).
pub const MEV_TO_J: f64 = 1.602_176_634e-13;
/// Dose of 1 MeV deposited in 1 g [Gy] (= 1.602176634e-10).
pub const MEV_PER_G_TO_GY: f64 = MEV_TO_J * 1.0e3;
/// Alpha-particle rest energy [MeV] (CODATA 2018).
pub const ALPHA_MASS_MEV: f64 = 3_727.379_409_7;
/// Seconds in a day.
pub const DAY_S: f64 = 86_400.0;
/// Seconds in a Julian year (365.25 d), the ICRP-107 convention.
pub const YEAR_S: f64 = 365.25 * DAY_S;
/// ln 2.
pub const LN2: f64 = std::f64::consts::LN_2;

#[cfg(test)]
mod tests {
    use super::*;
    #[test]
    fn mev_per_gram_is_1_602e_10_gy() {
        assert!((MEV_PER_G_TO_GY - 1.602_176_634e-10).abs() < 1e-22);
    }
}
