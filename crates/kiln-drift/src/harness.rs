//! The evaluation harness: seeded drift generators, detection metrics over many seeds, the
//! issue's targets, against a do-nothing baseline.

use rand::RngExt;
use rand_distr::{Distribution, StandardNormal};
use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use crate::any::{AnyDetector, DetectorKind};
use crate::errors::{DriftError, Result};
use crate::signal::Detector;

/// A kind of drift the harness generates.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Scenario {
    /// N(0,1) then N(1,1) at 1000 (a 1-sigma mean shift), 2000 samples.
    Abrupt,
    /// From N(0,1) to N(1,1) over 500 samples from 1000: each sample comes from the new concept
    /// with probability rising linearly; 3000 samples.
    Gradual,
    /// The mean ramps linearly from 0 to 1 over 500 samples from 1000; 3000 samples.
    Incremental,
    /// N(0,1) / N(1,1) alternating at 1000, 2000, 3000; 4000 samples.
    Recurring,
    /// N(0,1) then N(0,3^2) at 1000 (mean unchanged), 2000 samples.
    VarianceOnly,
    /// 0/1 errors, rate 0.1 then 0.4 at 1000, 2000 samples.
    ErrorRate,
    /// A training-loss curve `0.2 + 2 exp(-t/300) + N(0, 0.05^2)` that jumps up by 0.25
    /// (5 sigma) at a seeded point in [1000, 2000), 3000 samples.
    LossJump,
    /// Stationary N(0,1) (Bernoulli(0.1) for the binary detectors), for the false-alarm rate.
    Stationary,
}

impl Scenario {
    /// Every scenario.
    pub const ALL: [Scenario; 8] = [
        Scenario::Abrupt,
        Scenario::Gradual,
        Scenario::Incremental,
        Scenario::Recurring,
        Scenario::VarianceOnly,
        Scenario::ErrorRate,
        Scenario::LossJump,
        Scenario::Stationary,
    ];

    /// The scenario's name.
    pub fn name(self) -> &'static str {
        match self {
            Scenario::Abrupt => "abrupt",
            Scenario::Gradual => "gradual",
            Scenario::Incremental => "incremental",
            Scenario::Recurring => "recurring",
            Scenario::VarianceOnly => "variance-only",
            Scenario::ErrorRate => "error-rate",
            Scenario::LossJump => "loss-jump",
            Scenario::Stationary => "stationary",
        }
    }

    /// The stream for `seed` and its change points. `len` sets the stationary stream's length
    /// (the others have fixed lengths); `binary` asks for a 0/1 stationary stream.
    pub fn generate(self, seed: u64, len: usize, binary: bool) -> (Vec<f64>, Vec<usize>) {
        let mut rng = kiln_core::seed::rng_stream(seed, self as u64);
        let gauss = |rng: &mut kiln_core::seed::KilnRng, mean: f64, sd: f64| {
            let z: f64 = StandardNormal.sample(rng);
            mean + sd * z
        };
        match self {
            Scenario::Abrupt => {
                let xs = (0..2000)
                    .map(|i| gauss(&mut rng, if i >= 1000 { 1.0 } else { 0.0 }, 1.0))
                    .collect();
                (xs, vec![1000])
            }
            Scenario::Gradual => {
                let xs = (0..3000)
                    .map(|i| {
                        let p = ((i as f64 - 1000.0) / 500.0).clamp(0.0, 1.0);
                        let new = rng.random::<f64>() < p;
                        gauss(&mut rng, if new { 1.0 } else { 0.0 }, 1.0)
                    })
                    .collect();
                (xs, vec![1000])
            }
            Scenario::Incremental => {
                let xs = (0..3000)
                    .map(|i| {
                        let m = ((i as f64 - 1000.0) / 500.0).clamp(0.0, 1.0);
                        gauss(&mut rng, m, 1.0)
                    })
                    .collect();
                (xs, vec![1000])
            }
            Scenario::Recurring => {
                let xs = (0..4000)
                    .map(|i| gauss(&mut rng, ((i / 1000) % 2) as f64, 1.0))
                    .collect();
                (xs, vec![1000, 2000, 3000])
            }
            Scenario::VarianceOnly => {
                let xs = (0..2000)
                    .map(|i| gauss(&mut rng, 0.0, if i >= 1000 { 3.0 } else { 1.0 }))
                    .collect();
                (xs, vec![1000])
            }
            Scenario::ErrorRate => {
                let xs = (0..2000)
                    .map(|i| {
                        let p = if i >= 1000 { 0.4 } else { 0.1 };
                        f64::from(u8::from(rng.random::<f64>() < p))
                    })
                    .collect();
                (xs, vec![1000])
            }
            Scenario::LossJump => {
                let change = rng.random_range(1000..2000);
                let xs = (0..3000)
                    .map(|t| {
                        let jump = if t >= change { 0.25 } else { 0.0 };
                        let curve = 0.2 + 2.0 * (-(t as f64) / 300.0).exp();
                        gauss(&mut rng, curve + jump, 0.05)
                    })
                    .collect();
                (xs, vec![change])
            }
            Scenario::Stationary => {
                let xs = (0..len)
                    .map(|_| {
                        if binary {
                            f64::from(u8::from(rng.random::<f64>() < 0.1))
                        } else {
                            gauss(&mut rng, 0.0, 1.0)
                        }
                    })
                    .collect();
                (xs, Vec::new())
            }
        }
    }
}

