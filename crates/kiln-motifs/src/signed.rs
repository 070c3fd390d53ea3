//! Signed and weighted feed-forward loops: sign types, Onnela intensity and coherence, and
//! shuffle nulls that keep the topology.
//!
//! A feed-forward loop (FFL) is an ordered triple of distinct nodes with `X -> Y`, `Y -> Z` and
//! `X -> Z`. It is **induced** when the three nodes have no other edge between them (the triad
//! is `030T`, what the motif census counts) and **non-induced** otherwise (also counted inside
//! `120D/U/C`, `210`, `300` triads, once per ordered triple).

use rand::seq::SliceRandom;
use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use crate::errors::{MotifsError, Result};
use crate::graph::MotifGraph;
use crate::significance::mean_std;

/// The eight sign types of a feed-forward loop, keyed by the sign triple
/// `(s_XY, s_YZ, s_XZ)`; names follow Mangan & Alon (2003). Coherent iff
/// `s_XZ = s_XY * s_YZ` (the direct path has the sign of the indirect one).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum FflType {
    /// `(+, +, +)`.
    C1,
    /// `(-, +, -)`.
    C2,
    /// `(+, -, -)`.
    C3,
    /// `(-, -, +)`.
    C4,
    /// `(+, -, +)`.
    I1,
    /// `(-, -, -)`.
    I2,
    /// `(+, +, -)`.
    I3,
    /// `(-, +, +)`.
    I4,
}

impl FflType {
    /// All eight in the order C1..C4, I1..I4.
    pub const ALL: [FflType; 8] = [
        FflType::C1,
        FflType::C2,
        FflType::C3,
        FflType::C4,
        FflType::I1,
        FflType::I2,
        FflType::I3,
        FflType::I4,
    ];

    /// The sign triple `(s_XY, s_YZ, s_XZ)`, each `+1` or `-1`.
    pub fn signs(self) -> [i8; 3] {
        match self {
            FflType::C1 => [1, 1, 1],
            FflType::C2 => [-1, 1, -1],
            FflType::C3 => [1, -1, -1],
            FflType::C4 => [-1, -1, 1],
            FflType::I1 => [1, -1, 1],
            FflType::I2 => [-1, -1, -1],
            FflType::I3 => [1, 1, -1],
            FflType::I4 => [-1, 1, 1],
        }
    }

    /// The type with sign triple `(s_XY, s_YZ, s_XZ)` (each `+1` or `-1`).
    pub fn from_signs(signs: [i8; 3]) -> Option<FflType> {
        FflType::ALL.into_iter().find(|t| t.signs() == signs)
    }

    /// The type of an FFL with edge weights `[w_XY, w_YZ, w_XZ]` (`w >= 0` counts as `+`).
    pub(crate) fn from_weights(w: [f64; 3]) -> FflType {
        let s = |w: f64| if w >= 0.0 { 1i8 } else { -1 };
        Self::from_signs([s(w[0]), s(w[1]), s(w[2])]).unwrap_or(FflType::C1)
    }

    /// Whether `s_XZ = s_XY * s_YZ`.
    pub fn is_coherent(self) -> bool {
        let [a, b, c] = self.signs();
        c == a * b
    }

    /// `"C1"` .. `"I4"`.
    pub fn name(self) -> &'static str {
        ["C1", "C2", "C3", "C4", "I1", "I2", "I3", "I4"][self as usize]
    }
}

/// FFL counts by sign type.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct FflCounts {
    /// Counts in the order of [`FflType::ALL`].
    pub by_type: [u64; 8],
}

impl FflCounts {
    /// The count of one type.
    pub fn get(&self, t: FflType) -> u64 {
        self.by_type[t as usize]
    }
    /// All FFLs.
    pub fn total(&self) -> u64 {
        self.by_type.iter().sum()
    }
    /// Coherent FFLs (C1..C4).
    pub fn coherent(&self) -> u64 {
        FflType::ALL
            .iter()
            .filter(|t| t.is_coherent())
            .map(|t| self.get(*t))
            .sum()
    }
}

