//! The fused plain-Rust engine against the Burn path (same loss, same gradient, same term
//! parts and term gradients) and against central differences; causal weighting against a
//! brute-force evaluation from per-point residuals.

use kiln_core::{Autodiff, BackendKind, Precision, device};
use kiln_pinn::loss::PinnLoss;
use kiln_pinn::network::{Architecture, Network};
use kiln_pinn::{Activation, CausalParams, Engine, ProblemKind, ProblemOptions, Sampler};

const FUSED_KINDS: [ProblemKind; 5] = [
    ProblemKind::Poisson1d,
    ProblemKind::Burgers,
    ProblemKind::Heat,
    ProblemKind::Helmholtz2d,
    ProblemKind::AllenCahn,
];

/// A loss on `n` collocation points (several fused chunks when `n > 128`) with a small net.
fn small_loss(
    kind: ProblemKind,
    hard: bool,
    arch: Architecture,
    act: Activation,
    n: usize,
    seed: u64,
) -> (PinnLoss, Vec<f64>) {
    let opts = ProblemOptions {
        hard_constraints: hard,
        observations: 9,
        noise: 0.01,
        ..ProblemOptions::default()
    };
    let problem = kind.build(&opts, 0).unwrap();
    let mut rng = kiln_core::seed::rng(seed);
    let dom = problem.domain.clone();
    let net = Network::new(arch, act, dom.lo(), dom.hi(), &[6, 5], 1, &mut rng);
    let mut theta = net.init(&mut rng);
    for (i, v) in theta.iter_mut().enumerate() {
        *v += 0.03 * ((i * 7919 % 11) as f64 - 5.0) / 5.0;
    }
    let colloc = Sampler::Lhs
        .sample(n, dom.lo(), dom.hi(), &mut rng)
        .unwrap();
    let conds = problem
        .conditions
        .iter()
        .map(|c| c.sample(&dom, 131, &mut rng))
        .collect();
    let dev = device(BackendKind::Flex, Autodiff::On, Precision::F32).unwrap();
    let loss = PinnLoss::new(problem, net, Precision::F64, dev, colloc, conds).unwrap();
    (loss, theta)
}

fn rel(a: &[f64], b: &[f64]) -> f64 {
    assert_eq!(a.len(), b.len(), "compared vectors differ in length");
    let d: f64 = a.iter().zip(b).map(|(x, y)| (x - y) * (x - y)).sum();
    let n: f64 = b.iter().map(|y| y * y).sum();
    (d / n).sqrt()
}

#[test]
fn fused_engine_matches_the_burn_path() {
    let archs = [
        Architecture::Mlp,
        Architecture::Fourier {
            features: 3,
            sigma: 1.0,
        },
    ];
    let mut case = 0;
    for kind in FUSED_KINDS {
        for hard in [false, true] {
            for arch in archs {
                let act = Activation::ALL[case % Activation::ALL.len()];
                case += 1;
                let (mut loss, theta) = small_loss(kind, hard, arch, act, 300, case as u64);
                let time_dependent = loss.problem().domain.time_axis().is_some();
                for causal in [
                    None,
                    Some(CausalParams {
                        slabs: 7,
                        epsilon: 3.0,
                    }),
                ] {
                    if causal.is_some() && !time_dependent {
                        assert!(loss.set_causal(causal).is_err());
                        continue;
                    }
                    loss.set_causal(causal).unwrap();
                    loss.weights.residual = 1.3;
                    loss.weights.data = 0.7;
                    loss.set_engine(Engine::Fused).unwrap();
                    assert!(loss.uses_fused());
                    let (lf, gf) = loss.value_and_grad(&theta).unwrap();
                    let pf = loss.parts(&theta).unwrap();
                    let tf = loss.term_gradients(&theta).unwrap();
                    loss.set_engine(Engine::Burn).unwrap();
                    assert!(!loss.uses_fused());
                    let (lb, gb) = loss.value_and_grad(&theta).unwrap();
                    let pb = loss.parts(&theta).unwrap();
                    let tb = loss.term_gradients(&theta).unwrap();
                    let what = format!("{kind:?} hard={hard} {arch:?} {act} causal={causal:?}");
                    assert!((lf - lb).abs() <= 1e-12 * lb.abs(), "{what}: {lf} vs {lb}");
                    assert!(rel(&gf, &gb) < 1e-11, "{what}: gradient {}", rel(&gf, &gb));
                    assert!((pf.total - lf).abs() <= 1e-12 * lf.abs(), "{what}");
                    assert_eq!(pf.terms.len(), pb.terms.len(), "{what}");
                    for ((nf, vf), (nb, vb)) in pf.terms.iter().zip(&pb.terms) {
                        assert_eq!(nf, nb);
                        assert!(
                            (vf - vb).abs() <= 1e-12 * vb.abs().max(1e-300),
                            "{what} {nf}"
                        );
                    }
                    assert_eq!(tf.len(), tb.len(), "{what}");
                    for (a, b) in tf.iter().zip(&tb) {
                        assert!(rel(a, b) < 1e-11, "{what}: term gradient {}", rel(a, b));
                    }
                }
            }
        }
    }
}

