//! Results depend on the seed only, not on the number of rayon threads.

use kiln_core::experiment::NoProgress;
use kiln_motifs::{
    NullModel, RandEsuParams, SignificanceParams, rand_esu, random_gnm, significance,
};

#[test]
fn same_seed_same_results_on_one_or_many_threads() {
    let g = random_gnm(300, 1500, 9).unwrap();
    let params = SignificanceParams::new()
        .model(NullModel::Switching)
        .samples(8)
        .check()
        .unwrap();
    let esu = RandEsuParams::new().check().unwrap();
    let run = || {
        (
            significance(&g, &params, 4, &NoProgress).unwrap(),
            rand_esu(&g, &esu, 4),
        )
    };
    let many = run();
    let one = rayon::ThreadPoolBuilder::new()
        .num_threads(1)
        .build()
        .unwrap()
        .install(run);
    assert_eq!(many, one);
    let other = significance(&g, &params, 5, &NoProgress).unwrap();
    assert_ne!(many.0.motifs, other.motifs);
}
