//! Parameters, validated once (linfa style): `XxxParams` (unchecked, builder methods) ->
//! `.check()` -> `XxxValidParams` (private fields, getters, made only by `check`) -> the
//! algorithm, built from the valid parameters ([`CtcLoss::new`](crate::CtcLoss::new),
//! [`BeamSearch::new`](crate::BeamSearch::new)).

use kiln_core::KilnError;
use serde::{Deserialize, Serialize};

use crate::errors::{CtcError, Result};

/// How per-sample losses are combined.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Reduction {
    /// One loss per sample, shape `[N]`.
    None,
    /// PyTorch's mean: each loss divided by its target length (clamped to at least 1), then
    /// the batch mean.
    #[default]
    Mean,
    /// Sum over the batch.
    Sum,
}

impl std::str::FromStr for Reduction {
    type Err = KilnError;
    fn from_str(s: &str) -> Result<Self, KilnError> {
        match s.trim().to_ascii_lowercase().as_str() {
            "none" => Ok(Reduction::None),
            "mean" => Ok(Reduction::Mean),
            "sum" => Ok(Reduction::Sum),
            _ => Err(KilnError::invalid(
                "reduction",
                s,
                "expected none, mean or sum",
            )),
        }
    }
}

/// What the `[T, N, C]` input holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum InputKind {
    /// Log-probabilities (each frame already log-softmaxed); the gradient is the true partial
    /// derivative `-posterior` (not PyTorch's `exp(lp) - posterior` convention, which only
    /// coincides after a log-softmax backward).
    #[default]
    LogProbs,
    /// Unnormalized logits; the loss applies log-softmax over classes itself and the gradient
    /// is `softmax - posterior`.
    Logits,
}

/// Unchecked parameters of [`CtcLoss`](crate::CtcLoss).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CtcLossParams {
    blank: usize,
    classes: Option<usize>,
    reduction: Reduction,
    zero_infinity: bool,
    input: InputKind,
}

impl Default for CtcLossParams {
    fn default() -> Self {
        Self::new()
    }
}

impl CtcLossParams {
    /// PyTorch's defaults: blank 0, mean reduction, no zero_infinity, log-prob input.
    pub fn new() -> Self {
        Self {
            blank: 0,
            classes: None,
            reduction: Reduction::Mean,
            zero_infinity: false,
            input: InputKind::LogProbs,
        }
    }
    /// Index of the blank class.
    pub fn blank(mut self, blank: usize) -> Self {
        self.blank = blank;
        self
    }
    /// Declares the number of classes (including blank): checked against `blank` now and
    /// against every input later. Without it, `blank` is checked per call.
    pub fn classes(mut self, classes: usize) -> Self {
        self.classes = Some(classes);
        self
    }
    /// Reduction over the batch.
    pub fn reduction(mut self, reduction: Reduction) -> Self {
        self.reduction = reduction;
        self
    }
    /// Replace infinite losses (infeasible samples) and their gradients by zero.
    pub fn zero_infinity(mut self, zero_infinity: bool) -> Self {
        self.zero_infinity = zero_infinity;
        self
    }
    /// Whether inputs are log-probabilities or logits.
    pub fn input(mut self, input: InputKind) -> Self {
        self.input = input;
        self
    }
    /// Validates the parameters; build the loss with [`CtcLoss::new`](crate::CtcLoss::new).
    pub fn check(self) -> Result<CtcLossValidParams> {
        if let Some(classes) = self.classes {
            if classes < 1 {
                return Err(KilnError::invalid(
                    "classes",
                    classes,
                    "need at least the blank class",
                )
                .into());
            }
            if self.blank >= classes {
                return Err(CtcError::BlankOutOfRange {
                    blank: self.blank,
                    classes,
                });
            }
        }
        Ok(CtcLossValidParams {
            blank: self.blank,
            classes: self.classes,
            reduction: self.reduction,
            zero_infinity: self.zero_infinity,
            input: self.input,
        })
    }
}

