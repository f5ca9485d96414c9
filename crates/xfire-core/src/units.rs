//! Parsing of quantities with units into internal units.
//!
//! | quantity | internal unit | accepted units |
//! |---|---|---|
//! | energy | MeV | eV, keV, MeV, GeV |
//! | length | cm | nm, um, µm, μm, mm, cm, m |
//! | time | s | ns, us, µs, ms, s, sec, min, m (minutes), h, hr, d, day(s), w, wk, week(s), y, yr, year(s) (Julian, 365.25 d) |
//! | activity | Bq | Bq, kBq, MBq, GBq, TBq, mCi, Ci, uCi, µCi |
//!
//! The number and unit may be separated by spaces or not ("4.42mm"). Numbers must be finite.
//! Errors name the text and what was expected.

use thiserror::Error;

/// A quantity string could not be parsed.
#[derive(Debug, Clone, PartialEq, Error)]
pub enum UnitError {
    /// The text has no number in front.
    #[error("cannot read a number in {text:?}: expected a {kind} such as {example:?}")]
    NoNumber {
        /// The offending text.
        text: String,
        /// The kind of quantity that was expected.
        kind: &'static str,
        /// An example of a valid value.
        example: &'static str,
    },
    /// The number is followed by no unit, or an unknown one.
    #[error("unknown or missing unit {unit:?} in {text:?}: a {kind} needs one of {allowed}")]
    BadUnit {
        /// The offending text.
        text: String,
        /// The unit as written.
        unit: String,
        /// The kind of quantity that was expected.
        kind: &'static str,
        /// The accepted units.
        allowed: &'static str,
    },
    /// The number is NaN or infinite.
    #[error("{text:?} is not a finite {kind}")]
    NotFinite {
        /// The offending text.
        text: String,
        /// The kind of quantity.
        kind: &'static str,
    },
}

fn split_number(text: &str) -> Option<(f64, &str)> {
    let t = text.trim();
    // longest prefix that parses as f64
    let mut end = 0;
    let bytes = t.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        let c = bytes[i] as char;
        if c.is_ascii_digit() || c == '.' || c == '+' || c == '-' || c == 'e' || c == 'E' {
            i += 1;
            if t[..i].parse::<f64>().is_ok() {
                end = i;
            }
        } else {
            break;
        }
    }
    if end == 0 {
        return None;
    }
    let v = t[..end].parse::<f64>().ok()?;
    Some((v, t[end..].trim()))
}

fn parse_with(
    text: &str,
    kind: &'static str,
    example: &'static str,
    allowed: &'static str,
    table: &[(&str, f64)],
) -> Result<f64, UnitError> {
    let (v, unit) = split_number(text).ok_or_else(|| UnitError::NoNumber {
        text: text.to_string(),
        kind,
        example,
    })?;
    if !v.is_finite() {
        return Err(UnitError::NotFinite {
            text: text.to_string(),
            kind,
        });
    }
    for (name, factor) in table {
        if *name == unit {
            return Ok(v * factor);
        }
    }
    // case-insensitive second pass for units where case carries no meaning
    let lower = unit.to_lowercase();
    for (name, factor) in table {
        if name.to_lowercase() == lower && !matches!(*name, "m" | "M") {
            return Ok(v * factor);
        }
    }
    Err(UnitError::BadUnit {
        text: text.to_string(),
        unit: unit.to_string(),
        kind,
        allowed,
    })
}

const ENERGY: &[(&str, f64)] = &[("eV", 1e-6), ("keV", 1e-3), ("MeV", 1.0), ("GeV", 1e3)];
const LENGTH: &[(&str, f64)] = &[
    ("nm", 1e-7),
    ("um", 1e-4),
    ("µm", 1e-4),
    ("μm", 1e-4),
    ("micron", 1e-4),
    ("mm", 0.1),
    ("cm", 1.0),
    ("m", 100.0),
];
const TIME: &[(&str, f64)] = &[
    ("ns", 1e-9),
    ("us", 1e-6),
    ("µs", 1e-6),
    ("μs", 1e-6),
    ("ms", 1e-3),
    ("s", 1.0),
    ("sec", 1.0),
    ("min", 60.0),
    ("m", 60.0),
    ("h", 3600.0),
    ("hr", 3600.0),
    ("hour", 3600.0),
    ("hours", 3600.0),
    ("d", 86400.0),
    ("day", 86400.0),
    ("days", 86400.0),
    ("w", 604800.0),
    ("wk", 604800.0),
    ("week", 604800.0),
    ("weeks", 604800.0),
    ("y", crate::constants::YEAR_S),
    ("yr", crate::constants::YEAR_S),
    ("year", crate::constants::YEAR_S),
    ("years", crate::constants::YEAR_S),
];
const ACTIVITY: &[(&str, f64)] = &[
    ("Bq", 1.0),
    ("kBq", 1e3),
    ("MBq", 1e6),
    ("GBq", 1e9),
    ("TBq", 1e12),
    ("uCi", 3.7e4),
    ("µCi", 3.7e4),
    ("μCi", 3.7e4),
    ("mCi", 3.7e7),
    ("Ci", 3.7e10),
];

