//! The kernels of the fused step, generic over the instruction set ([`Simd`]) and the
//! activation ([`Act`]), run on one worker's rows of the batch.
//!
//! Layout: a batch of m samples is row-major [m, dp] with row stride dp = d rounded up to a
//! multiple of the vector width; the lanes d..dp of a row are padding that never reaches a
//! real lane. The weights are kept padded as well: A_k as [d, dp] (row i holds A_k[i, :]),
//! A_kᵀ as [d, dp] (row j holds A_k[:, j]), b_k as [dp], the padding zero.
//!
//! Every product is a register tile of RN rows × NV vectors: out[n, c] = init[n, c] +
//! Σ_q X[n, q] W[q, c], with X[n, q] broadcast and W[q, ·] loaded as NV vectors, RN·NV
//! accumulators in registers; the three products of a layer are all of this form:
//!
//!   forward          z[n, :] = b_k + Σ_j h_k[n, j] A_kᵀ[j, :]        (X = h_k, W = A_kᵀ)
//!   input gradient   g[n, :] ← g[n, :] + Σ_i p[n, i] A_k[i, :]       (X = p,   W = A_k)
//!   weight gradient  ∂A_k[i, :] = Σ_n p[n, i] h_k[n, :]             (X = pᵀ,  W = h_k)
//!
//! and the forward's epilogue applies σ and the residual, h_{k+1} = h_k + δ_k σ(z), while the
//! tile is in registers.

use super::math::Act;
use super::simd::Simd;
use std::marker::PhantomData;

/// The network as the kernels read it (see the module documentation for the layouts).
pub(crate) struct Net<'a> {
    pub d: usize,
    pub dp: usize,
    pub depth: usize,
    /// A_k, [L, d, dp].
    pub a: &'a [f32],
    /// A_kᵀ, [L, d, dp].
    pub at: &'a [f32],
    /// b_k, [L, dp].
    pub b: &'a [f32],
    /// δ_k as used by the update, [L].
    pub deltas: &'a [f32],
    /// 1 on the lanes 0..d, 0 on the padding, [dp].
    pub mask: &'a [f32],
}

/// One worker's buffers, allocated once for `cap` rows. The forward pass keeps σ(z_k) (z_k for
/// gelu) of every layer, and h_k only at the start of every segment of `seg` layers (a
/// checkpoint) and within the current segment: the backward pass rebuilds each segment's h_k
/// from its checkpoint, h_{k+1} = h_k + δ_k σ(z_k) with the forward's own multiply-add (so
/// bit for bit, and without a matrix product), before going back through it. With one
/// segment (seg = L) every h_k is kept and nothing is rebuilt. Segments halve the memory and
/// its traffic when the trace does not fit in the caches.
pub(crate) struct Worker {
    pub cap: usize,
    /// Layers per segment.
    pub seg: usize,
    /// h at the start of every segment, [segments, cap, dp]; the first is the input.
    checkpoints: Vec<f32>,
    /// h_{k+1} for the layers k of the current segment, [seg, cap, dp].
    seg_h: Vec<f32>,
    /// σ(z_k) (z_k for gelu), [L, cap, dp].
    kept: Vec<f32>,
    /// The targets, [cap, dp].
    y: Vec<f32>,
    /// g = ∂ℓ/∂h of the current layer, [cap, dp].
    g: Vec<f32>,
    /// p = δ_k g_{k+1} ⊙ σ′(z_k) of the current layer and of the one below, [cap, dp] each.
    p: [Vec<f32>; 2],
    /// ∂ℓ/∂A_k summed over this worker's rows, [L, d, dp].
    pub grad_a: Vec<f32>,
    /// ∂ℓ/∂b_k, [L, dp].
    pub grad_b: Vec<f32>,
    /// Σ g_{k+1} ⊙ σ(z_k) (∂ℓ/∂δ_k), [L].
    pub grad_delta: Vec<f32>,
}

