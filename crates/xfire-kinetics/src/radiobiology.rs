//! Radiobiology: RBE-weighted dose, the Lea–Catcheside dose-protraction factor G for any
//! dose-rate history, biologically effective dose (BED) and linear-quadratic survival.
//!
//! **G factor** (Lea & Catcheside 1942; Dale 1985). For a dose-rate history Ḋ(t), total D
//! and mono-exponential repair μ = ln 2 / T_rep:
//! G = (2/D²) ∫₀^T Ḋ(t) ∫₀^t Ḋ(w) e^{−μ(t−w)} dw dt. The history is a sequence of
//! [`DoseRatePiece`]s, each Ḋ(τ) = R e^{−kτ} on \[0, h\] (k = 0: constant; k < 0: rising;
//! h = ∞ allowed for k > 0). With Q(t) = ∫₀^t Ḋ(w) e^{−μ(t−w)} dw, each piece is integrated
//! exactly (no quadrature):
//!
//! * D += R φ(k, h), φ(x, h) = ∫₀^h e^{−xτ} dτ;
//! * I += R Q φ(k+μ, h) + R² J(2k, k+μ, h), J(a, b, h) = ∬_{s,u≥0, s+u≤h} e^{−as−bu} ds du,
//!   evaluated as an entry of the exponential of a 3 × 3 bidiagonal generator, so it has no
//!   cancellation when a ≈ b;
//! * Q ← Q e^{−μh} + R ∫₀^h e^{−ks} e^{−μ(h−s)} ds;
//!
//! and G = 2I/D². For a constant piece this is the recursion of physics.md §8; for Ḋ₀e^{−λt}
//! to ∞ it gives G = λ/(λ+μ) (Dale 1985).
//!
//! **BED** = D (1 + G D/(α/β)); for cycles weeks apart (cross terms ≈ 0) BED = Σ_c D_c (1 +
//! G_c D_c/(α/β)) ([`bed_cycles`]); a whole multi-cycle history in one G includes the cross
//! terms. **Survival** S = exp(−α·RBE·D_α − α D_β − β G D_β²), β = α/(α/β): the α-particle
//! dose acts linearly (no repair term).
//!
//! Default parameters with their quality grades (A: read in the primary source; B: in a
//! secondary source or a code default; C: not verified) are in [`PARAMETERS`]; the presets
//! ([`LqParameters::tumour`], [`LqParameters::lymphocyte`], …) carry the grades of the values
//! they use.

use crate::error::{non_negative, positive, KResult, KineticsError};
use crate::expm::Generator;
use crate::tac::phi1;

/// Quality grade of a parameter (as graded in `tests/data/radiobiology_parameters.csv`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum Grade {
    /// Read in a retrieved primary-source excerpt (abstract or table).
    A,
    /// Read in a secondary source (review, product label, code default).
    B,
    /// Not found in retrieved text: common usage or memory, to be verified.
    C,
}

/// One default parameter with its source and grade.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize)]
pub struct Parameter {
    /// Short key ("lymphocyte_alpha_sensitive").
    pub key: &'static str,
    /// Value in `unit`.
    pub value: f64,
    /// Unit ("Gy", "1/Gy", "h", "1").
    pub unit: &'static str,
    /// Quality grade.
    pub grade: Grade,
    /// Source, as in the refdata row (cite the source, not the CSV).
    pub source: &'static str,
}

/// D₃₇ of the radiosensitive lymphocyte subpopulation \[Gy\] (doi:10.1080/09553008214550021).
const LYMPHOCYTE_D37_SENSITIVE_GY: f64 = 0.72;
/// D₃₇ of the T-type lymphocyte subpopulation \[Gy\] (same source).
const LYMPHOCYTE_D37_T_TYPE_GY: f64 = 2.50;
/// Lymphocyte α/β \[Gy\] (placeholder, grade C).
const LYMPHOCYTE_ALPHA_BETA_GY: f64 = 10.0;

/// α \[1/Gy\] of the LQ curve S = exp(−αD − βD²), β = α/(α/β), through S(D₃₇) = e⁻¹ for an
/// acute dose: α D₃₇ (1 + D₃₇/(α/β)) = 1 (1/D₃₇ when α/β → ∞, a purely exponential curve).
pub const fn alpha_from_d37(d37_gy: f64, alpha_beta_gy: f64) -> f64 {
    1.0 / (d37_gy * (1.0 + d37_gy / alpha_beta_gy))
}

