//! Part 2: gradient play on known games, checked against closed forms.

use kiln_core::BackendKind;
use kiln_core::burn::tensor::Tensor;
use kiln_dynamics::{
    Clip, DynamicsError, Game, GameAlgorithm, GameParams, GameRunner, Point, bilinear,
    clip_gradient, winding_turns,
};
use proptest::prelude::*;

fn xy() -> Game<fn(Tensor<1>, Tensor<1>) -> Tensor<1>> {
    Game::new(
        bilinear as fn(Tensor<1>, Tensor<1>) -> Tensor<1>,
        1,
        1,
        BackendKind::Flex,
    )
    .unwrap()
    .with_equilibrium(Point::new(vec![0.0], vec![0.0]))
    .unwrap()
}

fn play(algorithm: GameAlgorithm, lr: f64, steps: usize, clip: Clip) -> kiln_dynamics::Trajectory {
    let runner = GameRunner::new(
        GameParams::new()
            .algorithm(algorithm)
            .lr(lr)
            .steps(steps)
            .clip(clip)
            .check()
            .unwrap(),
    );
    runner.run(&xy(), Point::new(vec![1.0], vec![0.5])).unwrap()
}

#[test]
fn simultaneous_gda_on_xy_grows_by_sqrt_1_plus_lr2_per_step() {
    let lr = 0.2;
    let t = play(GameAlgorithm::Simultaneous, lr, 50, Clip::None);
    let factor = (1.0 + lr * lr).sqrt();
    for w in t.distances.windows(2) {
        let ratio = w[1] / w[0];
        assert!((ratio - factor).abs() < 1e-12, "{ratio} vs {factor}");
    }
    let d0 = 1.25f64.sqrt();
    let expected = d0 * factor.powi(50);
    assert!((t.final_distance().unwrap() - expected).abs() < 1e-10 * expected);
    // It circles counter-clockwise... in the (x, y) plane the flow (-y, x) turns positive.
    let path: Vec<(f64, f64)> = t.points.iter().map(|p| (p.x[0], p.y[0])).collect();
    let turns = winding_turns(&path, (0.0, 0.0));
    // Each step turns by atan(lr): 50 * atan(0.2) / 2 pi.
    assert!(
        (turns - 50.0 * lr.atan() / std::f64::consts::TAU).abs() < 1e-12,
        "{turns}"
    );
}

#[test]
fn extragradient_and_optimistic_contract_alternating_stays_bounded() {
    let lr = 0.2;
    let t = play(GameAlgorithm::Extragradient, lr, 60, Clip::None);
    let factor = (1.0 - lr * lr + lr.powi(4)).sqrt();
    for w in t.distances.windows(2) {
        assert!((w[1] / w[0] - factor).abs() < 1e-12);
    }
    let d0 = t.distances[0];
    let og = play(GameAlgorithm::Optimistic, lr, 300, Clip::None);
    assert!(
        og.final_distance().unwrap() < 0.5 * d0,
        "{:?}",
        og.final_distance()
    );
    let alt = play(GameAlgorithm::Alternating, lr, 300, Clip::None);
    let max = alt.distances.iter().cloned().fold(0.0, f64::max);
    let min = alt.distances.iter().cloned().fold(f64::INFINITY, f64::min);
    assert!(max < 1.5 * d0 && min > 0.5 * d0, "{min} {max}");
}

#[test]
fn norm_clipping_on_xy_bounds_each_step_and_slows_the_spiral() {
    let (lr, c) = (0.2, 0.3);
    let t = play(GameAlgorithm::Simultaneous, lr, 100, Clip::Norm(c));
    for (i, w) in t.points.windows(2).enumerate() {
        // In 1-D, per-player norm clipping is x' = x - lr clamp(y, c), y' = y + lr clamp(x, c).
        let (x, y) = (w[0].x[0], w[0].y[0]);
        let ex = x - lr * y.clamp(-c, c);
        let ey = y + lr * x.clamp(-c, c);
        assert!(
            (w[1].x[0] - ex).abs() < 1e-15 && (w[1].y[0] - ey).abs() < 1e-15,
            "step {i}"
        );
        assert!(t.step_norm_x[i] <= lr * c + 1e-15 && t.step_norm_y[i] <= lr * c + 1e-15);
    }
    assert!(t.clipped.iter().any(|&c| c));
    let unclipped = play(GameAlgorithm::Simultaneous, lr, 100, Clip::None);
    assert!(t.final_distance().unwrap() < unclipped.final_distance().unwrap());
}

