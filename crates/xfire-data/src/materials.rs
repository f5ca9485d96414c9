//! Materials: elemental composition, density and mean excitation energy.
//!
//! A [`Material`] holds what the stopping-power and cross-section models need: the mass
//! fractions of its elements, its nominal density [g/cm³] and its mean excitation energy
//! I \[eV\]. Six materials are built in ([`builtin_names`]); their definitions are NIST ESTAR's
//! (ICRU Report 37 / 44 / 46, ICRP Publication 23), copied unchanged by
//! `scripts/gen_materials.py` into `data/materials_builtin.toml` (provenance:
//! `data/materials.md`). Users add materials in the same TOML format
//! ([`parse_user_materials_toml`], documented in `docs/formats/materials.md`).
//!
//! The element table ([`element`], [`element_by_symbol`]) covers Z = 1..100 with the atomic
//! weights ESTAR uses, so that Z/A here equals ESTAR's.
//!
//! Invariants of a validated material: density and I finite and positive; every Z in
//! 1..=100 and listed once; mass fractions positive, sorted by Z, summing to 1 (input sums
//! within 1e-3 of 1 are rescaled).
//!
//! ```
//! use xfire_data::materials::builtin;
//! let water = builtin("water").unwrap();
//! assert!((water.z_over_a() - 0.555087).abs() < 1e-5);
//! ```

use std::collections::BTreeMap;
use std::sync::OnceLock;

use serde::{Deserialize, Serialize};
use thiserror::Error;

/// How far the input mass fractions may sum from 1 before they are rejected.
pub const FRACTION_SUM_TOLERANCE: f64 = 1.0e-3;

/// Avogadro's number [1/mol] (exact, SI 2019).
const AVOGADRO: f64 = 6.022_140_76e23;

/// Names of the built-in materials, in a fixed order.
const BUILTIN_NAMES: &[&str] = &[
    "water",
    "soft_tissue_icru",
    "soft_tissue_icrp",
    "bone_cortical",
    "lung",
    "air",
];

const ELEMENTS_CSV: &str = include_str!("../data/elements.csv");
const BUILTIN_TOML: &str = include_str!("../data/materials_builtin.toml");

/// A chemical element of the built-in table.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Element {
    /// Atomic number Z.
    pub z: u32,
    /// Chemical symbol ("H", "O", "Ca").
    pub symbol: &'static str,
    /// Standard atomic weight [g/mol], as used by NIST ESTAR/ASTAR.
    pub atomic_mass_g_mol: f64,
}

fn element_table() -> &'static [Element] {
    static TABLE: OnceLock<Vec<Element>> = OnceLock::new();
    TABLE.get_or_init(|| {
        let mut out = Vec::with_capacity(100);
        for line in ELEMENTS_CSV.lines() {
            let line = line.trim();
            if line.is_empty() || line.starts_with('#') || line.starts_with("z,") {
                continue;
            }
            let mut it = line.split(',');
            let (Some(z), Some(sym), Some(a)) = (it.next(), it.next(), it.next()) else {
                continue;
            };
            let (Ok(z), Ok(a)) = (z.trim().parse::<u32>(), a.trim().parse::<f64>()) else {
                continue;
            };
            out.push(Element {
                z,
                symbol: sym.trim(),
                atomic_mass_g_mol: a,
            });
        }
        out.sort_by_key(|e| e.z);
        out
    })
}

/// The element with atomic number `z`, if it is in the table (Z = 1..100).
pub fn element(z: u32) -> Option<&'static Element> {
    element_table().iter().find(|e| e.z == z)
}

/// The element with chemical symbol `symbol` (case-sensitive, "Ca" not "CA").
pub fn element_by_symbol(symbol: &str) -> Option<&'static Element> {
    element_table().iter().find(|e| e.symbol == symbol)
}

/// The highest atomic number in the element table.
pub fn max_z() -> u32 {
    element_table().last().map_or(0, |e| e.z)
}

