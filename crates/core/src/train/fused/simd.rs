//! The vector operations the fused kernels are written in, one implementation per instruction
//! set: AVX-512 (16 lanes) and AVX2 + FMA (8 lanes) on x86-64, chosen at run time, and a
//! portable one (8 lanes as arrays, which the compiler vectorises for whatever the target
//! has, wasm32 included).
//!
//! A value of an implementing type is a token: it is only constructed where its instructions
//! are known to exist ([`Isa::detect`]), and the kernels generic over it are inlined into one
//! function compiled with those instructions enabled (`#[target_feature]`), so that every
//! operation below becomes one or two instructions.

/// Lane-wise f32 vector operations.
pub(crate) trait Simd: Copy + Send + Sync {
    /// f32 lanes per vector.
    const LANES: usize;
    type V: Copy;

    fn splat(self, x: f32) -> Self::V;
    /// Loads `LANES` values from `p` (no alignment needed).
    ///
    /// # Safety
    /// `p .. p + LANES` must be readable.
    unsafe fn load(self, p: *const f32) -> Self::V;
    /// # Safety
    /// `p .. p + LANES` must be writable.
    unsafe fn store(self, p: *mut f32, v: Self::V);
    /// Stores `v` at `p` past the caches (a non-temporal store) where the instruction set
    /// has one, else as [`Simd::store`].
    ///
    /// # Safety
    /// `p .. p + LANES` must be writable, and `p` aligned to the vector's size.
    unsafe fn stream(self, p: *mut f32, v: Self::V) {
        // SAFETY: the caller's contract.
        unsafe { self.store(p, v) }
    }
    /// Orders the stores of [`Simd::stream`] before every later store (they are weakly
    /// ordered).
    fn stream_fence(self) {}
    /// Asks for the 64-byte line holding `p` in the second-level cache, ahead of its read: a
    /// hint, with no effect on any value (and none at all off x86-64).
    #[inline(always)]
    fn prefetch(self, p: *const f32) {
        #[cfg(target_arch = "x86_64")]
        // SAFETY: a prefetch reads nothing and cannot fault, whatever the address.
        unsafe {
            use std::arch::x86_64::{_mm_prefetch, _MM_HINT_T1};
            _mm_prefetch::<_MM_HINT_T1>(p.cast());
        }
        #[cfg(not(target_arch = "x86_64"))]
        let _ = p;
    }
    fn add(self, a: Self::V, b: Self::V) -> Self::V;
    fn sub(self, a: Self::V, b: Self::V) -> Self::V;
    fn mul(self, a: Self::V, b: Self::V) -> Self::V;
    /// a·b + c (fused where the hardware has it).
    fn fma(self, a: Self::V, b: Self::V, c: Self::V) -> Self::V;
    fn min(self, a: Self::V, b: Self::V) -> Self::V;
    fn max(self, a: Self::V, b: Self::V) -> Self::V;
    /// x clamped to [−c, c], for c > 0.
    fn clamp(self, x: Self::V, c: f32) -> Self::V {
        self.max(self.min(x, self.splat(c)), self.splat(-c))
    }
    /// a / b within 2 ulp, for finite b ≠ 0 of moderate size (a reciprocal estimate refined
    /// by one Newton step on AVX-512).
    fn div(self, a: Self::V, b: Self::V) -> Self::V;
    /// Lane-wise `if a > b { x } else { y }`.
    fn select_gt(self, a: Self::V, b: Self::V, x: Self::V, y: Self::V) -> Self::V;
    /// 2^n for lanes holding integers n in [−126, 127].
    fn exp2_int(self, n: Self::V) -> Self::V;
    /// The sum of the lanes.
    fn sum(self, a: Self::V) -> f32;
    /// Stores the sums of the lanes of four vectors at `out` (a transpose of partial sums:
    /// fewer instructions than four [`Simd::sum`]s, and one store).
    ///
    /// # Safety
    /// `out .. out + 4` must be writable.
    unsafe fn store_sum4(self, v: [Self::V; 4], out: *mut f32) {
        for (e, v) in v.into_iter().enumerate() {
            // SAFETY: the caller's contract.
            unsafe { *out.add(e) = self.sum(v) };
        }
    }
}

/// The instruction set the fused step runs on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Isa {
    Portable,
    #[cfg(target_arch = "x86_64")]
    Avx2,
    #[cfg(target_arch = "x86_64")]
    Avx512,
}

