//! The convolutional ResNet of the CIFAR-10 experiments: a stem conv 3×3 (3 → c) + ReLU, four
//! stages of c, 2c, 4c, 8c channels with strides 1, 2, 2, 2, average pooling 4 and a linear
//! head to 10 classes; no batch norm, no biases in the convolutions. A block is
//! out = ReLU(conv2(ReLU(conv1(x))) + shortcut(x)), where conv1 plays A_k and conv2 plays δ_k,
//! and the shortcut is the identity or a strided 1×1 conv when the shape changes.
//! The paper uses c = 64.

use crate::analysis::{NormPath, PathName};
use crate::conv::spectral;
use crate::io::tensor_file::TensorMap;
use burn::config::Config;
use burn::module::Module;
use burn::nn::conv::{Conv2d, Conv2dConfig};
use burn::nn::{Linear, LinearConfig, PaddingConfig2d};
use burn::tensor::activation::relu;
use burn::tensor::module::avg_pool2d;
use burn::tensor::{backend::Backend, Tensor, TensorData};

/// The 16 depths L (number of blocks) of the paper and their blocks per stage.
pub const DEPTHS: [(usize, [usize; 4]); 16] = [
    (8, [2, 2, 2, 2]),
    (11, [2, 3, 4, 2]),
    (12, [2, 3, 5, 2]),
    (14, [3, 3, 5, 3]),
    (16, [3, 4, 6, 3]),
    (18, [3, 4, 8, 3]),
    (20, [3, 4, 10, 3]),
    (24, [3, 4, 14, 3]),
    (28, [3, 4, 18, 3]),
    (33, [3, 4, 23, 3]),
    (42, [3, 8, 28, 3]),
    (50, [3, 8, 36, 3]),
    (65, [3, 8, 51, 3]),
    (80, [4, 12, 60, 4]),
    (100, [4, 18, 74, 4]),
    (121, [4, 31, 82, 4]),
];

/// Blocks per stage of depth L, when L is one of [`DEPTHS`].
pub fn stages(depth: usize) -> Option<[usize; 4]> {
    DEPTHS.iter().find(|(l, _)| *l == depth).map(|(_, s)| *s)
}

/// The input side of the images.
pub const IMAGE_SIZE: usize = 32;

/// Where block k sits: its stage, channels in and out, stride and input side.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BlockShape {
    pub stage: usize,
    pub c_in: usize,
    pub c_out: usize,
    pub stride: usize,
    /// The side of the block's input; conv2 acts on side / stride.
    pub side: usize,
}

/// The shapes of the L blocks of depth L with base width c.
pub fn block_shapes(depth: usize, base_channels: usize) -> Option<Vec<BlockShape>> {
    let mut shapes = Vec::with_capacity(depth);
    let (mut c_in, mut side) = (base_channels, IMAGE_SIZE);
    for (stage, &count) in stages(depth)?.iter().enumerate() {
        let c_out = base_channels << stage;
        for i in 0..count {
            let stride = if stage > 0 && i == 0 { 2 } else { 1 };
            shapes.push(BlockShape {
                stage,
                c_in,
                c_out,
                stride,
                side,
            });
            c_in = c_out;
            side /= stride;
        }
    }
    Some(shapes)
}

#[derive(Config, Debug)]
pub struct ConvResNetConfig {
    /// Depth L: one of [`DEPTHS`].
    pub depth: usize,
    /// Channels c of the first stage (the paper: 64).
    #[config(default = 64)]
    pub base_channels: usize,
    #[config(default = 10)]
    pub classes: usize,
}

#[derive(Module, Debug)]
pub struct Block<B: Backend> {
    /// A_k: 3×3, stride s.
    pub conv1: Conv2d<B>,
    /// δ_k: 3×3, stride 1.
    pub conv2: Conv2d<B>,
    /// 1×1, stride s, when the shape changes.
    pub shortcut: Option<Conv2d<B>>,
}

#[derive(Module, Debug)]
pub struct ConvResNet<B: Backend> {
    pub stem: Conv2d<B>,
    pub blocks: Vec<Block<B>>,
    pub head: Linear<B>,
}

fn conv<B: Backend>(
    c_in: usize,
    c_out: usize,
    k: usize,
    stride: usize,
    device: &B::Device,
) -> Conv2d<B> {
    Conv2dConfig::new([c_in, c_out], [k, k])
        .with_stride([stride, stride])
        .with_padding(PaddingConfig2d::Explicit(k / 2, k / 2, k / 2, k / 2))
        .with_bias(false)
        .init(device)
}