/// Checked parameters of [`CtcLoss`](crate::CtcLoss) (only [`CtcLossParams::check`] makes them).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CtcLossValidParams {
    pub(crate) blank: usize,
    pub(crate) classes: Option<usize>,
    pub(crate) reduction: Reduction,
    pub(crate) zero_infinity: bool,
    pub(crate) input: InputKind,
}

impl CtcLossValidParams {
    /// Blank index.
    pub fn blank(&self) -> usize {
        self.blank
    }
    /// Declared number of classes, if any.
    pub fn classes(&self) -> Option<usize> {
        self.classes
    }
    /// Reduction.
    pub fn reduction(&self) -> Reduction {
        self.reduction
    }
    /// Whether infinite losses become zero.
    pub fn zero_infinity(&self) -> bool {
        self.zero_infinity
    }
    /// Input kind.
    pub fn input(&self) -> InputKind {
        self.input
    }
}

/// Unchecked parameters of [`crate::BeamSearch`] (CTC prefix beam search).
#[derive(Debug, Clone)]
pub struct BeamSearchParams(BeamFields);

/// Checked parameters of [`crate::BeamSearch`] (only [`BeamSearchParams::check`] makes them).
#[derive(Debug, Clone)]
pub struct BeamSearchValidParams(pub(crate) BeamFields);

#[derive(Debug, Clone)]
pub(crate) struct BeamFields {
    pub(crate) alphabet: crate::Alphabet,
    pub(crate) beam_width: usize,
    pub(crate) min_log_prob: f64,
    pub(crate) top_k: usize,
    pub(crate) nbest: usize,
    pub(crate) lm: Option<std::sync::Arc<crate::NgramLm>>,
    pub(crate) alpha: f64,
    pub(crate) beta: f64,
    pub(crate) unk_score: f64,
    pub(crate) hotwords: Vec<String>,
    pub(crate) hotword_weight: f64,
}

