//! The GroupNorm kernels' inner loops written with AVX2 + FMA intrinsics: four 8-wide
//! accumulators per sum (32 lanes, flushed into f64 every [`super::FLUSH`] values), the
//! element-wise passes two registers (one cache line) at a time with the next block's line
//! prefetched. Only called after run-time detection of avx2 and fma (`super::Isa`).
//!
//! Every helper carries the target features itself (no closures, no generic iterator
//! adaptors over intrinsics): code without them would not inline into these functions and
//! would pass each register through memory.

use std::arch::x86_64::{
    __m256, __m256d, _mm256_add_pd, _mm256_add_ps, _mm256_castps256_ps128, _mm256_cvtps_pd,
    _mm256_extractf128_ps, _mm256_fmadd_ps, _mm256_loadu_ps, _mm256_set1_ps, _mm256_setzero_pd,
    _mm256_setzero_ps, _mm256_storeu_pd, _mm256_storeu_ps, _mm256_sub_ps,
};

use super::{FLUSH, LINE, prefetch};

/// Values per register.
const W: usize = 8;
/// Values per iteration of the reductions (four registers).
const R: usize = 4 * W;

/// Register `j` (< 4) of a 32-value chunk.
#[inline]
#[target_feature(enable = "avx2,fma")]
fn load4(c: &[f32; R], j: usize) -> __m256 {
    debug_assert!(j < 4);
    // SAFETY: `j < 4`, so the eight values `8j..8j+8` lie inside the 32-value chunk.
    unsafe { _mm256_loadu_ps(c.as_ptr().add(W * j)) }
}

/// Register `j` (< 2) of a cache line.
#[inline]
#[target_feature(enable = "avx2,fma")]
fn load2(c: &[f32; LINE], j: usize) -> __m256 {
    debug_assert!(j < 2);
    // SAFETY: `j < 2`, so the eight values `8j..8j+8` lie inside the 16-value line.
    unsafe { _mm256_loadu_ps(c.as_ptr().add(W * j)) }
}

/// Stores register `j` (< 2) of a cache line.
#[inline]
#[target_feature(enable = "avx2,fma")]
fn store2(c: &mut [f32; LINE], j: usize, v: __m256) {
    debug_assert!(j < 2);
    // SAFETY: `j < 2`, so the eight values `8j..8j+8` lie inside the 16-value line.
    unsafe { _mm256_storeu_ps(c.as_mut_ptr().add(W * j), v) }
}

/// Sum of the four accumulators' 32 lanes, converted to f64 before adding.
#[inline]
#[target_feature(enable = "avx2,fma")]
fn hsum(acc: [__m256; 4]) -> f64 {
    let mut t: __m256d = _mm256_setzero_pd();
    for a in acc {
        let lo = _mm256_cvtps_pd(_mm256_castps256_ps128(a));
        let hi = _mm256_cvtps_pd(_mm256_extractf128_ps::<1>(a));
        t = _mm256_add_pd(t, _mm256_add_pd(lo, hi));
    }
    let mut out = [0.0f64; 4];
    // SAFETY: `out` holds four f64.
    unsafe { _mm256_storeu_pd(out.as_mut_ptr(), t) };
    out[0] + out[1] + out[2] + out[3]
}

/// `(sum(x - m), sum((x - m)^2))`.
#[target_feature(enable = "avx2,fma")]
pub(super) fn centred_sums(x: &[f32], m: f32) -> (f64, f64) {
    let mv = _mm256_set1_ps(m);
    let (mut t1, mut t2) = (0.0f64, 0.0f64);
    for part in x.chunks(FLUSH) {
        let (chunks, rest) = part.as_chunks::<R>();
        let (mut s1, mut s2) = ([_mm256_setzero_ps(); 4], [_mm256_setzero_ps(); 4]);
        for c in chunks {
            for j in 0..4 {
                let d = _mm256_sub_ps(load4(c, j), mv);
                s1[j] = _mm256_add_ps(s1[j], d);
                s2[j] = _mm256_fmadd_ps(d, d, s2[j]);
            }
        }
        for &v in rest {
            let d = (v - m) as f64;
            t1 += d;
            t2 += d * d;
        }
        t1 += hsum(s1);
        t2 += hsum(s2);
    }
    (t1, t2)
}

