//! `CompileOptions::limits` and `compile_object_with_limits`: a model whose memory plan exceeds
//! `max_arena_bytes` is refused with a typed error before the arena is allocated.

use qcc_backend_cranelift::aot::{compile_object_with_limits, AotTarget};
use qcc_backend_cranelift::{compile, BackendError, CompileOptions};
use qcc_ir::{DType, Graph, LimitError, Limits, Op, Tensor, TensorType};
use qcc_lowering::LowerError;

fn relu(shape: &[usize]) -> Graph {
    let ty = TensorType::fixed(DType::F32, shape);
    let mut g = Graph::new("relu");
    let x = g.add_input("x", ty.clone());
    let y = g.add_op(Op::Relu, "r", &[x], ty).expect("relu");
    g.add_output("y", y).expect("output");
    g
}

fn arena_error(e: BackendError) -> (u64, u64) {
    match e {
        BackendError::Lowering(LowerError::Limit(LimitError::Arena { bytes, limit })) => {
            (bytes, limit)
        }
        other => panic!("want an arena limit error, got {other}"),
    }
}

fn with_arena_limit(bytes: u64) -> CompileOptions {
    CompileOptions {
        limits: Limits { max_arena_bytes: bytes, ..Limits::default() },
        ..Default::default()
    }
}

#[test]
fn jit_refuses_an_arena_over_the_limit_and_runs_one_at_the_limit() {
    let g = relu(&[2, 8]); // input and output: 64 bytes each, both live at the end
    let (bytes, limit) = arena_error(compile(&g, &with_arena_limit(127)).err().expect("refused"));
    assert_eq!((bytes, limit), (128, 127));
    let cm = compile(&g, &with_arena_limit(128)).expect("fits");
    let x = Tensor::f32(&[2, 8], (0..16).map(|i| i as f32 - 8.0).collect());
    let want = qcc_ir::interp::run(&g, std::slice::from_ref(&x)).expect("interpreter");
    assert_eq!(cm.run(&[x]).expect("run"), want);
}

#[test]
fn jit_refuses_a_huge_arena_under_the_default_limit_without_allocating_it() {
    // 2 × 256 GiB: allocating this arena would abort the process; the limit check comes first.
    let (bytes, limit) = arena_error(
        compile(&relu(&[1 << 20, 1 << 16]), &CompileOptions::default()).err().expect("refused"),
    );
    assert_eq!(bytes, 2 << 38);
    assert_eq!(limit, Limits::default().max_arena_bytes);
}

#[test]
fn aot_refuses_an_arena_over_the_limit() {
    let g = relu(&[2, 8]);
    let small = Limits { max_arena_bytes: 100, ..Limits::default() };
    let e = compile_object_with_limits(
        &g,
        AotTarget::Aarch64 { i8mm: false },
        "m",
        &Default::default(),
        &small,
    )
    .expect_err("refused");
    assert_eq!(arena_error(e), (128, 100));
    let art = compile_object_with_limits(
        &g,
        AotTarget::Aarch64 { i8mm: false },
        "m",
        &Default::default(),
        &Limits::default(),
    )
    .expect("fits");
    assert_eq!(art.arena_size, 128);
}
