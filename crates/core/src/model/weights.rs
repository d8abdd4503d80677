//! The weights of a fully connected ResNet on the host, and their safetensors file
//! ([`crate::io::tensor_file`]).

use crate::io::tensor_file::{check_finite, decode, encode, take, TensorFileError, TensorMap};
use crate::model::delta::DeltaMode;
use serde::{Deserialize, Serialize};

/// The weights of a fully connected ResNet of depth L and width d, on the host.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Weights {
    pub depth: usize,
    pub width: usize,
    /// A: [L, d, d], row-major.
    pub a: Vec<f32>,
    /// b: [L, d].
    pub b: Vec<f32>,
    /// δ: [1] (shared or fixed) or [L] (per layer); `None` when δ = 1.
    pub delta: Option<Vec<f32>>,
}

impl Weights {
    /// The tensors `A` [L,d,d], `b` [L,d] and, unless δ = 1, `delta` [1] or [L].
    pub fn to_safetensors(&self) -> Vec<u8> {
        let mut map = TensorMap::new();
        self.insert_into(&mut map, "");
        encode(&map)
    }

    /// Reads weights written by [`Weights::to_safetensors`], checking every shape.
    pub fn from_safetensors(bytes: &[u8]) -> Result<Self, TensorFileError> {
        Self::take_from(&mut decode(bytes)?, "")
    }

    /// Adds `A`, `b` and `delta`, each name after `prefix`, to `map`.
    pub fn insert_into(&self, map: &mut TensorMap, prefix: &str) {
        let (l, d) = (self.depth, self.width);
        map.insert(format!("{prefix}A"), (vec![l, d, d], self.a.clone()));
        map.insert(format!("{prefix}b"), (vec![l, d], self.b.clone()));
        if let Some(delta) = &self.delta {
            map.insert(format!("{prefix}delta"), (vec![delta.len()], delta.clone()));
        }
    }

    /// Takes the weights written by [`Weights::insert_into`] with `prefix` out of `map`,
    /// checking every shape.
    pub fn take_from(map: &mut TensorMap, prefix: &str) -> Result<Self, TensorFileError> {
        let name = |n: &str| format!("{prefix}{n}");
        let shape = map
            .get(&name("A"))
            .map(|(s, _)| s.clone())
            .ok_or_else(|| TensorFileError::Missing(name("A")))?;
        let (l, d) = match shape[..] {
            [l, d, d2] if d == d2 && l > 0 && d > 0 => (l, d),
            _ => {
                return Err(TensorFileError::Mismatch {
                    name: name("A"),
                    found: format!("{shape:?}"),
                    expected: "[L, d, d]".into(),
                })
            }
        };
        let a = take(map, &name("A"), &[l, d, d])?;
        let b = take(map, &name("b"), &[l, d])?;
        let delta = match map.get(&name("delta")).map(|(s, _)| s.clone()) {
            None => None,
            Some(s) if s == [1] || s == [l] => Some(take(map, &name("delta"), &s)?),
            Some(s) => {
                return Err(TensorFileError::Mismatch {
                    name: name("delta"),
                    found: format!("{s:?}"),
                    expected: format!("[1] or [{l}]"),
                })
            }
        };
        Ok(Self {
            depth: l,
            width: d,
            a,
            b,
            delta,
        })
    }

    /// Checks the weights against the sweep's δ mode: `delta` is [1] for a shared or fixed
    /// δ, [L] per layer, and absent for δ = 1.
    pub fn check_delta(&self, mode: DeltaMode) -> Result<(), TensorFileError> {
        let expected = match mode {
            DeltaMode::None => None,
            DeltaMode::Shared | DeltaMode::Fixed { .. } => Some(1),
            DeltaMode::PerLayer => Some(self.depth),
        };
        let found = self.delta.as_ref().map(Vec::len);
        if found == expected {
            return Ok(());
        }
        let shape = |len: Option<usize>| len.map_or("absent".into(), |n| format!("[{n}]"));
        Err(match found {
            None => TensorFileError::Missing("delta".into()),
            Some(_) => TensorFileError::Mismatch {
                name: "delta".into(),
                found: shape(found),
                expected: format!("{} for δ mode {mode:?}", shape(expected)),
            },
        })
    }

    /// Every value is finite, or an error naming the first that is not.
    pub fn check_finite(&self) -> Result<(), TensorFileError> {
        check_finite("A", &self.a)?;
        check_finite("b", &self.b)?;
        self.delta
            .as_ref()
            .map_or(Ok(()), |delta| check_finite("delta", delta))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Weights {
        Weights {
            depth: 3,
            width: 2,
            a: (0..12).map(|i| i as f32 * 0.5).collect(),
            b: (0..6).map(|i| -(i as f32)).collect(),
            delta: Some(vec![0.1, 0.2, 0.3]),
        }
    }

    #[test]
    fn weights_round_trip() {
        let w = sample();
        assert_eq!(Weights::from_safetensors(&w.to_safetensors()).unwrap(), w);
        let none = Weights { delta: None, ..w };
        assert_eq!(
            Weights::from_safetensors(&none.to_safetensors()).unwrap(),
            none
        );
    }

    #[test]
    fn bad_files_are_named() {
        assert!(matches!(
            Weights::from_safetensors(b"not a file"),
            Err(TensorFileError::Format(_))
        ));
        let mut map = TensorMap::new();
        map.insert("A".into(), (vec![3, 2, 2], vec![0.0; 12]));
        map.insert("b".into(), (vec![3, 3], vec![0.0; 9]));
        let err = Weights::from_safetensors(&encode(&map)).unwrap_err();
        assert!(err.to_string().contains("`b`"), "{err}");
        map.remove("b");
        let err = Weights::from_safetensors(&encode(&map)).unwrap_err();
        assert!(matches!(err, TensorFileError::Missing(ref n) if n == "b"));
    }

    #[test]
    fn delta_and_finiteness_are_checked() {
        let w = sample();
        w.check_delta(DeltaMode::PerLayer).unwrap();
        let err = w.check_delta(DeltaMode::Shared).unwrap_err().to_string();
        assert!(err.contains("`delta` is [3], expected [1]"), "{err}");
        let err = w.check_delta(DeltaMode::None).unwrap_err().to_string();
        assert!(err.contains("expected absent"), "{err}");
        let none = Weights {
            delta: None,
            ..w.clone()
        };
        none.check_delta(DeltaMode::None).unwrap();
        let err = none.check_delta(DeltaMode::Shared).unwrap_err();
        assert!(matches!(err, TensorFileError::Missing(ref n) if n == "delta"));

        w.check_finite().unwrap();
        for (tensor, value) in [
            ("A", f32::NAN),
            ("b", f32::INFINITY),
            ("delta", f32::NEG_INFINITY),
        ] {
            let mut bad = w.clone();
            match tensor {
                "A" => bad.a[7] = value,
                "b" => bad.b[1] = value,
                _ => bad.delta.as_mut().unwrap()[1] = value,
            }
            let err = bad.check_finite().unwrap_err().to_string();
            assert!(
                err.contains(&format!("`{tensor}` holds {value} at index")),
                "{err}"
            );
        }
    }
}
