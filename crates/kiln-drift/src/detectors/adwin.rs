//! ADWIN (Bifet & Gavaldà 2007), river's exponential-histogram variant, operation for
//! operation (river 0.26.1's Rust core, itself a port of its Cython `adwin_c.pyx`), so the
//! detection indices are river's exactly.

use std::ops::Range;

use pulp::{Arch, Simd, WithSimd};
use serde::{Deserialize, Serialize};

use crate::errors::Result;
use crate::hyperparams::AdwinValidParams;
use crate::signal::{Detector, Signal, check_finite};

/// Samples a window accepts before it folds them into its histogram: river's default clock (32)
/// divides it, so a default window folds exactly once per check.
const BLOCK: usize = 64;

/// Samples whose variance terms are computed together when a block is folded.
const LANES: usize = 4;

/// The adaptive window (river's `AdaptiveWindowing`): an exponential histogram whose row `r`
/// holds up to `max_buckets` summaries (total, variance) of `2^r` samples each, oldest first.
/// Rows are stored flat, `stride` slots apart, with room after a row's summaries for what a
/// fold brings it (see [`Window::fold_rows`]).
///
/// River inserts each sample as it arrives; here a window *accepts* samples into `pending` and
/// *folds* them in blocks, at the next check or when `BLOCK` are waiting. Folding a block
/// makes the same floating-point operations on the same values as inserting its samples one by
/// one, and no check happens in between, so every decision is river's; what it saves is the
/// per-sample bookkeeping, and it keeps the running statistics in registers across a block
/// instead of in memory. Serialized as a [`WindowState`].
#[derive(Debug, Clone, Serialize)]
#[serde(into = "WindowState")]
struct Window {
    total: f64,
    variance: f64,
    width: f64,
    /// Samples folded since the window was made.
    tick: u64,
    /// Samples accepted and not folded yet, oldest first: `pending[..waiting]`, fewer than
    /// `BLOCK` (boxed: a detector stays small to move).
    pending: Box<[f64; BLOCK]>,
    waiting: usize,
    /// Samples folded since the last check (river's `tick % clock` is `phase + waiting`).
    phase: u32,
    /// Samples to accept before the next fold: at most `min(BLOCK, clock - phase) - waiting`.
    countdown: u32,
    dp_floor: DpFloor,
    sums: Sums,
    max_buckets: usize,
    lens: Vec<usize>,
    totals: Vec<f64>,
    variances: Vec<f64>,
}

/// Windows are equal when their statistics and summaries are (whatever the slots after each
/// row's summaries, and the caches, hold).
impl PartialEq for Window {
    fn eq(&self, other: &Self) -> bool {
        let rows_equal = |a: &[f64], b: &[f64]| {
            let (sa, sb) = (self.stride(), other.stride());
            let mut rows = self.lens.iter().enumerate();
            rows.all(|(r, &l)| a[r * sa..r * sa + l] == b[r * sb..r * sb + l])
        };
        (self.total, self.variance, self.width, self.tick, self.phase)
            == (
                other.total,
                other.variance,
                other.width,
                other.tick,
                other.phase,
            )
            && self.pending() == other.pending()
            && self.max_buckets == other.max_buckets
            && self.lens == other.lens
            && rows_equal(&self.totals, &other.totals)
            && rows_equal(&self.variances, &other.variances)
    }
}

/// A [`Window`] as it is serialized: its rows packed (row 0 first, each oldest first).
#[derive(Serialize, Deserialize)]
struct WindowState {
    total: f64,
    variance: f64,
    width: f64,
    tick: u64,
    pending: Vec<f64>,
    max_buckets: usize,
    lens: Vec<usize>,
    totals: Vec<f64>,
    variances: Vec<f64>,
}

impl From<Window> for WindowState {
    fn from(w: Window) -> Self {
        let stride = w.stride();
        let pack = |xs: &[f64]| -> Vec<f64> {
            let rows = w.lens.iter().enumerate();
            rows.flat_map(|(r, &l)| xs[r * stride..r * stride + l].iter().copied())
                .collect()
        };
        Self {
            total: w.total,
            variance: w.variance,
            width: w.width,
            tick: w.tick,
            max_buckets: w.max_buckets,
            pending: w.pending().to_vec(),
            totals: pack(&w.totals),
            variances: pack(&w.variances),
            lens: w.lens,
        }
    }
}

