//! The activation σ of the residual update h_{k+1} = h_k + δ_k σ(A_k h_k + b_k).

use burn::tensor::{activation, backend::Backend, Tensor};
use serde::{Deserialize, Serialize};
use std::f64::consts::PI;

/// Elementwise activation σ. `Tanh`, `Sigmoid` and `Gelu` are smooth; `Relu` and `Abs` are
/// positively homogeneous (only the products δ_k A_k are identifiable); `Linear` is the
/// identity.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Activation {
    Tanh,
    Relu,
    Linear,
    Sigmoid,
    /// The exact GELU, σ(z) = z Φ(z) with Φ the standard normal distribution function.
    Gelu,
    /// σ(z) = |z|, which Yang et al. ("Tensor Programs VI", 2023) find the best of the
    /// homogeneous activations for depth-μP (it maximises feature diversity); σ'(0) = 0.
    Abs,
}

impl Activation {
    pub const ALL: [Activation; 6] = [
        Activation::Tanh,
        Activation::Relu,
        Activation::Linear,
        Activation::Sigmoid,
        Activation::Gelu,
        Activation::Abs,
    ];

    /// The names of [`Activation::ALL`], for the forms that offer them.
    pub const NAMES: [&'static str; 6] = {
        let mut names = [""; 6];
        let mut i = 0;
        while i < names.len() {
            names[i] = Activation::ALL[i].name();
            i += 1;
        }
        names
    };

    /// σ(z), elementwise.
    pub fn apply<B: Backend, const D: usize>(self, z: Tensor<B, D>) -> Tensor<B, D> {
        match self {
            Activation::Tanh => z.tanh(),
            Activation::Relu => activation::relu(z),
            Activation::Linear => z,
            // ½(1 + tanh(z/2)): burn's sigmoid is computed in f32 even on f64 backends.
            Activation::Sigmoid => z.mul_scalar(0.5).tanh().add_scalar(1.0).mul_scalar(0.5),
            // z Φ(z) from elementary operations: burn's gelu has an approximate backward.
            Activation::Gelu => z.clone() * normal_cdf(z),
            Activation::Abs => z.abs(),
        }
    }

    /// σ'(z), elementwise, given z and a = σ(z) (whichever is cheaper is used).
    /// tanh' = 1 − a², sigmoid' = a(1 − a), relu' = 1{z > 0}, gelu' = Φ(z) + z φ(z),
    /// abs' = sign(z) (0 at 0).
    pub fn derivative<B: Backend, const D: usize>(
        self,
        z: Tensor<B, D>,
        a: Tensor<B, D>,
    ) -> Tensor<B, D> {
        match self {
            Activation::Tanh => a.powi_scalar(2).neg().add_scalar(1.0),
            Activation::Relu => z.greater_elem(0.0).float(),
            Activation::Linear => z.ones_like(),
            Activation::Sigmoid => a.clone().neg().add_scalar(1.0).mul(a),
            Activation::Gelu => {
                let pdf = z
                    .clone()
                    .powi_scalar(2)
                    .mul_scalar(-0.5)
                    .exp()
                    .mul_scalar(1.0 / (2.0 * PI).sqrt());
                normal_cdf(z.clone()) + z * pdf
            }
            Activation::Abs => z.sign(),
        }
    }

    /// Its name in configs and URLs.
    pub const fn name(self) -> &'static str {
        match self {
            Activation::Tanh => "tanh",
            Activation::Relu => "relu",
            Activation::Linear => "linear",
            Activation::Sigmoid => "sigmoid",
            Activation::Gelu => "gelu",
            Activation::Abs => "abs",
        }
    }
}

/// Φ(z) = ½(1 + erf(z/√2)).
fn normal_cdf<B: Backend, const D: usize>(z: Tensor<B, D>) -> Tensor<B, D> {
    z.div_scalar(std::f64::consts::SQRT_2)
        .erf()
        .add_scalar(1.0)
        .mul_scalar(0.5)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::TestBackend as B;
    use burn::tensor::TensorData;

    /// σ' against a central finite difference of σ at points away from relu's kink.
    #[test]
    fn derivative_matches_finite_difference() {
        let device = Default::default();
        let points = [-2.0f64, -0.7, -0.1, 0.3, 1.1, 2.5];
        let z = Tensor::<B, 1>::from_data(TensorData::from(points), &device);
        let eps = 1e-6;
        for act in Activation::ALL {
            let a = act.apply(z.clone());
            let read = |t: Tensor<B, 1>| t.into_data().to_vec::<f64>().unwrap();
            let exact = read(act.derivative(z.clone(), a));
            let plus = read(act.apply(z.clone().add_scalar(eps)));
            let minus = read(act.apply(z.clone().sub_scalar(eps)));
            for i in 0..points.len() {
                let fd = (plus[i] - minus[i]) / (2.0 * eps);
                assert!(
                    (fd - exact[i]).abs() < 1e-8,
                    "{}: σ'({}) = {} but finite difference {}",
                    act.name(),
                    points[i],
                    exact[i],
                    fd
                );
            }
        }
    }
}
