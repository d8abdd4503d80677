//! The safetensors encoding of named f32 tensors (readable from numpy and PyTorch with
//! `safetensors.numpy.load_file`): the one reader and writer of every `.safetensors` file.

use safetensors::{tensor::TensorView, Dtype, SafeTensors};
use std::collections::{BTreeMap, HashMap};

#[derive(Debug, thiserror::Error)]
pub enum TensorFileError {
    #[error("not a safetensors file: {0}")]
    Format(String),
    #[error("tensor `{0}` is missing")]
    Missing(String),
    #[error("tensor `{name}` holds {value} at index {index}: a weight must be finite")]
    NonFinite {
        name: String,
        index: usize,
        value: f32,
    },
    #[error("tensor `{name}` is {found}, expected {expected}")]
    Mismatch {
        name: String,
        found: String,
        expected: String,
    },
}

/// Named f32 tensors: name → (shape, values in row-major order).
pub type TensorMap = BTreeMap<String, (Vec<usize>, Vec<f32>)>;

/// Encodes f32 tensors as a safetensors file.
pub fn encode(tensors: &TensorMap) -> Vec<u8> {
    encode_with(tensors, None)
}

/// Encodes f32 tensors as a safetensors file with string metadata in its header.
pub fn encode_with(tensors: &TensorMap, metadata: Option<HashMap<String, String>>) -> Vec<u8> {
    let bytes: Vec<(&String, &Vec<usize>, Vec<u8>)> = tensors
        .iter()
        .map(|(name, (shape, values))| {
            let raw = values.iter().flat_map(|v| v.to_le_bytes()).collect();
            (name, shape, raw)
        })
        .collect();
    let views = bytes.iter().map(|(name, shape, raw)| {
        let view = TensorView::new(Dtype::F32, shape.to_vec(), raw).expect("consistent shape");
        (name.as_str(), view)
    });
    safetensors::serialize(views, metadata).expect("serialisable tensors")
}

/// Decodes a safetensors file of f32 tensors.
pub fn decode(bytes: &[u8]) -> Result<TensorMap, TensorFileError> {
    let file =
        SafeTensors::deserialize(bytes).map_err(|e| TensorFileError::Format(e.to_string()))?;
    let mut map = TensorMap::new();
    for (name, view) in file.tensors() {
        if view.dtype() != Dtype::F32 {
            return Err(TensorFileError::Mismatch {
                name,
                found: format!("{:?}", view.dtype()),
                expected: "F32".into(),
            });
        }
        let values = view
            .data()
            .chunks_exact(4)
            .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
            .collect();
        map.insert(name, (view.shape().to_vec(), values));
    }
    Ok(map)
}

/// Takes tensor `name` out of `map`, checking its shape.
pub fn take(map: &mut TensorMap, name: &str, shape: &[usize]) -> Result<Vec<f32>, TensorFileError> {
    let (found, values) = map
        .remove(name)
        .ok_or_else(|| TensorFileError::Missing(name.into()))?;
    if found != shape {
        return Err(TensorFileError::Mismatch {
            name: name.into(),
            found: format!("{found:?}"),
            expected: format!("{shape:?}"),
        });
    }
    Ok(values)
}

/// The first non-finite value of tensor `name` as an error naming it and its flat index.
pub fn check_finite(name: &str, values: &[f32]) -> Result<(), TensorFileError> {
    match values.iter().position(|v| !v.is_finite()) {
        None => Ok(()),
        Some(index) => Err(TensorFileError::NonFinite {
            name: name.into(),
            index,
            value: values[index],
        }),
    }
}
