//! The kernels of the fused step, generic over the instruction set ([`Simd`]) and the
//! activation ([`Act`]), run on one worker's rows of the batch.
//!
//! Layout: feature-major, lanes over the batch. A worker's m samples are the columns of
//! [rows, cp] buffers, cp = its capacity rounded up to a multiple of the vector width: h_k[j, n]
//! sits at j·cp + n, so that a vector holds one feature of LANES samples and no lane is spent on
//! padding whatever d is (a narrow network fills its vectors). Columns m..cols (cols = m rounded
//! up to whole vectors) are padding samples: their inputs are zero and their part of
//! g = ∂ℓ/∂h_L is set to zero, so they add nothing to any gradient. The h buffers have dr rows
//! (d rounded up to [`PAIR`]); rows d..dr stay zero. The weights are unpadded: A_k is [d, d]
//! row-major, b_k is [d]; their entries are broadcast.
//!
//! Every product of a layer is a register tile over RN rows (features) × NV vectors (of
//! samples) or, for ∂ℓ/∂A_k, over RN × J entries of A_k with the samples summed:
//!
//!   forward          z[i, n]   = b_k[i] + Σ_j A_k[i, j] h_k[j, n]          (rows i)
//!   input gradient   g[j, n]  ← g[j, n] + Σ_i A_k[i, j] p[i, n]           (rows j)
//!   weight gradient  ∂A_k[i, j] = Σ_n p[i, n] h_k[j, n]                    (rows i, J columns j)
//!
//! The first two broadcast one weight and multiply it by NV vectors: d broadcast FMAs per
//! vector of samples and row. The forward's epilogue applies σ and the residual,
//! h_{k+1} = h_k + δ_k σ(z), and the input gradient's the pointwise step of the layer below,
//! while the tile is in registers.

use super::math::Act;
use super::simd::Simd;
use std::marker::PhantomData;

/// The fewest columns of A_k's gradient that a tile of the weight gradient covers together:
/// h has its rows rounded up to a multiple of it.
pub(crate) const PAIR: usize = 2;

/// The network as the kernels read it.
pub(crate) struct Net<'a> {
    pub d: usize,
    pub depth: usize,
    /// A_k, [L, d, d].
    pub a: &'a [f32],
    /// b_k, [L, d].
    pub b: &'a [f32],
    /// δ_k as used by the update, [L].
    pub deltas: &'a [f32],
}

/// One worker's buffers, allocated once for `cap` samples. The forward pass keeps σ(z_k) (z_k
/// for gelu) of every layer, and h_k only at the start of every segment of `seg` layers (a
/// checkpoint) and within the current segment: the backward pass rebuilds each segment's h_k
/// from its checkpoint, h_{k+1} = h_k + δ_k σ(z_k) with the forward's own multiply-add (so
/// bit for bit, and without a matrix product), before going back through it. With one
/// segment (seg = L) every h_k is kept and nothing is rebuilt. Segments halve the memory and
/// its traffic when the trace does not fit in the caches.
pub(crate) struct Worker {
    pub cap: usize,
    /// Layers per segment.
    pub seg: usize,
    /// Columns: cap rounded up to whole vectors.
    cp: usize,
    /// Rows of h: d rounded up to [`PAIR`].
    dr: usize,
    /// h at the start of every segment, [segments, dr, cp]; the first is the input.
    checkpoints: Lines,
    /// h_{k+1} for the layers k of the current segment, [seg, dr, cp].
    seg_h: Lines,
    /// σ(z_k) (z_k for gelu), [L, d, cp].
    kept: Lines,
    /// Whether the forward pass writes `kept` past the caches (non-temporal stores), for a
    /// trace that comes back from memory whatever is done: such a store does not first read
    /// the line it writes, a third less traffic.
    pub stream: bool,
    /// The targets, [d, cp].
    y: Lines,
    /// 1 on the job's samples, 0 on the padding, [cp].
    valid: Lines,
    /// g = ∂ℓ/∂h of the current layer, [d, cp].
    g: Lines,
    /// p = δ_k g_{k+1} ⊙ σ′(z_k) of the current layer and of the one below, [d, cp] each.
    p: [Lines; 2],
    /// Per row, a vector of partial sums of p over the samples (∂ℓ/∂b_k), [d, lanes].
    col: Lines,
}

/// Floats starting at a cache line (64 bytes): with rows a whole number of vectors long, no
/// vector of a worker's buffers straddles two lines (one that does costs two accesses),
/// wherever the allocator puts the block.
struct Lines {
    floats: Vec<f32>,
    start: usize,
    len: usize,
}

impl Lines {
    /// The floats of a cache line.
    const LINE: usize = 64 / std::mem::size_of::<f32>();

    fn zeros(len: usize) -> Self {
        let floats = vec![0.0; len + Self::LINE - 1];
        let start = floats.as_ptr().align_offset(64);
        assert!(start < Self::LINE, "f32 buffers are 4-byte aligned");
        Self { floats, start, len }
    }
}