/// The default radiobiology parameters of this crate. Provenance: rows of
/// `tests/data/radiobiology_parameters.csv` (categories "lymphocyte", "RBE", "LQ"; checked by
/// `tests/radiobiology_parameters.rs`) and the project's biology notes §6; the grade is the
/// CSV's. Derived values keep the grade of their input and say so. The lymphocyte α is solved
/// from D₃₇ and α/β ([`alpha_from_d37`]) so that the LQ curve passes through the measured
/// point S(D₃₇) = e⁻¹ of the acute in-vitro curve. The lymphocyte α/β and repair half-time
/// were not found in any source (§6 of the biology notes): the generic tumour code defaults
/// are used, grade C for lymphocytes.
pub const PARAMETERS: &[Parameter] = &[
    Parameter {
        key: "lymphocyte_d37_sensitive",
        value: LYMPHOCYTE_D37_SENSITIVE_GY,
        unit: "Gy",
        grade: Grade::A,
        source: "Int J Radiat Biol 1982;41:15-32, doi:10.1080/09553008214550021 (radiosensitive subpopulation, X-rays, in vitro)",
    },
    Parameter {
        key: "lymphocyte_alpha_sensitive",
        value: alpha_from_d37(LYMPHOCYTE_D37_SENSITIVE_GY, LYMPHOCYTE_ALPHA_BETA_GY),
        unit: "1/Gy",
        grade: Grade::A,
        source: "derived: α D37 (1 + D37/(α/β)) = 1, D37 = 0.72 Gy (doi:10.1080/09553008214550021), α/β 10 Gy",
    },
    Parameter {
        key: "lymphocyte_d37_t_type",
        value: LYMPHOCYTE_D37_T_TYPE_GY,
        unit: "Gy",
        grade: Grade::A,
        source: "Int J Radiat Biol 1982;41:15-32, doi:10.1080/09553008214550021 (T-type subpopulation)",
    },
    Parameter {
        key: "lymphocyte_alpha_t_type",
        value: alpha_from_d37(LYMPHOCYTE_D37_T_TYPE_GY, LYMPHOCYTE_ALPHA_BETA_GY),
        unit: "1/Gy",
        grade: Grade::A,
        source: "derived: α D37 (1 + D37/(α/β)) = 1, D37 = 2.50 Gy (doi:10.1080/09553008214550021), α/β 10 Gy",
    },
    Parameter {
        key: "lymphocyte_alpha_beta",
        value: LYMPHOCYTE_ALPHA_BETA_GY,
        unit: "Gy",
        grade: Grade::C,
        source: "not found for lymphocytes; generic tumour default of MIRDCalculation (bioeffectRT/data/alphabeta.csv) used",
    },
    Parameter {
        key: "lymphocyte_repair_half_time",
        value: 1.5,
        unit: "h",
        grade: Grade::C,
        source: "not found for lymphocytes; generic tumour default of MIRDCalculation (bioeffectRT/data/trep.csv) used",
    },
    Parameter {
        key: "tumour_alpha",
        value: 0.1,
        unit: "1/Gy",
        grade: Grade::B,
        source: "MIRDCalculation bioeffectRT/data/alpha.csv@b6449c63 (generic tumour default)",
    },
    Parameter {
        key: "tumour_alpha_beta",
        value: 10.0,
        unit: "Gy",
        grade: Grade::B,
        source: "MIRDCalculation bioeffectRT/data/alphabeta.csv@b6449c63 (generic tumour default)",
    },
    Parameter {
        key: "tumour_repair_half_time",
        value: 1.5,
        unit: "h",
        grade: Grade::B,
        source: "MIRDCalculation bioeffectRT/data/trep.csv@b6449c63 (generic tumour default)",
    },
    Parameter {
        key: "kidney_alpha_beta",
        value: 2.6,
        unit: "Gy",
        grade: Grade::C,
        source: "attributed to MIRD Pamphlet 20 (Wessels 2008, doi:10.2967/jnumed.108.053173), unverified",
    },
    Parameter {
        key: "kidney_repair_half_time",
        value: 2.8,
        unit: "h",
        grade: Grade::C,
        source: "attributed to MIRD Pamphlet 20 (Wessels 2008), unverified",
    },
    Parameter {
        key: "rbe_alpha",
        value: 5.0,
        unit: "1",
        grade: Grade::A,
        source: "usage, e.g. Kratochwil 2017 doi:10.1007/s00259-017-3817-y (grade A as usage; MIRD Pamphlet 22 wording: C)",
    },
    Parameter {
        key: "rbe_alpha_energy_slope",
        value: -0.510,
        unit: "1/MeV",
        grade: Grade::A,
        source: "RBE = 9.14 - 0.510 E_alpha[MeV], 3-9 MeV, mouse testis (PMC3321061)",
    },
];

/// Looks up a default parameter by key.
pub fn parameter(key: &str) -> Option<&'static Parameter> {
    PARAMETERS.iter().find(|p| p.key == key)
}

fn value(key: &str) -> f64 {
    parameter(key).map_or(f64::NAN, |p| p.value)
}

fn grade(key: &str) -> Grade {
    parameter(key).map_or(Grade::C, |p| p.grade)
}

/// RBE of α particles of energy `e_alpha_mev` \[MeV\] for tissue-incorporated emitters:
/// 9.14 − 0.510 E (mouse testis, valid 3–9 MeV; grade A, PMC3321061). Errors outside 3–9 MeV.
pub fn rbe_alpha_of_energy(e_alpha_mev: f64) -> KResult<f64> {
    if !(3.0..=9.0).contains(&e_alpha_mev) {
        return Err(KineticsError::BadValue {
            what: "alpha energy for the RBE(E) relation".into(),
            value: e_alpha_mev,
            unit: "MeV",
            expected: "within 3-9 MeV, where the relation was measured",
        });
    }
    Ok(9.14 - 0.510 * e_alpha_mev)
}

