//! ADWIN (Bifet & Gavaldà 2007), river's exponential-histogram variant, operation for
//! operation (river 0.26.1's Rust core, itself a port of its Cython `adwin_c.pyx`), so the
//! detection indices are river's exactly.

use serde::{Deserialize, Serialize};

use crate::errors::Result;
use crate::hyperparams::AdwinValidParams;
use crate::signal::{Detector, Signal, check_finite};

/// The adaptive window (river's `AdaptiveWindowing`): an exponential histogram whose row `r`
/// holds up to `max_buckets + 1` summaries (total, variance) of `2^r` samples each. Each row is
/// a ring of `stride` slots (the power of two at or above `max_buckets + 1`), oldest at
/// `heads[r]`, stored flat for cache locality: merging the two oldest summaries moves a head
/// instead of shifting the row.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct Window {
    total: f64,
    variance: f64,
    width: f64,
    tick: u64,
    /// `tick % clock`, restored from `tick` when a window is deserialized.
    #[serde(skip)]
    phase: u32,
    #[serde(skip)]
    dp_floor: DpFloor,
    #[serde(skip)]
    scratch: Scratch,
    /// Summaries a row may hold: `max_buckets + 1`.
    capacity: usize,
    stride: usize,
    lens: Vec<usize>,
    heads: Vec<usize>,
    totals: Vec<f64>,
    variances: Vec<f64>,
}

/// Ring slots per row for `max_buckets`.
fn ring_stride(max_buckets: usize) -> usize {
    (max_buckets + 1).next_power_of_two()
}

impl Window {
    /// Whether a deserialized window is shaped as `max_buckets` requires (so updates cannot
    /// index outside it).
    fn consistent(&self, max_buckets: usize) -> bool {
        self.capacity == max_buckets + 1
            && self.stride == ring_stride(max_buckets)
            && !self.lens.is_empty()
            && self.lens.iter().all(|&l| l <= self.capacity)
            && self.heads.len() == self.lens.len()
            && self.heads.iter().all(|&h| h < self.stride)
            && self.lens.len().checked_mul(self.stride) == Some(self.totals.len())
            && self.totals.len() == self.variances.len()
            && self.lens.len() < 64
    }

    fn new(max_buckets: usize) -> Self {
        let stride = ring_stride(max_buckets);
        Self {
            total: 0.0,
            variance: 0.0,
            width: 0.0,
            tick: 0,
            phase: 0,
            dp_floor: DpFloor::default(),
            scratch: Scratch::default(),
            capacity: max_buckets + 1,
            stride,
            lens: vec![0],
            heads: vec![0],
            totals: vec![0.0; stride],
            variances: vec![0.0; stride],
        }
    }

    /// Flat index of the `k`-th oldest summary of `row`.
    #[inline(always)]
    fn slot(&self, row: usize, k: usize) -> usize {
        row * self.stride + ((self.heads[row] + k) & (self.stride - 1))
    }

    #[inline(always)]
    fn push(&mut self, row: usize, total: f64, variance: f64) {
        if row == self.lens.len() {
            self.lens.push(0);
            self.heads.push(0);
            self.totals.resize(self.totals.len() + self.stride, 0.0);
            self.variances
                .resize(self.variances.len() + self.stride, 0.0);
        }
        let i = self.slot(row, self.lens[row]);
        self.totals[i] = total;
        self.variances[i] = variance;
        self.lens[row] += 1;
    }

    /// Drops the `k` oldest summaries of `row`.
    #[inline(always)]
    fn drop_front(&mut self, row: usize, k: usize) {
        self.heads[row] = (self.heads[row] + k) & (self.stride - 1);
        self.lens[row] -= k;
    }

    fn insert(&mut self, x: f64, max_buckets: usize) {
        self.push(0, x, 0.0);
        self.width += 1.0;
        if self.width > 1.0 {
            let d = x - self.total / (self.width - 1.0);
            self.variance += (self.width - 1.0) * d * d / self.width;
        }
        self.total += x;
        self.compress(max_buckets);
    }