impl std::ops::Deref for Lines {
    type Target = [f32];
    fn deref(&self) -> &[f32] {
        &self.floats[self.start..self.start + self.len]
    }
}

impl std::ops::DerefMut for Lines {
    fn deref_mut(&mut self) -> &mut [f32] {
        &mut self.floats[self.start..self.start + self.len]
    }
}

/// What one chunk of the batch gives: its part of the loss and of the gradient.
pub(crate) struct Gradient {
    /// Σ ‖h_L − y‖² over the chunk's rows.
    pub loss: f64,
    /// ∂ℓ/∂A_k, [L, d, d].
    pub a: Vec<f32>,
    /// ∂ℓ/∂b_k, [L, d].
    pub b: Vec<f32>,
    /// Σ g_{k+1} ⊙ σ(z_k) (∂ℓ/∂δ_k), [L].
    pub delta: Vec<f32>,
}

impl Gradient {
    pub fn new(depth: usize, d: usize) -> Self {
        Self {
            loss: 0.0,
            a: vec![0.0; depth * d * d],
            b: vec![0.0; depth * d],
            delta: vec![0.0; depth],
        }
    }
}

impl Worker {
    /// Buffers for `cap` samples of a network of `depth` layers of width d, on vectors of
    /// `lanes`, the trace in segments of `seg` layers and written past the caches when
    /// `stream`.
    pub fn new(cap: usize, seg: usize, depth: usize, d: usize, lanes: usize, stream: bool) -> Self {
        let seg = seg.clamp(1, depth);
        let cp = cap.div_ceil(lanes) * lanes;
        let dr = d.div_ceil(PAIR) * PAIR;
        Self {
            cap,
            seg,
            cp,
            dr,
            checkpoints: Lines::zeros(depth.div_ceil(seg) * dr * cp),
            seg_h: Lines::zeros(seg * dr * cp),
            kept: Lines::zeros(depth * d * cp),
            stream,
            y: Lines::zeros(d * cp),
            valid: Lines::zeros(cp),
            g: Lines::zeros(d * cp),
            p: [Lines::zeros(d * cp), Lines::zeros(d * cp)],
            col: Lines::zeros(d * lanes),
        }
    }

    /// The bytes of one layer of the trace for `cap` samples (h_k and σ(z_k)).
    pub fn layer_bytes(cap: usize, d: usize) -> usize {
        2 * cap * d * std::mem::size_of::<f32>()
    }
}

/// What a worker does with its rows (x, y), each [m, d] row-major, in chunks of `cap` rows
/// (the last one shorter), one result per chunk: each chunk goes forward through every layer
/// (and back) before the next, so that a layer's buffers of a chunk stay in the core's
/// first-level cache.
pub(crate) enum Job<'a> {
    /// Forward, loss, backward: chunk c's gradient is ∂/∂w Σ_rows (scale/2)·‖h_L − y‖² over its
    /// rows, i.e. their part of ∂ℓ/∂w for scale = 2/(B d).
    Train {
        x: &'a [f32],
        y: &'a [f32],
        scale: f32,
        grads: &'a mut [Gradient],
    },
    /// Forward only: chunk c's Σ ‖h_L − y‖².
    Eval {
        x: &'a [f32],
        y: &'a [f32],
        losses: &'a mut [f64],
    },
}

/// The sizes the kernels share: d, the column stride cp, the columns in use (whole vectors),
/// and the sizes of a slot of h (dr·cp) and of `kept` (d·cp).
#[derive(Clone, Copy)]
struct Shape {
    d: usize,
    cp: usize,
    cols: usize,
    h_slot: usize,
    kept_slot: usize,
}

impl Shape {
    fn vectors<S: Simd>(&self) -> usize {
        self.cols / S::LANES
    }
}

