//! Cell geometry and the geometric reduction factor ψ_{T←S}(x) of the MIRD cellular method.
//!
//! A cell is a sphere of radius R_C with a concentric spherical nucleus of radius R_N. Source
//! compartments ([`Source`]): the whole cell C, its surface CS, the cytoplasm Cy (the shell
//! R_N < r < R_C) and the nucleus N, each uniform (in volume, or in area for CS). Targets
//! ([`Target`]): the nucleus N and the whole cell C, of the same cell (`distance = 0`) or of a
//! neighbour whose centre is `distance` away.
//!
//! ψ_{T←S}(x) is the probability that the point at distance x, in an isotropic direction,
//! from a point drawn uniformly in S lies in T (Goddu et al., J Nucl Med 35:303, 1994, eq. 2).
//! It is computed here without sampling:
//!
//! * for a source point at distance s from the centre of a target ball of radius a, the
//!   fraction of the sphere of radius x about it that lies inside the ball is 1 when
//!   s + x ≤ a, 0 when x ≥ s + a or x ≤ s − a, and (a² − (s − x)²)/(4 s x) otherwise (a
//!   spherical cap);
//! * for a neighbour at centre distance d, the mean of that fraction over the directions of a
//!   source point at radius ρ is (1/(2ρd)) ∫_{|d−ρ|}^{d+ρ} s·cap(s) ds, whose integrand is
//!   piecewise polynomial in s and is integrated in closed form;
//! * the average over ρ (density 3ρ²/(r₁³ − r₀³) in a shell, a single radius for the
//!   surface) is a composite 8-point Gauss–Legendre quadrature split at every ρ where the
//!   integrand has a kink, so it is exact to rounding up to the smoothness between kinks
//!   (the tests check it against closed forms to 1e-12).

use xfire_core::quadrature::integrate_panels;

/// Source compartment of a cell.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Source {
    /// Whole cell (uniform in volume).
    Cell,
    /// Cell surface (uniform in area).
    CellSurface,
    /// Cytoplasm (uniform in the shell between nucleus and cell surface).
    Cytoplasm,
    /// Nucleus (uniform in volume).
    Nucleus,
}

impl Source {
    /// MIRD abbreviation ("C", "CS", "Cy", "N").
    pub fn abbrev(self) -> &'static str {
        match self {
            Source::Cell => "C",
            Source::CellSurface => "CS",
            Source::Cytoplasm => "Cy",
            Source::Nucleus => "N",
        }
    }
}

/// Target region of a cell.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Target {
    /// Nucleus.
    Nucleus,
    /// Whole cell.
    Cell,
}

impl Target {
    /// MIRD abbreviation ("N", "C").
    pub fn abbrev(self) -> &'static str {
        match self {
            Target::Nucleus => "N",
            Target::Cell => "C",
        }
    }
}

/// A spherical cell with a concentric spherical nucleus [cm].
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct CellGeometry {
    /// Cell radius R_C [cm].
    pub cell_radius_cm: f64,
    /// Nucleus radius R_N [cm], 0 < R_N ≤ R_C.
    pub nucleus_radius_cm: f64,
}

/// Radial extent of a source: a shell [r0, r1] uniform in volume, or a sphere surface.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Radial {
    Shell(f64, f64),
    Surface(f64),
}

impl CellGeometry {
    /// Volume of a target [cm³].
    pub fn target_volume_cm3(&self, t: Target) -> f64 {
        ball_volume(self.target_radius(t))
    }

    /// Volume of a source compartment [cm³] (0 for the surface).
    pub fn source_volume_cm3(&self, s: Source) -> f64 {
        match self.radial(s) {
            Radial::Shell(a, b) => ball_volume(b) - ball_volume(a),
            Radial::Surface(_) => 0.0,
        }
    }

    /// Radius of a target ball [cm].
    pub fn target_radius(&self, t: Target) -> f64 {
        match t {
            Target::Nucleus => self.nucleus_radius_cm,
            Target::Cell => self.cell_radius_cm,
        }
    }

    fn radial(&self, s: Source) -> Radial {
        match s {
            Source::Cell => Radial::Shell(0.0, self.cell_radius_cm),
            Source::CellSurface => Radial::Surface(self.cell_radius_cm),
            Source::Cytoplasm => Radial::Shell(self.nucleus_radius_cm, self.cell_radius_cm),
            Source::Nucleus => Radial::Shell(0.0, self.nucleus_radius_cm),
        }
    }