/// Grades of the values of an [`LqParameters`] set.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct LqGrades {
    /// Grade of α.
    pub alpha: Grade,
    /// Grade of α/β.
    pub alpha_beta: Grade,
    /// Grade of the repair half-time.
    pub repair_half_time: Grade,
    /// Grade of the α-particle RBE.
    pub rbe_alpha: Grade,
}

/// Linear-quadratic parameters of one cell type.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize)]
pub struct LqParameters {
    /// Linear radiosensitivity α \[1/Gy\].
    pub alpha_per_gy: f64,
    /// α/β \[Gy\].
    pub alpha_beta_gy: f64,
    /// Repair half-time T_rep \[s\] (mono-exponential repair, μ = ln 2 / T_rep).
    pub repair_half_time_s: f64,
    /// RBE of the α-particle dose \[1\].
    pub rbe_alpha: f64,
    /// Quality grades of the values.
    pub grades: LqGrades,
}

impl LqParameters {
    /// Tumour cells: α 0.1 Gy⁻¹, α/β 10 Gy, T_rep 1.5 h (B), RBE 5.
    pub fn tumour() -> Self {
        Self {
            alpha_per_gy: value("tumour_alpha"),
            alpha_beta_gy: value("tumour_alpha_beta"),
            repair_half_time_s: value("tumour_repair_half_time") * 3600.0,
            rbe_alpha: value("rbe_alpha"),
            grades: LqGrades {
                alpha: grade("tumour_alpha"),
                alpha_beta: grade("tumour_alpha_beta"),
                repair_half_time: grade("tumour_repair_half_time"),
                rbe_alpha: grade("rbe_alpha"),
            },
        }
    }

    /// Lymphocytes, radiosensitive subpopulation (the default for survival: conservative):
    /// α from D₃₇ = 0.72 Gy and α/β (1.296 Gy⁻¹; A, derived), α/β 10 Gy and T_rep 1.5 h (C),
    /// RBE 5.
    pub fn lymphocyte() -> Self {
        Self {
            alpha_per_gy: value("lymphocyte_alpha_sensitive"),
            alpha_beta_gy: value("lymphocyte_alpha_beta"),
            repair_half_time_s: value("lymphocyte_repair_half_time") * 3600.0,
            rbe_alpha: value("rbe_alpha"),
            grades: LqGrades {
                alpha: grade("lymphocyte_alpha_sensitive"),
                alpha_beta: grade("lymphocyte_alpha_beta"),
                repair_half_time: grade("lymphocyte_repair_half_time"),
                rbe_alpha: grade("rbe_alpha"),
            },
        }
    }

    /// Lymphocytes, T-type subpopulation: α from D₃₇ = 2.50 Gy (0.32 Gy⁻¹; A, derived), α/β, T_rep as
    /// [`LqParameters::lymphocyte`].
    pub fn lymphocyte_t_type() -> Self {
        Self {
            alpha_per_gy: value("lymphocyte_alpha_t_type"),
            ..Self::lymphocyte()
        }
    }

    /// Kidney: α/β 2.6 Gy, T_rep 2.8 h (C); α as the generic tumour value (B).
    pub fn kidney() -> Self {
        let t = Self::tumour();
        Self {
            alpha_beta_gy: value("kidney_alpha_beta"),
            repair_half_time_s: value("kidney_repair_half_time") * 3600.0,
            grades: LqGrades {
                alpha_beta: grade("kidney_alpha_beta"),
                repair_half_time: grade("kidney_repair_half_time"),
                ..t.grades
            },
            ..t
        }
    }

    /// Check that every value is finite and positive.
    pub fn validate(&self) -> KResult<()> {
        non_negative("alpha", self.alpha_per_gy, "1/Gy")?;
        positive("alpha/beta", self.alpha_beta_gy, "Gy")?;
        positive("repair half-time", self.repair_half_time_s, "s")?;
        non_negative("alpha RBE", self.rbe_alpha, "1")?;
        Ok(())
    }

    /// Repair rate μ = ln 2 / T_rep \[1/s\].
    pub fn repair_rate_per_s(&self) -> f64 {
        std::f64::consts::LN_2 / self.repair_half_time_s
    }
}

/// One piece of a dose-rate history: Ḋ(τ) = `rate0_gy_per_s` × e^{−`decay_per_s` τ} for
/// τ in \[0, `duration_s`\].
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize)]
pub struct DoseRatePiece {
    /// Length of the piece \[s\] (≥ 0; ∞ allowed when `decay_per_s` > 0).
    pub duration_s: f64,
    /// Dose rate at the start of the piece \[Gy/s\] (≥ 0).
    pub rate0_gy_per_s: f64,
    /// Exponential decay constant of the dose rate \[1/s\] (0: constant, < 0: rising).
    pub decay_per_s: f64,
}