impl Worker {
    pub fn new(cap: usize, seg: usize, depth: usize, d: usize, dp: usize) -> Self {
        let seg = seg.clamp(1, depth);
        let rows = cap * dp;
        Self {
            cap,
            seg,
            checkpoints: vec![0.0; depth.div_ceil(seg) * rows],
            seg_h: vec![0.0; seg * rows],
            kept: vec![0.0; depth * rows],
            y: vec![0.0; rows],
            g: vec![0.0; rows],
            p: [vec![0.0; rows], vec![0.0; rows]],
            grad_a: vec![0.0; depth * d * dp],
            grad_b: vec![0.0; depth * dp],
            grad_delta: vec![0.0; depth],
        }
    }
}

/// What a worker does with its rows (x, y), each [m, d] row-major, m ≤ cap.
pub(crate) enum Job<'a> {
    /// Forward, loss, backward: fills the worker's gradient with ∂/∂w Σ_rows (scale/2)·‖h_L − y‖²,
    /// i.e. its rows' part of ∂ℓ/∂w for scale = 2/(B d).
    Train {
        x: &'a [f32],
        y: &'a [f32],
        scale: f32,
    },
    /// Forward only, in chunks of `cap` rows.
    Eval { x: &'a [f32], y: &'a [f32] },
}