/// Parse an energy ("500 keV", "0.5 MeV") into MeV.
pub fn parse_energy_mev(text: &str) -> Result<f64, UnitError> {
    parse_with(text, "energy", "500 keV", "eV, keV, MeV, GeV", ENERGY)
}

/// Parse a length ("5 um", "5 µm", "0.05 mm", "4.42mm") into cm.
pub fn parse_length_cm(text: &str) -> Result<f64, UnitError> {
    parse_with(text, "length", "5 um", "nm, um (µm), mm, cm, m", LENGTH)
}

/// Parse a time ("46 min", "7.2 h", "6.647 d") into seconds.
pub fn parse_time_s(text: &str) -> Result<f64, UnitError> {
    parse_with(
        text,
        "time",
        "6.647 d",
        "ns, us, ms, s, min, h, d, w, y",
        TIME,
    )
}

/// Parse an activity ("7.4 GBq", "55 kBq", "200 mCi") into Bq.
pub fn parse_activity_bq(text: &str) -> Result<f64, UnitError> {
    parse_with(
        text,
        "activity",
        "7.4 GBq",
        "Bq, kBq, MBq, GBq, TBq, uCi, mCi, Ci",
        ACTIVITY,
    )
}

/// Parse a comma-separated list of times ("1h,1d,10d") into seconds.
pub fn parse_time_list_s(text: &str) -> Result<Vec<f64>, UnitError> {
    text.split(',')
        .filter(|s| !s.trim().is_empty())
        .map(parse_time_s)
        .collect()
}

/// Format a duration in seconds with a readable unit (for messages and tables).
pub fn format_time(s: f64) -> String {
    let a = s.abs();
    if a >= crate::constants::YEAR_S {
        format!("{:.4} y", s / crate::constants::YEAR_S)
    } else if a >= 86400.0 {
        format!("{:.4} d", s / 86400.0)
    } else if a >= 3600.0 {
        format!("{:.4} h", s / 3600.0)
    } else if a >= 60.0 {
        format!("{:.4} min", s / 60.0)
    } else {
        format!("{:.4e} s", s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close(a: f64, b: f64) -> bool {
        (a - b).abs() <= 1e-12 * b.abs().max(1e-30)
    }

    #[test]
    fn energies() {
        assert!(close(parse_energy_mev("500 keV").unwrap(), 0.5));
        assert!(close(parse_energy_mev("0.5 MeV").unwrap(), 0.5));
        assert!(close(parse_energy_mev("10eV").unwrap(), 1e-5));
        assert!(close(parse_energy_mev("1e3 keV").unwrap(), 1.0));
    }

    #[test]
    fn lengths() {
        assert!(close(parse_length_cm("5 um").unwrap(), 5e-4));
        assert!(close(parse_length_cm("5 µm").unwrap(), 5e-4));
        assert!(close(parse_length_cm("5 μm").unwrap(), 5e-4));
        assert!(close(parse_length_cm("0.05 mm").unwrap(), 5e-3));
        assert!(close(parse_length_cm("4.42mm").unwrap(), 0.442));
        assert!(close(parse_length_cm("2 cm").unwrap(), 2.0));
    }

    #[test]
    fn times() {
        assert!(close(parse_time_s("46 min").unwrap(), 2760.0));
        assert!(close(parse_time_s("7.2 h").unwrap(), 25920.0));
        assert!(close(parse_time_s("6.647 d").unwrap(), 574300.8));
        assert!(close(parse_time_s("1 w").unwrap(), 604800.0));
        assert_eq!(
            parse_time_list_s("1h,1d,10d").unwrap(),
            vec![3600.0, 86400.0, 864000.0]
        );
    }

    #[test]
    fn activities() {
        assert!(close(parse_activity_bq("7.4 GBq").unwrap(), 7.4e9));
        assert!(close(parse_activity_bq("55 kBq").unwrap(), 5.5e4));
        assert!(close(parse_activity_bq("1MBq").unwrap(), 1e6));
        assert!(close(parse_activity_bq("200 mCi").unwrap(), 7.4e9));
    }

    #[test]
    fn errors_name_text_and_expectation() {
        let e = parse_energy_mev("fast").unwrap_err().to_string();
        assert!(e.contains("\"fast\"") && e.contains("energy"), "{e}");
        let e = parse_length_cm("5 furlongs").unwrap_err().to_string();
        assert!(e.contains("furlongs") && e.contains("mm"), "{e}");
        let e = parse_time_s("3").unwrap_err().to_string();
        assert!(e.contains("missing unit") || e.contains("unit"), "{e}");
        assert!(parse_energy_mev("NaN keV").is_err());
        assert!(parse_activity_bq("inf GBq").is_err());
        // a length is not an energy
        assert!(parse_energy_mev("5 mm").is_err());
    }
}