/// A problem with a material definition.
#[derive(Debug, Clone, PartialEq, Error)]
pub enum MaterialError {
    /// The TOML text could not be read at all.
    #[error("materials TOML: {0}")]
    Toml(String),
    /// A material name is empty or has characters other than letters, digits, '_' and '-'.
    #[error("material name {name:?} is invalid: use letters, digits, '_' and '-'")]
    BadName {
        /// The offending name.
        name: String,
    },
    /// Density not finite and positive.
    #[error("material {material:?}: density must be finite and positive, got {value} g/cm3")]
    BadDensity {
        /// Material name.
        material: String,
        /// The value given [g/cm³].
        value: f64,
    },
    /// Mean excitation energy not finite and positive.
    #[error(
        "material {material:?}: mean excitation energy must be finite and positive, got {value} eV"
    )]
    BadExcitation {
        /// Material name.
        material: String,
        /// The value given \[eV\].
        value: f64,
    },
    /// The composition has no elements.
    #[error("material {material:?}: composition is empty")]
    EmptyComposition {
        /// Material name.
        material: String,
    },
    /// An element symbol or Z not in the table.
    #[error("material {material:?}: unknown element {element:?} (known: Z = 1..100, symbols such as \"H\", \"Ca\")")]
    UnknownElement {
        /// Material name.
        material: String,
        /// The element as written (symbol or Z).
        element: String,
    },
    /// The same element listed twice.
    #[error("material {material:?}: element Z = {z} listed more than once")]
    DuplicateElement {
        /// Material name.
        material: String,
        /// The repeated atomic number.
        z: u32,
    },
    /// A mass fraction not finite and positive.
    #[error("material {material:?}: mass fraction of {element} must be finite and positive, got {value}")]
    BadFraction {
        /// Material name.
        material: String,
        /// Element symbol.
        element: String,
        /// The value given.
        value: f64,
    },
    /// Mass fractions do not sum to 1 within [`FRACTION_SUM_TOLERANCE`].
    #[error("material {material:?}: mass fractions sum to {sum}, not 1 (tolerance 1e-3)")]
    FractionSum {
        /// Material name.
        material: String,
        /// The sum of the fractions given.
        sum: f64,
    },
    /// Two materials with the same name.
    #[error("material {name:?} is defined twice")]
    DuplicateMaterial {
        /// Material name.
        name: String,
    },
    /// Several problems at once (every problem of a file is reported).
    #[error("{}", .0.iter().map(|e| e.to_string()).collect::<Vec<_>>().join("; "))]
    Several(Vec<MaterialError>),
}

/// A homogeneous material.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Material {
    /// Name, unique within a run ("water").
    pub name: String,
    /// Nominal density [g/cm³]. Voxels may override it; mass quantities do not depend on it.
    pub density_g_cm3: f64,
    /// Mean excitation energy I \[eV\].
    pub mean_excitation_ev: f64,
    /// Elements as (Z, mass fraction); after validation sorted by Z, fractions summing to 1.
    pub composition: Vec<(u32, f64)>,
    /// Where the definition comes from (publication, database).
    pub source: String,
}

fn valid_name(name: &str) -> bool {
    !name.is_empty()
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
}

impl Material {
    /// Builds and validates a material; fractions within 1e-3 of summing to 1 are rescaled.
    pub fn new(
        name: &str,
        density_g_cm3: f64,
        mean_excitation_ev: f64,
        composition: Vec<(u32, f64)>,
        source: &str,
    ) -> Result<Material, MaterialError> {
        Material {
            name: name.to_string(),
            density_g_cm3,
            mean_excitation_ev,
            composition,
            source: source.to_string(),
        }
        .validated()
    }

