//! One module per subcommand.

pub mod area;
pub mod backends;
pub mod ctc;
pub mod ctc_decode;
pub mod ctc_loss;
pub mod drift;
pub mod dynamics;
pub mod losses;
pub mod motifs;
pub mod norm;
pub mod pinn;
pub mod privacy;
pub mod reproduce;