/// Signed and weighted FFL statistics of a graph.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SignedFfls {
    /// Induced FFLs (triad `030T`) by sign type.
    pub induced: FflCounts,
    /// All FFLs (any extra edges allowed) by sign type.
    pub noninduced: FflCounts,
    /// `max |w|` over the graph's edges: Onnela's weight normalizer.
    pub normalizer: f64,
    /// Sum over induced FFLs of the Onnela intensity `(|w_XY| |w_YZ| |w_XZ|)^(1/3) / max|w|`
    /// (Onnela, Saramäki, Kertész & Kaski 2005).
    pub total_intensity: f64,
    /// Mean intensity over induced FFLs (0 when there are none).
    pub mean_intensity: f64,
    /// Mean Onnela coherence over induced FFLs: geometric over arithmetic mean of the three
    /// normalized weights (1 when equal, 0 when none).
    pub mean_coherence: f64,
}

/// One FFL as edge indices into the graph's sorted edge list, and whether it is induced.
#[derive(Debug, Clone, Copy)]
struct Ffl {
    xy: usize,
    yz: usize,
    xz: usize,
    induced: bool,
}

/// Enumerates FFLs: for each `X -> Y` and `Y -> Z`, look `X -> Z` up.
fn find_ffls(graph: &MotifGraph) -> Vec<Ffl> {
    let edges = graph.edges();
    let n = graph.node_count();
    // Out-lists as (target, edge index), sorted by target (edges are sorted by (src, dst)).
    let mut offsets = vec![0usize; n + 1];
    for e in &edges {
        offsets[e.0 + 1] += 1;
    }
    for v in 0..n {
        offsets[v + 1] += offsets[v];
    }
    let out = |v: usize| &edges[offsets[v]..offsets[v + 1]];
    let find = |s: usize, d: usize| -> Option<usize> {
        out(s)
            .binary_search_by_key(&d, |e| e.1)
            .ok()
            .map(|i| offsets[s] + i)
    };
    let mut found = Vec::new();
    for (xy, &(x, y, _)) in edges.iter().enumerate() {
        for (k, &(_, z, _)) in out(y).iter().enumerate() {
            if z == x {
                continue;
            }
            if let Some(xz) = find(x, z) {
                let induced = find(y, x).is_none() && find(z, y).is_none() && find(z, x).is_none();
                found.push(Ffl {
                    xy,
                    yz: offsets[y] + k,
                    xz,
                    induced,
                });
            }
        }
    }
    found
}

fn evaluate(ffls: &[Ffl], weights: &[f64], normalizer: f64) -> SignedFfls {
    let mut induced = FflCounts::default();
    let mut noninduced = FflCounts::default();
    let (mut total_intensity, mut total_coherence) = (0.0, 0.0);
    for f in ffls {
        let (a, b, c) = (weights[f.xy], weights[f.yz], weights[f.xz]);
        let t = FflType::from_weights([a, b, c]) as usize;
        noninduced.by_type[t] += 1;
        if f.induced {
            induced.by_type[t] += 1;
            let (a, b, c) = (
                a.abs() / normalizer,
                b.abs() / normalizer,
                c.abs() / normalizer,
            );
            let geo = (a * b * c).cbrt();
            let arith = (a + b + c) / 3.0;
            total_intensity += geo;
            total_coherence += if arith > 0.0 { geo / arith } else { 0.0 };
        }
    }
    let count = induced.total();
    let per = |x: f64| if count > 0 { x / count as f64 } else { 0.0 };
    SignedFfls {
        induced,
        noninduced,
        normalizer,
        total_intensity,
        mean_intensity: per(total_intensity),
        mean_coherence: per(total_coherence),
    }
}

fn weights_and_normalizer(graph: &MotifGraph) -> Result<Vec<f64>> {
    let w: Vec<f64> = graph.edges().iter().map(|e| e.2).collect();
    if w.is_empty() || w.iter().all(|v| *v == 0.0) {
        return Err(MotifsError::GraphTooSmall {
            what: "weighted FFLs (needs an edge with a non-zero weight)",
            nodes: graph.node_count(),
            edges: graph.edge_count(),
        });
    }
    Ok(w)
}

