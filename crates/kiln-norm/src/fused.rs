//! A fused GroupNorm forward and backward in plain Rust over `f32` slices, parallel over
//! (sample, group) blocks with rayon (on the calling thread when rayon has one thread or the
//! input is small), where Burn's composite records a dozen tensor ops.
//!
//! Per block: forward = one pass over memory for the shifted moments, one pass over the
//! cache-resident block writing the output; backward = one pass for the per-channel sums, one
//! writing `dx`; the next block is prefetched meanwhile. Sums run in f32 lanes flushed into
//! f64. The inner loops exist twice: AVX2 + FMA intrinsics (`fused/avx2.rs`), chosen at run
//! time with `is_x86_feature_detected!` (the build has no target-cpu flags), and a portable
//! version for every other CPU.
//!
//! Training through tensors keeps Burn's composite: a custom autodiff op in Burn 0.22 needs
//! Burn's `extension` feature, which kiln does not enable. Inference on flex
//! ([`crate::GroupNorm::forward`] with autodiff off, f32) runs [`forward_in_place`] on the
//! input tensor's own buffer. The README's Speed section has the numbers.

use kiln_core::KilnError;
use rayon::prelude::*;

use crate::errors::Result;
use crate::hyperparams::GroupNormValidParams;

/// Shape of a GroupNorm input: `[batch, channels, spatial]` (spatial axes flattened).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct GnShape {
    /// Batch size.
    pub batch: usize,
    /// Channels.
    pub channels: usize,
    /// Product of the spatial axes.
    pub spatial: usize,
}

/// What the forward pass keeps for the backward pass.
#[derive(Debug, Clone, PartialEq)]
pub struct GnSaved {
    /// Mean per (sample, group), `[batch * groups]`.
    pub mean: Vec<f32>,
    /// `1 / sqrt(var + eps)` per (sample, group).
    pub rstd: Vec<f32>,
}

/// Parameter gradients of the backward pass (the input gradient goes to the caller's buffer).
#[derive(Debug, Clone, PartialEq)]
pub struct GnGrads {
    /// Gradient w.r.t. gamma.
    pub gamma: Vec<f32>,
    /// Gradient w.r.t. beta.
    pub beta: Vec<f32>,
}

fn check(
    params: &GroupNormValidParams,
    shape: GnShape,
    lens: &[(&str, usize, usize)],
) -> Result<()> {
    if shape.channels != params.channels() {
        return Err(KilnError::shape(
            "fused GroupNorm channels",
            params.channels(),
            shape.channels,
        )
        .into());
    }
    if shape.batch == 0 || shape.spatial == 0 {
        return Err(KilnError::Empty("fused GroupNorm input".into()).into());
    }
    for &(name, got, want) in lens {
        if got != want {
            return Err(KilnError::shape(format!("fused GroupNorm {name}"), want, got).into());
        }
    }
    Ok(())
}

#[cfg(target_arch = "x86_64")]
mod avx2;

/// Values summed in f32 lanes before the lane sums are flushed into f64 (128 per lane of the
/// 32), so the rounding error does not grow with the spatial size.
const FLUSH: usize = 4096;

/// f32 values in a 64-byte cache line (the AVX2 loops' unit).
#[cfg(target_arch = "x86_64")]
const LINE: usize = 16;

/// Asks the CPU to start loading the cache line at `p` into L2. The passes that run over a
/// block already in cache call it for the same offset one block ahead (input and output
/// lines), so the next block's memory traffic overlaps this block's arithmetic instead of
/// starting cold. Into L2, not L1: the next block's lines would evict the current block's
/// from L1 (measured here, 1 thread: fwd+bwd ~2.3 ms without prefetch, ~1.95 ms into L1,
/// ~1.65 ms into L2).
#[inline(always)]
fn prefetch(p: *const f32) {
    #[cfg(target_arch = "x86_64")]
    // SAFETY: a prefetch is only a hint: it never dereferences `p` and never faults, whatever
    // the address (past the last block it is simply dropped).
    unsafe {
        use std::arch::x86_64::{_MM_HINT_T1, _mm_prefetch};
        _mm_prefetch::<_MM_HINT_T1>(p.cast());
    }
    #[cfg(not(target_arch = "x86_64"))]
    let _ = p;
}

