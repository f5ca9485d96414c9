//! Decay chains: members, branches, and their exact solution (see the crate doc).

use std::collections::{HashMap, VecDeque};

use crate::expm::Generator;
use crate::ChainError;

/// One member of a decay chain.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Member {
    /// Canonical nuclide name ("Bi-212", "Xe-131m").
    pub nuclide: String,
    /// Decay constant λ = ln 2 / T½ \[1/s\]; 0 for a stable end point.
    pub decay_constant_per_s: f64,
}

impl Member {
    /// True for a stable end point (λ = 0): it collects atoms but has no activity.
    pub fn is_stable(&self) -> bool {
        self.decay_constant_per_s == 0.0
    }

    /// Half-life \[s\]; `f64::INFINITY` for a stable member.
    pub fn half_life_s(&self) -> f64 {
        std::f64::consts::LN_2 / self.decay_constant_per_s
    }
}

/// A decay branch: a fraction of the decays of member `from` produce member `to`.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize)]
pub struct Branch {
    /// Index of the decaying member in [`Chain::members`].
    pub from: usize,
    /// Index of the daughter; always greater than `from` (topological order).
    pub to: usize,
    /// Branching fraction (0, 1] \[1\].
    pub fraction: f64,
}

/// Decay data of one nuclide as [`Chain::build`] asks for it.
#[derive(Debug, Clone, PartialEq)]
pub struct DecayInfo {
    /// Decay constant \[1/s\] (> 0 for a radioactive nuclide).
    pub decay_constant_per_s: f64,
    /// Daughters with their branching fractions \[1\]. Fractions may sum to less than 1
    /// (e.g. spontaneous fission, or decay modes whose product is not tracked).
    pub daughters: Vec<(String, f64)>,
}

/// One administration of the parent: `activity_bq` of the parent at `time_s`.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Administration {
    /// Time of the administration \[s\].
    pub time_s: f64,
    /// Activity of the parent administered \[Bq\].
    pub activity_bq: f64,
}

/// The state propagator of a chain over one time step: numbers of atoms at the end and
/// numbers of decays during the step, as linear maps of the atoms at the start.
#[derive(Debug, Clone)]
pub struct Propagator {
    n: usize,
    /// e^{M̃ t} of the generator augmented with one decay counter per member, row-major,
    /// dimension 2n (rows n.. are the counters).
    e: Vec<f64>,
}

impl Propagator {
    /// Numbers of atoms after the step, given the numbers `atoms0` at its start \[1\].
    pub fn atoms(&self, atoms0: &[f64]) -> Vec<f64> {
        let d = 2 * self.n;
        (0..self.n)
            .map(|j| (0..=j).map(|i| self.e[j * d + i] * atoms0[i]).sum())
            .collect()
    }

    /// Number of decays of each member during the step, given the numbers of atoms at its
    /// start \[1\]. Zero for stable members.
    pub fn decays(&self, atoms0: &[f64]) -> Vec<f64> {
        let d = 2 * self.n;
        (0..self.n)
            .map(|j| {
                let row = (self.n + j) * d;
                (0..=j).map(|i| self.e[row + i] * atoms0[i]).sum()
            })
            .collect()
    }

    /// Fraction of the atoms of member `from` at the start that are atoms of member `to` at the
    /// end \[1\] (the matrix element of e^{Mt}).
    pub fn atom_transfer(&self, from: usize, to: usize) -> f64 {
        if to < from {
            0.0
        } else {
            self.e[to * 2 * self.n + from]
        }
    }
}

/// A decay chain: members in topological order (every daughter after its parents; the first
/// member is the parent) and the branches between them. See the crate doc.
#[derive(Debug, Clone)]
pub struct Chain {
    members: Vec<Member>,
    branches: Vec<Branch>,
    /// Generator augmented with decay counters (dimension 2n).
    generator: Generator,
}

/// Tolerance on the sum of branching fractions of one member above 1 \[1\]. Evaluated data
/// round the main branch to 1 and list a weak one besides (ICRP-107 Bi-210: 1 + 1.32e-6).
const BRANCHING_SUM_SLACK: f64 = 1e-3;

