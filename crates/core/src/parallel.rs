//! Work shared out over the cores: how many this process may use ([`cores`]), the size of
//! their last-level cache ([`last_level_cache_bytes`]), and a map over
//! items on all of them ([`map`]), for the layers that compute independent pieces at once
//! (the statistics of many weight paths, the frequencies of a convolution's spectrum), and a
//! [`Team`] of threads kept between jobs, for the fused step's many short ones.
//!
//! May import: nothing.

mod cache;
mod map;
mod team;

pub use cache::last_level_cache_bytes;
pub use map::{cores, map};
pub use team::Team;
