//! The convolutional ResNet of the CIFAR-10 experiments: the network ([`resnet`]), its
//! training on images ([`train`]), and the exact singular values of its convolutions
//! ([`spectral`]), from which its weight paths are read as norms.
//!
//! May import: io, model, data, train, analysis, parallel.

pub mod resnet;
pub mod spectral;
pub mod train;