impl Isa {
    /// The widest instruction set this CPU has.
    pub fn detect() -> Self {
        #[cfg(target_arch = "x86_64")]
        {
            if std::arch::is_x86_feature_detected!("avx512f")
                && std::arch::is_x86_feature_detected!("avx512dq")
            {
                return Isa::Avx512;
            }
            if std::arch::is_x86_feature_detected!("avx2")
                && std::arch::is_x86_feature_detected!("fma")
            {
                return Isa::Avx2;
            }
        }
        Isa::Portable
    }

    /// f32 lanes of a vector: the row stride of the activations is a multiple of it.
    pub fn lanes(self) -> usize {
        match self {
            Isa::Portable => Portable::LANES,
            #[cfg(target_arch = "x86_64")]
            Isa::Avx2 => x86::Avx2::LANES,
            #[cfg(target_arch = "x86_64")]
            Isa::Avx512 => x86::Avx512::LANES,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Isa::Portable => "portable",
            #[cfg(target_arch = "x86_64")]
            Isa::Avx2 => "avx2",
            #[cfg(target_arch = "x86_64")]
            Isa::Avx512 => "avx512",
        }
    }
}

/// Eight lanes as an array; every operation is a loop the compiler vectorises.
#[derive(Clone, Copy)]
pub(crate) struct Portable;

const PORTABLE_LANES: usize = 8;

impl Simd for Portable {
    const LANES: usize = PORTABLE_LANES;
    type V = [f32; PORTABLE_LANES];

    #[inline(always)]
    fn splat(self, x: f32) -> Self::V {
        [x; PORTABLE_LANES]
    }
    #[inline(always)]
    unsafe fn load(self, p: *const f32) -> Self::V {
        // SAFETY: the caller guarantees LANES readable values.
        unsafe { std::ptr::read_unaligned(p as *const Self::V) }
    }
    #[inline(always)]
    unsafe fn store(self, p: *mut f32, v: Self::V) {
        // SAFETY: the caller guarantees LANES writable values.
        unsafe { std::ptr::write_unaligned(p as *mut Self::V, v) }
    }
    #[inline(always)]
    fn add(self, a: Self::V, b: Self::V) -> Self::V {
        std::array::from_fn(|i| a[i] + b[i])
    }
    #[inline(always)]
    fn sub(self, a: Self::V, b: Self::V) -> Self::V {
        std::array::from_fn(|i| a[i] - b[i])
    }
    #[inline(always)]
    fn mul(self, a: Self::V, b: Self::V) -> Self::V {
        std::array::from_fn(|i| a[i] * b[i])
    }
    #[inline(always)]
    fn fma(self, a: Self::V, b: Self::V, c: Self::V) -> Self::V {
        // Unfused: `mul_add` is a slow library call where the target has no FMA.
        std::array::from_fn(|i| a[i] * b[i] + c[i])
    }
    #[inline(always)]
    fn min(self, a: Self::V, b: Self::V) -> Self::V {
        std::array::from_fn(|i| if a[i] < b[i] { a[i] } else { b[i] })
    }
    #[inline(always)]
    fn max(self, a: Self::V, b: Self::V) -> Self::V {
        std::array::from_fn(|i| if a[i] > b[i] { a[i] } else { b[i] })
    }
    #[inline(always)]
    fn div(self, a: Self::V, b: Self::V) -> Self::V {
        std::array::from_fn(|i| a[i] / b[i])
    }
    #[inline(always)]
    fn select_gt(self, a: Self::V, b: Self::V, x: Self::V, y: Self::V) -> Self::V {
        std::array::from_fn(|i| if a[i] > b[i] { x[i] } else { y[i] })
    }
    #[inline(always)]
    fn exp2_int(self, n: Self::V) -> Self::V {
        std::array::from_fn(|i| f32::from_bits(((n[i] as i32 + 127) as u32) << 23))
    }
    #[inline(always)]
    fn sum(self, a: Self::V) -> f32 {
        a.iter().sum()
    }
}

#[cfg(target_arch = "x86_64")]
pub(crate) mod x86 {
    //! AVX-512 and AVX2 + FMA. Each method is one intrinsic (or a few); they are only called
    //! from functions compiled with the instruction set enabled, where they inline.

    use super::Simd;
    use std::arch::x86_64::*;

    /// AVX-512F: 16 lanes, 32 registers.
    #[derive(Clone, Copy)]
    pub(crate) struct Avx512(());

    impl Avx512 {
        /// # Safety
        /// The CPU must have AVX-512F and AVX-512DQ.
        pub(crate) unsafe fn new() -> Self {
            Avx512(())
        }
    }

    // SAFETY (every `unsafe` block of this impl): an `Avx512` token exists only where the CPU
    // has AVX-512F and DQ (`Avx512::new`); memory accesses are the caller's contract.
    impl Simd for Avx512 {
        const LANES: usize = 16;
        type V = __m512;

