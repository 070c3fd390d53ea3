//! The graph type: a directed, simple, optionally weighted [`petgraph`] graph.

use petgraph::graph::{DiGraph, NodeIndex};
use petgraph::visit::EdgeRef;

use crate::adjacency::Adjacency;
use crate::errors::{MotifsError, Result};

/// A directed simple graph (no self-loops, no parallel edges) with a signed weight per edge
/// and a name per node, stored as a petgraph [`DiGraph`].
///
/// Policy for messy input, the same in every constructor:
/// - **self-loops are dropped** and counted ([`MotifGraph::self_loops_dropped`]): motifs of
///   3 and 4 nodes are defined on distinct nodes and mfinder ignores loops too;
/// - **duplicate directed edges are rejected** with [`MotifsError::DuplicateEdge`] (two weights
///   for one edge have no single meaning); `a -> b` and `b -> a` are two edges (a mutual dyad);
/// - **weights must be finite** ([`MotifsError::NonFiniteWeight`]); unweighted edges weigh 1.
#[derive(Debug, Clone)]
pub struct MotifGraph {
    graph: DiGraph<String, f64>,
    named: bool,
    self_loops_dropped: usize,
}

impl MotifGraph {
    /// An unweighted graph on nodes `0..nodes` from `(src, dst)` pairs.
    pub fn from_edges(nodes: usize, edges: &[(usize, usize)]) -> Result<Self> {
        let weighted: Vec<(usize, usize, f64)> = edges.iter().map(|&(s, d)| (s, d, 1.0)).collect();
        Self::from_weighted_edges(nodes, &weighted)
    }

    /// A weighted graph on nodes `0..nodes` from `(src, dst, weight)` triples.
    pub fn from_weighted_edges(nodes: usize, edges: &[(usize, usize, f64)]) -> Result<Self> {
        let names = (0..nodes).map(|i| i.to_string()).collect();
        let lines: Vec<usize> = (1..=edges.len()).collect();
        Self::build(names, false, edges, &lines, std::path::Path::new("<edges>"))
    }

    /// Takes any petgraph [`DiGraph`], reading each edge's weight with `weight`; node names are
    /// the node indices. Self-loops and duplicates follow the policy above.
    pub fn from_petgraph<N, E>(graph: &DiGraph<N, E>, weight: impl Fn(&E) -> f64) -> Result<Self> {
        let edges: Vec<(usize, usize, f64)> = graph
            .edge_references()
            .map(|e| (e.source().index(), e.target().index(), weight(e.weight())))
            .collect();
        Self::from_weighted_edges(graph.node_count(), &edges)
    }

    /// Builds the graph; `lines[i]` locates edge `i` in `path` for error messages.
    pub(crate) fn build(
        names: Vec<String>,
        named: bool,
        edges: &[(usize, usize, f64)],
        lines: &[usize],
        path: &std::path::Path,
    ) -> Result<Self> {
        let nodes = names.len();
        // Counting and switching index nodes and edge slots with 32 bits.
        if nodes > u32::MAX as usize / 2 {
            return Err(MotifsError::invalid("nodes", nodes, "must be below 2^31"));
        }
        if edges.len() > u32::MAX as usize {
            return Err(MotifsError::invalid(
                "edges",
                edges.len(),
                "must be below 2^32",
            ));
        }
        let mut graph = DiGraph::with_capacity(nodes, edges.len());
        for name in names {
            graph.add_node(name);
        }
        let mut order: Vec<usize> = (0..edges.len()).collect();
        order.sort_by_key(|&i| (edges[i].0, edges[i].1, i));
        let mut self_loops_dropped = 0;
        let mut prev: Option<usize> = None;
        for &i in &order {
            let (s, d, w) = edges[i];
            for node in [s, d] {
                if node >= nodes {
                    return Err(MotifsError::NodeOutOfRange { node, nodes });
                }
            }
            if !w.is_finite() {
                return Err(MotifsError::NonFiniteWeight {
                    src: s,
                    dst: d,
                    value: w,
                });
            }
            if s == d {
                self_loops_dropped += 1;
                continue;
            }
            if let Some(p) = prev
                && (edges[p].0, edges[p].1) == (s, d)
            {
                let line = |k: usize| lines.get(k).copied().unwrap_or(k + 1);
                return Err(MotifsError::DuplicateEdge {
                    path: path.to_path_buf(),
                    line: line(i),
                    first_line: line(p),
                    src: graph[NodeIndex::new(s)].clone(),
                    dst: graph[NodeIndex::new(d)].clone(),
                });
            }
            prev = Some(i);
            graph.add_edge(NodeIndex::new(s), NodeIndex::new(d), w);
        }
        Ok(Self {
            graph,
            named,
            self_loops_dropped,
        })
    }

