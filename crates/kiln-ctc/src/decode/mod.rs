//! Decoders: greedy, prefix beam search with n-gram LM fusion and hotwords, Viterbi forced
//! alignment and occupancy posteriors.

pub mod align;
pub mod beam;
pub mod greedy;
pub mod lm;

use serde::Serialize;

use crate::alphabet::Alphabet;
use crate::errors::Result;

/// One decoded transcript.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Hypothesis {
    /// Class labels (no blanks, repeats merged).
    pub labels: Vec<usize>,
    /// Acoustic log-probability: `ln P(labels | input)` summed over all alignments for beam
    /// search; the best path's log-probability for greedy decoding.
    pub log_prob: f64,
    /// The score the decoder ranked by: `log_prob` plus LM, word-insertion and hotword terms.
    pub score: f64,
    /// Frame at which each label starts (first frame the decoder emitted it).
    pub frames: Vec<usize>,
}

/// A word with its frame span `[start, end)`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct WordSpan {
    /// The word.
    pub word: String,
    /// Frame of its first symbol.
    pub start: usize,
    /// One past the frame of its last symbol's start.
    pub end: usize,
}

impl Hypothesis {
    /// The transcript; an error when a label is not a class of `alphabet`.
    pub fn text(&self, alphabet: &Alphabet) -> Result<String> {
        alphabet.text(&self.labels)
    }

    /// Words (split at the alphabet's delimiter) with frame offsets; an error when a label is
    /// not a class of `alphabet`.
    pub fn words(&self, alphabet: &Alphabet) -> Result<Vec<WordSpan>> {
        let mut out = Vec::new();
        let mut cur: Option<WordSpan> = None;
        for (&l, &f) in self.labels.iter().zip(&self.frames) {
            if Some(l) == alphabet.delimiter() {
                out.extend(cur.take());
                continue;
            }
            let w = cur.get_or_insert_with(|| WordSpan {
                word: String::new(),
                start: f,
                end: f + 1,
            });
            w.word.push_str(alphabet.symbol(l)?);
            w.end = f + 1;
        }
        out.extend(cur);
        Ok(out)
    }
}
