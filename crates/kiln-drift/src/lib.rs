//! # kiln-drift
//!
//! Concept-drift detection on loss streams, triggering retraining or an optimizer reset.
//!
//! This crate is a skeleton: its issue fills it. See the README for what is coming.
