//! Numbers for people: the one place where the printed tables and the reports round
//! (3 significant figures) and floor (`<1e-6`) what they show. Machine-readable files keep
//! full precision and do not use this.

/// Below this a dose \[Gy\] or surviving fraction \[1\] is printed as `<1e-6`.
const FLOOR: f64 = 1e-6;

/// A number with 3 significant figures: plain for 10⁻³ ≤ |v| < 10⁵ ("83.4", "0.00216",
/// "1.00"), otherwise scientific with a 3-figure mantissa ("1.31e8", "7.11e-4"); "-" when not
/// finite.
pub fn fmt_sig(v: f64) -> String {
    if !v.is_finite() {
        return "-".into();
    }
    if v == 0.0 {
        return "0".into();
    }
    // round first: 9.996 is "10.0", not "9.996" printed with 2 decimals
    let r: f64 = format!("{v:.2e}").parse().unwrap_or(v);
    let a = r.abs();
    if (1e-3..1e5).contains(&a) {
        let digits = (2 - a.log10().floor() as i32).max(0) as usize;
        format!("{r:.digits$}")
    } else {
        format!("{r:.2e}")
    }
}

/// An absorbed or RBE-weighted dose \[Gy\]: [`fmt_sig`], `<1e-6` below 10⁻⁶ Gy.
pub fn fmt_dose(v: f64) -> String {
    if v.is_finite() && v > 0.0 && v < FLOOR {
        "<1e-6".into()
    } else {
        fmt_sig(v)
    }
}

/// A surviving fraction: [`fmt_sig`], `<1e-6` below 10⁻⁶ (none survive).
pub fn fmt_survival(v: f64) -> String {
    if v.is_finite() && v < FLOOR {
        "<1e-6".into()
    } else {
        fmt_sig(v)
    }
}

/// A parameter value for text: up to 3 significant figures without trailing zeros
/// ("5", "1.39", "0.72").
pub fn fmt_sig_short(v: f64) -> String {
    let s = fmt_sig(v);
    if s.contains('.') && !s.contains('e') {
        s.trim_end_matches('0').trim_end_matches('.').to_string()
    } else {
        s
    }
}

/// A surviving fraction with its 95 % interval: "0.0276 [0.0201, 0.0380]", " !" appended when
/// the interval is too wide to read (`xfire_kinetics::noise::TOO_WIDE_LEGEND`), "< 0.01" when
/// the whole interval is below `NEGLIGIBLE_SURVIVAL`; an exact figure without interval.
pub fn fmt_estimate(e: &xfire_kinetics::noise::SurvivalEstimate) -> String {
    use xfire_kinetics::noise::NEGLIGIBLE_SURVIVAL;
    if e.sd > 0.0 && e.interval[1] < NEGLIGIBLE_SURVIVAL {
        return format!("< {}", fmt_sig_short(NEGLIGIBLE_SURVIVAL));
    }
    if e.sd <= 0.0 || e.interval[0] >= e.interval[1] || e.interval.iter().any(|x| x.is_nan()) {
        return fmt_survival(e.value);
    }
    let (v, lo, hi) = (
        fmt_survival(e.value),
        fmt_survival(e.interval[0]),
        fmt_survival(e.interval[1]),
    );
    let flag = if e.too_wide { " !" } else { "" };
    if lo == v && hi == v {
        // the interval is narrower than the printed precision
        return format!("{v}{flag}");
    }
    format!("{v} [{lo}, {hi}]{flag}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn three_significant_figures_and_floors() {
        let cases = [
            (83.3912, "83.4"),
            (6.871, "6.87"),
            (0.9359, "0.936"),
            (0.002160, "0.00216"),
            (1.306e8, "1.31e8"),
            (7.109e-4, "7.11e-4"),
            (0.99995, "1.00"),
            (1.0, "1.00"),
            (9.996, "10.0"),
            (99_960.0, "1.00e5"),
            (0.0, "0"),
            (-2.5, "-2.50"),
        ];
        for (v, want) in cases {
            assert_eq!(fmt_sig(v), want, "{v}");
        }
        assert_eq!(fmt_sig(f64::NAN), "-");
        assert_eq!(fmt_dose(3.913e-66), "<1e-6");
        assert_eq!(fmt_dose(5.14e-7), "<1e-6");
        assert_eq!(fmt_dose(7.0e-5), "7.00e-5");
        assert_eq!(fmt_dose(0.0), "0");
        assert_eq!(fmt_survival(1.418e-173), "<1e-6");
        assert_eq!(fmt_survival(0.0), "<1e-6");
        assert_eq!(fmt_survival(0.02762), "0.0276");
        assert_eq!(fmt_sig_short(5.0), "5");
        assert_eq!(fmt_sig_short(1.0 / 0.72), "1.39");
        assert_eq!(fmt_sig_short(90.0), "90");
        use xfire_kinetics::noise::SurvivalEstimate;
        assert_eq!(fmt_estimate(&SurvivalEstimate::exact(0.9970)), "0.997");
        let e = SurvivalEstimate::with_sd(0.02762, 0.03, 0.003);
        let s = fmt_estimate(&e);
        assert!(s.starts_with("0.0276 [0.02"), "{s}");
        assert_eq!(
            fmt_estimate(&SurvivalEstimate::with_sd(1e-20, 1e-19, 1e-21)),
            "< 0.01"
        );
        // an interval narrower than 3 significant figures is not printed
        assert_eq!(
            fmt_estimate(&SurvivalEstimate::with_sd(0.99999, 0.99999, 1e-6)),
            "1.00"
        );
    }
}