impl DoseRatePiece {
    /// A constant dose rate `rate_gy_per_s` \[Gy/s\] for `duration_s` \[s\].
    pub fn constant(duration_s: f64, rate_gy_per_s: f64) -> Self {
        Self {
            duration_s,
            rate0_gy_per_s: rate_gy_per_s,
            decay_per_s: 0.0,
        }
    }
}

/// Total dose and dose-protraction factor of a history.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize)]
pub struct Protraction {
    /// Total dose D \[Gy\].
    pub dose_gy: f64,
    /// Lea–Catcheside G \[1\] (0 for D = 0).
    pub g: f64,
}

/// ∫₀^h e^{−xτ} dτ \[s\] (h finite).
fn phi(x: f64, h: f64) -> f64 {
    h * phi1(x * h)
}

/// J(a, b, h) = ∬_{s,u≥0, s+u≤h} e^{−as−bu} ds du \[s²\], via a 3 × 3 generator exponential
/// (no cancellation for a ≈ b).
fn simplex2(a: f64, b: f64, h: f64) -> f64 {
    if a == 0.0 && b * h >= 0.0 {
        // constant piece: J(0, b, h) = h² (x − 1 + e^{−x})/x², x = bh
        return h * h * phi2(b * h);
    }
    if (b - a).abs() * h > 0.1 {
        // (φ(a) − φ(b))/(b − a): cancellation costs at most a factor 1/((b − a)h) < 10
        return (phi(a, h) - phi(b, h)) / (b - a);
    }
    let (x, y) = (-a * h, -b * h);
    if x.abs().max(y.abs()) <= 0.5 {
        // J = h² Σ_n h_n(x, y)/(n+2)!, h_n the complete homogeneous polynomial (Σ_{j+k=n} x^j y^k)
        let (mut hn, mut xn, mut fact, mut sum) = (1.0, 1.0, 2.0, 0.0);
        for n in 0..20 {
            sum += hn / fact;
            xn *= x;
            hn = y * hn + xn;
            fact *= (n + 3) as f64;
        }
        return h * h * sum;
    }
    simplex2_generator(a, b, h)
}

/// (x − 1 + e^{−x})/x² for x ≥ 0 (1/2 at 0), accurate everywhere.
fn phi2(x: f64) -> f64 {
    if x < 0.1 {
        // Σ_{n≥0} (−x)^n/(n+2)!
        let (mut term, mut sum) = (0.5, 0.0);
        for n in 0..12 {
            sum += term;
            term *= -x / (n as f64 + 3.0);
        }
        sum
    } else {
        (x + (-x).exp_m1()) / (x * x)
    }
}

/// J(a, b, h) as entry (2, 0) of e^{Mh}, M bidiagonal with removal rates shifted to ≥ 0.
fn simplex2_generator(a: f64, b: f64, h: f64) -> f64 {
    let c = 0.0_f64.max(-a).max(-b);
    let mut g = Generator::zeros(3);
    g.rate = vec![c, a + c, b + c];
    g.off[3] = 1.0; // 0 → 1
    g.off[7] = 1.0; // 1 → 2
    let e = g.exp(h);
    e[6] * (c * h).exp()
}

/// Total dose and G factor of a dose-rate history for repair half-time `repair_half_time_s`
/// \[s\], exact for the given pieces. Errors: negative or non-finite rates or durations, an
/// infinite piece that does not decay.
pub fn protraction(pieces: &[DoseRatePiece], repair_half_time_s: f64) -> KResult<Protraction> {
    let mu = std::f64::consts::LN_2 / positive("repair half-time", repair_half_time_s, "s")?;
    let (mut q, mut integral, mut dose) = (0.0_f64, 0.0_f64, 0.0_f64);
    for (i, p) in pieces.iter().enumerate() {
        let r = crate::error::non_negative_lazy(
            || format!("dose rate of piece {i}"),
            p.rate0_gy_per_s,
            "Gy/s",
        )?;
        let k = crate::error::finite_lazy(
            || format!("decay constant of piece {i}"),
            p.decay_per_s,
            "1/s",
        )?;
        let h = p.duration_s;
        if h.is_infinite() && h > 0.0 {
            if k <= 0.0 {
                return Err(KineticsError::BadValue {
                    what: format!("decay constant of infinite piece {i}"),
                    value: k,
                    unit: "1/s",
                    expected: "> 0 (an endless piece must decay)",
                });
            }
            dose += r / k;
            integral += r * q / (k + mu) + r * r / (2.0 * k * (k + mu));
            q = 0.0;
            continue;
        }
        crate::error::non_negative_lazy(|| format!("duration of piece {i}"), h, "s")?;
        if r == 0.0 {
            q *= (-mu * h).exp();
            continue;
        }
        dose += r * phi(k, h);
        integral += r * q * phi(k + mu, h) + r * r * simplex2(2.0 * k, k + mu, h);
        let conv = if k >= mu {
            (-mu * h).exp() * phi(k - mu, h)
        } else {
            (-k * h).exp() * phi(mu - k, h)
        };
        q = q * (-mu * h).exp() + r * conv;
    }
    let g = if dose > 0.0 {
        2.0 * integral / (dose * dose)
    } else {
        0.0
    };
    Ok(Protraction { dose_gy: dose, g })
}

