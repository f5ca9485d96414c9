//! Treatment regimens: "7.4 GBq every 6 weeks × 6", "55 kBq/kg every 4 weeks x 6",
//! "7.4 GBq every 8 weeks × 4", "7.4 GBq" (one administration). Quantities are read with
//! `xfire_core::units`; an activity per body mass ("/kg") needs the patient's mass.

use crate::chain::Administration;
use crate::error::{finite, positive, KResult, KineticsError};

/// Largest number of administrations a regimen may have.
pub const MAX_ADMINISTRATIONS: usize = 10_000;

/// The amount given at each administration.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
pub enum Amount {
    /// A fixed activity \[Bq\].
    Activity(f64),
    /// An activity per body mass \[Bq/kg\].
    PerBodyMass(f64),
}

/// Equal administrations at a fixed interval.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Regimen {
    /// Amount per administration.
    pub amount: Amount,
    /// Interval between administrations \[s\] (0 for a single administration).
    pub interval_s: f64,
    /// Number of administrations (≥ 1).
    pub count: usize,
    /// Time of the first administration \[s\].
    pub start_s: f64,
}

impl Regimen {
    /// One administration of `activity_bq` \[Bq\] at t = 0.
    pub fn single(activity_bq: f64) -> Self {
        Self {
            amount: Amount::Activity(activity_bq),
            interval_s: 0.0,
            count: 1,
            start_s: 0.0,
        }
    }

    /// Read "AMOUNT [every INTERVAL [× N]]": AMOUNT an activity ("7.4 GBq", "200 mCi") or an
    /// activity per kg ("55 kBq/kg"); INTERVAL a time ("6 weeks", "28 d"); N the number of
    /// administrations after "×", "x" or "*" (default 1 without "every"; required with it).
    /// "7.4 GBq × 4 every 8 weeks" is read too. The first administration is at t = 0.
    pub fn parse(text: &str) -> KResult<Self> {
        let err = |reason: String| KineticsError::Parse {
            what: "regimen",
            text: text.to_string(),
            reason,
        };
        let norm = text.replace(['×', '*'], " x ");
        let lower = norm.to_lowercase();
        // split off the count: " x N" (as a separate token)
        let tokens: Vec<&str> = norm.split_whitespace().collect();
        let ltok: Vec<String> = lower.split_whitespace().map(str::to_string).collect();
        let mut count: Option<usize> = None;
        let mut rest: Vec<(String, String)> = Vec::new(); // (original, lower)
        let mut i = 0;
        while i < tokens.len() {
            if ltok[i] == "x" || ltok[i] == "times" {
                let n = tokens.get(i + 1).ok_or_else(|| {
                    err("'x' must be followed by the number of administrations".into())
                })?;
                let n: usize = n
                    .parse()
                    .map_err(|_| err(format!("{n:?} is not a number of administrations")))?;
                if count.replace(n).is_some() {
                    return Err(err("the number of administrations is given twice".into()));
                }
                i += 2;
                continue;
            }
            rest.push((tokens[i].to_string(), ltok[i].clone()));
            i += 1;
        }
        let every = rest.iter().position(|(_, l)| l == "every");
        let (amount_toks, interval_toks) = match every {
            Some(k) => (&rest[..k], Some(&rest[k + 1..])),
            None => (&rest[..], None),
        };
        let amount_text: String = amount_toks
            .iter()
            .map(|(o, _)| o.as_str())
            .collect::<Vec<_>>()
            .join(" ");
        if amount_text.is_empty() {
            return Err(err(
                "no activity before 'every' (e.g. \"7.4 GBq every 6 weeks x 6\")".into(),
            ));
        }
        let amount = if let Some(a) = amount_text
            .strip_suffix("/kg")
            .or_else(|| amount_text.strip_suffix("/ kg"))
        {
            Amount::PerBodyMass(
                xfire_core::units::parse_activity_bq(a.trim()).map_err(|e| err(e.to_string()))?,
            )
        } else {
            Amount::Activity(
                xfire_core::units::parse_activity_bq(&amount_text)
                    .map_err(|e| err(e.to_string()))?,
            )
        };
        let (interval_s, count) = match interval_toks {
            None => {
                let c = count.unwrap_or(1);
                if c > 1 {
                    return Err(err(format!(
                        "{c} administrations need an interval ('every 6 weeks')"
                    )));
                }
                (0.0, c)
            }
            Some(toks) => {
                let t: String = toks
                    .iter()
                    .map(|(o, _)| o.as_str())
                    .collect::<Vec<_>>()
                    .join(" ");
                let dt = xfire_core::units::parse_time_s(&t).map_err(|e| err(e.to_string()))?;
                let c =
                    count.ok_or_else(|| err("missing number of administrations ('x 6')".into()))?;
                (dt, c)
            }
        };
        let r = Self {
            amount,
            interval_s,
            count,
            start_s: 0.0,
        };
        r.validate().map_err(|e| err(e.to_string()))?;
        Ok(r)
    }

