//! The conformance suite shared by every qcc backend (DESIGN §5): each case builds a small
//! graph, runs it on the reference interpreter (`qcc_ir::interp`, the oracle) and on the
//! backend, and requires integer outputs to be bit-exact and float outputs to agree within the
//! tolerance the case states. Shapes and values come from proptest (odd sizes, 1×1, vector
//! tails, broadcast, saturation, rounding ties).
//!
//! A backend implements [`Backend`] and instantiates the whole suite in one test file:
//!
//! ```text
//! struct Cranelift;
//! impl qcc_backend_conformance::Backend for Cranelift { /* compile, run, describe */ }
//! qcc_backend_conformance::suite!(Cranelift);
//! ```
//!
//! The cases live in [`cnn`] (convolutions, pooling, quantized elementwise, activations),
//! [`xformer`] (matmul, movement, normalization, reductions, gather, casts, transcendentals),
//! [`float_math`] (Tanh, Log, Softplus, Sin, Cos, Elu, Pow, LogSoftmax: accuracy in ulps) and
//! [`float_ops`] (comparisons, Where, ArgMax/ArgMin, Split, Tile, Pad, Resize, ReduceProd /
//! SumSquare, GlobalMaxPool: exact); [`models`] has small whole models for the backends' own
//! model tests.

#![deny(missing_docs)]

pub mod cnn;
pub mod float_math;
pub mod float_ops;
pub mod models;
pub mod xformer;

#[doc(hidden)]
pub use proptest as __proptest;

use qcc_ir::{Graph, Tensor};

/// A backend under test: compile a graph, run it, describe the compiled form for failures.
pub trait Backend {
    /// The compiled model.
    type Compiled;
    /// Compiles `g` to run with `threads` threads.
    fn compile(g: &Graph, threads: usize) -> Result<Self::Compiled, String>;
    /// Runs the compiled model (inputs in graph input order).
    fn run(c: &Self::Compiled, inputs: &[Tensor]) -> Result<Vec<Tensor>, String>;
    /// A printable form of the compiled model (e.g. the Lowered plan) for failure messages.
    fn describe(c: &Self::Compiled) -> String;
}

/// Compiles `g` on `B` (panicking with the graph on failure).
pub fn compile<B: Backend>(g: &Graph, threads: usize) -> B::Compiled {
    B::compile(g, threads).unwrap_or_else(|e| panic!("compile: {e}\n{}", qcc_ir::print::print(g)))
}

/// Requires bit-exact outputs of `B` and the interpreter, with one and with two threads.
pub fn check_exact<B: Backend>(g: &Graph, inputs: &[Tensor]) {
    let want = qcc_ir::interp::run(g, inputs).expect("interpreter");
    for threads in [1, 2] {
        let cm = compile::<B>(g, threads);
        let got = B::run(&cm, inputs).expect("run");
        assert_eq!(got, want, "{threads} thread(s)\n{}", B::describe(&cm));
    }
}

/// Requires every f32 output element of `B` within `atol + rtol·|interpreter|` (NaN matches NaN).
pub fn check_close<B: Backend>(g: &Graph, inputs: &[Tensor], rtol: f32, atol: f32) {
    let want = qcc_ir::interp::run(g, inputs).expect("interpreter");
    let cm = compile::<B>(g, 1);
    let got = B::run(&cm, inputs).expect("run");
    assert_eq!(got.len(), want.len());
    for (a, b) in got.iter().zip(&want) {
        assert_eq!(a.shape, b.shape, "{}", B::describe(&cm));
        assert_close(a, b, rtol, atol);
    }
}

/// Runs the single-output `g` on `B` and on the interpreter: (backend, interpreter).
pub fn both<B: Backend>(g: &Graph, inputs: &[Tensor]) -> (Tensor, Tensor) {
    let want = qcc_ir::interp::run(g, inputs).expect("interpreter");
    let cm = compile::<B>(g, 1);
    let got = B::run(&cm, inputs).expect("run");
    (got.into_iter().next().expect("one output"), want.into_iter().next().expect("one output"))
}

