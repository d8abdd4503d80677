//! Files: the safetensors encoding of named tensors, and files written atomically. Knows
//! nothing of networks or sweeps; the types that own each file format (weights, checkpoints,
//! run directories) build on it.
//!
//! May import: nothing.

pub mod file;
pub mod tensor_file;
