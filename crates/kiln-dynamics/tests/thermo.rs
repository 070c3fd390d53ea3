//! Part 3: the thermodynamic model by hand, and its fit recovering planted energies.

use kiln_core::BackendKind;
use kiln_core::experiment::NoProgress;
use kiln_dynamics::{DynamicsError, Occupancy, Sequences, ThermoFitParams, ThermoModel, r_squared};
use rand::RngExt;

#[test]
fn predict_matches_the_hand_computed_boltzmann_sum() {
    // Width 1, energy 0 for A, 2 for anything else, mu = 1: sequence "AAC" has weights
    // e^1, e^1, e^-1.
    let mut energies = vec![2.0; 4];
    energies[0] = 0.0;
    let m = ThermoModel {
        energies,
        mu: 1.0,
        amplitude: 2.0,
        basal: 0.1,
        occupancy: Occupancy::Boltzmann,
    };
    let s = Sequences::from_strings(&["AAC", "ccg"]).unwrap();
    let w = [2.0 * 1f64.exp() + (-1f64).exp(), 3.0 * (-1f64).exp()];
    let y = m.predict(&s).unwrap();
    for (yi, wi) in y.iter().zip(w) {
        assert!((yi - (0.1 + 2.0 * wi / (1.0 + wi))).abs() < 1e-14);
    }
    let hill = ThermoModel {
        occupancy: Occupancy::Hill(2.0),
        ..m.clone()
    };
    let theta = hill.occupancy(&s).unwrap();
    assert!((theta[0] - w[0].powi(2) / (1.0 + w[0].powi(2))).abs() < 1e-14);
    // Gauge: shifting a position's energies and mu together changes nothing.
    let mut shifted = m.clone();
    shifted.energies.iter_mut().for_each(|e| *e += 0.7);
    shifted.mu += 0.7;
    let ys = shifted.predict(&s).unwrap();
    assert!((ys[0] - y[0]).abs() < 1e-12);
    let (a, b) = (m.gauge_fixed(), shifted.gauge_fixed());
    for (x, z) in a.energies.iter().zip(&b.energies) {
        assert!((x - z).abs() < 1e-12);
    }
    assert!((a.mu - b.mu).abs() < 1e-12);
}

#[test]
fn fit_recovers_planted_energies_from_noiseless_data() {
    let width = 3;
    let planted = ThermoModel {
        energies: vec![
            0.0, 2.0, 1.0, 3.0, //
            2.5, 0.0, 2.0, 1.5, //
            1.0, 3.0, 0.0, 2.0,
        ],
        mu: 2.0,
        amplitude: 1.0,
        basal: 0.1,
        occupancy: Occupancy::Boltzmann,
    };
    let mut rng = kiln_core::seed::rng(7);
    let length = 10;
    let codes: Vec<u8> = (0..300 * length)
        .map(|_| rng.random_range(0..4u8))
        .collect();
    let seqs = Sequences::from_codes(codes, length).unwrap();
    let y = planted.predict(&seqs).unwrap();
    let params = ThermoFitParams::new()
        .motif_width(width)
        .lr(0.05)
        .steps(4000)
        .restarts(4)
        .check()
        .unwrap();
    let fit = ThermoModel::fit(&seqs, &y, &params, BackendKind::Flex, &NoProgress).unwrap();
    assert!(
        fit.loss.last().unwrap() < &1e-7,
        "final loss {:?}",
        fit.loss.last()
    );
    let (a, b) = (fit.model.gauge_fixed(), planted.gauge_fixed());
    for (i, (x, z)) in a.energies.iter().zip(&b.energies).enumerate() {
        assert!((x - z).abs() < 0.05, "energy {i}: fitted {x}, planted {z}");
    }
    assert!((a.mu - b.mu).abs() < 0.05, "mu {} vs {}", a.mu, b.mu);
    assert!((a.amplitude - 1.0).abs() < 0.02 && (a.basal - 0.1).abs() < 0.02);
    let pred = fit.model.predict(&seqs).unwrap();
    assert!(r_squared(&pred, &y).unwrap() > 0.999);
}

#[test]
fn bad_sequences_and_targets_are_typed_errors() {
    match Sequences::from_strings(&["ACGT", "ACNT"]) {
        Err(DynamicsError::BadBase {
            sequence: 1,
            position: 2,
            symbol: 'N',
        }) => {}
        other => panic!("{other:?}"),
    }
    assert!(Sequences::from_strings(&["ACGT", "ACG"]).is_err());
    assert!(Sequences::from_strings::<&str>(&[]).is_err());
    assert!(Sequences::from_codes(vec![0, 1, 4], 3).is_err());
    assert!(Sequences::from_codes(vec![0, 1, 2], 2).is_err());
    let s = Sequences::from_strings(&["ACGT", "GGCC"]).unwrap();
    assert_eq!(s.gc_content(), vec![0.5, 1.0]);
    let params = ThermoFitParams::new()
        .motif_width(2)
        .steps(2)
        .check()
        .unwrap();
    assert!(ThermoModel::fit(&s, &[1.0], &params, BackendKind::Flex, &NoProgress).is_err());
    assert!(
        ThermoModel::fit(
            &s,
            &[1.0, f64::NAN],
            &params,
            BackendKind::Flex,
            &NoProgress
        )
        .is_err()
    );
    let wide = ThermoFitParams::new()
        .motif_width(5)
        .steps(2)
        .check()
        .unwrap();
    assert!(ThermoModel::fit(&s, &[1.0, 2.0], &wide, BackendKind::Flex, &NoProgress).is_err());
    let bad = ThermoModel {
        energies: vec![0.0; 3],
        mu: 0.0,
        amplitude: 1.0,
        basal: 0.0,
        occupancy: Occupancy::Boltzmann,
    };
    assert!(bad.predict(&s).is_err());
    assert!(r_squared(&[1.0, 2.0], &[1.0, 1.0]).is_err());
    assert!(r_squared(&[1.0], &[1.0, 2.0]).is_err());
    assert_eq!(r_squared(&[1.0, 2.0], &[1.0, 2.0]).unwrap(), 1.0);
}
