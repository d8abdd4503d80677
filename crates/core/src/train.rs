//! Training the fully connected ResNet: the optimisers ([`optim`]), the training loop behind
//! one seam ([`session::Stepper`]: the burn step on any backend, or the fused CPU step of
//! [`fused`]), checkpoints that resume bit for bit, and the results a training writes.
//!
//! May import: io, model, data, parallel.

pub mod checkpoint;
pub mod fused;
pub mod optim;
pub mod results;
pub mod session;