impl ConvResNetConfig {
    /// The network with burn's default (Kaiming-uniform) init, drawn from the backend's
    /// generator (seed it with `B::seed`). Panics when the depth is not one of [`DEPTHS`].
    pub fn init<B: Backend>(&self, device: &B::Device) -> ConvResNet<B> {
        let c = self.base_channels;
        let shapes = block_shapes(self.depth, c)
            .unwrap_or_else(|| panic!("no conv ResNet of depth {}", self.depth));
        let blocks = shapes
            .iter()
            .map(|s| Block {
                conv1: conv(s.c_in, s.c_out, 3, s.stride, device),
                conv2: conv(s.c_out, s.c_out, 3, 1, device),
                shortcut: (s.stride != 1 || s.c_in != s.c_out)
                    .then(|| conv(s.c_in, s.c_out, 1, s.stride, device)),
            })
            .collect();
        ConvResNet {
            stem: conv(3, c, 3, 1, device),
            blocks,
            head: LinearConfig::new(8 * c, self.classes).init(device),
        }
    }
}

impl<B: Backend> Block<B> {
    /// [N, C_in, H, W] → [N, C_out, H/s, W/s].
    pub fn forward(&self, x: Tensor<B, 4>) -> Tensor<B, 4> {
        let residual = match &self.shortcut {
            Some(conv) => conv.forward(x.clone()),
            None => x.clone(),
        };
        relu(self.conv2.forward(relu(self.conv1.forward(x))) + residual)
    }
}

impl<B: Backend> ConvResNet<B> {
    /// Images [N, 3, 32, 32] → logits [N, classes].
    pub fn forward(&self, images: Tensor<B, 4>) -> Tensor<B, 2> {
        let mut x = relu(self.stem.forward(images));
        for block in &self.blocks {
            x = block.forward(x);
        }
        let x = avg_pool2d(x, [4, 4], [4, 4], [0, 0], true, false);
        self.head.forward(x.flatten(1, 3))
    }

    /// Every parameter by name (`stem`, `block<k>.conv1`, `block<k>.conv2`,
    /// `block<k>.shortcut`, `head.weight` [in, out], `head.bias`), on the host.
    pub fn to_tensors(&self) -> TensorMap {
        let mut map = TensorMap::new();
        let mut put = |name: String, data: TensorData| {
            let shape = data.shape.to_vec();
            let values = data
                .convert::<f32>()
                .to_vec::<f32>()
                .expect("float weights");
            map.insert(name, (shape, values));
        };
        put("stem".into(), self.stem.weight.val().into_data());
        for (k, b) in self.blocks.iter().enumerate() {
            put(format!("block{k}.conv1"), b.conv1.weight.val().into_data());
            put(format!("block{k}.conv2"), b.conv2.weight.val().into_data());
            if let Some(s) = &b.shortcut {
                put(format!("block{k}.shortcut"), s.weight.val().into_data());
            }
        }
        put("head.weight".into(), self.head.weight.val().into_data());
        if let Some(bias) = &self.head.bias {
            put("head.bias".into(), bias.val().into_data());
        }
        map
    }
}

