//! The data sets: matrices on the host with their mini-batches and the paper's synthetic data
//! ([`synthetic`], with its irreducible error, [`floor`]), the MNIST embedding of the paper ([`mnist`], from the IDX files of
//! [`idx`]) and CIFAR-10 ([`cifar`]).
//!
//! May import: io, model.

pub mod cifar;
pub mod floor;
pub mod idx;
pub mod mnist;
pub mod synthetic;
