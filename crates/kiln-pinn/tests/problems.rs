//! The built-in problems: residuals vanish on the exact solutions, references match the copied
//! vectors, bad input is rejected at construction, and the full loss passes grad_check.

use std::f64::consts::PI;
use std::sync::Arc;

use kiln_core::{Autodiff, BackendKind, GradCheckConfig, Precision, convert, device, grad_check};
use kiln_pinn::Dual2;
use kiln_pinn::Jet;
use kiln_pinn::loss::PinnLoss;
use kiln_pinn::network::{Architecture, Network};
use kiln_pinn::operators::Fields;
use kiln_pinn::problem::{Domain, Problem};
use kiln_pinn::reference::{BURGERS_NU, burgers_exact};
use kiln_pinn::{Activation, PinnError, PinnParams, ProblemKind, ProblemOptions};

/// Max |residual| when the "network output" is the exact solution, given as host jets.
fn residual_of_exact(p: &Problem, exact: impl Fn(&[Dual2]) -> Vec<Dual2>) -> f64 {
    let dev = device(BackendKind::Flex, Autodiff::Off, Precision::F32).unwrap();
    let dim = p.domain.dim();
    let mut rng = kiln_core::seed::rng(5);
    let points = kiln_pinn::Sampler::Uniform
        .sample(50, p.domain.lo(), p.domain.hi(), &mut rng)
        .unwrap();
    let ch = Arc::new(p.needs.channels(dim).unwrap());
    let q: Vec<Vec<Dual2>> = points.chunks(dim).map(|x| exact(&Dual2::vars(x))).collect();
    let jet = Jet::from_duals(ch, &q, Precision::F64, &dev).unwrap();
    let fields = Fields::new(&jet, &points, p.domain.time_axis(), Precision::F64, &dev);
    (p.residual)(&fields)
        .unwrap()
        .iter()
        .flat_map(|r| convert::to_vec_f64(r).unwrap())
        .fold(0.0, |m: f64, v| m.max(v.abs()))
}

#[test]
fn residuals_vanish_on_closed_form_solutions() {
    let o = ProblemOptions::default();
    let p = ProblemKind::Poisson1d.build(&o, 0).unwrap();
    assert!(residual_of_exact(&p, |x| vec![(x[0] * PI).sin()]) < 1e-10);
    let p = ProblemKind::Heat.build(&o, 0).unwrap();
    let r = residual_of_exact(&p, |x| {
        vec![(x[1] * (-0.4 * PI * PI)).exp() * (x[0] * PI).sin()]
    });
    assert!(r < 1e-10, "{r}");
    let p = ProblemKind::Helmholtz2d.build(&o, 0).unwrap();
    let k = 2.0 * PI;
    let r = residual_of_exact(&p, |x| vec![(x[0] * k).sin() * (x[1] * k).sin()]);
    assert!(r < 1e-9, "{r}");
    let p = ProblemKind::Kovasznay.build(&o, 0).unwrap();
    let nu = 1.0 / 20.0;
    let l = 1.0 / (2.0 * nu) - (1.0 / (4.0 * nu * nu) + 4.0 * PI * PI).sqrt();
    let r = residual_of_exact(&p, |x| {
        let e = (x[0] * l).exp();
        vec![
            1.0 - e * (x[1] * (2.0 * PI)).cos(),
            e * (x[1] * (2.0 * PI)).sin() * (l / (2.0 * PI)),
            0.5 - (x[0] * (2.0 * l)).exp() * 0.5,
        ]
    });
    assert!(r < 1e-9, "{r}");
    // A wrong solution must not pass (the check can fail).
    let p = ProblemKind::Poisson1d.build(&o, 0).unwrap();
    assert!(residual_of_exact(&p, |x| vec![(x[0] * PI).cos()]) > 1.0);
    let p = ProblemKind::Elasticity.build(&o, 0).unwrap();
    let r = residual_of_exact(&p, |x| {
        vec![
            (x[0] * (2.0 * PI)).cos() * (x[1] * PI).sin(),
            (x[0] * PI).sin() * x[1].powi(4),
        ]
    });
    assert!(r < 1e-9, "{r}");
}

#[derive(serde::Deserialize)]
struct BurgersRef {
    x: Vec<f64>,
    t: Vec<f64>,
    usol: Vec<Vec<f64>>,
    nu: f64,
}

