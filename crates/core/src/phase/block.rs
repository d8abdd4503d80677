//! The residual block a phase diagram probes, and one network of a column drawn for it.
//!
//!   Eq. (1)   h_{k+1} = h_k + L^{−β} σ(A_k h_k)         this project's network, b_k = 0
//!   res-3     h_{k+1} = h_k + L^{−β} V_k σ(W_k h_k)     Marion et al.'s `FullResNet`
//!
//! Every matrix has entries G^{ij}_k / √d, each (G^{ij}_k)_k a fractional Gaussian noise of
//! Hurst index H (their `create_linear_layers_fbm`: `generate_fbm(L, H)[1] / sqrt(width)`, zero
//! biases).
//!
//! The inputs follow each experiment. Eq. (1): h_0 and g_L = ∂ℓ/∂h_L with i.i.d. N(0, 1)
//! entries. res-3, as their `run_experiment` (`experiment_regularity_and_scaling_
//! initialization.py`, `config.py`'s `scaling_regularity_initialization_exp`): x ~ U[0, 1]^64,
//! h_0 = W_in x with W_in's entries U[−√(3/64), √(3/64)] (their `create_linear_layer`, no bias),
//! ℓ = (⟨w_out, h_L⟩ − y)² with w_out's entries U[−√(3/d), √(3/d)] and y ~ U[0, 1], so
//! g_L = 2(⟨w_out, h_L⟩ − y) w_out. The ratios do not change when g_L is multiplied by a
//! number (the adjoint is linear in it), so g_L = w_out for every input of a network.

use super::probe::{draw_inputs, draw_weights, eq1, Probe};
use super::res3;
use crate::model::activation::Activation;
use crate::model::init::Init;
use crate::model::scan::Scan;
use crate::model::weights::Weights;
use rand::Rng;
use serde::{Deserialize, Serialize};

/// Which residual block the probe runs (see the module documentation).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Block {
    /// Eq. (1): h_{k+1} = h_k + L^{−β} σ(A_k h_k).
    #[default]
    Eq1,
    /// Marion et al.'s res-3: h_{k+1} = h_k + L^{−β} V_k σ(W_k h_k), with their input layer.
    Res3,
}

impl Block {
    pub const ALL: [Block; 2] = [Block::Eq1, Block::Res3];
    /// The names of [`Block::ALL`] in configs and URLs.
    pub const NAMES: [&'static str; 2] = ["eq1", "res3"];
}

/// The input dimension of Marion et al.'s experiment (`dim_input`), before the layer to width d.
pub const RES3_INPUT: usize = 64;

/// One network of a column and its inputs, drawn once and probed at every β.
#[derive(Clone, Debug, PartialEq)]
pub struct Network {
    pub block: Block,
    /// Eq. (1): A_k; res-3: the inner W_k. b_k = 0.
    pub weights: Weights,
    /// res-3: the outer V_k, [L·d·d] row-major (k, i, j); empty for Eq. (1).
    pub outer: Vec<f32>,
    /// The inputs h_0, [n·d] row-major.
    pub x: Vec<f32>,
    /// The output gradients g_L = ∂ℓ/∂h_L, [n·d] row-major.
    pub g: Vec<f32>,
}

impl Network {
    /// A network of `block` with weights along `init` and n inputs.
    pub fn draw(
        block: Block,
        init: Init,
        depth: usize,
        width: usize,
        n: usize,
        rng: &mut impl Rng,
    ) -> Self {
        let weights = draw_weights(init, depth, width, rng);
        let (outer, x, g) = match block {
            Block::Eq1 => {
                let (x, g) = draw_inputs(n, width, rng);
                (Vec::new(), x, g)
            }
            Block::Res3 => {
                let outer = draw_weights(init, depth, width, rng).a;
                let (x, g) = res3_inputs(n, width, rng);
                (outer, x, g)
            }
        };
        Self {
            block,
            weights,
            outer,
            x,
            g,
        }
    }

    /// The probes of this network at every β, in order, through the backend `B`.
    pub fn probe<B: Scan>(
        &self,
        activation: Activation,
        betas: &[f64],
        device: &B::Device,
    ) -> Vec<Probe> {
        match self.block {
            Block::Eq1 => betas
                .iter()
                .map(|&beta| eq1::<B>(&self.weights, activation, beta, &self.x, &self.g, device))
                .collect(),
            Block::Res3 => {
                let inputs = [self.x.as_slice(), self.g.as_slice()];
                res3::probe::<B>(
                    &self.weights,
                    &self.outer,
                    inputs,
                    activation,
                    betas,
                    device,
                )
            }
        }
    }
}

/// h_0 = W_in x for n inputs x ~ U[0, 1]^64, and g_L = w_out for each: [n·d] row-major both.
fn res3_inputs(n: usize, width: usize, rng: &mut impl Rng) -> (Vec<f32>, Vec<f32>) {
    let mut uniform = |count: usize, half: f64| -> Vec<f64> {
        (0..count)
            .map(|_| half * (2.0 * rng.random::<f64>() - 1.0))
            .collect()
    };
    let w_in = uniform(width * RES3_INPUT, (3.0 / RES3_INPUT as f64).sqrt());
    let w_out = uniform(width, (3.0 / width as f64).sqrt());
    let mut h0 = Vec::with_capacity(n * width);
    for _ in 0..n {
        let x: Vec<f64> = (0..RES3_INPUT).map(|_| rng.random::<f64>()).collect();
        let row = w_in.chunks(RES3_INPUT);
        h0.extend(row.map(|w| w.iter().zip(&x).map(|(w, x)| w * x).sum::<f64>() as f32));
    }
    let g = (0..n)
        .flat_map(|_| w_out.iter().map(|&w| w as f32))
        .collect();
    (h0, g)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn res3_inputs_follow_their_layers() {
        let (n, d) = (2000, 3);
        let (h0, g) = res3_inputs(n, d, &mut crate::model::init::rng(1, 0));
        // Every input's gradient is w_out, entries within ±√(3/d).
        assert!(g.chunks(d).all(|row| row == &g[..d]));
        assert!(g.iter().all(|w| w.abs() <= (3.0f32 / d as f32).sqrt()));
        // Over the inputs, h_0,i = Σ_j W_ij x_j has variance Σ_j W_ij² / 12, and Σ_j W_ij² is
        // 64 draws of mean 1/64: 1 ± 0.11. So each coordinate's variance is 1/12 ± 0.01.
        for i in 0..d {
            let column: Vec<f64> = h0.iter().skip(i).step_by(d).map(|&v| v as f64).collect();
            let mean = column.iter().sum::<f64>() / n as f64;
            let var = column.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / n as f64;
            assert!(
                (0.05..0.12).contains(&var),
                "coordinate {i}: variance {var}"
            );
        }
        let names: Vec<String> = Block::ALL
            .iter()
            .map(|b| {
                serde_json::to_value(b)
                    .unwrap()
                    .as_str()
                    .unwrap()
                    .to_string()
            })
            .collect();
        assert_eq!(names, Block::NAMES);
    }
}
