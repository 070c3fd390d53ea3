//! Null models: randomized graphs that keep some of the real graph's structure.

use std::collections::HashSet;
use std::hash::{BuildHasherDefault, Hasher};

use rand::Rng;
use rand::seq::SliceRandom;

use crate::graph::MotifGraph;
use crate::hyperparams::{NullModel, SignificanceValidParams};

/// A multiply-rotate hasher for packed `(src, dst)` keys (FxHash's mixing step).
#[derive(Default)]
pub(crate) struct KeyHasher(u64);

impl Hasher for KeyHasher {
    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.write_u64(b as u64);
        }
    }
    fn write_u64(&mut self, x: u64) {
        self.0 = (self.0.rotate_left(5) ^ x).wrapping_mul(0x51_7c_c1_b7_27_22_0a_95);
    }
    fn finish(&self) -> u64 {
        self.0
    }
}

type EdgeSet = HashSet<u64, BuildHasherDefault<KeyHasher>>;

#[inline]
fn key(s: u32, d: u32) -> u64 {
    (s as u64) << 32 | d as u64
}

/// One randomized graph and how its switching went.
#[derive(Debug, Clone)]
pub(crate) struct NullDraw {
    pub(crate) edges: Vec<(u32, u32)>,
    /// Switch trials attempted (0 for the generative models).
    pub(crate) trials: u64,
    /// Switches accepted.
    pub(crate) accepted: u64,
}

/// Draws one null graph of `model` from the real graph's edges.
pub(crate) fn draw<R: Rng>(
    model: NullModel,
    n: usize,
    edges: &[(u32, u32)],
    q: f64,
    rng: &mut R,
) -> NullDraw {
    let m = edges.len() as f64;
    match model {
        NullModel::Switching => {
            let lo = (q * m).round() as u64;
            let trials = if lo == 0 {
                0
            } else {
                rng.random_range(lo..=2 * lo)
            };
            switching(edges, trials, rng)
        }
        NullModel::Degree => degree_switching(edges, (q * m).round() as u64, rng),
        NullModel::Configuration => configuration(edges, rng),
        NullModel::Gnm => gnm(n, edges.len(), rng),
    }
}

/// mfinder-style switching: asymmetric edges among themselves, mutual dyads among themselves.
fn switching<R: Rng>(edges: &[(u32, u32)], trials: u64, rng: &mut R) -> NullDraw {
    let set: EdgeSet = edges.iter().map(|&(s, d)| key(s, d)).collect();
    let mut asym = Vec::new();
    let mut mutual = Vec::new();
    for &(s, d) in edges {
        if !set.contains(&key(d, s)) {
            asym.push((s, d));
        } else if s < d {
            mutual.push((s, d));
        }
    }
    let mut set = set;
    let adjacent =
        |set: &EdgeSet, a: u32, b: u32| set.contains(&key(a, b)) || set.contains(&key(b, a));
    let mut accepted = 0;
    let pool = asym.len() + mutual.len();
    for _ in 0..trials {
        if pool == 0 {
            break;
        }
        let use_asym = rng.random_range(0..pool) < asym.len();
        let list = if use_asym { &mut asym } else { &mut mutual };
        if list.len() < 2 {
            continue;
        }
        let i = rng.random_range(0..list.len());
        let j = rng.random_range(0..list.len());
        let (a, b) = list[i];
        let (mut c, mut d) = list[j];
        if !use_asym && rng.random_bool(0.5) {
            std::mem::swap(&mut c, &mut d);
        }
        if a == c || a == d || b == c || b == d {
            continue;
        }
        if adjacent(&set, a, d) || adjacent(&set, c, b) {
            continue;
        }
        set.remove(&key(a, b));
        set.remove(&key(c, d));
        set.insert(key(a, d));
        set.insert(key(c, b));
        if !use_asym {
            set.remove(&key(b, a));
            set.remove(&key(d, c));
            set.insert(key(d, a));
            set.insert(key(b, c));
        }
        list[i] = (a, d);
        list[j] = (c, b);
        accepted += 1;
    }
    let mut out = asym;
    for (a, b) in mutual {
        out.push((a, b));
        out.push((b, a));
    }
    NullDraw {
        edges: out,
        trials,
        accepted,
    }
}

/// igraph-style degree-preserving switching (mutual dyads not preserved).
fn degree_switching<R: Rng>(edges: &[(u32, u32)], trials: u64, rng: &mut R) -> NullDraw {
    let mut list = edges.to_vec();
    let mut set: EdgeSet = edges.iter().map(|&(s, d)| key(s, d)).collect();
    let mut accepted = 0;
    if list.len() >= 2 {
        for _ in 0..trials {
            let i = rng.random_range(0..list.len());
            let j = rng.random_range(0..list.len());
            let ((a, b), (c, d)) = (list[i], list[j]);
            if i == j || a == d || c == b || set.contains(&key(a, d)) || set.contains(&key(c, b)) {
                continue;
            }
            set.remove(&key(a, b));
            set.remove(&key(c, d));
            set.insert(key(a, d));
            set.insert(key(c, b));
            list[i] = (a, d);
            list[j] = (c, b);
            accepted += 1;
        }
    }
    NullDraw {
        edges: list,
        trials,
        accepted,
    }
}

/// Erased configuration model.
fn configuration<R: Rng>(edges: &[(u32, u32)], rng: &mut R) -> NullDraw {
    let outs: Vec<u32> = edges.iter().map(|e| e.0).collect();
    let mut ins: Vec<u32> = edges.iter().map(|e| e.1).collect();
    ins.shuffle(rng);
    let mut set = EdgeSet::default();
    let mut out = Vec::with_capacity(edges.len());
    for (s, d) in outs.into_iter().zip(ins) {
        if s != d && set.insert(key(s, d)) {
            out.push((s, d));
        }
    }
    NullDraw {
        edges: out,
        trials: 0,
        accepted: 0,
    }
}

/// G(n, m) by rejection (or by drawing the complement when `m` is over half of `n(n-1)`).
fn gnm<R: Rng>(n: usize, m: usize, rng: &mut R) -> NullDraw {
    let possible = n * n.saturating_sub(1);
    let dense = m > possible / 2;
    let target = if dense { possible - m.min(possible) } else { m };
    let mut set = EdgeSet::default();
    let mut out = Vec::with_capacity(m);
    while set.len() < target {
        let s = rng.random_range(0..n as u32);
        let d = rng.random_range(0..n as u32);
        if s != d && set.insert(key(s, d)) && !dense {
            out.push((s, d));
        }
    }
    if dense {
        for s in 0..n as u32 {
            for d in 0..n as u32 {
                if s != d && !set.contains(&key(s, d)) {
                    out.push((s, d));
                }
            }
        }
    }
    NullDraw {
        edges: out,
        trials: 0,
        accepted: 0,
    }
}

/// One null graph of the model in `params` (unit weights), from `seed`.
pub fn null_graph(graph: &MotifGraph, params: &SignificanceValidParams, seed: u64) -> MotifGraph {
    let mut rng = kiln_core::seed::rng(seed);
    let d = draw(
        params.model(),
        graph.node_count(),
        &graph.pairs(),
        params.switches_per_edge(),
        &mut rng,
    );
    MotifGraph::from_pairs_unchecked(graph, &d.edges)
}
