//! The CTC lattice recursions for one sample, in log space, in plain Rust.
//!
//! States are the target with blanks around every label (`S = 2L + 1`). `alpha_t(s)` is the log
//! probability of all path prefixes that end in state `s` at frame `t`, `beta_t(s)` the same for
//! suffixes starting there; both include the emission at `t` (Graves' convention), so
//! `sum_s exp(alpha_t(s) + beta_t(s) - lp_t(l_s)) = P(target)` at every `t`. Only the band of
//! states that are reachable from the start *and* can still reach the end is computed.
//!
//! Two implementations: the recursions in linear space with every frame rescaled (Rabiner's
//! scaling: a cell costs a few multiply-adds instead of a three-way log-sum-exp, ~10x faster),
//! and the log-space one, used when a frame's mass leaves f64's normal range (log-probabilities
//! below about -700, where the scaled products would underflow) and as the reference the
//! scaled path is tested against.

use crate::lse::{lse2, lse3};
use crate::targets::min_input_length;

const NEG_INF: f64 = f64::NEG_INFINITY;

/// What the recursions give for one sample.
#[derive(Debug, Clone)]
pub(crate) struct SampleResult {
    /// `-ln P(target | input)`; `+inf` when the target cannot be emitted in `t_len` frames.
    pub nll: f64,
    /// Posterior occupancy `gamma[t * C + c]`: the probability that frame `t` emits class `c`
    /// given the target (rows sum to 1). `None` when not asked for or the sample is infeasible.
    pub posterior: Option<Vec<f64>>,
}

struct Lattice<'a> {
    lp: &'a [f64],
    t_len: usize,
    classes: usize,
    ext: Vec<usize>,
    skip: Vec<bool>,
}

impl Lattice<'_> {
    fn states(&self) -> usize {
        self.ext.len()
    }
    /// Band of useful states at frame `t`: `[lo, hi)`.
    #[inline]
    fn band(&self, t: usize) -> (usize, usize) {
        let s = self.states();
        (s.saturating_sub(2 * (self.t_len - t)), s.min(2 * t + 2))
    }
    #[inline]
    fn emit(&self, t: usize, s: usize) -> f64 {
        self.lp[t * self.classes + self.ext[s]]
    }
}

fn extended(target: &[usize], blank: usize) -> (Vec<usize>, Vec<bool>) {
    let s = 2 * target.len() + 1;
    let ext: Vec<usize> = (0..s)
        .map(|i| if i % 2 == 0 { blank } else { target[i / 2] })
        .collect();
    let skip = (0..s)
        .map(|i| i % 2 == 1 && i >= 2 && ext[i] != ext[i - 2])
        .collect();
    (ext, skip)
}

/// Forward pass only: the full alpha matrix `[t_len, S]` (row-major) and the nll.
fn alpha_matrix(lat: &Lattice<'_>) -> (Vec<f64>, f64) {
    let s_n = lat.states();
    let t_len = lat.t_len;
    let mut alpha = vec![NEG_INF; t_len * s_n];
    alpha[0] = lat.emit(0, 0);
    if s_n > 1 {
        alpha[1] = lat.emit(0, 1);
    }
    for t in 1..t_len {
        let (done, rest) = alpha.split_at_mut(t * s_n);
        let prev = &done[(t - 1) * s_n..];
        let cur = &mut rest[..s_n];
        let (lo, hi) = lat.band(t);
        let row = &lat.lp[t * lat.classes..(t + 1) * lat.classes];
        for s in lo..hi {
            let a = prev[s];
            let b = if s >= 1 { prev[s - 1] } else { NEG_INF };
            let c = if lat.skip[s] { prev[s - 2] } else { NEG_INF };
            cur[s] = lse3(a, b, c) + row[lat.ext[s]];
        }
    }
    let last = &alpha[(t_len - 1) * s_n..];
    let ll = lse2(last[s_n - 1], if s_n > 1 { last[s_n - 2] } else { NEG_INF });
    (alpha, -ll)
}