impl Chain {
    /// A chain from an explicit description. `members[0]` is the parent; `branches` must
    /// point from a member to a later one (topological order). Branches with the same
    /// (from, to) are added together.
    ///
    /// Errors: empty chain, duplicate names, non-finite or negative decay constants, stable
    /// parent, branches out of range, out of order, from a stable member, with fractions
    /// outside (0, 1], or summing to more than 1 (+1e-3, data rounding) for one member.
    pub fn new(members: Vec<Member>, branches: Vec<Branch>) -> Result<Self, ChainError> {
        let n = members.len();
        if n == 0 {
            return Err(ChainError::Empty);
        }
        let mut names = HashMap::new();
        for m in &members {
            if names.insert(m.nuclide.as_str(), ()).is_some() {
                return Err(ChainError::DuplicateMember {
                    nuclide: m.nuclide.clone(),
                });
            }
            let l = m.decay_constant_per_s;
            if !(l.is_finite() && l >= 0.0) {
                return Err(ChainError::BadDecayConstant {
                    nuclide: m.nuclide.clone(),
                    value: l,
                });
            }
        }
        if members[0].is_stable() {
            return Err(ChainError::StableParent {
                nuclide: members[0].nuclide.clone(),
            });
        }
        let mut merged: Vec<Branch> = Vec::new();
        let mut sums = vec![0.0; n];
        for b in &branches {
            if b.from >= n || b.to >= n {
                return Err(ChainError::BranchIndex {
                    from: b.from,
                    to: b.to,
                    len: n,
                });
            }
            let (pf, pt) = (&members[b.from].nuclide, &members[b.to].nuclide);
            if b.to <= b.from {
                return Err(ChainError::BranchOrder {
                    from: pf.clone(),
                    to: pt.clone(),
                });
            }
            if !(b.fraction > 0.0 && b.fraction <= 1.0) {
                return Err(ChainError::BadBranching {
                    from: pf.clone(),
                    to: pt.clone(),
                    value: b.fraction,
                });
            }
            if members[b.from].is_stable() {
                return Err(ChainError::StableWithDaughter {
                    nuclide: pf.clone(),
                    daughter: pt.clone(),
                });
            }
            sums[b.from] += b.fraction;
            match merged.iter_mut().find(|m| m.from == b.from && m.to == b.to) {
                Some(m) => m.fraction += b.fraction,
                None => merged.push(*b),
            }
        }
        for (i, s) in sums.iter().enumerate() {
            if *s > 1.0 + BRANCHING_SUM_SLACK {
                return Err(ChainError::BranchingSum {
                    nuclide: members[i].nuclide.clone(),
                    sum: *s,
                });
            }
        }
        merged.sort_by_key(|b| (b.from, b.to));

        let d = 2 * n;
        let mut g = Generator::zeros(d);
        for (i, m) in members.iter().enumerate() {
            let l = m.decay_constant_per_s;
            g.rate[i] = l;
            g.off[(n + i) * d + i] = l; // decay counter of member i
        }
        for b in &merged {
            g.off[b.to * d + b.from] += b.fraction * members[b.from].decay_constant_per_s;
        }
        Ok(Self {
            members,
            branches: merged,
            generator: g,
        })
    }

    /// The chain of `parent`: every nuclide reachable from it, from a lookup of decay data.
    ///
    /// `lookup(name)` returns the decay data of a radioactive nuclide, or `None` for a stable
    /// one (which becomes a stable end point with λ = 0, listed like radioactivedecay does).
    /// Members are ordered topologically (Kahn's algorithm, ties in order of discovery from
    /// the parent, breadth first). Daughters with branching fraction 0 are ignored.
    ///
    /// Errors: the parent is stable or unknown ([`ChainError::StableParent`]), the data form
    /// a cycle, or any error of [`Chain::new`].
    pub fn build<F>(parent: &str, mut lookup: F) -> Result<Self, ChainError>
    where
        F: FnMut(&str) -> Option<DecayInfo>,
    {
        let mut order: Vec<String> = vec![parent.to_string()];
        let mut index: HashMap<String, usize> = HashMap::from([(parent.to_string(), 0)]);
        let mut info: Vec<Option<DecayInfo>> = Vec::new();
        let mut queue = VecDeque::from([0usize]);
        while let Some(k) = queue.pop_front() {
            let di = lookup(&order[k]);
            if k == 0 && di.is_none() {
                return Err(ChainError::StableParent {
                    nuclide: parent.to_string(),
                });
            }
            if let Some(di) = &di {
                for (d, b) in &di.daughters {
                    if *b > 0.0 && !index.contains_key(d) {
                        index.insert(d.clone(), order.len());
                        queue.push_back(order.len());
                        order.push(d.clone());
                    }
                }
            }
            info.push(di);
        }
        // `info[k]` is filled in queue order, which equals discovery order.
        let n = order.len();
        let mut indeg = vec![0usize; n];
        let mut edges: Vec<Vec<(usize, f64)>> = vec![Vec::new(); n];
        for k in 0..n {
            if let Some(di) = &info[k] {
                for (d, b) in &di.daughters {
                    if *b > 0.0 {
                        let j = index[d];
                        edges[k].push((j, *b));
                        indeg[j] += 1;
                    }
                }
            }
        }
        let mut topo = Vec::with_capacity(n);
        let mut ready: VecDeque<usize> = (0..n).filter(|&k| indeg[k] == 0).collect();
        while let Some(k) = ready.pop_front() {
            topo.push(k);
            for &(j, _) in &edges[k] {
                indeg[j] -= 1;
                if indeg[j] == 0 {
                    ready.push_back(j);
                }
            }
        }
        if topo.len() != n {
            let nuclides = (0..n)
                .filter(|&k| indeg[k] > 0)
                .map(|k| order[k].clone())
                .collect();
            return Err(ChainError::Cycle { nuclides });
        }
        let mut pos = vec![0usize; n];
        for (p, &k) in topo.iter().enumerate() {
            pos[k] = p;
        }
        let members = topo
            .iter()
            .map(|&k| Member {
                nuclide: order[k].clone(),
                decay_constant_per_s: info[k].as_ref().map_or(0.0, |d| d.decay_constant_per_s),
            })
            .collect();
        let branches = (0..n)
            .flat_map(|k| {
                let pos = &pos;
                edges[k].iter().map(move |&(j, b)| Branch {
                    from: pos[k],
                    to: pos[j],
                    fraction: b,
                })
            })
            .collect();
        Self::new(members, branches)
    }