/// Element-wise `|got − want| ≤ atol + rtol·|want|` on f32 tensors (NaN matches NaN).
pub fn assert_close(got: &Tensor, want: &Tensor, rtol: f32, atol: f32) {
    assert_eq!(got.shape, want.shape);
    let (a, b) = (got.as_f32().expect("f32 output"), want.as_f32().expect("f32 output"));
    for (i, (x, y)) in a.iter().zip(b).enumerate() {
        let ok = (x - y).abs() <= atol + rtol * y.abs() || (x.is_nan() && y.is_nan()) || x == y;
        assert!(ok, "element {i}: backend {x} vs interpreter {y} (rtol {rtol}, atol {atol})");
    }
}

/// Deterministic xorshift stream for weights and inputs.
#[derive(Debug, Clone)]
pub struct Rng(pub u64);

impl Rng {
    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    /// Uniform in `[lo, hi)`.
    pub fn f32(&mut self, lo: f32, hi: f32) -> f32 {
        lo + (hi - lo) * ((self.next_u64() >> 40) as f32 / (1u64 << 24) as f32)
    }
    /// `n` uniform values in `[lo, hi)`.
    pub fn floats(&mut self, n: usize, lo: f32, hi: f32) -> Vec<f32> {
        (0..n).map(|_| self.f32(lo, hi)).collect()
    }
}

