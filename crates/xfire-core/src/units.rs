//! Parsing of quantities with units into internal units.
//!
//! | quantity | internal unit | accepted units |
//! |---|---|---|
//! | energy | MeV | eV with the SI prefixes p, n, µ (u), m, k, M, G, T: `eV`, `keV`, `MeV`, `GeV`, … |
//! | length | cm | `pm`, `nm`, `µm` (`um`, `μm`, `micron`), `mm`, `cm`, `m`, `km` |
//! | time | s | s with the prefixes p, n, µ (u), m, k, M (`ms` = 10⁻³ s, `Ms` = 10⁶ s), `sec`, `min`, `h`, `hr`, `hour(s)`, `d`, `day(s)`, `w`, `wk`, `week(s)`, `y`, `yr`, `year(s)` (Julian, 365.25 d) |
//! | activity | Bq | Bq with p, n, µ (u), m, k, M, G, T, P; Ci with p, n, µ (u), m, k, M |
//!
//! The number and unit may be separated by spaces or not ("4.42mm"). Numbers must be finite.
//!
//! Units are **case-exact**: an SI prefix changes meaning with its case (`mBq` = 10⁻³ Bq,
//! `MBq` = 10⁶ Bq), so a spelling that matches a unit only when case is ignored ("mev",
//! "KBq", "gbq") is rejected, never guessed; the message names the text and suggests the
//! exact spelling(s). A bare `m` as a time is rejected too (minute, metre or milli-?): write
//! `min`. Errors name the text and what was expected.

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
    /// The unit is wrongly cased or ambiguous; it is not guessed.
    #[error("unit {unit:?} in {text:?} is not accepted as a {kind}: {reason}")]
    Ambiguous {
        /// The offending text.
        text: String,
        /// The unit as written.
        unit: String,
        /// The kind of quantity that was expected.
        kind: &'static str,
        /// Why, and the exact spelling(s) to use instead.
        reason: String,
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

/// One kind of quantity: its accepted spellings (exact, case-sensitive) with factors to the
/// internal unit, and the spellings refused with a reason.
struct Kind {
    name: &'static str,
    example: &'static str,
    allowed: &'static str,
    units: Vec<(String, f64)>,
    refused: &'static [(&'static str, &'static str)],
}

/// SI prefixes with their factors; micro has three spellings (micro sign, Greek mu, `u`).
const PREFIXES: &[(&str, f64)] = &[
    ("p", 1e-12),
    ("n", 1e-9),
    ("µ", 1e-6),
    ("μ", 1e-6),
    ("u", 1e-6),
    ("m", 1e-3),
    ("c", 1e-2),
    ("", 1.0),
    ("k", 1e3),
    ("M", 1e6),
    ("G", 1e9),
    ("T", 1e12),
    ("P", 1e15),
];

/// `base` (worth `factor` internal units) with each prefix of `prefixes` (a string of prefix
/// letters; `u` stands for all three micro spellings).
fn prefixed(base: &str, factor: f64, prefixes: &str) -> Vec<(String, f64)> {
    PREFIXES
        .iter()
        .filter(|(p, _)| {
            p.is_empty()
                || (matches!(*p, "µ" | "μ") && prefixes.contains('u'))
                || (p.len() == 1 && prefixes.contains(*p))
        })
        .map(|(p, f)| (format!("{p}{base}"), f * factor))
        .collect()
}

fn energy() -> Kind {
    Kind {
        name: "energy",
        example: "500 keV",
        allowed: "eV, keV, MeV, GeV (SI prefixes p n µ/u m k M G T, case-exact)",
        units: prefixed("eV", 1e-6, "pnumkMGT"),
        refused: &[],
    }
}

fn length() -> Kind {
    let mut units = prefixed("m", 100.0, "pnumck");
    units.push(("micron".into(), 1e-4));
    Kind {
        name: "length",
        example: "5 um",
        allowed: "nm, um (µm), mm, cm, m, km (case-exact)",
        units,
        refused: &[],
    }
}

const YEAR: f64 = crate::constants::YEAR_S;

fn time() -> Kind {
    let mut units = prefixed("s", 1.0, "pnumkM");
    for (n, f) in [
        ("sec", 1.0),
        ("min", 60.0),
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
        ("y", YEAR),
        ("yr", YEAR),
        ("year", YEAR),
        ("years", YEAR),
    ] {
        units.push((n.into(), f));
    }
    Kind {
        name: "time",
        example: "6.647 d",
        allowed: "ns, us, ms, s, ks, Ms, min, h, d, w, y (case-exact)",
        units,
        refused: &[(
            "m",
            "\"m\" is ambiguous (minute, metre or the prefix milli); write \"min\" for minutes",
        )],
    }
}

fn activity() -> Kind {
    let mut units = prefixed("Bq", 1.0, "pnumkMGTP");
    units.extend(prefixed("Ci", 3.7e10, "pnumkM"));
    Kind {
        name: "activity",
        example: "7.4 GBq",
        allowed: "Bq, kBq, MBq, GBq, TBq, uCi, mCi, Ci (SI prefixes case-exact: mBq = 1e-3 Bq, MBq = 1e6 Bq)",
        units,
        refused: &[],
    }
}

/// Why `unit` is refused and what to write instead, when it matches a known unit only with
/// case ignored (or is one of the kind's refused spellings). Never used to accept.
fn refusal(unit: &str, kind: &Kind) -> Option<String> {
    if let Some((_, why)) = kind.refused.iter().find(|(u, _)| *u == unit) {
        return Some(why.to_string());
    }
    let lower = unit.to_lowercase();
    let close: Vec<&str> = kind
        .units
        .iter()
        .filter(|(n, _)| n.to_lowercase() == lower)
        .map(|(n, _)| n.as_str())
        .collect();
    if close.is_empty() {
        return None;
    }
    let spelled = close
        .iter()
        .map(|n| format!("{n:?}"))
        .collect::<Vec<_>>()
        .join(" or ");
    let kelvin = unit.starts_with('K') && close.iter().any(|n| n.starts_with('k'));
    Some(if kelvin {
        format!(
            "\"K\" is not an SI prefix (K is the kelvin); kilo is a lower-case k: write {spelled}"
        )
    } else {
        format!("units and SI prefixes are case-sensitive (m = milli, M = mega); write {spelled}")
    })
}

fn parse_kind(text: &str, kind: Kind) -> Result<f64, UnitError> {
    let (v, unit) = split_number(text).ok_or_else(|| UnitError::NoNumber {
        text: text.to_string(),
        kind: kind.name,
        example: kind.example,
    })?;
    if !v.is_finite() {
        return Err(UnitError::NotFinite {
            text: text.to_string(),
            kind: kind.name,
        });
    }
    if !kind.refused.iter().any(|(u, _)| *u == unit) {
        if let Some((_, f)) = kind.units.iter().find(|(n, _)| n == unit) {
            return Ok(v * f);
        }
    }
    Err(match refusal(unit, &kind) {
        Some(reason) => UnitError::Ambiguous {
            text: text.to_string(),
            unit: unit.to_string(),
            kind: kind.name,
            reason,
        },
        None => UnitError::BadUnit {
            text: text.to_string(),
            unit: unit.to_string(),
            kind: kind.name,
            allowed: kind.allowed,
        },
    })
}

/// Parse an energy ("500 keV", "0.5 MeV") into MeV.
pub fn parse_energy_mev(text: &str) -> Result<f64, UnitError> {
    parse_kind(text, energy())
}

/// Parse a length ("5 um", "5 µm", "0.05 mm", "4.42mm") into cm.
pub fn parse_length_cm(text: &str) -> Result<f64, UnitError> {
    parse_kind(text, length())
}

/// Parse a time ("46 min", "7.2 h", "6.647 d") into seconds.
pub fn parse_time_s(text: &str) -> Result<f64, UnitError> {
    parse_kind(text, time())
}

/// Parse an activity ("7.4 GBq", "55 kBq", "200 mCi") into Bq.
pub fn parse_activity_bq(text: &str) -> Result<f64, UnitError> {
    parse_kind(text, activity())
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

    /// Prefix × unit table: (text, parser, expected value in internal units or None for a
    /// refusal, a piece of the refusal message that must appear).
    #[test]
    fn prefix_by_unit_table() {
        type P = fn(&str) -> Result<f64, UnitError>;
        let e: P = parse_energy_mev;
        let l: P = parse_length_cm;
        let t: P = parse_time_s;
        let a: P = parse_activity_bq;
        let ok: &[(&str, P, f64)] = &[
            // energy (MeV)
            ("1 eV", e, 1e-6),
            ("1 meV", e, 1e-9),
            ("1 MeV", e, 1.0),
            ("1 µeV", e, 1e-12),
            ("1 ueV", e, 1e-12),
            ("1 keV", e, 1e-3),
            ("1 GeV", e, 1e3),
            ("1 TeV", e, 1e6),
            ("1 neV", e, 1e-15),
            // length (cm)
            ("1 m", l, 100.0),
            ("1 mm", l, 0.1),
            ("1 µm", l, 1e-4),
            ("1 μm", l, 1e-4),
            ("1 um", l, 1e-4),
            ("1 nm", l, 1e-7),
            ("1 pm", l, 1e-10),
            ("1 km", l, 1e5),
            ("1 cm", l, 1.0),
            // time (s)
            ("1 ms", t, 1e-3),
            ("1 Ms", t, 1e6),
            ("1 µs", t, 1e-6),
            ("1 us", t, 1e-6),
            ("1 ns", t, 1e-9),
            ("1 ps", t, 1e-12),
            ("1 ks", t, 1e3),
            ("1 min", t, 60.0),
            ("1 s", t, 1.0),
            // activity (Bq)
            ("1 mBq", a, 1e-3),
            ("1 MBq", a, 1e6),
            ("1 µBq", a, 1e-6),
            ("1 uBq", a, 1e-6),
            ("1 kBq", a, 1e3),
            ("1 GBq", a, 1e9),
            ("1 TBq", a, 1e12),
            ("1 nBq", a, 1e-9),
            ("1 pBq", a, 1e-12),
            ("1 mCi", a, 3.7e7),
            ("1 MCi", a, 3.7e16),
            ("1 µCi", a, 3.7e4),
            ("1 uCi", a, 3.7e4),
            ("1 kCi", a, 3.7e13),
            ("1 nCi", a, 37.0),
            ("1 Ci", a, 3.7e10),
        ];
        for (text, f, want) in ok {
            let got = f(text).unwrap_or_else(|e| panic!("{text}: {e}"));
            assert!(close(got, *want), "{text}: {got} != {want}");
        }
        let refused: &[(&str, P, &str)] = &[
            ("1 mev", e, "\"MeV\""),
            ("1 MEV", e, "\"MeV\""),
            ("1 KeV", e, "\"keV\""),
            ("1 Mm", l, "\"mm\""),
            ("1 MM", l, "\"mm\""),
            ("1 Um", l, "\"um\""),
            ("1 Km", l, "\"km\""),
            ("1 m", t, "\"min\""),
            ("1 MS", t, "\"ms\" or \"Ms\""),
            ("1 Min", t, "\"min\""),
            ("1 H", t, "\"h\""),
            ("1 KBq", a, "K is the kelvin"),
            ("1 gbq", a, "\"GBq\""),
            ("1 mbq", a, "\"mBq\" or \"MBq\""),
            ("1 MBQ", a, "\"MBq\""),
            ("1 mci", a, "\"mCi\" or \"MCi\""),
            ("1 UCi", a, "\"uCi\""),
        ];
        for (text, f, hint) in refused {
            let msg = match f(text) {
                Ok(v) => panic!("{text} accepted as {v}"),
                Err(e) => e.to_string(),
            };
            assert!(msg.contains(&format!("{text:?}")), "{text}: {msg}");
            assert!(msg.contains(hint), "{text}: {msg} lacks {hint}");
        }
        // no prefix where it makes no sense: unknown, with the list of units
        for (text, f) in [("1 Gs", t), ("1 Mm", l), ("1 cBq", a), ("1 ceV", e)] {
            assert!(f(text).is_err(), "{text}");
        }
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
