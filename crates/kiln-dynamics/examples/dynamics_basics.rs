//! The three tool kits in a few lines each:
//! `cargo run -p kiln-dynamics --example dynamics_basics`.

use kiln_core::burn::nn::Initializer;
use kiln_core::experiment::NoProgress;
use kiln_core::{Autodiff, BackendKind, Precision, device};
use kiln_dynamics::experiment::symmetry::Mlp;
use kiln_dynamics::{
    Clip, Game, GameAlgorithm, GameParams, GameRunner, NeuronMatrix, Occupancy, Point,
    RedundancyParams, Sequences, ThermoFitParams, ThermoModel, bilinear, check_init,
};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    // 1. A constant initialization is flagged before training.
    let dev = device(BackendKind::Flex, Autodiff::Off, Precision::F32)?;
    let red = RedundancyParams::new().check()?;
    for (name, init) in [
        ("constant", Initializer::Constant { value: 0.3 }),
        ("xavier", Initializer::XavierUniform { gain: 1.0 }),
    ] {
        let mlp = Mlp::new(&init, 2, 8, 2, &dev);
        let check = check_init(
            "hidden",
            &NeuronMatrix::hidden_units(&mlp.first, &mlp.second)?,
            &red,
        );
        println!(
            "{name:>8}: symmetric {}, rank {}, identical pairs {}",
            check.symmetric, check.redundancy.rank, check.redundancy.identical_pairs
        );
    }

    // 2. x y: simultaneous GDA spirals out, clipping bounds the steps, extragradient converges.
    let game = Game::new(bilinear, 1, 1, BackendKind::Flex)?
        .with_equilibrium(Point::new(vec![0.0], vec![0.0]))?;
    for (alg, clip) in [
        (GameAlgorithm::Simultaneous, Clip::None),
        (GameAlgorithm::Simultaneous, Clip::Norm(0.3)),
        (GameAlgorithm::Extragradient, Clip::None),
    ] {
        let params = GameParams::new()
            .algorithm(alg)
            .lr(0.1)
            .steps(300)
            .clip(clip)
            .check()?;
        let t = GameRunner::new(params).run(&game, Point::new(vec![1.0], vec![1.0]))?;
        println!(
            "{:>13} {clip:?}: distance {:.3} -> {:.3}",
            alg.name(),
            t.distances[0],
            t.final_distance().unwrap_or(f64::NAN)
        );
    }
    let j = game.jacobian(&Point::new(vec![1.0], vec![1.0]), 1e-3)?;
    println!("x y Jacobian eigenvalues: {:?}", j.eigenvalues);

    // 3. A thermodynamic model, fitted back from its own noiseless predictions.
    let planted = ThermoModel {
        energies: vec![0.0, 2.0, 2.0, 2.0, 2.0, 0.0, 2.0, 2.0],
        mu: 1.0,
        amplitude: 1.0,
        basal: 0.0,
        occupancy: Occupancy::Boltzmann,
    };
    let seqs =
        Sequences::from_strings(&["ACGTAC", "TTTTTT", "ACACAC", "GGGGAC", "CATGCA", "TACAGT"])?;
    let y = planted.predict(&seqs)?;
    let params = ThermoFitParams::new().motif_width(2).steps(500).check()?;
    let fit = ThermoModel::fit(&seqs, &y, &params, BackendKind::Flex, &NoProgress)?;
    println!(
        "thermodynamic fit: MSE {:.2e} after {} steps",
        fit.loss.last().copied().unwrap_or(f64::NAN),
        fit.loss.len()
    );
    Ok(())
}
