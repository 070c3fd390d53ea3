//! Null models: randomized graphs that keep some of the real graph's structure.

use std::collections::HashSet;
use std::hash::{BuildHasherDefault, Hasher};

use rand::seq::SliceRandom;
use rand::{Rng, RngExt};

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
            switching(n, edges, trials, rng)
        }
        NullModel::Degree => degree_switching(n, edges, (q * m).round() as u64, rng),
        NullModel::Configuration => configuration(edges, rng),
        NullModel::Gnm => gnm(n, edges.len(), rng),
    }
}

/// Out-neighbour lists in one flat array. Every switching move keeps each node's out-degree,
/// so a slot `i` stays owned by `owner[i]` and only its target changes; membership tests scan
/// one short, cache-resident segment instead of hashing.
struct OutSlots {
    offsets: Vec<usize>,
    owner: Vec<u32>,
    target: Vec<u32>,
}

impl OutSlots {
    fn new(n: usize, edges: &[(u32, u32)]) -> Self {
        let mut offsets = vec![0usize; n + 1];
        for &(s, _) in edges {
            offsets[s as usize + 1] += 1;
        }
        for v in 0..n {
            offsets[v + 1] += offsets[v];
        }
        let mut fill = offsets.clone();
        let mut owner = vec![0u32; edges.len()];
        let mut target = vec![0u32; edges.len()];
        for &(s, d) in edges {
            let slot = fill[s as usize];
            fill[s as usize] += 1;
            owner[slot] = s;
            target[slot] = d;
        }
        Self {
            offsets,
            owner,
            target,
        }
    }

    #[inline]
    fn has(&self, s: u32, d: u32) -> bool {
        let (a, b) = (self.offsets[s as usize], self.offsets[s as usize + 1]);
        self.target[a..b].contains(&d)
    }

    /// The slot of `s -> d` (the edge must exist).
    fn slot(&self, s: u32, d: u32) -> usize {
        let a = self.offsets[s as usize];
        a + self.target[a..self.offsets[s as usize + 1]]
            .iter()
            .position(|&t| t == d)
            .unwrap_or(0)
    }

    #[inline]
    fn adjacent(&self, a: u32, b: u32) -> bool {
        self.has(a, b) || self.has(b, a)
    }

    fn edges(&self) -> Vec<(u32, u32)> {
        self.owner
            .iter()
            .copied()
            .zip(self.target.iter().copied())
            .collect()
    }
}

/// Packs a slot with its owner, so the trial loop reads both with one memory access.
#[inline]
fn pack(owner: u32, slot: usize) -> u64 {
    (owner as u64) << 32 | slot as u64
}

#[inline]
fn unpack(p: u64) -> (u32, usize) {
    ((p >> 32) as u32, (p & 0xffff_ffff) as usize)
}

/// mfinder-style switching: asymmetric edges among themselves, mutual dyads among themselves.
fn switching<R: Rng>(n: usize, edges: &[(u32, u32)], trials: u64, rng: &mut R) -> NullDraw {
    let mut g = OutSlots::new(n, edges);
    // Asymmetric edges as packed (owner, slot); mutual dyads as the packed slots a->b and
    // b->a (a < b), whose owners are the dyad's two nodes.
    let mut asym: Vec<u64> = Vec::new();
    let mut mutual: Vec<(u64, u64)> = Vec::new();
    for slot in 0..g.target.len() {
        let (a, b) = (g.owner[slot], g.target[slot]);
        if !g.has(b, a) {
            asym.push(pack(a, slot));
        } else if a < b {
            mutual.push((pack(a, slot), pack(b, g.slot(b, a))));
        }
    }
    let mut accepted = 0;
    let pool = asym.len() + mutual.len();
    for _ in 0..trials {
        if pool == 0 {
            break;
        }
        if rng.random_range(0..pool) < asym.len() {
            if asym.len() < 2 {
                continue;
            }
            let (a, i) = unpack(asym[rng.random_range(0..asym.len())]);
            let (c, j) = unpack(asym[rng.random_range(0..asym.len())]);
            let (b, d) = (g.target[i], g.target[j]);
            if a == c || a == d || b == c || b == d || g.adjacent(a, d) || g.adjacent(c, b) {
                continue;
            }
            g.target[i] = d;
            g.target[j] = b;
        } else {
            if mutual.len() < 2 {
                continue;
            }
            let (pi, pj) = (
                rng.random_range(0..mutual.len()),
                rng.random_range(0..mutual.len()),
            );
            let ((a, ab), (b, ba)) = (unpack(mutual[pi].0), unpack(mutual[pi].1));
            // Either orientation of the second dyad, so both rewirings are reachable.
            let (x, y) = if rng.random_bool(0.5) {
                mutual[pj]
            } else {
                (mutual[pj].1, mutual[pj].0)
            };
            let ((c, cd), (d, dc)) = (unpack(x), unpack(y));
            if a == c || a == d || b == c || b == d || g.adjacent(a, d) || g.adjacent(c, b) {
                continue;
            }
            // a<->b, c<->d  become  a<->d, c<->b.
            g.target[ab] = d;
            g.target[dc] = a;
            g.target[cd] = b;
            g.target[ba] = c;
            mutual[pi] = (pack(a, ab), pack(d, dc));
            mutual[pj] = (pack(c, cd), pack(b, ba));
        }
        accepted += 1;
    }
    NullDraw {
        edges: g.edges(),
        trials,
        accepted,
    }
}

/// igraph-style degree-preserving switching (mutual dyads not preserved).
fn degree_switching<R: Rng>(n: usize, edges: &[(u32, u32)], trials: u64, rng: &mut R) -> NullDraw {
    let mut g = OutSlots::new(n, edges);
    let m = g.target.len();
    let mut accepted = 0;
    if m >= 2 {
        for _ in 0..trials {
            let (i, j) = (rng.random_range(0..m), rng.random_range(0..m));
            let (a, b, c, d) = (g.owner[i], g.target[i], g.owner[j], g.target[j]);
            if i == j || a == d || c == b || g.has(a, d) || g.has(c, b) {
                continue;
            }
            g.target[i] = d;
            g.target[j] = b;
            accepted += 1;
        }
    }
    NullDraw {
        edges: g.edges(),
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

/// A G(n, m) random directed graph: `edges` distinct non-loop edges on `nodes` nodes, drawn
/// uniformly from `seed` (benchmarks, tests, baselines).
pub fn random_gnm(nodes: usize, edges: usize, seed: u64) -> crate::Result<MotifGraph> {
    let possible = nodes.checked_mul(nodes.saturating_sub(1));
    if nodes > u32::MAX as usize / 2 || possible.is_none_or(|p| edges > p) {
        return Err(crate::MotifsError::invalid(
            "edges",
            edges,
            "must be at most n (n - 1) for a simple directed graph",
        ));
    }
    let mut rng = kiln_core::seed::rng(seed);
    let d = gnm(nodes, edges, &mut rng);
    let template = MotifGraph::from_edges(nodes, &[])?;
    Ok(MotifGraph::from_pairs_unchecked(&template, &d.edges))
}
