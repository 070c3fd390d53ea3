//! CTC prefix beam search (Hannun et al. 2014) with shallow LM fusion, hotwords, N-best,
//! timestamps and a streaming begin/step/end API.
//!
//! Prefixes live in a trie; each beam entry holds the probability of its prefix ending in a
//! blank (`pb`) and in a label (`pnb`). Probabilities are kept in linear space, rescaled every
//! frame so the best beam is 1 (the running log of the scales is kept), which makes an
//! extension a few multiply-adds instead of log-sum-exps. Pruned classes and beams are
//! dropped, never approximated: with the beam as wide as the number of prefixes and no class
//! pruning the search is exact (tests check this against brute force).
//!
//! Speed (no fusion): a frame first accumulates into prefixes that already exist (each beam's
//! own node, and children created earlier), whose probabilities are then final; a new prefix
//! can only survive if it beats the `beam_width`-th of those, so extensions below that cut are
//! never materialized, and ranking compares probabilities without taking logarithms. Children
//! are found through per-node sibling lists and candidates through a per-node slot, not hash
//! maps. With fusion the bonus can reorder prefixes, so every extension is scored.

use std::sync::Arc;

use kiln_core::KilnError;
use rayon::prelude::*;

use crate::alphabet::Alphabet;
use crate::decode::Hypothesis;
use crate::decode::lm::NgramLm;
use crate::errors::Result;
use crate::hyperparams::{BeamFields, BeamSearchValidParams};

const ROOT: u32 = 0;
const NO_LABEL: u32 = u32::MAX;
const NONE: u32 = u32::MAX;

/// A checked prefix beam search decoder (built from [`crate::BeamSearchValidParams`]).
///
/// ```
/// use kiln_ctc::{Alphabet, BeamSearch, BeamSearchParams};
/// let alphabet = Alphabet::from_chars("_ab", 0)?;
/// let search = BeamSearch::new(BeamSearchParams::new(alphabet).beam_width(8).check()?);
/// // Two frames: "a" then blank, confidently.
/// let lp: Vec<f64> = [0.05, 0.9, 0.05, 0.9, 0.05, 0.05].iter().map(|p: &f64| p.ln()).collect();
/// let best = &search.decode(&lp, 2)?[0];
/// assert_eq!(best.labels, vec![1]);
/// # Ok::<(), kiln_ctc::CtcError>(())
/// ```
#[derive(Debug, Clone)]
pub struct BeamSearch {
    p: BeamFields,
}

#[derive(Debug, Clone, Default)]
struct Fusion {
    /// Score of completed words (LM, insertion bonus, hotwords).
    done: f64,
    /// Replaceable score of the word being spelled (unknown-prefix penalty, hotword prefix).
    partial_bonus: f64,
    partial: String,
    ctx: Vec<u32>,
    words: u32,
}

#[derive(Debug, Clone)]
struct Node {
    parent: u32,
    label: u32,
    frame: u32,
    first_child: u32,
    next_sibling: u32,
}

#[derive(Debug, Clone, Copy)]
struct Beam {
    node: u32,
    pb: f64,
    pnb: f64,
}

#[derive(Debug, Clone, Copy)]
enum Key {
    Existing(u32),
    New(u32, u32),
}

#[derive(Debug, Clone, Copy)]
struct Cand {
    key: Key,
    pb: f64,
    pnb: f64,
}

/// A beam search in progress: feed frames with [`BeamState::step`], finish with
/// [`BeamState::end`]. Beams (and the prefix trie) persist between chunks.
#[derive(Debug, Clone)]
pub struct BeamState<'a> {
    search: &'a BeamSearch,
    nodes: Vec<Node>,
    fusion: Vec<Fusion>,
    beams: Vec<Beam>,
    log_scale: f64,
    frames: usize,
    // Scratch buffers reused across frames.
    cands: Vec<Cand>,
    /// Per node: the frame (+1) at which `slot` was last written, and the candidate index.
    stamp: Vec<u32>,
    slot: Vec<u32>,
    /// Per class: the existing child of the beam being extended (`NONE` if none).
    child_of: Vec<u32>,
    totals: Vec<f64>,
    probs: Vec<f64>,
    allowed: Vec<usize>,
    new_fusion: Vec<Option<Fusion>>,
}

