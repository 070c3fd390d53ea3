//! Settings: unchecked params with builder setters, `check()` into valid params.

use serde::{Deserialize, Serialize};

use crate::errors::{MotifsError, Result};

/// Which edges of a weight matrix become graph edges. Off-diagonal, non-zero entries only;
/// the sign of the weight is kept on the edge.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EdgeRule {
    /// Keep `w_ij` with `|w_ij| >= t` (and `w_ij != 0`).
    Absolute(f64),
    /// Keep the `k = ceil(f * N)` largest `|w_ij|` of the `N` off-diagonal entries: every entry
    /// with `|w_ij| >=` the k-th largest magnitude (ties at the cut are all kept), the rule of
    /// "keep the top 10% of weights" (`|W| >= quantile(|W|, 0.9)` in numpy when `f * N` is whole).
    TopFraction(f64),
}

/// Unchecked settings for turning a weight matrix into a graph.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WeightGraphParams {
    rule: EdgeRule,
}

impl Default for WeightGraphParams {
    /// Keeps the top 10% of off-diagonal weights by magnitude (`EdgeRule::TopFraction(0.1)`).
    fn default() -> Self {
        Self {
            rule: EdgeRule::TopFraction(0.1),
        }
    }
}

impl WeightGraphParams {
    /// Defaults: `EdgeRule::TopFraction(0.1)`.
    pub fn new() -> Self {
        Self::default()
    }

    /// Keeps `|w| >= threshold` (finite, `>= 0`).
    pub fn absolute(mut self, threshold: f64) -> Self {
        self.rule = EdgeRule::Absolute(threshold);
        self
    }

    /// Keeps the top `fraction` (in `(0, 1]`) of off-diagonal entries by `|w|`.
    pub fn keep_top(mut self, fraction: f64) -> Self {
        self.rule = EdgeRule::TopFraction(fraction);
        self
    }

    /// Validates the rule.
    pub fn check(self) -> Result<WeightGraphValidParams> {
        match self.rule {
            EdgeRule::Absolute(t) if !(t.is_finite() && t >= 0.0) => Err(MotifsError::invalid(
                "threshold",
                t,
                "must be finite and >= 0",
            )),
            EdgeRule::TopFraction(f) if !(f > 0.0 && f <= 1.0) => {
                Err(MotifsError::invalid("keep_top", f, "must be in (0, 1]"))
            }
            rule => Ok(WeightGraphValidParams { rule }),
        }
    }
}

/// Validated [`WeightGraphParams`].
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct WeightGraphValidParams {
    rule: EdgeRule,
}

impl WeightGraphValidParams {
    /// The edge rule.
    pub fn rule(&self) -> EdgeRule {
        self.rule
    }
}

/// The randomized networks motif counts are compared against.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum NullModel {
    /// mfinder's switching (Milo et al. 2002, 2004 SOM): asymmetric edges `a->b, c->d` become
    /// `a->d, c->b` and mutual dyads `a<->b, c<->d` become `a<->d, c<->b`, only when no dyad
    /// exists at the new positions; every node keeps its in-, out- and mutual degree. A random
    /// number of trials in `[Q*E, 2*Q*E]` per network. mfinder's default.
    #[default]
    Switching,
    /// igraph's `Graph.rewire()` (mode "simple"): any two edges `a->b, c->d` become `a->d, c->b`
    /// unless that makes a loop or a duplicate; keeps in/out degrees, not mutual dyads.
    /// `Q*E` trials (igraph's default is `10*E`).
    Degree,
    /// Erased configuration model (igraph `Degree_Sequence(method="configuration")` then
    /// `simplify()`): out-stubs matched to in-stubs uniformly, then loops and duplicates
    /// dropped, so degrees are at most the originals.
    Configuration,
    /// Erdős–Rényi G(n, m): `m` distinct directed non-loop edges uniformly (igraph
    /// `Erdos_Renyi(n, m, directed=True)`).
    Gnm,
}

impl NullModel {
    /// All four models.
    pub const ALL: [NullModel; 4] = [
        NullModel::Switching,
        NullModel::Degree,
        NullModel::Configuration,
        NullModel::Gnm,
    ];

    /// The command-line name (`switching`, `degree`, `configuration`, `gnm`).
    pub fn name(self) -> &'static str {
        match self {
            NullModel::Switching => "switching",
            NullModel::Degree => "degree",
            NullModel::Configuration => "configuration",
            NullModel::Gnm => "gnm",
        }
    }
}

impl std::str::FromStr for NullModel {
    type Err = MotifsError;
    fn from_str(s: &str) -> Result<Self> {
        NullModel::ALL
            .into_iter()
            .find(|m| m.name() == s)
            .ok_or_else(|| {
                MotifsError::invalid("null", s, "expected switching|degree|configuration|gnm")
            })
    }
}

/// Unchecked settings of a significance test against a null ensemble.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SignificanceParams {
    size: usize,
    model: NullModel,
    samples: usize,
    switches_per_edge: f64,
}

