//! Target label sequences, padded `[N, S]` or concatenated, with per-sample lengths.

use kiln_core::KilnError;

use crate::errors::{CtcError, Result};

/// The label sequences of a batch (signed, as PyTorch takes them, so that negative values and
/// lengths are reported instead of wrapping around).
#[derive(Debug, Clone, PartialEq)]
pub enum Targets {
    /// Row-major `[N, max_len]` labels; row `n` holds `lengths[n]` labels then padding.
    Padded {
        /// The labels, `N * max_len` of them.
        labels: Vec<i64>,
        /// Row width `S`.
        max_len: usize,
        /// Target length per sample.
        lengths: Vec<i64>,
    },
    /// All target sequences one after the other; `lengths` says where each ends.
    Concatenated {
        /// The labels, `sum(lengths)` of them.
        labels: Vec<i64>,
        /// Target length per sample.
        lengths: Vec<i64>,
    },
}

impl Targets {
    /// Padded targets `[N, max_len]`.
    pub fn padded(labels: Vec<i64>, max_len: usize, lengths: Vec<i64>) -> Self {
        Targets::Padded {
            labels,
            max_len,
            lengths,
        }
    }

    /// Concatenated targets.
    pub fn concatenated(labels: Vec<i64>, lengths: Vec<i64>) -> Self {
        Targets::Concatenated { labels, lengths }
    }

    /// Concatenated targets from one label sequence per sample.
    pub fn from_sequences<S: AsRef<[usize]>>(seqs: &[S]) -> Self {
        let labels = seqs
            .iter()
            .flat_map(|s| s.as_ref().iter().map(|&l| l as i64))
            .collect();
        let lengths = seqs.iter().map(|s| s.as_ref().len() as i64).collect();
        Targets::Concatenated { labels, lengths }
    }

    /// Number of samples.
    pub fn batch_size(&self) -> usize {
        match self {
            Targets::Padded { lengths, .. } | Targets::Concatenated { lengths, .. } => {
                lengths.len()
            }
        }
    }

    /// Target lengths.
    pub fn lengths(&self) -> &[i64] {
        match self {
            Targets::Padded { lengths, .. } | Targets::Concatenated { lengths, .. } => lengths,
        }
    }

    /// Checks everything and returns one `usize` label sequence per sample.
    pub fn resolve(&self, classes: usize, blank: usize) -> Result<Vec<Vec<usize>>> {
        let lengths = self.lengths();
        let mut out = Vec::with_capacity(lengths.len());
        let check_len = |n: usize, len: i64, max: usize| -> Result<usize> {
            if len < 0 {
                return Err(CtcError::NegativeLength {
                    which: "target",
                    sample: n,
                    value: len,
                });
            }
            if len as u64 > max as u64 {
                return Err(CtcError::LengthOutOfRange {
                    which: "target",
                    sample: n,
                    value: len,
                    max,
                });
            }
            Ok(len as usize)
        };
        match self {
            Targets::Padded {
                labels, max_len, ..
            } => {
                let expected = lengths.len() * max_len;
                if labels.len() != expected {
                    return Err(KilnError::shape(
                        "padded targets",
                        format!("{} x {max_len} = {expected} labels", lengths.len()),
                        format!("{} labels", labels.len()),
                    )
                    .into());
                }
                for (n, &len) in lengths.iter().enumerate() {
                    let len = check_len(n, len, *max_len)?;
                    let row = &labels[n * max_len..n * max_len + len];
                    out.push(check_labels(n, row, classes, blank)?);
                }
            }
            Targets::Concatenated { labels, .. } => {
                let mut start = 0usize;
                for (n, &len) in lengths.iter().enumerate() {
                    let len = check_len(n, len, labels.len() - start)?;
                    out.push(check_labels(
                        n,
                        &labels[start..start + len],
                        classes,
                        blank,
                    )?);
                    start += len;
                }
                if start != labels.len() {
                    return Err(KilnError::shape(
                        "concatenated targets",
                        format!("sum of target lengths = {start} labels"),
                        format!("{} labels", labels.len()),
                    )
                    .into());
                }
            }
        }
        Ok(out)
    }
}

fn check_labels(sample: usize, row: &[i64], classes: usize, blank: usize) -> Result<Vec<usize>> {
    row.iter()
        .enumerate()
        .map(|(position, &value)| {
            if value < 0 || value as u64 >= classes as u64 {
                Err(CtcError::TargetOutOfRange {
                    sample,
                    position,
                    value,
                    classes,
                })
            } else if value as usize == blank {
                Err(CtcError::TargetIsBlank {
                    sample,
                    position,
                    blank,
                })
            } else {
                Ok(value as usize)
            }
        })
        .collect()
}

/// Shortest input that can emit `target`: one frame per label plus a blank between repeats.
pub fn min_input_length(target: &[usize]) -> usize {
    target.len() + target.windows(2).filter(|w| w[0] == w[1]).count()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resolve_checks_everything() {
        let t = Targets::padded(vec![1, 2, 9, 3, 0, 0], 3, vec![2, 1]);
        assert_eq!(t.resolve(4, 0).unwrap(), vec![vec![1, 2], vec![3]]);
        let t = Targets::padded(vec![1, 0, 9, 3, 0, 0], 3, vec![2, 1]);
        assert!(matches!(
            t.resolve(4, 0),
            Err(CtcError::TargetIsBlank {
                sample: 0,
                position: 1,
                ..
            })
        ));
        let t = Targets::padded(vec![1, 2, 9, 3, 0, 0], 3, vec![-1, 1]);
        assert!(matches!(
            t.resolve(4, 0),
            Err(CtcError::NegativeLength { .. })
        ));
        let t = Targets::padded(vec![1, 2, 9, 3, 0, 0], 3, vec![4, 1]);
        assert!(matches!(
            t.resolve(4, 0),
            Err(CtcError::LengthOutOfRange { .. })
        ));
        let t = Targets::concatenated(vec![1, 2, 3], vec![2, 1]);
        assert_eq!(t.resolve(4, 0).unwrap(), vec![vec![1, 2], vec![3]]);
        let t = Targets::concatenated(vec![1, 2, 3], vec![2, 2]);
        assert!(matches!(
            t.resolve(4, 0),
            Err(CtcError::LengthOutOfRange { .. })
        ));
        let t = Targets::concatenated(vec![1, 2, 3], vec![1, 1]);
        assert!(matches!(t.resolve(4, 0), Err(CtcError::Core(_))));
        let t = Targets::concatenated(vec![1, -2], vec![2]);
        assert!(matches!(
            t.resolve(4, 0),
            Err(CtcError::TargetOutOfRange { value: -2, .. })
        ));
        assert_eq!(min_input_length(&[1, 1, 2, 2, 2]), 8);
    }
}
