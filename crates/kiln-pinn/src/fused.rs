//! The fused engine: the same jets and loss as the Burn path, in plain-Rust f64.
//!
//! At PINN widths (tens of units) a Burn op costs more in dispatch, allocation and autodiff
//! bookkeeping than in arithmetic: a 4 x 32 network at 2000 points spent ~80 ms per loss and
//! gradient in f64. Here the forward jets and the reverse pass through them are written out by
//! hand: points are split into chunks (rayon), each layer is one `gemm` over all channel blocks
//! of a chunk (`[channels * m, in] x [in, out]`), activations and their jet chain rule are
//! elementwise loops, and buffers are reused between evaluations. The reverse pass through an
//! activation jet needs `f'''`, which [`Activation::eval3_f64`] provides.
//!
//! Supported: MLP and Fourier-feature networks (the embedding is a host constant), any
//! activation, problems with a [`crate::pointwise`] residual. The tests check loss and
//! gradient against the Burn path.

use rayon::prelude::*;

use crate::activation::Activation;
use crate::jet::Channels;

/// Points per chunk: small enough that a chunk's jets stay in cache.
const CHUNK: usize = 128;

/// One dense layer inside the flat parameter vector (row-major `[fan_in, fan_out]`, then bias).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Layer {
    pub offset: usize,
    pub fan_in: usize,
    pub fan_out: usize,
}

/// The network as the fused engine sees it: a stack of dense layers, the last one linear.
#[derive(Debug, Clone)]
pub(crate) struct FusedNet {
    pub layers: Vec<Layer>,
    pub activation: Activation,
    pub outputs: usize,
    pub n_params: usize,
}

/// Per-block bookkeeping of a channel layout: which first-derivative blocks a second-derivative
/// block is built from.
#[derive(Debug, Clone)]
pub(crate) struct Layout {
    /// Number of blocks.
    pub count: usize,
    /// Number of first-derivative blocks (blocks `1..=n_first`).
    pub n_first: usize,
    /// `(second block, block of d/dx_i, block of d/dx_j)`.
    pub pairs: Vec<(usize, usize, usize)>,
}

impl Layout {
    pub fn new(ch: &Channels) -> Layout {
        let n_first = ch.first_len();
        let pairs = ch
            .second_pairs()
            .iter()
            .map(|&(i, j)| {
                (
                    ch.second_block(i, j).expect("own pair"),
                    ch.first_block(i).expect("first of a second"),
                    ch.first_block(j).expect("first of a second"),
                )
            })
            .collect();
        Layout {
            count: ch.count(),
            n_first,
            pairs,
        }
    }
}

/// A point set's constant inputs: embedded input jets and output-transform jets.
#[derive(Debug, Clone)]
pub(crate) struct FusedSet {
    pub n: usize,
    pub layout: Layout,
    /// Embedding width.
    pub embed: usize,
    /// `[n][blocks][embed]`.
    pub input: Vec<f64>,
    /// `(g, phi)`, each `[n][blocks][outputs]`.
    pub transform: Option<(Vec<f64>, Vec<f64>)>,
}

/// Reused buffers of one chunk.
#[derive(Debug, Default)]
pub(crate) struct ChunkWork {
    m: usize,
    /// `h[0]`: input jets; `h[l + 1]`: output of hidden layer `l`; each `[blocks * m, width]`.
    h: Vec<Vec<f64>>,
    /// Pre-activations of each hidden layer.
    z: Vec<Vec<f64>>,
    /// `f', f'', f'''` at the value pre-activations, `[3][m * width]` per hidden layer.
    f: Vec<Vec<f64>>,
    /// Network output jets `[blocks * m, outputs]`.
    out: Vec<f64>,
    /// Transformed output jets, point-major `[m][blocks][outputs]`.
    pub u: Vec<f64>,
    adj: Vec<f64>,
    adj_next: Vec<f64>,
    /// This chunk's share of the parameter gradient.
    grad: Vec<f64>,
}

/// Workspace of one point set: one [`ChunkWork`] per chunk.
#[derive(Debug, Default)]
pub(crate) struct SetWork {
    pub chunks: Vec<ChunkWork>,
}