/// Runs `job`. R is the most rows of a tile, NV the
/// vectors of samples of a tile, J (a multiple of [`PAIR`]) the columns of a tile of ∂ℓ/∂A_k.
///
/// # Safety
/// The instruction set of `s` must be available, and w must have been made by
/// [`Worker::new`] for `net`'s depth and width and S's lanes.
#[inline(always)]
pub(crate) unsafe fn run<S: Simd, A: Act, const R: usize, const NV: usize, const J: usize>(
    s: S,
    net: &Net,
    w: &mut Worker,
    job: Job,
) {
    let (d, depth) = (net.d, net.depth);
    assert!(depth >= 1 && w.cp.is_multiple_of(S::LANES) && w.dr >= d && w.dr.is_multiple_of(PAIR));
    assert!(net.a.len() == depth * d * d && net.b.len() == depth * d);
    assert!(net.deltas.len() == depth);
    let (seg, segments) = (w.seg, depth.div_ceil(w.seg));
    let (h_slot, kept_slot) = (w.dr * w.cp, d * w.cp);
    assert!(w.checkpoints.len() == segments * h_slot && w.seg_h.len() == seg * h_slot);
    assert!(w.kept.len() == depth * kept_slot && w.y.len() == kept_slot);
    assert!(w.g.len() == kept_slot && w.col.len() == d * S::LANES && w.valid.len() == w.cp);
    assert!(w.p.iter().all(|p| p.len() == kept_slot));
    let cp = w.cp;
    let shape = |m: usize| Shape {
        d,
        cp,
        cols: m.div_ceil(S::LANES) * S::LANES,
        h_slot,
        kept_slot,
    };
    match job {
        Job::Train { x, y, scale, grads } => {
            assert!(x.len() % d == 0 && y.len() == x.len());
            assert!(grads.len() == x.len().div_ceil(w.cap * d));
            let chunks = x.chunks(w.cap * d).zip(y.chunks(w.cap * d));
            for ((xc, yc), grad) in chunks.zip(grads) {
                assert!(grad.a.len() == depth * d * d && grad.b.len() == depth * d);
                assert!(grad.delta.len() == depth);
                let m = xc.len() / d;
                // SAFETY: the buffers have the sizes asserted above, chunks of m ≤ cap rows.
                unsafe { train::<S, A, R, NV, J>(s, net, w, shape(m), m, xc, yc, scale, grad) };
            }
        }
        Job::Eval { x, y, losses } => {
            assert!(x.len() % d == 0 && y.len() == x.len());
            assert!(losses.len() == x.len().div_ceil(w.cap * d));
            let chunks = x.chunks(w.cap * d).zip(y.chunks(w.cap * d));
            for ((xc, yc), loss) in chunks.zip(losses) {
                let m = xc.len() / d;
                // SAFETY: as above, chunks of at most cap rows.
                *loss = unsafe { eval::<S, A, R, NV>(s, net, w, shape(m), m, xc, yc) };
            }
        }
    }
}

/// The forward pass of m ≤ cap rows (x, y) with its loss (ping-pong buffers in the room of
/// the first checkpoint and the first segment slot, σ(z) written over the first kept slot).
///
/// # Safety
/// As [`run`].
#[inline(always)]
unsafe fn eval<S: Simd, A: Act, const R: usize, const NV: usize>(
    s: S,
    net: &Net,
    w: &mut Worker,
    shape: Shape,
    m: usize,
    x: &[f32],
    y: &[f32],
) -> f64 {
    let (mut cur, mut next) = (w.checkpoints.as_mut_ptr(), w.seg_h.as_mut_ptr());
    // SAFETY: slot 0 of each buffer, m ≤ cap samples.
    unsafe {
        load_columns(x, shape, m, cur);
        load_columns(y, shape, m, w.y.as_mut_ptr());
        set_valid(&mut w.valid, m, shape.cols);
        for k in 0..net.depth {
            let kept = w.kept.as_mut_ptr();
            forward_layer::<S, A, R, NV>(s, net, shape, k, cur, next, kept, false);
            std::mem::swap(&mut cur, &mut next);
        }
        residual(
            s,
            shape,
            w.valid.as_ptr(),
            cur,
            w.y.as_ptr(),
            w.g.as_mut_ptr(),
            0.0,
        )
    }
}