/// Runs `job`, returning Σ ‖h_L − y‖² over its rows.
///
/// # Safety
/// The instruction set of `s` must be available, and the buffers of `net` and `w` must have
/// the sizes their documentation gives for `net.depth`, `net.d`, `net.dp`.
#[inline(always)]
pub(crate) unsafe fn run<S: Simd, A: Act, const R2: usize, const R1: usize>(
    s: S,
    net: &Net,
    w: &mut Worker,
    job: Job,
) -> f64 {
    let (d, dp, depth) = (net.d, net.dp, net.depth);
    assert!(dp % S::LANES == 0 && dp >= d && depth >= 1);
    assert!(net.a.len() == depth * d * dp && net.at.len() == net.a.len());
    assert!(net.b.len() == depth * dp && net.deltas.len() == depth && net.mask.len() == dp);
    let (rows, seg) = (w.cap * dp, w.seg);
    let segments = depth.div_ceil(seg);
    assert!(seg >= 1 && w.checkpoints.len() == segments * rows);
    assert!(w.seg_h.len() == seg * rows && w.kept.len() == depth * rows);
    assert!(w.y.len() == rows && w.g.len() == rows && w.p.iter().all(|p| p.len() == rows));
    assert!(w.grad_a.len() == depth * d * dp && w.grad_b.len() == depth * dp);
    assert!(w.grad_delta.len() == depth);
    let checkpoints = w.checkpoints.as_mut_ptr();
    let seg_h = w.seg_h.as_mut_ptr();
    let kept = w.kept.as_mut_ptr();
    match job {
        Job::Train { x, y, scale } => {
            let m = x.len() / d;
            assert!(m <= w.cap && x.len() == m * d && y.len() == x.len());
            // SAFETY (the whole arm): every pointer below stays within the buffers asserted
            // above: slot j of a [slots, cap, dp] buffer starts at j·rows and the kernels
            // touch m ≤ cap rows of it; layer k < L of the weights and gradients.
            unsafe {
                // Layer j of segment c reads h from the checkpoint (j = 0) or from slot j − 1,
                // and writes h_{k+1} into slot j and σ(z_k) into slot j of `kept`.
                let len = |c: usize| seg.min(depth - c * seg);
                // (Kernels are not called from closures: a closure is compiled without the
                // caller's instruction set.)
                let segment = Segment {
                    m,
                    seg,
                    rows,
                    checkpoints,
                    seg_h,
                    kept,
                };
                load_rows(x, d, dp, checkpoints);
                load_rows(y, d, dp, w.y.as_mut_ptr());
                for c in 0..segments {
                    segment.forward::<S, A, R2, R1>(s, net, c, len(c));
                    if c + 1 < segments {
                        std::ptr::copy_nonoverlapping(
                            seg_h.add((seg - 1) * rows),
                            checkpoints.add((c + 1) * rows),
                            m * dp,
                        );
                    }
                }
                let last = len(segments - 1);
                let g = w.g.as_mut_ptr();
                let loss = residual(
                    s,
                    m,
                    dp,
                    net.mask.as_ptr(),
                    seg_h.add((last - 1) * rows),
                    w.y.as_ptr(),
                    g,
                    scale,
                );
                let [p0, p1] = &mut w.p;
                let (mut p, mut p_next) = (p0.as_mut_ptr(), p1.as_mut_ptr());
                let grad_a = w.grad_a.as_mut_ptr();
                let grad_b = w.grad_b.as_mut_ptr();
                let grad_delta = w.grad_delta.as_mut_ptr();
                // p of the top layer; every other p comes with the g of the layer above.
                *grad_delta.add(depth - 1) = pointwise_backward::<S, A>(
                    s,
                    m,
                    dp,
                    g,
                    kept.add((depth - 1) * rows),
                    net.deltas[depth - 1],
                    p,
                    grad_b.add((depth - 1) * dp),
                );
                for c in (0..segments).rev() {
                    if c + 1 < segments {
                        segment.rebuild::<S, A>(s, net, c, len(c));
                    }
                    for j in (0..len(c)).rev() {
                        let k = c * seg + j;
                        for_tiles::<S, _, R2, R1>(
                            s,
                            &mut WeightGradient {
                                m,
                                dp,
                                p,
                                h: segment.h_in(c, j),
                                out: grad_a.add(k * d * dp),
                            },
                            d,
                            dp,
                        );
                        if k == 0 {
                            break;
                        }
                        let mut kernel = InputGradientThrough::<S, A> {
                            d,
                            dp,
                            p,
                            a: net.a.as_ptr().add(k * d * dp),
                            g,
                            kept: kept.add((k - 1) * rows),
                            delta: net.deltas[k - 1],
                            p_out: p_next,
                            grad_b: grad_b.add((k - 1) * dp),
                            grad_delta: s.splat(0.0),
                            act: PhantomData,
                        };
                        std::slice::from_raw_parts_mut(kernel.grad_b, dp).fill(0.0);
                        for_tiles::<S, _, R2, R1>(s, &mut kernel, m, dp);
                        *grad_delta.add(k - 1) = s.sum(kernel.grad_delta);
                        std::mem::swap(&mut p, &mut p_next);
                    }
                }
                loss
            }
        }
        Job::Eval { x, y } => {
            assert!(x.len() % d == 0 && y.len() == x.len());
            // Two ping-pong buffers in the room of the first checkpoint and the first
            // segment slot, σ(z) written over the first kept slot.
            let (mut cur, mut next) = (checkpoints, seg_h);
            let mut loss = 0.0;
            for (xc, yc) in x.chunks(w.cap * d).zip(y.chunks(w.cap * d)) {
                let m = xc.len() / d;
                // SAFETY: chunks of at most cap rows, within the rooms named above.
                unsafe {
                    load_rows(xc, d, dp, cur);
                    load_rows(yc, d, dp, w.y.as_mut_ptr());
                    for k in 0..depth {
                        forward_layer::<S, A, R2, R1>(s, net, k, m, cur, next, kept);
                        std::mem::swap(&mut cur, &mut next);
                    }
                    loss += residual(
                        s,
                        m,
                        dp,
                        net.mask.as_ptr(),
                        cur,
                        w.y.as_ptr(),
                        w.g.as_mut_ptr(),
                        0.0,
                    );
                }
            }
            loss
        }
    }
}

/// The trace of a segment: layer j of segment c (layer k = c·seg + j) reads h from the
/// checkpoint (j = 0) or from slot j − 1, and writes h_{k+1} into slot j and σ(z_k) into
/// layer k of `kept`.
struct Segment {
    m: usize,
    seg: usize,
    rows: usize,
    checkpoints: *mut f32,
    seg_h: *mut f32,
    kept: *mut f32,
}

