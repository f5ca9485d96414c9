//! `[phantom.lesion]`: the micro phantom nested in a generated lesion and body
//! (docs/formats/scenario.md). Problems that need the micro phantom (a box larger than the
//! lesion, a position that puts it outside) are found by the plan (`crate::lesion`).

use super::{get_str, length, qty_text, sub, Ctx, Tab};

/// A generated spherical lesion around the micro phantom.
#[derive(Debug, Clone, PartialEq)]
pub struct LesionSpec {
    /// Lesion radius \[cm\].
    pub radius_cm: f64,
    /// Macro voxel edge \[cm\].
    pub voxel_cm: f64,
    /// Lesion material (built-in name).
    pub material: String,
    /// Radius of the body sphere around the lesion \[cm\]; vacuum beyond.
    pub body_radius_cm: f64,
    /// Where the micro box's centre lies: `None` at the lesion centre, `Some(d)` at depth
    /// `d` \[cm\] below the lesion surface (on the +z axis).
    pub depth_cm: Option<f64>,
    /// Macro lesion activity: the micro phantom's mean concentration per gram (`"match"`), or
    /// none.
    pub activity_match: bool,
    /// Line of the `[phantom.lesion]` table.
    pub line: Option<usize>,
}

/// Material of the body around the lesion.
pub const BODY_MATERIAL: &str = "soft_tissue_icru";

/// Reads `[phantom.lesion]` from the `[phantom]` table `pt`, if present.
pub(super) fn read(cx: &mut Ctx, pt: &mut Tab) -> Option<LesionSpec> {
    let mut lt = sub(cx, pt, "lesion")?;
    let line = lt.line;
    let len = |cx: &mut Ctx, lt: &mut Tab, key: &'static str| {
        let (s, l) = get_str(cx, lt, key).or_else(|| {
            cx.problem(
                line,
                format!("phantom.lesion.{key} is required (a length, e.g. \"1 cm\")"),
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
    };
    let radius = len(cx, &mut lt, "radius");
    let voxel = len(cx, &mut lt, "voxel");
    let body = len(cx, &mut lt, "body_radius");
    let material = match get_str(cx, &mut lt, "material") {
        None => "soft_tissue_icru".to_string(),
        Some((m, l)) => {
            if xfire_data::materials::builtin(&m).is_none() {
                cx.problem(
                    l,
                    format!("phantom.lesion.material = {m:?} is not a built-in material"),
                );
            }
            m
        }
    };
    let mut depth_cm = None;
    let mut ok = true;
    if let Some((p, l)) = get_str(cx, &mut lt, "position") {
        let t = p.trim();
        if t != "centre" && t != "center" {
            depth_cm = qty_text(cx, "phantom.lesion.position", t, l, "depth", true, &|s| {
                length(s).map_err(|e| {
                    format!(
                        "expected \"centre\" or a depth below the lesion surface (\"0.5 mm\"): {e}"
                    )
                })
            });
            ok = depth_cm.is_some();
        }
    }
    let activity_match = match get_str(cx, &mut lt, "activity") {
        None => true,
        Some((a, l)) => match a.trim() {
            "match" => true,
            "none" => false,
            other => {
                cx.problem(l, format!("phantom.lesion.activity = {other:?}: expected \"match\" (the micro phantom's mean activity per gram) or \"none\""));
                true
            }
        },
    };
    lt.finish(cx, &[]);
    let (radius_cm, voxel_cm, body_radius_cm) = (radius?, voxel?, body?);
    if body_radius_cm < radius_cm {
        cx.problem(line, format!("phantom.lesion.body_radius = {body_radius_cm} cm is smaller than the lesion radius {radius_cm} cm"));
        ok = false;
    }
    if voxel_cm > radius_cm {
        cx.problem(line, format!("phantom.lesion.voxel = {voxel_cm} cm is larger than the lesion radius {radius_cm} cm"));
        ok = false;
    }
    if let Some(d) = depth_cm.filter(|&d| d >= radius_cm) {
        cx.problem(line, format!("phantom.lesion.position: a depth of {d} cm below the surface lies outside the lesion of radius {radius_cm} cm"));
        ok = false;
    }
    ok.then_some(LesionSpec {
        radius_cm,
        voxel_cm,
        material,
        body_radius_cm,
        depth_cm,
        activity_match,
        line,
    })
}