/// Forward, loss and backward of m ≤ cap rows (x, y) into `grad` (every entry written once).
///
/// # Safety
/// As [`run`].
#[inline(always)]
#[allow(clippy::too_many_arguments)]
unsafe fn train<S: Simd, A: Act, const R: usize, const NV: usize, const J: usize>(
    s: S,
    net: &Net,
    w: &mut Worker,
    shape: Shape,
    m: usize,
    x: &[f32],
    y: &[f32],
    scale: f32,
    grad: &mut Gradient,
) {
    let (d, depth, seg) = (net.d, net.depth, w.seg);
    let segments = depth.div_ceil(seg);
    let len = |c: usize| seg.min(depth - c * seg);
    // (Kernels are not called from closures: a closure is compiled without the caller's
    // instruction set.)
    let segment = Segment {
        shape,
        seg,
        checkpoints: w.checkpoints.as_mut_ptr(),
        seg_h: w.seg_h.as_mut_ptr(),
        kept: w.kept.as_mut_ptr(),
        stream: w.stream,
    };
    let (h_slot, kept_slot) = (shape.h_slot, shape.kept_slot);
    // SAFETY (the whole body): slot j of a [slots, rows, cp] buffer starts at j·slot and the
    // kernels touch rows × cols of it; layer k < L of the weights and gradients.
    unsafe {
        load_columns(x, shape, m, segment.checkpoints);
        load_columns(y, shape, m, w.y.as_mut_ptr());
        set_valid(&mut w.valid, m, shape.cols);
        for c in 0..segments {
            segment.forward::<S, A, R, NV>(s, net, c, len(c));
            if c + 1 < segments {
                std::ptr::copy_nonoverlapping(
                    segment.seg_h.add((seg - 1) * h_slot),
                    segment.checkpoints.add((c + 1) * h_slot),
                    h_slot,
                );
            }
        }
        if segment.stream {
            s.stream_fence();
        }
        let last = len(segments - 1);
        let g = w.g.as_mut_ptr();
        let h_top = segment.seg_h.add((last - 1) * h_slot);
        grad.loss = residual(s, shape, w.valid.as_ptr(), h_top, w.y.as_ptr(), g, scale);
        let [p0, p1] = &mut w.p;
        let (mut p, mut p_next) = (p0.as_mut_ptr(), p1.as_mut_ptr());
        let grad_a = grad.a.as_mut_ptr();
        let grad_b = grad.b.as_mut_ptr();
        let grad_delta = grad.delta.as_mut_ptr();
        let col = w.col.as_mut_ptr();
        // p of the top layer; every other p comes with the g of the layer above.
        *grad_delta.add(depth - 1) = pointwise_backward::<S, A>(
            s,
            shape,
            g,
            segment.kept.add((depth - 1) * kept_slot),
            net.deltas[depth - 1],
            p,
            grad_b.add((depth - 1) * d),
        );
        for c in (0..segments).rev() {
            if c + 1 < segments {
                segment.rebuild::<S, A>(s, net, c, len(c));
            }
            for j in (0..len(c)).rev() {
                let k = c * seg + j;
                let h = segment.h_in(c, j);
                weight_gradient::<S, R, J>(s, shape, p, h, grad_a.add(k * d * d));
                if k == 0 {
                    break;
                }
                let mut kernel = InputGradientThrough::<S, A, NV> {
                    shape,
                    p,
                    a: net.a.as_ptr().add(k * d * d),
                    g,
                    kept: segment.kept.add((k - 1) * kept_slot),
                    delta: net.deltas[k - 1],
                    p_out: p_next,
                    col,
                    grad_delta: [s.splat(0.0); NV],
                    ahead: segment.ahead::<S, R, NV>(c, len(c) - 1 - j, len(c)),
                    act: PhantomData,
                };
                std::slice::from_raw_parts_mut(col, d * S::LANES).fill(0.0);
                for_tiles::<S, _, R, NV>(s, &mut kernel, d, shape.vectors::<S>());
                let partial = kernel.grad_delta.into_iter().reduce(|u, v| s.add(u, v));
                *grad_delta.add(k - 1) = s.sum(partial.expect("NV ≥ 1"));
                for i in 0..d {
                    *grad_b.add((k - 1) * d + i) = s.sum(s.load(col.add(i * S::LANES)));
                }
                std::mem::swap(&mut p, &mut p_next);
            }
        }
    }
}

/// The trace of a segment: layer j of segment c (layer k = c·seg + j) reads h from the
/// checkpoint (j = 0) or from slot j − 1, and writes h_{k+1} into slot j and σ(z_k) into
/// layer k of `kept`.
struct Segment {
    shape: Shape,
    seg: usize,
    checkpoints: *mut f32,
    seg_h: *mut f32,
    kept: *mut f32,
    stream: bool,
}

impl Segment {
    /// # Safety
    /// c is a segment and j < seg.
    #[inline(always)]
    unsafe fn h_in(&self, c: usize, j: usize) -> *mut f32 {
        // SAFETY: the caller's contract.
        unsafe {
            if j == 0 {
                self.checkpoints.add(c * self.shape.h_slot)
            } else {
                self.seg_h.add((j - 1) * self.shape.h_slot)
            }
        }
    }

    /// The forward pass through the `len` layers of segment c, keeping its trace.
    ///
    /// # Safety
    /// As [`run`].
    #[inline(always)]
    unsafe fn forward<S: Simd, A: Act, const R: usize, const NV: usize>(
        &self,
        s: S,
        net: &Net,
        c: usize,
        len: usize,
    ) {
        for j in 0..len {
            let k = c * self.seg + j;
            // SAFETY: slots j < seg of the segment's buffers, layer k of `kept`.
            unsafe {
                forward_layer::<S, A, R, NV>(
                    s,
                    net,
                    self.shape,
                    k,
                    self.h_in(c, j),
                    self.seg_h.add(j * self.shape.h_slot),
                    self.kept.add(k * self.shape.kept_slot),
                    self.stream,
                );
            }
        }
    }