    /// Checks every invariant (see module docs) and returns the material with its
    /// composition sorted by Z and normalised. Reports every problem found.
    pub fn validated(mut self) -> Result<Material, MaterialError> {
        let mut problems = Vec::new();
        let m = self.name.clone();
        if !valid_name(&m) {
            problems.push(MaterialError::BadName { name: m.clone() });
        }
        if !(self.density_g_cm3.is_finite() && self.density_g_cm3 > 0.0) {
            problems.push(MaterialError::BadDensity {
                material: m.clone(),
                value: self.density_g_cm3,
            });
        }
        if !(self.mean_excitation_ev.is_finite() && self.mean_excitation_ev > 0.0) {
            problems.push(MaterialError::BadExcitation {
                material: m.clone(),
                value: self.mean_excitation_ev,
            });
        }
        if self.composition.is_empty() {
            problems.push(MaterialError::EmptyComposition {
                material: m.clone(),
            });
        }
        self.composition.sort_by_key(|&(z, _)| z);
        let mut sum = 0.0;
        let mut fractions_ok = true;
        for (i, &(z, w)) in self.composition.iter().enumerate() {
            let el = element(z);
            if el.is_none() {
                problems.push(MaterialError::UnknownElement {
                    material: m.clone(),
                    element: format!("Z = {z}"),
                });
            }
            if i > 0 && self.composition[i - 1].0 == z {
                problems.push(MaterialError::DuplicateElement {
                    material: m.clone(),
                    z,
                });
            }
            if !(w.is_finite() && w > 0.0) {
                fractions_ok = false;
                problems.push(MaterialError::BadFraction {
                    material: m.clone(),
                    element: el.map_or(format!("Z = {z}"), |e| e.symbol.to_string()),
                    value: w,
                });
            } else {
                sum += w;
            }
        }
        if fractions_ok
            && !self.composition.is_empty()
            && (sum - 1.0).abs() > FRACTION_SUM_TOLERANCE
        {
            problems.push(MaterialError::FractionSum { material: m, sum });
        }
        match problems.len() {
            0 => {
                for c in &mut self.composition {
                    c.1 /= sum;
                }
                Ok(self)
            }
            1 => Err(problems.remove(0)),
            _ => Err(MaterialError::Several(problems)),
        }
    }

