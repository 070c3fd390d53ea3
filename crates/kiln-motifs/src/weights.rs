//! Graphs from a Burn module's weight tensors (feature `burn`).
//!
//! Burn stores a linear map as `weight: [in, out]` (`y = x W`), so `W[i][j]` is the connection
//! from unit `i` to unit `j`: the edge `i -> j`, the same convention as
//! [`graph_from_weights`]. An RNN's hidden-to-hidden matrix
//! (burn-nn's `gate.hidden_transform.weight`, `[hidden, hidden]`) is its recurrent connectome.

use kiln_core::burn::module::{Module, ModuleVisitor, Param};
use kiln_core::burn::tensor::Tensor;
use kiln_core::convert;

use crate::errors::{MotifsError, Result};
use crate::graph::MotifGraph;
use crate::hyperparams::WeightGraphValidParams;
use crate::input::{graph_from_weights, select_edges};

/// A 2-D float parameter read back from a module.
#[derive(Debug, Clone, PartialEq)]
pub struct NamedWeight {
    /// Dotted parameter path (`rnn.gate.hidden_transform.weight`).
    pub path: String,
    /// `[in, out]`.
    pub shape: [usize; 2],
    /// Row-major values.
    pub values: Vec<f64>,
}

struct Collect {
    path: Vec<String>,
    found: Vec<NamedWeight>,
    error: Option<kiln_core::KilnError>,
}

impl ModuleVisitor for Collect {
    fn enter_module(&mut self, name: &str, _container_type: &str) {
        self.path.push(name.to_string());
    }

    fn exit_module(&mut self, _name: &str, _container_type: &str) {
        self.path.pop();
    }

    fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<D>>) {
        if D != 2 {
            return;
        }
        let t = param.val();
        let dims = convert::shape_of(&t);
        match convert::to_vec_f64(&t) {
            Ok(values) => self.found.push(NamedWeight {
                path: self.path.join("."),
                shape: [dims[0], dims[1]],
                values,
            }),
            Err(e) => self.error = Some(e),
        }
    }
}

/// Every 2-D float parameter of `module` (weight matrices), with its dotted path.
pub fn module_weights<M: Module>(module: &M) -> Result<Vec<NamedWeight>> {
    let mut v = Collect {
        path: Vec::new(),
        found: Vec::new(),
        error: None,
    };
    module.visit(&mut v);
    match v.error {
        Some(e) => Err(e.into()),
        None => Ok(v.found),
    }
}

/// The graph of the parameter of `module` whose path is `name` or ends with `.name`
/// (e.g. `gate.hidden_transform.weight` for a burn-nn `Rnn`), thresholded by `params`.
///
/// A square `[n, n]` matrix is a recurrent graph on `n` units; a rectangular `[in, out]` one
/// (a linear layer) is a bipartite graph with inputs `0..in` and outputs `in..in+out`.
pub fn module_graph<M: Module>(
    module: &M,
    name: &str,
    params: &WeightGraphValidParams,
) -> Result<MotifGraph> {
    let all = module_weights(module)?;
    let suffix = format!(".{name}");
    let w = all
        .iter()
        .find(|w| w.path == name || w.path.ends_with(&suffix))
        .ok_or_else(|| MotifsError::MissingWeight {
            name: name.to_string(),
            found: all
                .iter()
                .map(|w| w.path.as_str())
                .collect::<Vec<_>>()
                .join(", "),
        })?;
    let [rows, cols] = w.shape;
    if rows == cols {
        return graph_from_weights(&w.values, &[rows, cols], params);
    }
    if let Some(i) = w.values.iter().position(|v| !v.is_finite()) {
        return Err(MotifsError::NonFiniteWeight {
            src: i / cols,
            dst: rows + i % cols,
            value: w.values[i],
        });
    }
    // A layer: inputs 0..in, outputs in..in+out; the rule applies to the layer's own entries.
    let entries: Vec<(usize, usize, f64)> = (0..rows * cols)
        .map(|i| (i / cols, rows + i % cols, w.values[i]))
        .collect();
    MotifGraph::from_weighted_edges(rows + cols, &select_edges(&entries, params))
}
