//! Brute force on small graphs: the census against a classifier of every node triple and
//! quadruple written from the definitions; proptests of the census invariants and of the
//! degrees each null model promises to keep.

use std::collections::BTreeMap;

use kiln_motifs::isoclass::mfinder_id;
use kiln_motifs::{
    MotifGraph, NullModel, SignificanceParams, Triad, motif_census4, null_graph, triad_census,
};
use proptest::prelude::*;

/// Code of the subgraph induced by `nodes` (bit `i*k + j` for `nodes[i] -> nodes[j]`).
fn code(edges: &std::collections::HashSet<(usize, usize)>, nodes: &[usize]) -> u32 {
    let k = nodes.len();
    let mut c = 0;
    for i in 0..k {
        for j in 0..k {
            if edges.contains(&(nodes[i], nodes[j])) {
                c |= 1 << (i * k + j);
            }
        }
    }
    c
}

/// Classifies every triple by its dyads (independent of the census code path).
fn brute_triads(n: usize, edges: &[(usize, usize)]) -> [u64; 16] {
    let set: std::collections::HashSet<_> = edges.iter().copied().collect();
    let mut out = [0u64; 16];
    for a in 0..n {
        for b in a + 1..n {
            for c in b + 1..n {
                out[Triad::from_code(code(&set, &[a, b, c]) as u16).index()] += 1;
            }
        }
    }
    out
}

fn weakly_connected(c: u32, k: usize) -> bool {
    let mut seen = 1u32;
    let mut stack = vec![0];
    while let Some(v) = stack.pop() {
        for w in 0..k {
            let adj = c >> (v * k + w) & 1 == 1 || c >> (w * k + v) & 1 == 1;
            if adj && seen >> w & 1 == 0 {
                seen |= 1 << w;
                stack.push(w);
            }
        }
    }
    seen.count_ones() as usize == k
}

fn brute_quads(n: usize, edges: &[(usize, usize)]) -> BTreeMap<u32, u64> {
    let set: std::collections::HashSet<_> = edges.iter().copied().collect();
    let mut out = BTreeMap::new();
    for a in 0..n {
        for b in a + 1..n {
            for c in b + 1..n {
                for d in c + 1..n {
                    let code = code(&set, &[a, b, c, d]);
                    if weakly_connected(code, 4) {
                        *out.entry(mfinder_id(code, 4)).or_insert(0) += 1;
                    }
                }
            }
        }
    }
    out
}

fn random_graph() -> impl Strategy<Value = (usize, Vec<(usize, usize)>)> {
    (3usize..=40).prop_flat_map(|n| {
        (
            Just(n),
            proptest::collection::btree_set((0..n, 0..n), 0..=(n * 3))
                .prop_map(|s| s.into_iter().filter(|(a, b)| a != b).collect::<Vec<_>>()),
        )
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]

    #[test]
    fn census_sums_to_all_triples_and_equals_brute_force((n, edges) in random_graph()) {
        let g = MotifGraph::from_edges(n, &edges).unwrap();
        let census = triad_census(&g);
        let total: u64 = census.counts().iter().sum();
        prop_assert_eq!(total as usize, n * (n - 1) * (n - 2) / 6);
        prop_assert_eq!(*census.counts(), brute_triads(n, &edges));
    }

    #[test]
    fn four_node_census_equals_brute_force((n, edges) in random_graph()) {
        prop_assume!(n <= 16);
        let g = MotifGraph::from_edges(n, &edges).unwrap();
        let m4 = motif_census4(&g);
        let got: BTreeMap<u32, u64> = m4.ids().iter().copied().zip(m4.counts().iter().copied()).filter(|p| p.1 > 0).collect();
        prop_assert_eq!(got, brute_quads(n, &edges));
    }

    #[test]
    fn nulls_keep_what_they_promise((n, edges) in random_graph(), seed in 0u64..1000) {
        let g = MotifGraph::from_edges(n, &edges).unwrap();
        let mutual_per_node = |g: &MotifGraph| {
            let set: std::collections::HashSet<_> = g.edges().iter().map(|e| (e.0, e.1)).collect();
            let mut m = vec![0; g.node_count()];
            for &(a, b) in &set {
                if set.contains(&(b, a)) { m[a] += 1; }
            }
            m
        };
        for model in NullModel::ALL {
            let params = SignificanceParams::new().model(model).switches_per_edge(5.0).check().unwrap();
            let r = null_graph(&g, &params, seed);
            prop_assert_eq!(r.node_count(), n);
            // Simple graph: no loops, no duplicates.
            let mut e: Vec<_> = r.edges().iter().map(|e| (e.0, e.1)).collect();
            let len = e.len();
            e.sort_unstable();
            e.dedup();
            prop_assert_eq!(e.len(), len);
            prop_assert!(e.iter().all(|(a, b)| a != b));
            match model {
                NullModel::Switching => {
                    prop_assert_eq!(r.out_degrees(), g.out_degrees());
                    prop_assert_eq!(r.in_degrees(), g.in_degrees());
                    prop_assert_eq!(mutual_per_node(&r), mutual_per_node(&g));
                }
                NullModel::Degree => {
                    prop_assert_eq!(r.out_degrees(), g.out_degrees());
                    prop_assert_eq!(r.in_degrees(), g.in_degrees());
                }
                NullModel::Configuration => {
                    // Erased: never above the real degrees.
                    prop_assert!(r.out_degrees().iter().zip(g.out_degrees()).all(|(a, b)| *a <= b));
                    prop_assert!(r.in_degrees().iter().zip(g.in_degrees()).all(|(a, b)| *a <= b));
                }
                NullModel::Gnm => prop_assert_eq!(r.edge_count(), g.edge_count()),
            }
        }
    }
}

#[test]
fn hand_graph_four_node_census_matches_brute_force() {
    let text = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/data/hand_12.edges.txt"
    ))
    .unwrap();
    let g = kiln_motifs::parse_edge_list(&text, std::path::Path::new("hand")).unwrap();
    let edges: Vec<(usize, usize)> = g.edges().iter().map(|e| (e.0, e.1)).collect();
    let m4 = motif_census4(&g);
    let got: BTreeMap<u32, u64> = m4
        .ids()
        .iter()
        .copied()
        .zip(m4.counts().iter().copied())
        .filter(|p| p.1 > 0)
        .collect();
    assert_eq!(got, brute_quads(g.node_count(), &edges));
}