/// Instantiates the whole conformance suite for the backend type `$b` (which implements
/// [`Backend`]): one `#[test]` per case, proptest cases included.
#[macro_export]
macro_rules! suite {
    ($b:ty) => {
        mod cnn_conformance {
            use super::*;
            use $crate::__proptest::prelude::*;
            use $crate::cnn;

            $crate::__proptest::proptest! {
                #![proptest_config(ProptestConfig::with_cases(40))]

                #[test]
                fn qconv_matches_interpreter(cc in cnn::conv_case(), x_signed in any::<bool>(),
                        y_signed in any::<bool>(), act in 0u8..3, small_scale in any::<bool>(),
                        i32_out in 0u8..5, seed in any::<u64>()) {
                    cnn::qconv_matches_interpreter::<$b>(cc, x_signed, y_signed, act, small_scale, i32_out, seed);
                }

                #[test]
                fn conv_f32_matches_interpreter(cc in cnn::conv_case(), bias in any::<bool>(), seed in any::<u64>()) {
                    cnn::conv_f32_matches_interpreter::<$b>(cc, bias, seed);
                }
            }

            #[test]
            fn regressions() {
                cnn::regressions::<$b>();
            }
            #[test]
            fn depthwise_qconv_vector_blocks_and_tails() {
                cnn::depthwise_qconv_vector_blocks_and_tails::<$b>();
            }
            #[test]
            fn depthwise_conv_f32() {
                cnn::depthwise_conv_f32::<$b>();
            }
            #[test]
            fn quantized_elementwise_pool_and_lut() {
                cnn::quantized_elementwise_pool_and_lut::<$b>();
            }
            #[test]
            fn f32_activations_and_pools() {
                cnn::f32_activations_and_pools::<$b>();
            }
            #[test]
            fn large_window_pools() {
                cnn::large_window_pools::<$b>();
            }
        }

        mod xformer_conformance {
            use super::*;
            use $crate::__proptest::prelude::*;
            use $crate::xformer;

            $crate::__proptest::proptest! {
                #![proptest_config(ProptestConfig { cases: 24, ..ProptestConfig::default() })]

                #[test]
                fn matmul_f32_runtime_b(batch in xformer::batch_pair(), m in 1usize..11, n in 1usize..21, k in 1usize..20, seed: u64) {
                    xformer::matmul_f32_runtime_b::<$b>(batch, m, n, k, seed);
                }

                #[test]
                fn gemm_f32_fused_epilogue(m in 1usize..11, n in 1usize..21, k in 1usize..20, act in 0u8..3, bias_first: bool, seed: u64) {
                    xformer::gemm_f32_fused_epilogue::<$b>((m, n, k), act, bias_first, seed);
                }

                #[test]
                fn qmatmul_runtime_b_bit_exact(batch in xformer::batch_pair(), m in 1usize..11, n in 1usize..21, k in 1usize..40,
                        a_signed: bool, b_signed: bool, za in -20i32..20, zb in -20i32..20, requant: bool, out_signed: bool, seed: u64) {
                    xformer::qmatmul_runtime_b_bit_exact::<$b>(batch, (m, n, k), (a_signed, b_signed), (za, zb), requant, out_signed, seed);
                }

                #[test]
                fn transpose_any_perm(shape in $crate::__proptest::collection::vec(1usize..5, 1..5), seed: u64, byte: bool) {
                    xformer::transpose_any_perm::<$b>(shape, seed, byte);
                }

                #[test]
                fn softmax_any_axis(shape in $crate::__proptest::collection::vec(1usize..9, 1..4), ax in 0usize..3, seed: u64) {
                    xformer::softmax_any_axis::<$b>(shape, ax, seed);
                }

                #[test]
                fn layer_norm_rows(rows in 1usize..6, d in 1usize..40, bias: bool, seed: u64) {
                    xformer::layer_norm_rows::<$b>(rows, d, bias, seed);
                }

                #[test]
                fn reduce_any_axes(shape in $crate::__proptest::collection::vec(1usize..6, 1..4), mask in 0u8..16, keep: bool, which in 0u8..4, seed: u64) {
                    xformer::reduce_any_axes::<$b>(shape, mask, keep, which, seed);
                }

                #[test]
                fn qadd_qmul_broadcast_bit_exact(shape in $crate::__proptest::collection::vec(1usize..6, 1..4), bmask in 0u8..8, mul: bool,
                        sa in 0.01f32..0.5, sb in 0.01f32..0.5, sy in 0.01f32..0.5, za in 0i32..255, zb in -128i32..127, zy in -128i32..127,
                        out_signed: bool, seed: u64) {
                    xformer::qadd_qmul_broadcast_bit_exact::<$b>(shape, bmask, mul, (sa, sb, sy), (za, zb, zy), out_signed, seed);
                }

                #[test]
                fn gather_any_axis(shape in $crate::__proptest::collection::vec(1usize..6, 1..4), ax in 0usize..3, nidx in 1usize..7, seed: u64) {
                    xformer::gather_any_axis::<$b>(shape, ax, nidx, seed);
                }
            }

            #[test]
            fn regressions() {
                xformer::regressions::<$b>();
            }
            #[test]
            fn gather_out_of_range_is_an_error() {
                xformer::gather_out_of_range_is_an_error::<$b>();
            }
            #[test]
            fn exp_and_erf_accuracy() {
                xformer::exp_and_erf_accuracy::<$b>();
            }
            #[test]
            fn cast_rounds_and_saturates() {
                xformer::cast_rounds_and_saturates::<$b>();
            }
            #[test]
            fn slice_concat_expand() {
                xformer::slice_concat_expand::<$b>();
            }
            #[test]
            fn binary_max_min() {
                xformer::binary_max_min::<$b>();
            }
            #[test]
            fn f32_unary_ops_exact() {
                xformer::f32_unary_ops_exact::<$b>();
            }
        }

        mod float_conformance {
            use super::*;
            use $crate::__proptest::prelude::*;
            use $crate::{float_math, float_ops};

            $crate::__proptest::proptest! {
                #![proptest_config(ProptestConfig { cases: 24, ..ProptestConfig::default() })]

                #[test]
                fn log_softmax_any_axis(shape in $crate::__proptest::collection::vec(1usize..9, 1..4), ax in 0usize..3, seed: u64) {
                    float_math::log_softmax_any_axis::<$b>(shape, ax, seed);
                }

                #[test]
                fn compare_and_where(shape in $crate::__proptest::collection::vec(1usize..6, 1..4), bmask in 0u8..8, seed: u64) {
                    float_ops::compare_and_where::<$b>(shape, bmask, seed);
                }

                #[test]
                fn argmax_argmin(shape in $crate::__proptest::collection::vec(1usize..7, 1..4), ax in 0usize..3, keep: bool, last: bool, seed: u64) {
                    float_ops::argmax_argmin::<$b>(shape, ax, keep, last, seed);
                }

                #[test]
                fn prod_sum_square_global_max(shape in $crate::__proptest::collection::vec(1usize..6, 1..5), mask in 0u8..16, keep: bool, seed: u64) {
                    float_ops::prod_sum_square_global_max::<$b>(shape, mask, keep, seed);
                }
            }

            #[test]
            fn float_math_accuracy() {
                float_math::float_math_accuracy::<$b>();
            }
            #[test]
            fn pow_matches_interpreter() {
                float_math::pow_matches_interpreter::<$b>();
            }
            #[test]
            fn split_tile_pad() {
                float_ops::split_tile_pad::<$b>();
            }
            #[test]
            fn resize_modes() {
                float_ops::resize_modes::<$b>();
            }
        }
    };
}