/// Runs the recursions for one sample.
///
/// `lp` holds `t_len` frames of `classes` log-probabilities, row-major.
pub(crate) fn forward_backward(
    lp: &[f64],
    t_len: usize,
    classes: usize,
    target: &[usize],
    blank: usize,
    want_posterior: bool,
) -> SampleResult {
    if t_len < min_input_length(target) {
        return SampleResult {
            nll: f64::INFINITY,
            posterior: None,
        };
    }
    if t_len == 0 {
        // Empty input, empty target: the empty path has probability 1.
        return SampleResult {
            nll: 0.0,
            posterior: want_posterior.then(Vec::new),
        };
    }
    let (ext, skip) = extended(target, blank);
    let lat = Lattice {
        lp,
        t_len,
        classes,
        ext,
        skip,
    };
    if let Some(r) = scaled(&lat, want_posterior) {
        return r;
    }
    log_space(&lat, want_posterior)
}

/// Smallest per-frame normalizer the scaled recursions accept (far above f64's subnormals, so
/// a frame's relative precision is intact).
const MIN_SCALE: f64 = 1e-280;

/// Whether a frame's mass can be divided out without losing precision.
#[inline]
fn in_range(x: f64) -> bool {
    x.is_finite() && x >= MIN_SCALE
}

/// The recursions in linear space, each frame divided by its mass; `None` when a frame's mass
/// falls out of range (the caller then uses the log-space recursions).
///
/// `a[t, s]` is the scaled mass flowing *into* state `s` at frame `t` (before the emission), so
/// `alpha_t(s) = a[t, s] p_t(l_s)` up to the frame's scale; `b` likewise flows out of `s` into
/// frame `t + 1`. The posterior of state `s` at `t` is `a p b` normalized over the frame, which is
/// exact whatever the per-frame scales are.
fn scaled(lat: &Lattice<'_>, want_posterior: bool) -> Option<SampleResult> {
    let probs: Vec<f64> = lat.lp.iter().map(|v| v.exp()).collect();
    // Only band cells of `a` are ever written or read, so a reused per-thread buffer needs no
    // clearing (and skips the page faults of a fresh allocation); very large lattices get their
    // own buffer so no thread keeps hundreds of megabytes alive.
    if lat.t_len * lat.states() > MAX_KEPT_BUFFER {
        return scaled_with(lat, want_posterior, &probs, &mut Vec::new());
    }
    A_BUFFER.with_borrow_mut(|a| scaled_with(lat, want_posterior, &probs, a))
}

/// Largest lattice (cells) whose buffer a thread keeps between calls (32 MB).
const MAX_KEPT_BUFFER: usize = 1 << 22;

thread_local! {
    static A_BUFFER: std::cell::RefCell<Vec<f64>> = const { std::cell::RefCell::new(Vec::new()) };
}

