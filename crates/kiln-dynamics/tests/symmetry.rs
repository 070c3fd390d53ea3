//! Part 1: a constant initialization keeps hidden units identical to the bit; random ones do not.

use kiln_core::burn::nn::{Initializer, LinearConfig};
use kiln_core::{Autodiff, BackendKind, ExperimentConfig, Precision, device};
use kiln_dynamics::experiment::symmetry::{Mlp, run};
use kiln_dynamics::symmetry::{LayerShape, compare_initializers, standard_initializers};
use kiln_dynamics::{
    DynamicsError, NeuronMatrix, RedundancyParams, SymmetryParams, check_init, redundancy,
};

#[test]
fn constant_init_keeps_hidden_units_bit_identical_at_every_step() {
    let params = SymmetryParams::quick().steps(25).check().unwrap();
    let config = ExperimentConfig {
        seed: 5,
        ..ExperimentConfig::default()
    };
    let runs = run(&params, &config).unwrap();
    let pairs = params.hidden() * (params.hidden() - 1) / 2;
    let constant = runs.iter().find(|r| r.init == "constant").unwrap();
    assert_eq!(constant.max_distance.len(), 25);
    for step in 0..25 {
        assert_eq!(constant.max_distance[step], 0.0, "step {step}");
        assert_eq!(constant.identical_pairs[step], pairs, "step {step}");
        assert_eq!(constant.unit_rank[step], 1, "step {step}");
        assert!(constant.grad_rank[step] <= 1, "step {step}");
    }
    assert_eq!(constant.final_max_distance, 0.0);
    assert_eq!(constant.final_weight_rank, 1);
    // The loss moved: the network did train, it just could not split its units.
    assert_ne!(constant.loss[0], constant.loss[24]);
    for r in runs.iter().filter(|r| r.init != "constant") {
        assert!(r.min_distance.iter().all(|&d| d > 0.0), "{}", r.init);
        assert!(r.identical_pairs.iter().all(|&p| p == 0), "{}", r.init);
        assert_eq!(r.final_weight_rank, 2, "{}", r.init);
        assert!(r.grad_rank.iter().all(|&k| k == 2), "{}", r.init);
    }
}

#[test]
fn init_check_flags_the_constant_layer_before_training() {
    let dev = device(BackendKind::Flex, Autodiff::Off, Precision::F32).unwrap();
    let p = RedundancyParams::new().check().unwrap();
    let mlp = Mlp::new(&Initializer::Constant { value: 0.3 }, 2, 4, 2, &dev);
    let m = NeuronMatrix::hidden_units(&mlp.first, &mlp.second).unwrap();
    assert_eq!((m.neurons(), m.width()), (4, 5));
    let check = check_init("first", &m, &p);
    assert!(check.symmetric);
    assert_eq!(check.redundancy.identical_pairs, 6);
    assert_eq!(check.redundancy.rank, 1);
    match check.ensure_broken() {
        Err(DynamicsError::SymmetricInit {
            layer,
            first: 0,
            second: 1,
            identical_pairs: 6,
            rank: 1,
            neurons: 4,
        }) => assert_eq!(layer, "first"),
        other => panic!("{other:?}"),
    }
    dev.seed(1);
    let mlp = Mlp::new(&Initializer::XavierUniform { gain: 1.0 }, 2, 4, 2, &dev);
    let m = NeuronMatrix::hidden_units(&mlp.first, &mlp.second).unwrap();
    let check = check_init("first", &m, &p);
    assert!(!check.symmetric);
    check.ensure_broken().unwrap();
}