impl Segment {
    /// # Safety
    /// c is a segment and j < seg.
    #[inline(always)]
    unsafe fn h_in(&self, c: usize, j: usize) -> *mut f32 {
        // SAFETY: the caller's contract.
        unsafe {
            if j == 0 {
                self.checkpoints.add(c * self.rows)
            } else {
                self.seg_h.add((j - 1) * self.rows)
            }
        }
    }

    /// The forward pass through the `len` layers of segment c, keeping its trace.
    ///
    /// # Safety
    /// As [`run`].
    #[inline(always)]
    unsafe fn forward<S: Simd, A: Act, const R2: usize, const R1: usize>(
        &self,
        s: S,
        net: &Net,
        c: usize,
        len: usize,
    ) {
        for j in 0..len {
            // SAFETY: slots j < seg of the segment's buffers.
            unsafe {
                forward_layer::<S, A, R2, R1>(
                    s,
                    net,
                    c * self.seg + j,
                    self.m,
                    self.h_in(c, j),
                    self.seg_h.add(j * self.rows),
                    self.kept.add((c * self.seg + j) * self.rows),
                );
            }
        }
    }

    /// h_{k+1} = h_k + δ_k σ(z_k) through the `len` layers of segment c from its checkpoint
    /// and the kept σ(z_k), as the forward pass computed it.
    ///
    /// # Safety
    /// As [`run`].
    #[inline(always)]
    unsafe fn rebuild<S: Simd, A: Act>(&self, s: S, net: &Net, c: usize, len: usize) {
        let (dp, lanes) = (net.dp, S::LANES);
        for j in 0..len {
            let k = c * self.seg + j;
            let delta = s.splat(net.deltas[k]);
            // SAFETY: m rows of the slots and of layer k < L of `kept`.
            unsafe {
                let (h, out) = (self.h_in(c, j), self.seg_h.add(j * self.rows));
                let kept = self.kept.add(k * self.rows);
                for off in (0..self.m * dp).step_by(lanes) {
                    let (_, a) = A::backward(s, s.load(kept.add(off)));
                    s.store(out.add(off), s.fma(delta, a, s.load(h.add(off))));
                }
            }
        }
    }
}

/// Copies rows [m, d] into the padded [m, dp] layout, zero on the padding.
///
/// # Safety
/// `out` must have room for m·dp values.
#[inline(always)]
unsafe fn load_rows(x: &[f32], d: usize, dp: usize, out: *mut f32) {
    for (n, row) in x.chunks_exact(d).enumerate() {
        // SAFETY: row n of the output, within m·dp.
        let dst = unsafe { std::slice::from_raw_parts_mut(out.add(n * dp), dp) };
        dst[..d].copy_from_slice(row);
        dst[d..].fill(0.0);
    }
}

/// A product computed tile by tile, see the module documentation.
trait Tiles<S: Simd> {
    /// Output rows [n0, n0 + RN) × columns [c0, c0 + NV·LANES).
    ///
    /// # Safety
    /// The rows and columns must lie within the product's buffers.
    unsafe fn tile<const RN: usize, const NV: usize>(&mut self, s: S, n0: usize, c0: usize);
}

