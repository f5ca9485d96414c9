//! Writes the synthetic patient example `phantoms/patient-lu177/` (or the folder given):
//! `ct.nii.gz` (HU), `labels.nii.gz` + `labels.csv`, and ¹⁷⁷Lu activity images
//! `activity_024h.nii.gz`, `activity_072h.nii.gz`, `activity_168h.nii.gz` (Bq per voxel) for
//! 7.4 GBq administered, on 48³ voxels of 4.42 mm (`xfire_dose::synthetic`).
//!
//! `cargo run --release -p xfire-dose --example make_patient -- phantoms/patient-lu177`

use std::path::PathBuf;

use xfire_dose::synthetic::{torso, torso_activity, torso_organs};
use xfire_io::{ElementType, Volume};
use xfire_phantom::Grid;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let dir = PathBuf::from(
        std::env::args()
            .nth(1)
            .unwrap_or_else(|| "phantoms/patient-lu177".into()),
    );
    std::fs::create_dir_all(&dir)?;
    let grid = Grid::centred([48; 3], [0.442; 3])?;
    let organs = torso_organs();
    let (ct, label) = torso(&grid, &organs);
    let write = |name: &str, values: Vec<f64>, element| {
        xfire_io::nifti::write_nifti(
            &dir.join(name),
            &Volume {
                grid,
                values,
                element,
            },
        )
    };
    write("ct.nii.gz", ct, ElementType::I16)?;
    write(
        "labels.nii.gz",
        label.iter().map(|&l| l as f64).collect(),
        ElementType::U8,
    )?;
    let mut names = String::from("id,name\n");
    for o in &organs {
        names.push_str(&format!("{},{}\n", o.id, o.name));
    }
    std::fs::write(dir.join("labels.csv"), names)?;
    for h in [24, 72, 168] {
        let a = torso_activity(&label, &organs, 7.4e9, h as f64 * 3600.0);
        write(&format!("activity_{h:03}h.nii.gz"), a, ElementType::F32)?;
    }
    println!("wrote {}", dir.display());
    Ok(())
}