    fn validate(&self) -> KResult<()> {
        match self.amount {
            Amount::Activity(a) => positive("administered activity", a, "Bq")?,
            Amount::PerBodyMass(a) => positive("administered activity per body mass", a, "Bq/kg")?,
        };
        finite("start of the regimen", self.start_s, "s")?;
        if self.count == 0 {
            return Err(KineticsError::BadValue {
                what: "number of administrations".into(),
                value: 0.0,
                unit: "1",
                expected: ">= 1",
            });
        }
        if self.count > MAX_ADMINISTRATIONS {
            return Err(KineticsError::BadValue {
                what: "number of administrations".into(),
                value: self.count as f64,
                unit: "1",
                expected: "at most 10000",
            });
        }
        if self.count > 1 {
            positive("interval between administrations", self.interval_s, "s")?;
        }
        Ok(())
    }

    /// Activity per administration \[Bq\]; `body_mass_kg` \[kg\] is needed for an amount per kg.
    pub fn activity_bq(&self, body_mass_kg: Option<f64>) -> KResult<f64> {
        match self.amount {
            Amount::Activity(a) => Ok(a),
            Amount::PerBodyMass(a) => {
                let m = body_mass_kg.ok_or_else(|| KineticsError::BadValue {
                    what: "body mass (needed for an activity per kg)".into(),
                    value: f64::NAN,
                    unit: "kg",
                    expected: "given, finite and > 0",
                })?;
                Ok(a * positive("body mass", m, "kg")?)
            }
        }
    }

    /// The administrations: times start + k × interval \[s\], equal activities \[Bq\].
    pub fn administrations(&self, body_mass_kg: Option<f64>) -> KResult<Vec<Administration>> {
        self.validate()?;
        let a = self.activity_bq(body_mass_kg)?;
        Ok((0..self.count)
            .map(|k| Administration {
                time_s: self.start_s + k as f64 * self.interval_s,
                activity_bq: a,
            })
            .collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    const WEEK: f64 = 7.0 * 86400.0;

    #[test]
    fn label_regimens() {
        let p = Regimen::parse("7.4 GBq every 6 weeks × 6").unwrap();
        let a = p.administrations(None).unwrap();
        assert_eq!(a.len(), 6);
        assert!((a[5].time_s - 30.0 * WEEK).abs() < 1e-6);
        assert!((a[0].activity_bq - 7.4e9).abs() < 1e-3);
        let x = Regimen::parse("55 kBq/kg every 4 weeks x 6").unwrap();
        assert!(x.administrations(None).is_err());
        let a = x.administrations(Some(70.0)).unwrap();
        assert_eq!(a.len(), 6);
        assert!((a[0].activity_bq - 3.85e6).abs() < 1e-6);
        assert!((a[1].time_s - 4.0 * WEEK).abs() < 1e-6);
        let l = Regimen::parse("7.4 GBq x 4 every 8 weeks").unwrap();
        assert_eq!(l.count, 4);
        assert!((l.interval_s - 8.0 * WEEK).abs() < 1e-6);
        let s = Regimen::parse("200 mCi").unwrap();
        assert_eq!(s.administrations(None).unwrap().len(), 1);
        assert!((s.activity_bq(None).unwrap() - 7.4e9).abs() < 1e-3);
    }

    #[test]
    fn bad_regimens_are_reported() {
        for t in [
            "",
            "every 6 weeks x 6",
            "7.4 GBq every 6 weeks",
            "7.4 GBq x 4",
            "7.4 Gy every 6 weeks x 6",
            "7.4 GBq every 6 parsecs x 6",
            "7.4 GBq every 6 weeks x six",
            "-7.4 GBq every 6 weeks x 6",
            "7.4 GBq every 6 weeks x 0",
            "7.4 GBq every 6 weeks x 99999999999",
            "7.4 GBq every -6 weeks x 6",
            "7.4 GBq every NaN weeks x 6",
        ] {
            let e = Regimen::parse(t);
            assert!(e.is_err(), "{t:?} accepted");
        }
        let e = Regimen::parse("7.4 Gy every 6 weeks x 6")
            .unwrap_err()
            .to_string();
        assert!(e.contains("7.4 Gy"), "{e}");
    }
}