/// Slots per row for `max_buckets`: the summaries a row keeps between folds and the most a fold
/// brings it. Row 0 receives at most `BLOCK` samples; a row holding at most `max_buckets`
/// passes on at most `(max_buckets + a + 1) / 2` pairs when it receives `a`, which stays at or
/// below `max(BLOCK, max_buckets + 1)` row after row.
fn row_stride(max_buckets: usize) -> Option<usize> {
    max_buckets.checked_add(BLOCK.max(max_buckets.checked_add(1)?))
}

impl Window {
    fn new(max_buckets: usize) -> Self {
        let stride = row_stride(max_buckets).expect("row slots for a u32 max_buckets fit a usize");
        Self {
            total: 0.0,
            variance: 0.0,
            width: 0.0,
            tick: 0,
            pending: Box::new([0.0; BLOCK]),
            waiting: 0,
            phase: 0,
            // The first sample folds at once and sets the countdown from the clock.
            countdown: 1,
            dp_floor: DpFloor::default(),
            sums: Sums::default(),
            max_buckets,
            lens: vec![0],
            totals: vec![0.0; stride],
            variances: vec![0.0; stride],
        }
    }

    /// Empties the window (river makes a new one after a drift), keeping its allocations.
    #[cold]
    #[inline(never)]
    fn restart(&mut self) {
        let stride = self.stride();
        (self.total, self.variance, self.width, self.tick) = (0.0, 0.0, 0.0, 0);
        (self.waiting, self.phase, self.countdown) = (0, 0, 1);
        self.sums.reshaped();
        self.lens.clear();
        self.lens.push(0);
        // Row 0's variances are zero already (nothing writes them).
        self.totals.truncate(stride);
        self.variances.truncate(stride);
    }

    /// The window a [`WindowState`] describes, if it is shaped as `max_buckets` requires (so
    /// updates cannot index outside it) and its summaries of single samples have no variance.
    fn from_state(s: WindowState, max_buckets: usize, clock: u32) -> Option<Self> {
        let shaped = s.max_buckets == max_buckets
            && !s.lens.is_empty()
            && s.lens.len() < 64
            && s.lens.iter().all(|&l| l <= max_buckets)
            && s.lens.iter().sum::<usize>() == s.totals.len()
            && s.totals.len() == s.variances.len()
            && s.variances[..s.lens[0]].iter().all(|&v| v.to_bits() == 0)
            && s.pending.iter().all(|x| x.is_finite());
        if !shaped {
            return None;
        }
        let stride = row_stride(max_buckets)?;
        let mut w = Self::new(max_buckets);
        let slots = stride.checked_mul(s.lens.len())?;
        w.totals.resize(slots, 0.0);
        w.variances.resize(slots, 0.0);
        let mut at = 0;
        for (r, &l) in s.lens.iter().enumerate() {
            w.totals[r * stride..r * stride + l].copy_from_slice(&s.totals[at..at + l]);
            w.variances[r * stride..r * stride + l].copy_from_slice(&s.variances[at..at + l]);
            at += l;
        }
        // The pending samples arrived since the last fold, hence since the last check.
        let waiting = s.pending.len();
        let accepted = s.tick.checked_add(waiting as u64)?;
        let since_check = (accepted % u64::from(clock)) as usize;
        if waiting >= BLOCK || waiting > since_check {
            return None;
        }
        w.pending[..waiting].copy_from_slice(&s.pending);
        w.waiting = waiting;
        w.phase = (since_check - waiting) as u32;
        w.countdown = w.next_fold(clock) - waiting as u32;
        (w.total, w.variance, w.width, w.tick, w.lens) =
            (s.total, s.variance, s.width, s.tick, s.lens);
        Some(w)
    }

    fn stride(&self) -> usize {
        self.totals.len() / self.lens.len()
    }

    /// The samples accepted and not folded yet.
    fn pending(&self) -> &[f64] {
        &self.pending[..self.waiting]
    }

    /// Number of samples accepted (folded or not).
    fn width(&self) -> f64 {
        self.width + self.waiting as f64
    }

    /// River's running total over the accepted samples (the same additions, in order).
    fn total(&self) -> f64 {
        self.pending().iter().fold(self.total, |t, &x| t + x)
    }