/// The inner loops of the block kernels, in one implementation per instruction set.
trait Kernels {
    /// `(sum(x - m), sum((x - m)^2))`.
    fn centred_sums(x: &[f32], m: f32) -> (f64, f64);
    /// `(sum(dy), sum(dy * (x - m)))`.
    fn grad_sums(dy: &[f32], x: &[f32], m: f32) -> (f64, f64);
    /// `y = (x - m) * a + b`, prefetching `ahead` values on.
    fn affine(x: &[f32], y: &mut [f32], mab: (f32, f32, f32), ahead: usize);
    /// `xy = (xy - m) * a + b`, prefetching `ahead` values on.
    fn affine_in_place(xy: &mut [f32], mab: (f32, f32, f32), ahead: usize);
    /// `dx = p * dy + q * (x - m) + r`, prefetching `ahead` values on.
    fn dx(io: (&[f32], &[f32], &mut [f32]), pqrm: (f32, f32, f32, f32), ahead: usize);
}

/// Any CPU: 32 f32 lanes the compiler may vectorize for the baseline instruction set, plain
/// element-wise loops.
struct Portable;

/// Lanes of [`Portable`]'s reductions.
const L: usize = 32;

impl Kernels for Portable {
    fn centred_sums(x: &[f32], m: f32) -> (f64, f64) {
        let (mut t1, mut t2) = (0.0f64, 0.0f64);
        for part in x.chunks(FLUSH) {
            let (chunks, rest) = part.as_chunks::<L>();
            let (mut s1, mut s2) = ([0.0f32; L], [0.0f32; L]);
            for c in chunks {
                for k in 0..L {
                    let d = c[k] - m;
                    s1[k] += d;
                    s2[k] += d * d;
                }
            }
            for &v in rest {
                let d = (v - m) as f64;
                t1 += d;
                t2 += d * d;
            }
            t1 += s1.iter().map(|&v| v as f64).sum::<f64>();
            t2 += s2.iter().map(|&v| v as f64).sum::<f64>();
        }
        (t1, t2)
    }

    fn grad_sums(dy: &[f32], x: &[f32], m: f32) -> (f64, f64) {
        let (mut t1, mut t2) = (0.0f64, 0.0f64);
        for (pd, px) in dy.chunks(FLUSH).zip(x.chunks(FLUSH)) {
            let (cd, rd) = pd.as_chunks::<L>();
            let (cx, rx) = px.as_chunks::<L>();
            let (mut s1, mut s2) = ([0.0f32; L], [0.0f32; L]);
            for (d, v) in cd.iter().zip(cx) {
                for k in 0..L {
                    s1[k] += d[k];
                    s2[k] += d[k] * (v[k] - m);
                }
            }
            for (&d, &v) in rd.iter().zip(rx) {
                t1 += d as f64;
                t2 += d as f64 * (v - m) as f64;
            }
            t1 += s1.iter().map(|&v| v as f64).sum::<f64>();
            t2 += s2.iter().map(|&v| v as f64).sum::<f64>();
        }
        (t1, t2)
    }

    fn affine(x: &[f32], y: &mut [f32], (m, a, b): (f32, f32, f32), _ahead: usize) {
        for (o, &v) in y.iter_mut().zip(x) {
            *o = (v - m) * a + b;
        }
    }

    fn affine_in_place(xy: &mut [f32], (m, a, b): (f32, f32, f32), _ahead: usize) {
        for o in xy {
            *o = (*o - m) * a + b;
        }
    }

    fn dx(
        (x, dy, dx): (&[f32], &[f32], &mut [f32]),
        (p, q, r, m): (f32, f32, f32, f32),
        _ahead: usize,
    ) {
        for ((o, &d), &v) in dx.iter_mut().zip(dy).zip(x) {
            *o = p * d + (q * (v - m) + r);
        }
    }
}

/// AVX2 + FMA intrinsics (`fused/avx2.rs`).
#[cfg(target_arch = "x86_64")]
struct Avx2;

