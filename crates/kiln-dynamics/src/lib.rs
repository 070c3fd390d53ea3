//! # kiln-dynamics
//!
//! Training dynamics: symmetry breaking at init, min-max games with gradient clipping, learned vs mechanistic models out of distribution.
//!
//! This crate is a skeleton: its issue fills it. See the README for what is coming.
