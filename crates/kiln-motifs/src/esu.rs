//! ESU enumeration of connected induced subgraphs (Wernicke 2006) and its sampling variant
//! RAND-ESU.

use std::collections::{BTreeMap, HashMap};

use rand::RngExt;
use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use crate::adjacency::{Adjacency, IN, OUT};
use crate::graph::MotifGraph;
use crate::hyperparams::RandEsuValidParams;
use crate::isoclass::{Triad, mfinder_id, tables};

/// Walks the ESU tree below each root, handing every `k`-node leaf's code to a sink.
struct Walker<'a, S: FnMut(u32)> {
    adj: &'a Adjacency,
    k: usize,
    root: u32,
    sub: [u32; 8],
    sink: S,
}

impl<S: FnMut(u32)> Walker<'_, S> {
    /// Extends the subgraph `sub[..len]` (with code `code`) by each node of `ext` in turn;
    /// `keep(depth)` decides whether a child at `depth` is explored (RAND-ESU), always true
    /// for the exact census.
    fn extend(
        &mut self,
        len: usize,
        code: u32,
        mut ext: Vec<u32>,
        keep: &mut dyn FnMut(usize) -> bool,
    ) {
        while let Some(w) = ext.pop() {
            if !keep(len) {
                continue;
            }
            let mut c = code;
            let (k, adj) = (self.k, self.adj);
            for i in 0..len {
                let d = adj.dyad(w as usize, self.sub[i]);
                if d & OUT != 0 {
                    c |= 1 << (len * k + i);
                }
                if d & IN != 0 {
                    c |= 1 << (i * k + len);
                }
            }
            if len + 1 == k {
                (self.sink)(c);
                continue;
            }
            let mut next = ext.clone();
            let (nw, _) = adj.neighbors(w as usize);
            for &u in nw {
                if u <= self.root {
                    continue;
                }
                let exclusive =
                    (0..len).all(|i| self.sub[i] != u && adj.dyad(self.sub[i] as usize, u) == 0);
                if exclusive {
                    next.push(u);
                }
            }
            self.sub[len] = w;
            self.extend(len + 1, c, next, keep);
        }
    }
}

/// Runs ESU from `root`.
fn walk_root(
    adj: &Adjacency,
    k: usize,
    root: u32,
    keep: &mut dyn FnMut(usize) -> bool,
    sink: impl FnMut(u32),
) {
    let mut walker = Walker {
        adj,
        k,
        root,
        sub: [0; 8],
        sink,
    };
    walker.sub[0] = root;
    let (nr, _) = adj.neighbors(root as usize);
    let ext: Vec<u32> = nr.iter().copied().filter(|&u| u > root).collect();
    walker.extend(1, 0, ext, keep);
}

/// Exact 4-node census by class index (aligned with `quad_mfinder_ids`).
pub(crate) fn enumerate_classes4(adj: &Adjacency) -> Vec<u64> {
    let table = &tables().quad_of_code;
    let classes = tables().quad_ids.len();
    (0..adj.n() as u32)
        .into_par_iter()
        .with_min_len(16)
        .fold(
            || vec![0u64; classes],
            |mut acc, root| {
                walk_root(adj, 4, root, &mut |_| true, |code| {
                    if let Some(slot) = acc.get_mut(table[code as usize] as usize) {
                        *slot += 1;
                    }
                });
                acc
            },
        )
        .reduce(
            || vec![0u64; classes],
            |mut a, b| {
                for (x, y) in a.iter_mut().zip(b) {
                    *x += y;
                }
                a
            },
        )
}

/// Maps a `k`-node code to its mfinder ID, with a cache for `k >= 5`.
struct Classifier {
    k: usize,
    cache: HashMap<u32, u32>,
}

impl Classifier {
    fn id(&mut self, code: u32) -> u32 {
        match self.k {
            3 => Triad::from_code(code as u16).mfinder_id(),
            4 => {
                let t = tables();
                t.quad_ids[t.quad_of_code[code as usize] as usize]
            }
            k => *self
                .cache
                .entry(code)
                .or_insert_with(|| mfinder_id(code, k)),
        }
    }
}

/// RAND-ESU estimates of the connected `size`-node subgraph counts.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SampledCensus {
    /// Subgraph size.
    pub size: usize,
    /// Per-depth probabilities used.
    pub probabilities: Vec<f64>,
    /// mfinder ID -> number of sampled leaves.
    pub sampled: BTreeMap<u32, u64>,
    /// mfinder ID -> unbiased estimate of the count (`sampled / prod(probabilities)`).
    pub estimates: BTreeMap<u32, f64>,
}

/// RAND-ESU (Wernicke 2006): the ESU tree with each child at depth `d` kept with probability
/// `p_d`; every leaf is reached with probability `prod p_d`, so `sampled / prod p_d` estimates
/// each class count without bias. With all `p_d = 1` it is the exact census.
///
/// Roots are split into chunks of 256 with one random stream each
/// ([`kiln_core::seed::rng_stream`]`(seed, chunk)`), so results do not depend on the thread
/// count.
pub fn rand_esu(graph: &MotifGraph, params: &RandEsuValidParams, seed: u64) -> SampledCensus {
    let adj = graph.adjacency();
    let k = params.size();
    let probs = params.probabilities().to_vec();
    let n = adj.n() as u32;
    let chunks: Vec<(u64, u32, u32)> = (0..n)
        .step_by(256)
        .enumerate()
        .map(|(i, lo)| (i as u64, lo, (lo + 256).min(n)))
        .collect();
    let sampled: BTreeMap<u32, u64> = chunks
        .par_iter()
        .map(|&(chunk, lo, hi)| {
            let mut rng = kiln_core::seed::rng_stream(seed, chunk);
            let mut classifier = Classifier {
                k,
                cache: HashMap::new(),
            };
            let mut codes: HashMap<u32, u64> = HashMap::new();
            for root in lo..hi {
                if !rng.random_bool(probs[0]) {
                    continue;
                }
                let mut keep = |depth: usize| probs[depth] >= 1.0 || rng.random_bool(probs[depth]);
                walk_root(&adj, k, root, &mut keep, |code| {
                    *codes.entry(code).or_insert(0) += 1
                });
            }
            let mut by_id = BTreeMap::new();
            for (code, c) in codes {
                *by_id.entry(classifier.id(code)).or_insert(0) += c;
            }
            by_id
        })
        .reduce(BTreeMap::new, |mut a, b| {
            for (id, c) in b {
                *a.entry(id).or_insert(0) += c;
            }
            a
        });
    let scale: f64 = probs.iter().product();
    let estimates = sampled
        .iter()
        .map(|(&id, &c)| (id, c as f64 / scale))
        .collect();
    SampledCensus {
        size: k,
        probabilities: probs,
        sampled,
        estimates,
    }
}
