//! The S-value table: the self row and one row per centre-to-centre distance, five columns
//! (target ← source) in Gy/(Bq·s), each with its relative uncertainty.

use serde::Serialize;

use crate::geometry::{Source, Target};

/// The (target, source) pairs of a row, in column order.
pub const COLUMNS: [(Target, Source); 5] = [
    (Target::Nucleus, Source::Nucleus),
    (Target::Nucleus, Source::Cytoplasm),
    (Target::Nucleus, Source::CellSurface),
    (Target::Cell, Source::Cell),
    (Target::Cell, Source::CellSurface),
];

/// Column name of a pair ("S_N_from_Cy").
pub fn column_name(t: Target, s: Source) -> String {
    format!("S_{}_from_{}", t.abbrev(), s.abbrev())
}

/// One row: S values of the target cell `distance_um` from the source cell (None: the
/// source cell itself).
#[derive(Debug, Clone, PartialEq)]
pub struct Row {
    /// Centre-to-centre distance [cm]; None for the self row.
    pub distance_cm: Option<f64>,
    /// S values [Gy/(Bq·s)] in [`COLUMNS`] order.
    pub s_gy_per_bq_s: [f64; 5],
    /// Relative standard uncertainties (0 for the analytic method).
    pub rel_unc: [f64; 5],
}

impl Row {
    /// The row as a JSON object (`distance_um`, then `S_..` and `S_.._rel_unc`).
    pub fn to_json(&self) -> serde_json::Value {
        let mut m = serde_json::Map::new();
        m.insert(
            "distance_um".into(),
            self.distance_cm
                .map_or(serde_json::Value::Null, |d| serde_json::json!(um(d))),
        );
        for (k, (t, s)) in COLUMNS.iter().enumerate() {
            let name = column_name(*t, *s);
            m.insert(name.clone(), serde_json::json!(self.s_gy_per_bq_s[k]));
            m.insert(
                format!("{name}_rel_unc"),
                serde_json::json!(self.rel_unc[k]),
            );
        }
        serde_json::Value::Object(m)
    }
}

/// Header of the CSV table.
pub fn csv_header() -> String {
    let mut h = vec!["distance_um".to_string()];
    for (t, s) in COLUMNS {
        let n = column_name(t, s);
        h.push(n.clone());
        h.push(format!("{n}_rel_unc"));
    }
    h.join(",")
}

/// The rows as CSV (header line, one line per row; the self row has an empty distance).
pub fn to_csv(rows: &[Row]) -> String {
    let mut out = csv_header();
    out.push('\n');
    for r in rows {
        let mut f = vec![r.distance_cm.map_or(String::new(), |d| fmt_num(um(d)))];
        for k in 0..5 {
            f.push(format!("{:.6e}", r.s_gy_per_bq_s[k]));
            f.push(format!("{:.3e}", r.rel_unc[k]));
        }
        out.push_str(&f.join(","));
        out.push('\n');
    }
    out
}

/// Centimetres to micrometres, rounded to 1e-9 µm (so 10e-4 cm prints as 10).
pub fn um(cm: f64) -> f64 {
    (cm * 1e13).round() / 1e9
}

fn fmt_num(x: f64) -> String {
    let s = format!("{x:.6}");
    s.trim_end_matches('0').trim_end_matches('.').to_string()
}

/// What the table was computed with (written beside the rows).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Metadata {
    /// Canonical nuclide name.
    pub nuclide: String,
    /// "csda" or "mc".
    pub method: String,
    /// Cell radius [µm].
    pub cell_radius_um: f64,
    /// Nucleus radius [µm].
    pub nucleus_radius_um: f64,
    /// Medium (material name) and its density [g/cm³].
    pub material: String,
    /// Density [g/cm³].
    pub density_g_cm3: f64,
    /// Radiation types included (ICRP-107 keys).
    pub emissions: Vec<String>,
    /// Units of the S values.
    pub units: String,
    /// Model description (what is and is not simulated).
    pub model: String,
    /// Decays per source compartment and row (MC), or null.
    pub decays: Option<u64>,
    /// Voxel edge [µm] (MC), or null.
    pub voxel_um: Option<f64>,
    /// Seed (MC), or null.
    pub seed: Option<u64>,
}

/// The whole result as JSON: `{ "rows": [...], ...metadata }`.
pub fn to_json(rows: &[Row], meta: &Metadata) -> serde_json::Value {
    let mut v = serde_json::to_value(meta).unwrap_or(serde_json::Value::Null);
    if let serde_json::Value::Object(m) = &mut v {
        m.insert(
            "rows".into(),
            serde_json::Value::Array(rows.iter().map(Row::to_json).collect()),
        );
    }
    v
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_and_json_name_every_column() {
        let rows = vec![
            Row {
                distance_cm: None,
                s_gy_per_bq_s: [1.0, 2.0, 3.0, 4.0, 5.0],
                rel_unc: [0.0; 5],
            },
            Row {
                distance_cm: Some(10e-4),
                s_gy_per_bq_s: [1e-5; 5],
                rel_unc: [0.01; 5],
            },
        ];
        let csv = to_csv(&rows);
        let lines: Vec<&str> = csv.lines().collect();
        assert_eq!(lines.len(), 3);
        assert!(lines[0].starts_with("distance_um,S_N_from_N,S_N_from_N_rel_unc,S_N_from_Cy"));
        assert!(lines[1].starts_with(",1.000000e0,"));
        assert!(lines[2].starts_with("10,"));
        let j = rows[1].to_json();
        assert_eq!(j["distance_um"], serde_json::json!(10.0));
        assert_eq!(j["S_C_from_CS_rel_unc"], serde_json::json!(0.01));
        assert!(rows[0].to_json()["distance_um"].is_null());
    }
}