    /// Samples from the last fold to the next: a block, or fewer if the clock ticks first.
    fn next_fold(&self, clock: u32) -> u32 {
        (clock - self.phase).min(BLOCK as u32)
    }

    /// Accepts a sample and returns river's answer for it: whether a check ran (on every
    /// `clock`-th sample of the window) and found a significant cut. `SCREEN` puts the
    /// [`Screen`] in front of the exact test (the tests that prove it changes nothing run
    /// without).
    #[inline(always)]
    fn accept<const SCREEN: bool>(&mut self, x: f64, p: &AdwinValidParams) -> bool {
        // `waiting < BLOCK` (the countdown folds first): the mask only spares a bounds check.
        self.pending[self.waiting % BLOCK] = x;
        self.waiting += 1;
        self.countdown -= 1;
        if self.countdown > 0 {
            return false;
        }
        self.settle::<SCREEN>(p)
    }

    /// Folds the pending samples and, on the clock's tick, checks the cuts.
    #[inline(never)]
    fn settle<const SCREEN: bool>(&mut self, p: &AdwinValidParams) -> bool {
        self.phase += self.waiting as u32;
        self.fold();
        let check = self.phase >= p.clock();
        if check {
            self.phase = 0;
        }
        self.countdown = self.next_fold(p.clock());
        check && self.detect_with::<SCREEN>(p)
    }

    /// Inserts the pending samples, as river's `insert` would one by one.
    fn fold(&mut self) {
        self.add_stats();
        self.fold_rows();
        self.tick += self.waiting as u64;
        self.waiting = 0;
    }

    /// River's incremental width, total and variance over the pending samples: per sample
    /// `d = x - total / (width - 1)`, `variance += (width - 1) d d / width` (from the second
    /// sample of the window on), `total += x`. The division by the previous width does not
    /// depend on the previous sample's division, so the quotients of a few samples are
    /// computed together (vectorized), then added in river's order; and the running values stay
    /// in registers instead of in a chain through memory.
    #[inline(always)]
    fn add_stats(&mut self) {
        wide(
            #[inline(always)]
            || self.add_stats_here(),
        );
    }

    /// [`Window::add_stats`], compiled at the caller's SIMD level.
    #[inline(always)]
    fn add_stats_here(&mut self) {
        let mut xs = &self.pending[..self.waiting];
        if self.width == 0.0
            && let Some((&x, rest)) = xs.split_first()
        {
            // The window's first sample: no variance term.
            self.width += 1.0;
            self.total += x;
            xs = rest;
        }
        // `prev` is the width before a sample (river's `width - 1` after it): exact integers.
        let (mut total, mut variance, mut prev) = (self.total, self.variance, self.width);
        let (chunks, rest) = xs.as_chunks::<LANES>();
        for x in chunks {
            // A few samples at a time: the totals they meet (a chain), their variance terms
            // (independent: the divisions vectorize), then the terms added in order. The total
            // chain runs ahead of the variance chain instead of after it.
            let mut before = [0.0; LANES];
            for (b, &x) in before.iter_mut().zip(x) {
                *b = total;
                total += x;
            }
            let mut term = [0.0; LANES];
            for (k, t) in term.iter_mut().enumerate() {
                let prev = prev + k as f64;
                let d = x[k] - before[k] / prev;
                *t = prev * d * d / (prev + 1.0);
            }
            variance = term.iter().fold(variance, |v, &t| v + t);
            prev += LANES as f64;
        }
        for &x in rest {
            let d = x - total / prev;
            variance += prev * d * d / (prev + 1.0);
            total += x;
            prev += 1.0;
        }
        (self.total, self.variance, self.width) = (total, variance, prev);
    }