    /// Merges the two oldest summaries of every overflowing row into the next row.
    fn compress(&mut self, max_buckets: usize) {
        let mut row = 0;
        while self.lens[row] == max_buckets + 1 {
            let size = (1u64 << row) as f64;
            let (i0, i1) = (self.slot(row, 0), self.slot(row, 1));
            let (t0, t1) = (self.totals[i0], self.totals[i1]);
            let (v0, v1) = (self.variances[i0], self.variances[i1]);
            // River divides by `size` and `size + size`; both are powers of two, and
            // multiplying by an exact power-of-two reciprocal rounds the same real number, so
            // gives the same bits, without a division's latency.
            let inv = inv_pow2(row);
            let (mu0, mu1) = (t0 * inv, t1 * inv);
            let v = v0 + v1 + size * size * (mu0 - mu1) * (mu0 - mu1) * inv_pow2(row + 1);
            self.push(row + 1, t0 + t1, v);
            self.drop_front(row, 2);
            if self.lens[row + 1] <= max_buckets {
                break;
            }
            row += 1;
        }
    }

    /// Drops the oldest summary (from the last row).
    fn delete_oldest(&mut self) {
        let last = self.lens.len() - 1;
        let n = (1u64 << last) as f64;
        let i = self.slot(last, 0);
        let (u, v) = (self.totals[i], self.variances[i]);
        let mu = u * inv_pow2(last);
        self.width -= n;
        self.total -= u;
        let mu_window = self.total / self.width;
        self.variance -=
            v + n * self.width * (mu - mu_window) * (mu - mu_window) / (n + self.width);
        self.drop_front(last, 1);
        if self.lens[last] == 0 {
            self.lens.pop();
            self.heads.pop();
            self.totals.truncate(last * self.stride);
            self.variances.truncate(last * self.stride);
        }
    }

    /// Checks every cut (oldest to newest); on a significant one drops the oldest summary and
    /// checks again. The cut test is river's
    /// `|mu0 - mu1| > sqrt(2 m var/n dp) + 2/3 dp m`, `dp = ln(2 ln(n) / delta)`,
    /// `m = 1/(n0-M+1) + 1/(n1-M+1)`, with `dp` and `var/n` computed once per pass (they only
    /// change when the window does), which gives the same values.
    fn detect(&mut self, p: &AdwinValidParams) -> bool {
        self.detect_with::<true>(p)
    }

    /// [`Window::detect`], with the [`Screen`] in front of the exact test or (for the tests
    /// that prove the screen changes nothing) without it.
    fn detect_with<const SCREEN: bool>(&mut self, p: &AdwinValidParams) -> bool {
        self.tick += 1;
        // `phase == tick % clock`, kept as a counter to spare an integer division per sample.
        self.phase += 1;
        if self.phase < p.clock() {
            return false;
        }
        self.phase = 0;
        if self.width <= f64::from(p.grace_period()) {
            return false;
        }
        let min_len = f64::from(p.min_window_length());
        let mut change = false;
        let mut again = true;
        while again {
            again = false;
            // River's `dp`, computed (two logarithms) only once a cut gets past the screen.
            let mut exact_dp: Option<f64> = None;
            let var_n = self.variance / self.width;
            let screen = Screen::new(var_n, self.dp_floor.get(self.width, p.delta()));
            // River's loop visits the buckets oldest to newest, row by row, testing the cut
            // after each. Here its running sums come first (same additions, same order), then
            // one vectorized check whether any cut survives the screen, and only then river's
            // exact test on the survivors, in order.
            let cuts = self.scratch.running_sums(
                &self.lens,
                &self.heads,
                &self.totals,
                self.stride,
                (self.width, self.total),
            );
            if !self.scratch.any_candidate::<SCREEN>(cuts, min_len, &screen) {
                continue;
            }
            let c = min_len - 1.0;
            for i in 0..cuts {
                let sc = &self.scratch;
                let (n0, n1, u0, u1) = (sc.n0[i], sc.n1[i], sc.u0[i], sc.u1[i]);
                if cut_ruled_out::<SCREEN>(&screen, min_len, c, n0, n1, u0, u1) {
                    continue;
                }
                let (a, b) = (n0 - min_len + 1.0, n1 - min_len + 1.0);
                let delta_prime =
                    *exact_dp.get_or_insert_with(|| delta_prime(self.width, p.delta()));
                let delta_mean = u0 / n0 - u1 / n1;
                let m_recip = 1.0 / a + 1.0 / b;
                let epsilon = (2.0 * m_recip * var_n * delta_prime).sqrt()
                    + 2.0 / 3.0 * delta_prime * m_recip;
                if delta_mean.abs() > epsilon {
                    again = true;
                    change = true;
                    if self.width > 0.0 {
                        self.delete_oldest();
                        break;
                    }
                }
            }
        }
        change
    }
}