/// Covers rows × dp columns with tiles: column blocks of two vectors (a last one of one),
/// rows in tiles of R2 (R1 for one vector), then 8, 4, 2, 1.
///
/// # Safety
/// As [`Tiles::tile`] for every row < rows and column < dp.
#[inline(always)]
unsafe fn for_tiles<S: Simd, K: Tiles<S>, const R2: usize, const R1: usize>(
    s: S,
    k: &mut K,
    rows: usize,
    dp: usize,
) {
    let lanes = S::LANES;
    let mut c0 = 0;
    // SAFETY: every tile lies in rows × dp.
    unsafe {
        while c0 + 2 * lanes <= dp {
            let mut n = 0;
            while n + R2 <= rows {
                k.tile::<R2, 2>(s, n, c0);
                n += R2;
            }
            if n + 8 <= rows {
                k.tile::<8, 2>(s, n, c0);
                n += 8;
            }
            if n + 4 <= rows {
                k.tile::<4, 2>(s, n, c0);
                n += 4;
            }
            if n + 2 <= rows {
                k.tile::<2, 2>(s, n, c0);
                n += 2;
            }
            while n < rows {
                k.tile::<1, 2>(s, n, c0);
                n += 1;
            }
            c0 += 2 * lanes;
        }
        if c0 < dp {
            let mut n = 0;
            while n + R1 <= rows {
                k.tile::<R1, 1>(s, n, c0);
                n += R1;
            }
            if n + 8 <= rows {
                k.tile::<8, 1>(s, n, c0);
                n += 8;
            }
            if n + 4 <= rows {
                k.tile::<4, 1>(s, n, c0);
                n += 4;
            }
            if n + 2 <= rows {
                k.tile::<2, 1>(s, n, c0);
                n += 2;
            }
            while n < rows {
                k.tile::<1, 1>(s, n, c0);
                n += 1;
            }
        }
    }
}

/// acc[r][v] += Σ_{q < len} X[r, q] · W[q, v], X[r, q] at x + r·x_row + q·x_q and the
/// vector W[q, v] at w + q·w_q + v·LANES.
///
/// # Safety
/// Every address named must be readable.
#[inline(always)]
#[allow(clippy::too_many_arguments)]
unsafe fn accumulate<S: Simd, const RN: usize, const NV: usize>(
    s: S,
    acc: &mut [[S::V; NV]; RN],
    len: usize,
    x: *const f32,
    x_row: usize,
    x_q: usize,
    w: *const f32,
    w_q: usize,
) {
    for q in 0..len {
        // SAFETY: the caller's contract.
        unsafe {
            let wq = w.add(q * w_q);
            let wv: [S::V; NV] = std::array::from_fn(|v| s.load(wq.add(v * S::LANES)));
            let xq = x.add(q * x_q);
            for (r, acc_r) in acc.iter_mut().enumerate() {
                let xr = s.splat(*xq.add(r * x_row));
                for v in 0..NV {
                    acc_r[v] = s.fma(xr, wv[v], acc_r[v]);
                }
            }
        }
    }
}

/// h_{k+1} = h_k + δ_k σ(h_k A_kᵀ + b_k) for rows [0, m), keeping σ(z) or z.
///
/// # Safety
/// h, h_out, kept hold m rows of dp; layer k exists in `net`.
#[inline(always)]
unsafe fn forward_layer<S: Simd, A: Act, const R2: usize, const R1: usize>(
    s: S,
    net: &Net,
    k: usize,
    m: usize,
    h: *const f32,
    h_out: *mut f32,
    kept: *mut f32,
) {
    let (d, dp) = (net.d, net.dp);
    let mut kernel = Forward::<A> {
        d,
        dp,
        h,
        // SAFETY: layer k < L of the [L, d, dp] and [L, dp] weights.
        at: unsafe { net.at.as_ptr().add(k * d * dp) },
        b: unsafe { net.b.as_ptr().add(k * dp) },
        delta: net.deltas[k],
        h_out,
        kept,
        act: PhantomData,
    };
    // SAFETY: the caller's contract.
    unsafe { for_tiles::<S, _, R2, R1>(s, &mut kernel, m, dp) }
}

struct Forward<A> {
    d: usize,
    dp: usize,
    h: *const f32,
    at: *const f32,
    b: *const f32,
    delta: f32,
    h_out: *mut f32,
    kept: *mut f32,
    act: PhantomData<A>,
}

