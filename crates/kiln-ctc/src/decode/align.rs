//! Forced alignment over the CTC lattice: the single best alignment (Viterbi) and per-frame
//! occupancy posteriors (the sum over all alignments).

use serde::Serialize;

use crate::dp::forward_backward;
use crate::errors::{CtcError, Result};
use crate::targets::{Targets, min_input_length};

/// The most probable alignment of a target to the frames.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Alignment {
    /// Class emitted at each frame (blank or a target label).
    pub path: Vec<usize>,
    /// Log-probability of this one path.
    pub log_prob: f64,
    /// For each target label, its frames `[start, end)`.
    pub spans: Vec<(usize, usize)>,
}

fn check(lp: &[f64], t_len: usize, classes: usize, target: &[usize], blank: usize) -> Result<()> {
    if lp.len() != t_len * classes {
        return Err(
            kiln_core::KilnError::shape("alignment input", t_len * classes, lp.len()).into(),
        );
    }
    kiln_core::errors::ensure_finite(lp, "alignment log-probabilities")?;
    let t: Vec<i64> = target.iter().map(|&l| l as i64).collect();
    Targets::concatenated(t, vec![target.len() as i64]).resolve(classes, blank)?;
    if t_len < min_input_length(target) {
        return Err(CtcError::LengthOutOfRange {
            which: "target",
            sample: 0,
            value: target.len() as i64,
            max: t_len,
        });
    }
    Ok(())
}

/// Viterbi forced alignment (max instead of sum over the lattice, then backtracking). Ties go
/// to the lower state (the earlier label), deterministically.
pub fn viterbi(
    lp: &[f64],
    t_len: usize,
    classes: usize,
    target: &[usize],
    blank: usize,
) -> Result<Alignment> {
    check(lp, t_len, classes, target, blank)?;
    if t_len == 0 {
        return Ok(Alignment {
            path: Vec::new(),
            log_prob: 0.0,
            spans: Vec::new(),
        });
    }
    let s_n = 2 * target.len() + 1;
    let ext = |s: usize| {
        if s.is_multiple_of(2) {
            blank
        } else {
            target[s / 2]
        }
    };
    let skip = |s: usize| s % 2 == 1 && s >= 2 && ext(s) != ext(s - 2);
    let ninf = f64::NEG_INFINITY;
    let mut score = vec![ninf; t_len * s_n];
    let mut back = vec![0u8; t_len * s_n];
    score[0] = lp[ext(0)];
    if s_n > 1 {
        score[1] = lp[ext(1)];
    }
    for t in 1..t_len {
        for s in 0..s_n {
            let prev = &score[(t - 1) * s_n..t * s_n];
            let mut best = (prev[s], 0u8);
            if s >= 1 && prev[s - 1] > best.0 {
                best = (prev[s - 1], 1);
            }
            if skip(s) && prev[s - 2] > best.0 {
                best = (prev[s - 2], 2);
            }
            if best.0 > ninf {
                score[t * s_n + s] = best.0 + lp[t * classes + ext(s)];
                back[t * s_n + s] = best.1;
            }
        }
    }
    let last = &score[(t_len - 1) * s_n..];
    let mut s = if s_n > 1 && last[s_n - 2] > last[s_n - 1] {
        s_n - 2
    } else {
        s_n - 1
    };
    let log_prob = last[s];
    let mut states = vec![0usize; t_len];
    for t in (0..t_len).rev() {
        states[t] = s;
        s -= back[t * s_n + s] as usize;
    }
    let path: Vec<usize> = states.iter().map(|&s| ext(s)).collect();
    let mut spans = vec![(usize::MAX, 0); target.len()];
    for (t, &s) in states.iter().enumerate() {
        if s % 2 == 1 {
            let span = &mut spans[s / 2];
            span.0 = span.0.min(t);
            span.1 = t + 1;
        }
    }
    Ok(Alignment {
        path,
        log_prob,
        spans,
    })
}

/// Occupancy posteriors: `gamma[t * C + c]`, the probability that frame `t` emits class `c`
/// given the input and the target (each row sums to 1), with `ln P(target)`.
pub fn occupancy(
    lp: &[f64],
    t_len: usize,
    classes: usize,
    target: &[usize],
    blank: usize,
) -> Result<(Vec<f64>, f64)> {
    check(lp, t_len, classes, target, blank)?;
    let r = forward_backward(lp, t_len, classes, target, blank, true);
    let post = r.posterior.unwrap_or_default();
    Ok((post, -r.nll))
}