/// River's running sums after each bucket (oldest first), rebuilt for each pass. Scratch space,
/// not state: not serialized, and always equal.
#[derive(Debug, Clone, Default)]
struct Scratch {
    n0: Vec<f64>,
    n1: Vec<f64>,
    u0: Vec<f64>,
    u1: Vec<f64>,
}

impl Scratch {
    /// Fills the running sums for a pass over the window (`(width, total)`) and returns the
    /// number of cuts: one after every bucket but the newest.
    fn running_sums(
        &mut self,
        lens: &[usize],
        heads: &[usize],
        totals: &[f64],
        stride: usize,
        (width, total): (f64, f64),
    ) -> usize {
        let buckets: usize = lens.iter().sum();
        for v in [&mut self.n0, &mut self.n1, &mut self.u0, &mut self.u1] {
            v.resize(buckets, 0.0);
        }
        // River's running sums, bucket by bucket oldest first, in river's order (a sequential
        // chain of additions); the newest bucket closes river's loop without a cut after it.
        let n = buckets.saturating_sub(1);
        let (mut n0, mut n1, mut u0, mut u1) = (0.0, width, 0.0, total);
        let mut at = 0;
        let (n0s, n1s) = (&mut self.n0[..], &mut self.n1[..]);
        let (u0s, u1s) = (&mut self.u0[..], &mut self.u1[..]);
        for (row, (&len, &head)) in lens.iter().zip(heads).enumerate().rev() {
            let size = (1u64 << row) as f64;
            let ring = &totals[row * stride..(row + 1) * stride];
            for k in 0..len {
                let t = ring[(head + k) & (stride - 1)];
                n0 += size;
                n1 -= size;
                u0 += t;
                u1 -= t;
                (n0s[at + k], n1s[at + k], u0s[at + k], u1s[at + k]) = (n0, n1, u0, u1);
            }
            at += len;
        }
        n
    }

    /// Whether any of the first `n` cuts survives the screen (and is long enough on both
    /// sides). Independent per cut and branch-free, so the compiler vectorizes it; a pass
    /// almost always ends here.
    fn any_candidate<const SCREEN: bool>(&self, n: usize, min_len: f64, screen: &Screen) -> bool {
        let c = min_len - 1.0;
        let cuts = self.n0[..n]
            .iter()
            .zip(&self.n1[..n])
            .zip(self.u0[..n].iter().zip(&self.u1[..n]));
        let survivors: usize = cuts
            .map(|((&n0, &n1), (&u0, &u1))| {
                usize::from(!cut_ruled_out::<SCREEN>(screen, min_len, c, n0, n1, u0, u1))
            })
            .sum();
        survivors > 0
    }
}