/// The repair-weighted cross integral of two histories on the same pieces (equal
/// durations, finite): ∫ Ḋ_a(t) ∫₀^t Ḋ_b(w) e^{−μ(t−w)} dw dt \[Gy²\], with μ = `mu_per_s`.
/// For a history Σ_c v_c Ḋ_c, I = Σ_{c,c′} v_c v_c′ I_{cc′} and G = 2I/D². Pieces are assumed
/// valid (as made by [`pieces_from_samples`]); lengths must agree.
pub fn cross_integral(a: &[DoseRatePiece], b: &[DoseRatePiece], mu_per_s: f64) -> KResult<f64> {
    if a.len() != b.len() {
        return Err(KineticsError::Length {
            what: "pieces of the second history".into(),
            expected: a.len(),
            got: b.len(),
        });
    }
    let mu = mu_per_s;
    let (mut q, mut integral) = (0.0_f64, 0.0_f64);
    for (pa, pb) in a.iter().zip(b) {
        let h = pa.duration_s;
        let (ra, ka, rb, kb) = (
            pa.rate0_gy_per_s,
            pa.decay_per_s,
            pb.rate0_gy_per_s,
            pb.decay_per_s,
        );
        if ra != 0.0 {
            integral += ra * q * phi(ka + mu, h);
            if rb != 0.0 {
                integral += ra * rb * simplex2(ka + kb, ka + mu, h);
            }
        }
        let conv = if rb == 0.0 {
            0.0
        } else if kb >= mu {
            (-mu * h).exp() * phi(kb - mu, h)
        } else {
            (-kb * h).exp() * phi(mu - kb, h)
        };
        q = q * (-mu * h).exp() + rb * conv;
    }
    Ok(integral)
}

/// Dose of a history of finite pieces \[Gy\].
pub fn pieces_dose(pieces: &[DoseRatePiece]) -> f64 {
    pieces
        .iter()
        .map(|p| p.rate0_gy_per_s * phi(p.decay_per_s, p.duration_s))
        .sum()
}

/// Exponential pieces through sampled dose rates (t_i \[s\], Ḋ_i \[Gy/s\]): between two
/// positive samples Ḋ is interpolated exponentially (exact for a mono-exponential history);
/// where a sample is 0 the piece is constant at the mean of its end points (trapezoid).
pub fn pieces_from_samples(times_s: &[f64], rates_gy_per_s: &[f64]) -> KResult<Vec<DoseRatePiece>> {
    if times_s.len() != rates_gy_per_s.len() {
        return Err(KineticsError::Length {
            what: "dose-rate samples".into(),
            expected: times_s.len(),
            got: rates_gy_per_s.len(),
        });
    }
    let n = rates_gy_per_s.len();
    pieces_between(
        times_s,
        &rates_gy_per_s[..n.saturating_sub(1)],
        &rates_gy_per_s[n.min(1)..],
    )
}

/// As [`pieces_from_samples`] with separate values at the start and the end of each piece
/// (`start[k]` at `times_s[k]`, `end[k]` at `times_s[k+1]`), for histories that jump at
/// sample times (an administration: the end of the piece before it takes the left limit).
pub fn pieces_between(times_s: &[f64], start: &[f64], end: &[f64]) -> KResult<Vec<DoseRatePiece>> {
    let m = times_s.len().saturating_sub(1);
    if start.len() != m || end.len() != m {
        return Err(KineticsError::Length {
            what: "dose-rate values at piece ends".into(),
            expected: m,
            got: start.len().min(end.len()),
        });
    }
    crate::compartments::check_grid(times_s)?;
    let mut out = Vec::with_capacity(m);
    for i in 0..m {
        let h = times_s[i + 1] - times_s[i];
        let (a, b) = (start[i], end[i]);
        non_negative("sampled dose rate", a, "Gy/s")?;
        non_negative("sampled dose rate", b, "Gy/s")?;
        if a > 0.0 && b > 0.0 {
            out.push(DoseRatePiece {
                duration_s: h,
                rate0_gy_per_s: a,
                decay_per_s: (a / b).ln() / h,
            });
        } else {
            out.push(DoseRatePiece::constant(h, 0.5 * (a + b)));
        }
    }
    Ok(out)
}

/// BED = D (1 + G D/(α/β)) \[Gy\].
pub fn bed(dose_gy: f64, g: f64, alpha_beta_gy: f64) -> f64 {
    dose_gy * (1.0 + g * dose_gy / alpha_beta_gy)
}