#[test]
fn burgers_cole_hopf_matches_the_reference_vectors() {
    let text = include_str!("data/burgers_reference_subsample.json");
    let r: BurgersRef = serde_json::from_str(text).unwrap();
    assert!((r.nu - BURGERS_NU).abs() < 1e-15);
    let mut worst: f64 = 0.0;
    for (i, &x) in r.x.iter().enumerate() {
        for (j, &t) in r.t.iter().enumerate() {
            worst = worst.max((burgers_exact(x, t, BURGERS_NU) - r.usol[i][j]).abs());
        }
    }
    assert!(worst < 1e-10, "max |ours - reference| = {worst}");
    // The shock's published steepness: |u_x(0, 1.6037/pi)| = 152.00516 (Basdevant 1986).
    let (t, h) = (1.6037 / PI, 1e-6);
    let slope = (burgers_exact(h, t, BURGERS_NU) - burgers_exact(-h, t, BURGERS_NU)) / (2.0 * h);
    assert!((slope.abs() - 152.00516).abs() < 1e-3, "slope {slope}");
}

#[test]
fn invalid_domains_and_names_are_rejected() {
    assert!(matches!(
        Domain::new(&[1.0], &[0.0], None),
        Err(PinnError::InvalidDomain { axis: 0, .. })
    ));
    assert!(matches!(
        Domain::new(&[0.0, f64::NAN], &[1.0, 1.0], None),
        Err(PinnError::InvalidDomain { axis: 1, .. })
    ));
    assert!(Domain::new(&[0.0; 4], &[1.0; 4], None).is_err());
    assert!(Domain::new(&[0.0], &[1.0], Some(1)).is_err());
    assert!(matches!(
        ProblemKind::parse("navier"),
        Err(PinnError::UnknownProblem(_))
    ));
    for name in ProblemKind::NAMES {
        assert_eq!(ProblemKind::parse(name).unwrap().name(), name);
    }
    let bad = ProblemOptions {
        noise: -1.0,
        ..ProblemOptions::default()
    };
    assert!(ProblemKind::Poisson1d.build(&bad, 0).is_err());
}

/// The whole PINN loss (residual with second derivatives, soft conditions, data) against
/// central differences in f64, for soft and hard constraints.
#[test]
fn full_loss_passes_grad_check() {
    for (kind, hard) in [
        (ProblemKind::Burgers, false),
        (ProblemKind::Burgers, true),
        (ProblemKind::Elasticity, false),
    ] {
        let opts = ProblemOptions {
            hard_constraints: hard,
            observations: 5,
            noise: 0.01,
            ..ProblemOptions::default()
        };
        let problem = kind.build(&opts, 0).unwrap();
        let mut rng = kiln_core::seed::rng(9);
        let dom = problem.domain.clone();
        let net = Network::new(
            Architecture::Modified,
            Activation::Tanh,
            dom.lo(),
            dom.hi(),
            &[4, 4],
            problem.outputs,
            &mut rng,
        );
        let theta = net.init(&mut rng);
        let colloc = kiln_pinn::Sampler::Lhs
            .sample(7, dom.lo(), dom.hi(), &mut rng)
            .unwrap();
        let conds: Vec<Vec<f64>> = problem
            .conditions
            .iter()
            .map(|c| c.sample(&dom, 4, &mut rng))
            .collect();
        let make = |dev| {
            PinnLoss::new(
                problem.clone(),
                net.clone(),
                Precision::F64,
                dev,
                colloc.clone(),
                conds.clone(),
            )
            .unwrap()
        };
        let ad = device(BackendKind::Flex, Autodiff::On, Precision::F32).unwrap();
        let on_ad = make(ad.clone());
        let plain = make(ad.clone().without_autodiff());
        let report = grad_check(
            |t| {
                let l = if t.device().is_autodiff() {
                    &on_ad
                } else {
                    &plain
                };
                l.loss(&t).unwrap()
            },
            &theta,
            [theta.len()],
            &ad,
            &GradCheckConfig {
                tolerance: 1e-5,
                ..GradCheckConfig::default()
            },
        )
        .unwrap();
        assert!(report.passed, "{kind:?} hard={hard}: {report}");
        // value_and_grad is the same gradient.
        let (_, g) = on_ad.value_and_grad(&theta).unwrap();
        assert_eq!(g.len(), report.analytic.len());
        for (a, b) in g.iter().zip(&report.analytic) {
            assert!((a - b).abs() <= 1e-12 * (1.0 + b.abs()));
        }
    }
}

#[test]
fn params_reject_bad_sizes() {
    assert!(PinnParams::new().n_boundary(0).check().is_err());
    assert!(
        PinnParams::new()
            .architecture(Architecture::Fourier {
                features: 0,
                sigma: 1.0
            })
            .check()
            .is_err()
    );
}
