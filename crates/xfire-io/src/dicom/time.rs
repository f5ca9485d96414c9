//! DICOM dates and times (DA `YYYYMMDD`, TM `HHMMSS.FFFFFF`, DT `YYYYMMDDHHMMSS.FFFFFF&ZZXX`)
//! as seconds since 1970-01-01 00:00 of the same clock (time-zone offsets are applied when
//! a DT carries one; DA + TM pairs are read as local time, which cancels in differences).

/// Days from 1970-01-01 to the civil date `y-m-d` (proleptic Gregorian; H. Hinnant's
/// `days_from_civil`).
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

fn digits(s: &str, range: std::ops::Range<usize>) -> Option<i64> {
    let part = s.get(range)?;
    if !part.bytes().all(|c| c.is_ascii_digit()) {
        return None;
    }
    part.parse().ok()
}

/// A DA value `YYYYMMDD` (also the old `YYYY.MM.DD`) as seconds since 1970 at 00:00.
pub fn date_s(da: &str) -> Option<f64> {
    let s: String = da.trim().chars().filter(|&c| c != '.').collect();
    if s.len() != 8 {
        return None;
    }
    let (y, m, d) = (digits(&s, 0..4)?, digits(&s, 4..6)?, digits(&s, 6..8)?);
    if !(1..=12).contains(&m) || !(1..=31).contains(&d) {
        return None;
    }
    Some(days_from_civil(y, m, d) as f64 * 86_400.0)
}

/// A TM value `HH[MM[SS[.FFFFFF]]]` (also the old `HH:MM:SS`) as seconds after midnight.
pub fn time_s(tm: &str) -> Option<f64> {
    let s: String = tm.trim().chars().filter(|&c| c != ':').collect();
    let (whole, frac) = match s.split_once('.') {
        Some((w, f)) => (w.to_string(), f),
        None => (s.clone(), ""),
    };
    if !matches!(whole.len(), 2 | 4 | 6) {
        return None;
    }
    let h = digits(&whole, 0..2)?;
    let m = if whole.len() >= 4 {
        digits(&whole, 2..4)?
    } else {
        0
    };
    let sec = if whole.len() == 6 {
        digits(&whole, 4..6)?
    } else {
        0
    };
    if h > 23 || m > 59 || sec > 60 {
        return None;
    }
    let f = if frac.is_empty() {
        0.0
    } else {
        format!("0.{frac}").parse::<f64>().ok()?
    };
    Some((h * 3600 + m * 60 + sec) as f64 + f)
}

/// A DT value `YYYYMMDDHHMMSS.FFFFFF[&ZZXX]` as seconds since 1970 (UTC when an offset is
/// given). At least the date is required.
pub fn datetime_s(dt: &str) -> Option<f64> {
    let dt = dt.trim();
    let (body, offset_s) = match dt.rfind(['+', '-']) {
        Some(k) if k >= 8 => {
            let (b, z) = dt.split_at(k);
            let sign = if z.starts_with('-') { -1.0 } else { 1.0 };
            let hh = digits(z, 1..3)? as f64;
            let mm = digits(z, 3..5)? as f64;
            (b, sign * (hh * 3600.0 + mm * 60.0))
        }
        _ => (dt, 0.0),
    };
    let day = date_s(body.get(0..8)?)?;
    let rest = &body[8..];
    let t = if rest.is_empty() { 0.0 } else { time_s(rest)? };
    Some(day + t - offset_s)
}

/// The civil date of day `z` since 1970-01-01 (H. Hinnant's `civil_from_days`).
fn civil_from_days(z: i64) -> (i64, i64, i64) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    (yoe + era * 400 + i64::from(m <= 2), m, d)
}

/// Seconds since 1970 as a DA (`YYYYMMDD`) and a TM (`HHMMSS.FFFFFF`), microseconds rounded.
pub fn format_date_time(s: f64) -> (String, String) {
    let us = (s * 1e6).round() as i64;
    let day = us.div_euclid(86_400_000_000);
    let rest = us - day * 86_400_000_000;
    let (y, m, d) = civil_from_days(day);
    let (sec, frac) = (rest / 1_000_000, rest % 1_000_000);
    (
        format!("{y:04}{m:02}{d:02}"),
        format!(
            "{:02}{:02}{:02}.{frac:06}",
            sec / 3600,
            sec / 60 % 60,
            sec % 60
        ),
    )
}

/// Date and time of a DA + TM pair.
pub fn date_time_s(da: &str, tm: &str) -> Option<f64> {
    Some(date_s(da)? + time_s(tm)?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_dates() {
        // 2000-03-01 is day 11017 of the Unix epoch; 1970-01-01 is day 0
        assert_eq!(date_s("19700101"), Some(0.0));
        assert_eq!(date_s("20000301"), Some(11_017.0 * 86_400.0));
        assert_eq!(date_s("2000.03.01"), Some(11_017.0 * 86_400.0));
        assert_eq!(date_s("2000031"), None);
        assert_eq!(date_s("20001301"), None);
    }

    #[test]
    fn times_and_datetimes() {
        assert_eq!(time_s("101530.25"), Some(36_930.25));
        assert_eq!(time_s("10:15:30"), Some(36_930.0));
        assert_eq!(time_s("1015"), Some(36_900.0));
        assert_eq!(time_s("10153"), None);
        assert_eq!(time_s("2561"), None);
        let a = datetime_s("20240102101530").unwrap();
        assert_eq!(a, date_time_s("20240102", "101530").unwrap());
        // an offset of +0100 is one hour earlier in UTC
        assert_eq!(datetime_s("20240102101530+0100").unwrap(), a - 3600.0);
        // 72 h across a month end
        let b = date_time_s("20240201", "101530").unwrap();
        let c = date_time_s("20240131", "101530").unwrap();
        assert_eq!(b - c, 86_400.0);
    }

    #[test]
    fn formatting_inverts_parsing() {
        for s in [
            0.0,
            951_868_800.5,
            1_706_782_530.25,
            -86_400.0 * 400.0 + 1.0,
        ] {
            let (da, tm) = format_date_time(s);
            assert_eq!(date_time_s(&da, &tm), Some(s), "{da} {tm}");
        }
        assert_eq!(
            format_date_time(0.0),
            ("19700101".into(), "000000.000000".into())
        );
    }
}
