//! # kiln-motifs
//!
//! Network motifs of weight graphs (a trained RNN's recurrent matrix, a connectome): which
//! small wiring patterns occur more often than in randomized networks.
//!
//! - [`MotifGraph`]: a directed simple graph on [`petgraph`], read from edge lists
//!   ([`read_edge_list`]), weight matrices ([`graph_from_weights`], [`read_weight_matrix`]) or
//!   Burn modules (`weights::module_graph`, feature `burn`).
//! - Exact counting: the [`triad_census`] (Batagelj–Mrvar, 16 MAN classes, [`Triad`]), the
//!   3- and 4-node motif census ([`motif_census3`], [`motif_census4`], ESU) keyed by mfinder
//!   ID; sampling estimates by [`rand_esu`].
//! - Null models ([`NullModel`]: mfinder switching, igraph degree switching, configuration,
//!   G(n, m)) and [`significance()`]: z-scores, p-values, significance profile, rayon across null
//!   graphs.
//! - Signed and weighted feed-forward loops ([`signed`]): sign types C1..I4, Onnela intensity
//!   and coherence, sign- and magnitude-shuffle nulls.
//! - `experiment`: the seed experiment (`kiln reproduce motifs`, feature `burn`).
#![warn(missing_docs)]

mod adjacency;
pub mod census;
pub mod errors;
mod esu;
#[cfg(feature = "burn")]
pub mod experiment;
pub mod graph;
pub mod hyperparams;
pub mod input;
pub mod isoclass;
pub mod null;
pub mod signed;
pub mod significance;
#[cfg(feature = "burn")]
pub mod weights;

pub use census::{MotifCensus, TriadCensus, motif_census3, motif_census4, triad_census};
pub use errors::{MotifsError, Result};
pub use esu::{SampledCensus, rand_esu};
pub use graph::MotifGraph;
pub use hyperparams::{
    EdgeRule, NullModel, RandEsuParams, RandEsuValidParams, SignificanceParams,
    SignificanceValidParams, WeightGraphParams, WeightGraphValidParams,
};
pub use input::{graph_from_weights, parse_edge_list, read_edge_list, read_weight_matrix};
pub use isoclass::{BIFAN_ID, CYCLE3_ID, FFL_ID, Triad};
pub use null::{null_graph, random_gnm};
pub use significance::{MotifStat, Significance, significance, significance_profile};

#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeDoctests;