/// Central differences of the fused loss in every parameter. (With causal weighting the
/// weights are constants of the gradient by design, so only the Burn parity above and the
/// brute force below check that case.)
#[test]
fn fused_gradient_matches_finite_differences() {
    for (kind, hard) in [
        (ProblemKind::Burgers, true),
        (ProblemKind::AllenCahn, false),
    ] {
        let (loss, theta) = small_loss(kind, hard, Architecture::Mlp, Activation::Tanh, 150, 4);
        let (_, g) = loss.value_and_grad_fused(&theta).unwrap();
        let h = 1e-6;
        for i in 0..theta.len() {
            let mut t = theta.clone();
            t[i] = theta[i] + h;
            let up = loss.value_and_grad_fused(&t).unwrap().0;
            t[i] = theta[i] - h;
            let down = loss.value_and_grad_fused(&t).unwrap().0;
            let fd = (up - down) / (2.0 * h);
            assert!(
                (fd - g[i]).abs() <= 1e-6 * (1.0 + g[i].abs()),
                "{kind:?} param {i}: fd {fd} vs {}",
                g[i]
            );
        }
    }
}

/// The causal residual term from per-point residuals by hand: slab means `L_k`, weights
/// `exp(-eps * sum_{j<k} L_j)`, term `sum_k w_k L_k / slabs`.
#[test]
fn causal_term_matches_brute_force() {
    let (mut loss, theta) = small_loss(
        ProblemKind::Burgers,
        true,
        Architecture::Mlp,
        Activation::Tanh,
        400,
        8,
    );
    let slabs = 5;
    let eps = 2.0;
    loss.set_causal(Some(CausalParams {
        slabs,
        epsilon: eps,
    }))
    .unwrap();
    let pts = loss.collocation_points().to_vec();
    loss.set_engine(Engine::Burn).unwrap();
    let sq = loss.residual_at(&theta, &pts).unwrap();
    loss.set_engine(Engine::Fused).unwrap();
    let sq_fused = loss.residual_at(&theta, &pts).unwrap();
    assert!(rel(&sq_fused, &sq) < 1e-12, "fused residual_at");
    let mut sums = vec![0.0; slabs];
    let mut counts = vec![0.0; slabs];
    for (x, r) in pts.chunks(2).zip(&sq) {
        let k = ((x[1] * slabs as f64) as usize).min(slabs - 1);
        sums[k] += r;
        counts[k] += 1.0;
    }
    let mut expected = 0.0;
    let mut cum = 0.0;
    for k in 0..slabs {
        let l = sums[k] / counts[k];
        expected += (-eps * cum).exp() * l / slabs as f64;
        cum += l;
    }
    for engine in [Engine::Fused, Engine::Burn] {
        loss.set_engine(engine).unwrap();
        let got = loss.parts(&theta).unwrap().terms[0].1;
        assert!(
            (got - expected).abs() <= 1e-12 * expected,
            "{engine:?}: {got} vs {expected}"
        );
    }
    // One slab and epsilon 0 is the plain mean.
    loss.set_causal(Some(CausalParams {
        slabs: 1,
        epsilon: 0.0,
    }))
    .unwrap();
    let one = loss.parts(&theta).unwrap().terms[0].1;
    let mean = sq.iter().sum::<f64>() / sq.len() as f64;
    assert!((one - mean).abs() <= 1e-12 * mean);
}