/// A detector the harness runs: a kiln detector with settings, or the do-nothing baseline.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Contender {
    /// Display name.
    pub label: String,
    /// The detector (`None`: the do-nothing baseline, which never signals).
    pub kind: Option<DetectorKind>,
    /// `key=value` settings over the detector's defaults.
    pub settings: Vec<(String, String)>,
}

impl Contender {
    /// What a training loop without drift detection does: never signal.
    pub fn do_nothing() -> Self {
        Self {
            label: "do-nothing".into(),
            kind: None,
            settings: Vec::new(),
        }
    }
    /// A kiln detector with its defaults.
    pub fn defaults(kind: DetectorKind) -> Self {
        Self {
            label: kind.name().into(),
            kind: Some(kind),
            settings: Vec::new(),
        }
    }
    /// A kiln detector with settings, shown as `label`.
    pub fn with_settings(label: &str, kind: DetectorKind, settings: &[(&str, &str)]) -> Self {
        Self {
            label: label.into(),
            kind: Some(kind),
            settings: settings
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
        }
    }
    fn binary_only(&self) -> bool {
        matches!(
            self.kind,
            Some(
                DetectorKind::Ddm | DetectorKind::Eddm | DetectorKind::HddmA | DetectorKind::HddmW
            )
        )
    }
    fn drifts(&self, xs: &[f64]) -> Result<Vec<usize>> {
        match self.kind {
            None => Ok(Vec::new()),
            Some(k) => Ok(AnyDetector::build(k, &self.settings)?
                .update_many(xs)?
                .drifts),
        }
    }
}

/// Sizes of a harness run.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct BenchConfig {
    /// Seeds per drift scenario (default 100).
    pub seeds: u64,
    /// Seeds of the stationary stream (default 10).
    pub stationary_seeds: u64,
    /// Length of each stationary stream (default 100 000).
    pub stationary_len: usize,
    /// First seed (seeds are `base_seed..base_seed + seeds`).
    pub base_seed: u64,
}

impl Default for BenchConfig {
    fn default() -> Self {
        Self {
            seeds: 100,
            stationary_seeds: 10,
            stationary_len: 100_000,
            base_seed: 0,
        }
    }
}

/// The metrics of one contender on one scenario, over all seeds.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Row {
    /// Contender name.
    pub detector: String,
    /// Scenario name.
    pub scenario: String,
    /// Number of streams.
    pub runs: u64,
    /// Changes (over all streams) alarmed before the next change or the stream's end.
    pub detected: u64,
    /// Changes never alarmed before the next change or the end.
    pub missed: u64,
    /// Mean samples from a change to its first alarm, over detected changes (`null` if none).
    pub mean_delay: Option<f64>,
    /// Alarms before the first change (or anywhere on the stationary stream) per 10^5 such
    /// samples.
    pub false_alarms_per_1e5: f64,
    /// Streams with at least one alarm before the first change.
    pub runs_with_false_alarm: u64,
}

/// One of the targets, checked.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Target {
    /// What is measured.
    pub name: String,
    /// The goal, in words (with river's figure).
    pub goal: String,
    /// What kiln measured.
    pub measured: String,
    /// Whether the goal is met.
    pub met: bool,
}

/// The harness table and the targets.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BenchReport {
    /// The sizes used.
    pub config: BenchConfig,
    /// One row per (contender, scenario).
    pub rows: Vec<Row>,
    /// The targets.
    pub targets: Vec<Target>,
}

impl BenchReport {
    /// The row of `detector` on `scenario`.
    pub fn row(&self, detector: &str, scenario: Scenario) -> Option<&Row> {
        self.rows
            .iter()
            .find(|r| r.detector == detector && r.scenario == scenario.name())
    }
}

#[derive(Default)]
struct Tally {
    detected: u64,
    missed: u64,
    delay_sum: f64,
    false_alarms: u64,
    pre_samples: u64,
    runs_with_false_alarm: u64,
}

fn score(drifts: &[usize], changes: &[usize], len: usize) -> Tally {
    let first = changes.first().copied().unwrap_or(len);
    let pre = drifts.iter().filter(|&&i| i < first).count() as u64;
    let mut t = Tally {
        false_alarms: pre,
        pre_samples: first as u64,
        runs_with_false_alarm: u64::from(pre > 0),
        ..Tally::default()
    };
    for (j, &c) in changes.iter().enumerate() {
        let end = changes.get(j + 1).copied().unwrap_or(len);
        match drifts.iter().find(|&&i| i >= c && i < end) {
            Some(&i) => {
                t.detected += 1;
                t.delay_sum += (i - c) as f64;
            }
            None => t.missed += 1,
        }
    }
    t
}

