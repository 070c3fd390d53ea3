//! # kiln-pinn
//!
//! Physics-informed networks: data loss + PDE residual, Adam and L-BFGS.
//!
//! This crate is a skeleton: its issue fills it. See the README for what is coming.
