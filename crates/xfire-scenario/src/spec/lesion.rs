//! `[phantom.lesion]`: the micro phantom nested in a generated lesion and body, or in the
//! lesion label of a phantom file or label image (docs/formats/scenario.md). Problems that
//! need the micro phantom or the file (a box larger than the lesion, a label the file does
//! not have) are found by the plan (`crate::lesion`).

use std::path::{Path, PathBuf};

use xfire_core::units;

use super::{get_str, length, qty_text, sub, Ctx, Tab};

/// A generated spherical lesion in a spherical body.
#[derive(Debug, Clone, PartialEq)]
pub struct SphereLesion {
    /// Lesion radius \[cm\].
    pub radius_cm: f64,
    /// Macro voxel edge \[cm\].
    pub voxel_cm: f64,
    /// Radius of the body sphere around the lesion \[cm\]; vacuum beyond.
    pub body_radius_cm: f64,
}

/// Where the lesion and body come from.
#[derive(Debug, Clone, PartialEq)]
pub enum LesionGeometry {
    /// Generated (`radius`, `voxel`, `body_radius`).
    Sphere(SphereLesion),
    /// A file (`file`, `label`): an xfire phantom (`.h5`, the label by name) or a label image
    /// (NIfTI or MetaImage, the label by its integer value).
    File {
        /// The file (relative paths resolved against the scenario's folder).
        path: PathBuf,
        /// The lesion label: a name (phantom) or an integer value (image).
        label: String,
    },
}

/// Where the micro box's centre lies.
#[derive(Debug, Clone, PartialEq)]
pub enum LesionPosition {
    /// At the lesion centre (a generated lesion's centre; a file's lesion voxels' centroid).
    Centre,
    /// A depth \[cm\] below the surface of a generated lesion, on its +z axis.
    Depth(f64),
    /// A point \[cm\] in the macro phantom's coordinates.
    Point([f64; 3]),
}

/// The macro activity.
#[derive(Debug, Clone, PartialEq)]
pub enum LesionActivity {
    /// The micro phantom's mean activity per gram in every lesion voxel.
    Match,
    /// None: only the micro phantom's decays.
    None,
    /// An image on the macro grid (relative activity per voxel), scaled so that the lesion's
    /// mean activity per gram is the micro phantom's.
    Map(PathBuf),
}

/// The lesion the micro phantom is nested in.
#[derive(Debug, Clone, PartialEq)]
pub struct LesionSpec {
    /// Generated sphere or file.
    pub geometry: LesionGeometry,
    /// Lesion material (built-in name): the generated lesion's, and the lesion voxels' of a
    /// label image (a phantom file keeps its own materials).
    pub material: String,
    /// Where the micro box's centre lies.
    pub position: LesionPosition,
    /// The macro activity.
    pub activity: LesionActivity,
    /// Line of the `[phantom.lesion]` table.
    pub line: Option<usize>,
}

impl LesionSpec {
    /// The generated sphere, if the lesion is one.
    pub fn sphere(&self) -> Option<&SphereLesion> {
        match &self.geometry {
            LesionGeometry::Sphere(s) => Some(s),
            LesionGeometry::File { .. } => None,
        }
    }
}

/// Material of the body around a generated lesion (and of a label image's other labels).
pub const BODY_MATERIAL: &str = "soft_tissue_icru";

/// A required length key of `[phantom.lesion]`.
fn required_len(cx: &mut Ctx, lt: &mut Tab, key: &'static str, why: &str) -> Option<f64> {
    let line = lt.line;
    let (s, l) = get_str(cx, lt, key).or_else(|| {
        cx.problem(
            line,
            format!("phantom.lesion.{key} is required{why} (a length, e.g. \"1 cm\")"),
        );
        None
    })?;
    qty_text(
        cx,
        &format!("phantom.lesion.{key}"),
        &s,
        l,
        "length",
        false,
        &length,
    )
}

/// `file` and `label`, or the generated sphere's keys (`radius`, `voxel`, `body_radius`).
fn geometry(cx: &mut Ctx, lt: &mut Tab, base: &Path) -> Option<LesionGeometry> {
    let line = lt.line;
    if let Some((f, fl)) = get_str(cx, lt, "file") {
        let label = get_str(cx, lt, "label");
        for key in ["radius", "voxel", "body_radius"] {
            if lt.get(key).is_some() {
                cx.problem(
                    fl,
                    format!(
                        "phantom.lesion.{key} belongs to a generated lesion; with \
                         phantom.lesion.file the lesion is the file's label"
                    ),
                );
            }
        }
        let path = base.join(&f);
        if !path.is_file() {
            cx.problem(
                fl,
                format!(
                    "phantom.lesion.file: {} does not exist (or is not a file)",
                    path.display()
                ),
            );
            return None;
        }
        let Some((label, _)) = label else {
            cx.problem(
                line,
                "phantom.lesion.label is required with phantom.lesion.file (a label name of an \
                 xfire phantom, or the integer value of a label image)",
            );
            return None;
        };
        return Some(LesionGeometry::File { path, label });
    }
    if get_str(cx, lt, "label").is_some() {
        cx.problem(line, "phantom.lesion.label needs phantom.lesion.file");
    }
    let why = " (or file = \"body.h5\" with label = \"lesion\")";
    let radius = required_len(cx, lt, "radius", why);
    let voxel = required_len(cx, lt, "voxel", why);
    let body = required_len(cx, lt, "body_radius", why);
    let (radius_cm, voxel_cm, body_radius_cm) = (radius?, voxel?, body?);
    let mut ok = true;
    if body_radius_cm < radius_cm {
        cx.problem(line, format!("phantom.lesion.body_radius = {body_radius_cm} cm is smaller than the lesion radius {radius_cm} cm"));
        ok = false;
    }
    if voxel_cm > radius_cm {
        cx.problem(line, format!("phantom.lesion.voxel = {voxel_cm} cm is larger than the lesion radius {radius_cm} cm"));
        ok = false;
    }
    ok.then_some(LesionGeometry::Sphere(SphereLesion {
        radius_cm,
        voxel_cm,
        body_radius_cm,
    }))
}

