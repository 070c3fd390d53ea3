//! Isomorphism classes of 3- and 4-node directed graphs: MAN names, mfinder IDs, lookup tables.
//!
//! A `k`-node subgraph with nodes ordered `v_0 .. v_{k-1}` is coded as
//! `sum 2^(i*k + j)` over its edges `v_i -> v_j`. Its **mfinder ID** is the smallest code over
//! all `k!` relabellings; this is the numbering mfinder prints (feed-forward loop = 38,
//! 3-cycle = 98, 4-node bi-fan = 204).

use std::sync::OnceLock;

use serde::{Deserialize, Serialize};

/// The 16 triad classes of Holland & Leinhardt, named by their MAN code (mutual, asymmetric,
/// null dyad counts plus a letter), in the order igraph's `triad_census` and NetworkX use.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum Triad {
    /// Empty triad.
    T003,
    /// One asymmetric edge.
    T012,
    /// One mutual dyad.
    T102,
    /// `A <- B -> C` (out-star, "down").
    T021D,
    /// `A -> B <- C` (in-star, "up").
    T021U,
    /// `A -> B -> C` (chain).
    T021C,
    /// `A <-> B <- C`.
    T111D,
    /// `A <-> B -> C`.
    T111U,
    /// Feed-forward loop `A -> B -> C, A -> C` (mfinder ID 38).
    T030T,
    /// 3-cycle `A -> B -> C -> A` (mfinder ID 98).
    T030C,
    /// Two mutual dyads `A <-> B <-> C`.
    T201,
    /// `A <-> B`, `C -> A`, `C -> B`.
    T120D,
    /// `A <-> B`, `A -> C`, `B -> C`.
    T120U,
    /// `A <-> B`, chain through `C`.
    T120C,
    /// Two mutual dyads and one asymmetric edge.
    T210,
    /// Complete: three mutual dyads.
    T300,
}

impl Triad {
    /// All 16 classes in census order.
    pub const ALL: [Triad; 16] = [
        Triad::T003,
        Triad::T012,
        Triad::T102,
        Triad::T021D,
        Triad::T021U,
        Triad::T021C,
        Triad::T111D,
        Triad::T111U,
        Triad::T030T,
        Triad::T030C,
        Triad::T201,
        Triad::T120D,
        Triad::T120U,
        Triad::T120C,
        Triad::T210,
        Triad::T300,
    ];

    /// The 13 weakly connected classes (the 3-node motifs), in census order.
    pub const CONNECTED: [Triad; 13] = [
        Triad::T021D,
        Triad::T021U,
        Triad::T021C,
        Triad::T111D,
        Triad::T111U,
        Triad::T030T,
        Triad::T030C,
        Triad::T201,
        Triad::T120D,
        Triad::T120U,
        Triad::T120C,
        Triad::T210,
        Triad::T300,
    ];

    /// The MAN name (`"030T"`).
    pub fn man(self) -> &'static str {
        MAN_NAMES[self as usize]
    }

    /// Parses a MAN name.
    pub fn from_man(name: &str) -> Option<Triad> {
        MAN_NAMES
            .iter()
            .position(|m| *m == name)
            .map(|i| Triad::ALL[i])
    }

    /// Position in census order (0 for `003` .. 15 for `300`).
    pub fn index(self) -> usize {
        self as usize
    }

    /// Whether the triad is weakly connected (a 3-node motif).
    pub fn is_connected(self) -> bool {
        !matches!(self, Triad::T003 | Triad::T012 | Triad::T102)
    }

    /// The mfinder ID of the class.
    pub fn mfinder_id(self) -> u32 {
        tables().triad_ids[self as usize]
    }

    /// Classifies the 3-node subgraph with code `sum 2^(3i + j)` over edges `i -> j`.
    pub fn from_code(code: u16) -> Triad {
        tables().triad_of_code[(code & 0x1ff) as usize]
    }
}

const MAN_NAMES: [&str; 16] = [
    "003", "012", "102", "021D", "021U", "021C", "111D", "111U", "030T", "030C", "201", "120D",
    "120U", "120C", "210", "300",
];

/// Whether `code` (over `k` nodes) has the edge `i -> j`.
fn has(code: u32, k: usize, i: usize, j: usize) -> bool {
    code >> (i * k + j) & 1 == 1
}

/// MAN classification from the definition of each class (dyad counts, then orientation).
fn classify_man(code: u32) -> Triad {
    let e = |i, j| has(code, 3, i, j);
    let pairs = [(0usize, 1usize, 2usize), (0, 2, 1), (1, 2, 0)];
    let mutual: Vec<_> = pairs
        .iter()
        .filter(|(a, b, _)| e(*a, *b) && e(*b, *a))
        .collect();
    let asym: Vec<(usize, usize)> = pairs
        .iter()
        .filter_map(|&(a, b, _)| match (e(a, b), e(b, a)) {
            (true, false) => Some((a, b)),
            (false, true) => Some((b, a)),
            _ => None,
        })
        .collect();
    match (mutual.len(), asym.len()) {
        (0, 0) => Triad::T003,
        (0, 1) => Triad::T012,
        (1, 0) => Triad::T102,
        (0, 2) => {
            let (a, b) = (asym[0], asym[1]);
            if a.0 == b.0 {
                Triad::T021D
            } else if a.1 == b.1 {
                Triad::T021U
            } else {
                Triad::T021C
            }
        }
        (0, 3) => {
            let cyclic = (0..3).all(|v| asym.iter().filter(|(s, _)| *s == v).count() == 1);
            if cyclic { Triad::T030C } else { Triad::T030T }
        }
        (1, 1) => {
            // The third node of the mutual dyad's triple is the odd one out.
            let c = mutual[0].2;
            if asym[0].0 == c {
                Triad::T111D
            } else {
                Triad::T111U
            }
        }
        (1, 2) => {
            let c = mutual[0].2;
            let out_of_c = asym.iter().filter(|(s, _)| *s == c).count();
            match out_of_c {
                2 => Triad::T120D,
                0 => Triad::T120U,
                _ => Triad::T120C,
            }
        }
        (2, 0) => Triad::T201,
        (2, 1) => Triad::T210,
        _ => Triad::T300,
    }
}

