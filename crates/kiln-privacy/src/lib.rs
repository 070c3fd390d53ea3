//! # kiln-privacy
//!
//! DP-SGD and exact privacy accounting of (epsilon, delta) under composition.
//!
//! This crate is a skeleton: its issue fills it. See the README for what is coming.