#[test]
fn redundancy_matches_brute_force_on_a_small_matrix() {
    // Rows: a, a, 2a, b  -> one identical pair, rank 2.
    let m = NeuronMatrix::from_rows(vec![1.0, 2.0, 1.0, 2.0, 2.0, 4.0, 0.0, 1.0], 4).unwrap();
    let r = redundancy(&m, &RedundancyParams::new().check().unwrap());
    assert_eq!(r.identical_pairs, 1);
    assert_eq!(r.first_identical, Some((0, 1)));
    assert_eq!(r.rank, 2);
    assert_eq!(r.min_distance, 0.0);
    let d = |a: [f64; 2], b: [f64; 2]| ((a[0] - b[0]).powi(2) + (a[1] - b[1]).powi(2)).sqrt();
    let rows = [[1.0, 2.0], [1.0, 2.0], [2.0, 4.0], [0.0, 1.0]];
    let mut all = Vec::new();
    for i in 0..4 {
        for j in i + 1..4 {
            all.push(d(rows[i], rows[j]));
        }
    }
    let max = all.iter().cloned().fold(0.0, f64::max);
    let mean = all.iter().sum::<f64>() / all.len() as f64;
    assert!((r.max_distance - max).abs() < 1e-15);
    assert!((r.mean_distance - mean).abs() < 1e-15);
    // Singular values: the Gram matrix's eigenvalues, squared.
    let frob: f64 = rows.iter().flatten().map(|v| v * v).sum();
    let sv2: f64 = r.singular_values.iter().map(|s| s * s).sum();
    assert!((frob - sv2).abs() < 1e-12);
    // A looser tolerance merges nearly dependent rows.
    let near = NeuronMatrix::from_rows(vec![1.0, 0.0, 1.0, 1e-9], 2).unwrap();
    assert_eq!(
        redundancy(&near, &RedundancyParams::new().check().unwrap()).rank,
        1
    );
    assert_eq!(
        redundancy(
            &near,
            &RedundancyParams::new().rank_rtol(0.0).check().unwrap()
        )
        .rank,
        2
    );
}

#[test]
fn burn_initializers_compared() {
    let dev = device(BackendKind::Flex, Autodiff::Off, Precision::F32).unwrap();
    dev.seed(3);
    let stats = compare_initializers(
        &standard_initializers(0.5),
        LayerShape {
            fan_in: 8,
            fan_out: 6,
        },
        &RedundancyParams::new().check().unwrap(),
        &dev,
    )
    .unwrap();
    assert_eq!(stats.len(), 6);
    for s in &stats {
        if s.name == "constant" {
            assert!(s.symmetric);
            assert_eq!(s.redundancy.rank, 1);
            assert_eq!(s.weight_std, 0.0);
        } else {
            assert!(!s.symmetric, "{}", s.name);
            assert_eq!(s.redundancy.rank, 6, "{}", s.name);
        }
    }
    // Orthogonal rows (fan_out <= fan_in): all singular values 1.
    let orth = stats.iter().find(|s| s.name == "orthogonal").unwrap();
    for sv in &orth.redundancy.singular_values {
        assert!((sv - 1.0).abs() < 1e-5, "{sv}");
    }
    // Xavier normal: std sqrt(2 / (fan_in + fan_out)) = 0.378, loosely (48 draws).
    let xn = stats.iter().find(|s| s.name == "xavier_normal").unwrap();
    assert!((xn.weight_std - 0.378).abs() < 0.15, "{}", xn.weight_std);
    let bad = compare_initializers(
        &standard_initializers(0.5),
        LayerShape {
            fan_in: 8,
            fan_out: 1,
        },
        &RedundancyParams::new().check().unwrap(),
        &dev,
    );
    assert!(bad.is_err());
}

#[test]
fn bad_neuron_matrices_are_typed_errors() {
    assert!(NeuronMatrix::from_rows(vec![], 2).is_err());
    assert!(NeuronMatrix::from_rows(vec![1.0, 2.0, 3.0], 2).is_err());
    assert!(NeuronMatrix::from_rows(vec![1.0, f64::NAN], 2).is_err());
    assert!(NeuronMatrix::from_rows(vec![1.0], 0).is_err());
    let dev = device(BackendKind::Flex, Autodiff::Off, Precision::F32).unwrap();
    let a = LinearConfig::new(2, 3).init(&dev);
    let b = LinearConfig::new(4, 2).init(&dev);
    assert!(NeuronMatrix::hidden_units(&a, &b).is_err());
}
