//! A training paused inside a unit, to be resumed bit for bit: the weights, the optimiser's
//! state (t, and v or m and s), the number of updates made, the loss history and the wall
//! time so far. The batch order needs no state of its own: it is a function of the seed and
//! the number of updates, which [`crate::train::session::Session::resume`] replays.
//!
//! checkpoint.safetensors: the tensors `A`, `b`, `delta` (the weights), `m.A`, `m.b`,
//! `m.delta` (v of SGD with momentum, or Adam's m) and `s.A`, `s.b`, `s.delta` (Adam's s),
//! all f32, and in the header's metadata, `state`: JSON {step, t, wall_time_s, engine,
//! history}.

use crate::io::tensor_file::decode;
use crate::io::tensor_file::encode_with;
use crate::io::tensor_file::TensorFileError;
use crate::io::tensor_file::TensorMap;
use crate::model::weights::Weights;
use crate::train::results::LossPoint;
use safetensors::SafeTensors;
use serde::{Deserialize, Serialize};
use std::collections::HashMap;

/// The weights and the optimiser's state: what a stepper continues from.
#[derive(Clone, Debug, PartialEq)]
pub struct OptimState {
    pub weights: Weights,
    /// Updates the optimiser has made.
    pub t: u64,
    /// v (SGD with μ > 0) or m (Adam), shaped as the weights; `None` where not kept.
    pub m: Option<Weights>,
    /// s (Adam).
    pub s: Option<Weights>,
}

impl OptimState {
    /// Checks that the state fits a network of depth L and width d with `trained` δ values
    /// (`None`: δ is not trained) and an optimiser keeping `states` values per weight (see
    /// [`crate::train::optim::Rule::states`]).
    pub fn check(
        &self,
        depth: usize,
        width: usize,
        trained: Option<usize>,
        states: usize,
    ) -> Result<(), Mismatch> {
        let fits = |w: &Weights, delta: Option<usize>| {
            w.depth == depth
                && w.width == width
                && w.a.len() == depth * width * width
                && w.b.len() == depth * width
                && delta.is_none_or(|n| w.delta.as_ref().map(Vec::len) == Some(n))
        };
        if !fits(&self.weights, trained) {
            return Err(Mismatch::Weights { depth, width });
        }
        let kept = [(&self.m, states >= 1), (&self.s, states >= 2)];
        for (w, expected) in kept {
            match w {
                Some(w)
                    if expected && fits(w, trained) && w.delta.is_some() == trained.is_some() => {}
                None if !expected => {}
                _ => return Err(Mismatch::OptimState),
            }
        }
        Ok(())
    }
}

/// A checkpoint that does not fit the training that would resume from it.
#[derive(Debug, thiserror::Error)]
pub enum Mismatch {
    #[error("the checkpoint's weights do not fit a network of depth {depth} and width {width}")]
    Weights { depth: usize, width: usize },
    #[error("the checkpoint's optimiser state does not fit this training")]
    OptimState,
}

/// A paused training.
#[derive(Clone, Debug, PartialEq)]
pub struct Checkpoint {
    /// Updates made.
    pub step: usize,
    /// The training losses recorded so far.
    pub history: Vec<LossPoint>,
    /// Seconds of training so far.
    pub wall_time_s: f64,
    /// What computed the updates (e.g. the fused step's instruction set and threads): a
    /// resume on another may differ in the last bits.
    pub engine: String,
    pub state: OptimState,
}

/// The checkpoint's scalars, stored in the safetensors header.
#[derive(Serialize, Deserialize)]
struct Scalars {
    step: usize,
    t: u64,
    wall_time_s: f64,
    #[serde(default)]
    engine: String,
    history: Vec<LossPoint>,
}