fn child_key(node: u32, label: u32) -> u64 {
    ((node as u64) << 32) | label as u64
}

impl BeamSearch {
    /// The decoder for checked parameters.
    pub fn new(params: BeamSearchValidParams) -> Self {
        Self { p: params.0 }
    }

    /// The alphabet.
    pub fn alphabet(&self) -> &Alphabet {
        &self.p.alphabet
    }

    fn fusion_on(&self) -> bool {
        self.p.lm.is_some() || !self.p.hotwords.is_empty()
    }

    fn lm(&self) -> Option<&Arc<NgramLm>> {
        self.p.lm.as_ref()
    }

    /// Starts a (streaming) search.
    pub fn begin(&self) -> BeamState<'_> {
        let root_fusion = Fusion {
            ctx: self.lm().map(|lm| lm.start_context()).unwrap_or_default(),
            ..Fusion::default()
        };
        BeamState {
            search: self,
            nodes: vec![Node {
                parent: ROOT,
                label: NO_LABEL,
                frame: 0,
                first_child: NONE,
                next_sibling: NONE,
            }],
            fusion: if self.fusion_on() {
                vec![root_fusion]
            } else {
                Vec::new()
            },
            beams: vec![Beam {
                node: ROOT,
                pb: 1.0,
                pnb: 0.0,
            }],
            log_scale: 0.0,
            frames: 0,
            cands: Vec::new(),
            stamp: vec![0],
            slot: vec![0],
            child_of: vec![NONE; self.p.alphabet.classes()],
            totals: Vec::new(),
            probs: vec![0.0; self.p.alphabet.classes()],
            allowed: Vec::new(),
            new_fusion: Vec::new(),
        }
    }

    /// Decodes `t_len` frames of log-probabilities (row-major `[t_len, C]`, exactly
    /// `t_len * C` values): the N best.
    pub fn decode(&self, lp: &[f64], t_len: usize) -> Result<Vec<Hypothesis>> {
        let c = self.p.alphabet.classes();
        let want = kiln_core::errors::checked_len(&[t_len, c], "beam search input [T, C]")?;
        if lp.len() != want {
            return Err(KilnError::shape("beam search input [T, C]", want, lp.len()).into());
        }
        let mut state = self.begin();
        state.step(lp)?;
        Ok(state.end())
    }

    /// Decodes a `[T, N, C]` batch in parallel (rayon); `lengths[n]` frames of sample `n`.
    pub fn decode_batch(
        &self,
        lp: &[f64],
        dims: [usize; 3],
        lengths: &[usize],
    ) -> Result<Vec<Vec<Hypothesis>>> {
        let [t_max, n, c] = dims;
        let total = kiln_core::errors::checked_len(&dims, "batch beam search input")?;
        if c != self.p.alphabet.classes() || lp.len() != total || lengths.len() != n {
            return Err(KilnError::shape(
                "batch beam search input",
                format!("[T, N, {}] with {n} lengths", self.p.alphabet.classes()),
                format!("{dims:?}, {} values, {} lengths", lp.len(), lengths.len()),
            )
            .into());
        }
        if let Some(&bad) = lengths.iter().find(|&&l| l > t_max) {
            return Err(KilnError::invalid("length", bad, format!("exceeds T = {t_max}")).into());
        }
        (0..n)
            .into_par_iter()
            .map(|b| {
                let frames: Vec<f64> = (0..lengths[b])
                    .flat_map(|t| lp[(t * n + b) * c..(t * n + b + 1) * c].iter().copied())
                    .collect();
                self.decode(&frames, lengths[b])
            })
            .collect()
    }

    /// Score terms for appending `label` to a prefix whose fusion state is `parent`.
    fn extend_fusion(&self, parent: &Fusion, label: usize) -> Fusion {
        let a = &self.p.alphabet;
        if Some(label) == a.delimiter() {
            let mut f = parent.clone();
            self.complete_word(&mut f);
            f
        } else {
            let mut f = Fusion {
                done: parent.done,
                partial_bonus: 0.0,
                partial: parent.partial.clone(),
                ctx: parent.ctx.clone(),
                words: parent.words,
            };
            // `label` is one of this alphabet's classes (the search only extends those).
            f.partial.push_str(a.symbol(label).unwrap_or_default());
            if let Some(lm) = self.lm()
                && !lm.is_prefix(&f.partial)
            {
                f.partial_bonus += self.p.unk_score;
            }
            let best = self
                .p
                .hotwords
                .iter()
                .filter(|h| h.starts_with(f.partial.as_str()))
                .map(|h| f.partial.chars().count() as f64 / h.chars().count() as f64)
                .fold(0.0f64, f64::max);
            f.partial_bonus += self.p.hotword_weight * best;
            f
        }
    }

    /// Moves the partial word into the completed-word score.
    fn complete_word(&self, f: &mut Fusion) {
        if f.partial.is_empty() {
            return;
        }
        let word = std::mem::take(&mut f.partial);
        f.partial_bonus = 0.0;
        f.words += 1;
        if let Some(lm) = self.lm() {
            let id = lm.word_id(&word).filter(|&id| Some(id) != lm.unk_word());
            match id {
                Some(id) => {
                    f.done += self.p.alpha * lm.log_prob(&f.ctx, id) + self.p.beta;
                    f.ctx = lm.advance(&f.ctx, id);
                }
                None => {
                    f.done += self.p.unk_score + self.p.beta;
                    f.ctx = match lm.unk_word() {
                        Some(unk) => lm.advance(&f.ctx, unk),
                        None => Vec::new(),
                    };
                }
            }
        }
        if self.p.hotwords.contains(&word) {
            f.done += self.p.hotword_weight;
        }
    }

    fn final_fusion(&self, f: &Fusion) -> f64 {
        let mut f = f.clone();
        self.complete_word(&mut f);
        let mut s = f.done;
        if let Some(lm) = self.lm()
            && let Some(eos) = lm.end_word()
        {
            s += self.p.alpha * lm.log_prob(&f.ctx, eos);
        }
        s
    }
}

