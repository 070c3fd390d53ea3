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

/// `(sum(a), sum(a * b))` in eight independent f32 lanes (so the compiler can vectorize),
/// combined in f64.
fn sum_and_dot(a: &[f32], b: &[f32]) -> (f64, f64) {
    const L: usize = 8;
    let (ca, ra) = a.as_chunks::<L>();
    let (cb, rb) = b.as_chunks::<L>();
    let (mut s, mut d) = ([0.0f32; L], [0.0f32; L]);
    for (pa, pb) in ca.iter().zip(cb) {
        for k in 0..L {
            s[k] += pa[k];
            d[k] += pa[k] * pb[k];
        }
    }
    let mut s64: f64 = s.iter().map(|&v| v as f64).sum();
    let mut d64: f64 = d.iter().map(|&v| v as f64).sum();
    for (&x, &y) in ra.iter().zip(rb) {
        s64 += x as f64;
        d64 += (x * y) as f64;
    }
    (s64, d64)
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
    let n = shape.batch * shape.channels * shape.spatial;
    let c = shape.channels;
    check(
        params,
        shape,
        &[
            ("x", x.len(), n),
            ("y", y.len(), n),
            ("gamma", gamma.len(), c),
            ("beta", beta.len(), c),
        ],
    )?;
    let cg = c / params.groups();
    let block = cg * shape.spatial;
    let eps = params.epsilon();
    let stats: Vec<(f32, f32)> = x
        .par_chunks(block)
        .zip(y.par_chunks_mut(block))
        .enumerate()
        .map(|(i, (xs, ys))| {
            let (mut s, mut s2) = (0.0f64, 0.0f64);
            for chunk in xs.chunks(shape.spatial) {
                let (a, b) = sum_and_dot(chunk, chunk);
                s += a;
                s2 += b;
            }
            let m = s / block as f64;
            let var = (s2 / block as f64 - m * m).max(0.0);
            let rstd = 1.0 / (var + eps).sqrt();
            let g0 = (i % params.groups()) * cg;
            for (k, (xc, yc)) in xs
                .chunks(shape.spatial)
                .zip(ys.chunks_mut(shape.spatial))
                .enumerate()
            {
                let a = (rstd * gamma[g0 + k] as f64) as f32;
                let b = (beta[g0 + k] as f64 - m * rstd * gamma[g0 + k] as f64) as f32;
                for (yv, &xv) in yc.iter_mut().zip(xc) {
                    *yv = xv * a + b;
                }
            }
            (m as f32, rstd as f32)
        })
        .collect();
    Ok(GnSaved {
        mean: stats.iter().map(|s| s.0).collect(),
        rstd: stats.iter().map(|s| s.1).collect(),
    })
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
    // Per (sample, group): per-channel sum(dy * x) and sum(dy), then dx.
    let partials: Vec<Vec<(f64, f64)>> = x
        .par_chunks(block)
        .zip(dy.par_chunks(block))
        .zip(dx.par_chunks_mut(block))
        .enumerate()
        .map(|(i, ((xs, dys), dxs))| {
            let (m, rstd) = (saved.mean[i] as f64, saved.rstd[i] as f64);
            let g0 = (i % groups) * cg;
            let sums: Vec<(f64, f64)> = xs
                .chunks(shape.spatial)
                .zip(dys.chunks(shape.spatial))
                .map(|(xc, dc)| {
                    let (db, ds) = sum_and_dot(dc, xc);
                    (ds, db)
                })
                .collect();
            let (mut a, mut b) = (0.0f64, 0.0f64);
            for (k, &(ds, db)) in sums.iter().enumerate() {
                let gk = gamma[g0 + k] as f64;
                a += gk * db;
                b += gk * (ds - m * db) * rstd;
            }
            let mm = block as f64;
            let q = (-rstd * rstd * b / mm) as f32;
            let r = (m * rstd * rstd * b / mm - rstd * a / mm) as f32;
            for (k, (dc, dxc)) in dys
                .chunks(shape.spatial)
                .zip(dxs.chunks_mut(shape.spatial))
                .enumerate()
            {
                let p = (gamma[g0 + k] as f64 * rstd) as f32;
                let xc = &xs[k * shape.spatial..(k + 1) * shape.spatial];
                for ((o, &dv), &xv) in dxc.iter_mut().zip(dc).zip(xc) {
                    *o = p * dv + q * xv + r;
                }
            }
            sums.into_iter()
                .map(|(ds, db)| ((ds - m * db) * rstd, db))
                .collect()
        })
        .collect();
    let mut dgamma = vec![0.0f64; c];
    let mut dbeta = vec![0.0f64; c];
    for (i, p) in partials.iter().enumerate() {
        let g0 = (i % groups) * cg;
        for (k, &(dg, db)) in p.iter().enumerate() {
            dgamma[g0 + k] += dg;
            dbeta[g0 + k] += db;
        }
    }
    Ok(GnGrads {
        gamma: dgamma.into_iter().map(|v| v as f32).collect(),
        beta: dbeta.into_iter().map(|v| v as f32).collect(),
    })
}
