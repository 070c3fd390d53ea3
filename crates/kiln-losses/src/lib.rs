//! # kiln-losses
//!
//! Differentiable surrogates of segmentation metrics: soft IoU (Jaccard), Dice and relatives.
//!
//! This crate is a skeleton: its issue fills it. See the README for what is coming.