/// Whether the cut with these running sums is skipped: a side shorter than `min_len` (as in
/// river), or (with `SCREEN`) rejected by the screen. `c = min_len - 1`.
#[inline(always)]
#[allow(clippy::too_many_arguments)]
fn cut_ruled_out<const SCREEN: bool>(
    screen: &Screen,
    min_len: f64,
    c: f64,
    n0: f64,
    n1: f64,
    u0: f64,
    u1: f64,
) -> bool {
    let too_short = (n1 < min_len) | (n0 < min_len);
    too_short | (SCREEN && screen.cannot_cut(n0, n1, u0, u1, n0 - c, n1 - c))
}

impl PartialEq for Scratch {
    fn eq(&self, _: &Self) -> bool {
        true
    }
}

/// River's `dp = ln(2 ln(n) / delta)` for a window of `n` samples.
fn delta_prime(width: f64, delta: f64) -> f64 {
    (2.0 * width.ln() / delta).ln()
}

/// `2^-k`, exactly (for `k < 1023`): `t * inv_pow2(k)` is bit for bit `t / 2^k`.
fn inv_pow2(k: usize) -> f64 {
    f64::from_bits((1023 - k as u64) << 52)
}

/// A lower bound on [`delta_prime`] for the screen, refreshed only when the window shrinks or
/// doubles: `dp` grows with the window, so the value at a smaller width bounds it from below
/// (a lower `dp` only makes the screen more cautious). A cache, not state: it is not
/// serialized, and two windows compare equal whatever their caches hold.
#[derive(Debug, Clone, Copy, Default)]
struct DpFloor {
    width: f64,
    dp: f64,
}

impl DpFloor {
    fn get(&mut self, width: f64, delta: f64) -> f64 {
        if !(self.width > 0.0 && width >= self.width && width <= 2.0 * self.width) {
            self.width = width;
            self.dp = delta_prime(width, delta);
        }
        self.dp
    }
}

impl PartialEq for DpFloor {
    fn eq(&self, _: &Self) -> bool {
        true
    }
}

/// A division- and square-root-free screen in front of river's cut test, so that the exact
/// test (four divisions and a square root) runs only on cuts that might be significant.
///
/// River's test on the floats it computes is `|u0/n0 - u1/n1| > sqrt(2 m v dp) + 2/3 dp m`
/// with `m = 1/a + 1/b`, `a = n0 - M + 1`, `b = n1 - M + 1`. Multiplying through by
/// `P = n0 n1` and `a b`, the cut can only fire if `D = |u0 n1 - u1 n0|` (plus a bound on every
/// rounding error river's and this side's arithmetic can make, `1e-14 S + 1e-300` with
/// `S = |u0| n1 + |u1| n0`) exceeds both `sqrt(2 v dp (a + b) / (a b)) P` and
/// `2/3 dp (a + b) / (a b) P`. The screen rejects a cut when either necessary condition fails by
/// a relative margin of `1e-12`, far above the few ulps by which its own products can be off, so
/// it never rejects a cut river would take: the indices stay river's exactly (checked by the
/// parity tests, and by a proptest against the unscreened test).
#[derive(Debug, Clone, Copy)]
struct Screen {
    /// `2 v dp (1 - 2e-12)`, or `-1` (the square-root condition never holds) where `v` is
    /// zero, negative, NaN or outside `[1e-250, 1e250]`: the products could underflow there,
    /// and for a negative or NaN `v` river's test never fires anyway.
    sqrt_coef: f64,
    /// `2/3 dp (1 - 1e-12)`.
    lin_coef: f64,
}

impl Screen {
    fn new(var_n: f64, delta_prime: f64) -> Self {
        let sqrt_coef = if (1e-250..=1e250).contains(&var_n) {
            2.0 * var_n * delta_prime * (1.0 - 2e-12)
        } else {
            -1.0
        };
        Self {
            sqrt_coef,
            lin_coef: 2.0 / 3.0 * delta_prime * (1.0 - 1e-12),
        }
    }

