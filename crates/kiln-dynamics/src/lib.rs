//! # kiln-dynamics
//!
//! Training dynamics, three small tool kits and the experiment that uses them:
//!
//! - [`symmetry`]: how redundant a layer's neurons are ([`NeuronMatrix`], [`redundancy`]:
//!   pairwise distances, numerical rank of weights and gradients), a check that flags a
//!   symmetric initialization before training ([`check_init`]), and Burn's initializers
//!   compared ([`compare_initializers`]).
//! - [`game`]: two-player differentiable games on Burn tensors ([`Game`], any [`Objective`]),
//!   simultaneous / alternating GDA, extragradient and optimistic GDA with clipping by value or
//!   norm ([`GameRunner`], [`GameParams`]), trajectories and diagnostics (distance to
//!   equilibrium, [`winding_turns`], Jacobian eigenvalues via [`Game::jacobian`]).
//! - [`thermo`]: a thermodynamic promoter-activity model (PWM energies -> Boltzmann/Hill
//!   occupancy -> expression) fit by gradient descent on Burn ([`ThermoModel`]).
//! - [`linalg`]: singular values and small-matrix eigenvalues in plain Rust.
//! - [`experiment`]: `kiln reproduce dynamics` (symmetry breaking, `x y` and a small GAN with
//!   and without clipping, CNN vs mechanistic model out of distribution).
#![warn(missing_docs)]

pub mod errors;
pub mod experiment;
pub mod game;
pub mod hyperparams;
pub mod linalg;
pub mod symmetry;
pub mod thermo;

pub use errors::{DynamicsError, Result};
pub use game::{
    Game, GameRunner, Objective, Point, Trajectory, bilinear, clip_gradient, winding_turns,
};
pub use hyperparams::{
    Clip, GameAlgorithm, GameParams, GameValidParams, GamesParams, GamesValidParams, Occupancy,
    OodParams, OodValidParams, RedundancyParams, RedundancyValidParams, SymmetryParams,
    SymmetryValidParams, ThermoFitParams, ThermoFitValidParams,
};
pub use symmetry::{
    InitCheck, NeuronMatrix, Redundancy, check_init, compare_initializers, redundancy,
};
pub use thermo::{Sequences, ThermoModel, r_squared};

#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeDoctests;
