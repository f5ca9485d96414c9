//! Image input: NIfTI, MetaImage or xfire HDF5 (all through `xfire-io`) or values already in
//! memory ([`Image`]), and the checks that images of one dose calculation share a grid.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use xfire_io::Volume;
use xfire_phantom::{Grid, Phantom};

use crate::{invalid, Result};

/// The kind of an image file, from its name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ImageKind {
    /// NIfTI-1 (`.nii`, `.nii.gz`).
    Nifti,
    /// MetaImage (`.mhd`).
    MetaImage,
    /// xfire phantom HDF5 (`.h5`, `.hdf5`).
    XfireH5,
    /// A DICOM series: a folder, or a `.dcm` file (`crate::dicom`).
    Dicom,
}

impl ImageKind {
    /// The kind of `path` by its extension (case-insensitive); an error names the file.
    pub fn of(path: &Path) -> Result<Self> {
        let name = path.to_string_lossy().to_ascii_lowercase();
        if xfire_io::dicom::is_dicom_path(path) {
            Ok(Self::Dicom)
        } else if name.ends_with(".nii") || name.ends_with(".nii.gz") {
            Ok(Self::Nifti)
        } else if name.ends_with(".mhd") {
            Ok(Self::MetaImage)
        } else if name.ends_with(".h5") || name.ends_with(".hdf5") {
            Ok(Self::XfireH5)
        } else {
            Err(invalid(format!(
                "{}: unknown image format; give NIfTI (.nii, .nii.gz), MetaImage (.mhd), an \
                 xfire phantom (.h5) or DICOM (a series folder or a .dcm file)",
                path.display()
            )))
        }
    }
}

/// An input image: a file, or values on a grid already in memory (the Python package's
/// numpy arrays) with the name messages call it by (the Python argument).
#[derive(Debug, Clone, PartialEq)]
pub enum Image {
    /// A NIfTI, MetaImage or xfire HDF5 file.
    File(PathBuf),
    /// A scalar image in memory.
    Memory {
        /// What messages call it.
        name: String,
        /// The grid and values.
        volume: Volume,
    },
}

impl Image {
    /// What messages call the image: the file, or the given name.
    pub fn name(&self) -> String {
        match self {
            Image::File(p) => p.display().to_string(),
            Image::Memory { name, .. } => name.clone(),
        }
    }

    /// Error unless a file image exists with a known format; `what` says which input it is.
    pub fn check(&self, what: &str) -> Result<()> {
        let Image::File(path) = self else {
            return Ok(());
        };
        // a folder is a DICOM series
        if !path.is_file() && !path.is_dir() {
            return Err(invalid(format!(
                "{what} {} does not exist or is not a regular file or DICOM folder",
                path.display()
            )));
        }
        ImageKind::of(path).map(|_| ())
    }

    /// The file if it is an xfire phantom (`.h5`), read.
    pub fn phantom(&self) -> Result<Option<Phantom>> {
        match self {
            Image::File(p) if ImageKind::of(p)? == ImageKind::XfireH5 => Ok(Some(read_phantom(p)?)),
            _ => Ok(None),
        }
    }

    /// The scalar image ([`read_volume`] of a file).
    pub fn volume(&self) -> Result<Volume> {
        match self {
            Image::File(p) => read_volume(p),
            Image::Memory { volume, .. } => Ok(volume.clone()),
        }
    }

    /// The file or folder, if the image is a DICOM series (`crate::dicom`).
    pub fn dicom_file(&self) -> Option<&Path> {
        match self {
            Image::File(p) if ImageKind::of(p).ok() == Some(ImageKind::Dicom) => Some(p),
            _ => None,
        }
    }

    /// The file, if the image is a NIfTI file.
    pub fn nifti_file(&self) -> Option<&Path> {
        match self {
            Image::File(p) if ImageKind::of(p).ok() == Some(ImageKind::Nifti) => Some(p),
            _ => None,
        }
    }
}

/// Read a scalar image (NIfTI or MetaImage). An xfire HDF5 phantom holds labels, materials
/// and densities but no activity or CT numbers: it is refused here (use it as `--ct` or
/// `--labels`, [`read_phantom`]).
pub fn read_volume(path: &Path) -> Result<Volume> {
    match ImageKind::of(path)? {
        ImageKind::Nifti => Ok(xfire_io::nifti::read_nifti(path)?),
        ImageKind::MetaImage => Ok(xfire_io::metaimage::read_metaimage(path)?),
        ImageKind::Dicom => Err(invalid(format!(
            "{}: DICOM is read for the activity (SPECT/PET) and --ct only; give labels as \
             NIfTI or MetaImage",
            path.display()
        ))),
        ImageKind::XfireH5 => Err(invalid(format!(
            "{}: an xfire phantom holds no scalar image (activity or CT numbers); give a NIfTI \
             or MetaImage file, or use the phantom as --ct or --labels",
            path.display()
        ))),
    }
}

/// Read an xfire HDF5 phantom.
pub fn read_phantom(path: &Path) -> Result<Phantom> {
    Ok(xfire_io::h5::read_phantom(path)?)
}