/// BED of cycles far enough apart that their cross terms vanish: Σ_c D_c (1 + G_c D_c/(α/β))
/// \[Gy\].
pub fn bed_cycles(cycles: &[Protraction], alpha_beta_gy: f64) -> f64 {
    cycles
        .iter()
        .map(|c| bed(c.dose_gy, c.g, alpha_beta_gy))
        .sum()
}

/// Surviving fraction S = exp(−α·RBE·D_α − α D_β − β G D_β²), β = α/(α/β) \[1\]:
/// `dose_alpha_gy` the α-particle absorbed dose (no repair), `low_let` the β/γ/electron dose
/// with its own protraction factor.
pub fn surviving_fraction(dose_alpha_gy: f64, low_let: Protraction, p: &LqParameters) -> f64 {
    let beta = p.alpha_per_gy / p.alpha_beta_gy;
    (-p.alpha_per_gy * p.rbe_alpha * dose_alpha_gy
        - p.alpha_per_gy * low_let.dose_gy
        - beta * low_let.g * low_let.dose_gy * low_let.dose_gy)
        .exp()
}

/// RBE-weighted dose RBE·D_α + D_β \[Gy (RBE-weighted)\].
pub fn rbe_weighted_dose(dose_alpha_gy: f64, dose_low_let_gy: f64, rbe_alpha: f64) -> f64 {
    rbe_alpha * dose_alpha_gy + dose_low_let_gy
}

#[cfg(test)]
mod tests {
    use super::*;
    const LN2: f64 = std::f64::consts::LN_2;
    const H: f64 = 3600.0;

    fn rel(a: f64, b: f64) -> f64 {
        if a == b {
            0.0
        } else {
            (a - b).abs() / b.abs()
        }
    }

    /// Mono-exponential Ḋ₀e^{−λt} to ∞ with D = 10 Gy, T_eff = 40 h.
    fn mono(t_eff_h: f64, dose: f64) -> DoseRatePiece {
        let l = LN2 / (t_eff_h * H);
        DoseRatePiece {
            duration_s: f64::INFINITY,
            rate0_gy_per_s: dose * l,
            decay_per_s: l,
        }
    }

    #[test]
    fn physics_md_test_values() {
        let l = LN2 / (40.0 * H);
        let mut worst: f64 = 0.0;
        for (ab, trep, g_ref, bed_ref) in
            [(10.0, 1.5, 0.03614, 10.361), (2.6, 2.8, 0.06542, 12.516)]
        {
            let p = protraction(&[mono(40.0, 10.0)], trep * H).unwrap();
            let mu = LN2 / (trep * H);
            worst = worst.max(rel(p.g, l / (l + mu)));
            worst = worst.max(rel(p.dose_gy, 10.0));
            let b = bed(p.dose_gy, p.g, ab);
            eprintln!("alpha/beta {ab} Gy, T_rep {trep} h: G {:.5} (ref {g_ref}), BED {b:.3} Gy (ref {bed_ref})", p.g);
            assert!((p.g - g_ref).abs() < 5e-6);
            assert!((b - bed_ref).abs() < 5e-4);
            // Dale's closed form BED = D + Ḋ₀ D/((μ+λ)(α/β))
            worst = worst.max(rel(b, 10.0 + 10.0 * l * 10.0 / ((mu + l) * ab)));
        }
        eprintln!("G vs lambda/(lambda+mu): max rel {worst:.1e}");
        assert!(worst < 1e-12);
    }

    #[test]
    fn split_history_gives_the_same_g() {
        // the same mono-exponential cut into 200 finite exponential pieces + an endless tail
        let l = LN2 / (40.0 * H);
        let mut pieces = Vec::new();
        let mut t = 0.0;
        for i in 0..200 {
            let h = 0.3 * H * (1.0 + (i % 7) as f64);
            pieces.push(DoseRatePiece {
                duration_s: h,
                rate0_gy_per_s: 10.0 * l * (-l * t).exp(),
                decay_per_s: l,
            });
            t += h;
        }
        pieces.push(DoseRatePiece {
            duration_s: f64::INFINITY,
            rate0_gy_per_s: 10.0 * l * (-l * t).exp(),
            decay_per_s: l,
        });
        let p = protraction(&pieces, 1.5 * H).unwrap();
        let mu = LN2 / (1.5 * H);
        eprintln!("split history: G rel diff {:.1e}", rel(p.g, l / (l + mu)));
        assert!(rel(p.g, l / (l + mu)) < 1e-11);
        assert!(rel(p.dose_gy, 10.0) < 1e-12);
        // sampled and re-interpolated: exact for an exponential
        let times: Vec<f64> = (0..=100).map(|k| k as f64 * 2.0 * H).collect();
        let rates: Vec<f64> = times.iter().map(|t| 10.0 * l * (-l * t).exp()).collect();
        let pc = pieces_from_samples(&times, &rates).unwrap();
        let p = protraction(&pc, 1.5 * H).unwrap();
        let tt = times[100];
        let d = 10.0 * -(-l * tt).exp_m1();
        assert!(rel(p.dose_gy, d) < 1e-12);
    }

