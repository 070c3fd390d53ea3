//! Signed and weighted feed-forward loops.