#[test]
fn fused_engine_is_refused_where_it_does_not_apply() {
    let (mut loss, _) = small_loss(
        ProblemKind::Burgers,
        true,
        Architecture::Modified,
        Activation::Tanh,
        10,
        1,
    );
    assert!(loss.set_engine(Engine::Fused).is_err());
    assert!(!loss.uses_fused());
    let problem = ProblemKind::Kovasznay
        .build(&ProblemOptions::default(), 0)
        .unwrap();
    let dom = problem.domain.clone();
    let mut rng = kiln_core::seed::rng(1);
    let net = Network::new(
        Architecture::Mlp,
        Activation::Tanh,
        dom.lo(),
        dom.hi(),
        &[4],
        3,
        &mut rng,
    );
    let conds = problem
        .conditions
        .iter()
        .map(|c| c.sample(&dom, 4, &mut rng))
        .collect();
    let dev = device(BackendKind::Flex, Autodiff::On, Precision::F32).unwrap();
    let mut l = PinnLoss::new(problem, net, Precision::F64, dev, vec![0.0; 8], conds).unwrap();
    assert!(l.set_engine(Engine::Fused).is_err());
    // f32 always runs on Burn.
    let problem = ProblemKind::Poisson1d
        .build(&ProblemOptions::default(), 0)
        .unwrap();
    let net = Network::new(
        Architecture::Mlp,
        Activation::Tanh,
        &[-1.0],
        &[1.0],
        &[4],
        1,
        &mut rng,
    );
    let dev = device(BackendKind::Flex, Autodiff::On, Precision::F32).unwrap();
    let mut l = PinnLoss::new(problem, net, Precision::F32, dev, vec![0.1, 0.2], vec![]).unwrap();
    assert!(l.set_engine(Engine::Fused).is_err());
    assert!(!l.uses_fused());
}

#[test]
fn residual_at_checks_lengths_on_both_engines() {
    let (mut loss, theta) = small_loss(
        ProblemKind::Poisson1d,
        false,
        Architecture::Mlp,
        Activation::Tanh,
        10,
        1,
    );
    for engine in [Engine::Fused, Engine::Burn] {
        loss.set_engine(engine).unwrap();
        assert_eq!(loss.residual_at(&theta, &[0.1, 0.2]).unwrap().len(), 2);
        // Too few parameters, too many, a non-finite point.
        assert!(loss.residual_at(&theta[1..], &[0.1]).is_err(), "{engine:?}");
        let mut long = theta.clone();
        long.push(0.0);
        assert!(loss.residual_at(&long, &[0.1]).is_err(), "{engine:?}");
        assert!(loss.residual_at(&theta, &[f64::NAN]).is_err(), "{engine:?}");
    }
    // A 2D problem: an odd number of coordinates is not a point set.
    let (mut loss, theta) = small_loss(
        ProblemKind::Burgers,
        false,
        Architecture::Mlp,
        Activation::Tanh,
        10,
        1,
    );
    for engine in [Engine::Fused, Engine::Burn] {
        loss.set_engine(engine).unwrap();
        assert!(
            loss.residual_at(&theta, &[0.1, 0.2, 0.3]).is_err(),
            "{engine:?}"
        );
    }
}
