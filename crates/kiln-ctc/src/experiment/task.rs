//! The synthetic task: noisy feature frames spelling digit "words" with variable durations,
//! and a word bigram language model (ARPA text) estimated from the training sentences.

use std::collections::BTreeMap;

use kiln_core::seed::{KilnRng, rng_stream};
use rand::RngExt;
use rand::seq::IndexedRandom;

/// Class symbols: blank (placeholder `_`), the digits 1-9 and the word delimiter: 10 labels.
pub const ALPHABET: &str = "_123456789 ";
/// The blank class.
pub const BLANK: usize = 0;
/// Number of classes, blank included.
pub const CLASSES: usize = 11;
/// Longest label sequence.
pub const MAX_LABELS: usize = 8;

const DELIMITER: usize = 10;
const WORDS: usize = 12;
const SUCCESSORS: usize = 3;

use kiln_core::numerics::standard_normal as normal;

/// The generator: a word vocabulary with a sparse bigram grammar, one prototype feature
/// vector per label, frame noise.
#[derive(Debug, Clone)]
pub struct Task {
    /// Frames per sequence.
    pub frames: usize,
    /// Feature dimension.
    pub features: usize,
    /// Standard deviation of the per-frame Gaussian noise.
    pub noise: f64,
    /// Words: digit label sequences (classes 1-9).
    pub words: Vec<Vec<usize>>,
    /// Allowed successors of each word.
    successors: Vec<Vec<usize>>,
    /// `[CLASSES, features]` prototypes; the blank row is silence (zeros).
    prototypes: Vec<f64>,
}

/// A batch: `[frames, batch, features]` features, label sequences, word-id sequences.
#[derive(Debug, Clone)]
pub struct Batch {
    /// Features, `[T, N, D]` row-major.
    pub x: Vec<f32>,
    /// Label sequences (delimiter between words).
    pub labels: Vec<Vec<usize>>,
    /// Number of sequences.
    pub n: usize,
}

impl Task {
    /// A task drawn from `seed` (the vocabulary, grammar and prototypes are fixed by it).
    pub fn new(seed: u64, frames: usize, features: usize, noise: f64) -> Self {
        let mut rng = rng_stream(seed, 10);
        let mut words: Vec<Vec<usize>> = Vec::new();
        while words.len() < WORDS {
            let len = rng.random_range(2..=3);
            let w: Vec<usize> = (0..len).map(|_| rng.random_range(1..=9)).collect();
            if !words.contains(&w) {
                words.push(w);
            }
        }
        let successors = (0..WORDS)
            .map(|_| {
                let mut s: Vec<usize> = Vec::new();
                while s.len() < SUCCESSORS {
                    let w = rng.random_range(0..WORDS);
                    if !s.contains(&w) {
                        s.push(w);
                    }
                }
                s
            })
            .collect();
        let mut prototypes = vec![0.0; CLASSES * features];
        for v in &mut prototypes[features..] {
            *v = normal(&mut rng);
        }
        Self {
            frames,
            features,
            noise,
            words,
            successors,
            prototypes,
        }
    }

    /// A sentence as word ids: 1-3 words following the grammar, at most [`MAX_LABELS`] labels.
    pub fn sentence(&self, rng: &mut KilnRng) -> Vec<usize> {
        let n_words = rng.random_range(1..=3);
        let mut out = vec![rng.random_range(0..WORDS)];
        let mut len = self.words[out[0]].len();
        while out.len() < n_words {
            let next = *self.successors[*out.last().unwrap_or(&0)]
                .choose(rng)
                .unwrap_or(&0);
            let extra = 1 + self.words[next].len();
            if len + extra > MAX_LABELS {
                break;
            }
            len += extra;
            out.push(next);
        }
        out
    }

    /// Label sequence of a sentence (delimiter between words).
    pub fn spell(&self, sentence: &[usize]) -> Vec<usize> {
        let mut labels = Vec::new();
        for (i, &w) in sentence.iter().enumerate() {
            if i > 0 {
                labels.push(DELIMITER);
            }
            labels.extend_from_slice(&self.words[w]);
        }
        labels
    }

    /// Word of a sentence as text (for the LM).
    pub fn word_text(&self, w: usize) -> String {
        self.words[w].iter().map(|d| d.to_string()).collect()
    }

    /// `n` sequences: each label held for 2-5 frames, 0-2 silent frames between labels (at
    /// least one between two equal labels, so the frames say where one ends), 0-4 leading
    /// silent frames, silence up to `frames`, Gaussian noise everywhere.
    pub fn batch(&self, n: usize, rng: &mut KilnRng) -> Batch {
        let (t_max, d) = (self.frames, self.features);
        let mut x = vec![0f32; t_max * n * d];
        let mut labels = Vec::with_capacity(n);
        for b in 0..n {
            let seq = self.spell(&self.sentence(rng));
            let mut frame_class = Vec::with_capacity(t_max);
            frame_class.extend(std::iter::repeat_n(BLANK, rng.random_range(0..=4)));
            for (i, &l) in seq.iter().enumerate() {
                if i > 0 {
                    let min_gap = usize::from(seq[i - 1] == l);
                    let gap = rng.random_range(min_gap..=2);
                    frame_class.extend(std::iter::repeat_n(BLANK, gap));
                }
                frame_class.extend(std::iter::repeat_n(l, rng.random_range(2..=5)));
            }
            frame_class.resize(t_max, BLANK);
            for (t, &c) in frame_class.iter().take(t_max).enumerate() {
                let out = &mut x[(t * n + b) * d..(t * n + b + 1) * d];
                let proto = &self.prototypes[c * d..(c + 1) * d];
                for (o, &p) in out.iter_mut().zip(proto) {
                    *o = (p + self.noise * normal(rng)) as f32;
                }
            }
            labels.push(seq);
        }
        Batch { x, labels, n }
    }