    /// The reduction factor of `target` (in a cell whose centre is `distance_cm` from the
    /// source cell's centre; 0 = the source cell itself) from `source`.
    pub fn psi(&self, target: Target, source: Source, distance_cm: f64) -> Psi {
        Psi {
            a: self.target_radius(target),
            d: distance_cm.max(0.0),
            radial: self.radial(source),
        }
    }
}

fn ball_volume(r: f64) -> f64 {
    4.0 / 3.0 * std::f64::consts::PI * r * r * r
}

/// ψ_{T←S}(x) of one target/source pair at one centre distance.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Psi {
    a: f64,
    d: f64,
    radial: Radial,
}

impl Psi {
    /// ψ at distance `x_cm` [cm] (x ≥ 0).
    pub fn eval(&self, x_cm: f64) -> f64 {
        let x = x_cm.max(0.0);
        match self.radial {
            Radial::Surface(r) => self.mean_over_directions(r, x),
            Radial::Shell(r0, r1) => {
                let norm = r1.powi(3) - r0.powi(3);
                if norm <= 0.0 {
                    return 0.0;
                }
                let kinks = self.rho_kinks(x);
                integrate_panels(
                    |rho| 3.0 * rho * rho * self.mean_over_directions(rho, x),
                    r0,
                    r1,
                    &kinks,
                    1,
                ) / norm
            }
        }
    }

    /// Largest x at which ψ can be non-zero [cm].
    pub fn max_distance_cm(&self) -> f64 {
        let r1 = match self.radial {
            Radial::Shell(_, r1) => r1,
            Radial::Surface(r) => r,
        };
        self.d + r1 + self.a
    }

    /// Distances x [cm] at which ψ(x) may have a kink (for quadrature panels).
    pub fn kinks(&self) -> Vec<f64> {
        let (r0, r1) = match self.radial {
            Radial::Shell(r0, r1) => (r0, r1),
            Radial::Surface(r) => (r, r),
        };
        let mut v = Vec::with_capacity(12);
        for r in [r0, r1] {
            for s in [self.d - r, self.d + r] {
                v.push((s - self.a).abs());
                v.push(s.abs() + self.a);
            }
        }
        v.retain(|x| *x > 0.0);
        v
    }

    /// ρ at which the direction average at distance x has a kink.
    fn rho_kinks(&self, x: f64) -> [f64; 7] {
        let (a, d) = (self.a, self.d);
        [
            (a - x).abs(),
            a + x,
            (d - (a + x)).abs(),
            (d - (a - x).abs()).abs(),
            d + (a - x).abs(),
            d,
            (x - a).abs() + d,
        ]
    }

    /// Mean over isotropic directions of a source point at radius ρ of the fraction of the
    /// sphere of radius x about it inside the target ball.
    fn mean_over_directions(&self, rho: f64, x: f64) -> f64 {
        let (a, d) = (self.a, self.d);
        if d == 0.0 || rho == 0.0 {
            return cap_fraction(if d == 0.0 { rho } else { d }, x, a);
        }
        let (lo, hi) = ((d - rho).abs(), d + rho);
        integral_s_cap(lo, hi, x, a) / (2.0 * rho * d)
    }
}

/// Fraction of the sphere of radius x about a point at distance s from the centre of a ball
/// of radius a that lies inside the ball.
pub fn cap_fraction(s: f64, x: f64, a: f64) -> f64 {
    if x <= 0.0 {
        return if s < a {
            1.0
        } else if s == a {
            0.5
        } else {
            0.0
        };
    }
    if s + x <= a {
        1.0
    } else if x >= s + a || x <= s - a {
        0.0
    } else {
        (a * a - (s - x) * (s - x)) / (4.0 * s * x)
    }
}