fn scaled_with(
    lat: &Lattice<'_>,
    want_posterior: bool,
    probs: &[f64],
    a: &mut Vec<f64>,
) -> Option<SampleResult> {
    let s_n = lat.states();
    let (t_len, classes) = (lat.t_len, lat.classes);
    if a.len() < t_len * s_n {
        a.resize(t_len * s_n, 0.0);
    }
    // Skip transitions as 0/1 factors (branch-free inner loops): into s from s - 2, and from s
    // into s + 2.
    let skip_in: Vec<f64> = lat.skip.iter().map(|&k| f64::from(u8::from(k))).collect();
    let skip_out: Vec<f64> = (0..s_n)
        .map(|s| f64::from(u8::from(s + 2 < s_n && lat.skip[s + 2])))
        .collect();
    // This frame's emission probability of every state in the band.
    let mut e = vec![0.0; s_n];
    let gather = |t: usize, lo: usize, hi: usize, e: &mut [f64]| {
        let row = &probs[t * classes..(t + 1) * classes];
        for (d, &k) in e[lo..hi].iter_mut().zip(&lat.ext[lo..hi]) {
            *d = row[k];
        }
    };
    // Scaled alpha of the previous frame, padded by two leading zeros (s - 1, s - 2 in range).
    let mut prev = vec![0.0; s_n + 2];
    let mut cur = vec![0.0; s_n + 2];
    let mut log_p = 0.0;
    for t in 0..t_len {
        let (lo, hi) = lat.band(t);
        gather(t, lo, hi, &mut e);
        let a_row = &mut a[t * s_n + lo..t * s_n + hi];
        if t == 0 {
            for (s, d) in (lo..hi).zip(a_row.iter_mut()) {
                *d = f64::from(u8::from(s < 2));
            }
        } else {
            let terms = prev[lo..hi]
                .iter()
                .zip(&prev[lo + 1..hi + 1])
                .zip(&prev[lo + 2..hi + 2])
                .zip(&skip_in[lo..hi]);
            for (d, (((&x0, &x1), &x2), &m)) in a_row.iter_mut().zip(terms) {
                *d = x2 + x1 + m * x0;
            }
        }
        cur.fill(0.0);
        let mut mass = 0.0;
        for ((c, &x), &em) in cur[lo + 2..hi + 2]
            .iter_mut()
            .zip(a_row.iter())
            .zip(&e[lo..hi])
        {
            let v = x * em;
            *c = v;
            mass += v;
        }
        if !in_range(mass) {
            return None;
        }
        let inv = 1.0 / mass;
        for v in a_row.iter_mut() {
            *v *= inv;
        }
        for v in &mut cur[lo + 2..hi + 2] {
            *v *= inv;
        }
        log_p += mass.ln();
        std::mem::swap(&mut prev, &mut cur);
    }
    let end = prev[s_n + 1] + if s_n > 1 { prev[s_n] } else { 0.0 };
    if !in_range(end) {
        return None;
    }
    let nll = -(log_p + end.ln());
    if !want_posterior {
        return Some(SampleResult {
            nll,
            posterior: None,
        });
    }
    let mut post = vec![0.0; t_len * classes];
    // Scaled beta of frame t + 1 (with the emission), padded by two trailing zeros.
    let mut next = vec![0.0; s_n + 2];
    let mut out = vec![0.0; s_n + 2];
    let mut from = vec![0.0; s_n];
    let mut w = vec![0.0; s_n];
    for t in (0..t_len).rev() {
        let (lo, hi) = lat.band(t);
        gather(t, lo, hi, &mut e);
        if t + 1 == t_len {
            for (s, d) in (lo..hi).zip(from[lo..hi].iter_mut()) {
                *d = f64::from(u8::from(s + 2 >= s_n));
            }
        } else {
            let terms = next[lo..hi]
                .iter()
                .zip(&next[lo + 1..hi + 1])
                .zip(&next[lo + 2..hi + 2])
                .zip(&skip_out[lo..hi]);
            for (d, (((&x0, &x1), &x2), &m)) in from[lo..hi].iter_mut().zip(terms) {
                *d = x0 + x1 + m * x2;
            }
        }
        out.fill(0.0);
        let (mut z, mut mass) = (0.0, 0.0);
        let cells = out[lo..hi]
            .iter_mut()
            .zip(&mut w[lo..hi])
            .zip(&from[lo..hi])
            .zip(&e[lo..hi])
            .zip(&a[t * s_n + lo..t * s_n + hi]);
        for ((((o, ws), &f), &em), &x) in cells {
            let v = em * f;
            *o = v;
            mass += v;
            *ws = x * v;
            z += *ws;
        }
        if !(in_range(z) && in_range(mass)) {
            return None;
        }
        let p_row = &mut post[t * classes..(t + 1) * classes];
        let inv_z = 1.0 / z;
        for (&k, &ws) in lat.ext[lo..hi].iter().zip(&w[lo..hi]) {
            p_row[k] += ws * inv_z;
        }
        let inv = 1.0 / mass;
        for v in &mut out[lo..hi] {
            *v *= inv;
        }
        std::mem::swap(&mut next, &mut out);
    }
    Some(SampleResult {
        nll,
        posterior: Some(post),
    })
}

