//! `[transport]`: decays, seed, stopping rule, electron model and cut, α recoils.

use xfire_core::units;

use super::{get_num, get_str, get_u64, qty_text, sub, Ctx, Tab};

/// Transport settings.
#[derive(Debug, Clone, PartialEq)]
pub struct TransportSpec {
    /// Decays per source component (the minimum when a target uncertainty is given).
    pub decays: u64,
    /// Master seed.
    pub seed: u64,
    /// Stop after the first batch (once `decays` are done) at which the relative
    /// uncertainty of the tumour-cell mean dose is at or below this \[1\].
    pub target_uncertainty: Option<f64>,
    /// Stop after the first batch (once `decays` are done) at which the 95th percentile of
    /// the per-cell relative uncertainty is at or below this, for the tumour cells and for
    /// the lymphocytes \[1\] (`docs/kinetics.md` §9).
    pub target_cell_uncertainty: Option<f64>,
    /// Upper limit of decays per component with a target uncertainty.
    pub max_decays: u64,
    /// Histories per batch.
    pub batch_size: u64,
    /// Electron transport: `true` class-II condensed history (scattering, δ rays,
    /// straggling; docs/physics.md; the default), `false` the straight-line CSDA model.
    pub condensed_history: bool,
    /// Condensed-history tracking cutoff = δ-ray and bremsstrahlung thresholds [MeV]
    /// (default 1 keV: micrometre voxels; docs/validation.md "Cellular scale").
    pub electron_cut_mev: f64,
    /// α recoil nuclei: deposited at the decay site in the α part and in the blood
    /// self-dose (`local`, the default) or left out of both (`exclude`).
    pub recoil: xfire_data::nuclides::Recoil,
}

impl TransportSpec {
    /// A stop at a target uncertainty is set (`target_uncertainty` and/or
    /// `target_cell_uncertainty`): `decays` is the minimum and `max_decays` the limit.
    pub fn has_target(&self) -> bool {
        self.target_uncertainty.is_some() || self.target_cell_uncertainty.is_some()
    }

    /// The electron model of the transport setup.
    pub fn electron_model(&self) -> xfire_physics::csda::ElectronModel {
        if self.condensed_history {
            xfire_physics::csda::ElectronModel::CondensedHistory
        } else {
            xfire_physics::csda::ElectronModel::CsdaStraightLine
        }
    }

    /// The condensed-history parameters (`None` for the straight-line model).
    pub fn condensed_params(&self) -> Option<xfire_physics::condensed::CondensedParams> {
        self.condensed_history
            .then(|| xfire_physics::condensed::CondensedParams::with_cut(self.electron_cut_mev))
    }

    /// `[transport]` of the root table (defaults, and the top-level `seed`, when absent),
    /// with `max_decays` defaulted to 20 × `decays` and checked against it.
    pub(super) fn from_root(cx: &mut Ctx, root: &mut Tab, seed: u64) -> Self {
        let mut tr = TransportSpec {
            decays: 100_000,
            seed,
            target_uncertainty: None,
            target_cell_uncertainty: None,
            max_decays: 0,
            batch_size: xfire_transport::DEFAULT_BATCH_SIZE,
            condensed_history: true,
            electron_cut_mev: 0.001,
            recoil: xfire_data::nuclides::Recoil::Local,
        };
        if let Some(tt) = sub(cx, root, "transport") {
            tr.read_table(cx, tt);
        }
        if tr.max_decays == 0 {
            tr.max_decays = tr.decays.saturating_mul(20);
        }
        if tr.max_decays < tr.decays {
            cx.problem(
                None,
                format!(
                    "transport.max_decays ({}) is below transport.decays ({})",
                    tr.max_decays, tr.decays
                ),
            );
        }
        tr
    }

    /// The keys of the `[transport]` table over the defaults.
    fn read_table(&mut self, cx: &mut Ctx, tt: Tab) {
        let mut tt = tt;
        if let Some(d) = get_u64(cx, &mut tt, "decays", 1) {
            self.decays = d;
        }
        if let Some(s) = get_u64(cx, &mut tt, "seed", 0) {
            self.seed = s;
        }
        self.target_uncertainty = get_num(cx, &mut tt, "target_uncertainty", 0.0, true, 1.0);
        self.target_cell_uncertainty =
            get_num(cx, &mut tt, "target_cell_uncertainty", 0.0, true, 1.0);
        if let Some(m) = get_u64(cx, &mut tt, "max_decays", 1) {
            self.max_decays = m;
        }
        if let Some(b) = get_u64(cx, &mut tt, "batch_size", 1) {
            self.batch_size = b;
        }
        self.read_electron_model(cx, &mut tt);
        self.read_recoil(cx, &mut tt);
        self.read_electron_cut(cx, &mut tt);
        tt.finish(cx, &[]);
    }

    /// `electron_model`: "csda" or "condensed".
    fn read_electron_model(&mut self, cx: &mut Ctx, tt: &mut Tab) {
        if let Some((m, line)) = get_str(cx, tt, "electron_model") {
            match m.as_str() {
                "csda" => self.condensed_history = false,
                "condensed" => self.condensed_history = true,
                _ => cx.problem(
                    line,
                    format!(
                        "transport.electron_model = {m:?}: expected \"csda\" (straight line) or \"condensed\" (condensed history)"
                    ),
                ),
            }
        }
    }

    /// `recoil`: "local" or "exclude".
    fn read_recoil(&mut self, cx: &mut Ctx, tt: &mut Tab) {
        if let Some((r, line)) = get_str(cx, tt, "recoil") {
            use xfire_data::nuclides::Recoil;
            match r.as_str() {
                "local" => self.recoil = Recoil::Local,
                "exclude" => self.recoil = Recoil::Exclude,
                _ => cx.problem(
                    line,
                    format!(
                        "transport.recoil = {r:?}: expected \"local\" (α recoil deposited at the decay site) or \"exclude\""
                    ),
                ),
            }
        }
    }

    /// `electron_cut`: an energy from 1 keV to below 1 MeV.
    fn read_electron_cut(&mut self, cx: &mut Ctx, tt: &mut Tab) {
        let energy = |s: &str| units::parse_energy_mev(s).map_err(|e| e.to_string());
        if let Some((c, line)) = get_str(cx, tt, "electron_cut") {
            if let Some(v) = qty_text(
                cx,
                "transport.electron_cut",
                &c,
                line,
                "energy",
                false,
                &energy,
            ) {
                if (0.001..1.0).contains(&v) {
                    self.electron_cut_mev = v;
                } else {
                    cx.problem(
                        line,
                        format!(
                            "transport.electron_cut = {c:?} ({v} MeV): must be from 1 keV to below 1 MeV"
                        ),
                    );
                }
            }
        }
    }
}