/// A non-bilinear game with large gradients: f = x0^3 y0 + x1 y1^2 + sum x.
fn cubic(x: Tensor<1>, y: Tensor<1>) -> Tensor<1> {
    let x0 = x.clone().slice(0..1);
    let x1 = x.clone().slice(1..2);
    let y0 = y.clone().slice(0..1);
    let y1 = y.slice(1..2);
    x0.powi_scalar(3) * y0 + x1 * y1.powi_scalar(2) + x.sum()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(12))]
    #[test]
    fn clipping_bounds_every_update(
        c in 0.01f64..2.0,
        lr in 0.001f64..0.5,
        x0 in -3.0f64..3.0,
        y0 in -3.0f64..3.0,
        by_norm in any::<bool>(),
        alg in 0usize..4,
    ) {
        let game = Game::new(cubic, 2, 2, BackendKind::Flex).unwrap();
        let clip = if by_norm { Clip::Norm(c) } else { Clip::Value(c) };
        let runner = GameRunner::new(
            GameParams::new()
                .algorithm(GameAlgorithm::ALL[alg])
                .lr(lr)
                .steps(5)
                .clip(clip)
                .check()
                .unwrap(),
        );
        let t = runner.run(&game, Point::new(vec![x0, -x0], vec![y0, 0.5])).unwrap();
        let bound = if by_norm { lr * c } else { lr * c * 2f64.sqrt() };
        for (sx, sy) in t.step_norm_x.iter().zip(&t.step_norm_y) {
            prop_assert!(*sx <= bound * (1.0 + 1e-12), "{sx} > {bound}");
            prop_assert!(*sy <= bound * (1.0 + 1e-12), "{sy} > {bound}");
        }
        if !by_norm {
            for w in t.points.windows(2) {
                for (a, b) in w[0].x.iter().zip(&w[1].x).chain(w[0].y.iter().zip(&w[1].y)) {
                    prop_assert!((a - b).abs() <= lr * c * (1.0 + 1e-12));
                }
            }
        }
    }
}

#[test]
fn clip_gradient_by_value_and_norm() {
    let mut g = vec![3.0, -4.0];
    assert_eq!(clip_gradient(&mut g, Clip::Norm(1.0)), 0.2);
    assert!((g[0] - 0.6).abs() < 1e-15 && (g[1] + 0.8).abs() < 1e-15);
    let mut g = vec![3.0, -0.5];
    clip_gradient(&mut g, Clip::Value(1.0));
    assert_eq!(g, vec![1.0, -0.5]);
    let mut g = vec![0.1, 0.1];
    assert_eq!(clip_gradient(&mut g, Clip::Norm(1.0)), 1.0);
    assert_eq!(g, vec![0.1, 0.1]);
}

#[test]
fn gradients_match_finite_differences_of_the_value() {
    let game = Game::new(cubic, 2, 2, BackendKind::Flex).unwrap();
    let p = Point::new(vec![0.7, -1.3], vec![0.4, 2.1]);
    let g = game.gradients(&p).unwrap();
    let h = 1e-6;
    for i in 0..4 {
        let shift = |s: f64| {
            let mut q = p.clone();
            if i < 2 {
                q.x[i] += s
            } else {
                q.y[i - 2] += s
            }
            game.value(&q).unwrap()
        };
        let fd = (shift(h) - shift(-h)) / (2.0 * h);
        let ad = if i < 2 { g.x[i] } else { g.y[i - 2] };
        assert!(
            (fd - ad).abs() < 1e-7 * (1.0 + ad.abs()),
            "{i}: {fd} vs {ad}"
        );
    }
}

#[test]
fn jacobian_eigenvalues_rotation_vs_potential() {
    let j = xy()
        .jacobian(&Point::new(vec![0.3], vec![-0.2]), 1e-3)
        .unwrap();
    for (a, b) in j.matrix.iter().zip([0.0, -1.0, 1.0, 0.0]) {
        assert!((a - b).abs() < 1e-12, "{:?}", j.matrix);
    }
    assert!((j.eigenvalues[0].im - 1.0).abs() < 1e-12 && j.eigenvalues[0].re.abs() < 1e-12);
    assert!((j.rotation - 1.0).abs() < 1e-12);
    // f = x^2/2 - y^2/2: field (-x, -y), a pure potential flow into the equilibrium.
    let quad = Game::new(
        |x: Tensor<1>, y: Tensor<1>| {
            (x.powi_scalar(2).sum() - y.powi_scalar(2).sum()).div_scalar(2.0)
        },
        2,
        1,
        BackendKind::Flex,
    )
    .unwrap();
    let j = quad
        .jacobian(&Point::new(vec![1.0, 2.0], vec![3.0]), 1e-3)
        .unwrap();
    assert_eq!(j.order, 3);
    for e in &j.eigenvalues {
        assert!((e.re + 1.0).abs() < 1e-9 && e.im == 0.0, "{e:?}");
    }
    assert!(j.rotation.abs() < 1e-12);
    assert!(
        quad.jacobian(&Point::new(vec![1.0, 2.0], vec![3.0]), 0.0)
            .is_err()
    );
}

#[test]
fn bad_input_is_refused_with_typed_errors() {
    let game = xy();
    assert!(
        game.gradients(&Point::new(vec![1.0, 2.0], vec![0.0]))
            .is_err()
    );
    assert!(
        game.gradients(&Point::new(vec![f64::NAN], vec![0.0]))
            .is_err()
    );
    assert!(Game::new(bilinear, 0, 1, BackendKind::Flex).is_err());
    let runner = GameRunner::new(GameParams::new().lr(1e3).steps(200).check().unwrap());
    match runner.run(&game, Point::new(vec![1.0], vec![1.0])) {
        Err(DynamicsError::Diverged { algorithm, step }) => {
            assert_eq!(algorithm, "gda");
            assert!(step > 10 && step < 200, "{step}");
        }
        other => panic!("{other:?}"),
    }
    let scalar_valued =
        Game::new(|x: Tensor<1>, y: Tensor<1>| x * y, 2, 2, BackendKind::Flex).unwrap();
    assert!(
        scalar_valued
            .gradients(&Point::new(vec![1.0, 2.0], vec![3.0, 4.0]))
            .is_err()
    );
}
