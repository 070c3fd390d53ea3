//! Greedy (best-path) decoding: the most probable class per frame, repeats merged, blanks
//! dropped.

use kiln_core::KilnError;
use kiln_core::numerics::argmax;

use crate::decode::Hypothesis;
use crate::errors::{CtcError, Result};

/// Checks that `lp` holds exactly `t_len` finite frames of `classes` values.
fn check_frames(lp: &[f64], t_len: usize, classes: usize) -> Result<()> {
    if classes == 0 {
        return Err(KilnError::invalid("classes", 0, "need at least the blank class").into());
    }
    let want = t_len
        .checked_mul(classes)
        .ok_or_else(|| KilnError::invalid("t_len", t_len, "t_len * classes overflows"))?;
    if lp.len() != want {
        return Err(KilnError::shape(
            "greedy decoding input [T, C]",
            format!("{want} values for [{t_len}, {classes}]"),
            format!("{} values", lp.len()),
        )
        .into());
    }
    kiln_core::errors::ensure_finite(lp, "log-probabilities")?;
    Ok(())
}

/// Best path of `t_len` frames of `classes` log-probabilities (row-major, exactly
/// `t_len * classes` finite values). At a tie the lower class index wins, so the result is
/// deterministic.
pub fn greedy(lp: &[f64], t_len: usize, classes: usize, blank: usize) -> Result<Hypothesis> {
    check_frames(lp, t_len, classes)?;
    if blank >= classes {
        return Err(CtcError::BlankOutOfRange { blank, classes });
    }
    let mut labels = Vec::new();
    let mut frames = Vec::new();
    let mut score = 0.0;
    let mut prev = None;
    for (t, row) in lp.chunks_exact(classes).enumerate() {
        let (best, v) = argmax(row).unwrap_or((blank, 0.0));
        score += v;
        if best != blank && prev != Some(best) {
            labels.push(best);
            frames.push(t);
        }
        prev = Some(best);
    }
    Ok(Hypothesis {
        labels,
        log_prob: score,
        score,
        frames,
    })
}

/// Greedy decoding of every utterance of a time-major `[T, N, C]` batch (PyTorch's CTC
/// layout), each over its first `lengths[b]` frames.
pub fn greedy_batch(
    lp: &[f64],
    dims: [usize; 3],
    lengths: &[usize],
    blank: usize,
) -> Result<Vec<Hypothesis>> {
    let [t_max, n, c] = dims;
    let total = t_max
        .checked_mul(n)
        .and_then(|x| x.checked_mul(c))
        .ok_or_else(|| KilnError::invalid("dims", format!("{dims:?}"), "T * N * C overflows"))?;
    if lp.len() != total || lengths.len() != n {
        return Err(KilnError::shape(
            "greedy decoding input [T, N, C]",
            format!("{total} values and {n} lengths for {dims:?}"),
            format!("{} values and {} lengths", lp.len(), lengths.len()),
        )
        .into());
    }
    lengths
        .iter()
        .enumerate()
        .map(|(b, &len)| {
            if len > t_max {
                return Err(CtcError::LengthOutOfRange {
                    which: "input",
                    sample: b,
                    value: len as i64,
                    max: t_max,
                });
            }
            let frames: Vec<f64> = (0..len)
                .flat_map(|t| lp[(t * n + b) * c..(t * n + b + 1) * c].iter().copied())
                .collect();
            greedy(&frames, len, c, blank)
        })
        .collect()
}

/// The per-frame argmax classes (ties to the lower index), before collapsing.
pub fn best_path(lp: &[f64], t_len: usize, classes: usize) -> Result<Vec<usize>> {
    check_frames(lp, t_len, classes)?;
    Ok(lp
        .chunks_exact(classes)
        .map(|row| argmax(row).map_or(0, |(i, _)| i))
        .collect())
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
