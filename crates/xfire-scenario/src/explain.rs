//! The explanatory text of the run and comparison reports ("How to read this"): physical
//! and RBE-weighted dose, what each lymphocyte exposure model means and why they differ, the
//! immunotherapy window, and the radiobiology parameters with their evidence grades. The
//! longer version for newcomers is `docs/guide.md`.

use crate::compute::ParameterUsed;
use crate::fmt::fmt_sig_short;

/// One parameter for people: "lymphocyte α = 1.39 Gy⁻¹ (grade A)", "tumour RBE_α = 5 (grade
/// A)", "lymphocyte repair half-time = 1.5 h (set in the scenario)".
pub fn parameter_text(p: &ParameterUsed) -> String {
    let (who, key) = p.name.split_once('.').unwrap_or(("", p.name.as_str()));
    let name = match key {
        "alpha" => "α".to_string(),
        "alpha_beta" => "α/β".to_string(),
        "repair_half_time" => "repair half-time".to_string(),
        "rbe_alpha" => "RBE_α".to_string(),
        k => k.replace('_', " "),
    };
    let unit = match p.unit.as_str() {
        "1/Gy" => " Gy⁻¹".to_string(),
        "1" | "" => String::new(),
        u => format!(" {u}"),
    };
    let grade = match p.grade.as_str() {
        "scenario" => "set in the scenario".to_string(),
        g => format!("grade {g}"),
    };
    let who = if who.is_empty() {
        String::new()
    } else {
        format!("{who} ")
    };
    format!("{who}{name} = {}{unit} ({grade})", fmt_sig_short(p.value))
}

fn value_of(parameters: &[ParameterUsed], name: &str) -> Option<f64> {
    parameters.iter().find(|p| p.name == name).map(|p| p.value)
}

/// The "How to read this" items shared by the run and comparison reports: `residence_d` is
/// the residence of arriving cohorts and walkers \[d\], `target` the window's survival target.
pub fn how_to_read(parameters: &[ParameterUsed], residence_d: f64, target: f64) -> Vec<String> {
    let rbe = value_of(parameters, "lymphocyte.rbe_alpha").unwrap_or(5.0);
    let alpha = value_of(parameters, "lymphocyte.alpha").unwrap_or(f64::NAN);
    let per_gy = (alpha * rbe).exp();
    let res = fmt_sig_short(residence_d);
    let mut v = vec![
        format!(
            "Absorbed dose (Gy) is physical: energy per mass, α particles and low-LET radiation (β, electrons, photons) together; every dose not called RBE-weighted is absorbed dose. RBE-weighted dose = low-LET dose + RBE_α × α dose, with RBE_α = {}: a weight for the higher cell killing of α particles, not a physical quantity. Surviving fractions always use the α dose with RBE_α.",
            fmt_sig_short(rbe)
        ),
        "Time frames: tumour cells and resident lymphocytes (the phantom's TILs, which never leave) over the whole treatment, from the first administration until less than 10⁻⁴ of the decays remain. ".to_string()
            + &format!("A cohort arriving on day D sits at the TIL positions from D to D + {res} d. Migrating lymphocytes enter on day D at the vessels (or the tumour rim) and walk through the tumour for {res} d. Blood: circulating lymphocytes."),
        format!(
            "Why the models differ by orders of magnitude: survival is exponential in dose — each gray of α dose divides a lymphocyte's survival by about {} (e^(α·RBE_α)) — and a population's mean survival is dominated by its least exposed cells. A cohort sits still, so cells at the rim, near the necrotic core or among weakly labelled cells keep some survival; a walker crosses many neighbourhoods and every walker gets close to the mean dose, so none is spared. Survivals below 10⁻⁶ are printed as <1e-6 (none survive).",
            fmt_sig_short(per_gy)
        ),
        format!(
            "Immunotherapy window: a cohort arriving on each candidate start day stays {res} d; the window opens on the first day whose cohort's mean survival reaches {} % and closes on the last day of that run of safe days (the next day's cohort would overlap the next administration, or the scan ends).",
            fmt_sig_short(100.0 * target)
        ),
    ];
    if !parameters.is_empty() {
        v.push(format!(
            "Radiobiology (linear-quadratic survival with repair during protraction): {}. Grades: A read in the primary source, B in a secondary source or code default, C unverified assumption — the lymphocyte α/β and repair half-time are C, so read absolute survivals as estimates and the differences between nuclides and days as the result.",
            parameters
                .iter()
                .map(parameter_text)
                .collect::<Vec<_>>()
                .join("; ")
        ));
    }
    v.push("The models, parameters and window are explained for newcomers in docs/guide.md of the xfire repository.".into());
    v
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(name: &str, value: f64, unit: &str, grade: &str) -> ParameterUsed {
        ParameterUsed {
            name: name.into(),
            value,
            unit: unit.into(),
            grade: grade.into(),
        }
    }

    #[test]
    fn parameters_read_like_a_paper() {
        assert_eq!(
            parameter_text(&p("lymphocyte.alpha", 1.0 / 0.72, "1/Gy", "A")),
            "lymphocyte α = 1.39 Gy⁻¹ (grade A)"
        );
        assert_eq!(
            parameter_text(&p("lymphocyte.rbe_alpha", 5.0, "1", "A")),
            "lymphocyte RBE_α = 5 (grade A)"
        );
        assert_eq!(
            parameter_text(&p("tumour.repair_half_time", 1.5, "h", "scenario")),
            "tumour repair half-time = 1.5 h (set in the scenario)"
        );
        let text = how_to_read(
            &[
                p("lymphocyte.alpha", 1.0 / 0.72, "1/Gy", "A"),
                p("lymphocyte.rbe_alpha", 5.0, "1", "A"),
            ],
            3.0,
            0.9,
        )
        .join(" ");
        // e^(1.389 × 5) = 1037
        assert!(text.contains("about 1040"), "{text}");
        assert!(text.contains("90 %") && text.contains("3 d"), "{text}");
        assert!(!text.contains("1.3888"), "{text}");
    }
}