// SAFETY (every call below): `Avx2` kernels are only reached through `Isa::Avx2Fma`, which
// `Isa::detect` makes only after the CPU reported avx2 and fma.
#[cfg(target_arch = "x86_64")]
impl Kernels for Avx2 {
    fn centred_sums(x: &[f32], m: f32) -> (f64, f64) {
        unsafe { avx2::centred_sums(x, m) }
    }
    fn grad_sums(dy: &[f32], x: &[f32], m: f32) -> (f64, f64) {
        unsafe { avx2::grad_sums(dy, x, m) }
    }
    fn affine(x: &[f32], y: &mut [f32], mab: (f32, f32, f32), ahead: usize) {
        unsafe { avx2::affine(x, y, mab, ahead) }
    }
    fn affine_in_place(xy: &mut [f32], mab: (f32, f32, f32), ahead: usize) {
        unsafe { avx2::affine_in_place(xy, mab, ahead) }
    }
    fn dx(io: (&[f32], &[f32], &mut [f32]), pqrm: (f32, f32, f32, f32), ahead: usize) {
        unsafe { avx2::dx(io, pqrm, ahead) }
    }
}

/// Mean and `1 / sqrt(var + eps)` of one (sample, group) block.
#[derive(Debug, Clone, Copy)]
struct Stat {
    mean: f32,
    rstd: f32,
}

/// Where a forward block reads its input and writes its output.
enum Io<'a> {
    /// Separate input and output buffers.
    Split(&'a [f32], &'a mut [f32]),
    /// The output overwrites the input.
    InPlace(&'a mut [f32]),
}

/// Mean (rounded to f32, as the output pass uses it) and f64 `1 / sqrt(var + eps)` of one
/// (sample, group) block, in one pass over memory: the sums of `d = x - shift` and `d^2` with
/// the block's first value as the shift, `var = (sum d^2 - (sum d)^2 / n) / n`, so a large
/// mean does not cancel (the naive `E[x^2] - E[x]^2` in f32 loses every digit for mean 1e4,
/// std 1). When the shift lies far from the mean, a second pass over the cache-resident block
/// (2 x 3136 f32 = 25 KB for the bench's shape) sums around the mean instead (the corrected
/// two-pass algorithm).
#[inline(always)]
fn block_moments<K: Kernels>(xs: &[f32], eps: f64) -> (f32, f64) {
    let n = xs.len() as f64;
    let shift = xs.first().copied().unwrap_or(0.0);
    let (d1, d2) = K::centred_sums(xs, shift);
    let (mut m, mut var) = (shift as f64 + d1 / n, ((d2 - d1 * d1 / n) / n).max(0.0));
    // The shifted sums' rounding error is amplified by 1 + (mean - shift)^2 / var; past 5
    // (shift more than two standard deviations from the mean), sum again around the mean,
    // over the block while it is in cache.
    if (d1 / n) * (d1 / n) > 4.0 * var {
        let mf = m as f32;
        let (d1, d2) = K::centred_sums(xs, mf);
        (m, var) = (mf as f64 + d1 / n, ((d2 - d1 * d1 / n) / n).max(0.0));
    }
    (m as f32, 1.0 / (var + eps).sqrt())
}

/// Forward of one (sample, group) block of `gamma.len()` channels x `spatial` values: the
/// moments, then `y = (x - mean) * rstd * gamma + beta` per channel over the cache-resident
/// block.
fn forward_block<K: Kernels>(
    io: Io<'_>,
    spatial: usize,
    (gamma, beta): (&[f32], &[f32]),
    eps: f64,
) -> Stat {
    let (m, rstd) = block_moments::<K>(
        match &io {
            Io::Split(xs, _) => xs,
            Io::InPlace(buf) => buf,
        },
        eps,
    );
    let scales = gamma
        .iter()
        .zip(beta)
        .map(|(&g, &b)| (m, (rstd * g as f64) as f32, b));
    match io {
        Io::Split(xs, ys) => {
            let channels = xs.chunks_exact(spatial).zip(ys.chunks_exact_mut(spatial));
            for ((xc, yc), mab) in channels.zip(scales) {
                K::affine(xc, yc, mab, xs.len());
            }
        }
        Io::InPlace(buf) => {
            let ahead = buf.len();
            for (yc, mab) in buf.chunks_exact_mut(spatial).zip(scales) {
                K::affine_in_place(yc, mab, ahead);
            }
        }
    }
    Stat {
        mean: m,
        rstd: rstd as f32,
    }
}

