//! # kiln-motifs
//!
//! Network-motif analysis of trained weight graphs against randomized null models.
//!
//! This crate is a skeleton: its issue fills it. See the README for what is coming.
