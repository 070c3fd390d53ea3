//! # kiln-ctc
//!
//! CTC loss (all alignments, blank symbol, dynamic programming) and CTC decoding (greedy, prefix beam search, language model).
//!
//! This crate is a skeleton: its issue fills it. See the README for what is coming.
