//! A fused GroupNorm forward and backward in plain Rust over `f32` slices (f64 accumulation),
//! parallel over (sample, group) with rayon: two passes over the data forward, two backward,
//! where Burn's composite records a dozen tensor ops.
//!
//! These are host functions: a custom autodiff op in Burn 0.22 needs Burn's `extension`
//! feature (not in kiln's workspace feature line), and the tensor round trip of
//! [`crate::GroupNorm::forward_fused`] costs more than the kernel saves, so
//! [`crate::GroupNorm::forward`] keeps Burn's composite for training and inference on every
//! backend; the README's bench has the numbers.

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

/// f32 accumulator lanes of the reductions: 32 = four 8-wide AVX registers (eight SSE ones),
/// enough independent sums to hide the add latency; the compiler vectorizes the lane loops.
const L: usize = 32;
/// Elements summed in f32 lanes before the lane sums are flushed into f64 (128 per lane), so
/// the rounding error does not grow with the spatial size.
const FLUSH: usize = 128 * L;

/// f32 values in a 64-byte cache line.
const LINE: usize = 16;

/// Asks the CPU to start loading the cache line at `p`. The passes that run over a block
/// already in cache call it for the same offset one block ahead (input and output lines), so
/// the next block's memory traffic overlaps this block's arithmetic instead of starting cold
/// (measured here: fwd+bwd 2.5-2.8 ms without, 1.6-1.9 ms with, at load ~2).
#[inline(always)]
fn prefetch(p: *const f32) {
    #[cfg(target_arch = "x86_64")]
    // SAFETY: a prefetch is only a hint: it never dereferences `p` and never faults, whatever
    // the address (past the last block it is simply dropped).
    unsafe {
        use std::arch::x86_64::{_MM_HINT_T0, _mm_prefetch};
        _mm_prefetch::<_MM_HINT_T0>(p.cast());
    }
    #[cfg(not(target_arch = "x86_64"))]
    let _ = p;
}

/// How `a * b + c` is evaluated: a fused multiply-add where the CPU has one, else two
/// roundings (`f32::mul_add` without the `fma` feature would be a slow libm call).
trait MulAdd {
    fn mul_add(a: f32, b: f32, c: f32) -> f32;
}

/// Portable arithmetic (any CPU).
struct Separate;
impl MulAdd for Separate {
    #[inline(always)]
    fn mul_add(a: f32, b: f32, c: f32) -> f32 {
        a * b + c
    }
}

/// Fused multiply-add, only inside functions compiled with the `fma` target feature.
#[cfg(target_arch = "x86_64")]
struct Fused;
#[cfg(target_arch = "x86_64")]
impl MulAdd for Fused {
    #[inline(always)]
    fn mul_add(a: f32, b: f32, c: f32) -> f32 {
        a.mul_add(b, c)
    }
}

/// `sum(x)`.
#[inline(always)]
fn sum(x: &[f32]) -> f64 {
    let mut total = 0.0f64;
    for part in x.chunks(FLUSH) {
        let (chunks, rest) = part.as_chunks::<L>();
        let mut acc = [0.0f32; L];
        for c in chunks {
            for k in 0..L {
                acc[k] += c[k];
            }
        }
        total += acc.iter().chain(rest).map(|&v| v as f64).sum::<f64>();
    }
    total
}