impl<S: Simd, A: Act> Tiles<S> for Forward<A> {
    #[inline(always)]
    unsafe fn tile<const RN: usize, const NV: usize>(&mut self, s: S, n0: usize, c0: usize) {
        let (dp, lanes) = (self.dp, S::LANES);
        // SAFETY: rows n0..n0+RN and columns c0..c0+NV·LANES of the layer's buffers.
        unsafe {
            let bias: [S::V; NV] = std::array::from_fn(|v| s.load(self.b.add(c0 + v * lanes)));
            let mut acc = [bias; RN];
            let x = self.h.add(n0 * dp);
            accumulate(s, &mut acc, self.d, x, dp, 1, self.at.add(c0), dp);
            // z goes to memory first and σ is applied in a second loop: a loop over the
            // accumulators with σ in it is not unrolled, and would keep them in memory.
            let off0 = n0 * dp + c0;
            store_tile(s, &acc, self.kept.add(off0), dp);
            let delta = s.splat(self.delta);
            for r in 0..RN {
                for v in 0..NV {
                    let off = off0 + r * dp + v * lanes;
                    let (a, kept) = A::forward(s, s.load(self.kept.add(off)));
                    s.store(self.kept.add(off), kept);
                    s.store(
                        self.h_out.add(off),
                        s.fma(delta, a, s.load(self.h.add(off))),
                    );
                }
            }
        }
    }
}

/// Stores a tile at `out` (rows `stride` apart).
///
/// # Safety
/// The tile's rows and columns at `out` must be writable.
#[inline(always)]
unsafe fn store_tile<S: Simd, const RN: usize, const NV: usize>(
    s: S,
    acc: &[[S::V; NV]; RN],
    out: *mut f32,
    stride: usize,
) {
    for (r, acc_r) in acc.iter().enumerate() {
        for (v, &value) in acc_r.iter().enumerate() {
            // SAFETY: the caller's contract.
            unsafe { s.store(out.add(r * stride + v * S::LANES), value) };
        }
    }
}

/// g ← g + p_k A_k, then, while the tile is in registers, the pointwise step of layer k − 1:
/// p_{k−1} = δ_{k−1} g ⊙ σ′(z_{k−1}) into `p_out`, Σ_n p_{k−1} added to `grad_b` (zeroed
/// before) and Σ g ⊙ σ(z_{k−1}) to `grad_delta`.
struct InputGradientThrough<S: Simd, A> {
    d: usize,
    dp: usize,
    p: *const f32,
    a: *const f32,
    g: *mut f32,
    kept: *const f32,
    delta: f32,
    p_out: *mut f32,
    grad_b: *mut f32,
    grad_delta: S::V,
    act: PhantomData<A>,
}

impl<S: Simd, A: Act> Tiles<S> for InputGradientThrough<S, A> {
    #[inline(always)]
    unsafe fn tile<const RN: usize, const NV: usize>(&mut self, s: S, n0: usize, c0: usize) {
        let (dp, lanes) = (self.dp, S::LANES);
        // SAFETY: rows n0..n0+RN and columns c0..c0+NV·LANES of g, p, kept and p_out; rows
        // of A; columns of grad_b.
        unsafe {
            let off0 = n0 * dp + c0;
            let g = self.g.add(off0);
            let mut acc: [[S::V; NV]; RN] =
                std::array::from_fn(|r| std::array::from_fn(|v| s.load(g.add(r * dp + v * lanes))));
            accumulate(
                s,
                &mut acc,
                self.d,
                self.p.add(n0 * dp),
                dp,
                1,
                self.a.add(c0),
                dp,
            );
            store_tile(s, &acc, g, dp);
            let delta = s.splat(self.delta);
            let mut col = [s.splat(0.0); NV];
            let mut grad_delta = self.grad_delta;
            for r in 0..RN {
                for (v, col) in col.iter_mut().enumerate() {
                    let off = r * dp + v * lanes;
                    let gv = s.load(g.add(off));
                    let (slope, a) = A::backward(s, s.load(self.kept.add(off0 + off)));
                    let pv = s.mul(delta, s.mul(gv, slope));
                    s.store(self.p_out.add(off0 + off), pv);
                    *col = s.add(*col, pv);
                    grad_delta = s.fma(gv, a, grad_delta);
                }
            }
            self.grad_delta = grad_delta;
            for (v, col) in col.iter().enumerate() {
                let gb = self.grad_b.add(c0 + v * lanes);
                s.store(gb, s.add(s.load(gb), *col));
            }
        }
    }
}

