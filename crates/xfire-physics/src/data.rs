//! The embedded NIST data files (`data/estar_elements.csv`, `data/astar_compounds.csv`),
//! parsed once. Provenance: `data/README.md`.

use std::sync::OnceLock;

const ESTAR_ELEMENTS: &str = include_str!("../data/estar_elements.csv");
const ASTAR_COMPOUNDS: &str = include_str!("../data/astar_compounds.csv");

/// ESTAR per-element data.
#[derive(Debug, Clone)]
pub(crate) struct ElementShells {
    /// Electrons per shell; a negative last value marks conduction electrons.
    pub occupation: Vec<f64>,
    /// Binding energy per shell \[eV\].
    pub binding_ev: Vec<f64>,
    /// Radiative mass stopping power on [`EstarData::energy_mev`] [MeV cm²/g].
    pub radiative: Vec<f64>,
}

/// All ESTAR per-element data.
#[derive(Debug, Clone)]
pub(crate) struct EstarData {
    /// ESTAR's energy grid \[MeV\] (1 keV – 10 GeV, 113 points).
    pub energy_mev: Vec<f64>,
    /// Elements Z = 1..=100 at index Z − 1.
    pub elements: Vec<ElementShells>,
}

/// One ASTAR compound table.
#[derive(Debug, Clone)]
pub(crate) struct AstarCompound {
    /// ASTAR table name ("WATER_LIQUID").
    pub name: String,
    /// NIST's material name.
    pub nist_name: String,
    /// Density [g/cm³].
    pub density_g_cm3: f64,
    /// Mean excitation energy \[eV\].
    pub mean_excitation_ev: f64,
    /// (Z, mass fraction).
    pub composition: Vec<(u32, f64)>,
    /// Electronic mass stopping power [MeV cm²/g] on [`AstarData::energy_mev`].
    pub electronic: Vec<f64>,
    /// Nuclear mass stopping power [MeV cm²/g].
    pub nuclear: Vec<f64>,
    /// ASTAR's own CSDA range [g/cm²] (validation only).
    pub astar_range: Vec<f64>,
    /// Detour factor (projected / CSDA range).
    pub detour: Vec<f64>,
}

/// All ASTAR compound tables.
#[derive(Debug, Clone)]
pub(crate) struct AstarData {
    /// ASTAR's α energy grid \[MeV\] (1 keV – 1 GeV, 122 points).
    pub energy_mev: Vec<f64>,
    /// The compounds.
    pub compounds: Vec<AstarCompound>,
}

fn numbers(rest: &str) -> Vec<f64> {
    rest.split(',')
        .filter_map(|t| t.trim().parse::<f64>().ok())
        .collect()
}

fn split_key(line: &str) -> Option<(&str, &str)> {
    let line = line.trim();
    if line.is_empty() || line.starts_with('#') {
        return None;
    }
    line.split_once(',')
}

pub(crate) fn estar() -> &'static EstarData {
    static DATA: OnceLock<EstarData> = OnceLock::new();
    DATA.get_or_init(|| {
        let mut energy = Vec::new();
        let mut elements: Vec<ElementShells> = Vec::new();
        for (key, rest) in ESTAR_ELEMENTS.lines().filter_map(split_key) {
            match key {
                "energy_mev" => energy = numbers(rest),
                "z" => elements.push(ElementShells {
                    occupation: Vec::new(),
                    binding_ev: Vec::new(),
                    radiative: Vec::new(),
                }),
                "occupation" => {
                    if let Some(e) = elements.last_mut() {
                        e.occupation = numbers(rest);
                    }
                }
                "binding_ev" => {
                    if let Some(e) = elements.last_mut() {
                        e.binding_ev = numbers(rest);
                    }
                }
                "radiative_mev_cm2_g" => {
                    if let Some(e) = elements.last_mut() {
                        e.radiative = numbers(rest);
                    }
                }
                _ => {}
            }
        }
        EstarData {
            energy_mev: energy,
            elements,
        }
    })
}

pub(crate) fn astar() -> &'static AstarData {
    static DATA: OnceLock<AstarData> = OnceLock::new();
    DATA.get_or_init(|| {
        let mut energy = Vec::new();
        let mut compounds: Vec<AstarCompound> = Vec::new();
        for (key, rest) in ASTAR_COMPOUNDS.lines().filter_map(split_key) {
            if key == "energy_mev" {
                energy = numbers(rest);
                continue;
            }
            if key == "material" {
                let (name, nist) = rest.split_once(',').unwrap_or((rest, rest));
                compounds.push(AstarCompound {
                    name: name.trim().to_string(),
                    nist_name: nist.trim().to_string(),
                    density_g_cm3: 0.0,
                    mean_excitation_ev: 0.0,
                    composition: Vec::new(),
                    electronic: Vec::new(),
                    nuclear: Vec::new(),
                    astar_range: Vec::new(),
                    detour: Vec::new(),
                });
                continue;
            }
            let Some(c) = compounds.last_mut() else {
                continue;
            };
            match key {
                "density_g_cm3" => c.density_g_cm3 = numbers(rest).first().copied().unwrap_or(0.0),
                "mean_excitation_ev" => {
                    c.mean_excitation_ev = numbers(rest).first().copied().unwrap_or(0.0)
                }
                "composition" => {
                    c.composition = rest
                        .split(',')
                        .filter_map(|t| {
                            let (z, w) = t.split_once(':')?;
                            Some((z.trim().parse().ok()?, w.trim().parse().ok()?))
                        })
                        .collect()
                }
                "electronic_mev_cm2_g" => c.electronic = numbers(rest),
                "nuclear_mev_cm2_g" => c.nuclear = numbers(rest),
                "astar_csda_range_g_cm2" => c.astar_range = numbers(rest),
                "detour_factor" => c.detour = numbers(rest),
                _ => {}
            }
        }
        AstarData {
            energy_mev: energy,
            compounds,
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn estar_file_complete() {
        let d = estar();
        assert_eq!(d.energy_mev.len(), 113);
        assert_eq!(d.elements.len(), 100);
        for (i, e) in d.elements.iter().enumerate() {
            assert_eq!(e.occupation.len(), e.binding_ev.len(), "Z={}", i + 1);
            assert!(!e.occupation.is_empty());
            assert_eq!(e.radiative.len(), 113, "Z={}", i + 1);
            let n: f64 = e.occupation.iter().map(|v| v.abs()).sum();
            assert!(
                (n - (i + 1) as f64).abs() < 1e-9,
                "Z={} has {n} electrons",
                i + 1
            );
        }
    }

    #[test]
    fn astar_file_complete() {
        let d = astar();
        assert_eq!(d.energy_mev.len(), 122);
        assert!(d.compounds.len() >= 20);
        for c in &d.compounds {
            assert!(
                c.density_g_cm3 > 0.0 && c.mean_excitation_ev > 0.0,
                "{}",
                c.name
            );
            let s: f64 = c.composition.iter().map(|x| x.1).sum();
            assert!((s - 1.0).abs() < 2e-3, "{} sums to {s}", c.name);
            for v in [&c.electronic, &c.nuclear, &c.astar_range, &c.detour] {
                assert_eq!(v.len(), 122, "{}", c.name);
                assert!(v.iter().all(|x| *x > 0.0), "{}", c.name);
            }
        }
        assert_eq!(d.compounds[0].name, "WATER_LIQUID");
    }
}
