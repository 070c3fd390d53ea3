//! ADWIN (Bifet & Gavaldà 2007), river's exponential-histogram variant, operation for
//! operation (river 0.26.1's Rust core, itself a port of its Cython `adwin_c.pyx`), so the
//! detection indices are river's exactly.

use serde::{Deserialize, Serialize};

use crate::errors::Result;
use crate::hyperparams::AdwinValidParams;
use crate::signal::{Detector, Signal, check_finite};

/// The adaptive window (river's `AdaptiveWindowing`): an exponential histogram whose row `r`
/// holds up to `max_buckets + 1` summaries (total, variance) of `2^r` samples each, oldest
/// first, stored flat (`stride = max_buckets + 1` slots per row) for cache locality.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct Window {
    total: f64,
    variance: f64,
    width: f64,
    tick: u64,
    stride: usize,
    lens: Vec<usize>,
    totals: Vec<f64>,
    variances: Vec<f64>,
}

impl Window {
    /// Whether a deserialized window is shaped as `max_buckets` requires (so updates cannot
    /// index outside it).
    fn consistent(&self, max_buckets: usize) -> bool {
        self.stride == max_buckets + 1
            && !self.lens.is_empty()
            && self.lens.iter().all(|&l| l <= self.stride)
            && self.lens.len().checked_mul(self.stride) == Some(self.totals.len())
            && self.totals.len() == self.variances.len()
            && self.lens.len() < 64
    }
}

impl Window {
    fn new(max_buckets: usize) -> Self {
        let stride = max_buckets + 1;
        Self {
            total: 0.0,
            variance: 0.0,
            width: 0.0,
            tick: 0,
            stride,
            lens: vec![0],
            totals: vec![0.0; stride],
            variances: vec![0.0; stride],
        }
    }

    fn push(&mut self, row: usize, total: f64, variance: f64) {
        if row == self.lens.len() {
            self.lens.push(0);
            self.totals.resize(self.totals.len() + self.stride, 0.0);
            self.variances
                .resize(self.variances.len() + self.stride, 0.0);
        }
        let i = row * self.stride + self.lens[row];
        self.totals[i] = total;
        self.variances[i] = variance;
        self.lens[row] += 1;
    }

    /// Drops the `k` oldest summaries of `row`.
    fn drop_front(&mut self, row: usize, k: usize) {
        let base = row * self.stride;
        let len = self.lens[row];
        self.totals.copy_within(base + k..base + len, base);
        self.variances.copy_within(base + k..base + len, base);
        self.lens[row] = len - k;
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
            let b = row * self.stride;
            let (t0, t1) = (self.totals[b], self.totals[b + 1]);
            let (v0, v1) = (self.variances[b], self.variances[b + 1]);
            let (mu0, mu1) = (t0 / size, t1 / size);
            let v = v0 + v1 + size * size * (mu0 - mu1) * (mu0 - mu1) / (size + size);
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
        let b = last * self.stride;
        let (u, v) = (self.totals[b], self.variances[b]);
        let mu = u / n;
        self.width -= n;
        self.total -= u;
        let mu_window = self.total / self.width;
        self.variance -=
            v + n * self.width * (mu - mu_window) * (mu - mu_window) / (n + self.width);
        self.drop_front(last, 1);
        if self.lens[last] == 0 {
            self.lens.pop();
            self.totals.truncate(b);
            self.variances.truncate(b);
        }
    }

    /// Checks every cut (oldest to newest); on a significant one drops the oldest summary and
    /// checks again. The cut test is river's
    /// `|mu0 - mu1| > sqrt(2 m var/n dp) + 2/3 dp m`, `dp = ln(2 ln(n) / delta)`,
    /// `m = 1/(n0-M+1) + 1/(n1-M+1)`, with `dp` and `var/n` computed once per pass (they only
    /// change when the window does), which gives the same values.
    fn detect(&mut self, p: &AdwinValidParams) -> bool {
        self.tick += 1;
        let mut change = false;
        if !self.tick.is_multiple_of(u64::from(p.clock()))
            || self.width <= f64::from(p.grace_period())
        {
            return false;
        }
        let min_len = f64::from(p.min_window_length());
        let mut again = true;
        while again {
            again = false;
            let delta_prime = (2.0 * self.width.ln() / p.delta()).ln();
            let var_n = self.variance / self.width;
            let (mut n0, mut n1, mut u0, mut u1) = (0.0, self.width, 0.0, self.total);
            'rows: for row in (0..self.lens.len()).rev() {
                let size = (1u64 << row) as f64;
                let len = self.lens[row];
                let b = row * self.stride;
                for k in 0..len {
                    let t = self.totals[b + k];
                    n0 += size;
                    n1 -= size;
                    u0 += t;
                    u1 -= t;
                    if row == 0 && k + 1 == len {
                        break 'rows;
                    }
                    if n1 < min_len || n0 < min_len {
                        continue;
                    }
                    let delta_mean = u0 / n0 - u1 / n1;
                    let m_recip = 1.0 / (n0 - min_len + 1.0) + 1.0 / (n1 - min_len + 1.0);
                    let epsilon = (2.0 * m_recip * var_n * delta_prime).sqrt()
                        + 2.0 / 3.0 * delta_prime * m_recip;
                    if delta_mean.abs() > epsilon {
                        again = true;
                        change = true;
                        if self.width > 0.0 {
                            self.delete_oldest();
                            break 'rows;
                        }
                    }
                }
            }
        }
        change
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
        Ok(Self {
            params: s.params,
            window: s.window,
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