/// Signed FFL types and Onnela intensity/coherence of `graph`'s weighted edges.
pub fn signed_ffls(graph: &MotifGraph) -> Result<SignedFfls> {
    let w = weights_and_normalizer(graph)?;
    let norm = w.iter().fold(0.0f64, |m, v| m.max(v.abs()));
    Ok(evaluate(&find_ffls(graph), &w, norm))
}

/// Which part of the weights a shuffle null permutes across edges (topology is kept).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Shuffle {
    /// Permute the signs, keep each edge's magnitude: tests the sign arrangement (coherence).
    Sign,
    /// Permute the magnitudes, keep each edge's sign: tests where the strong weights sit
    /// (intensity).
    Magnitude,
}

/// A statistic of the real graph against a shuffle ensemble.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ShuffleStat {
    /// Value on the real graph.
    pub real: f64,
    /// Ensemble mean.
    pub mean: f64,
    /// Ensemble standard deviation (ddof = 1).
    pub std: f64,
    /// `(real - mean) / std` (`None` when `std = 0`).
    pub z: Option<f64>,
}

/// The shuffle ensemble's view of the signed FFL statistics.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ShuffleNull {
    /// What was permuted.
    pub shuffle: Shuffle,
    /// Number of shuffled copies.
    pub samples: usize,
    /// Coherent induced FFLs.
    pub induced_coherent: ShuffleStat,
    /// Coherent non-induced FFLs.
    pub noninduced_coherent: ShuffleStat,
    /// Total Onnela intensity of induced FFLs.
    pub total_intensity: ShuffleStat,
}

fn shuffle_stat(real: f64, null: &[f64]) -> ShuffleStat {
    let (mean, std) = mean_std(null);
    ShuffleStat {
        real,
        mean,
        std,
        z: (std > 0.0).then(|| (real - mean) / std),
    }
}

/// Compares the signed FFL statistics with `samples` (>= 2) copies whose signs or magnitudes
/// are permuted across edges; copy `i` uses [`kiln_core::seed::rng_stream`]`(seed, i)`.
pub fn shuffle_null(
    graph: &MotifGraph,
    shuffle: Shuffle,
    samples: usize,
    seed: u64,
) -> Result<ShuffleNull> {
    if samples < 2 {
        return Err(MotifsError::invalid("samples", samples, "must be >= 2"));
    }
    let w = weights_and_normalizer(graph)?;
    let norm = w.iter().fold(0.0f64, |m, v| m.max(v.abs()));
    let ffls = find_ffls(graph);
    let real = evaluate(&ffls, &w, norm);
    let draws: Vec<SignedFfls> = (0..samples)
        .into_par_iter()
        .map(|i| {
            let mut rng = kiln_core::seed::rng_stream(seed, i as u64);
            let mut signs: Vec<f64> = w
                .iter()
                .map(|v| if *v >= 0.0 { 1.0 } else { -1.0 })
                .collect();
            let mut mags: Vec<f64> = w.iter().map(|v| v.abs()).collect();
            match shuffle {
                Shuffle::Sign => signs.shuffle(&mut rng),
                Shuffle::Magnitude => mags.shuffle(&mut rng),
            }
            let shuffled: Vec<f64> = signs.iter().zip(&mags).map(|(s, m)| s * m).collect();
            evaluate(&ffls, &shuffled, norm)
        })
        .collect();
    let pick = |f: &dyn Fn(&SignedFfls) -> f64| {
        shuffle_stat(f(&real), &draws.iter().map(f).collect::<Vec<_>>())
    };
    Ok(ShuffleNull {
        shuffle,
        samples,
        induced_coherent: pick(&|s| s.induced.coherent() as f64),
        noninduced_coherent: pick(&|s| s.noninduced.coherent() as f64),
        total_intensity: pick(&|s| s.total_intensity),
    })
}
