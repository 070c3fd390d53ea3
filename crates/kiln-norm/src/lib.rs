//! # kiln-norm
//!
//! Normalization that works at batch size 2: BatchNorm vs GroupNorm and the train/inference mismatch.
//!
//! This crate is a skeleton: its issue fills it. See the README for what is coming.