/// A point "x, y, z" of three lengths, each with its unit ("12 mm, -3.5 mm, 40 mm").
fn point(s: &str) -> Result<[f64; 3], String> {
    let parts: Vec<&str> = s.split(',').collect();
    if parts.len() != 3 {
        return Err(
            "a point needs three lengths \"x, y, z\" (e.g. \"12 mm, -3.5 mm, 40 mm\")".into(),
        );
    }
    let mut p = [0.0; 3];
    for (a, t) in parts.iter().enumerate() {
        let x =
            units::parse_length_cm(t.trim()).map_err(|e| format!("{}: {e}", ["x", "y", "z"][a]))?;
        p[a] = x;
    }
    Ok(p)
}

/// `position`: "centre", a depth below a generated lesion's surface, or a point.
fn position(cx: &mut Ctx, lt: &mut Tab, g: Option<&LesionGeometry>) -> Option<LesionPosition> {
    let Some((p, l)) = get_str(cx, lt, "position") else {
        return Some(LesionPosition::Centre);
    };
    let t = p.trim();
    if t == "centre" || t == "center" {
        return Some(LesionPosition::Centre);
    }
    if t.contains(',') {
        return match point(t) {
            Ok(x) => Some(LesionPosition::Point(x)),
            Err(e) => {
                cx.problem(l, format!("phantom.lesion.position = {t:?}: {e}"));
                None
            }
        };
    }
    if matches!(g, Some(LesionGeometry::File { .. })) {
        cx.problem(
            l,
            format!(
                "phantom.lesion.position = {t:?}: a depth needs a generated lesion; with \
                 phantom.lesion.file give \"centre\" or a point \"x, y, z\" (e.g. \"12 mm, -3.5 mm, 40 mm\")"
            ),
        );
        return None;
    }
    let d = qty_text(cx, "phantom.lesion.position", t, l, "depth", true, &|s| {
        length(s).map_err(|e| {
            format!(
                "expected \"centre\", a depth below the lesion surface (\"0.5 mm\") or a point \
                 \"x, y, z\": {e}"
            )
        })
    })?;
    if let Some(LesionGeometry::Sphere(s)) = g {
        if d >= s.radius_cm {
            cx.problem(l, format!("phantom.lesion.position: a depth of {d} cm below the surface lies outside the lesion of radius {} cm", s.radius_cm));
            return None;
        }
    }
    Some(LesionPosition::Depth(d))
}

/// `activity`: "match", "none" or an image file.
fn activity(cx: &mut Ctx, lt: &mut Tab, base: &Path) -> Option<LesionActivity> {
    let Some((a, l)) = get_str(cx, lt, "activity") else {
        return Some(LesionActivity::Match);
    };
    match a.trim() {
        "match" => Some(LesionActivity::Match),
        "none" => Some(LesionActivity::None),
        other => {
            let lower = other.to_ascii_lowercase();
            let image = [".nii", ".nii.gz", ".mhd", ".mha"]
                .iter()
                .any(|e| lower.ends_with(e));
            if !image {
                cx.problem(l, format!("phantom.lesion.activity = {other:?}: expected \"match\" (the micro phantom's mean activity per gram), \"none\" or an activity image (.nii, .nii.gz, .mhd, .mha)"));
                return None;
            }
            let p = base.join(other);
            if !p.is_file() {
                cx.problem(
                    l,
                    format!(
                        "phantom.lesion.activity: {} does not exist (or is not a file)",
                        p.display()
                    ),
                );
                return None;
            }
            Some(LesionActivity::Map(p))
        }
    }
}

/// Reads `[phantom.lesion]` from the `[phantom]` table `pt`, if present; relative files are
/// resolved against `base` (the scenario's folder).
pub(super) fn read(cx: &mut Ctx, pt: &mut Tab, base: &Path) -> Option<LesionSpec> {
    let mut lt = sub(cx, pt, "lesion")?;
    let line = lt.line;
    let geometry = geometry(cx, &mut lt, base);
    let material = match get_str(cx, &mut lt, "material") {
        None => BODY_MATERIAL.to_string(),
        Some((m, l)) => {
            if xfire_data::materials::builtin(&m).is_none() {
                cx.problem(
                    l,
                    format!("phantom.lesion.material = {m:?} is not a built-in material"),
                );
            }
            if let Some(LesionGeometry::File { path, .. }) = &geometry {
                let h5 = path.to_string_lossy().to_ascii_lowercase();
                if h5.ends_with(".h5") || h5.ends_with(".hdf5") {
                    cx.problem(l, "phantom.lesion.material: an xfire phantom file keeps its own materials (material is for a generated lesion or a label image)");
                }
            }
            m
        }
    };
    let position = position(cx, &mut lt, geometry.as_ref());
    let activity = activity(cx, &mut lt, base);
    lt.finish(cx, &[]);
    Some(LesionSpec {
        geometry: geometry?,
        material,
        position: position?,
        activity: activity?,
        line,
    })
}
