//! Greedy (best-path) decoding: the most probable class per frame, repeats merged, blanks
//! dropped.

use crate::decode::Hypothesis;

/// Best path of `t_len` frames of `classes` log-probabilities (row-major). At a tie the lower
/// class index wins, so the result is deterministic.
pub fn greedy(lp: &[f64], t_len: usize, classes: usize, blank: usize) -> Hypothesis {
    let mut labels = Vec::new();
    let mut frames = Vec::new();
    let mut score = 0.0;
    let mut prev = None;
    for t in 0..t_len {
        let row = &lp[t * classes..(t + 1) * classes];
        let (best, v) =
            row.iter()
                .copied()
                .enumerate()
                .fold(
                    (0, f64::NEG_INFINITY),
                    |acc, (i, v)| if v > acc.1 { (i, v) } else { acc },
                );
        score += v;
        if best != blank && prev != Some(best) {
            labels.push(best);
            frames.push(t);
        }
        prev = Some(best);
    }
    Hypothesis {
        labels,
        log_prob: score,
        score,
        frames,
    }
}

/// The per-frame argmax classes (ties to the lower index), before collapsing.
pub fn best_path(lp: &[f64], t_len: usize, classes: usize) -> Vec<usize> {
    (0..t_len)
        .map(|t| {
            let row = &lp[t * classes..(t + 1) * classes];
            row.iter()
                .copied()
                .enumerate()
                .fold(
                    (0, f64::NEG_INFINITY),
                    |acc, (i, v)| if v > acc.1 { (i, v) } else { acc },
                )
                .0
        })
        .collect()
}

/// Merges repeats and drops blanks.
pub fn collapse(path: &[usize], blank: usize) -> Vec<usize> {
    let mut out = Vec::new();
    let mut prev = None;
    for &p in path {
        if p != blank && prev != Some(p) {
            out.push(p);
        }
        prev = Some(p);
    }
    out
}