/// `dst (+)= op(a) op(b)` with `op(a)` `[m, k]`, `op(b)` `[k, n]`, all row-major; `a_t`/`b_t`
/// say the stored matrix is the transpose (`[k, m]` / `[n, k]`).
#[allow(clippy::too_many_arguments)]
fn mm(
    dst: &mut [f64],
    accumulate: bool,
    a: &[f64],
    a_t: bool,
    b: &[f64],
    b_t: bool,
    m: usize,
    k: usize,
    n: usize,
) {
    assert!(dst.len() >= m * n && a.len() >= m * k && b.len() >= k * n);
    if m == 0 || n == 0 {
        return;
    }
    if k == 0 {
        if !accumulate {
            dst[..m * n].fill(0.0);
        }
        return;
    }
    let (a_rs, a_cs) = if a_t {
        (1, m as isize)
    } else {
        (k as isize, 1)
    };
    let (b_rs, b_cs) = if b_t {
        (1, k as isize)
    } else {
        (n as isize, 1)
    };
    // SAFETY: the asserts above keep every index gemm forms, `i * rs + j * cs` for `i < rows`,
    // `j < cols`, inside the three slices; `dst` does not alias `a` or `b` (distinct borrows).
    unsafe {
        gemm::gemm(
            m,
            n,
            k,
            dst.as_mut_ptr(),
            1,
            n as isize,
            accumulate,
            a.as_ptr(),
            a_cs,
            a_rs,
            b.as_ptr(),
            b_cs,
            b_rs,
            1.0,
            1.0,
            false,
            false,
            false,
            gemm::Parallelism::None,
        );
    }
}

/// Sizes a reused buffer without clearing it: every caller overwrites all of it.
fn resize(v: &mut Vec<f64>, len: usize) {
    v.resize(len, 0.0);
}