/// The log-space recursions (the fallback and the reference).
fn log_space(lat: &Lattice<'_>, want_posterior: bool) -> SampleResult {
    let (t_len, classes) = (lat.t_len, lat.classes);
    let (alpha, nll) = alpha_matrix(lat);
    if !nll.is_finite() || !want_posterior {
        return SampleResult {
            nll,
            posterior: None,
        };
    }
    let s_n = lat.states();
    let mut post = vec![0.0; t_len * classes];
    // Two beta rows, padded by two `-inf` cells so `s + 1` and `s + 2` need no bounds checks.
    let mut next = vec![NEG_INF; s_n + 2];
    let mut cur = vec![NEG_INF; s_n + 2];
    let t = t_len - 1;
    next[s_n - 1] = lat.emit(t, s_n - 1);
    if s_n > 1 {
        next[s_n - 2] = lat.emit(t, s_n - 2);
    }
    accumulate(lat, &alpha, &next, t, nll, &mut post);
    let mut hi_old = s_n;
    for t in (0..t_len - 1).rev() {
        let (lo, hi) = lat.band(t);
        let row = &lat.lp[t * classes..(t + 1) * classes];
        for s in lo..hi {
            let a = next[s];
            let b = next[s + 1];
            let c = if s + 2 < s_n && lat.skip[s + 2] {
                next[s + 2]
            } else {
                NEG_INF
            };
            cur[s] = lse3(a, b, c) + row[lat.ext[s]];
        }
        // Cells left over from frame t + 2 above this frame's band.
        for v in &mut cur[hi..hi_old.max(hi)] {
            *v = NEG_INF;
        }
        hi_old = hi;
        accumulate(lat, &alpha, &cur, t, nll, &mut post);
        std::mem::swap(&mut next, &mut cur);
    }
    SampleResult {
        nll,
        posterior: Some(post),
    }
}

/// Adds frame `t`'s state posteriors `exp(alpha + beta - emission + nll)` to `post[t, class]`.
#[inline]
fn accumulate(
    lat: &Lattice<'_>,
    alpha: &[f64],
    beta: &[f64],
    t: usize,
    nll: f64,
    post: &mut [f64],
) {
    let s_n = lat.states();
    let (lo, hi) = lat.band(t);
    let a_row = &alpha[t * s_n..(t + 1) * s_n];
    let lp_row = &lat.lp[t * lat.classes..(t + 1) * lat.classes];
    let p_row = &mut post[t * lat.classes..(t + 1) * lat.classes];
    for s in lo..hi {
        let c = lat.ext[s];
        let v = a_row[s] + beta[s] - lp_row[c] + nll;
        if v > -745.0 {
            p_row[c] += v.exp();
        }
    }
}