        #[inline(always)]
        fn splat(self, x: f32) -> __m512 {
            unsafe { _mm512_set1_ps(x) }
        }
        #[inline(always)]
        unsafe fn load(self, p: *const f32) -> __m512 {
            unsafe { _mm512_loadu_ps(p) }
        }
        #[inline(always)]
        unsafe fn store(self, p: *mut f32, v: __m512) {
            unsafe { _mm512_storeu_ps(p, v) }
        }
        #[inline(always)]
        unsafe fn stream(self, p: *mut f32, v: __m512) {
            unsafe { _mm512_stream_ps(p, v) }
        }
        #[inline(always)]
        fn stream_fence(self) {
            unsafe { _mm_sfence() }
        }
        #[inline(always)]
        fn add(self, a: __m512, b: __m512) -> __m512 {
            unsafe { _mm512_add_ps(a, b) }
        }
        #[inline(always)]
        fn sub(self, a: __m512, b: __m512) -> __m512 {
            unsafe { _mm512_sub_ps(a, b) }
        }
        #[inline(always)]
        fn mul(self, a: __m512, b: __m512) -> __m512 {
            unsafe { _mm512_mul_ps(a, b) }
        }
        #[inline(always)]
        fn fma(self, a: __m512, b: __m512, c: __m512) -> __m512 {
            unsafe { _mm512_fmadd_ps(a, b, c) }
        }
        #[inline(always)]
        fn min(self, a: __m512, b: __m512) -> __m512 {
            unsafe { _mm512_min_ps(a, b) }
        }
        #[inline(always)]
        fn max(self, a: __m512, b: __m512) -> __m512 {
            unsafe { _mm512_max_ps(a, b) }
        }
        /// sign(x) min(|x|, c) in one instruction (AVX-512DQ's range, imm 0b0010: the
        /// smaller magnitude, x's sign), not two.
        #[inline(always)]
        fn clamp(self, x: __m512, c: f32) -> __m512 {
            unsafe { _mm512_range_ps::<0b0010>(x, _mm512_set1_ps(c)) }
        }
        #[inline(always)]
        fn div(self, a: __m512, b: __m512) -> __m512 {
            // r ≈ 1/b to 2^−14, one Newton step r(2 − b r) to about 2^−28, then a·r: a
            // division costs 10 cycles per vector, this 4 instructions.
            unsafe {
                let r = _mm512_rcp14_ps(b);
                let e = _mm512_fnmadd_ps(b, r, _mm512_set1_ps(1.0));
                let r = _mm512_fmadd_ps(r, e, r);
                _mm512_mul_ps(a, r)
            }
        }
        #[inline(always)]
        fn select_gt(self, a: __m512, b: __m512, x: __m512, y: __m512) -> __m512 {
            unsafe { _mm512_mask_blend_ps(_mm512_cmp_ps_mask::<_CMP_GT_OQ>(a, b), y, x) }
        }
        #[inline(always)]
        fn exp2_int(self, n: __m512) -> __m512 {
            unsafe {
                let e = _mm512_add_epi32(_mm512_cvtps_epi32(n), _mm512_set1_epi32(127));
                _mm512_castsi512_ps(_mm512_slli_epi32::<23>(e))
            }
        }
        #[inline(always)]
        fn sum(self, a: __m512) -> f32 {
            unsafe { _mm512_reduce_add_ps(a) }
        }
        #[inline(always)]
        unsafe fn store_sum4(self, [a, b, c, d]: [__m512; 4], out: *mut f32) {
            unsafe {
                // In every 128-bit chunk: [a0+a2, b0+b2, a1+a3, b1+b3], and so for c, d ...
                let ab = _mm512_add_ps(_mm512_unpacklo_ps(a, b), _mm512_unpackhi_ps(a, b));
                let cd = _mm512_add_ps(_mm512_unpacklo_ps(c, d), _mm512_unpackhi_ps(c, d));
                let (ab, cd) = (_mm512_castps_pd(ab), _mm512_castps_pd(cd));
                // ... then [a, b, c, d] partial sums in each chunk, ...
                let s = _mm512_add_ps(
                    _mm512_castpd_ps(_mm512_unpacklo_pd(ab, cd)),
                    _mm512_castpd_ps(_mm512_unpackhi_pd(ab, cd)),
                );
                // ... and the four chunks added: chunks (0, 1, 2, 3) + (2, 3, 0, 1), then
                // that + its chunks (1, 0, 3, 2), staying in one register.
                let s = _mm512_add_ps(s, _mm512_shuffle_f32x4::<0b01_00_11_10>(s, s));
                let s = _mm512_add_ps(s, _mm512_shuffle_f32x4::<0b10_11_00_01>(s, s));
                _mm_storeu_ps(out, _mm512_castps512_ps128(s));
            }
        }
    }