impl FusedNet {
    fn weight<'t>(&self, theta: &'t [f64], l: &Layer) -> &'t [f64] {
        &theta[l.offset..l.offset + l.fan_in * l.fan_out]
    }

    fn bias<'t>(&self, theta: &'t [f64], l: &Layer) -> &'t [f64] {
        let s = l.offset + l.fan_in * l.fan_out;
        &theta[s..s + l.fan_out]
    }

    /// Prepares one workspace chunk per `CHUNK` points of `set`.
    pub fn workspace(&self, set: &FusedSet) -> SetWork {
        let chunks = set.n.div_ceil(CHUNK);
        SetWork {
            chunks: (0..chunks)
                .map(|c| ChunkWork {
                    m: CHUNK.min(set.n - c * CHUNK),
                    ..ChunkWork::default()
                })
                .collect(),
        }
    }

    /// Forward jets of every chunk of `set`; afterwards each chunk's `u` holds the
    /// transformed output jets of its points.
    pub fn forward(&self, theta: &[f64], set: &FusedSet, work: &mut SetWork) {
        work.chunks
            .par_iter_mut()
            .enumerate()
            .for_each(|(c, w)| self.forward_chunk(theta, set, c * CHUNK, w));
    }

    fn forward_chunk(&self, theta: &[f64], set: &FusedSet, p0: usize, w: &mut ChunkWork) {
        let m = w.m;
        let lay = &set.layout;
        let cb = lay.count;
        let rows = cb * m;
        let n_hidden = self.layers.len() - 1;
        w.h.resize_with(n_hidden + 1, Vec::new);
        w.z.resize_with(n_hidden, Vec::new);
        w.f.resize_with(n_hidden, Vec::new);
        let e = set.embed;
        resize(&mut w.h[0], rows * e);
        for p in 0..m {
            for b in 0..cb {
                let src = &set.input[((p0 + p) * cb + b) * e..][..e];
                w.h[0][(b * m + p) * e..][..e].copy_from_slice(src);
            }
        }
        for (l, layer) in self.layers[..n_hidden].iter().enumerate() {
            let (fi, fo) = (layer.fan_in, layer.fan_out);
            let mut z = std::mem::take(&mut w.z[l]);
            resize(&mut z, rows * fo);
            mm(
                &mut z,
                false,
                &w.h[l],
                false,
                self.weight(theta, layer),
                false,
                rows,
                fi,
                fo,
            );
            let bias = self.bias(theta, layer);
            for row in z[..m * fo].chunks_exact_mut(fo) {
                for (v, b) in row.iter_mut().zip(bias) {
                    *v += b;
                }
            }
            let mut h = std::mem::take(&mut w.h[l + 1]);
            let mut f = std::mem::take(&mut w.f[l]);
            resize(&mut h, rows * fo);
            resize(&mut f, 3 * m * fo);
            activation_forward(self.activation, lay, m * fo, &z, &mut h, &mut f);
            w.z[l] = z;
            w.h[l + 1] = h;
            w.f[l] = f;
        }
        let last = self.layers[n_hidden];
        let o = self.outputs;
        resize(&mut w.out, rows * o);
        mm(
            &mut w.out,
            false,
            &w.h[n_hidden],
            false,
            self.weight(theta, &last),
            false,
            rows,
            last.fan_in,
            o,
        );
        let bias = self.bias(theta, &last);
        for row in w.out[..m * o].chunks_exact_mut(o) {
            for (v, b) in row.iter_mut().zip(bias) {
                *v += b;
            }
        }
        resize(&mut w.u, m * cb * o);
        for p in 0..m {
            for k in 0..o {
                let nv = |b: usize| w.out[(b * m + p) * o + k];
                let at = |b: usize| (p * cb + b) * o + k;
                match &set.transform {
                    None => {
                        for b in 0..cb {
                            w.u[at(b)] = nv(b);
                        }
                    }
                    Some((g, phi)) => {
                        let gi = |b: usize| g[((p0 + p) * cb + b) * o + k];
                        let ph = |b: usize| phi[((p0 + p) * cb + b) * o + k];
                        w.u[at(0)] = gi(0) + ph(0) * nv(0);
                        for b in 1..=lay.n_first {
                            w.u[at(b)] = gi(b) + ph(b) * nv(0) + ph(0) * nv(b);
                        }
                        for &(s, bi, bj) in &lay.pairs {
                            w.u[at(s)] = gi(s)
                                + ph(s) * nv(0)
                                + ph(bi) * nv(bj)
                                + ph(bj) * nv(bi)
                                + ph(0) * nv(s);
                        }
                    }
                }
            }
        }
    }

    /// Reverse pass after [`Self::forward`]: `adj_u` is the adjoint of the transformed output
    /// jets, point-major `[n][blocks][outputs]`; adds the parameter gradient to `grad`.
    pub fn backward(
        &self,
        theta: &[f64],
        set: &FusedSet,
        work: &mut SetWork,
        adj_u: &[f64],
        grad: &mut [f64],
    ) {
        work.chunks
            .par_iter_mut()
            .enumerate()
            .for_each(|(c, w)| self.backward_chunk(theta, set, c * CHUNK, w, adj_u));
        for w in &work.chunks {
            for (g, v) in grad.iter_mut().zip(&w.grad) {
                *g += v;
            }
        }
    }

    fn backward_chunk(
        &self,
        theta: &[f64],
        set: &FusedSet,
        p0: usize,
        w: &mut ChunkWork,
        adj_u: &[f64],
    ) {
        let m = w.m;
        let lay = &set.layout;
        let cb = lay.count;
        let rows = cb * m;
        let o = self.outputs;
        resize(&mut w.grad, self.n_params);
        w.grad.fill(0.0);
        // Adjoint of the transformed output, then of the network output ([blocks * m, o]).
        let mut adj = std::mem::take(&mut w.adj);
        resize(&mut adj, rows * o);
        for p in 0..m {
            let au = &adj_u[(p0 + p) * cb * o..][..cb * o];
            for k in 0..o {
                let a = |b: usize| au[b * o + k];
                let at = |b: usize| (b * m + p) * o + k;
                match &set.transform {
                    None => {
                        for b in 0..cb {
                            adj[at(b)] = a(b);
                        }
                    }
                    Some((_, phi)) => {
                        let ph = |b: usize| phi[((p0 + p) * cb + b) * o + k];
                        let mut a0 = a(0) * ph(0);
                        for b in 1..=lay.n_first {
                            a0 += a(b) * ph(b);
                            adj[at(b)] = a(b) * ph(0);
                        }
                        for &(s, bi, bj) in &lay.pairs {
                            a0 += a(s) * ph(s);
                            adj[at(bi)] += a(s) * ph(bj);
                            adj[at(bj)] += a(s) * ph(bi);
                            adj[at(s)] = a(s) * ph(0);
                        }
                        adj[at(0)] = a0;
                    }
                }
            }
        }
        let n_hidden = self.layers.len() - 1;
        let mut width = o;
        for l in (0..=n_hidden).rev() {
            let layer = self.layers[l];
            let (fi, fo) = (layer.fan_in, layer.fan_out);
            debug_assert_eq!(fo, width);
            if l < n_hidden {
                // `adj` is the adjoint of this layer's activation output; take it through the
                // activation jet to the pre-activation.
                activation_backward(lay, m * fo, &w.z[l], &w.f[l], &mut adj);
            }
            let gw = &mut w.grad[layer.offset..layer.offset + fi * fo];
            mm(gw, true, &w.h[l], true, &adj, false, fi, rows, fo);
            let gb = &mut w.grad[layer.offset + fi * fo..][..fo];
            for row in adj[..m * fo].chunks_exact(fo) {
                for (g, v) in gb.iter_mut().zip(row) {
                    *g += v;
                }
            }
            if l > 0 {
                let mut next = std::mem::take(&mut w.adj_next);
                resize(&mut next, rows * fi);
                mm(
                    &mut next,
                    false,
                    &adj,
                    false,
                    self.weight(theta, &layer),
                    true,
                    rows,
                    fo,
                    fi,
                );
                w.adj_next = std::mem::replace(&mut adj, next);
            }
            width = fi;
        }
        w.adj = adj;
    }
}