    /// True when the cut certainly is not significant (false when in doubt, including NaN or
    /// overflow, so the exact test decides). Branch-free: which bound rejects a cut varies from
    /// cut to cut, and a mispredicted branch would cost more than both comparisons.
    #[inline(always)]
    fn cannot_cut(&self, n0: f64, n1: f64, u0: f64, u1: f64, a: f64, b: f64) -> bool {
        let p = n0 * n1;
        let slack = 1e-14 * (u0.abs() * n1 + u1.abs() * n0) + 1e-300;
        let d = (u0 * n1 - u1 * n0).abs() + slack;
        let ab = a * b;
        let rhs = (a + b) * p;
        let below_linear = d * ab <= self.lin_coef * rhs;
        let below_sqrt = d * d * ab <= self.sqrt_coef * rhs * p;
        below_linear | below_sqrt
    }
}

/// ADWIN: keeps the longest recent window whose two halves (at every cut point) have means
/// that do not differ significantly; a significant cut drops the old part and signals drift.
/// No warning zone. Parity with river's `drift.ADWIN` is exact (see the crate README).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(try_from = "AdwinState")]
pub struct Adwin {
    params: AdwinValidParams,
    window: Window,
    drift: bool,
    seen: u64,
}

/// A serialized [`Adwin`], checked before it becomes one.
#[derive(Deserialize)]
struct AdwinState {
    params: AdwinValidParams,
    window: Window,
    drift: bool,
    seen: u64,
}

impl TryFrom<AdwinState> for Adwin {
    type Error = String;
    fn try_from(s: AdwinState) -> Result<Self, String> {
        if !s.window.consistent(s.params.max_buckets() as usize) {
            return Err("ADWIN state: window shape does not match max_buckets".into());
        }
        let mut window = s.window;
        window.phase = (window.tick % u64::from(s.params.clock())) as u32;
        Ok(Self {
            params: s.params,
            window,
            drift: s.drift,
            seen: s.seen,
        })
    }
}

impl Adwin {
    /// A detector with these settings.
    pub fn new(params: AdwinValidParams) -> Self {
        let window = Window::new(params.max_buckets() as usize);
        Self {
            params,
            window,
            drift: false,
            seen: 0,
        }
    }
    /// Number of samples in the current window.
    pub fn width(&self) -> f64 {
        self.window.width
    }
    /// Mean of the current window (0 when empty).
    pub fn estimation(&self) -> f64 {
        if self.window.width == 0.0 {
            0.0
        } else {
            self.window.total / self.window.width
        }
    }
    /// The settings.
    pub fn params(&self) -> &AdwinValidParams {
        &self.params
    }
}

impl Detector for Adwin {
    fn update(&mut self, x: f64) -> Result<Signal> {
        check_finite("adwin", self.seen, x)?;
        self.seen += 1;
        if self.drift {
            self.window = Window::new(self.params.max_buckets() as usize);
        }
        self.window.insert(x, self.params.max_buckets() as usize);
        self.drift = self.window.detect(&self.params);
        Ok(if self.drift {
            Signal::Drift
        } else {
            Signal::None
        })
    }
    fn reset(&mut self) {
        *self = Self::new(self.params.clone());
    }
    fn name(&self) -> &'static str {
        "adwin"
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::hyperparams::AdwinParams;
    use proptest::prelude::*;

    /// Feeds `xs` to a screened and an unscreened window side by side and checks that every
    /// signal and the whole window state stay identical.
    fn same_with_and_without_screen(xs: &[f64], clock: u32) -> usize {
        same_with_and_without_screen_mb(xs, clock, 5, 5)
    }

