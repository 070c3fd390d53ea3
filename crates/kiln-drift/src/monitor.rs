//! The loss-stream monitor: detrend, standardize, one-sided CUSUM, warm-up mask, minimum gap,
//! estimated change point.

use std::collections::VecDeque;

use serde::{Deserialize, Serialize};

use crate::errors::Result;
use crate::hyperparams::{Detrend, LossMonitorValidParams};
use crate::signal::{Detector, Signal, check_finite};

/// `median |x_t - x_(t-1)|` of N(0, 2 sigma^2) differences is `0.67449 sqrt(2) sigma`.
const MAD_DIFF_TO_SIGMA: f64 = 0.674_489_750_196_081_7 * std::f64::consts::SQRT_2;

/// One alarm of the monitor.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Alarm {
    /// 0-based index of the sample that raised it.
    pub index: u64,
    /// Estimated change point: the first sample of the CUSUM excursion that crossed the
    /// threshold.
    pub change_point: u64,
}

/// Watches a training or validation loss for a sudden sustained increase.
///
/// Each sample `x_t` is compared with a prediction from the samples before it (an EWMA level,
/// or a Theil–Sen line over a trailing window, per [`Detrend`]); the residual is divided by a
/// robust noise scale (the median absolute first difference over a trailing window, which a
/// smooth trend and a single jump barely move), clipped, and fed to an upper CUSUM
/// `S = max(0, S + z - k)`. Only increases count: the normal decrease of a loss gives negative
/// residuals. No alarm during `warmup` samples after start and after each alarm (the monitor
/// restarts its trend and scale on the new level), nor within `min_gap` samples of the previous
/// alarm. Warning when `S` passes half the threshold.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LossMonitor {
    params: LossMonitorValidParams,
    history: VecDeque<f64>,
    level: Option<f64>,
    n: u64,
    cusum: f64,
    start: u64,
    last_alarm: Option<Alarm>,
    alarms: Vec<Alarm>,
    seen: u64,
}

impl LossMonitor {
    /// A monitor with these settings.
    pub fn new(params: LossMonitorValidParams) -> Self {
        Self {
            params,
            history: VecDeque::new(),
            level: None,
            n: 0,
            cusum: 0.0,
            start: 0,
            last_alarm: None,
            alarms: Vec::new(),
            seen: 0,
        }
    }
    /// The last alarm, with its estimated change point.
    pub fn last_alarm(&self) -> Option<Alarm> {
        self.last_alarm
    }
    /// Every alarm since construction (or the last [`Detector::reset`]).
    pub fn alarms(&self) -> &[Alarm] {
        &self.alarms
    }
    /// The current CUSUM statistic.
    pub fn statistic(&self) -> f64 {
        self.cusum
    }

    fn capacity(&self) -> usize {
        let p = &self.params;
        ((p.fit_window() + p.guard()).max(p.scale_window() + 1)) as usize
    }

    fn predict(&self) -> Option<f64> {
        match self.params.detrend() {
            Detrend::Ewma => self.level,
            Detrend::TrailingFit => {
                let guard = self.params.guard() as usize;
                let end = self.history.len().checked_sub(guard)?;
                let w = (self.params.fit_window() as usize).min(end);
                let ys: Vec<f64> = self.history.range(end - w..end).copied().collect();
                theil_sen_at(&ys, (w + guard) as f64)
            }
        }
    }

    fn scale(&self) -> Option<f64> {
        let w = (self.params.scale_window() as usize).min(self.history.len().saturating_sub(1));
        if w < 2 {
            return None;
        }
        let len = self.history.len();
        let mut d: Vec<f64> = (len - w..len)
            .map(|i| (self.history[i] - self.history[i - 1]).abs())
            .collect();
        let mean_abs = d.iter().sum::<f64>() / d.len() as f64;
        let mad = median(&mut d);
        // Mostly-constant streams (0/1 losses) have a zero median difference: fall back to the
        // mean absolute difference (`2 sigma / sqrt(pi)` for Gaussian noise).
        Some(if mad > 0.0 {
            mad / MAD_DIFF_TO_SIGMA
        } else {
            mean_abs * std::f64::consts::PI.sqrt() / 2.0
        })
    }