    #[test]
    fn constant_rate_and_separated_fractions() {
        // constant rate over T: G = 2(μT − 1 + e^{−μT})/(μT)²
        let mu = LN2 / (1.5 * H);
        for t in [60.0, H, 10.0 * H, 100.0 * H] {
            let p = protraction(&[DoseRatePiece::constant(t, 1e-4)], 1.5 * H).unwrap();
            let x = mu * t;
            let g = 2.0 * (x + (-x).exp_m1()) / (x * x);
            assert!(rel(p.g, g) < 1e-9, "T={t}: {} vs {g}", p.g);
        }
        // piecewise-constant in 1000 steps gives the same as one constant piece
        let many = vec![DoseRatePiece::constant(36.0, 1e-4); 1000];
        let one = protraction(&[DoseRatePiece::constant(36000.0, 1e-4)], 1.5 * H).unwrap();
        assert!(rel(protraction(&many, 1.5 * H).unwrap().g, one.g) < 1e-12);
        // two 1-min fractions 30 d apart: G → (D1² + D2²)/D² = 1/2 (cross term e^{−μ·30 d})
        let p = protraction(
            &[
                DoseRatePiece::constant(60.0, 1.0 / 60.0),
                DoseRatePiece::constant(30.0 * 86400.0, 0.0),
                DoseRatePiece::constant(60.0, 1.0 / 60.0),
            ],
            1.5 * H,
        )
        .unwrap();
        let c = protraction(&[DoseRatePiece::constant(60.0, 1.0 / 60.0)], 1.5 * H).unwrap();
        assert!(rel(p.g, 0.5 * c.g) < 1e-12 && (p.g - 0.5).abs() < 3e-3);
        // and the cycle formula agrees
        assert!(rel(bed_cycles(&[c, c], 10.0), bed(p.dose_gy, p.g, 10.0)) < 1e-6);
    }

    #[test]
    fn cross_integral_is_bilinear_and_matches_g() {
        let mu = LN2 / (1.5 * H);
        let times: Vec<f64> = (0..=40).map(|k| k as f64 * 1800.0).collect();
        let ra: Vec<f64> = times.iter().map(|t| 1e-4 * (-t / 5e4).exp()).collect();
        let rb: Vec<f64> = times
            .iter()
            .map(|t| 3e-5 * (1.0 - (-t / 2e3).exp()) + 1e-6)
            .collect();
        let pa = pieces_from_samples(&times, &ra).unwrap();
        let pb = pieces_from_samples(&times, &rb).unwrap();
        // I_aa from the cross integral = I from `protraction`
        let p = protraction(&pa, 1.5 * H).unwrap();
        let iaa = cross_integral(&pa, &pa, mu).unwrap();
        assert!(rel(2.0 * iaa / (p.dose_gy * p.dose_gy), p.g) < 1e-13);
        assert!(rel(pieces_dose(&pa), p.dose_gy) < 1e-14);
        // e^{−μ|t−w|} is a positive-definite kernel: Cauchy–Schwarz for the symmetric form
        let sym =
            0.5 * (cross_integral(&pa, &pb, mu).unwrap() + cross_integral(&pb, &pa, mu).unwrap());
        let ibb = cross_integral(&pb, &pb, mu).unwrap();
        assert!(sym > 0.0 && sym <= (iaa * ibb).sqrt());
        // symmetry of the double integral: I_ab + I_ba = ∫∫ Ḋa Ḋb e^{−μ|t−w|} (both orders);
        // constant pieces: sum of two histories is a history with summed rates
        let ca: Vec<DoseRatePiece> = (0..30)
            .map(|k| DoseRatePiece::constant(900.0, 1e-4 * (1.0 + (k % 3) as f64)))
            .collect();
        let cb: Vec<DoseRatePiece> = (0..30)
            .map(|k| DoseRatePiece::constant(900.0, 2e-5 * (1.0 + (k % 4) as f64)))
            .collect();
        let sum: Vec<DoseRatePiece> = ca
            .iter()
            .zip(&cb)
            .map(|(a, b)| DoseRatePiece::constant(900.0, a.rate0_gy_per_s + b.rate0_gy_per_s))
            .collect();
        let whole = cross_integral(&sum, &sum, mu).unwrap();
        let parts = cross_integral(&ca, &ca, mu).unwrap()
            + cross_integral(&ca, &cb, mu).unwrap()
            + cross_integral(&cb, &ca, mu).unwrap()
            + cross_integral(&cb, &cb, mu).unwrap();
        assert!(rel(parts, whole) < 1e-13);
        assert!(cross_integral(&ca, &cb[1..], mu).is_err());
    }

