//! Reading graphs: edge-list text files and `.npy` weight matrices.

use std::collections::HashMap;
use std::path::Path;

use crate::errors::{MotifsError, Result};
use crate::graph::MotifGraph;
use crate::hyperparams::{EdgeRule, WeightGraphValidParams};

/// Reads an edge list from a file; errors name the file and line.
///
/// Format (one edge per line, whitespace separated): `src dst [weight]`. Text after `#` is a
/// comment; blank lines are skipped. Nodes are **0-based indices** when every node token is a
/// non-negative integer, otherwise **names** (numbered in order of first appearance). A comment
/// line `# n=N ...` declares the node count, so isolated nodes count in the triad census
/// (it must be at least the largest index + 1). Missing weights are 1. Self-loops and duplicate
/// edges follow [`MotifGraph`]'s policy (dropped / rejected).
pub fn read_edge_list(path: impl AsRef<Path>) -> Result<MotifGraph> {
    let path = path.as_ref();
    let text = std::fs::read_to_string(path).map_err(|source| kiln_core::KilnError::Io {
        path: path.to_path_buf(),
        source,
    })?;
    parse_edge_list(&text, path)
}

/// Parses edge-list text (see [`read_edge_list`]); `path` is only used in messages.
pub fn parse_edge_list(text: &str, path: &Path) -> Result<MotifGraph> {
    let malformed = |line: usize, message: String| MotifsError::MalformedEdge {
        path: path.to_path_buf(),
        line,
        message,
    };
    let mut declared: Option<usize> = None;
    let mut raw: Vec<(&str, &str, f64, usize)> = Vec::new();
    for (i, full) in text.lines().enumerate() {
        let line = i + 1;
        let (content, comment) = match full.find('#') {
            Some(p) => (&full[..p], Some(&full[p + 1..])),
            None => (full, None),
        };
        if let Some(c) = comment
            && content.trim().is_empty()
            && let Some(tok) = c.split_whitespace().find_map(|t| t.strip_prefix("n="))
        {
            let n = tok
                .parse::<usize>()
                .map_err(|_| malformed(line, format!("node count `n={tok}` is not an integer")))?;
            declared = Some(n);
        }
        let fields: Vec<&str> = content.split_whitespace().collect();
        match fields.len() {
            0 => continue,
            2 | 3 => {}
            k => {
                return Err(malformed(
                    line,
                    format!("expected `src dst [weight]`, found {k} fields"),
                ));
            }
        }
        let weight = match fields.get(2) {
            None => 1.0,
            Some(w) => {
                let v: f64 = w
                    .parse()
                    .map_err(|_| malformed(line, format!("weight `{w}` is not a number")))?;
                if !v.is_finite() {
                    return Err(malformed(line, format!("weight `{w}` is not finite")));
                }
                v
            }
        };
        raw.push((fields[0], fields[1], weight, line));
    }
    let numeric = raw
        .iter()
        .all(|(s, d, _, _)| s.parse::<usize>().is_ok() && d.parse::<usize>().is_ok());
    let mut edges = Vec::with_capacity(raw.len());
    let lines: Vec<usize> = raw.iter().map(|r| r.3).collect();
    let names: Vec<String>;
    if numeric {
        let mut max_plus_one = 0usize;
        for &(s, d, w, line) in &raw {
            let (s, d) = (s.parse::<usize>(), d.parse::<usize>());
            let (Ok(s), Ok(d)) = (s, d) else {
                return Err(malformed(line, "node index is not an integer".into()));
            };
            let top = s
                .max(d)
                .checked_add(1)
                .ok_or_else(|| malformed(line, "node index overflows".into()))?;
            max_plus_one = max_plus_one.max(top);
            edges.push((s, d, w));
        }
        let n = match declared {
            Some(n) if n < max_plus_one => {
                return Err(malformed(
                    1,
                    format!(
                        "header declares n={n} but node {} appears",
                        max_plus_one - 1
                    ),
                ));
            }
            Some(n) => n,
            None => max_plus_one,
        };
        if n > u32::MAX as usize / 2 {
            return Err(malformed(
                1,
                format!("{n} nodes is more than this crate indexes"),
            ));
        }
        names = (0..n).map(|i| i.to_string()).collect();
    } else {
        let mut index: HashMap<&str, usize> = HashMap::new();
        let mut order: Vec<String> = Vec::new();
        for &(s, d, w, _) in &raw {
            let mut ids = [0usize; 2];
            for (slot, name) in ids.iter_mut().zip([s, d]) {
                *slot = *index.entry(name).or_insert_with(|| {
                    order.push(name.to_string());
                    order.len() - 1
                });
            }
            edges.push((ids[0], ids[1], w));
        }
        names = order;
    }
    MotifGraph::build(names, !numeric, &edges, &lines, path)
}

/// Turns a square weight matrix (`w[i][j]` = weight of the edge `i -> j`, row-major) into a
/// graph by `params`' edge rule; the diagonal is ignored (self-loops), zero entries are never
/// edges, weights keep their sign. NaN or infinite entries are an error.
pub fn graph_from_weights(
    weights: &[f64],
    shape: &[usize],
    params: &WeightGraphValidParams,
) -> Result<MotifGraph> {
    let n = match shape {
        [a, b] if a == b && a.checked_mul(*b) == Some(weights.len()) => *a,
        _ => {
            return Err(MotifsError::NotSquare {
                name: "weights".into(),
                shape: shape.to_vec(),
            });
        }
    };
    if n == 0 {
        return Err(MotifsError::GraphTooSmall {
            what: "a weight graph",
            nodes: 0,
            edges: 0,
        });
    }
    if let Some(i) = weights.iter().position(|w| !w.is_finite()) {
        return Err(MotifsError::NonFiniteWeight {
            src: i / n,
            dst: i % n,
            value: weights[i],
        });
    }
    let off_diag: Vec<(usize, usize, f64)> = (0..n * n)
        .filter(|i| i / n != i % n)
        .map(|i| (i / n, i % n, weights[i]))
        .collect();
    let edges = select_edges(&off_diag, params);
    MotifGraph::from_weighted_edges(n, &edges)
}

/// Reads a square `.npy` weight matrix (f32 or f64) and applies [`graph_from_weights`].
pub fn read_weight_matrix(
    path: impl AsRef<Path>,
    params: &WeightGraphValidParams,
) -> Result<MotifGraph> {
    let arr = kiln_core::io::read_npy(path)?;
    graph_from_weights(&arr.data, &arr.shape, params)
}

/// The candidate entries `(src, dst, w)` that pass `params`' rule (non-zero, `|w|` at or above
/// the cut).
pub(crate) fn select_edges(
    candidates: &[(usize, usize, f64)],
    params: &WeightGraphValidParams,
) -> Vec<(usize, usize, f64)> {
    let cut = match params.rule() {
        EdgeRule::Absolute(t) => t,
        EdgeRule::TopFraction(f) => {
            let mut mags: Vec<f64> = candidates.iter().map(|c| c.2.abs()).collect();
            if mags.is_empty() {
                return Vec::new();
            }
            let k = ((f * mags.len() as f64).ceil() as usize).clamp(1, mags.len());
            mags.sort_unstable_by(|a, b| b.total_cmp(a));
            mags[k - 1]
        }
    };
    candidates
        .iter()
        .copied()
        .filter(|&(_, _, w)| w != 0.0 && w.abs() >= cut)
        .collect()
}