impl Checkpoint {
    pub fn to_safetensors(&self) -> Vec<u8> {
        let mut map = TensorMap::new();
        let state = &self.state;
        state.weights.insert_into(&mut map, "");
        for (prefix, w) in [("m.", &state.m), ("s.", &state.s)] {
            if let Some(w) = w {
                w.insert_into(&mut map, prefix);
            }
        }
        let scalars = Scalars {
            step: self.step,
            t: state.t,
            wall_time_s: self.wall_time_s,
            engine: self.engine.clone(),
            history: self.history.clone(),
        };
        let json = serde_json::to_string(&scalars).expect("serialisable scalars");
        encode_with(&map, Some(HashMap::from([("state".to_string(), json)])))
    }

    /// Reads a checkpoint written by [`Checkpoint::to_safetensors`].
    pub fn from_safetensors(bytes: &[u8]) -> Result<Self, TensorFileError> {
        let (_, header) = SafeTensors::read_metadata(bytes)
            .map_err(|e| TensorFileError::Format(e.to_string()))?;
        let json = header
            .metadata()
            .as_ref()
            .and_then(|m| m.get("state"))
            .ok_or_else(|| TensorFileError::Missing("metadata `state`".into()))?;
        let scalars: Scalars = serde_json::from_str(json)
            .map_err(|e| TensorFileError::Format(format!("metadata `state`: {e}")))?;
        let mut map = decode(bytes)?;
        let weights = Weights::take_from(&mut map, "")?;
        let mut optional = |prefix: &str| {
            map.contains_key(&format!("{prefix}A"))
                .then(|| Weights::take_from(&mut map, prefix))
                .transpose()
        };
        let (m, s) = (optional("m.")?, optional("s.")?);
        for w in m.iter().chain(&s) {
            if (w.depth, w.width) != (weights.depth, weights.width) {
                return Err(TensorFileError::Format(
                    "the optimiser's state is not shaped as the weights".into(),
                ));
            }
        }
        Ok(Self {
            step: scalars.step,
            history: scalars.history,
            wall_time_s: scalars.wall_time_s,
            engine: scalars.engine,
            state: OptimState {
                weights,
                t: scalars.t,
                m,
                s,
            },
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn weights(depth: usize, width: usize, fill: f32, delta: Option<usize>) -> Weights {
        Weights {
            depth,
            width,
            a: (0..depth * width * width)
                .map(|i| fill + i as f32)
                .collect(),
            b: vec![fill; depth * width],
            delta: delta.map(|n| vec![-fill; n]),
        }
    }

    #[test]
    fn a_checkpoint_reads_back_as_written() {
        let history = vec![LossPoint {
            step: 0,
            train_loss: Some(0.25),
        }];
        for (m, s) in [(None, None), (Some(2.0), None), (Some(2.0), Some(3.0))] {
            let state = OptimState {
                weights: weights(3, 2, 1.0, Some(3)),
                t: 17,
                m: m.map(|f| weights(3, 2, f, Some(3))),
                s: s.map(|f| weights(3, 2, f, Some(3))),
            };
            let c = Checkpoint {
                step: 17,
                history: history.clone(),
                wall_time_s: 1.5,
                engine: "fused".into(),
                state,
            };
            assert_eq!(
                Checkpoint::from_safetensors(&c.to_safetensors()).unwrap(),
                c
            );
        }
    }

    #[test]
    fn a_malformed_checkpoint_is_an_error() {
        let plain = weights(2, 2, 1.0, None).to_safetensors();
        let err = Checkpoint::from_safetensors(&plain).unwrap_err();
        assert!(err.to_string().contains("metadata `state`"), "{err}");
        let c = Checkpoint {
            step: 1,
            history: Vec::new(),
            wall_time_s: 0.0,
            engine: String::new(),
            state: OptimState {
                weights: weights(2, 2, 1.0, None),
                t: 1,
                m: Some(weights(3, 2, 1.0, None)),
                s: None,
            },
        };
        let err = Checkpoint::from_safetensors(&c.to_safetensors()).unwrap_err();
        assert!(
            err.to_string().contains("not shaped as the weights"),
            "{err}"
        );
    }
}