    /// River's bucket merges for the pending samples (summaries with no variance). Inserting one
    /// summary into a row that then holds `max_buckets + 1` merges its two oldest into the next
    /// row; so a row that holds `l` and receives `a` (in order) merges the pairs (0, 1),
    /// (2, 3), ... of its contents followed by the arrivals, `ceil((l + a - max_buckets) / 2)`
    /// of them when `l + a > max_buckets`, and passes them on, in that order, to the next row.
    /// Each row's result depends only on what it receives, so folding row by row gives river's
    /// histogram. Arrivals are written straight after a row's summaries.
    fn fold_rows(&mut self) {
        let (mb, stride) = (self.max_buckets, self.stride());
        let (l0, xs) = (self.lens[0], &self.pending[..self.waiting]);
        // Row 0's variances are all zero, written once by `new`.
        self.totals[l0..l0 + xs.len()].copy_from_slice(xs);
        let mut arrivals = xs.len();
        let mut row = 0;
        while arrivals > 0 {
            let held = self.lens[row] + arrivals;
            if held <= mb {
                self.lens[row] = held;
                self.sums.touched(row + 1);
                break;
            }
            let pairs = (held - mb).div_ceil(2);
            if row + 1 == self.lens.len() {
                self.sums.reshaped();
                self.lens.push(0);
                self.totals.resize(self.totals.len() + stride, 0.0);
                self.variances.resize(self.variances.len() + stride, 0.0);
            }
            let next = self.lens[row + 1];
            let (t_lo, t_hi) = self.totals.split_at_mut((row + 1) * stride);
            let (v_lo, v_hi) = self.variances.split_at_mut((row + 1) * stride);
            let (ts, vs) = (&mut t_lo[row * stride..], &mut v_lo[row * stride..]);
            let out = t_hi[next..next + pairs]
                .iter_mut()
                .zip(&mut v_hi[next..next + pairs]);
            let ins = ts[..2 * pairs]
                .chunks_exact(2)
                .zip(vs[..2 * pairs].chunks_exact(2));
            if row == 0 {
                // Summaries of one sample: no variance, and `merge` reduces to a few
                // operations the compiler vectorizes.
                for ((ot, ov), (t, _)) in out.zip(ins) {
                    (*ot, *ov) = merge(0, (t[0], 0.0), (t[1], 0.0));
                }
            } else {
                for ((ot, ov), (t, v)) in out.zip(ins) {
                    (*ot, *ov) = merge(row, (t[0], v[0]), (t[1], v[1]));
                }
            }
            ts.copy_within(2 * pairs..held, 0);
            if row > 0 {
                vs.copy_within(2 * pairs..held, 0);
            }
            self.lens[row] = held - 2 * pairs;
            arrivals = pairs;
            row += 1;
        }
    }

    /// Drops the oldest summary (from the last row).
    fn delete_oldest(&mut self) {
        let last = self.lens.len() - 1;
        let n = (1u64 << last) as f64;
        let at = last * self.stride();
        let (u, v) = (self.totals[at], self.variances[at]);
        let mu = u * inv_pow2(last);
        self.width -= n;
        self.total -= u;
        let mu_window = self.total / self.width;
        self.variance -=
            v + n * self.width * (mu - mu_window) * (mu - mu_window) / (n + self.width);
        self.sums.reshaped();
        let len = self.lens[last];
        self.totals.copy_within(at + 1..at + len, at);
        if last > 0 {
            // (Row 0's variances stay zero.)
            self.variances.copy_within(at + 1..at + len, at);
        }
        self.lens[last] -= 1;
        if self.lens[last] == 0 && last > 0 {
            self.lens.pop();
            self.totals.truncate(at);
            self.variances.truncate(at);
        }
    }

