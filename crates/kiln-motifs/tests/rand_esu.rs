//! RAND-ESU: exact with all probabilities 1; unbiased estimates when thinned.

use kiln_motifs::{
    BIFAN_ID, FFL_ID, RandEsuParams, motif_census3, motif_census4, rand_esu, read_edge_list,
};

fn gnp50() -> kiln_motifs::MotifGraph {
    read_edge_list(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/data/gnp_n50_p0.1_seed42.edges.txt"
    ))
    .unwrap()
}

#[test]
fn full_probabilities_reproduce_the_exact_census() {
    let g = gnp50();
    for (size, exact) in [(3, motif_census3(&g)), (4, motif_census4(&g))] {
        let p = RandEsuParams::new()
            .size(size)
            .probabilities(vec![1.0; size])
            .check()
            .unwrap();
        let s = rand_esu(&g, &p, 0);
        for (id, count) in exact.ids().iter().zip(exact.counts()) {
            assert_eq!(
                s.sampled.get(id).copied().unwrap_or(0),
                *count,
                "size {size} id {id}"
            );
        }
    }
}

#[test]
fn thinned_sampling_is_unbiased() {
    let g = gnp50();
    let exact = motif_census4(&g);
    let p = RandEsuParams::new()
        .size(4)
        .probabilities(vec![1.0, 1.0, 0.5, 0.5])
        .check()
        .unwrap();
    let runs = 20;
    let mut total = 0.0;
    let mut bifan = 0.0;
    for seed in 0..runs {
        let s = rand_esu(&g, &p, seed);
        total += s.estimates.values().sum::<f64>();
        bifan += s.estimates.get(&BIFAN_ID).copied().unwrap_or(0.0);
    }
    let (total, bifan) = (total / runs as f64, bifan / runs as f64);
    let want = exact.total() as f64;
    assert!((total - want).abs() < 0.02 * want, "{total} vs {want}");
    let want_bifan = exact.get(BIFAN_ID).unwrap() as f64;
    assert!(
        (bifan - want_bifan).abs() < 0.25 * want_bifan,
        "{bifan} vs {want_bifan}"
    );
    // Size 3 and 5 run too; the FFL estimate is near the exact count.
    let p3 = RandEsuParams::new()
        .size(3)
        .probabilities(vec![1.0, 1.0, 0.8])
        .check()
        .unwrap();
    let ffl: f64 = (0..runs)
        .map(|s| {
            rand_esu(&g, &p3, s)
                .estimates
                .get(&FFL_ID)
                .copied()
                .unwrap_or(0.0)
        })
        .sum::<f64>()
        / runs as f64;
    let want_ffl = motif_census3(&g).get(FFL_ID).unwrap() as f64;
    assert!(
        (ffl - want_ffl).abs() < 0.15 * want_ffl,
        "{ffl} vs {want_ffl}"
    );
    let p5 = RandEsuParams::new()
        .size(5)
        .probabilities(vec![1.0, 1.0, 0.5, 0.2, 0.2])
        .check()
        .unwrap();
    assert!(!rand_esu(&g, &p5, 1).estimates.is_empty());
}
