//! GroupNorm(32, 64) forward + backward on [8, 64, 56, 56] f32: Burn's composite on flex vs
//! `kiln_norm::GroupNorm::forward` with autodiff (the fused kernels as one graph node), both
//! with the loss `sum(y * w)` and its backward pass, vs kiln's fused plain-Rust kernels on
//! slices (input, output and `dx` buffers reused), plus inference through tensors (Burn's
//! composite vs `GroupNorm::forward`, which is the fused kernel on flex without autodiff). PyTorch's side:
//! `benches/torch_groupnorm_bench.py`, same input and options.
//!
//! ```sh
//! RAYON_NUM_THREADS=1 cargo bench --profile dev -p kiln-norm --bench norm -- --warm-up-time 1 --measurement-time 3
//! ```

use criterion::{BatchSize, Criterion, criterion_group, criterion_main};
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

fn bench(c: &mut Criterion) {
    let params = GroupNormParams::new(32, 64).check().unwrap();
    let x = data(1);
    let w = data(2);
    let ad = device(BackendKind::Flex, Autodiff::On, Precision::F32).unwrap();
    let gn = GroupNorm::new(&params, &ad);
    let xt = convert::tensor_f32(&x, SHAPE, &ad).unwrap();
    let wt = convert::tensor_f32(&w, SHAPE, &ad).unwrap();
    let threads = rayon::current_num_threads();
    let mut group = c.benchmark_group(format!("groupnorm32_64_8x64x56x56_f32_{threads}threads"));
    group.sample_size(20);
    // Training through tensors (autodiff on): the loss `sum(y * w)` and its backward pass,
    // one element of the input gradient read back (flex is eager: the whole gradient is
    // computed); PyTorch's `fwd_bwd_loss` does the same.
    let burn_ad = gn.clone().into_burn();
    group.bench_function("burn_composite_fwd_bwd", |b| {
        b.iter(|| {
            let x = xt.clone().require_grad();
            let y = burn_ad.forward(x.clone());
            let grads = (y * wt.clone()).sum().backward();
            let gx: Tensor<4> = x.grad(&grads).unwrap();
            convert::to_vec_f32(&gx.slice([0..1, 0..1, 0..1, 0..1])).unwrap()[0]
        })
    });
    group.bench_function("kiln_forward_fwd_bwd_tensor", |b| {
        b.iter(|| {
            let x = xt.clone().require_grad();
            let y = gn.forward(x.clone()).unwrap();
            let grads = (y * wt.clone()).sum().backward();
            let gx: Tensor<4> = x.grad(&grads).unwrap();
            convert::to_vec_f32(&gx.slice([0..1, 0..1, 0..1, 0..1])).unwrap()[0]
        })
    });
    let shape = GnShape {
        batch: SHAPE[0],
        channels: SHAPE[1],
        spatial: SHAPE[2] * SHAPE[3],
    };
    let gamma = vec![1.0f32; 64];
    let beta = vec![0.0f32; 64];
    let mut y = vec![0.0f32; x.len()];
    let mut dx = vec![0.0f32; x.len()];
    group.bench_function("kiln_fused_fwd_bwd", |b| {
        b.iter(|| {
            let saved = forward(&params, shape, &x, &gamma, &beta, &mut y).unwrap();
            backward(&params, shape, &x, &gamma, &saved, &w, &mut dx)
                .unwrap()
                .gamma
                .len()
        })
    });
    // Inference through tensors on flex without autodiff, input moved in (a fresh tensor per
    // iteration, made outside the timing, as a layer receives its predecessor's output), the
    // output tensor returned (flex is eager; criterion drops it outside the timing).
    let plain = ad.clone().without_autodiff();
    let gn_plain = GroupNorm::new(&params, &plain);
    let burn_gn = gn_plain.clone().into_burn();
    let fresh = || Tensor::<4>::from_data(TensorData::new(x.clone(), SHAPE), (&plain, DType::F32));
    group.bench_function("burn_composite_fwd_inference_tensor", |b| {
        b.iter_batched(fresh, |t| burn_gn.forward(t), BatchSize::LargeInput)
    });
    group.bench_function("kiln_forward_inference_tensor", |b| {
        b.iter_batched(
            fresh,
            |t| gn_plain.forward(t).unwrap(),
            BatchSize::LargeInput,
        )
    });
    // The input still shared by the caller: neither side may overwrite it (kiln's path copies
    // it on write first).
    let shared = fresh();
    group.bench_function("burn_composite_fwd_inference_tensor_shared_input", |b| {
        b.iter(|| burn_gn.forward(shared.clone()))
    });
    group.bench_function("kiln_forward_inference_tensor_shared_input", |b| {
        b.iter(|| gn_plain.forward(shared.clone()).unwrap())
    });
    group.bench_function("kiln_fused_fwd", |b| {
        b.iter(|| {
            forward(&params, shape, &x, &gamma, &beta, &mut y)
                .unwrap()
                .mean
                .len()
        })
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