    /// AVX2 with FMA: 8 lanes, 16 registers.
    #[derive(Clone, Copy)]
    pub(crate) struct Avx2(());

    impl Avx2 {
        /// # Safety
        /// The CPU must have AVX2 and FMA.
        pub(crate) unsafe fn new() -> Self {
            Avx2(())
        }
    }

    // SAFETY (every `unsafe` block of this impl): an `Avx2` token exists only where the CPU
    // has AVX2 and FMA (`Avx2::new`); memory accesses are the caller's contract.
    impl Simd for Avx2 {
        const LANES: usize = 8;
        type V = __m256;

        #[inline(always)]
        fn splat(self, x: f32) -> __m256 {
            unsafe { _mm256_set1_ps(x) }
        }
        #[inline(always)]
        unsafe fn load(self, p: *const f32) -> __m256 {
            unsafe { _mm256_loadu_ps(p) }
        }
        #[inline(always)]
        unsafe fn store(self, p: *mut f32, v: __m256) {
            unsafe { _mm256_storeu_ps(p, v) }
        }
        #[inline(always)]
        unsafe fn stream(self, p: *mut f32, v: __m256) {
            unsafe { _mm256_stream_ps(p, v) }
        }
        #[inline(always)]
        fn stream_fence(self) {
            unsafe { _mm_sfence() }
        }
        #[inline(always)]
        fn add(self, a: __m256, b: __m256) -> __m256 {
            unsafe { _mm256_add_ps(a, b) }
        }
        #[inline(always)]
        fn sub(self, a: __m256, b: __m256) -> __m256 {
            unsafe { _mm256_sub_ps(a, b) }
        }
        #[inline(always)]
        fn mul(self, a: __m256, b: __m256) -> __m256 {
            unsafe { _mm256_mul_ps(a, b) }
        }
        #[inline(always)]
        fn fma(self, a: __m256, b: __m256, c: __m256) -> __m256 {
            unsafe { _mm256_fmadd_ps(a, b, c) }
        }
        #[inline(always)]
        fn min(self, a: __m256, b: __m256) -> __m256 {
            unsafe { _mm256_min_ps(a, b) }
        }
        #[inline(always)]
        fn max(self, a: __m256, b: __m256) -> __m256 {
            unsafe { _mm256_max_ps(a, b) }
        }
        #[inline(always)]
        fn div(self, a: __m256, b: __m256) -> __m256 {
            unsafe { _mm256_div_ps(a, b) }
        }
        #[inline(always)]
        fn select_gt(self, a: __m256, b: __m256, x: __m256, y: __m256) -> __m256 {
            unsafe { _mm256_blendv_ps(y, x, _mm256_cmp_ps::<_CMP_GT_OQ>(a, b)) }
        }
        #[inline(always)]
        fn exp2_int(self, n: __m256) -> __m256 {
            unsafe {
                let e = _mm256_add_epi32(_mm256_cvtps_epi32(n), _mm256_set1_epi32(127));
                _mm256_castsi256_ps(_mm256_slli_epi32::<23>(e))
            }
        }
        #[inline(always)]
        fn sum(self, a: __m256) -> f32 {
            unsafe {
                let s = _mm_add_ps(_mm256_castps256_ps128(a), _mm256_extractf128_ps::<1>(a));
                let s = _mm_add_ps(s, _mm_movehl_ps(s, s));
                let s = _mm_add_ss(s, _mm_shuffle_ps::<1>(s, s));
                _mm_cvtss_f32(s)
            }
        }
        #[inline(always)]
        unsafe fn store_sum4(self, [a, b, c, d]: [__m256; 4], out: *mut f32) {
            unsafe {
                // As Avx512::store_sum4, on two 128-bit chunks.
                let ab = _mm256_add_ps(_mm256_unpacklo_ps(a, b), _mm256_unpackhi_ps(a, b));
                let cd = _mm256_add_ps(_mm256_unpacklo_ps(c, d), _mm256_unpackhi_ps(c, d));
                let (ab, cd) = (_mm256_castps_pd(ab), _mm256_castps_pd(cd));
                let s = _mm256_add_ps(
                    _mm256_castpd_ps(_mm256_unpacklo_pd(ab, cd)),
                    _mm256_castpd_ps(_mm256_unpackhi_pd(ab, cd)),
                );
                let u = _mm_add_ps(_mm256_castps256_ps128(s), _mm256_extractf128_ps::<1>(s));
                _mm_storeu_ps(out, u);
            }
        }
    }
}