/// Backward of one (sample, group) block: per channel `sum(dy)` and `sum(dy * (x - mean))`
/// (written to `partial` as the block's `(dgamma, dbeta)` contributions), then
/// `dx = gamma * rstd * dy + q * (x - mean) + r` over the cache-resident block.
fn backward_block<K: Kernels>(
    (xs, dys, dxs): (&[f32], &[f32], &mut [f32]),
    spatial: usize,
    gamma: &[f32],
    stat: Stat,
    partial: &mut [(f64, f64)],
) {
    let r64 = stat.rstd as f64;
    let (mut s1, mut s2) = (0.0f64, 0.0f64);
    let channels = xs.chunks_exact(spatial).zip(dys.chunks_exact(spatial));
    for ((xc, dc), (p, &g)) in channels.zip(partial.iter_mut().zip(gamma)) {
        let (db, dxhat) = K::grad_sums(dc, xc, stat.mean);
        s1 += g as f64 * db;
        s2 += g as f64 * dxhat;
        *p = (dxhat * r64, db);
    }
    // dx = rstd * (g dy - mean(g dy) - xhat * mean(g dy xhat)) over the block's n values.
    let n = xs.len() as f64;
    let q = (-r64 * r64 * r64 * s2 / n) as f32;
    let r = (-r64 * s1 / n) as f32;
    let channels = xs.chunks_exact(spatial).zip(dys.chunks_exact(spatial));
    for (((xc, dc), dxc), &g) in channels.zip(dxs.chunks_exact_mut(spatial)).zip(gamma) {
        let p = (g as f64 * r64) as f32;
        K::dx((xc, dc, dxc), (p, q, r, stat.mean), xs.len());
    }
}

/// Inputs smaller than this many values are normalized on the calling thread.
const PARALLEL_FROM: usize = 1 << 15;

/// Whether to stay on the calling thread: with one rayon thread (handing the work to the pool
/// would only add a wake-up per call, which under load costs more than the kernel) or a small
/// input.
fn sequential(n: usize) -> bool {
    n < PARALLEL_FROM || rayon::current_num_threads() <= 1
}

/// Which compiled variant of the block kernels runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Isa {
    /// Baseline x86-64 (SSE2) or any other architecture.
    Portable,
    /// AVX2 + FMA, only constructed after run-time detection.
    #[cfg(target_arch = "x86_64")]
    Avx2Fma,
}

impl Isa {
    fn detect() -> Self {
        #[cfg(target_arch = "x86_64")]
        if std::arch::is_x86_feature_detected!("avx2") && std::arch::is_x86_feature_detected!("fma")
        {
            return Isa::Avx2Fma;
        }
        Isa::Portable
    }

    fn forward_block(self, io: Io<'_>, spatial: usize, affine: (&[f32], &[f32]), eps: f64) -> Stat {
        match self {
            Isa::Portable => forward_block::<Portable>(io, spatial, affine, eps),
            #[cfg(target_arch = "x86_64")]
            Isa::Avx2Fma => forward_block::<Avx2>(io, spatial, affine, eps),
        }
    }

    fn backward_block(
        self,
        io: (&[f32], &[f32], &mut [f32]),
        spatial: usize,
        gamma: &[f32],
        stat: Stat,
        partial: &mut [(f64, f64)],
    ) {
        match self {
            Isa::Portable => backward_block::<Portable>(io, spatial, gamma, stat, partial),
            #[cfg(target_arch = "x86_64")]
            Isa::Avx2Fma => backward_block::<Avx2>(io, spatial, gamma, stat, partial),
        }
    }
}

/// GroupNorm forward: writes `y` and returns the saved statistics.
pub fn forward(
    params: &GroupNormValidParams,
    shape: GnShape,
    x: &[f32],
    gamma: &[f32],
    beta: &[f32],
    y: &mut [f32],
) -> Result<GnSaved> {
    forward_with(Isa::detect(), params, shape, Io::Split(x, y), (gamma, beta))
}

