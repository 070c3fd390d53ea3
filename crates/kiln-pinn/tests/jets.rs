//! Jets against f64 finite differences and against Burn's reverse-mode first derivatives,
//! over random networks and points (proptest).
#![allow(clippy::needless_range_loop)]

use std::sync::Arc;

use kiln_core::{Autodiff, BackendKind, Precision, convert, device};
use kiln_pinn::Activation;
use kiln_pinn::loss::theta_on;
use kiln_pinn::network::{Architecture, Network};
use kiln_pinn::{Channels, Jet, Needs};
use proptest::prelude::*;

fn net(
    arch: Architecture,
    act: Activation,
    dim: usize,
    widths: Vec<usize>,
    seed: u64,
) -> (Network, Vec<f64>) {
    let mut rng = kiln_core::seed::rng(seed);
    let lo = vec![-1.0; dim];
    let hi = vec![2.0; dim];
    let n = Network::new(arch, act, &lo, &hi, &widths, 2, &mut rng);
    let mut theta = n.init(&mut rng);
    // Non-zero biases so every code path matters.
    for (i, v) in theta.iter_mut().enumerate() {
        *v += 0.05 * ((i * 7919 % 13) as f64 - 6.0) / 6.0;
    }
    (n, theta)
}

/// Values of both outputs at `points` through the values-only path.
fn values(n: &Network, theta: &[f64], points: &[f64]) -> Vec<f64> {
    let dev = device(BackendKind::Flex, Autodiff::Off, Precision::F32).unwrap();
    let ch = Arc::new(Channels::values(n.input_dim()));
    let input = n.input_jet(ch, points, Precision::F64, &dev).unwrap();
    let t = theta_on(theta, Precision::F64, &dev).unwrap();
    convert::to_vec_f64(&n.forward(&t, &input).value()).unwrap()
}

fn full_jet(n: &Network, theta: &[f64], points: &[f64]) -> (Jet, Arc<Channels>) {
    let dim = n.input_dim();
    let mut needs = Needs::values();
    for i in 0..dim {
        for j in i..dim {
            needs = needs.d2(i, j);
        }
    }
    let ch = Arc::new(needs.channels(dim).unwrap());
    let dev = device(BackendKind::Flex, Autodiff::Off, Precision::F32).unwrap();
    let input = n
        .input_jet(ch.clone(), points, Precision::F64, &dev)
        .unwrap();
    let t = theta_on(theta, Precision::F64, &dev).unwrap();
    (n.forward(&t, &input), ch)
}