/// `(sum(x - m), sum((x - m)^2))`: the second pass of the corrected two-pass variance.
#[inline(always)]
fn centred_sums<A: MulAdd>(x: &[f32], m: f32) -> (f64, f64) {
    let (mut t1, mut t2) = (0.0f64, 0.0f64);
    for part in x.chunks(FLUSH) {
        let (chunks, rest) = part.as_chunks::<L>();
        let (mut s1, mut s2) = ([0.0f32; L], [0.0f32; L]);
        for c in chunks {
            for k in 0..L {
                let d = c[k] - m;
                s1[k] += d;
                s2[k] = A::mul_add(d, d, s2[k]);
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

/// `(sum(dy), sum(dy * (x - m)))`, centred so a large mean does not cancel.
#[inline(always)]
fn grad_sums<A: MulAdd>(dy: &[f32], x: &[f32], m: f32) -> (f64, f64) {
    let (mut t1, mut t2) = (0.0f64, 0.0f64);
    for (pd, px) in dy.chunks(FLUSH).zip(x.chunks(FLUSH)) {
        let (cd, rd) = pd.as_chunks::<L>();
        let (cx, rx) = px.as_chunks::<L>();
        let (mut s1, mut s2) = ([0.0f32; L], [0.0f32; L]);
        for (d, v) in cd.iter().zip(cx) {
            for k in 0..L {
                s1[k] += d[k];
                s2[k] = A::mul_add(d[k], v[k] - m, s2[k]);
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
/// (sample, group) block: a sum from memory, then the centred sums over the block while it is
/// still in cache (2 x 3136 f32 = 25 KB for the bench's shape). The variance is the corrected
/// two-pass one, `(sum d^2 - (sum d)^2 / n) / n` with `d = x - mean0`, so it does not cancel
/// for inputs whose mean is large against their spread.
#[inline(always)]
fn block_moments<A: MulAdd>(xs: &[f32], eps: f64) -> (f32, f64) {
    let n = xs.len() as f64;
    let m0 = (sum(xs) / n) as f32;
    let (d1, d2) = centred_sums::<A>(xs, m0);
    let mean = m0 as f64 + d1 / n;
    let var = ((d2 - d1 * d1 / n) / n).max(0.0);
    (mean as f32, 1.0 / (var + eps).sqrt())
}

/// Forward of one (sample, group) block of `gamma.len()` channels x `spatial` values: the
/// moments, then `y = (x - mean) * rstd * gamma + beta` per channel over the cache-resident
/// block.
#[inline(always)]
fn forward_block<A: MulAdd>(
    io: Io<'_>,
    spatial: usize,
    (gamma, beta): (&[f32], &[f32]),
    eps: f64,
) -> Stat {
    let (m, rstd) = block_moments::<A>(
        match &io {
            Io::Split(xs, _) => xs,
            Io::InPlace(buf) => buf,
        },
        eps,
    );
    let scales = gamma.iter().map(|&g| (rstd * g as f64) as f32).zip(beta);
    match io {
        Io::Split(xs, ys) => {
            let ahead = xs.len();
            let channels = xs.chunks_exact(spatial).zip(ys.chunks_exact_mut(spatial));
            for ((xc, yc), (a, &b)) in channels.zip(scales) {
                let (yl, yr) = yc.as_chunks_mut::<LINE>();
                let (xl, xr) = xc.as_chunks::<LINE>();
                for (yv, xv) in yl.iter_mut().zip(xl) {
                    prefetch(xv.as_ptr().wrapping_add(ahead));
                    prefetch(yv.as_ptr().wrapping_add(ahead));
                    for k in 0..LINE {
                        yv[k] = A::mul_add(xv[k] - m, a, b);
                    }
                }
                for (yv, &xv) in yr.iter_mut().zip(xr) {
                    *yv = A::mul_add(xv - m, a, b);
                }
            }
        }
        Io::InPlace(buf) => {
            let ahead = buf.len();
            for (yc, (a, &b)) in buf.chunks_exact_mut(spatial).zip(scales) {
                let (yl, yr) = yc.as_chunks_mut::<LINE>();
                for yv in yl {
                    prefetch(yv.as_ptr().wrapping_add(ahead));
                    for v in yv.iter_mut() {
                        *v = A::mul_add(*v - m, a, b);
                    }
                }
                for v in yr {
                    *v = A::mul_add(*v - m, a, b);
                }
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
#[inline(always)]
fn backward_block<A: MulAdd>(
    xs: &[f32],
    dys: &[f32],
    dxs: &mut [f32],
    spatial: usize,
    gamma: &[f32],
    stat: Stat,
    partial: &mut [(f64, f64)],
) {
    let r64 = stat.rstd as f64;
    let (mut s1, mut s2) = (0.0f64, 0.0f64);
    let channels = xs.chunks_exact(spatial).zip(dys.chunks_exact(spatial));
    for ((xc, dc), (p, &g)) in channels.zip(partial.iter_mut().zip(gamma)) {
        let (db, dxhat) = grad_sums::<A>(dc, xc, stat.mean);
        s1 += g as f64 * db;
        s2 += g as f64 * dxhat;
        *p = (dxhat * r64, db);
    }
    // dx = rstd * (g dy - mean(g dy) - xhat * mean(g dy xhat)) over the block's n values.
    let n = xs.len() as f64;
    let q = (-r64 * r64 * r64 * s2 / n) as f32;
    let r = (-r64 * s1 / n) as f32;
    let ahead = xs.len();
    let m = stat.mean;
    let channels = xs.chunks_exact(spatial).zip(dys.chunks_exact(spatial));
    for (((xc, dc), dxc), &g) in channels.zip(dxs.chunks_exact_mut(spatial)).zip(gamma) {
        let p = (g as f64 * r64) as f32;
        let (ol, or) = dxc.as_chunks_mut::<LINE>();
        let (dl, dr) = dc.as_chunks::<LINE>();
        let (xl, xr) = xc.as_chunks::<LINE>();
        for ((o, d), v) in ol.iter_mut().zip(dl).zip(xl) {
            prefetch(v.as_ptr().wrapping_add(ahead));
            prefetch(d.as_ptr().wrapping_add(ahead));
            prefetch(o.as_ptr().wrapping_add(ahead));
            for k in 0..LINE {
                o[k] = A::mul_add(p, d[k], A::mul_add(q, v[k] - m, r));
            }
        }
        for ((o, &dv), &xv) in or.iter_mut().zip(dr).zip(xr) {
            *o = A::mul_add(p, dv, A::mul_add(q, xv - m, r));
        }
    }
}

/// The block kernels compiled for AVX2 + FMA (chosen at run time; the build has no
/// target-cpu flags).
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
fn forward_block_avx2(io: Io<'_>, spatial: usize, affine: (&[f32], &[f32]), eps: f64) -> Stat {
    forward_block::<Fused>(io, spatial, affine, eps)
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
fn backward_block_avx2(
    xs: &[f32],
    dys: &[f32],
    dxs: &mut [f32],
    spatial: usize,
    gamma: &[f32],
    stat: Stat,
    partial: &mut [(f64, f64)],
) {
    backward_block::<Fused>(xs, dys, dxs, spatial, gamma, stat, partial)
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
            Isa::Portable => forward_block::<Separate>(io, spatial, affine, eps),
            // SAFETY: `Avx2Fma` is only made by `detect` after the CPU reported avx2 and fma.
            #[cfg(target_arch = "x86_64")]
            Isa::Avx2Fma => unsafe { forward_block_avx2(io, spatial, affine, eps) },
        }
    }

    fn backward_block(
        self,
        (xs, dys, dxs): (&[f32], &[f32], &mut [f32]),
        spatial: usize,
        gamma: &[f32],
        stat: Stat,
        partial: &mut [(f64, f64)],
    ) {
        match self {
            Isa::Portable => {
                backward_block::<Separate>(xs, dys, dxs, spatial, gamma, stat, partial)
            }
            // SAFETY: `Avx2Fma` is only made by `detect` after the CPU reported avx2 and fma.
            #[cfg(target_arch = "x86_64")]
            Isa::Avx2Fma => unsafe {
                backward_block_avx2(xs, dys, dxs, spatial, gamma, stat, partial)
            },
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
    let run = |(i, (((xs, dys), dxs), part)): (
        usize,
        (((&[f32], &[f32]), &mut [f32]), &mut [(f64, f64)]),
    )| {
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
