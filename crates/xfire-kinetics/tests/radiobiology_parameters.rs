//! The default radiobiology parameters (`radiobiology::PARAMETERS`) against the published
//! values they cite, collected in `tests/data/radiobiology_parameters.csv` (each row names its
//! source and grade; provenance in `tests/data/README.md`). A missing file or row fails.

use xfire_kinetics::radiobiology::{parameter, Grade};

/// (category, quantity) → (value cell, quality cell) of the reference table.
fn reference_rows() -> Vec<(String, String, String, String)> {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data/radiobiology_parameters.csv");
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("reference file {} unreadable: {e}", path.display()));
    let mut lines = text.lines().filter(|l| !l.starts_with('#'));
    let header = split_csv(lines.next().expect("header"));
    let col = |name: &str| header.iter().position(|h| h == name).expect(name);
    let (c, q, v, g) = (
        col("category"),
        col("quantity"),
        col("value"),
        col("quality"),
    );
    let rows: Vec<_> = lines
        .map(split_csv)
        .map(|f| (f[c].clone(), f[q].clone(), f[v].clone(), f[g].clone()))
        .collect();
    assert!(rows.len() >= 15, "{}: {} rows", path.display(), rows.len());
    rows
}

/// Fields of one CSV line (double-quoted fields may hold commas).
fn split_csv(line: &str) -> Vec<String> {
    let (mut out, mut cur, mut quoted) = (Vec::new(), String::new(), false);
    for ch in line.chars() {
        match ch {
            '"' => quoted = !quoted,
            ',' if !quoted => out.push(std::mem::take(&mut cur)),
            _ => cur.push(ch),
        }
    }
    out.push(cur);
    out
}

/// The leading number of a value cell ("0.72 (SD 0.18)" → 0.72).
fn leading_number(cell: &str) -> f64 {
    let s: String = cell
        .trim()
        .chars()
        .take_while(|c| c.is_ascii_digit() || *c == '.' || *c == '-')
        .collect();
    s.parse()
        .unwrap_or_else(|_| panic!("no number at the start of {cell:?}"))
}

fn row<'a>(
    rows: &'a [(String, String, String, String)],
    category: &str,
    quantity: &str,
) -> &'a (String, String, String, String) {
    rows.iter()
        .find(|r| r.0 == category && r.1 == quantity)
        .unwrap_or_else(|| panic!("reference row {category} / {quantity} missing"))
}

fn grade_letter(g: Grade) -> &'static str {
    match g {
        Grade::A => "A",
        Grade::B => "B",
        Grade::C => "C",
    }
}

#[test]
fn defaults_match_the_published_values_and_grades_they_cite() {
    let rows = reference_rows();
    // parameter key → reference row (category, quantity)
    let cases = [
        (
            "lymphocyte_d37_sensitive",
            "lymphocyte",
            "D37 radiosensitive subpopulation",
        ),
        (
            "lymphocyte_d37_t_type",
            "lymphocyte",
            "D37 less radiosensitive (T-type) subpopulation",
        ),
        (
            "tumour_alpha",
            "LQ",
            "alpha (radiosensitivity) tumour generic",
        ),
        ("tumour_alpha_beta", "LQ", "tumour alpha/beta (generic)"),
        (
            "tumour_repair_half_time",
            "LQ",
            "tumour repair half-time (generic)",
        ),
        ("kidney_alpha_beta", "LQ", "kidney alpha/beta"),
        ("kidney_repair_half_time", "LQ", "kidney repair half-time"),
        (
            "rbe_alpha",
            "RBE",
            "RBE used for alpha deterministic-effect dosimetry",
        ),
    ];
    for (key, category, quantity) in cases {
        let p = parameter(key).unwrap_or_else(|| panic!("parameter {key} missing"));
        let r = row(&rows, category, quantity);
        let value = leading_number(&r.2);
        assert!(
            (p.value - value).abs() <= 1e-12 * value.abs(),
            "{key}: {} vs published {value} ({quantity})",
            p.value
        );
        assert!(
            r.3.starts_with(grade_letter(p.grade)),
            "{key}: grade {:?} vs the table's {:?}",
            p.grade,
            r.3
        );
    }
    // RBE(E) = 9.14 − 0.510 E: the slope as published
    let r = row(
        &rows,
        "RBE",
        "alpha RBE vs energy (mouse testis sperm-head survival)",
    );
    assert!(r.2.contains("9.14 - 0.510*E_alpha"), "{}", r.2);
    let slope = parameter("rbe_alpha_energy_slope").unwrap();
    assert_eq!(slope.value, -0.510);
    assert_eq!(slope.grade, Grade::A);
}