/// `h = f(z)` with the jet chain rule; `q = m * width` entries per block. Stores `f', f'', f'''`
/// of the value block in `f`.
fn activation_forward(
    act: Activation,
    lay: &Layout,
    q: usize,
    z: &[f64],
    h: &mut [f64],
    f: &mut [f64],
) {
    let (f1, rest) = f.split_at_mut(q);
    let (f2, f3) = rest.split_at_mut(q);
    for i in 0..q {
        let (v, d1, d2, d3) = act.eval3_f64(z[i]);
        h[i] = v;
        f1[i] = d1;
        f2[i] = d2;
        f3[i] = d3;
    }
    for b in 1..=lay.n_first {
        let (zb, hb) = (&z[b * q..][..q], &mut h[b * q..][..q]);
        for i in 0..q {
            hb[i] = f1[i] * zb[i];
        }
    }
    for &(s, bi, bj) in &lay.pairs {
        let (zi, zj, zs) = (&z[bi * q..][..q], &z[bj * q..][..q], &z[s * q..][..q]);
        let hs = &mut h[s * q..][..q];
        for i in 0..q {
            hs[i] = f2[i] * zi[i] * zj[i] + f1[i] * zs[i];
        }
    }
}

/// Adjoint of [`activation_forward`]: turns the adjoint of `h` (in `a`) into that of `z`.
fn activation_backward(lay: &Layout, q: usize, z: &[f64], f: &[f64], a: &mut [f64]) {
    let (f1, rest) = f.split_at(q);
    let (f2, f3) = rest.split_at(q);
    let (a0, a_rest) = a.split_at_mut(q);
    // Value block first: it reads the other blocks' adjoints before they are overwritten.
    for i in 0..q {
        a0[i] *= f1[i];
    }
    for b in 1..=lay.n_first {
        let (zb, ab) = (&z[b * q..][..q], &a_rest[(b - 1) * q..][..q]);
        for i in 0..q {
            a0[i] += ab[i] * f2[i] * zb[i];
        }
    }
    for &(s, bi, bj) in &lay.pairs {
        let (zi, zj, zs) = (&z[bi * q..][..q], &z[bj * q..][..q], &z[s * q..][..q]);
        let as_ = &a_rest[(s - 1) * q..][..q];
        for i in 0..q {
            a0[i] += as_[i] * (f3[i] * zi[i] * zj[i] + f2[i] * zs[i]);
        }
    }
    // First blocks: own term plus the product terms of the second blocks built from them.
    let mut firsts: Vec<Vec<f64>> = (1..=lay.n_first)
        .map(|b| {
            a_rest[(b - 1) * q..][..q]
                .iter()
                .zip(f1)
                .map(|(x, d)| x * d)
                .collect()
        })
        .collect();
    for &(s, bi, bj) in &lay.pairs {
        let (zi, zj) = (&z[bi * q..][..q], &z[bj * q..][..q]);
        let as_ = &a_rest[(s - 1) * q..][..q];
        for i in 0..q {
            let c = as_[i] * f2[i];
            firsts[bi - 1][i] += c * zj[i];
            firsts[bj - 1][i] += c * zi[i];
        }
    }
    for &(s, _, _) in &lay.pairs {
        let as_ = &mut a_rest[(s - 1) * q..][..q];
        for i in 0..q {
            as_[i] *= f1[i];
        }
    }
    for (b, v) in firsts.into_iter().enumerate() {
        a_rest[b * q..][..q].copy_from_slice(&v);
    }
}

/// Builds the constant inputs of a point set from per-point host jets.
pub(crate) fn host_blocks(rows: &[Vec<crate::dual::Dual2>], ch: &Channels) -> Vec<f64> {
    let mut out = Vec::with_capacity(rows.len() * ch.count() * rows.first().map_or(0, Vec::len));
    for row in rows {
        let per: Vec<Vec<f64>> = row.iter().map(|d| ch.from_dual(d)).collect();
        for b in 0..ch.count() {
            out.extend(per.iter().map(|v| v[b]));
        }
    }
    out
}

/// A shared handle so `PinnLoss` can be cloned without sharing buffers.
#[derive(Debug, Default)]
pub(crate) struct Workspaces(pub std::sync::Mutex<Vec<SetWork>>);

impl Clone for Workspaces {
    fn clone(&self) -> Self {
        Workspaces::default()
    }
}
