//! ADWIN (Bifet & Gavaldà 2007), river's exponential-histogram variant, operation for
//! operation (river 0.26.1's Rust core, itself a port of its Cython `adwin_c.pyx`), so the
//! detection indices are river's exactly.

use serde::{Deserialize, Serialize};

use crate::errors::Result;
use crate::hyperparams::AdwinValidParams;
use crate::signal::{Detector, Signal, check_finite};

/// One row of the exponential histogram: up to `max_buckets + 1` summaries of `2^row` samples.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct Row {
    len: usize,
    totals: Vec<f64>,
    variances: Vec<f64>,
}

impl Row {
    fn new(max_buckets: usize) -> Self {
        Self {
            len: 0,
            totals: vec![0.0; max_buckets + 1],
            variances: vec![0.0; max_buckets + 1],
        }
    }
    fn push(&mut self, total: f64, variance: f64) {
        self.totals[self.len] = total;
        self.variances[self.len] = variance;
        self.len += 1;
    }
    /// Drops the `k` oldest summaries.
    fn drop_front(&mut self, k: usize) {
        self.totals.copy_within(k..self.len, 0);
        self.variances.copy_within(k..self.len, 0);
        self.len -= k;
        for i in self.len..self.len + k {
            self.totals[i] = 0.0;
            self.variances[i] = 0.0;
        }
    }
}

/// The adaptive window itself (what river calls `AdaptiveWindowing`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct Window {
    total: f64,
    variance: f64,
    width: f64,
    tick: u64,
    rows: Vec<Row>,
}

impl Window {
    fn new(max_buckets: usize) -> Self {
        Self {
            total: 0.0,
            variance: 0.0,
            width: 0.0,
            tick: 0,
            rows: vec![Row::new(max_buckets)],
        }
    }

    fn insert(&mut self, x: f64, max_buckets: usize) {
        self.rows[0].push(x, 0.0);
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
        while self.rows[row].len == max_buckets + 1 {
            let size = (1u64 << row) as f64;
            let r = &self.rows[row];
            let (t0, t1, v0, v1) = (r.totals[0], r.totals[1], r.variances[0], r.variances[1]);
            let (mu0, mu1) = (t0 / size, t1 / size);
            let v = v0 + v1 + size * size * (mu0 - mu1) * (mu0 - mu1) / (size + size);
            if row + 1 == self.rows.len() {
                self.rows.push(Row::new(max_buckets));
            }
            self.rows[row + 1].push(t0 + t1, v);
            self.rows[row].drop_front(2);
            if self.rows[row + 1].len <= max_buckets {
                break;
            }
            row += 1;
        }
    }

    /// Drops the oldest summary (from the last row).
    fn delete_oldest(&mut self) {
        let last = self.rows.len() - 1;
        let n = (1u64 << last) as f64;
        let (u, v) = (self.rows[last].totals[0], self.rows[last].variances[0]);
        let mu = u / n;
        self.width -= n;
        self.total -= u;
        let mu_window = self.total / self.width;
        self.variance -=
            v + n * self.width * (mu - mu_window) * (mu - mu_window) / (n + self.width);
        self.rows[last].drop_front(1);
        if self.rows[last].len == 0 {
            self.rows.pop();
        }
    }

    fn cut(&self, n0: f64, n1: f64, delta_mean: f64, p: &AdwinValidParams) -> bool {
        let m = f64::from(p.min_window_length());
        let delta_prime = (2.0 * self.width.ln() / p.delta()).ln();
        let m_recip = 1.0 / (n0 - m + 1.0) + 1.0 / (n1 - m + 1.0);
        let epsilon = (2.0 * m_recip * (self.variance / self.width) * delta_prime).sqrt()
            + 2.0 / 3.0 * delta_prime * m_recip;
        delta_mean.abs() > epsilon
    }

    /// Checks every cut (oldest to newest); on a significant one drops the oldest summary and
    /// checks again.
    fn detect(&mut self, p: &AdwinValidParams) -> bool {
        self.tick += 1;
        let mut change = false;
        if self.tick % u64::from(p.clock()) != 0 || self.width <= f64::from(p.grace_period()) {
            return false;
        }
        let min_len = f64::from(p.min_window_length());
        let mut again = true;
        while again {
            again = false;
            let (mut n0, mut n1, mut u0, mut u1) = (0.0, self.width, 0.0, self.total);
            'rows: for row in (0..self.rows.len()).rev() {
                let size = (1u64 << row) as f64;
                let len = self.rows[row].len;
                for k in 0..len {
                    let t = self.rows[row].totals[k];
                    n0 += size;
                    n1 -= size;
                    u0 += t;
                    u1 -= t;
                    if row == 0 && k + 1 == len {
                        break 'rows;
                    }
                    let delta_mean = u0 / n0 - u1 / n1;
                    if n1 >= min_len && n0 >= min_len && self.cut(n0, n1, delta_mean, p) {
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
pub struct Adwin {
    params: AdwinValidParams,
    window: Window,
    drift: bool,
    seen: u64,
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