    /// Part i of `parts` of segment c − 1's σ(z_k) (nothing for c = 0), to be asked for while
    /// the backward pass is at the i-th of segment c's `parts` layers, over the tiles of its
    /// input gradient's product (see [`Ahead`]).
    fn ahead<S: Simd, const R: usize, const NV: usize>(
        &self,
        c: usize,
        i: usize,
        parts: usize,
    ) -> Ahead {
        if c == 0 {
            return Ahead::default();
        }
        let lines = self.seg * self.shape.kept_slot / Lines::LINE;
        let (per, d) = (lines.div_ceil(parts), self.shape.d);
        let tiles = d.div_ceil(R) * self.shape.vectors::<S>().div_ceil(NV);
        let first = self
            .kept
            .wrapping_add((c - 1) * self.seg * self.shape.kept_slot);
        Ahead {
            next: first.wrapping_add((i * per).min(lines) * Lines::LINE),
            end: first.wrapping_add(((i + 1) * per).min(lines) * Lines::LINE),
            per_tile: per.div_ceil(tiles),
        }
    }

    /// h_{k+1} = h_k + δ_k σ(z_k) through the `len` layers of segment c from its checkpoint
    /// and the kept σ(z_k), as the forward pass computed it.
    ///
    /// # Safety
    /// As [`run`].
    #[inline(always)]
    unsafe fn rebuild<S: Simd, A: Act>(&self, s: S, net: &Net, c: usize, len: usize) {
        let Shape { d, cp, cols, .. } = self.shape;
        for j in 0..len {
            let k = c * self.seg + j;
            let delta = s.splat(net.deltas[k]);
            // SAFETY: d rows × cols of the slots and of layer k < L of `kept`.
            unsafe {
                let (h, out) = (self.h_in(c, j), self.seg_h.add(j * self.shape.h_slot));
                let kept = self.kept.add(k * self.shape.kept_slot);
                for i in 0..d {
                    for n in (i * cp..i * cp + cols).step_by(S::LANES) {
                        let (_, a) = A::backward(s, s.load(kept.add(n)));
                        s.store(out.add(n), s.fma(delta, a, s.load(h.add(n))));
                    }
                }
            }
        }
    }
}

/// Lines of the trace that the backward pass asks for in the second-level cache a segment
/// before it rebuilds them ([`Simd::prefetch`]): the backward pass through segment c asks
/// for segment c − 1's σ(z_k), a few lines at the start of each tile of a layer's input
/// gradient, spread evenly over the segment's tiles, so that its rebuild reads them from
/// there rather than from memory or the last-level cache, and the requests go out among the
/// products (a burst of them between two layers waits for fill buffers). Measured
/// 2026-12-06, tanh, B = 500, two threads, against no prefetch: 1.01–1.035 at d = 10, L =
/// 300 to 3000 and 1.085 at L = 10⁴; 1.06 at d = 25, L = 10⁴; 0.99 at d = 25, L = 100.
#[derive(Clone, Copy)]
struct Ahead {
    next: *const f32,
    end: *const f32,
    per_tile: usize,
}

impl Default for Ahead {
    fn default() -> Self {
        Self {
            next: std::ptr::null(),
            end: std::ptr::null(),
            per_tile: 0,
        }
    }
}

impl Ahead {
    /// Asks for the next `per_tile` lines (a hint: no value depends on it).
    #[inline(always)]
    fn ask<S: Simd>(&mut self, s: S) {
        for _ in 0..self.per_tile {
            if self.next < self.end {
                s.prefetch(self.next);
                self.next = self.next.wrapping_add(Lines::LINE);
            }
        }
    }
}

/// Rows [m, d] into the columns of [d, cp]: out[j, n] = x[n, j], zero for n in m..cols.
///
/// # Safety
/// `out` must have room for d rows of cp.
#[inline(always)]
unsafe fn load_columns(x: &[f32], shape: Shape, m: usize, out: *mut f32) {
    let Shape { d, cp, cols, .. } = shape;
    for j in 0..d {
        // SAFETY: row j of the output, cols ≤ cp.
        let row = unsafe { std::slice::from_raw_parts_mut(out.add(j * cp), cols) };
        for (n, v) in row[..m].iter_mut().enumerate() {
            *v = x[n * d + j];
        }
        row[m..].fill(0.0);
    }
}

/// valid = 1 on the columns 0..m, 0 on m..cols.
fn set_valid(valid: &mut [f32], m: usize, cols: usize) {
    valid[..m].fill(1.0);
    valid[m..cols].fill(0.0);
}

/// A product computed tile by tile over rows × vectors of samples, see the module
/// documentation.
trait Tiles<S: Simd> {
    /// Output rows [r0, r0 + RN) × vectors [v0, v0 + NV).
    ///
    /// # Safety
    /// The rows and vectors must lie within the product's buffers.
    unsafe fn tile<const RN: usize, const NV: usize>(&mut self, s: S, r0: usize, v0: usize);
}