/// Applies the node relabelling `perm` (old node `i` becomes `perm[i]`) to a `k`-node code.
pub(crate) fn permute(code: u32, k: usize, perm: &[usize]) -> u32 {
    let mut out = 0u32;
    for i in 0..k {
        for j in 0..k {
            if i != j && has(code, k, i, j) {
                out |= 1 << (perm[i] * k + perm[j]);
            }
        }
    }
    out
}

/// All permutations of `0..k` (Heap's algorithm).
pub(crate) fn permutations(k: usize) -> Vec<Vec<usize>> {
    fn heap(n: usize, a: &mut Vec<usize>, out: &mut Vec<Vec<usize>>) {
        if n <= 1 {
            out.push(a.clone());
            return;
        }
        for i in 0..n - 1 {
            heap(n - 1, a, out);
            if n.is_multiple_of(2) {
                a.swap(i, n - 1);
            } else {
                a.swap(0, n - 1);
            }
        }
        heap(n - 1, a, out);
    }
    let mut a: Vec<usize> = (0..k).collect();
    let mut out = Vec::new();
    heap(k, &mut a, &mut out);
    out
}

/// The mfinder ID (smallest code over relabellings) of a `k`-node code.
pub fn mfinder_id(code: u32, k: usize) -> u32 {
    permutations(k)
        .iter()
        .map(|p| permute(code, k, p))
        .min()
        .unwrap_or(code)
}

/// Whether the `k`-node code is weakly connected.
pub(crate) fn is_connected(code: u32, k: usize) -> bool {
    let mut seen = 1u32;
    let mut frontier = vec![0usize];
    while let Some(v) = frontier.pop() {
        for w in 0..k {
            if seen >> w & 1 == 0 && (has(code, k, v, w) || has(code, k, w, v)) {
                seen |= 1 << w;
                frontier.push(w);
            }
        }
    }
    seen.count_ones() as usize == k
}

pub(crate) struct Tables {
    pub(crate) triad_of_code: [Triad; 512],
    pub(crate) triad_ids: [u32; 16],
    /// Sorted mfinder IDs of the 199 connected 4-node classes.
    pub(crate) quad_ids: Vec<u32>,
    /// 16-bit 4-node code -> index into `quad_ids` (`u8::MAX` when not connected).
    pub(crate) quad_of_code: Vec<u8>,
}

pub(crate) fn tables() -> &'static Tables {
    static T: OnceLock<Tables> = OnceLock::new();
    T.get_or_init(|| {
        let mut triad_of_code = [Triad::T003; 512];
        let mut triad_ids = [u32::MAX; 16];
        for code in 0..512u32 {
            if (0..3).any(|i| has(code, 3, i, i)) {
                continue;
            }
            let t = classify_man(code);
            triad_of_code[code as usize] = t;
            let id = mfinder_id(code, 3);
            triad_ids[t as usize] = triad_ids[t as usize].min(id);
        }
        let perms4 = permutations(4);
        let canon = |code: u32| {
            perms4
                .iter()
                .map(|p| permute(code, 4, p))
                .min()
                .unwrap_or(code)
        };
        let no_diag = |code: u32| (0..4).all(|i| !has(code, 4, i, i));
        let mut quad_ids: Vec<u32> = (0..1u32 << 16)
            .filter(|&c| no_diag(c) && is_connected(c, 4))
            .map(canon)
            .collect();
        quad_ids.sort_unstable();
        quad_ids.dedup();
        let mut quad_of_code = vec![u8::MAX; 1 << 16];
        for c in 0..1u32 << 16 {
            if no_diag(c) && is_connected(c, 4) {
                let id = canon(c);
                let idx = quad_ids.binary_search(&id).unwrap_or(0);
                quad_of_code[c as usize] = idx as u8;
            }
        }
        Tables {
            triad_of_code,
            triad_ids,
            quad_ids,
            quad_of_code,
        }
    })
}

/// The mfinder IDs of the 199 weakly connected 4-node classes, ascending.
pub fn quad_mfinder_ids() -> &'static [u32] {
    &tables().quad_ids
}

/// The mfinder ID of the 4-node bi-fan (`A -> C, A -> D, B -> C, B -> D`).
pub const BIFAN_ID: u32 = 204;
/// The mfinder ID of the feed-forward loop (MAN `030T`).
pub const FFL_ID: u32 = 38;
/// The mfinder ID of the 3-cycle (MAN `030C`).
pub const CYCLE3_ID: u32 = 98;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_ids() {
        assert_eq!(Triad::T030T.mfinder_id(), FFL_ID);
        assert_eq!(Triad::T030C.mfinder_id(), CYCLE3_ID);
        assert_eq!(quad_mfinder_ids().len(), 199);
        assert!(quad_mfinder_ids().contains(&BIFAN_ID));
        assert_eq!(permutations(4).len(), 24);
    }
}
