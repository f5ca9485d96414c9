//! `[regimen]`: the administration schedule and the body mass it may need.

use xfire_kinetics::Regimen;

use super::{get_qty, get_str, parse_mass_g, sub, Ctx, Tab};

/// `[regimen]` of the root table: the schedule (a single unit administration when the
/// table is absent) and the body mass \[kg\], checked together.
pub(super) fn from_root(cx: &mut Ctx, root: &mut Tab) -> (Option<Regimen>, Option<f64>) {
    let Some(mut rt) = sub(cx, root, "regimen") else {
        // no table: a single unit administration (the amount then must not depend on activity)
        return (Some(Regimen::single(1.0)), None);
    };
    let mut regimen = None;
    match get_str(cx, &mut rt, "schedule") {
        Some((s, l)) => match Regimen::parse(&s) {
            Ok(r) => regimen = Some(r),
            Err(e) => cx.problem(l, format!("regimen.schedule: {e}")),
        },
        None => cx.problem(
            rt.line,
            "regimen.schedule is required (e.g. \"7.4 GBq every 6 weeks x 6\")",
        ),
    }
    let body_mass_kg =
        get_qty(cx, &mut rt, "body_mass", "mass", false, &parse_mass_g).map(|g| g / 1e3);
    let rline = rt.line;
    rt.finish(cx, &[]);
    if let Some(r) = &regimen {
        if let Err(e) = r.administrations(body_mass_kg) {
            cx.problem(rline, format!("regimen: {e}"));
        }
    }
    (regimen, body_mass_kg)
}
