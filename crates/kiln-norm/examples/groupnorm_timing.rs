//! GroupNorm(32, 64) on [8, 64, 56, 56] f32 timed the way `benches/torch_groupnorm_bench.py`
//! times PyTorch: each repetition timed on its own, after warm-up, reported as median, min,
//! p10 and p90 of the repetitions (the criterion bench `benches/norm.rs` reports means of
//! batched iterations, which a loaded machine inflates more than a median of single
//! repetitions). Same input and upstream gradient as the bench.
//!
//! ```sh
//! RAYON_NUM_THREADS=1 cargo run --profile dev -p kiln-norm --example groupnorm_timing
//! ```

use std::time::Instant;

use kiln_core::burn::tensor::{DType, Tensor, TensorData};
use kiln_core::{Autodiff, BackendKind, Precision, convert, device};
use kiln_norm::fused::{GnShape, backward, forward};
use kiln_norm::{GroupNorm, GroupNormParams};
use rand::RngExt;

const SHAPE: [usize; 4] = [8, 64, 56, 56];

fn data(seed: u64) -> Vec<f32> {
    let mut rng = kiln_core::seed::rng(seed);
    (0..SHAPE.iter().product::<usize>())
        .map(|_| rng.random_range(-2.0f32..2.0))
        .collect()
}

/// Times `run` on the input `setup` makes (setup not timed); prints median, min, p10, p90.
fn timed<S, T, O>(name: &str, reps: usize, mut setup: impl FnMut() -> S, mut run: T)
where
    T: FnMut(S) -> O,
{
    for _ in 0..10.min(reps) {
        drop(run(setup()));
    }
    let mut ms: Vec<f64> = (0..reps)
        .map(|_| {
            let input = setup();
            let t = Instant::now();
            let out = run(input);
            let dt = t.elapsed().as_secs_f64() * 1e3;
            drop(out);
            dt
        })
        .collect();
    ms.sort_by(f64::total_cmp);
    println!(
        "kiln threads={} {name}: median {:.3} ms (min {:.3}, p10 {:.3}, p90 {:.3}; {reps} reps)",
        rayon::current_num_threads(),
        ms[reps / 2],
        ms[0],
        ms[reps / 10],
        ms[reps * 9 / 10],
    );
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let params = GroupNormParams::new(32, 64).check()?;
    let (x, w) = (data(1), data(2));
    let shape = GnShape {
        batch: SHAPE[0],
        channels: SHAPE[1],
        spatial: SHAPE[2] * SHAPE[3],
    };
    let (gamma, beta) = (vec![1.0f32; 64], vec![0.0f32; 64]);
    let (mut y, mut dx) = (vec![0.0f32; x.len()], vec![0.0f32; x.len()]);
    timed(
        "fused fwd_bwd (slices)",
        100,
        || (),
        |()| {
            let saved = forward(&params, shape, &x, &gamma, &beta, &mut y).unwrap();
            backward(&params, shape, &x, &gamma, &saved, &w, &mut dx).unwrap()
        },
    );
    timed(
        "fused fwd (slices)",
        100,
        || (),
        |()| forward(&params, shape, &x, &gamma, &beta, &mut y).unwrap(),
    );

    let ad = device(BackendKind::Flex, Autodiff::On, Precision::F32)?;
    let plain = ad.clone().without_autodiff();
    let gn_plain = GroupNorm::new(&params, &plain);
    let burn_gn = gn_plain.clone().into_burn();
    let fresh = || Tensor::<4>::from_data(TensorData::new(x.clone(), SHAPE), (&plain, DType::F32));
    timed(
        "GroupNorm::forward inference (tensor in/out)",
        100,
        fresh,
        |t| gn_plain.forward(t).unwrap(),
    );
    timed("Burn composite inference (tensor in/out)", 50, fresh, |t| {
        burn_gn.forward(t)
    });

    let gn = GroupNorm::new(&params, &ad);
    let xt = convert::tensor_f32(&x, SHAPE, &ad)?;
    let wt = convert::tensor_f32(&w, SHAPE, &ad)?;
    timed(
        "Burn composite fwd_bwd (autodiff)",
        20,
        || (),
        |()| {
            let x = xt.clone().require_grad();
            let y = gn.forward(x.clone()).unwrap();
            let grads = (y * wt.clone()).sum().backward();
            x.grad(&grads).unwrap().into_data().num_elements()
        },
    );
    Ok(())
}