    /// The underlying petgraph graph (node weight: name; edge weight: signed weight).
    pub fn petgraph(&self) -> &DiGraph<String, f64> {
        &self.graph
    }

    /// Number of nodes (isolated ones included).
    pub fn node_count(&self) -> usize {
        self.graph.node_count()
    }

    /// Number of directed edges.
    pub fn edge_count(&self) -> usize {
        self.graph.edge_count()
    }

    /// Self-loops that were in the input and dropped.
    pub fn self_loops_dropped(&self) -> usize {
        self.self_loops_dropped
    }

    /// Whether the nodes came with names (rather than 0-based indices).
    pub fn is_named(&self) -> bool {
        self.named
    }

    /// The name of node `i` (its index as text for unnamed graphs).
    pub fn name(&self, i: usize) -> Option<&str> {
        self.graph
            .node_weight(NodeIndex::new(i))
            .map(String::as_str)
    }

    /// The edges as `(src, dst, weight)`, sorted by `(src, dst)`.
    pub fn edges(&self) -> Vec<(usize, usize, f64)> {
        self.graph
            .edge_references()
            .map(|e| (e.source().index(), e.target().index(), *e.weight()))
            .collect()
    }

    /// Number of mutual dyads (node pairs joined in both directions).
    pub fn mutual_dyads(&self) -> usize {
        self.adjacency().mutual_dyads()
    }

    /// Out-degree of every node.
    pub fn out_degrees(&self) -> Vec<usize> {
        let mut d = vec![0; self.node_count()];
        for e in self.graph.edge_references() {
            d[e.source().index()] += 1;
        }
        d
    }

    /// In-degree of every node.
    pub fn in_degrees(&self) -> Vec<usize> {
        let mut d = vec![0; self.node_count()];
        for e in self.graph.edge_references() {
            d[e.target().index()] += 1;
        }
        d
    }

    /// Edge pairs as u32 (the counting code's input).
    pub(crate) fn pairs(&self) -> Vec<(u32, u32)> {
        self.graph
            .edge_references()
            .map(|e| (e.source().index() as u32, e.target().index() as u32))
            .collect()
    }

    pub(crate) fn adjacency(&self) -> Adjacency {
        Adjacency::new(self.node_count(), &self.pairs())
    }

    /// A graph with these node names and unit-weight edges (null-model output).
    pub(crate) fn from_pairs_unchecked(template: &MotifGraph, pairs: &[(u32, u32)]) -> Self {
        let mut graph = DiGraph::with_capacity(template.node_count(), pairs.len());
        for i in 0..template.node_count() {
            graph.add_node(template.name(i).unwrap_or_default().to_string());
        }
        let mut sorted = pairs.to_vec();
        sorted.sort_unstable();
        for (s, d) in sorted {
            graph.add_edge(NodeIndex::new(s as usize), NodeIndex::new(d as usize), 1.0);
        }
        Self {
            graph,
            named: template.named,
            self_loops_dropped: 0,
        }
    }
}