impl BeamSearchParams {
    /// Defaults: beam 32, frame-level pruning of classes with log-probability below -10
    /// (probability 4.5e-5), no top-k limit, 1 hypothesis, no LM (`alpha` 0.5, `beta` 1.0,
    /// `unk_score` -10 once one is set: pyctcdecode's defaults), no hotwords (weight 10,
    /// pyctcdecode's default).
    pub fn new(alphabet: crate::Alphabet) -> Self {
        Self(BeamFields {
            alphabet,
            beam_width: 32,
            min_log_prob: -10.0,
            top_k: 0,
            nbest: 1,
            lm: None,
            alpha: 0.5,
            beta: 1.0,
            unk_score: -10.0,
            hotwords: Vec::new(),
            hotword_weight: 10.0,
        })
    }
    /// Number of prefixes kept after each frame.
    pub fn beam_width(mut self, w: usize) -> Self {
        self.0.beam_width = w;
        self
    }
    /// Per frame, classes whose log-probability is below this are not extended
    /// (`f64::NEG_INFINITY` disables the cut).
    pub fn min_log_prob(mut self, v: f64) -> Self {
        self.0.min_log_prob = v;
        self
    }
    /// Per frame, only the `k` most probable classes are extended (0: no limit).
    pub fn top_k(mut self, k: usize) -> Self {
        self.0.top_k = k;
        self
    }
    /// Number of hypotheses returned.
    pub fn nbest(mut self, k: usize) -> Self {
        self.0.nbest = k;
        self
    }
    /// Shallow fusion with a word-level n-gram model: `score = ln P_ctc + alpha ln P_lm +
    /// beta * words` (weights set by [`alpha`](Self::alpha) and [`beta`](Self::beta)); a word
    /// outside the model's vocabulary scores `unk_score` instead of `alpha ln P_lm` (also
    /// applied early, to a partial word no vocabulary word starts with).
    pub fn lm(mut self, lm: std::sync::Arc<crate::NgramLm>) -> Self {
        self.0.lm = Some(lm);
        self
    }
    /// LM weight `alpha` of the fusion score (default 0.5).
    pub fn alpha(mut self, alpha: f64) -> Self {
        self.0.alpha = alpha;
        self
    }
    /// Word-insertion bonus `beta` of the fusion score (default 1.0).
    pub fn beta(mut self, beta: f64) -> Self {
        self.0.beta = beta;
        self
    }
    /// Score of an out-of-vocabulary word (natural log).
    pub fn unk_score(mut self, v: f64) -> Self {
        self.0.unk_score = v;
        self
    }
    /// Words to boost: a completed hotword adds the [hotword weight](Self::hotword_weight); a
    /// partial word that starts a hotword adds `weight * chars_so_far / hotword_chars`, so it
    /// survives pruning until complete.
    pub fn hotwords(mut self, words: Vec<String>) -> Self {
        self.0.hotwords = words;
        self
    }
    /// Score added for a completed hotword (default 10).
    pub fn hotword_weight(mut self, weight: f64) -> Self {
        self.0.hotword_weight = weight;
        self
    }
    /// Validates the parameters; build the decoder with
    /// [`BeamSearch::new`](crate::BeamSearch::new).
    pub fn check(self) -> Result<BeamSearchValidParams> {
        let p = &self.0;
        if p.beam_width == 0 {
            return Err(KilnError::invalid("beam_width", 0, "must be >= 1").into());
        }
        if p.nbest == 0 || p.nbest > p.beam_width {
            return Err(KilnError::invalid(
                "nbest",
                p.nbest,
                format!("must be in 1..={} (the beam width)", p.beam_width),
            )
            .into());
        }
        if p.min_log_prob.is_nan() || p.min_log_prob > 0.0 {
            return Err(KilnError::invalid("min_log_prob", p.min_log_prob, "must be <= 0").into());
        }
        for (name, v) in [
            ("alpha", p.alpha),
            ("beta", p.beta),
            ("unk_score", p.unk_score),
            ("hotword_weight", p.hotword_weight),
        ] {
            if !v.is_finite() {
                return Err(KilnError::invalid(name, v, "must be finite").into());
            }
        }
        if let Some(w) = p.hotwords.iter().find(|w| w.is_empty() || w.contains(' ')) {
            return Err(KilnError::invalid(
                "hotword",
                format!("{w:?}"),
                "must be one non-empty word",
            )
            .into());
        }
        if (p.lm.is_some() || !p.hotwords.is_empty()) && p.alphabet.delimiter().is_none() {
            return Err(KilnError::invalid(
                "alphabet",
                "(no space)",
                "LM fusion and hotwords need a space symbol to split words",
            )
            .into());
        }
        Ok(BeamSearchValidParams(self.0))
    }
}

impl BeamSearchValidParams {
    /// The alphabet.
    pub fn alphabet(&self) -> &crate::Alphabet {
        &self.0.alphabet
    }
    /// Beam width.
    pub fn beam_width(&self) -> usize {
        self.0.beam_width
    }
    /// Per-frame log-probability cut.
    pub fn min_log_prob(&self) -> f64 {
        self.0.min_log_prob
    }
    /// Per-frame top-k limit (0: none).
    pub fn top_k(&self) -> usize {
        self.0.top_k
    }
    /// Hypotheses returned.
    pub fn nbest(&self) -> usize {
        self.0.nbest
    }
    /// The fused language model, if any.
    pub fn lm(&self) -> Option<&std::sync::Arc<crate::NgramLm>> {
        self.0.lm.as_ref()
    }
    /// LM weight.
    pub fn alpha(&self) -> f64 {
        self.0.alpha
    }
    /// Word-insertion bonus.
    pub fn beta(&self) -> f64 {
        self.0.beta
    }
    /// Out-of-vocabulary word score.
    pub fn unk_score(&self) -> f64 {
        self.0.unk_score
    }
    /// Hotwords.
    pub fn hotwords(&self) -> &[String] {
        &self.0.hotwords
    }
    /// Hotword weight.
    pub fn hotword_weight(&self) -> f64 {
        self.0.hotword_weight
    }
}
