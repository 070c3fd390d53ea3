//! What an area's experiment hands back to whoever presents it.
//!
//! Every area crate exposes `experiment::run(&ExperimentConfig) -> Result<ExperimentReport>`.
//! The report holds only data — named numbers, tables of series, prose — so the CLI (or a
//! notebook, or a test) decides how to show it. Nothing here draws or prints.

use std::sync::Arc;

use serde::{Deserialize, Serialize};

use crate::backend::BackendKind;

/// Receives progress from a long-running experiment; the CLI maps it onto a progress bar.
pub trait Progress: Send + Sync {
    /// Announces the total number of work units (steps, epochs, trials).
    fn set_length(&self, total: u64);
    /// Marks `delta` more units done.
    fn inc(&self, delta: u64);
    /// Says what is running now.
    fn message(&self, msg: &str);
}

/// A [`Progress`] that ignores everything (tests, `--quiet`).
#[derive(Debug, Default, Clone, Copy)]
pub struct NoProgress;

impl Progress for NoProgress {
    fn set_length(&self, _total: u64) {}
    fn inc(&self, _delta: u64) {}
    fn message(&self, _msg: &str) {}
}

/// Settings shared by every experiment.
#[derive(Clone)]
pub struct ExperimentConfig {
    /// CI-sized run: fewer steps and trials, same code paths.
    pub quick: bool,
    /// Seed for every random choice the experiment makes.
    pub seed: u64,
    /// Backend for the tensor work.
    pub backend: BackendKind,
    /// Where progress goes.
    pub progress: Arc<dyn Progress>,
}

impl std::fmt::Debug for ExperimentConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ExperimentConfig")
            .field("quick", &self.quick)
            .field("seed", &self.seed)
            .field("backend", &self.backend)
            .finish_non_exhaustive()
    }
}

impl Default for ExperimentConfig {
    fn default() -> Self {
        Self {
            quick: true,
            seed: 0,
            backend: BackendKind::default(),
            progress: Arc::new(NoProgress),
        }
    }
}

/// A named number in a report (`final_loss`, `epsilon`, ...).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Metric {
    /// Machine-friendly name.
    pub name: String,
    /// The value.
    pub value: f64,
    /// Unit or short qualifier (`s`, `%`, `relative`), empty if none.
    pub unit: String,
    /// One sentence saying what the number means.
    pub description: String,
}

/// One line (or scatter) of a figure.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Series {
    /// Legend label.
    pub label: String,
    /// X values.
    pub x: Vec<f64>,
    /// Y values, same length as `x`.
    pub y: Vec<f64>,
}

/// How a figure's axis is scaled.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub enum Scale {
    /// Linear axis.
    #[default]
    Linear,
    /// Base-10 logarithmic axis (non-positive values are dropped when drawn).
    Log,
}

/// A figure: a few series sharing axes. Presenters draw one SVG per figure.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Figure {
    /// File-name-safe identifier (`loss_curve`).
    pub name: String,
    /// Title shown above the plot.
    pub title: String,
    /// X axis label.
    pub x_label: String,
    /// Y axis label.
    pub y_label: String,
    /// Y axis scale.
    pub y_scale: Scale,
    /// The data.
    pub series: Vec<Series>,
}

/// Everything an experiment found.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ExperimentReport {
    /// Identifier used on the command line (`kiln reproduce NAME`).
    pub name: String,
    /// Human title.
    pub title: String,
    /// What the experiment shows, in a paragraph (Markdown).
    pub summary: String,
    /// Named numbers.
    pub metrics: Vec<Metric>,
    /// Figures to draw.
    pub figures: Vec<Figure>,
    /// Extra remarks (Markdown paragraphs): caveats, how to rerun, what differs from the paper.
    pub notes: Vec<String>,
}

impl ExperimentReport {
    /// Starts an empty report.
    pub fn new(
        name: impl Into<String>,
        title: impl Into<String>,
        summary: impl Into<String>,
    ) -> Self {
        Self {
            name: name.into(),
            title: title.into(),
            summary: summary.into(),
            metrics: Vec::new(),
            figures: Vec::new(),
            notes: Vec::new(),
        }
    }

    /// Adds a metric.
    pub fn metric(
        &mut self,
        name: impl Into<String>,
        value: f64,
        unit: impl Into<String>,
        description: impl Into<String>,
    ) -> &mut Self {
        self.metrics.push(Metric {
            name: name.into(),
            value,
            unit: unit.into(),
            description: description.into(),
        });
        self
    }

    /// Adds a figure.
    pub fn figure(&mut self, figure: Figure) -> &mut Self {
        self.figures.push(figure);
        self
    }

    /// Adds a note.
    pub fn note(&mut self, note: impl Into<String>) -> &mut Self {
        self.notes.push(note.into());
        self
    }

    /// Looks a metric up by name.
    pub fn get(&self, name: &str) -> Option<f64> {
        self.metrics
            .iter()
            .find(|m| m.name == name)
            .map(|m| m.value)
    }
}

impl Figure {
    /// Starts a figure with linear axes and no series.
    pub fn new(
        name: impl Into<String>,
        title: impl Into<String>,
        x_label: impl Into<String>,
        y_label: impl Into<String>,
    ) -> Self {
        Self {
            name: name.into(),
            title: title.into(),
            x_label: x_label.into(),
            y_label: y_label.into(),
            y_scale: Scale::Linear,
            series: Vec::new(),
        }
    }

    /// Uses a logarithmic y axis.
    pub fn log_y(mut self) -> Self {
        self.y_scale = Scale::Log;
        self
    }

    /// Adds a series.
    pub fn with_series(mut self, label: impl Into<String>, x: Vec<f64>, y: Vec<f64>) -> Self {
        self.series.push(Series {
            label: label.into(),
            x,
            y,
        });
        self
    }
}