/// `(sum(dy), sum(dy * (x - m)))`.
#[target_feature(enable = "avx2,fma")]
pub(super) fn grad_sums(dy: &[f32], x: &[f32], m: f32) -> (f64, f64) {
    let mv = _mm256_set1_ps(m);
    let (mut t1, mut t2) = (0.0f64, 0.0f64);
    for (pd, px) in dy.chunks(FLUSH).zip(x.chunks(FLUSH)) {
        let (cd, rd) = pd.as_chunks::<R>();
        let (cx, rx) = px.as_chunks::<R>();
        let (mut s1, mut s2) = ([_mm256_setzero_ps(); 4], [_mm256_setzero_ps(); 4]);
        for (d, v) in cd.iter().zip(cx) {
            for j in 0..4 {
                let dv = load4(d, j);
                s1[j] = _mm256_add_ps(s1[j], dv);
                s2[j] = _mm256_fmadd_ps(dv, _mm256_sub_ps(load4(v, j), mv), s2[j]);
            }
        }
        for (&d, &v) in rd.iter().zip(rx) {
            t1 += d as f64;
            t2 += d as f64 * (v - m) as f64;
        }
        t1 += hsum(s1);
        t2 += hsum(s2);
    }
    (t1, t2)
}

/// `y = (x - m) * a + b`, prefetching `ahead` values on.
#[target_feature(enable = "avx2,fma")]
pub(super) fn affine(x: &[f32], y: &mut [f32], (m, a, b): (f32, f32, f32), ahead: usize) {
    let (mv, av, bv) = (_mm256_set1_ps(m), _mm256_set1_ps(a), _mm256_set1_ps(b));
    let (yl, yr) = y.as_chunks_mut::<LINE>();
    let (xl, xr) = x.as_chunks::<LINE>();
    for (yc, xc) in yl.iter_mut().zip(xl) {
        prefetch(xc.as_ptr().wrapping_add(ahead));
        prefetch(yc.as_ptr().wrapping_add(ahead));
        for j in 0..2 {
            store2(
                yc,
                j,
                _mm256_fmadd_ps(_mm256_sub_ps(load2(xc, j), mv), av, bv),
            );
        }
    }
    for (o, &v) in yr.iter_mut().zip(xr) {
        *o = (v - m).mul_add(a, b);
    }
}

/// `xy = (xy - m) * a + b` in place, prefetching `ahead` values on.
#[target_feature(enable = "avx2,fma")]
pub(super) fn affine_in_place(xy: &mut [f32], (m, a, b): (f32, f32, f32), ahead: usize) {
    let (mv, av, bv) = (_mm256_set1_ps(m), _mm256_set1_ps(a), _mm256_set1_ps(b));
    let (l, r) = xy.as_chunks_mut::<LINE>();
    for c in l {
        prefetch(c.as_ptr().wrapping_add(ahead));
        for j in 0..2 {
            let v = load2(c, j);
            store2(c, j, _mm256_fmadd_ps(_mm256_sub_ps(v, mv), av, bv));
        }
    }
    for o in r {
        *o = (*o - m).mul_add(a, b);
    }
}

/// `dx = p * dy + q * (x - m) + r`, prefetching `ahead` values on.
#[target_feature(enable = "avx2,fma")]
pub(super) fn dx(
    (x, dy, dx): (&[f32], &[f32], &mut [f32]),
    (p, q, r, m): (f32, f32, f32, f32),
    ahead: usize,
) {
    let (pv, qv, rv, mv) = (
        _mm256_set1_ps(p),
        _mm256_set1_ps(q),
        _mm256_set1_ps(r),
        _mm256_set1_ps(m),
    );
    let (ol, or) = dx.as_chunks_mut::<LINE>();
    let (dl, dr) = dy.as_chunks::<LINE>();
    let (xl, xr) = x.as_chunks::<LINE>();
    for ((oc, dc), xc) in ol.iter_mut().zip(dl).zip(xl) {
        prefetch(xc.as_ptr().wrapping_add(ahead));
        prefetch(dc.as_ptr().wrapping_add(ahead));
        prefetch(oc.as_ptr().wrapping_add(ahead));
        for j in 0..2 {
            let t = _mm256_fmadd_ps(qv, _mm256_sub_ps(load2(xc, j), mv), rv);
            store2(oc, j, _mm256_fmadd_ps(pv, load2(dc, j), t));
        }
    }
    for ((o, &d), &v) in or.iter_mut().zip(dr).zip(xr) {
        *o = p.mul_add(d, q.mul_add(v - m, r));
    }
}