/// Calls `$body` with the const `RN` bound to `$size` (1 ..= 8).
macro_rules! with_rows {
    ($size:expr, $rn:ident => $body:expr) => {
        with_rows!(@arms $size, $rn, $body, 1 2 3 4 5 6 7 8)
    };
    (@arms $size:expr, $rn:ident, $body:expr, $($n:literal)*) => {
        match $size {
            $($n => {
                const $rn: usize = $n;
                $body
            })*
            _ => unreachable!("tiles have 1 to 8 rows"),
        }
    };
}

/// The rows 0..rows in blocks of at most R (R ≤ 8), as even as can be: (first row, size).
fn row_blocks<const R: usize>(rows: usize) -> impl Iterator<Item = (usize, usize)> {
    let blocks = rows.div_ceil(R);
    (0..blocks).map(move |b| {
        (
            rows * b / blocks,
            rows * (b + 1) / blocks - rows * b / blocks,
        )
    })
}

/// Covers rows × vectors with tiles: rows in even blocks of at most R, vectors in blocks of
/// NV, then one by one.
///
/// # Safety
/// As [`Tiles::tile`] for every row < rows and vector < vectors.
#[inline(always)]
unsafe fn for_tiles<S: Simd, K: Tiles<S>, const R: usize, const NV: usize>(
    s: S,
    k: &mut K,
    rows: usize,
    vectors: usize,
) {
    for (r0, size) in row_blocks::<R>(rows) {
        with_rows!(size, RN => {
            let mut v0 = 0;
            // SAFETY: every tile lies in rows × vectors.
            unsafe {
                while v0 + NV <= vectors {
                    k.tile::<RN, NV>(s, r0, v0);
                    v0 += NV;
                }
                while v0 < vectors {
                    k.tile::<RN, 1>(s, r0, v0);
                    v0 += 1;
                }
            }
        })
    }
}

/// acc[r][v] += Σ_{q < len} W[r, q] · X[q, v], the scalar W[r, q] at w + r·w_r + q·w_q and
/// the vector X[q, v] at x + q·stride + v·LANES.
///
/// # Safety
/// Every address named must be readable.
#[inline(always)]
#[allow(clippy::too_many_arguments)]
unsafe fn accumulate<S: Simd, const RN: usize, const NV: usize>(
    s: S,
    acc: &mut [[S::V; NV]; RN],
    len: usize,
    w: *const f32,
    w_r: usize,
    w_q: usize,
    x: *const f32,
    stride: usize,
) {
    for q in 0..len {
        // SAFETY: the caller's contract.
        unsafe {
            let xq = x.add(q * stride);
            let xv: [S::V; NV] = std::array::from_fn(|v| s.load(xq.add(v * S::LANES)));
            let wq = w.add(q * w_q);
            for (r, acc_r) in acc.iter_mut().enumerate() {
                let wr = s.splat(*wq.add(r * w_r));
                for v in 0..NV {
                    acc_r[v] = s.fma(wr, xv[v], acc_r[v]);
                }
            }
        }
    }
}

/// Stores a tile at `out` (rows `stride` apart).
///
/// # Safety
/// The tile's rows and vectors at `out` must be writable.
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

/// h_{k+1} = h_k + δ_k σ(A_k h_k + b_k) on every column in use, keeping σ(z) or z (past
/// the caches when `stream`: see [`Worker::stream`]).
///
/// # Safety
/// h, h_out hold d rows of cp, kept d rows of cp; layer k exists in `net`.
#[inline(always)]
#[allow(clippy::too_many_arguments)]
unsafe fn forward_layer<S: Simd, A: Act, const R: usize, const NV: usize>(
    s: S,
    net: &Net,
    shape: Shape,
    k: usize,
    h: *const f32,
    h_out: *mut f32,
    kept: *mut f32,
    stream: bool,
) {
    let d = shape.d;
    let mut kernel = Forward::<A> {
        shape,
        h,
        // SAFETY: layer k < L of the [L, d, d] and [L, d] weights.
        a: unsafe { net.a.as_ptr().add(k * d * d) },
        b: unsafe { net.b.as_ptr().add(k * d) },
        delta: net.deltas[k],
        h_out,
        kept,
        stream,
        act: PhantomData,
    };
    // SAFETY: the caller's contract.
    unsafe { for_tiles::<S, _, R, NV>(s, &mut kernel, d, shape.vectors::<S>()) }
}

struct Forward<A> {
    shape: Shape,
    h: *const f32,
    a: *const f32,
    b: *const f32,
    delta: f32,
    h_out: *mut f32,
    kept: *mut f32,
    /// Whether `kept` is written past the caches.
    stream: bool,
    act: PhantomData<A>,
}