    /// Members in topological order; the first is the parent.
    pub fn members(&self) -> &[Member] {
        &self.members
    }

    /// Branches (merged, sorted by (from, to)).
    pub fn branches(&self) -> &[Branch] {
        &self.branches
    }

    /// Number of members (stable end points included).
    pub fn len(&self) -> usize {
        self.members.len()
    }

    /// Always false: a chain has at least its parent.
    pub fn is_empty(&self) -> bool {
        self.members.is_empty()
    }

    /// Index of the member named `nuclide`, if any.
    pub fn index_of(&self, nuclide: &str) -> Option<usize> {
        self.members.iter().position(|m| m.nuclide == nuclide)
    }

    /// The propagator over a step of `dt_s` ≥ 0 \[s\]: atoms at the end and decays during the
    /// step from the atoms at its start. Compute it once and apply it to many states.
    pub fn propagator(&self, dt_s: f64) -> Propagator {
        Propagator {
            n: self.members.len(),
            e: self.generator.exp(dt_s.max(0.0)),
        }
    }

    /// Numbers of atoms of the parent for an activity `activity_bq` \[Bq\], as a state vector.
    fn parent_atoms(&self, activity_bq: f64) -> Vec<f64> {
        let mut n0 = vec![0.0; self.members.len()];
        n0[0] = activity_bq / self.members[0].decay_constant_per_s;
        n0
    }

    /// Activities \[Bq\] of the members for the numbers of atoms `atoms` \[1\].
    pub fn activities_of_atoms(&self, atoms: &[f64]) -> Vec<f64> {
        self.members
            .iter()
            .zip(atoms)
            .map(|(m, n)| m.decay_constant_per_s * n)
            .collect()
    }

    /// Activity \[Bq\] of every member at time `t_s` \[s\] after an administration of
    /// `a0_parent_bq` \[Bq\] of the parent (alone) at t = 0. Zero for t < 0 and for stable
    /// members.
    pub fn activities(&self, a0_parent_bq: f64, t_s: f64) -> Vec<f64> {
        self.schedule_activities(
            &[Administration {
                time_s: 0.0,
                activity_bq: a0_parent_bq,
            }],
            t_s,
        )
    }

    /// Number of decays of every member in [t0_s, t1_s] \[s\] after an administration of
    /// `a0_parent_bq` \[Bq\] of the parent at t = 0, i.e. ∫ A_j dt \[Bq s\]. Only times after the
    /// administration count; if t1_s < t0_s the result is the negative of [t1_s, t0_s].
    pub fn cumulated_decays(&self, a0_parent_bq: f64, t0_s: f64, t1_s: f64) -> Vec<f64> {
        self.schedule_cumulated_decays(
            &[Administration {
                time_s: 0.0,
                activity_bq: a0_parent_bq,
            }],
            t0_s,
            t1_s,
        )
    }

    /// Activity \[Bq\] of every member at `t_s` \[s\] for a sequence of administrations of the
    /// parent (superposition; administrations after `t_s` do not count).
    pub fn schedule_activities(&self, administrations: &[Administration], t_s: f64) -> Vec<f64> {
        let mut atoms = vec![0.0; self.members.len()];
        for a in administrations {
            if a.time_s <= t_s {
                let p = self.propagator(t_s - a.time_s);
                for (x, y) in atoms
                    .iter_mut()
                    .zip(p.atoms(&self.parent_atoms(a.activity_bq)))
                {
                    *x += y;
                }
            }
        }
        self.activities_of_atoms(&atoms)
    }

    /// Number of decays of every member in [t0_s, t1_s] \[s\] for a sequence of administrations
    /// of the parent (superposition). If t1_s < t0_s the result is the negative of
    /// [t1_s, t0_s].
    pub fn schedule_cumulated_decays(
        &self,
        administrations: &[Administration],
        t0_s: f64,
        t1_s: f64,
    ) -> Vec<f64> {
        if t1_s < t0_s {
            return self
                .schedule_cumulated_decays(administrations, t1_s, t0_s)
                .into_iter()
                .map(|x| -x)
                .collect();
        }
        let mut out = vec![0.0; self.members.len()];
        for a in administrations {
            let start = t0_s.max(a.time_s);
            if start >= t1_s {
                continue;
            }
            let mut state = self.parent_atoms(a.activity_bq);
            if start > a.time_s {
                state = self.propagator(start - a.time_s).atoms(&state);
            }
            let d = self.propagator(t1_s - start).decays(&state);
            for (x, y) in out.iter_mut().zip(d) {
                *x += y;
            }
        }
        out
    }
}