    fn same_with_and_without_screen_mb(
        xs: &[f64],
        clock: u32,
        max_buckets: u32,
        min_len: u32,
    ) -> usize {
        let p = AdwinParams::new()
            .clock(clock)
            .max_buckets(max_buckets)
            .min_window_length(min_len)
            .check()
            .unwrap();
        let mb = p.max_buckets() as usize;
        let (mut fast, mut exact) = (Window::new(mb), Window::new(mb));
        let mut fired = 0;
        for (i, &x) in xs.iter().enumerate() {
            fast.insert(x, mb);
            exact.insert(x, mb);
            let (f, e) = (fast.detect_with::<true>(&p), exact.detect_with::<false>(&p));
            assert_eq!(f, e, "signal differs at {i}");
            assert_eq!(fast, exact, "window differs at {i}");
            if f {
                fired += 1;
                fast = Window::new(mb);
                exact = Window::new(mb);
            }
        }
        fired
    }

    fn stream(seed: u64, n: usize, scale: f64, offset: f64, shifts: &[(usize, f64)]) -> Vec<f64> {
        use rand::SeedableRng;
        use rand_distr::{Distribution, StandardNormal};
        let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
        (0..n)
            .map(|i| {
                let jump: f64 = shifts.iter().filter(|s| i >= s.0).map(|s| s.1).sum();
                let z: f64 = StandardNormal.sample(&mut rng);
                offset + scale * (z + jump)
            })
            .collect()
    }

    #[test]
    fn screen_keeps_every_decision_on_shifts_near_the_threshold() {
        // Small shifts sit near the test's threshold, where a loose screen would show.
        let mut fired = 0;
        for (seed, shift) in [(1, 0.2), (2, 0.35), (3, 0.5), (4, 1.0), (5, -0.3)] {
            let xs = stream(seed, 6000, 1.0, 0.0, &[(2000, shift), (4000, -shift)]);
            fired += same_with_and_without_screen(&xs, 32);
            fired += same_with_and_without_screen(&xs, 1);
        }
        // The streams do cross the threshold, so the comparison covers cuts that fire.
        assert!(fired >= 10, "only {fired} detections");
    }

    #[test]
    fn screen_keeps_every_decision_at_extreme_scales_and_constant_runs() {
        // Tiny scales: the variance underflows and river (hence kiln) may never cut; what
        // matters is that both sides agree. Large scales and offsets must still cut.
        for (scale, offset, must_fire) in [
            (1e-200, 0.0, false),
            (1e-150, 1e-140, false),
            (1e150, 0.0, true),
            (1.0, 1e12, true),
            (0.0, 5.0, false),
        ] {
            let xs = stream(7, 3000, scale, offset, &[(1500, 3.0)]);
            let fired = same_with_and_without_screen(&xs, 1);
            assert!(fired > 0 || !must_fire, "scale {scale} offset {offset}");
        }
        let mut xs = vec![0.0; 1000];
        xs.extend(std::iter::repeat_n(1.0, 1000));
        xs.extend(std::iter::repeat_n(1.0 + 1e-12, 1000));
        assert!(same_with_and_without_screen(&xs, 1) > 0);
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(24))]
        #[test]
        fn screen_never_changes_a_decision(
            seed in 0u64..1_000_000,
            scale in prop_oneof![Just(1.0), 1e-3f64..1e3],
            offset in -100.0f64..100.0,
            at in 200usize..1500,
            shift in -2.0f64..2.0,
            clock in prop_oneof![Just(1u32), Just(32u32), 2u32..64],
            max_buckets in prop_oneof![Just(5u32), 2u32..12],
            min_len in prop_oneof![Just(5u32), 1u32..20],
        ) {
            let xs = stream(seed, 2000, scale, offset, &[(at, shift)]);
            same_with_and_without_screen(&xs, clock);
            // Exactly at the edge: the same stream with its shift scaled to sit on thresholds.
            let ys = stream(seed, 2000, scale, offset, &[(at, shift * 0.25)]);
            same_with_and_without_screen(&ys, clock);
            same_with_and_without_screen_mb(&xs, clock, max_buckets, min_len);
        }
    }
}