    /// Frame-level class prior a trained CTC model should show: each label occupies about one
    /// frame (CTC outputs are peaky), blank the rest. Estimated from `sentences` sentences.
    pub fn ctc_prior(&self, rng: &mut KilnRng, sentences: usize) -> Vec<f64> {
        let mut counts = [0.0; CLASSES];
        for _ in 0..sentences {
            for l in self.spell(&self.sentence(rng)) {
                counts[l] += 1.0;
            }
        }
        let total = (sentences * self.frames) as f64;
        let mut prior: Vec<f64> = counts.iter().map(|c| c / total).collect();
        prior[BLANK] = 1.0 - prior.iter().sum::<f64>();
        prior
    }

    /// A word bigram model in ARPA format from `sentences` training sentences: absolute
    /// discounting (D = 0.5) backing off to add-one unigrams over the vocabulary and `</s>`.
    pub fn arpa(&self, rng: &mut KilnRng, sentences: usize) -> String {
        let mut uni: BTreeMap<String, f64> = BTreeMap::new();
        let mut bi: BTreeMap<String, BTreeMap<String, f64>> = BTreeMap::new();
        for w in 0..WORDS {
            uni.insert(self.word_text(w), 0.0);
        }
        uni.insert("</s>".into(), 0.0);
        for _ in 0..sentences {
            let s = self.sentence(rng);
            let mut prev = "<s>".to_string();
            let toks = s
                .iter()
                .map(|&w| self.word_text(w))
                .chain(std::iter::once("</s>".to_string()));
            for tok in toks {
                *uni.entry(tok.clone()).or_default() += 1.0;
                *bi.entry(prev.clone())
                    .or_default()
                    .entry(tok.clone())
                    .or_default() += 1.0;
                prev = tok;
            }
        }
        let total: f64 = uni.values().sum();
        let v = uni.len() as f64;
        let p_uni: BTreeMap<String, f64> = uni
            .iter()
            .map(|(w, c)| (w.clone(), (c + 1.0) / (total + v)))
            .collect();
        const D: f64 = 0.5;
        let mut backoff: BTreeMap<String, f64> = BTreeMap::new();
        let mut bigram_lines = Vec::new();
        for (h, next) in &bi {
            let c_h: f64 = next.values().sum();
            let mut seen_uni = 0.0;
            for (w, c) in next {
                let p = (c - D) / c_h;
                bigram_lines.push(format!("{:.6}\t{h} {w}", p.log10()));
                seen_uni += p_uni[w];
            }
            let left = D * next.len() as f64 / c_h;
            backoff.insert(h.clone(), left / (1.0 - seen_uni).max(1e-12));
        }
        let mut out = String::from("\\data\\\n");
        out += &format!("ngram 1={}\n", p_uni.len() + 1);
        out += &format!("ngram 2={}\n\n\\1-grams:\n", bigram_lines.len());
        let bo = |w: &str| backoff.get(w).map(|b| format!("\t{:.6}", b.log10()));
        out += &format!("-99\t<s>{}\n", bo("<s>").unwrap_or_default());
        for (w, p) in &p_uni {
            out += &format!("{:.6}\t{w}{}\n", p.log10(), bo(w).unwrap_or_default());
        }
        out += "\n\\2-grams:\n";
        for l in bigram_lines {
            out += &l;
            out.push('\n');
        }
        out += "\n\\end\\\n";
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Alphabet, NgramLm};

    #[test]
    fn sequences_fit_and_lm_parses() {
        let task = Task::new(3, 60, 8, 1.0);
        let mut rng = rng_stream(3, 1);
        let b = task.batch(64, &mut rng);
        let alphabet = Alphabet::from_chars(ALPHABET, BLANK).unwrap();
        for seq in &b.labels {
            assert!(!seq.is_empty() && seq.len() <= MAX_LABELS);
            assert!(crate::min_input_length(seq) <= 60);
            let text = alphabet.text(seq).unwrap();
            assert!(!text.starts_with(' ') && !text.ends_with(' '));
        }
        assert!(b.x.iter().all(|v| v.is_finite()));
        let prior = task.ctc_prior(&mut rng, 200);
        assert!((prior.iter().sum::<f64>() - 1.0).abs() < 1e-12);
        assert!(prior[BLANK] > 0.8 && prior[BLANK] < 1.0);
        let lm = NgramLm::parse(&task.arpa(&mut rng, 500)).unwrap();
        assert_eq!(lm.order(), 2);
        // Every word of the grammar is in the vocabulary, and an observed bigram beats an
        // unobserved continuation of the same history.
        let w0 = lm.word_id(&task.word_text(0)).unwrap();
        let ctx = lm.advance(&lm.start_context(), w0);
        let succ = lm.word_id(&task.word_text(task.successors[0][0])).unwrap();
        let other = (0..WORDS)
            .find(|w| !task.successors[0].contains(w))
            .map(|w| lm.word_id(&task.word_text(w)).unwrap())
            .unwrap();
        assert!(lm.log_prob(&ctx, succ) > lm.log_prob(&ctx, other));
    }
}
