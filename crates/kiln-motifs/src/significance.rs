//! Motif significance against a null ensemble: z-scores, empirical p-values, the significance
//! profile.

use rayon::prelude::*;
use serde::{Deserialize, Serialize};
use statrs::distribution::{ContinuousCDF, Normal};

use kiln_core::Progress;

use crate::adjacency::Adjacency;
use crate::census::{census4_adj, triad_census_adj};
use crate::errors::{MotifsError, Result};
use crate::graph::MotifGraph;
use crate::hyperparams::{NullModel, SignificanceValidParams};
use crate::isoclass::Triad;
use crate::null::draw;

/// One motif class against the null ensemble.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MotifStat {
    /// MAN name for 3-node classes (`"030T"`), `None` for 4-node classes.
    pub man: Option<String>,
    /// mfinder ID.
    pub mfinder_id: u32,
    /// Count in the real graph.
    pub count: u64,
    /// Mean count over the null graphs.
    pub null_mean: f64,
    /// Sample standard deviation (ddof = 1) over the null graphs.
    pub null_std: f64,
    /// `(count - null_mean) / null_std`; `None` when `null_std = 0` (igraph and the reference
    /// give NaN / null there).
    pub z: Option<f64>,
    /// Empirical upper p-value `(1 + #{null >= count}) / (N + 1)`.
    pub p_over: f64,
    /// Empirical lower p-value `(1 + #{null <= count}) / (N + 1)`.
    pub p_under: f64,
    /// Normal-approximation upper tail `1 - Phi(z)` (`None` with `z`).
    pub p_normal: Option<f64>,
}

/// Significance of every motif class of one size.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Significance {
    /// Motif size.
    pub size: usize,
    /// The null model.
    pub model: NullModel,
    /// Number of null graphs.
    pub samples: usize,
    /// Per class, in census order (13 triad classes for size 3, 199 IDs ascending for size 4).
    pub motifs: Vec<MotifStat>,
    /// Significance profile `SP_i = Z_i / sqrt(sum_j Z_j^2)` (Milo et al. 2004), undefined
    /// z counted as 0; all zeros when every z is 0 or undefined.
    pub profile: Vec<f64>,
    /// Mean fraction of switch trials accepted (switching models; `None` otherwise).
    pub acceptance: Option<f64>,
    /// Mean edge count of the null graphs (below the real one for the erased configuration model).
    pub null_mean_edges: f64,
}

impl Significance {
    /// The entry of the class with this mfinder ID.
    pub fn get(&self, mfinder_id: u32) -> Option<&MotifStat> {
        self.motifs.iter().find(|m| m.mfinder_id == mfinder_id)
    }
}

/// Counts per class for motif size 3 or 4, as f64 for statistics.
fn class_counts(adj: &Adjacency, size: usize) -> Vec<u64> {
    if size == 3 {
        let t = triad_census_adj(adj);
        Triad::CONNECTED.iter().map(|c| t.get(*c)).collect()
    } else {
        census4_adj(adj).counts().to_vec()
    }
}

/// Compares `graph`'s motif counts with `params.samples()` null graphs (null graph `i` drawn
/// from [`kiln_core::seed::rng_stream`]`(seed, i)`, so results do not depend on the thread
/// count), in parallel with rayon; `progress` gets one tick per null graph.
pub fn significance(
    graph: &MotifGraph,
    params: &SignificanceValidParams,
    seed: u64,
    progress: &dyn Progress,
) -> Result<Significance> {
    let (n, m) = (graph.node_count(), graph.edge_count());
    if n < params.size() || m == 0 {
        return Err(MotifsError::GraphTooSmall {
            what: "a significance test",
            nodes: n,
            edges: m,
        });
    }
    let adj = graph.adjacency();
    let real = class_counts(&adj, params.size());
    let pairs = graph.pairs();
    progress.set_length(params.samples() as u64);
    let draws: Vec<(Vec<u64>, u64, u64, usize)> = (0..params.samples())
        .into_par_iter()
        .map(|i| {
            let mut rng = kiln_core::seed::rng_stream(seed, i as u64);
            let d = draw(
                params.model(),
                n,
                &pairs,
                params.switches_per_edge(),
                &mut rng,
            );
            let counts = class_counts(&Adjacency::new(n, &d.edges), params.size());
            progress.inc(1);
            (counts, d.trials, d.accepted, d.edges.len())
        })
        .collect();
    let ids: Vec<u32> = if params.size() == 3 {
        Triad::CONNECTED.iter().map(|t| t.mfinder_id()).collect()
    } else {
        crate::isoclass::quad_mfinder_ids().to_vec()
    };
    let nulls: Vec<&[u64]> = draws.iter().map(|d| d.0.as_slice()).collect();
    let motifs: Vec<MotifStat> = ids
        .iter()
        .enumerate()
        .map(|(c, &id)| {
            let samples: Vec<f64> = nulls.iter().map(|v| v[c] as f64).collect();
            let man = (params.size() == 3).then(|| Triad::CONNECTED[c].man().to_string());
            stat(man, id, real[c], &samples)
        })
        .collect();
    let profile = significance_profile(&motifs.iter().map(|m| m.z).collect::<Vec<_>>());
    let trials: u64 = draws.iter().map(|d| d.1).sum();
    let accepted: u64 = draws.iter().map(|d| d.2).sum();
    let acceptance = (trials > 0).then(|| accepted as f64 / trials as f64);
    let null_mean_edges = draws.iter().map(|d| d.3 as f64).sum::<f64>() / draws.len() as f64;
    Ok(Significance {
        size: params.size(),
        model: params.model(),
        samples: params.samples(),
        motifs,
        profile,
        acceptance,
        null_mean_edges,
    })
}

/// Mean and sample standard deviation (ddof = 1).
pub(crate) fn mean_std(x: &[f64]) -> (f64, f64) {
    let n = x.len() as f64;
    let mean = x.iter().sum::<f64>() / n;
    let var = if x.len() > 1 {
        x.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / (n - 1.0)
    } else {
        0.0
    };
    (mean, var.sqrt())
}

/// z-score, empirical and normal p-values of `real` against `null` samples.
pub(crate) fn stat(man: Option<String>, mfinder_id: u32, real: u64, null: &[f64]) -> MotifStat {
    let (null_mean, null_std) = mean_std(null);
    let r = real as f64;
    let z = (null_std > 0.0).then(|| (r - null_mean) / null_std);
    let total = null.len() as f64 + 1.0;
    let p_over = (1.0 + null.iter().filter(|&&v| v >= r).count() as f64) / total;
    let p_under = (1.0 + null.iter().filter(|&&v| v <= r).count() as f64) / total;
    let normal = Normal::standard();
    let p_normal = z.map(|z| normal.sf(z));
    MotifStat {
        man,
        mfinder_id,
        count: real,
        null_mean,
        null_std,
        z,
        p_over,
        p_under,
        p_normal,
    }
}

/// `SP_i = Z_i / sqrt(sum Z_j^2)`, undefined z as 0.
pub fn significance_profile(z: &[Option<f64>]) -> Vec<f64> {
    let norm = z
        .iter()
        .map(|v| v.unwrap_or(0.0).powi(2))
        .sum::<f64>()
        .sqrt();
    z.iter()
        .map(|v| {
            if norm > 0.0 {
                v.unwrap_or(0.0) / norm
            } else {
                0.0
            }
        })
        .collect()
}