    /// The elements with their mass fractions: (element, w).
    fn elements(&self) -> impl Iterator<Item = (&'static Element, f64)> + '_ {
        self.composition
            .iter()
            .filter_map(|&(z, w)| element(z).map(|e| (e, w)))
    }

    /// ⟨Z/A⟩ = Σ w_i Z_i / A_i [mol/g].
    pub fn z_over_a(&self) -> f64 {
        self.elements()
            .map(|(e, w)| w * e.z as f64 / e.atomic_mass_g_mol)
            .sum()
    }

    /// Σ w_i Z_i (Z_i + 1) / A_i [mol/g]: the bremsstrahlung (nucleus + electron) scaling.
    pub fn z_z1_over_a(&self) -> f64 {
        self.elements()
            .map(|(e, w)| w * (e.z as f64) * (e.z as f64 + 1.0) / e.atomic_mass_g_mol)
            .sum()
    }

    /// Electrons per gram [1/g] = N_A ⟨Z/A⟩.
    pub fn electrons_per_g(&self) -> f64 {
        AVOGADRO * self.z_over_a()
    }

    /// Electron density at the nominal density [electrons/cm³] = ρ N_A ⟨Z/A⟩.
    pub fn electron_density_cm3(&self) -> f64 {
        self.density_g_cm3 * self.electrons_per_g()
    }

    /// Plasma energy ħω_p \[eV\] = 28.816 √(ρ⟨Z/A⟩) at the nominal density.
    pub fn plasma_energy_ev(&self) -> f64 {
        28.816 * (self.density_g_cm3 * self.z_over_a()).sqrt()
    }

    /// Mass fraction of element `z` (0 if absent).
    pub fn mass_fraction(&self, z: u32) -> f64 {
        self.composition
            .iter()
            .find(|c| c.0 == z)
            .map_or(0.0, |c| c.1)
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct FileSpec {
    #[serde(default)]
    materials: BTreeMap<String, MaterialSpec>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct MaterialSpec {
    density_g_cm3: f64,
    mean_excitation_ev: f64,
    composition: BTreeMap<String, f64>,
    #[serde(default)]
    source: Option<String>,
}

/// Parses user materials from TOML (format: `docs/formats/materials.md`):
///
/// ```toml
/// [materials.pmma]
/// density_g_cm3 = 1.19
/// mean_excitation_ev = 74.0
/// composition = { H = 0.080538, C = 0.599848, O = 0.319614 }
/// source = "NIST ESTAR 'POLYMETHYL METHACRALATE'"
/// ```
///
/// Returns the materials sorted by name. Every problem in the file is reported, each naming
/// the material and the bad value.
pub fn parse_user_materials_toml(text: &str) -> Result<Vec<Material>, MaterialError> {
    let spec: FileSpec = toml::from_str(text).map_err(|e| MaterialError::Toml(e.to_string()))?;
    let mut out = Vec::new();
    let mut problems = Vec::new();
    for (name, m) in spec.materials {
        let mut comp = Vec::with_capacity(m.composition.len());
        let mut bad = false;
        for (sym, w) in &m.composition {
            let el = element_by_symbol(sym.trim())
                .or_else(|| sym.trim().parse::<u32>().ok().and_then(element));
            match el {
                Some(e) => comp.push((e.z, *w)),
                None => {
                    bad = true;
                    problems.push(MaterialError::UnknownElement {
                        material: name.clone(),
                        element: sym.clone(),
                    });
                }
            }
        }
        let source = m
            .source
            .unwrap_or_else(|| "user-defined (no source given)".to_string());
        match Material::new(&name, m.density_g_cm3, m.mean_excitation_ev, comp, &source) {
            Ok(mat) if !bad => out.push(mat),
            Ok(_) => {}
            Err(MaterialError::Several(v)) => problems.extend(v),
            Err(e) => problems.push(e),
        }
    }
    match problems.len() {
        0 => Ok(out),
        1 => Err(problems.remove(0)),
        _ => Err(MaterialError::Several(problems)),
    }
}

fn builtin_table() -> &'static [Material] {
    static TABLE: OnceLock<Vec<Material>> = OnceLock::new();
    TABLE.get_or_init(|| {
        // The shipped file is checked by the tests; a broken file yields no built-ins.
        let parsed = parse_user_materials_toml(BUILTIN_TOML).unwrap_or_default();
        BUILTIN_NAMES
            .iter()
            .filter_map(|n| parsed.iter().find(|m| m.name == *n).cloned())
            .collect()
    })
}

/// Names of the built-in materials: "water", "soft_tissue_icru", "soft_tissue_icrp",
/// "bone_cortical", "lung", "air".
pub fn builtin_names() -> &'static [&'static str] {
    BUILTIN_NAMES
}

/// The built-in material called `name` (see [`builtin_names`]), or `None`.
pub fn builtin(name: &str) -> Option<Material> {
    builtin_table().iter().find(|m| m.name == name).cloned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn element_table_complete() {
        assert_eq!(element_table().len(), 100);
        for (i, e) in element_table().iter().enumerate() {
            assert_eq!(e.z as usize, i + 1);
            assert!(e.atomic_mass_g_mol > 0.9 * e.z as f64);
        }
        assert_eq!(element(8).unwrap().symbol, "O");
        assert_eq!(element_by_symbol("Ca").unwrap().z, 20);
        assert!((element(1).unwrap().atomic_mass_g_mol - 1.00794).abs() < 1e-9);
        assert!(element(0).is_none() && element(101).is_none());
        assert_eq!(max_z(), 100);
    }

    #[test]
    fn all_builtins_present_and_valid() {
        assert_eq!(builtin_table().len(), builtin_names().len());
        for n in builtin_names() {
            let m = builtin(n).unwrap();
            let s: f64 = m.composition.iter().map(|c| c.1).sum();
            assert!((s - 1.0).abs() < 1e-12, "{n}");
            assert!(m.source.contains("ESTAR"), "{n}");
            assert!(m.clone().validated().is_ok());
        }
        assert!(builtin("unobtainium").is_none());
    }

    #[test]
    fn z_over_a_matches_estar() {
        // ESTAR's own Z/A for each material (from its material table).
        for (n, zag) in [
            ("water", 0.555087),
            ("soft_tissue_icru", 0.54975),
            ("soft_tissue_icrp", 0.55121),
            ("bone_cortical", 0.521299),
            ("lung", 0.549652),
            ("air", 0.49919),
        ] {
            let m = builtin(n).unwrap();
            assert!((m.z_over_a() - zag).abs() < 2e-5, "{n}: {}", m.z_over_a());
        }
        let w = builtin("water").unwrap();
        assert_eq!(w.mean_excitation_ev, 75.0);
        assert!((w.electron_density_cm3() - 3.343e23).abs() < 0.001e23);
        assert!((w.plasma_energy_ev() - 21.47).abs() < 0.01);
        assert!((w.mass_fraction(1) - 0.111894).abs() < 1e-6);
    }

    #[test]
    fn parse_and_normalise() {
        let t = r#"
[materials.pmma]
density_g_cm3 = 1.19
mean_excitation_ev = 74.0
composition = { H = 0.0805, C = 0.5998, O = 0.3196 }
source = "test"

[materials.lih]
density_g_cm3 = 0.82
mean_excitation_ev = 36.5
composition = { "1" = 0.126797, Li = 0.873203 }
"#;
        let v = parse_user_materials_toml(t).unwrap();
        assert_eq!(v.len(), 2);
        assert_eq!(v[1].name, "pmma");
        let s: f64 = v[1].composition.iter().map(|c| c.1).sum();
        assert!((s - 1.0).abs() < 1e-12);
        assert_eq!(v[1].composition[0].0, 1);
        assert_eq!(v[0].composition, vec![(1, 0.126797), (3, 0.873203)]);
        assert!(v[0].source.contains("user-defined"));
    }

    #[test]
    fn errors_name_material_and_value() {
        let t = r#"
[materials.bad]
density_g_cm3 = -1.0
mean_excitation_ev = 0.0
composition = { H = 0.5, Xx = 0.5 }

[materials.sum]
density_g_cm3 = 1.0
mean_excitation_ev = 75.0
composition = { H = 0.5, O = 0.4 }
"#;
        let e = parse_user_materials_toml(t).unwrap_err().to_string();
        assert!(e.contains("\"bad\"") && e.contains("-1 g/cm3"), "{e}");
        assert!(e.contains("0 eV"), "{e}");
        assert!(e.contains("\"Xx\""), "{e}");
        assert!(e.contains("\"sum\"") && e.contains("0.9"), "{e}");

        let e = parse_user_materials_toml("[materials.x]\ndensity_g_cm3 = 1.0\n")
            .unwrap_err()
            .to_string();
        assert!(e.contains("mean_excitation_ev"), "{e}");
        let e = parse_user_materials_toml(
            "[materials.x]\ndensity_g_cm3 = 1.0\nmean_excitation_ev = 75.0\ncomposition = { H = -0.1, O = 1.1 }\n",
        )
        .unwrap_err()
        .to_string();
        assert!(e.contains("-0.1"), "{e}");
        let e = parse_user_materials_toml(
            "[materials.x]\ndensity_g_cm3 = 1.0\nmean_excitation_ev = 75.0\ncomposition = {}\nfoo = 1\n",
        )
        .unwrap_err()
        .to_string();
        assert!(e.contains("foo"), "{e}");
        assert!(Material::new("a b", 1.0, 75.0, vec![(1, 1.0)], "").is_err());
        assert!(Material::new("dup", 1.0, 75.0, vec![(1, 0.5), (1, 0.5)], "").is_err());
        assert!(Material::new("z", 1.0, 75.0, vec![(101, 1.0)], "").is_err());
        assert!(Material::new("ok", 1.0, 75.0, vec![(8, 0.5), (1, 0.5004)], "").is_ok());
    }

    #[test]
    fn serde_roundtrip() {
        let w = builtin("water").unwrap();
        let j = serde_json::to_string(&w).unwrap();
        let back: Material = serde_json::from_str(&j).unwrap();
        assert_eq!(w, back);
    }
}