impl<S: Simd, A: Act> Tiles<S> for Forward<A> {
    #[inline(always)]
    unsafe fn tile<const RN: usize, const NV: usize>(&mut self, s: S, i0: usize, v0: usize) {
        let (d, cp, lanes) = (self.shape.d, self.shape.cp, S::LANES);
        // SAFETY: rows i0..i0+RN < d and vectors v0..v0+NV of the layer's buffers.
        unsafe {
            let mut acc: [[S::V; NV]; RN] =
                std::array::from_fn(|r| [s.splat(*self.b.add(i0 + r)); NV]);
            let col0 = v0 * lanes;
            accumulate(
                s,
                &mut acc,
                d,
                self.a.add(i0 * d),
                d,
                1,
                self.h.add(col0),
                cp,
            );
            let off0 = i0 * cp + col0;
            let delta = s.splat(self.delta);
            for (r, row) in acc.iter().enumerate() {
                for (v, &z) in row.iter().enumerate() {
                    let off = off0 + r * cp + v * lanes;
                    let (a, kept) = A::forward(s, z);
                    // (Aligned: `kept` starts a cache line, its rows whole vectors long.)
                    if self.stream {
                        s.stream(self.kept.add(off), kept);
                    } else {
                        s.store(self.kept.add(off), kept);
                    }
                    s.store(
                        self.h_out.add(off),
                        s.fma(delta, a, s.load(self.h.add(off))),
                    );
                }
            }
        }
    }
}

/// g ← g + A_kᵀ p_k, then, while the tile is in registers, the pointwise step of layer
/// k − 1: p_{k−1} = δ_{k−1} g ⊙ σ′(z_{k−1}) into `p_out`, p_{k−1} added to its row's vector of
/// partial sums in `col` (zeroed before) and Σ g ⊙ σ(z_{k−1}) to `grad_delta` (one vector per
/// vector of the tile: NV chains of additions instead of one).
struct InputGradientThrough<S: Simd, A, const NV: usize> {
    shape: Shape,
    p: *const f32,
    a: *const f32,
    g: *mut f32,
    kept: *const f32,
    delta: f32,
    p_out: *mut f32,
    col: *mut f32,
    grad_delta: [S::V; NV],
    ahead: Ahead,
    act: PhantomData<A>,
}

impl<S: Simd, A: Act, const NT: usize> Tiles<S> for InputGradientThrough<S, A, NT> {
    #[inline(always)]
    unsafe fn tile<const RN: usize, const NV: usize>(&mut self, s: S, j0: usize, v0: usize) {
        let (d, cp, lanes) = (self.shape.d, self.shape.cp, S::LANES);
        self.ahead.ask(s);
        // SAFETY: rows j0..j0+RN < d and vectors v0..v0+NV of g, p, kept and p_out; d rows
        // of A_k; rows of `col`.
        unsafe {
            let off0 = j0 * cp + v0 * lanes;
            let g = self.g.add(off0);
            let mut acc: [[S::V; NV]; RN] =
                std::array::from_fn(|r| std::array::from_fn(|v| s.load(g.add(r * cp + v * lanes))));
            accumulate(
                s,
                &mut acc,
                d,
                self.a.add(j0),
                1,
                d,
                self.p.add(v0 * lanes),
                cp,
            );
            store_tile(s, &acc, g, cp);
            let delta = s.splat(self.delta);
            let mut grad_delta = self.grad_delta;
            for r in 0..RN {
                let col = self.col.add((j0 + r) * lanes);
                let mut sum = s.load(col);
                for v in 0..NV {
                    let off = r * cp + v * lanes;
                    let gv = s.load(g.add(off));
                    let (slope, a) = A::scaled_slope(s, s.load(self.kept.add(off0 + off)), delta);
                    let pv = s.mul(gv, slope);
                    s.store(self.p_out.add(off0 + off), pv);
                    sum = s.add(sum, pv);
                    grad_delta[v % NT] = s.fma(gv, a, grad_delta[v % NT]);
                }
                s.store(col, sum);
            }
            self.grad_delta = grad_delta;
        }
    }
}

/// ∂ℓ/∂A_k[i, j] = Σ_n p[i, n] h_k[j, n] over the columns in use, into `out` ([d, d]).
///
/// # Safety
/// p holds d rows of cp, h dr rows of cp, `out` d·d values.
#[inline(always)]
unsafe fn weight_gradient<S: Simd, const R: usize, const J: usize>(
    s: S,
    shape: Shape,
    p: *const f32,
    h: *const f32,
    out: *mut f32,
) {
    let dr = shape.d.div_ceil(PAIR) * PAIR;
    for (i0, size) in row_blocks::<R>(shape.d) {
        with_rows!(size, RN => {
            let mut j0 = 0;
            // SAFETY: rows i0..i0+RN < d of p, rows j0..j0+J ≤ dr of h.
            unsafe {
                while j0 + J <= dr {
                    weight_tile::<S, RN, J>(s, shape, p, h, out, i0, j0);
                    j0 += J;
                }
                while j0 < dr {
                    weight_tile::<S, RN, PAIR>(s, shape, p, h, out, i0, j0);
                    j0 += PAIR;
                }
            }
        })
    }
}

