//! The seed experiment (placeholder while it is built).