/// One line describing a grid, for messages: "48×48×48 voxels of 4.42×4.42×4.42 mm, origin
/// (…) mm".
pub fn describe_grid(g: &Grid) -> String {
    format!(
        "{}×{}×{} voxels of {}×{}×{} mm, corner at ({}, {}, {}) mm",
        g.nx,
        g.ny,
        g.nz,
        g.voxel_cm[0] * 10.0,
        g.voxel_cm[1] * 10.0,
        g.voxel_cm[2] * 10.0,
        g.origin_cm[0] * 10.0,
        g.origin_cm[1] * 10.0,
        g.origin_cm[2] * 10.0
    )
}

/// Error unless `other` (from file `other_name`) has the grid `reference` (of
/// `reference_name`); the message gives both grids. Images are never resampled.
pub fn check_same_grid(
    reference: &Grid,
    reference_name: &str,
    other: &Grid,
    other_name: &str,
) -> Result<()> {
    if reference.same_as(other) {
        return Ok(());
    }
    Err(invalid(format!(
        "grids differ: {other_name} has {} but {reference_name} has {}; resample the images \
         onto one grid first (xfire dose does not resample)",
        describe_grid(other),
        describe_grid(reference)
    )))
}

/// A label image: a label id per voxel (0 = unlabelled) and a name per id.
#[derive(Debug, Clone, PartialEq)]
pub struct Labels {
    /// Label id of each voxel, row-major (nz, ny, nx), x fastest.
    pub id: Vec<u32>,
    /// Name of each id present (ids without a name are called `label_ID`).
    pub names: BTreeMap<u32, String>,
}

impl Labels {
    /// The ids present in the image other than 0, ascending.
    pub fn ids(&self) -> Vec<u32> {
        let mut seen = std::collections::BTreeSet::new();
        for &l in &self.id {
            if l != 0 {
                seen.insert(l);
            }
        }
        seen.into_iter().collect()
    }

    /// The name of `id`.
    pub fn name(&self, id: u32) -> String {
        self.names
            .get(&id)
            .cloned()
            .unwrap_or_else(|| format!("label_{id}"))
    }
}

/// Labels from a scalar image (called `name` in messages): every value must be a whole
/// number in 0..=65535.
pub fn labels_from_volume(v: &Volume, name: &str) -> Result<Labels> {
    let mut id = Vec::with_capacity(v.values.len());
    for (k, &x) in v.values.iter().enumerate() {
        if !((0.0..=65535.0).contains(&x) && x.fract() == 0.0) {
            return Err(invalid(format!(
                "{name}: voxel {k} has label value {x}; labels must be whole numbers 0 to 65535"
            )));
        }
        id.push(x as u32);
    }
    Ok(Labels {
        id,
        names: BTreeMap::new(),
    })
}

/// Labels (ids and names) of an xfire phantom.
pub fn labels_from_phantom(p: &Phantom) -> Labels {
    Labels {
        id: p.label.iter().map(|&l| l as u32).collect(),
        names: p
            .labels
            .entries()
            .iter()
            .map(|(i, n)| (*i as u32, n.clone()))
            .collect(),
    }
}

/// Read label names from a CSV file of `id,name` lines (a header line `id,name` and lines
/// starting with `#` are skipped).
pub fn read_label_names(path: &Path) -> Result<BTreeMap<u32, String>> {
    let text = std::fs::read_to_string(path).map_err(|e| crate::DoseError::File {
        path: path.to_path_buf(),
        error: e,
    })?;
    let mut out = BTreeMap::new();
    for (n, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') || line.eq_ignore_ascii_case("id,name") {
            continue;
        }
        let (id, name) = line.split_once(',').ok_or_else(|| {
            invalid(format!(
                "{} line {}: expected 'id,name', got {line:?}",
                path.display(),
                n + 1
            ))
        })?;
        let id: u32 = id.trim().parse().map_err(|_| {
            invalid(format!(
                "{} line {}: label id {:?} is not a whole number",
                path.display(),
                n + 1,
                id.trim()
            ))
        })?;
        out.insert(id, name.trim().to_string());
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grid_checks_name_both_grids() {
        let a = Grid::centred([4, 4, 4], [0.442; 3]).unwrap();
        let b = Grid::centred([4, 4, 5], [0.442; 3]).unwrap();
        assert!(check_same_grid(&a, "a.nii", &a, "b.nii").is_ok());
        let e = check_same_grid(&a, "a.nii", &b, "b.nii")
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("b.nii has 4×4×5") && e.contains("a.nii has 4×4×4"),
            "{e}"
        );
    }

    #[test]
    fn labels_must_be_whole() {
        let g = Grid::centred([2, 1, 1], [1.0; 3]).unwrap();
        let v = Volume {
            grid: g,
            values: vec![1.0, 2.5],
            element: xfire_io::ElementType::F32,
        };
        let e = labels_from_volume(&v, "seg.nii").unwrap_err().to_string();
        assert!(e.contains("2.5"), "{e}");
    }

    #[test]
    fn kinds_by_extension() {
        assert_eq!(
            ImageKind::of(Path::new("a.NII.GZ")).unwrap(),
            ImageKind::Nifti
        );
        assert_eq!(
            ImageKind::of(Path::new("a.mhd")).unwrap(),
            ImageKind::MetaImage
        );
        assert_eq!(ImageKind::of(Path::new("a.dcm")).unwrap(), ImageKind::Dicom);
        assert!(ImageKind::of(Path::new("a.png")).is_err());
    }
}