fn arch_strategy() -> impl Strategy<Value = Architecture> {
    prop_oneof![
        Just(Architecture::Mlp),
        Just(Architecture::Modified),
        (1usize..4).prop_map(|features| Architecture::Fourier {
            features,
            sigma: 0.7
        }),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 24, .. ProptestConfig::default() })]

    #[test]
    fn jets_match_finite_differences(
        arch in arch_strategy(),
        act in prop::sample::select(Activation::ALL.to_vec()),
        dim in 1usize..=3,
        width in 3usize..7,
        depth in 1usize..4,
        seed in 0u64..1000,
        raw in prop::collection::vec(-0.9f64..1.9, 9),
    ) {
        let (n, theta) = net(arch, act, dim, vec![width; depth], seed);
        let points: Vec<f64> = raw[..dim * 3].to_vec();
        let (jet, ch) = full_jet(&n, &theta, &points);
        let stacked = convert::to_vec_f64(&jet.stacked).unwrap();
        let np = 3;
        let block = |c: usize, p: usize, k: usize| stacked[(c * np + p) * 2 + k];
        let h = 1e-4;
        for p in 0..np {
            let x = &points[p * dim..(p + 1) * dim];
            let at = |dx: &[(usize, f64)]| {
                let mut y = x.to_vec();
                for &(i, d) in dx { y[i] += d; }
                values(&n, &theta, &y)
            };
            let v0 = at(&[]);
            for k in 0..2 {
                prop_assert!((block(0, p, k) - v0[k]).abs() < 1e-12);
            }
            for i in 0..dim {
                let (up, dn) = (at(&[(i, h)]), at(&[(i, -h)]));
                for k in 0..2 {
                    let fd = (up[k] - dn[k]) / (2.0 * h);
                    let jet_d = block(ch.first_block(i).unwrap(), p, k);
                    prop_assert!((jet_d - fd).abs() < 1e-6 * (1.0 + fd.abs()),
                        "d/dx{i} out {k}: jet {jet_d} fd {fd}");
                    let fd2 = (up[k] - 2.0 * v0[k] + dn[k]) / (h * h);
                    let jet_dd = block(ch.second_block(i, i).unwrap(), p, k);
                    prop_assert!((jet_dd - fd2).abs() < 1e-4 * (1.0 + fd2.abs()),
                        "d2/dx{i}2 out {k}: jet {jet_dd} fd {fd2}");
                }
                for j in i + 1..dim {
                    let pp = at(&[(i, h), (j, h)]);
                    let pm = at(&[(i, h), (j, -h)]);
                    let mp = at(&[(i, -h), (j, h)]);
                    let mm = at(&[(i, -h), (j, -h)]);
                    for k in 0..2 {
                        let fd = (pp[k] - pm[k] - mp[k] + mm[k]) / (4.0 * h * h);
                        let jet_m = block(ch.second_block(i, j).unwrap(), p, k);
                        prop_assert!((jet_m - fd).abs() < 1e-4 * (1.0 + fd.abs()),
                            "d2/dx{i}dx{j} out {k}: jet {jet_m} fd {fd}");
                    }
                }
            }
        }
    }

    #[test]
    fn first_derivatives_match_reverse_mode(
        act in prop::sample::select(Activation::ALL.to_vec()),
        dim in 1usize..=3,
        width in 2usize..8,
        depth in 1usize..4,
        seed in 0u64..1000,
        raw in prop::collection::vec(-0.9f64..1.9, 12),
    ) {
        let (n, theta) = net(Architecture::Mlp, act, dim, vec![width; depth], seed);
        let np = 4;
        let points: Vec<f64> = raw[..dim * np].to_vec();
        let (jet, ch) = full_jet(&n, &theta, &points);
        let stacked = convert::to_vec_f64(&jet.stacked).unwrap();

        // Reverse mode: x as a leaf tensor, the MLP's own input scaling done in tensor ops.
        let ad = device(BackendKind::Flex, Autodiff::On, Precision::F32).unwrap();
        for k in 0..2 {
            // A backward pass consumes the graph: fresh leaves per output.
            let x = convert::tensor_f64(&points, [np, dim], &ad).unwrap().require_grad();
            // The network scales [-1, 2] to [-1, 1]: x_hat = (x - 0.5) / 1.5.
            let scaled = x.clone().sub_scalar(0.5).div_scalar(1.5);
            let input = Jet { channels: Arc::new(Channels::values(dim)), n: np, stacked: scaled };
            let t = theta_on(&theta, Precision::F64, &ad).unwrap();
            let out = n.forward(&t, &input).value().narrow(1, k, 1).sum();
            let g = convert::to_vec_f64(&x.grad(&out.backward()).unwrap()).unwrap();
            for p in 0..np {
                for i in 0..dim {
                    let jet_d = stacked[(ch.first_block(i).unwrap() * np + p) * 2 + k];
                    let rev = g[p * dim + i];
                    // Burn rounds scalar-op constants (the 1/1.5 scaling) to the device default f32.
                    prop_assert!((jet_d - rev).abs() < 1e-6 * (1.0 + rev.abs()),
                        "point {p} d/dx{i} out {k}: jet {jet_d} reverse {rev}");
                }
            }
        }
    }
}

#[test]
fn only_requested_channels_are_built() {
    let ch = Needs::values().d(1).d2(0, 0).channels(2).unwrap();
    // value, d/dx0, d/dx1, d2/dx0^2
    assert_eq!(ch.count(), 4);
    assert!(ch.second_block(1, 1).is_none());
    assert!(ch.second_block(0, 1).is_none());
    assert!(Needs::values().d(2).channels(2).is_err());
}