/// The paths conv1 (A_k) and conv2 (δ_k) of a trained network by their exact spectral norms
/// as operators on the side each acts on (see [`crate::conv::spectral`]), and the spectral norms of
/// the increments between consecutive blocks of the same shape (within a stage).
pub fn norm_paths(
    tensors: &TensorMap,
    depth: usize,
    base_channels: usize,
) -> Option<Vec<NormPath>> {
    let shapes = block_shapes(depth, base_channels)?;
    let kernel = |k: usize, name: &str| tensors.get(&format!("block{k}.{name}")).map(|t| &t.1);
    let mut paths = Vec::new();
    for path in [PathName::Conv1, PathName::Conv2] {
        let name = path.name();
        let (mut norms, mut increments) = (Vec::new(), Vec::new());
        // (channels in, channels out, side) of the layer in block k.
        let layer = |s: &BlockShape| match name {
            "conv1" => (s.c_in, s.c_out, s.side),
            _ => (s.c_out, s.c_out, s.side / s.stride),
        };
        for (k, s) in shapes.iter().enumerate() {
            let (c_in, c_out, side) = layer(s);
            let w = kernel(k, name)?;
            norms.push(spectral::conv_spectral_norm(w, c_out, c_in, 3, side));
            if k > 0 && layer(&shapes[k - 1]) == layer(s) {
                let previous = kernel(k - 1, name)?;
                let diff: Vec<f32> = w.iter().zip(previous).map(|(a, b)| a - b).collect();
                increments.push(spectral::conv_spectral_norm(&diff, c_out, c_in, 3, side));
            }
        }
        paths.push(NormPath {
            name: path,
            norms,
            increments,
        });
    }
    Some(paths)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::TestBackend as B;
    use burn::module::Param;

    /// A parameter from host values.
    fn param<B: Backend, const D: usize>(
        values: Vec<f32>,
        shape: [usize; D],
        device: &B::Device,
    ) -> Param<Tensor<B, D>> {
        Param::from_tensor(crate::model::resnet::host_tensor(values, shape, device))
    }

    #[test]
    fn every_depth_has_its_blocks() {
        for (depth, per_stage) in DEPTHS {
            assert_eq!(per_stage.iter().sum::<usize>(), depth);
            let shapes = block_shapes(depth, 64).unwrap();
            assert_eq!(shapes.len(), depth);
            // One strided block opens each later stage; sides 32, 16, 8, 4.
            let strided: Vec<usize> = shapes
                .iter()
                .enumerate()
                .filter(|(_, s)| s.stride == 2)
                .map(|(k, _)| k)
                .collect();
            let starts = [
                per_stage[0],
                per_stage[0] + per_stage[1],
                depth - per_stage[3],
            ];
            assert_eq!(strided, starts);
            let last = shapes.last().unwrap();
            assert_eq!((last.c_out, last.side), (512, 4));
            assert_eq!(
                shapes[0],
                BlockShape {
                    stage: 0,
                    c_in: 64,
                    c_out: 64,
                    stride: 1,
                    side: 32
                }
            );
        }
        assert_eq!(stages(9), None);
    }

    #[test]
    fn network_shapes_and_parameters() {
        let device = Default::default();
        let net = ConvResNetConfig::new(8)
            .with_base_channels(4)
            .init::<B>(&device);
        assert_eq!(net.blocks.len(), 8);
        // Shortcut convs exactly where a stage starts.
        let with_shortcut: Vec<bool> = net.blocks.iter().map(|b| b.shortcut.is_some()).collect();
        assert_eq!(
            with_shortcut,
            [false, false, true, false, true, false, true, false]
        );
        let images = Tensor::<B, 4>::zeros([2, 3, 32, 32], &device);
        assert_eq!(net.forward(images).dims(), [2, 10]);
        let tensors = net.to_tensors();
        assert_eq!(tensors["block0.conv1"].0, [4, 4, 3, 3]);
        assert_eq!(tensors["block7.conv2"].0, [32, 32, 3, 3]);
        assert_eq!(tensors["block2.shortcut"].0, [8, 4, 1, 1]);
        assert_eq!(tensors["head.weight"].0, [32, 10]);
        assert!(!tensors.contains_key("block1.shortcut"));
        // Norm paths: one norm per block; increments between layers of one shape: conv1
        // only in the first stage (the others open with a strided conv), conv2 in every stage.
        let paths = norm_paths(&tensors, 8, 4).unwrap();
        assert_eq!(paths[0].name, PathName::Conv1);
        assert_eq!(paths[0].norms.len(), 8);
        assert_eq!(paths[0].increments.len(), 1);
        assert_eq!(paths[1].increments.len(), 4);
        assert!(paths
            .iter()
            .all(|p| p.norms.iter().all(|n| n.is_finite() && *n > 0.0)));
        let w = &tensors["block1.conv2"].1;
        assert_eq!(
            paths[1].norms[1],
            spectral::conv_spectral_norm(w, 4, 4, 3, 32)
        );
    }

    #[test]
    fn a_block_is_relu_of_conv2_relu_conv1_plus_identity() {
        // 1 channel, 1×1 input: only the kernels' centres act (padding 1).
        let device = Default::default();
        let mut block = Block::<B> {
            conv1: conv(1, 1, 3, 1, &device),
            conv2: conv(1, 1, 3, 1, &device),
            shortcut: None,
        };
        let centre = |c: f32| {
            let mut k = vec![0.0; 9];
            k[4] = c;
            param::<B, 4>(k, [1, 1, 3, 3], &device)
        };
        block.conv1.weight = centre(2.0);
        block.conv2.weight = centre(-3.0);
        let out = |block: &Block<B>, x: f32| {
            let t = crate::model::resnet::host_tensor::<B, 4>(vec![x], [1, 1, 1, 1], &device);
            block
                .forward(t)
                .into_data()
                .convert::<f64>()
                .to_vec::<f64>()
                .unwrap()[0]
        };
        // x = 1: relu(−3 · relu(2) + 1) = 0; x = −1: relu(−3 · 0 − 1) = 0; x = 0.1: relu(−0.6 + 0.1) = 0.
        assert_eq!(out(&block, 1.0), 0.0);
        block.conv2.weight = centre(0.5);
        // relu(0.5 · relu(2 · 1.5) + 1.5) = 3.
        assert!((out(&block, 1.5) - 3.0).abs() < 1e-12);
    }
}