/// ∫_lo^hi s·cap_fraction(s, x, a) ds in closed form (piecewise polynomial in s).
fn integral_s_cap(lo: f64, hi: f64, x: f64, a: f64) -> f64 {
    if hi <= lo {
        return 0.0;
    }
    if x <= 0.0 {
        // s·1 for s < a
        let top = hi.min(a);
        return if top > lo {
            0.5 * (top * top - lo * lo)
        } else {
            0.0
        };
    }
    let mut pts = vec![lo, hi];
    for b in [a - x, x - a, x + a] {
        if b > lo && b < hi {
            pts.push(b);
        }
    }
    pts.sort_by(f64::total_cmp);
    let mut sum = 0.0;
    for w in pts.windows(2) {
        let (s1, s2) = (w[0], w[1]);
        let m = 0.5 * (s1 + s2);
        if m + x <= a {
            sum += 0.5 * (s2 * s2 - s1 * s1);
        } else if (m - x).abs() < a {
            let prim = |s: f64| (a * a * s - (s - x).powi(3) / 3.0) / (4.0 * x);
            sum += prim(s2) - prim(s1);
        }
    }
    sum
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cell() -> CellGeometry {
        CellGeometry {
            cell_radius_cm: 5.0,
            nucleus_radius_cm: 3.0,
        }
    }

    #[test]
    fn self_sphere_matches_the_closed_form() {
        // uniform ball to itself: ψ(x) = 1 − 3x/(4r) + x³/(16r³), x ≤ 2r
        let g = cell();
        for (t, s, r) in [
            (Target::Cell, Source::Cell, 5.0_f64),
            (Target::Nucleus, Source::Nucleus, 3.0),
        ] {
            let p = g.psi(t, s, 0.0);
            for x in [0.0, 0.3, 1.0, 2.5, 4.0, 5.9, 6.0, 7.5, 9.99, 10.0, 12.0] {
                let want = if x <= 2.0 * r {
                    1.0 - 0.75 * x / r + x.powi(3) / (16.0 * r.powi(3))
                } else {
                    0.0
                };
                assert!((p.eval(x) - want).abs() < 1e-12, "{t:?}<-{s:?} x={x}");
            }
        }
    }

    #[test]
    fn surface_to_cell_matches_the_closed_form() {
        // a point on the surface of a ball: ψ(x) = 1/2 − x/(4r), x ≤ 2r
        let p = cell().psi(Target::Cell, Source::CellSurface, 0.0);
        for x in [0.0, 0.5, 3.0, 9.0, 10.0, 11.0] {
            let want = if x <= 10.0 { 0.5 - x / 20.0 } else { 0.0 };
            assert!((p.eval(x) - want).abs() < 1e-14, "x={x}");
        }
    }

    fn volume_integral(p: &Psi) -> f64 {
        let mut k = p.kinks();
        k.push(0.0);
        integrate_panels(
            |x| 4.0 * std::f64::consts::PI * x * x * p.eval(x),
            0.0,
            p.max_distance_cm(),
            &k,
            4,
        )
    }

    #[test]
    fn psi_integrates_to_the_target_volume() {
        // ∫ ψ(x) 4πx² dx = V_T for any source, same cell or neighbour
        let g = cell();
        for d in [0.0, 10.0, 13.0, 40.0] {
            for t in [Target::Nucleus, Target::Cell] {
                for s in [
                    Source::Cell,
                    Source::CellSurface,
                    Source::Cytoplasm,
                    Source::Nucleus,
                ] {
                    let v = volume_integral(&g.psi(t, s, d));
                    let want = g.target_volume_cm3(t);
                    assert!(
                        (v / want - 1.0).abs() < 1e-9,
                        "{t:?}<-{s:?} d={d}: {v} vs {want}"
                    );
                }
            }
        }
    }

    #[test]
    fn cross_factors_are_reciprocal() {
        // the pair density is symmetric: V_S ψ_{T←S}(x) = V_T ψ_{S←T}(x) for balls
        let g = cell();
        let vn = g.target_volume_cm3(Target::Nucleus);
        let vc = g.target_volume_cm3(Target::Cell);
        for d in [10.0, 17.0] {
            let nc = g.psi(Target::Nucleus, Source::Cell, d);
            let cn = g.psi(Target::Cell, Source::Nucleus, d);
            for x in [5.0, 8.0, 12.0, 15.5, 20.0, 25.0] {
                let l = vc * nc.eval(x);
                let r = vn * cn.eval(x);
                assert!((l - r).abs() <= 1e-12 * vc, "d={d} x={x}: {l} vs {r}");
            }
        }
    }

    #[test]
    fn cell_source_is_the_volume_mix_of_nucleus_and_cytoplasm() {
        let g = cell();
        let (vn, vy, vc) = (
            g.source_volume_cm3(Source::Nucleus),
            g.source_volume_cm3(Source::Cytoplasm),
            g.source_volume_cm3(Source::Cell),
        );
        for d in [0.0, 12.0] {
            for x in [0.5, 2.0, 7.0, 11.0] {
                let mix = (vn * g.psi(Target::Nucleus, Source::Nucleus, d).eval(x)
                    + vy * g.psi(Target::Nucleus, Source::Cytoplasm, d).eval(x))
                    / vc;
                let c = g.psi(Target::Nucleus, Source::Cell, d).eval(x);
                assert!((mix - c).abs() < 1e-12, "d={d} x={x}");
            }
        }
    }
}