    #[test]
    fn simplex_integral_paths_agree() {
        for (a, b, h) in [
            (1e-4, 1.2e-4, 2e3),
            (3e-4, -1e-4, 1e3),
            (0.0, 5e-4, 400.0),
            (-2e-4, -1e-4, 1e3),
        ] {
            let x = simplex2_generator(a, b, h);
            let y = (phi(a, h) - phi(b, h)) / (b - a);
            assert!(rel(x, y) < 1e-13, "{a} {b} {h}: {x} vs {y}");
        }
        // the double series (|a|h, |b|h ≤ 0.5) vs the generator
        for (a, b) in [
            (1e-4, 1.01e-4),
            (-2e-4, 3e-5),
            (4.9e-4, 4.95e-4),
            (0.0, 1e-9),
            (-4.9e-4, -4.9e-4),
        ] {
            let h = 1000.0;
            assert!(
                rel(simplex2(a, b, h), simplex2_generator(a, b, h)) < 1e-14,
                "{a} {b}"
            );
        }
        // a = b = 0: h²/2
        assert!(rel(simplex2(0.0, 0.0, 3.0), 4.5) < 1e-15);
        // constant-piece series vs generator
        for x in [1e-9, 1e-3, 0.05, 0.0999, 0.1, 0.5, 3.0, 40.0] {
            let (b, h) = (x / 50.0, 50.0);
            assert!(
                rel(simplex2(0.0, b, h), simplex2_generator(0.0, b, h)) < 1e-13,
                "x = {x}"
            );
        }
    }

    #[test]
    fn degenerate_and_rising_pieces() {
        // k + μ = 2k (k = μ) and its neighbours: continuous in k
        let mu = LN2 / (1.5 * H);
        let g = |k: f64| {
            protraction(
                &[DoseRatePiece {
                    duration_s: 10.0 * H,
                    rate0_gy_per_s: 1e-4,
                    decay_per_s: k,
                }],
                1.5 * H,
            )
            .unwrap()
            .g
        };
        assert!(rel(g(mu), g(mu * (1.0 + 1e-9))) < 1e-8);
        assert!(rel(g(mu), g(mu * (1.0 - 1e-9))) < 1e-8);
        // a rising piece is the time reverse of a falling one: G is symmetric under reversal
        let k = 1.0 / (5.0 * H);
        let fall = DoseRatePiece {
            duration_s: 10.0 * H,
            rate0_gy_per_s: 1e-4,
            decay_per_s: k,
        };
        let rise = DoseRatePiece {
            duration_s: 10.0 * H,
            rate0_gy_per_s: 1e-4 * (-k * 10.0 * H).exp(),
            decay_per_s: -k,
        };
        let (a, b) = (
            protraction(&[fall], 1.5 * H).unwrap(),
            protraction(&[rise], 1.5 * H).unwrap(),
        );
        assert!(rel(a.g, b.g) < 1e-12 && rel(a.dose_gy, b.dose_gy) < 1e-12);
        // bad input
        assert!(protraction(&[DoseRatePiece::constant(f64::INFINITY, 1.0)], H).is_err());
        assert!(protraction(&[DoseRatePiece::constant(1.0, -1.0)], H).is_err());
        assert!(protraction(&[DoseRatePiece::constant(f64::NAN, 1.0)], H).is_err());
        assert!(protraction(&[], 0.0).is_err());
        assert_eq!(protraction(&[], H).unwrap().g, 0.0);
    }

    #[test]
    fn survival_rbe_and_parameters() {
        let p = LqParameters::lymphocyte();
        p.validate().unwrap();
        assert_eq!(p.grades.alpha, Grade::A);
        assert_eq!(p.grades.alpha_beta, Grade::C);
        // 1 Gy acute low-LET: S = exp(−α − β)
        let acute = Protraction {
            dose_gy: 1.0,
            g: 1.0,
        };
        let beta = p.alpha_per_gy / 10.0;
        assert!(
            rel(
                surviving_fraction(0.0, acute, &p),
                (-p.alpha_per_gy - beta).exp()
            ) < 1e-15
        );
        // an acute low-LET dose of D37 leaves e⁻¹, β term included, for both subpopulations
        // (fails for α = 1/D37 with α/β = 10: S(D37) = e^−1.072 and e^−1.25)
        for (p, key) in [
            (p, "lymphocyte_d37_sensitive"),
            (LqParameters::lymphocyte_t_type(), "lymphocyte_d37_t_type"),
        ] {
            let d37 = parameter(key).unwrap().value;
            let acute = Protraction {
                dose_gy: d37,
                g: 1.0,
            };
            assert!(rel(surviving_fraction(0.0, acute, &p), (-1.0_f64).exp()) < 1e-14);
        }
        assert!(rel(alpha_from_d37(0.72, 1e300), 1.0 / 0.72) < 1e-15);
        assert_eq!(rbe_weighted_dose(2.0, 3.0, 5.0), 13.0);
        assert!(rel(rbe_alpha_of_energy(5.87).unwrap(), 9.14 - 0.510 * 5.87) < 1e-15);
        assert!(rbe_alpha_of_energy(10.0).is_err());
        let k = LqParameters::kidney();
        assert_eq!(k.alpha_beta_gy, 2.6);
        assert_eq!(k.grades.alpha_beta, Grade::C);
        assert_eq!(LqParameters::tumour().grades.alpha_beta, Grade::B);
        assert!(PARAMETERS.iter().all(|p| p.value.is_finite()));
    }
}