impl Default for SignificanceParams {
    /// Size 3, [`NullModel::Switching`], 100 null graphs, `Q = 10` switches per edge (the
    /// reference ensembles in `tests/data` use 100 graphs and 10 trials per edge; Milo et al.
    /// 2004 used `Q = 100`).
    fn default() -> Self {
        Self {
            size: 3,
            model: NullModel::Switching,
            samples: 100,
            switches_per_edge: 10.0,
        }
    }
}

impl SignificanceParams {
    /// Defaults: size 3, switching null, 100 samples, `Q = 10`.
    pub fn new() -> Self {
        Self::default()
    }

    /// Motif size: 3 (the 13 connected triads) or 4 (199 classes).
    pub fn size(mut self, size: usize) -> Self {
        self.size = size;
        self
    }

    /// The null model.
    pub fn model(mut self, model: NullModel) -> Self {
        self.model = model;
        self
    }

    /// Number of null graphs (>= 2, for a standard deviation).
    pub fn samples(mut self, samples: usize) -> Self {
        self.samples = samples;
        self
    }

    /// `Q`: switch trials per edge for the switching models (finite, > 0).
    pub fn switches_per_edge(mut self, q: f64) -> Self {
        self.switches_per_edge = q;
        self
    }

    /// Validates the settings.
    pub fn check(self) -> Result<SignificanceValidParams> {
        if !(3..=4).contains(&self.size) {
            return Err(MotifsError::invalid("size", self.size, "must be 3 or 4"));
        }
        if self.samples < 2 {
            return Err(MotifsError::invalid(
                "samples",
                self.samples,
                "must be >= 2",
            ));
        }
        if !(self.switches_per_edge.is_finite() && self.switches_per_edge > 0.0) {
            return Err(MotifsError::invalid(
                "switches_per_edge",
                self.switches_per_edge,
                "must be finite and > 0",
            ));
        }
        Ok(SignificanceValidParams {
            size: self.size,
            model: self.model,
            samples: self.samples,
            switches_per_edge: self.switches_per_edge,
        })
    }
}

/// Validated [`SignificanceParams`].
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SignificanceValidParams {
    size: usize,
    model: NullModel,
    samples: usize,
    switches_per_edge: f64,
}

impl SignificanceValidParams {
    /// Motif size.
    pub fn size(&self) -> usize {
        self.size
    }
    /// Null model.
    pub fn model(&self) -> NullModel {
        self.model
    }
    /// Number of null graphs.
    pub fn samples(&self) -> usize {
        self.samples
    }
    /// Switch trials per edge `Q`.
    pub fn switches_per_edge(&self) -> f64 {
        self.switches_per_edge
    }
}

/// Unchecked RAND-ESU settings.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RandEsuParams {
    size: usize,
    probabilities: Vec<f64>,
}

impl Default for RandEsuParams {
    /// Size 4 with probabilities `[1, 1, 0.5, 0.5]` (Wernicke 2006 recommends keeping the upper
    /// levels complete and thinning the deep ones).
    fn default() -> Self {
        Self {
            size: 4,
            probabilities: vec![1.0, 1.0, 0.5, 0.5],
        }
    }
}

impl RandEsuParams {
    /// Defaults: size 4, `[1, 1, 0.5, 0.5]`.
    pub fn new() -> Self {
        Self::default()
    }
    /// Subgraph size, 3..=5.
    pub fn size(mut self, size: usize) -> Self {
        self.size = size;
        self
    }
    /// One probability per ESU depth (length = size), each in `(0, 1]`.
    pub fn probabilities(mut self, p: Vec<f64>) -> Self {
        self.probabilities = p;
        self
    }
    /// Validates the settings.
    pub fn check(self) -> Result<RandEsuValidParams> {
        if !(3..=5).contains(&self.size) {
            return Err(MotifsError::invalid("size", self.size, "must be 3, 4 or 5"));
        }
        if self.probabilities.len() != self.size {
            return Err(MotifsError::invalid(
                "probabilities",
                format!("{:?}", self.probabilities),
                "needs one probability per depth (length = size)",
            ));
        }
        if let Some(p) = self
            .probabilities
            .iter()
            .find(|p| !(**p > 0.0 && **p <= 1.0))
        {
            return Err(MotifsError::invalid(
                "probabilities",
                p,
                "each must be in (0, 1]",
            ));
        }
        Ok(RandEsuValidParams {
            size: self.size,
            probabilities: self.probabilities,
        })
    }
}

/// Validated [`RandEsuParams`].
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RandEsuValidParams {
    size: usize,
    probabilities: Vec<f64>,
}

impl RandEsuValidParams {
    /// Subgraph size.
    pub fn size(&self) -> usize {
        self.size
    }
    /// Per-depth probabilities.
    pub fn probabilities(&self) -> &[f64] {
        &self.probabilities
    }
}
