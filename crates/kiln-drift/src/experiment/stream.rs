//! The synthetic message stream: bag-of-words "messages" labelled spam/ham by a word rule that
//! changes (spammers change tactics).

use rand::RngExt;
use rand::seq::index::sample;

use kiln_core::seed::KilnRng;

/// A labelling rule: a message is spam when it holds more spam words than ham words.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Rule {
    spam: Vec<usize>,
    ham: Vec<usize>,
}

impl Rule {
    fn label(&self, words: &[bool]) -> bool {
        let s = self.spam.iter().filter(|&&w| words[w]).count();
        let h = self.ham.iter().filter(|&&w| words[w]).count();
        s > h
    }
}

/// The stream's settings and its rules (one per concept).
#[derive(Debug, Clone)]
pub(crate) struct MessageStream {
    pub(crate) vocab: usize,
    words_per_message: f64,
    label_noise: f64,
    rules: Vec<Rule>,
    /// First batch of each concept after the first.
    pub(crate) changes: Vec<usize>,
}

/// One labelled batch: features `[n, vocab]` (0/1, row-major) and labels (1 = spam).
#[derive(Debug, Clone)]
pub(crate) struct Batch {
    pub(crate) x: Vec<f32>,
    pub(crate) y: Vec<i64>,
}

impl MessageStream {
    /// `vocab` words, `k` spam and `k` ham words per rule; each change keeps `keep` of the spam
    /// words and draws the rest (and all ham words) anew from the other words.
    pub(crate) fn new(
        vocab: usize,
        k: usize,
        keep: usize,
        changes: Vec<usize>,
        rng: &mut KilnRng,
    ) -> Self {
        let first = sample(rng, vocab, 2 * k).into_vec();
        let mut rules = vec![Rule {
            spam: first[..k].to_vec(),
            ham: first[k..].to_vec(),
        }];
        for _ in &changes {
            let prev = rules.last().cloned().unwrap_or_else(|| rules[0].clone());
            let kept: Vec<usize> = prev.spam[..keep].to_vec();
            let others: Vec<usize> = (0..vocab).filter(|w| !kept.contains(w)).collect();
            let fresh = sample(rng, others.len(), 2 * k - keep).into_vec();
            let mut spam = kept;
            spam.extend(fresh[..k - keep].iter().map(|&i| others[i]));
            let ham = fresh[k - keep..].iter().map(|&i| others[i]).collect();
            rules.push(Rule { spam, ham });
        }
        Self {
            vocab,
            words_per_message: 8.0,
            label_noise: 0.02,
            rules,
            changes,
        }
    }

    /// Index of the concept in force at batch `t`.
    pub(crate) fn concept(&self, t: usize) -> usize {
        self.changes.iter().filter(|&&c| t >= c).count()
    }

    /// Batch `t` of `n` messages.
    pub(crate) fn batch(&self, t: usize, n: usize, rng: &mut KilnRng) -> Batch {
        let rule = &self.rules[self.concept(t)];
        let p = self.words_per_message / self.vocab as f64;
        let mut x = Vec::with_capacity(n * self.vocab);
        let mut y = Vec::with_capacity(n);
        for _ in 0..n {
            let words: Vec<bool> = (0..self.vocab).map(|_| rng.random::<f64>() < p).collect();
            let mut spam = rule.label(&words);
            if rng.random::<f64>() < self.label_noise {
                spam = !spam;
            }
            x.extend(words.iter().map(|&w| if w { 1.0f32 } else { 0.0 }));
            y.push(i64::from(spam));
        }
        Batch { x, y }
    }
}