/// Log-probability of the target (no gradient), for decoders and monitors.
#[cfg(test)]
pub(crate) fn log_likelihood(
    lp: &[f64],
    t_len: usize,
    classes: usize,
    target: &[usize],
    blank: usize,
) -> f64 {
    -forward_backward(lp, t_len, classes, target, blank, false).nll
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::lse::log_softmax_in_place;

    fn random_lp(t: usize, c: usize, seed: u64) -> Vec<f64> {
        let mut x = seed;
        let mut v: Vec<f64> = (0..t * c)
            .map(|_| {
                x = x
                    .wrapping_mul(6364136223846793005)
                    .wrapping_add(1442695040888963407);
                ((x >> 11) as f64 / (1u64 << 53) as f64) * 4.0 - 2.0
            })
            .collect();
        for f in v.chunks_mut(c) {
            log_softmax_in_place(f);
        }
        v
    }

    #[test]
    fn posteriors_are_distributions_and_identity_holds() {
        let (t, c) = (12, 4);
        let lp = random_lp(t, c, 3);
        let r = forward_backward(&lp, t, c, &[1, 1, 2], 0, true);
        assert!(r.nll.is_finite() && r.nll > 0.0);
        let post = r.posterior.unwrap();
        for row in post.chunks(c) {
            let s: f64 = row.iter().sum();
            assert!((s - 1.0).abs() < 1e-12, "{s}");
        }
    }

    #[test]
    fn single_path_when_input_is_minimal() {
        // "aa" in 3 frames: only a, blank, a.
        let (t, c) = (3, 3);
        let lp = random_lp(t, c, 5);
        let r = forward_backward(&lp, t, c, &[1, 1], 0, true);
        let expect = -(lp[1] + lp[c] + lp[2 * c + 1]);
        assert!((r.nll - expect).abs() < 1e-12);
        let post = r.posterior.unwrap();
        assert!((post[1] - 1.0).abs() < 1e-12 && (post[c] - 1.0).abs() < 1e-12);
        // One frame too few: infeasible.
        assert_eq!(
            forward_backward(&lp, 2, c, &[1, 1], 0, false).nll,
            f64::INFINITY
        );
    }

    fn lattice<'a>(lp: &'a [f64], t: usize, c: usize, target: &[usize]) -> Lattice<'a> {
        let (ext, skip) = extended(target, 0);
        Lattice {
            lp,
            t_len: t,
            classes: c,
            ext,
            skip,
        }
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(200))]
        /// The scaled linear-space recursions give the log-space loss and posteriors.
        #[test]
        fn scaled_equals_log_space(
            t in 1usize..40,
            c in 2usize..6,
            target in proptest::collection::vec(1usize..6, 0..8),
            seed in 0u64..1000,
        ) {
            let target: Vec<usize> = target.into_iter().map(|l| 1 + (l - 1) % (c - 1)).collect();
            proptest::prop_assume!(min_input_length(&target) <= t);
            let lp = random_lp(t, c, seed);
            let lat = lattice(&lp, t, c, &target);
            let fast = scaled(&lat, true).unwrap();
            let slow = log_space(&lat, true);
            proptest::prop_assert!((fast.nll - slow.nll).abs() <= 1e-10 * slow.nll.abs().max(1.0));
            for (x, y) in fast.posterior.unwrap().iter().zip(&slow.posterior.unwrap()) {
                proptest::prop_assert!((x - y).abs() <= 1e-10, "{x} vs {y}");
            }
        }
    }

    #[test]
    fn underflowing_frames_fall_back_to_log_space() {
        // Frame 1 gives the target's classes log-probability -800 (exp underflows to 0): the
        // scaled path refuses, the public entry still returns the exact finite loss.
        let (t, c) = (3, 3);
        let mut lp = random_lp(t, c, 9);
        lp[c] = -800.0;
        lp[c + 1] = -800.0;
        let lat = lattice(&lp, t, c, &[1]);
        assert!(scaled(&lat, true).is_none());
        let r = forward_backward(&lp, t, c, &[1], 0, true);
        assert!(r.nll.is_finite() && r.nll > 790.0);
        let post = r.posterior.unwrap();
        for row in post.chunks(c) {
            assert!((row.iter().sum::<f64>() - 1.0).abs() < 1e-12);
        }
    }

    #[test]
    fn empty_target_is_all_blanks() {
        let (t, c) = (5, 3);
        let lp = random_lp(t, c, 7);
        let r = forward_backward(&lp, t, c, &[], 0, false);
        let expect: f64 = -(0..t).map(|i| lp[i * c]).sum::<f64>();
        assert!((r.nll - expect).abs() < 1e-12);
        assert_eq!(log_likelihood(&lp, t, c, &[], 0), -r.nll);
    }
}