    fn observe(&mut self, x: f64) {
        if self.history.len() == self.capacity() {
            self.history.pop_front();
        }
        self.history.push_back(x);
        let a = self.params.alpha();
        // `l + a (x - l)` keeps a constant stream's level exactly constant.
        self.level = Some(self.level.map_or(x, |l| l + a * (x - l)));
    }

    /// Forgets the trend, the scale and the CUSUM (not the alarm history).
    fn restart(&mut self) {
        self.history.clear();
        self.level = None;
        self.n = 0;
        self.cusum = 0.0;
    }
}

impl Detector for LossMonitor {
    fn update(&mut self, x: f64) -> Result<Signal> {
        check_finite("loss-monitor", self.seen, x)?;
        let t = self.seen;
        self.seen += 1;
        self.n += 1;
        let p = self.params.clone();
        let mut signal = Signal::None;
        if self.n > p.warmup()
            && let (Some(pred), Some(scale)) = (self.predict(), self.scale())
        {
            let r = x - pred;
            // Without noise, any change beyond rounding is maximal evidence.
            let z = if scale > 0.0 {
                (r / scale).clamp(-p.clip(), p.clip())
            } else if r.abs() <= 1e-12 * x.abs().max(1.0) {
                0.0
            } else {
                p.clip().copysign(r)
            };
            if self.cusum == 0.0 {
                self.start = t;
            }
            self.cusum = (self.cusum + z - p.k()).max(0.0);
            let gap_ok = self
                .last_alarm
                .is_none_or(|a| t.saturating_sub(a.index) >= p.min_gap());
            if self.cusum > p.threshold() && gap_ok {
                let alarm = Alarm {
                    index: t,
                    change_point: self.start,
                };
                self.last_alarm = Some(alarm);
                self.alarms.push(alarm);
                self.restart();
                self.observe(x);
                self.n = 1;
                return Ok(Signal::Drift);
            }
            if self.cusum > 0.5 * p.threshold() {
                signal = Signal::Warning;
            }
        }
        self.observe(x);
        Ok(signal)
    }
    fn reset(&mut self) {
        *self = Self::new(self.params.clone());
    }
    fn name(&self) -> &'static str {
        "loss-monitor"
    }
}

/// Median of finite values (reorders `v`); `v` is non-empty.
fn median(v: &mut [f64]) -> f64 {
    let mid = v.len() / 2;
    let (_, m, _) = v.select_nth_unstable_by(mid, f64::total_cmp);
    let upper = *m;
    if v.len() % 2 == 1 {
        upper
    } else {
        let lower = v[..mid].iter().copied().fold(f64::NEG_INFINITY, f64::max);
        0.5 * (lower + upper)
    }
}

/// Theil–Sen line through `(i, ys[i])`, evaluated at `at`.
fn theil_sen_at(ys: &[f64], at: f64) -> Option<f64> {
    let n = ys.len();
    if n < 3 {
        return None;
    }
    let mut slopes = Vec::with_capacity(n * (n - 1) / 2);
    for i in 0..n {
        for j in i + 1..n {
            slopes.push((ys[j] - ys[i]) / (j - i) as f64);
        }
    }
    let slope = median(&mut slopes);
    let mut icepts: Vec<f64> = ys
        .iter()
        .enumerate()
        .map(|(i, y)| y - slope * i as f64)
        .collect();
    Some(median(&mut icepts) + slope * at)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn theil_sen_extrapolates_a_line_and_ignores_an_outlier() {
        let mut ys: Vec<f64> = (0..10).map(|i| 2.0 + 0.5 * i as f64).collect();
        assert!((theil_sen_at(&ys, 10.0).unwrap() - 7.0).abs() < 1e-12);
        ys[3] = 100.0;
        assert!((theil_sen_at(&ys, 12.0).unwrap() - 8.0).abs() < 1e-12);
    }

    #[test]
    fn median_even_and_odd() {
        assert_eq!(median(&mut [3.0, 1.0, 2.0]), 2.0);
        assert_eq!(median(&mut [4.0, 1.0, 3.0, 2.0]), 2.5);
    }
}