/// The entries (i0..i0+RN) × (j0..j0+JN) of ∂ℓ/∂A_k (those with j < d).
///
/// # Safety
/// As [`weight_gradient`], with i0 + RN ≤ d and j0 + JN ≤ dr.
#[inline(always)]
unsafe fn weight_tile<S: Simd, const RN: usize, const JN: usize>(
    s: S,
    shape: Shape,
    p: *const f32,
    h: *const f32,
    out: *mut f32,
    i0: usize,
    j0: usize,
) {
    let Shape { d, cp, cols, .. } = shape;
    let zero = s.splat(0.0);
    let mut acc = [[zero; JN]; RN];
    // SAFETY: the caller's contract.
    unsafe {
        let (p, h) = (p.add(i0 * cp), h.add(j0 * cp));
        for n in (0..cols).step_by(S::LANES) {
            let hv: [S::V; JN] = std::array::from_fn(|c| s.load(h.add(c * cp + n)));
            for (r, acc_r) in acc.iter_mut().enumerate() {
                let pv = s.load(p.add(r * cp + n));
                for c in 0..JN {
                    acc_r[c] = s.fma(pv, hv[c], acc_r[c]);
                }
            }
        }
        // The sums four accumulators at a time; entry f is (i0 + f / JN, j0 + f % JN). Four
        // entries of A_k in a row go straight to `out`; the others (a tile of two columns,
        // or one past d) one by one.
        let flat = acc.as_flattened();
        for (f0, four) in (0..flat.len()).step_by(4).map(|f0| (f0, &flat[f0..])) {
            let v: [S::V; 4] = std::array::from_fn(|e| four.get(e).copied().unwrap_or(zero));
            let (r, c) = (f0 / JN, f0 % JN);
            if JN.is_multiple_of(4) && j0 + c + 4 <= d {
                s.store_sum4(v, out.add((i0 + r) * d + j0 + c));
                continue;
            }
            let mut sums = [0f32; 4];
            s.store_sum4(v, sums.as_mut_ptr());
            for (e, sum) in sums.into_iter().enumerate() {
                let (r, c) = ((f0 + e) / JN, (f0 + e) % JN);
                if r < RN && j0 + c < d {
                    *out.add((i0 + r) * d + j0 + c) = sum;
                }
            }
        }
    }
}

/// p = δ_k g ⊙ σ′(z_k) on every column in use, ∂ℓ/∂b_k = Σ_n p[:, n] into `grad_b`; returns
/// ∂ℓ/∂δ_k = Σ g ⊙ σ(z_k).
///
/// # Safety
/// g, kept, p hold d rows of cp; grad_b has d values.
#[inline(always)]
unsafe fn pointwise_backward<S: Simd, A: Act>(
    s: S,
    shape: Shape,
    g: *const f32,
    kept: *const f32,
    delta: f32,
    p: *mut f32,
    grad_b: *mut f32,
) -> f32 {
    let Shape { d, cp, cols, .. } = shape;
    let delta = s.splat(delta);
    let mut grad_delta = s.splat(0.0);
    // SAFETY: the caller's contract.
    unsafe {
        for i in 0..d {
            let mut sum = s.splat(0.0);
            for off in (i * cp..i * cp + cols).step_by(S::LANES) {
                let gv = s.load(g.add(off));
                let (slope, a) = A::scaled_slope(s, s.load(kept.add(off)), delta);
                let pv = s.mul(gv, slope);
                s.store(p.add(off), pv);
                sum = s.add(sum, pv);
                grad_delta = s.fma(gv, a, grad_delta);
            }
            *grad_b.add(i) = s.sum(sum);
        }
    }
    s.sum(grad_delta)
}

/// Σ ‖h_L − y‖² over the valid columns, and g = scale (h_L − y), zero on the padding.
///
/// # Safety
/// h, y, g hold d rows of cp; valid has cp values.
#[inline(always)]
unsafe fn residual<S: Simd>(
    s: S,
    shape: Shape,
    valid: *const f32,
    h: *const f32,
    y: *const f32,
    g: *mut f32,
    scale: f32,
) -> f64 {
    let Shape { d, cp, cols, .. } = shape;
    let (scale, zero) = (s.splat(scale), s.splat(0.0));
    let mut loss = 0f64;
    // SAFETY: the caller's contract.
    unsafe {
        for i in 0..d {
            let mut sum = zero;
            for n in (0..cols).step_by(S::LANES) {
                let off = i * cp + n;
                let r = s.sub(s.load(h.add(off)), s.load(y.add(off)));
                // A select, not a product: the loss is the real samples' whatever the padding holds.
                let r = s.select_gt(s.load(valid.add(n)), zero, r, zero);
                sum = s.fma(r, r, sum);
                s.store(g.add(off), s.mul(scale, r));
            }
            loss += s.sum(sum) as f64;
        }
    }
    loss
}