impl BeamState<'_> {
    /// Frames consumed so far.
    pub fn frames(&self) -> usize {
        self.frames
    }

    fn fusion_score(&self, node: u32) -> f64 {
        if self.fusion.is_empty() {
            0.0
        } else {
            let f = &self.fusion[node as usize];
            f.done + f.partial_bonus
        }
    }

    fn last_label(&self, node: u32) -> Option<usize> {
        let l = self.nodes[node as usize].label;
        (l != NO_LABEL).then_some(l as usize)
    }

    /// Consumes whole frames of log-probabilities (`k * C` values).
    pub fn step(&mut self, lp: &[f64]) -> Result<()> {
        let c = self.search.p.alphabet.classes();
        if !lp.len().is_multiple_of(c) {
            return Err(KilnError::shape(
                "beam search chunk",
                format!("a multiple of {c} values"),
                lp.len(),
            )
            .into());
        }
        kiln_core::errors::ensure_finite(lp, "beam search log-probabilities")?;
        let fast = self.fusion.is_empty();
        for row in lp.chunks_exact(c) {
            self.step_frame(row, fast);
        }
        Ok(())
    }

    /// One frame. `fast`: prune new prefixes against the existing ones and rank by
    /// probability (only valid without fusion; the general path is kept for fusion and for
    /// tests that check both agree).
    fn step_frame(&mut self, row: &[f64], fast: bool) {
        self.prune_classes(row);
        self.cands.clear();
        let epoch = self.frames as u32 + 1;
        let beams = std::mem::take(&mut self.beams);
        let allowed = std::mem::take(&mut self.allowed);
        self.extend_existing(&beams, &allowed, epoch);
        let cut = if fast { self.new_prefix_cut() } else { 0.0 };
        self.propose_new(&beams, &allowed, cut);
        self.allowed = allowed;
        self.rescale();
        let scored = self.score_candidates(fast);
        self.commit(&scored);
        self.frames += 1;
    }

    /// Frame-level pruning: classes above the threshold, at most `top_k`, in class order; and
    /// the frame's probabilities.
    fn prune_classes(&mut self, row: &[f64]) {
        let p = &self.search.p;
        let blank = p.alphabet.blank();
        self.allowed.clear();
        self.allowed
            .extend((0..row.len()).filter(|&k| k != blank && row[k] >= p.min_log_prob));
        if p.top_k > 0 && self.allowed.len() > p.top_k {
            self.allowed
                .sort_by(|&a, &b| row[b].total_cmp(&row[a]).then(a.cmp(&b)));
            self.allowed.truncate(p.top_k);
            self.allowed.sort_unstable();
        }
        for (q, &v) in self.probs.iter_mut().zip(row) {
            *q = v.exp();
        }
    }

    /// Pass 1: the mass flowing into prefixes that already exist (final after this pass):
    /// each beam staying (blank, or its last label repeated) and extending into a child that
    /// is already in the trie.
    fn extend_existing(&mut self, beams: &[Beam], allowed: &[usize], epoch: u32) {
        let blank = self.search.p.alphabet.blank();
        for beam in beams {
            let total = beam.pb + beam.pnb;
            let last = self.last_label(beam.node);
            let stay_pnb = last.map_or(0.0, |l| beam.pnb * self.probs[l]);
            self.add_existing(beam.node, total * self.probs[blank], stay_pnb, epoch);
            let mut ch = self.nodes[beam.node as usize].first_child;
            while ch != NONE {
                let node = &self.nodes[ch as usize];
                let (k, next) = (node.label as usize, node.next_sibling);
                self.child_of[k] = ch;
                ch = next;
            }
            for &k in allowed {
                let child = self.child_of[k];
                if child != NONE {
                    let pnb = if Some(k) == last {
                        beam.pb * self.probs[k]
                    } else {
                        total * self.probs[k]
                    };
                    self.add_existing(child, 0.0, pnb, epoch);
                }
            }
            let mut ch = self.nodes[beam.node as usize].first_child;
            while ch != NONE {
                let node = &self.nodes[ch as usize];
                self.child_of[node.label as usize] = NONE;
                ch = node.next_sibling;
            }
        }
    }

    /// Without fusion a new prefix survives only if it beats the `beam_width`-th existing
    /// candidate (existing ones win ties), so anything at or below this is not kept.
    fn new_prefix_cut(&mut self) -> f64 {
        self.totals.clear();
        self.totals.extend(self.cands.iter().map(|c| c.pb + c.pnb));
        let w = self.search.p.beam_width;
        if self.totals.len() >= w {
            let (_, kth, _) = self
                .totals
                .select_nth_unstable_by(w - 1, |a, b| b.total_cmp(a));
            *kth
        } else {
            0.0
        }
    }

    /// Pass 2: candidates for prefixes not yet in the trie, above `cut`.
    fn propose_new(&mut self, beams: &[Beam], allowed: &[usize], cut: f64) {
        for beam in beams {
            let total = beam.pb + beam.pnb;
            let last = self.last_label(beam.node);
            let first_child = self.nodes[beam.node as usize].first_child;
            for &k in allowed {
                let pnb = if Some(k) == last {
                    beam.pb * self.probs[k]
                } else {
                    total * self.probs[k]
                };
                if pnb <= cut {
                    continue;
                }
                let mut ch = first_child;
                while ch != NONE && self.nodes[ch as usize].label != k as u32 {
                    ch = self.nodes[ch as usize].next_sibling;
                }
                if ch == NONE {
                    self.cands.push(Cand {
                        key: Key::New(beam.node, k as u32),
                        pb: 0.0,
                        pnb,
                    });
                }
            }
        }
    }

    /// Rescales the candidates so the best prefix has probability 1 (the scale goes to
    /// `log_scale`), which keeps long inputs from underflowing.
    fn rescale(&mut self) {
        let m = self
            .cands
            .iter()
            .map(|c| c.pb + c.pnb)
            .fold(0.0f64, f64::max);
        if m > 0.0 {
            for cand in &mut self.cands {
                cand.pb /= m;
                cand.pnb /= m;
            }
            self.log_scale += m.ln();
        } else {
            self.log_scale = f64::NEG_INFINITY;
        }
    }

    /// Scores the candidates (with fusion, the language-model bonus) and returns the best
    /// `beam_width` as `(score, tie order, candidate index)`, best first; ties go to the older
    /// prefix.
    fn score_candidates(&mut self, fast: bool) -> Vec<(f64, u64, usize)> {
        let fusion_on = !self.fusion.is_empty();
        self.new_fusion.clear();
        let mut scored: Vec<(f64, u64, usize)> = Vec::with_capacity(self.cands.len());
        for (i, cand) in self.cands.iter().enumerate() {
            let (bonus, order) = match cand.key {
                Key::Existing(node) => (self.fusion_score(node), node as u64),
                Key::New(parent, label) => {
                    let bonus = if fusion_on {
                        let f = self
                            .search
                            .extend_fusion(&self.fusion[parent as usize], label as usize);
                        let b = f.done + f.partial_bonus;
                        self.new_fusion.push(Some(f));
                        b
                    } else {
                        0.0
                    };
                    // New prefixes rank after existing ones at a tie, by (parent, label).
                    (bonus, (1u64 << 63) | child_key(parent, label))
                }
            };
            if fusion_on && matches!(cand.key, Key::Existing(_)) {
                self.new_fusion.push(None);
            }
            let total = cand.pb + cand.pnb;
            if total > 0.0 {
                // Without fusion the probability itself ranks (no logarithm needed).
                let key = if fast { total } else { total.ln() + bonus };
                scored.push((key, order, i));
            }
        }
        let cmp =
            |a: &(f64, u64, usize), b: &(f64, u64, usize)| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1));
        let keep = self.search.p.beam_width.min(scored.len());
        if scored.len() > keep {
            scored.select_nth_unstable_by(keep, cmp);
            scored.truncate(keep);
        }
        scored.sort_by(cmp);
        scored
    }

    /// Makes the kept candidates the next beams, adding the new prefixes to the trie.
    fn commit(&mut self, scored: &[(f64, u64, usize)]) {
        let fusion_on = !self.fusion.is_empty();
        let frame = self.frames as u32;
        let mut next = Vec::with_capacity(scored.len());
        for &(_, _, i) in scored {
            let cand = self.cands[i];
            let node = match cand.key {
                Key::Existing(node) => node,
                Key::New(parent, label) => {
                    let id = self.nodes.len() as u32;
                    let sibling = self.nodes[parent as usize].first_child;
                    self.nodes.push(Node {
                        parent,
                        label,
                        frame,
                        first_child: NONE,
                        next_sibling: sibling,
                    });
                    self.nodes[parent as usize].first_child = id;
                    self.stamp.push(0);
                    self.slot.push(0);
                    if fusion_on {
                        let f = self.new_fusion[i].take().unwrap_or_default();
                        self.fusion.push(f);
                    }
                    id
                }
            };
            next.push(Beam {
                node,
                pb: cand.pb,
                pnb: cand.pnb,
            });
        }
        self.beams = next;
    }

    fn add_existing(&mut self, node: u32, pb: f64, pnb: f64, epoch: u32) {
        let n = node as usize;
        if self.stamp[n] == epoch {
            let c = &mut self.cands[self.slot[n] as usize];
            c.pb += pb;
            c.pnb += pnb;
        } else {
            self.stamp[n] = epoch;
            self.slot[n] = self.cands.len() as u32;
            self.cands.push(Cand {
                key: Key::Existing(node),
                pb,
                pnb,
            });
        }
    }

    fn hypothesis(&self, beam: &Beam, final_scores: bool) -> Hypothesis {
        let mut labels = Vec::new();
        let mut frames = Vec::new();
        let mut n = beam.node;
        while n != ROOT {
            let node = &self.nodes[n as usize];
            labels.push(node.label as usize);
            frames.push(node.frame as usize);
            n = node.parent;
        }
        labels.reverse();
        frames.reverse();
        let log_prob = (beam.pb + beam.pnb).ln() + self.log_scale;
        let bonus = if self.fusion.is_empty() {
            0.0
        } else if final_scores {
            self.search.final_fusion(&self.fusion[beam.node as usize])
        } else {
            self.fusion_score(beam.node)
        };
        Hypothesis {
            labels,
            log_prob,
            score: log_prob + bonus,
            frames,
        }
    }

    /// The current best prefix (partial result while streaming; the unfinished word is not
    /// yet scored as a word).
    pub fn best(&self) -> Option<Hypothesis> {
        self.beams.first().map(|b| self.hypothesis(b, false))
    }

    /// Finishes: scores the last word and the end of sentence, returns the N best.
    pub fn end(self) -> Vec<Hypothesis> {
        let mut hyps: Vec<(Hypothesis, u32)> = self
            .beams
            .iter()
            .map(|b| (self.hypothesis(b, true), b.node))
            .collect();
        hyps.sort_by(|a, b| b.0.score.total_cmp(&a.0.score).then(a.1.cmp(&b.1)));
        hyps.truncate(self.search.p.nbest);
        hyps.into_iter().map(|(h, _)| h).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(200))]
        /// The pruned, logarithm-free path keeps exactly the prefixes the general path keeps.
        #[test]
        fn fast_path_equals_general_path(
            c in 2usize..7,
            t in 1usize..25,
            width in 1usize..8,
            top_k in 0usize..4,
            cut in prop::sample::select(vec![f64::NEG_INFINITY, -3.0, -1.5]),
            peak in 0.0f64..6.0,
            seed in any::<u64>(),
        ) {
            let mut rng = kiln_core::seed::rng(seed);
            use rand::RngExt;
            let mut lp = Vec::with_capacity(t * c);
            for _ in 0..t {
                let top = rng.random_range(0..c);
                let mut row: Vec<f64> = (0..c)
                    .map(|k| rng.random_range(-1.0..1.0) + if k == top { peak } else { 0.0 })
                    .collect();
                crate::lse::log_softmax_in_place(&mut row);
                lp.extend(row);
            }
            let symbols: Vec<String> = (0..c).map(|i| format!("s{i}")).collect();
            let alphabet = Alphabet::new(symbols, 0).unwrap();
            let search = BeamSearch::new(crate::BeamSearchParams::new(alphabet)
                .beam_width(width)
                .nbest(width)
                .top_k(top_k)
                .min_log_prob(cut)
                .check()
                .unwrap());
            let mut fast = search.begin();
            fast.step(&lp).unwrap();
            let mut general = search.begin();
            for row in lp.chunks_exact(c) {
                general.step_frame(row, false);
            }
            let (a, b) = (fast.end(), general.end());
            prop_assert_eq!(a.len(), b.len());
            for (x, y) in a.iter().zip(&b) {
                prop_assert_eq!(&x.labels, &y.labels);
                prop_assert_eq!(&x.frames, &y.frames);
                prop_assert!((x.log_prob - y.log_prob).abs() <= 1e-12 * x.log_prob.abs().max(1.0));
            }
        }
    }
}
