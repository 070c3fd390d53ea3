//! One module per subcommand.

pub mod area;
pub mod backends;
pub mod ctc;
pub mod ctc_decode;
pub mod ctc_loss;
pub mod motifs;
pub mod pinn;
pub mod privacy;
pub mod reproduce;
