//! Exact counting: the triad census (Batagelj & Mrvar 2001) and the 3- and 4-node motif census.

use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use crate::adjacency::{Adjacency, IN, OUT};
use crate::graph::MotifGraph;
use crate::isoclass::{Triad, quad_mfinder_ids};

/// Counts of the 16 triad classes over all `C(n, 3)` node triples.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TriadCensus {
    counts: [u64; 16],
}

impl TriadCensus {
    /// The count of one class.
    pub fn get(&self, triad: Triad) -> u64 {
        self.counts[triad.index()]
    }

    /// All 16 counts in census order ([`Triad::ALL`]).
    pub fn counts(&self) -> &[u64; 16] {
        &self.counts
    }

    /// The 13 connected classes as a 3-node [`MotifCensus`].
    pub fn motifs(&self) -> MotifCensus {
        MotifCensus {
            size: 3,
            ids: Triad::CONNECTED.iter().map(|t| t.mfinder_id()).collect(),
            counts: Triad::CONNECTED.iter().map(|t| self.get(*t)).collect(),
        }
    }

    /// `(MAN name, count)` pairs in census order.
    pub fn by_man(&self) -> Vec<(&'static str, u64)> {
        Triad::ALL.iter().map(|t| (t.man(), self.get(*t))).collect()
    }
}

/// Counts of the weakly connected `size`-node induced subgraphs, one per isomorphism class,
/// keyed by mfinder ID.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MotifCensus {
    size: usize,
    ids: Vec<u32>,
    counts: Vec<u64>,
}

impl MotifCensus {
    /// Motif size (3 or 4).
    pub fn size(&self) -> usize {
        self.size
    }

    /// The mfinder IDs of the classes (13 for size 3 in census order, 199 ascending for size 4).
    pub fn ids(&self) -> &[u32] {
        &self.ids
    }

    /// The counts, aligned with [`MotifCensus::ids`].
    pub fn counts(&self) -> &[u64] {
        &self.counts
    }

    /// The count of the class with this mfinder ID (`None` if it is not a connected class).
    pub fn get(&self, mfinder_id: u32) -> Option<u64> {
        self.ids
            .iter()
            .position(|&i| i == mfinder_id)
            .map(|p| self.counts[p])
    }

    /// Total number of connected subgraphs.
    pub fn total(&self) -> u64 {
        self.counts.iter().sum()
    }
}

/// The triad census of `graph`.
///
/// Batagelj & Mrvar (2001), "A subquadratic triad census algorithm for large sparse networks
/// with small maximum degree": each connected triad is visited once from its smallest dyad,
/// the dyadic triads (`012`, `102`) are counted per edge in bulk and `003` is what is left of
/// `C(n, 3)`; `O(m * max degree)`, parallel over nodes.
pub fn triad_census(graph: &MotifGraph) -> TriadCensus {
    triad_census_adj(&graph.adjacency())
}

/// Bit of the 9-bit triad code for the edge `i -> j` among nodes `(v, u, w) = (0, 1, 2)`.
const fn bit(i: u16, j: u16) -> u16 {
    1 << (i * 3 + j)
}

/// The code contribution of the dyad between triad positions `a` and `b` given its
/// direction bits seen from `a`.
#[inline]
fn dyad_code(dir: u8, a: u16, b: u16) -> u16 {
    let mut c = 0;
    if dir & OUT != 0 {
        c |= bit(a, b);
    }
    if dir & IN != 0 {
        c |= bit(b, a);
    }
    c
}

pub(crate) fn triad_census_adj(adj: &Adjacency) -> TriadCensus {
    let n = adj.n();
    let mut counts = (0..n)
        .into_par_iter()
        .with_min_len(64)
        .fold(
            || [0u64; 16],
            |mut acc, v| {
                census_from(adj, v, &mut acc);
                acc
            },
        )
        .reduce(
            || [0u64; 16],
            |mut a, b| {
                for (x, y) in a.iter_mut().zip(b) {
                    *x += y;
                }
                a
            },
        );
    let n64 = n as u128;
    let all = if n >= 3 {
        n64 * (n64 - 1) * (n64 - 2) / 6
    } else {
        0
    };
    let others: u128 = counts[1..].iter().map(|&c| c as u128).sum();
    counts[0] = all.saturating_sub(others) as u64;
    TriadCensus { counts }
}

/// Adds the triads whose smallest-dyad root is `v`.
fn census_from(adj: &Adjacency, v: usize, acc: &mut [u64; 16]) {
    let n = adj.n() as u64;
    let (nv, dv) = adj.neighbors(v);
    for (k, &u) in nv.iter().enumerate() {
        let u_us = u as usize;
        if u_us <= v {
            continue;
        }
        let vu = dyad_code(dv[k], 0, 1);
        let (nu, du) = adj.neighbors(u_us);
        // Merge N(v) and N(u) (both sorted), skipping v and u themselves.
        let (mut i, mut j) = (0, 0);
        let mut s_size = 0u64;
        loop {
            let a = nv.get(i).copied().unwrap_or(u32::MAX);
            let b = nu.get(j).copied().unwrap_or(u32::MAX);
            if a == u32::MAX && b == u32::MAX {
                break;
            }
            let w = a.min(b);
            let (in_v, in_u) = (a == w, b == w);
            let (dvw, duw) = (if in_v { dv[i] } else { 0 }, if in_u { du[j] } else { 0 });
            if in_v {
                i += 1;
            }
            if in_u {
                j += 1;
            }
            if w == u || w as usize == v {
                continue;
            }
            s_size += 1;
            let w_us = w as usize;
            // Count the triad once: from (v, u) when w > u, or when v < w < u and w is not a
            // neighbour of v (otherwise the dyad (v, w) is its smallest root).
            if w > u || (w_us > v && !in_v) {
                let code = vu | dyad_code(dvw, 0, 2) | dyad_code(duw, 1, 2);
                acc[Triad::from_code(code).index()] += 1;
            }
        }
        let dyadic = if dv[k] == OUT | IN {
            Triad::T102
        } else {
            Triad::T012
        };
        acc[dyadic.index()] += n - s_size - 2;
    }
}

/// The 3-node motif census (the 13 connected triad classes).
pub fn motif_census3(graph: &MotifGraph) -> MotifCensus {
    triad_census(graph).motifs()
}

/// The 4-node motif census: every weakly connected induced 4-node subgraph, enumerated once by
/// ESU (Wernicke 2006), classified into the 199 connected classes by mfinder ID.
pub fn motif_census4(graph: &MotifGraph) -> MotifCensus {
    census4_adj(&graph.adjacency())
}

pub(crate) fn census4_adj(adj: &Adjacency) -> MotifCensus {
    MotifCensus {
        size: 4,
        ids: quad_mfinder_ids().to_vec(),
        counts: crate::esu::enumerate_classes4(adj),
    }
}