/// Runs `c` on `cfg.seeds` streams of `s` (`cfg.stationary_seeds` for the stationary one).
pub fn evaluate(c: &Contender, s: Scenario, cfg: &BenchConfig) -> Result<Row> {
    let stationary = s == Scenario::Stationary;
    let seeds = if stationary {
        cfg.stationary_seeds
    } else {
        cfg.seeds
    };
    let tallies: Vec<Tally> = (cfg.base_seed..cfg.base_seed + seeds)
        .into_par_iter()
        .map(|seed| {
            let (xs, changes) = s.generate(seed, cfg.stationary_len, c.binary_only());
            Ok(score(&c.drifts(&xs)?, &changes, xs.len()))
        })
        .collect::<Result<_>>()?;
    let mut sum = Tally::default();
    for t in &tallies {
        sum.detected += t.detected;
        sum.missed += t.missed;
        sum.delay_sum += t.delay_sum;
        sum.false_alarms += t.false_alarms;
        sum.pre_samples += t.pre_samples;
        sum.runs_with_false_alarm += t.runs_with_false_alarm;
    }
    Ok(Row {
        detector: c.label.clone(),
        scenario: s.name().into(),
        runs: seeds,
        detected: sum.detected,
        missed: sum.missed,
        mean_delay: (sum.detected > 0).then(|| sum.delay_sum / sum.detected as f64),
        false_alarms_per_1e5: if sum.pre_samples > 0 {
            sum.false_alarms as f64 * 1e5 / sum.pre_samples as f64
        } else {
            0.0
        },
        runs_with_false_alarm: sum.runs_with_false_alarm,
    })
}

/// Runs every contender (the do-nothing baseline, every kiln detector with its defaults, and
/// the loss monitor with the trailing-fit trend) on every scenario it applies to (binary
/// detectors only on the 0/1 streams) and checks the targets.
pub fn bench(cfg: &BenchConfig) -> Result<BenchReport> {
    if cfg.seeds == 0 || cfg.stationary_seeds == 0 || cfg.stationary_len == 0 {
        return Err(DriftError::invalid(
            "seeds",
            cfg.seeds.min(cfg.stationary_seeds),
            "need at least one seed and a non-empty stationary stream",
        ));
    }
    let mut contenders = vec![Contender::do_nothing()];
    contenders.extend(DetectorKind::ALL.map(Contender::defaults));
    contenders.push(Contender::with_settings(
        "loss-monitor/trailing-fit",
        DetectorKind::LossMonitor,
        &[("detrend", "trailing_fit")],
    ));
    let mut rows = Vec::new();
    for s in Scenario::ALL {
        for c in &contenders {
            let binary_stream = matches!(s, Scenario::ErrorRate | Scenario::Stationary);
            if c.binary_only() && !binary_stream {
                continue;
            }
            rows.push(evaluate(c, s, cfg)?);
        }
    }
    let mut report = BenchReport {
        config: *cfg,
        rows,
        targets: Vec::new(),
    };
    report.targets = targets(&report);
    Ok(report)
}

fn delay_target(r: &BenchReport, det: &str, s: Scenario, max: f64, goal: &str) -> Target {
    let row = r.row(det, s);
    let (measured, met) = match row {
        Some(row) => (
            format!(
                "{det}: mean delay {}, missed {}/{}, runs with a pre-change alarm {}",
                row.mean_delay.map_or("-".into(), |d| format!("{d:.1}")),
                row.missed,
                row.detected + row.missed,
                row.runs_with_false_alarm
            ),
            row.missed == 0
                && row.runs_with_false_alarm == 0
                && row.mean_delay.is_some_and(|d| d <= max),
        ),
        None => ("not run".into(), false),
    };
    Target {
        name: format!("{} detected by {det}", s.name()),
        goal: goal.into(),
        measured,
        met,
    }
}

fn targets(r: &BenchReport) -> Vec<Target> {
    let mut out = vec![
        delay_target(
            r,
            "cusum",
            Scenario::Abrupt,
            51.0,
            "1-sigma mean shift: mean delay <= 51, no pre-change alarm, none missed (river ADWIN: 51.5)",
        ),
        delay_target(
            r,
            "cusum",
            Scenario::ErrorRate,
            50.0,
            "error rate 0.1 -> 0.4: mean delay <= 50, no pre-change alarm, none missed (river HDDM_A: 49.6)",
        ),
        delay_target(
            r,
            "loss-monitor",
            Scenario::LossJump,
            60.0,
            "loss-curve +5 sigma jump: caught within 60 steps on average, no alarm during the decay (river ADWIN: 4 alarms during the decay; one-sided PH: 473 late)",
        ),
    ];
    let fa = r
        .row("cusum", Scenario::Stationary)
        .map(|row| row.false_alarms_per_1e5);
    out.push(Target {
        name: "false alarms of cusum on stationary N(0,1)".into(),
        goal: "< 1 false alarm per 10^5 samples at default settings (river Page-Hinkley: 65)"
            .into(),
        measured: fa.map_or("not run".into(), |f| format!("{f:.2} per 10^5")),
        met: fa.is_some_and(|f| f < 1.0),
    });
    out
}