/// GroupNorm forward in place: overwrites `xy` (the input) with the output and returns the
/// saved statistics. The tensor path ([`crate::GroupNorm::forward`] on flex) uses it on the
/// buffer it takes over from the input tensor, so no output buffer is allocated.
pub fn forward_in_place(
    params: &GroupNormValidParams,
    shape: GnShape,
    xy: &mut [f32],
    gamma: &[f32],
    beta: &[f32],
) -> Result<GnSaved> {
    forward_with(Isa::detect(), params, shape, Io::InPlace(xy), (gamma, beta))
}

fn forward_with(
    isa: Isa,
    params: &GroupNormValidParams,
    shape: GnShape,
    io: Io<'_>,
    (gamma, beta): (&[f32], &[f32]),
) -> Result<GnSaved> {
    let n = shape.batch * shape.channels * shape.spatial;
    let c = shape.channels;
    let lens = match &io {
        Io::Split(x, y) => [("x", x.len(), n), ("y", y.len(), n)],
        Io::InPlace(xy) => [("x", xy.len(), n), ("x", xy.len(), n)],
    };
    check(
        params,
        shape,
        &[
            lens[0],
            lens[1],
            ("gamma", gamma.len(), c),
            ("beta", beta.len(), c),
        ],
    )?;
    let groups = params.groups();
    let cg = c / groups;
    let block = cg * shape.spatial;
    let eps = params.epsilon();
    let mut mean = vec![0.0f32; shape.batch * groups];
    let mut rstd = vec![0.0f32; shape.batch * groups];
    let run = |(i, io, (m, r)): (usize, Io<'_>, (&mut f32, &mut f32))| {
        let g0 = (i % groups) * cg;
        let affine = (&gamma[g0..g0 + cg], &beta[g0..g0 + cg]);
        let stat = isa.forward_block(io, shape.spatial, affine, eps);
        (*m, *r) = (stat.mean, stat.rstd);
    };
    // The same chains, on the calling thread or on rayon's pool.
    match (io, sequential(n)) {
        (Io::Split(x, y), true) => x
            .chunks(block)
            .zip(y.chunks_mut(block))
            .zip(mean.iter_mut().zip(rstd.iter_mut()))
            .enumerate()
            .for_each(|(i, ((xs, ys), st))| run((i, Io::Split(xs, ys), st))),
        (Io::Split(x, y), false) => x
            .par_chunks(block)
            .zip(y.par_chunks_mut(block))
            .zip(mean.par_iter_mut().zip(rstd.par_iter_mut()))
            .enumerate()
            .for_each(|(i, ((xs, ys), st))| run((i, Io::Split(xs, ys), st))),
        (Io::InPlace(xy), true) => xy
            .chunks_mut(block)
            .zip(mean.iter_mut().zip(rstd.iter_mut()))
            .enumerate()
            .for_each(|(i, (buf, st))| run((i, Io::InPlace(buf), st))),
        (Io::InPlace(xy), false) => xy
            .par_chunks_mut(block)
            .zip(mean.par_iter_mut().zip(rstd.par_iter_mut()))
            .enumerate()
            .for_each(|(i, (buf, st))| run((i, Io::InPlace(buf), st))),
    }
    Ok(GnSaved { mean, rstd })
}

/// One block of the backward pass: `((x, dy), dx)` and its `(dgamma, dbeta)` partials.
type BackwardItem<'a> = (
    ((&'a [f32], &'a [f32]), &'a mut [f32]),
    &'a mut [(f64, f64)],
);

/// GroupNorm backward from the upstream gradient `dy`: writes the input gradient into `dx`
/// (a buffer the caller may reuse across steps) and returns the parameter gradients.
pub fn backward(
    params: &GroupNormValidParams,
    shape: GnShape,
    x: &[f32],
    gamma: &[f32],
    saved: &GnSaved,
    dy: &[f32],
    dx: &mut [f32],
) -> Result<GnGrads> {
    backward_with(Isa::detect(), params, shape, (x, gamma), saved, dy, dx)
}