    /// Checks every cut (oldest to newest); on a significant one drops the oldest summary and
    /// checks again. The cut test is river's
    /// `|mu0 - mu1| > sqrt(2 m var/n dp) + 2/3 dp m`, `dp = ln(2 ln(n) / delta)`,
    /// `m = 1/(n0-M+1) + 1/(n1-M+1)`, with `dp` and `var/n` computed once per pass (they only
    /// change when the window does), which gives the same values. Runs on a folded window, at
    /// a tick of the clock; `SCREEN` puts the [`Screen`] in front of the exact test (the tests
    /// that prove the screen changes nothing run without it).
    fn detect_with<const SCREEN: bool>(&mut self, p: &AdwinValidParams) -> bool {
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
            let (width, total) = (self.width, self.total);
            // River's loop visits the buckets oldest to newest, row by row, testing the cut
            // after each that leaves `min_len` on both sides. Here its running sums come first
            // (same additions, same order; kept for the rows no fold touched), then one
            // vectorized check whether any of those cuts survives the screen, and only then
            // river's exact test on the survivors, in order.
            let stride = self.stride();
            let sums = &mut self.sums;
            sums.update(&self.lens, &self.totals, stride);
            let cuts = sums.cuts(width, min_len);
            let dp_floor = self.dp_floor.get(width, p.delta());
            let screen = Screen::new(var_n, dp_floor, (width, total), min_len, sums.bound());
            if SCREEN && !sums.any_candidate(cuts.clone(), &screen) {
                continue;
            }
            sums.exact_u1(&self.lens, &self.totals, stride, total);
            for i in cuts {
                let (n0, u0, u1) = (self.sums.n0[i], self.sums.u0[i], self.sums.u1[i]);
                if SCREEN && screen.cannot_cut(n0, u0) {
                    continue;
                }
                // River's `n1`, `width - size - size - ...`, is exact (integers below 2^53).
                let n1 = width - n0;
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

/// River's merge of two summaries of `2^row` samples each (older first) into one of
/// `2^(row+1)`: totals add, and the variance is `v0 + v1 + n n (mu0 - mu1)^2 / (n + n)`.
/// River divides by `n` and `n + n`; both are powers of two, and multiplying by an exact
/// power-of-two reciprocal rounds the same real number, so gives the same bits, without a
/// division's latency.
#[inline(always)]
fn merge(row: usize, (t0, v0): (f64, f64), (t1, v1): (f64, f64)) -> (f64, f64) {
    let size = (1u64 << row) as f64;
    let inv = inv_pow2(row);
    let (mu0, mu1) = (t0 * inv, t1 * inv);
    let v = v0 + v1 + size * size * (mu0 - mu1) * (mu0 - mu1) * inv_pow2(row + 1);
    (t0 + t1, v)
}

/// River's running sums after each bucket, oldest first: `n0` (samples) and `u0` (total) up to
/// each cut, and `mag` (the sum of `|total|` of the buckets so far) for the screen's error bound.
/// A row no fold touched since the last pass keeps its sums (the same additions in the same
/// order give the same values), so a pass only redoes the rows that changed: the newest few,
/// while the oldest, biggest rows change ever more rarely. River's other running total `u1`
/// (`total - t1 - t2 - ...`, which changes with every sample) is only computed when a cut gets
/// past the screen, which bounds it instead (see [`Screen`]). A cache, not state: not
/// serialized, and two windows compare equal whatever it holds.
#[derive(Debug, Clone)]
struct Sums {
    n0: Vec<f64>,
    u0: Vec<f64>,
    mag: Vec<f64>,
    u1: Vec<f64>,
    /// Rows `0..stale` changed since the sums were made (`usize::MAX`: the rows were added or
    /// removed, none is valid).
    stale: usize,
}

impl Default for Sums {
    fn default() -> Self {
        Self {
            n0: Vec::new(),
            u0: Vec::new(),
            mag: Vec::new(),
            u1: Vec::new(),
            stale: usize::MAX,
        }
    }
}

impl Sums {
    /// Rows `0..rows` changed.
    fn touched(&mut self, rows: usize) {
        self.stale = self.stale.max(rows);
    }

    /// Rows were added or removed: every cut moved.
    fn reshaped(&mut self) {
        self.stale = usize::MAX;
    }

    /// Brings the sums up to date with the rows (`lens`, `totals` `stride` apart).
    fn update(&mut self, lens: &[usize], totals: &[f64], stride: usize) {
        let buckets: usize = lens.iter().sum();
        let stale = self.stale.min(lens.len());
        self.stale = 0;
        // Cuts in the unchanged (older) rows keep their sums; the chain resumes after them.
        let start: usize = lens[stale..].iter().sum();
        for v in [&mut self.n0, &mut self.u0, &mut self.mag] {
            v.resize(buckets, 0.0);
        }
        let (mut n0, mut u0, mut mag) = match start {
            0 => (0.0, 0.0, 0.0),
            k => (self.n0[k - 1], self.u0[k - 1], self.mag[k - 1]),
        };
        let mut out = (self.n0[start..].iter_mut())
            .zip(self.u0[start..].iter_mut().zip(&mut self.mag[start..]));
        for (row, &len) in lens[..stale].iter().enumerate().rev() {
            let size = (1u64 << row) as f64;
            for (&t, (n0s, (u0s, mags))) in totals[row * stride..][..len].iter().zip(&mut out) {
                n0 += size;
                u0 += t;
                mag += t.abs();
                (*n0s, *u0s, *mags) = (n0, u0, mag);
            }
        }
    }

    /// The cuts that leave at least `min_len` samples on both sides (river skips the others):
    /// a range, since `n0` grows from cut to cut. There is a cut after every bucket but the
    /// newest, which closes river's loop.
    fn cuts(&self, width: f64, min_len: f64) -> Range<usize> {
        let cuts = self.n0.len().saturating_sub(1);
        // Linear scans (both ends are near: buckets hold at least one sample).
        let first = self.n0[..cuts]
            .iter()
            .take_while(|&&n0| n0 < min_len)
            .count();
        let short_end = self.n0[first..cuts].iter().rev();
        first..cuts - short_end.take_while(|&&n0| width - n0 < min_len).count()
    }

    /// `(buckets, sum of |bucket total|)`, for the screen's bound on river's `u1`.
    fn bound(&self) -> (usize, f64) {
        (self.mag.len(), self.mag.last().copied().unwrap_or(0.0))
    }

    /// Whether any of the `cuts` survives the screen. Independent per cut and branch-free, so
    /// the compiler vectorizes it; a pass almost always ends here.
    fn any_candidate(&self, cuts: Range<usize>, screen: &Screen) -> bool {
        wide(
            #[inline(always)]
            || self.any_candidate_here(cuts, screen),
        )
    }

    /// [`Sums::any_candidate`], compiled at the caller's SIMD level.
    #[inline(always)]
    fn any_candidate_here(&self, cuts: Range<usize>, screen: &Screen) -> bool {
        let sums = self.n0[cuts.clone()].iter().zip(&self.u0[cuts]);
        let survivors: usize = sums
            .map(|(&n0, &u0)| usize::from(!screen.cannot_cut(n0, u0)))
            .sum();
        survivors > 0
    }

    /// River's `u1` after each bucket: `total - t1 - t2 - ...`, in order.
    fn exact_u1(&mut self, lens: &[usize], totals: &[f64], stride: usize, total: f64) {
        self.u1.resize(self.n0.len(), 0.0);
        let mut u1 = total;
        let mut out = self.u1.iter_mut();
        for (row, &len) in lens.iter().enumerate().rev() {
            for (&t, u1s) in totals[row * stride..][..len].iter().zip(&mut out) {
                u1 -= t;
                *u1s = u1;
            }
        }
    }
}

/// Runs `f` compiled for the widest SIMD level pulp detects at run time (AVX2 on most x86-64),
/// so that its loops vectorize wider. The floating-point operations are the same IEEE ones at
/// every width (Rust never fuses a multiply and an add), so the results are identical.
#[inline(always)]
fn wide<R>(f: impl FnOnce() -> R) -> R {
    struct Op<F>(F);
    impl<R, F: FnOnce() -> R> WithSimd for Op<F> {
        type Output = R;
        #[inline(always)]
        fn with_simd<S: Simd>(self, _: S) -> R {
            (self.0)()
        }
    }
    Arch::new().dispatch(Op(f))
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

/// A division- and square-root-free screen in front of river's cut test, so that the exact
/// test (four divisions and a square root) runs only on cuts that might be significant.
///
/// River's test on the floats it computes is `|u0/n0 - u1/n1| > sqrt(2 m v dp) + 2/3 dp m`
/// with `m = 1/a + 1/b`, `a = n0 - M + 1`, `b = n1 - M + 1`. Multiplying through by
/// `P = n0 n1` and `a b`, the cut can only fire if `D = |u0 n1 - u1 n0|`, plus a bound on every
/// rounding error river's and this side's arithmetic can make, exceeds both
/// `sqrt(2 v dp (a + b) / (a b)) P` and `2/3 dp (a + b) / (a b) P`. The screen rejects a cut when
/// either necessary condition fails by a relative margin of `1e-12`, far above the few ulps by
/// which its own products can be off, so it never rejects a cut river would take: the indices
/// stay river's exactly (checked by the parity tests, and by a proptest against the unscreened
/// test).
///
/// The screen takes `n1 = W - n0` (river's value: these counts are integers below `2^53`) and,
/// instead of river's `u1` (a chain of subtractions from the window's total `T`), `T - u0`.
/// Both are recursive sums of `T` and the `K` bucket totals `t`, so they differ by at most
/// `2 gamma_K (|T| + sum |t|)`, `gamma_K = K u / (1 - K u)`, `u = 2^-53` (Higham, *Accuracy
/// and Stability of Numerical Algorithms*, §4.2), and `D` by `n0 <= W` times that. The bound on
/// the rounding errors is therefore `1e-14 (|u0| + |u1|) W` (at least `1e-14 (|u0| n1 + |u1|
/// n0)`, which covers the divisions river makes and the products here) plus twice the gap
/// between the two `u1` times `W`, plus `1e-300`. `a + b = W - 2 (M - 1)` is the same for every
/// cut of a pass.
#[derive(Debug, Clone, Copy)]
struct Screen {
    /// `2 v dp (1 - 2e-12)`, or `-1` (the square-root condition never holds) where `v` is
    /// zero, negative, NaN or outside `[1e-250, 1e250]`: the products could underflow there,
    /// and for a negative or NaN `v` river's test never fires anyway.
    sqrt_coef: f64,
    /// `2/3 dp (1 - 1e-12)`.
    lin_coef: f64,
    /// `W`.
    width: f64,
    /// `T`.
    total: f64,
    /// `M - 1`: `a = n0 - (M - 1)`.
    c: f64,
    /// `a + b`.
    ab_sum: f64,
    /// `1e-14 W`.
    slack_coef: f64,
    /// `4 gamma_K (|T| + sum |t|) W + 1e-300`.
    slack_abs: f64,
}

impl Screen {
    /// The screen for a pass over a window of `W` samples totalling `T` whose `K` buckets'
    /// totals sum to `sum |t|` in absolute value (`bound = (K, sum |t|)`).
    fn new(
        var_n: f64,
        delta_prime: f64,
        (width, total): (f64, f64),
        min_len: f64,
        (buckets, abs_sum): (usize, f64),
    ) -> Self {
        let sqrt_coef = if (1e-250..=1e250).contains(&var_n) {
            2.0 * var_n * delta_prime * (1.0 - 2e-12)
        } else {
            -1.0
        };
        let c = min_len - 1.0;
        let ku = buckets as f64 * (f64::EPSILON / 2.0);
        let gamma = ku / (1.0 - ku);
        Self {
            sqrt_coef,
            lin_coef: 2.0 / 3.0 * delta_prime * (1.0 - 1e-12),
            width,
            total,
            c,
            ab_sum: width - 2.0 * c,
            slack_coef: 1e-14 * width,
            slack_abs: 4.0 * gamma * (total.abs() + abs_sum) * width + 1e-300,
        }
    }

    /// True when the cut after `n0` samples totalling `u0` certainly is not significant (false
    /// when in doubt, including NaN or overflow, so the exact test decides). Branch-free: which
    /// bound rejects a cut varies from cut to cut, and a mispredicted branch would cost more
    /// than both comparisons.
    #[inline(always)]
    fn cannot_cut(&self, n0: f64, u0: f64) -> bool {
        let (n1, u1) = (self.width - n0, self.total - u0);
        let p = n0 * n1;
        let slack = (u0.abs() + u1.abs()) * self.slack_coef + self.slack_abs;
        let d = (u0 * n1 - u1 * n0).abs() + slack;
        let ab = (n0 - self.c) * (n1 - self.c);
        let rhs = self.ab_sum * p;
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
    window: WindowState,
    drift: bool,
    seen: u64,
}

impl TryFrom<AdwinState> for Adwin {
    type Error = String;
    fn try_from(s: AdwinState) -> Result<Self, String> {
        let mb = s.params.max_buckets() as usize;
        let window = Window::from_state(s.window, mb, s.params.clock())
            .ok_or("ADWIN state: window shape does not match max_buckets")?;
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
        self.window.width()
    }
    /// Mean of the current window (0 when empty).
    pub fn estimation(&self) -> f64 {
        let width = self.window.width();
        if width == 0.0 {
            0.0
        } else {
            self.window.total() / width
        }
    }
    /// The settings.
    pub fn params(&self) -> &AdwinValidParams {
        &self.params
    }
}

impl Detector for Adwin {
    // Small (the work happens once per fold, out of line), so it inlines into the caller's
    // loop.
    #[inline]
    fn update(&mut self, x: f64) -> Result<Signal> {
        check_finite("adwin", self.seen, x)?;
        self.seen += 1;
        if self.drift {
            self.window.restart();
        }
        self.drift = self.window.accept::<true>(x, &self.params);
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
            let (f, e) = (fast.accept::<true>(x, &p), exact.accept::<false>(x, &p));
            assert_eq!(f, e, "signal differs at {i}");
            assert_eq!(fast, exact, "window differs at {i}");
            assert_sums_fresh(&fast);
            if f {
                fired += 1;
                fast = Window::new(mb);
                exact = Window::new(mb);
            }
        }
        fired
    }

    /// River's `insert`, one sample at a time, written plainly: the reference for folding.
    struct OneByOne {
        max_buckets: usize,
        total: f64,
        variance: f64,
        width: f64,
        rows: Vec<Vec<(f64, f64)>>,
    }

    impl OneByOne {
        fn insert(&mut self, x: f64) {
            self.width += 1.0;
            if self.width > 1.0 {
                let d = x - self.total / (self.width - 1.0);
                self.variance += (self.width - 1.0) * d * d / self.width;
            }
            self.total += x;
            self.rows[0].push((x, 0.0));
            let mut row = 0;
            while self.rows[row].len() == self.max_buckets + 1 {
                let size = (1u64 << row) as f64;
                let ((t0, v0), (t1, v1)) = (self.rows[row][0], self.rows[row][1]);
                let (mu0, mu1) = (t0 / size, t1 / size);
                let v = v0 + v1 + size * size * (mu0 - mu1) * (mu0 - mu1) / (size + size);
                self.rows[row].drain(..2);
                if row + 1 == self.rows.len() {
                    self.rows.push(Vec::new());
                }
                self.rows[row + 1].push((t0 + t1, v));
                row += 1;
            }
        }
    }

    #[test]
    fn folding_blocks_equals_inserting_one_by_one() {
        let xs = stream(11, 5000, 3.0, 0.5, &[(2500, 1.0)]);
        for max_buckets in [2, 3, 5, 9, 70] {
            for clock in [1, 7, 32, 64, 100, 1000] {
                // No check ever runs (grace period), so only insertion is compared.
                let p = AdwinParams::new()
                    .clock(clock)
                    .max_buckets(max_buckets)
                    .grace_period(u32::MAX)
                    .check()
                    .unwrap();
                let mb = max_buckets as usize;
                let mut w = Window::new(mb);
                let mut r = OneByOne {
                    max_buckets: mb,
                    total: 0.0,
                    variance: 0.0,
                    width: 0.0,
                    rows: vec![Vec::new()],
                };
                for (i, &x) in xs.iter().enumerate() {
                    assert!(!w.accept::<true>(x, &p));
                    r.insert(x);
                    let at = format!("mb {mb} clock {clock} sample {i}");
                    assert_eq!(w.width(), r.width, "{at}");
                    assert_eq!(w.total().to_bits(), r.total.to_bits(), "{at}");
                    if w.waiting > 0 {
                        continue;
                    }
                    assert_eq!(w.variance.to_bits(), r.variance.to_bits(), "{at}");
                    let lens: Vec<usize> = r.rows.iter().map(Vec::len).collect();
                    assert_eq!(w.lens, lens, "{at}");
                    let stride = w.stride();
                    let mut rows = r.rows.iter().enumerate();
                    assert!(
                        rows.all(|(k, row)| {
                            let at = k * stride;
                            let ts = &w.totals[at..at + w.lens[k]];
                            let vs = &w.variances[at..at + w.lens[k]];
                            let bits = |x: f64| x.to_bits();
                            row.iter()
                                .map(|s| bits(s.0))
                                .eq(ts.iter().map(|&t| bits(t)))
                                && row
                                    .iter()
                                    .map(|s| bits(s.1))
                                    .eq(vs.iter().map(|&v| bits(v)))
                        }),
                        "{at}"
                    );
                }
            }
        }
    }

    /// The running sums a window keeps from pass to pass are those a full pass computes.
    fn assert_sums_fresh(w: &Window) {
        if w.sums.stale != 0 {
            return;
        }
        let mut fresh = Sums::default();
        fresh.update(&w.lens, &w.totals, w.stride());
        let bits = |xs: &[f64]| xs.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
        assert_eq!(bits(&w.sums.n0), bits(&fresh.n0));
        assert_eq!(bits(&w.sums.u0), bits(&fresh.u0));
        assert_eq!(bits(&w.sums.mag), bits(&fresh.mag));
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
