//! Work shared out over the cores: how many this process may use ([`cores`]) and a map over
//! items on all of them ([`map`]), for the layers that compute independent pieces at once
//! (the statistics of many weight paths, the frequencies of a convolution's spectrum). The
//! fused step keeps its own persistent workers ([`crate::train::fused`]).
//!
//! May import: nothing.

mod map;

pub use map::{cores, map};