fn backward_with(
    isa: Isa,
    params: &GroupNormValidParams,
    shape: GnShape,
    (x, gamma): (&[f32], &[f32]),
    saved: &GnSaved,
    dy: &[f32],
    dx: &mut [f32],
) -> Result<GnGrads> {
    let n = shape.batch * shape.channels * shape.spatial;
    let c = shape.channels;
    let groups = params.groups();
    let bg = shape.batch * groups;
    check(
        params,
        shape,
        &[
            ("x", x.len(), n),
            ("dy", dy.len(), n),
            ("dx", dx.len(), n),
            ("gamma", gamma.len(), c),
            ("mean", saved.mean.len(), bg),
            ("rstd", saved.rstd.len(), bg),
        ],
    )?;
    let cg = c / groups;
    let block = cg * shape.spatial;
    // Per (sample, channel): this sample's (dgamma, dbeta) contribution.
    let mut partial = vec![(0.0f64, 0.0f64); shape.batch * c];
    let run = |(i, (((xs, dys), dxs), part)): (usize, BackwardItem<'_>)| {
        let g0 = (i % groups) * cg;
        let stat = Stat {
            mean: saved.mean[i],
            rstd: saved.rstd[i],
        };
        isa.backward_block(
            (xs, dys, dxs),
            shape.spatial,
            &gamma[g0..g0 + cg],
            stat,
            part,
        );
    };
    if sequential(n) {
        x.chunks(block)
            .zip(dy.chunks(block))
            .zip(dx.chunks_mut(block))
            .zip(partial.chunks_mut(cg))
            .enumerate()
            .for_each(run);
    } else {
        x.par_chunks(block)
            .zip(dy.par_chunks(block))
            .zip(dx.par_chunks_mut(block))
            .zip(partial.par_chunks_mut(cg))
            .enumerate()
            .for_each(run);
    }
    let mut dgamma = vec![0.0f64; c];
    let mut dbeta = vec![0.0f64; c];
    for sample in partial.chunks_exact(c) {
        for ((dg, db), &(pg, pb)) in dgamma.iter_mut().zip(dbeta.iter_mut()).zip(sample) {
            *dg += pg;
            *db += pb;
        }
    }
    Ok(GnGrads {
        gamma: dgamma.into_iter().map(|v| v as f32).collect(),
        beta: dbeta.into_iter().map(|v| v as f32).collect(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::GroupNormParams;

    /// Every compiled variant gives the same result (the portable one is what a CPU without
    /// AVX2/FMA runs), on a shape with lane and flush remainders.
    #[test]
    fn variants_agree() {
        let params = GroupNormParams::new(3, 6).check().unwrap();
        let shape = GnShape {
            batch: 2,
            channels: 6,
            spatial: 4099,
        };
        let n = 2 * 6 * 4099;
        let x: Vec<f32> = (0..n)
            .map(|i| ((i * 37 % 101) as f32 - 50.0) / 7.0 + 3.0)
            .collect();
        let dy: Vec<f32> = (0..n).map(|i| (i * 53 % 97) as f32 / 48.0 - 1.0).collect();
        let gamma: Vec<f32> = (0..6).map(|i| 0.5 + i as f32 * 0.2).collect();
        let beta: Vec<f32> = (0..6).map(|i| i as f32 * 0.1 - 0.3).collect();
        let run = |isa: Isa| {
            let mut y = vec![0.0; n];
            let saved =
                forward_with(isa, &params, shape, Io::Split(&x, &mut y), (&gamma, &beta)).unwrap();
            let mut dx = vec![0.0; n];
            let g = backward_with(isa, &params, shape, (&x, &gamma), &saved, &dy, &mut dx).unwrap();
            (y, dx, g, saved)
        };
        let (y0, dx0, g0, s0) = run(Isa::Portable);
        let (y1, dx1, g1, s1) = run(Isa::detect());
        let close = |a: &[f32], b: &[f32]| {
            a.iter()
                .zip(b)
                .all(|(p, q)| (p - q).abs() <= 1e-5 * (1.0 + q.abs()))
        };
        assert!(close(&y0, &y1) && close(&dx0, &dx1));
        assert!(close(&g0.gamma, &g1.gamma) && close(&g0.beta, &g1.beta));
        assert!(close(&s0.mean, &s1.mean) && close(&s0.rstd, &s1.rstd));
        // In place gives the same output, bit for bit, on each variant.
        for (isa, y) in [(Isa::Portable, &y0), (Isa::detect(), &y1)] {
            let mut xy = x.clone();
            forward_with(isa, &params, shape, Io::InPlace(&mut xy), (&gamma, &beta)).unwrap();
            assert_eq!(&xy, y);
        }
    }
}