/// ∂ℓ/∂A_k[i, :] = Σ_n p[n, i] h_k[n, :] over the worker's m rows (tile rows are i).
struct WeightGradient {
    m: usize,
    dp: usize,
    p: *const f32,
    h: *const f32,
    out: *mut f32,
}

impl<S: Simd> Tiles<S> for WeightGradient {
    #[inline(always)]
    unsafe fn tile<const RN: usize, const NV: usize>(&mut self, s: S, i0: usize, c0: usize) {
        let dp = self.dp;
        // SAFETY: m rows of p and h; rows i0..i0+RN < d of the output.
        unsafe {
            let mut acc = [[s.splat(0.0); NV]; RN];
            accumulate(
                s,
                &mut acc,
                self.m,
                self.p.add(i0),
                1,
                dp,
                self.h.add(c0),
                dp,
            );
            store_tile(s, &acc, self.out.add(i0 * dp + c0), dp);
        }
    }
}

/// p = δ_k g ⊙ σ′(z_k) for m rows, ∂ℓ/∂b_k = Σ_n p[n, :] into `grad_b`; returns
/// ∂ℓ/∂δ_k = Σ g ⊙ σ(z_k).
///
/// # Safety
/// g, kept, p hold m rows of dp; grad_b has dp values.
#[inline(always)]
#[allow(clippy::too_many_arguments)]
unsafe fn pointwise_backward<S: Simd, A: Act>(
    s: S,
    m: usize,
    dp: usize,
    g: *const f32,
    kept: *const f32,
    delta: f32,
    p: *mut f32,
    grad_b: *mut f32,
) -> f32 {
    let delta = s.splat(delta);
    let mut grad_delta = s.splat(0.0);
    // SAFETY: the caller's contract.
    unsafe {
        for c in (0..dp).step_by(S::LANES) {
            let mut sum = s.splat(0.0);
            for n in 0..m {
                let off = n * dp + c;
                let gv = s.load(g.add(off));
                let (slope, a) = A::backward(s, s.load(kept.add(off)));
                let pv = s.mul(delta, s.mul(gv, slope));
                s.store(p.add(off), pv);
                sum = s.add(sum, pv);
                grad_delta = s.fma(gv, a, grad_delta);
            }
            s.store(grad_b.add(c), sum);
        }
    }
    s.sum(grad_delta)
}

/// Σ ‖h_L − y‖² over m rows (real lanes only), and g = scale (h_L − y), zero on the padding.
///
/// # Safety
/// h, y, g hold m rows of dp; mask has dp values.
#[inline(always)]
#[allow(clippy::too_many_arguments)]
unsafe fn residual<S: Simd>(
    s: S,
    m: usize,
    dp: usize,
    mask: *const f32,
    h: *const f32,
    y: *const f32,
    g: *mut f32,
    scale: f32,
) -> f64 {
    let scale = s.splat(scale);
    let mut loss = 0f64;
    // SAFETY: the caller's contract.
    unsafe {
        for n in 0..m {
            let mut sum = s.splat(0.0);
            for c in (0..dp).step_by(S::LANES) {
                let off = n * dp + c;
                let r = s.mul(
                    s.sub(s.load(h.add(off)), s.load(y.add(off))),
                    s.load(mask.add(c)),
                );
                sum = s.fma(r, r, sum);
                s.store(g.add(off), s.mul(scale, r));
            }
            loss += s.sum(sum) as f64;
        }
    }
    loss
}
