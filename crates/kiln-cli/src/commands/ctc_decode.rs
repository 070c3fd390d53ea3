//! `kiln ctc decode`: greedy and prefix beam search (with LM, hotwords) over log-probabilities.

use std::path::PathBuf;
use std::sync::Arc;

use kiln_core::{KilnError, io};
use kiln_ctc::decode::greedy::greedy_batch;
use kiln_ctc::{Alphabet, BeamSearch, BeamSearchParams, NgramLm};
use serde_json::json;

use crate::Globals;
use crate::output::{CliError, CmdResult, Output};

/// Arguments of `kiln ctc decode`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Per-frame log-probabilities, `.npy` of shape [T, C] (one utterance) or [T, N, C].
    #[arg(long)]
    log_probs: PathBuf,
    /// One character per class, in class order; the character at the blank index is a
    /// placeholder. A space is the word delimiter.
    #[arg(long)]
    alphabet: String,
    /// Blank class index.
    #[arg(long, default_value_t = 0)]
    blank: usize,
    /// Beam width.
    #[arg(long, default_value_t = 32)]
    beam_width: usize,
    /// Per-frame pruning: skip classes with log-probability below this.
    #[arg(long, default_value_t = -10.0, allow_hyphen_values = true)]
    min_log_prob: f64,
    /// Per-frame pruning: extend only the K most probable classes (0: all).
    #[arg(long, default_value_t = 0)]
    top_k: usize,
    /// Word-level n-gram language model (ARPA).
    #[arg(long)]
    lm: Option<PathBuf>,
    /// LM weight.
    #[arg(long, default_value_t = 0.5, allow_hyphen_values = true)]
    alpha: f64,
    /// Word insertion bonus.
    #[arg(long, default_value_t = 1.0, allow_hyphen_values = true)]
    beta: f64,
    /// Score of an out-of-vocabulary word (natural log).
    #[arg(long, default_value_t = -10.0, allow_hyphen_values = true)]
    unk_score: f64,
    /// A word to boost (repeatable).
    #[arg(long = "hotword")]
    hotwords: Vec<String>,
    /// Score added for a completed hotword.
    #[arg(long, default_value_t = 10.0, allow_hyphen_values = true)]
    hotword_weight: f64,
    /// Number of hypotheses per utterance.
    #[arg(long, default_value_t = 1)]
    nbest: usize,
}

/// Runs the subcommand (no tensors, no randomness: `--backend` and `--seed` do not apply).
pub fn run(args: &Args, _globals: &Globals) -> CmdResult {
    let arr = io::read_npy(&args.log_probs)?;
    let (t, n, c) = match arr.shape.as_slice() {
        [t, c] => (*t, 1, *c),
        [t, n, c] => (*t, *n, *c),
        other => {
            return Err(CliError::BadInput(format!(
                "{}: expected shape [T, C] or [T, N, C], got {other:?}",
                args.log_probs.display()
            )));
        }
    };
    let alphabet = Alphabet::from_chars(&args.alphabet, args.blank)?;
    if alphabet.classes() != c {
        return Err(KilnError::shape(
            "alphabet vs log-probs classes",
            c,
            format!("{} symbols in --alphabet", alphabet.classes()),
        )
        .into());
    }
    let mut params = BeamSearchParams::new(alphabet.clone())
        .beam_width(args.beam_width)
        .min_log_prob(args.min_log_prob)
        .top_k(args.top_k)
        .nbest(args.nbest)
        .unk_score(args.unk_score);
    if let Some(path) = &args.lm {
        params = params
            .lm(Arc::new(NgramLm::from_file(path)?))
            .alpha(args.alpha)
            .beta(args.beta);
    }
    if !args.hotwords.is_empty() {
        params = params
            .hotwords(args.hotwords.clone())
            .hotword_weight(args.hotword_weight);
    }
    let search = BeamSearch::new(params.check()?);
    let dims = [t, n, c];
    let lengths = vec![t; n];
    let results = search.decode_batch(&arr.data, dims, &lengths)?;
    let greedy = greedy_batch(&arr.data, dims, &lengths, args.blank)?;
    let mut human = String::new();
    let mut out = Vec::new();
    for (hyps, g) in results.iter().zip(&greedy) {
        let best = match hyps.first() {
            Some(h) => h.text(&alphabet)?,
            None => String::new(),
        };
        human.push_str(&format!("{best}\n"));
        let mut hypotheses = Vec::with_capacity(hyps.len());
        for h in hyps {
            hypotheses.push(json!({
                "text": h.text(&alphabet)?,
                "log_prob": h.log_prob,
                "score": h.score,
                "labels": h.labels,
                "frames": h.frames,
                "words": h.words(&alphabet)?,
            }));
        }
        out.push(json!({
            "greedy": g.text(&alphabet)?,
            "text": best,
            "hypotheses": hypotheses,
        }));
    }
    let json = if n == 1 && arr.shape.len() == 2 {
        out.remove(0)
    } else {
        json!({ "results": out })
    };
    Ok(Output::new(json, human.trim_end().to_string()))
}
