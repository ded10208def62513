//! The memory plan's arena size is checked against `Limits::max_arena_bytes` during lowering,
//! before any backend could allocate the arena.

use qcc_ir::{DType, Graph, LimitError, Limits, Op, TensorType};
use qcc_lowering::{lower, lower_with_limits, LowerError};

/// `x → Relu → Relu → y` on `f32[shape]`.
fn relu_chain(shape: &[usize]) -> Graph {
    let ty = TensorType::fixed(DType::F32, shape);
    let mut g = Graph::new("relus");
    let x = g.add_input("x", ty.clone());
    let a = g.add_op(Op::Relu, "r0", &[x], ty.clone()).expect("relu");
    let b = g.add_op(Op::Relu, "r1", &[a], ty).expect("relu");
    g.add_output("y", b).expect("output");
    g
}

#[test]
fn an_arena_over_the_limit_is_a_typed_error_and_one_at_the_limit_is_not() {
    let g = relu_chain(&[4, 16]);
    let planned = lower(&g).expect("lowers").arena_size as u64;
    assert!(planned >= 2 * 4 * 16 * 4, "input and output live together ({planned} bytes)");
    let at = Limits { max_arena_bytes: planned, ..Limits::default() };
    assert_eq!(lower_with_limits(&g, &at).expect("at the limit").arena_size as u64, planned);
    let under = Limits { max_arena_bytes: planned - 1, ..Limits::default() };
    match lower_with_limits(&g, &under) {
        Err(LowerError::Limit(LimitError::Arena { bytes, limit })) => {
            assert_eq!((bytes, limit), (planned, planned - 1));
        }
        other => panic!("want an arena limit error, got {other:?}"),
    }
    let msg = lower_with_limits(&g, &under).expect_err("error").to_string();
    assert!(msg.contains("arena size limit") && msg.contains("--max-arena-bytes"), "{msg}");
}

#[test]
fn an_arena_whose_size_overflows_is_refused_by_the_default_limit() {
    // 2^70 elements: the byte count saturates rather than wrapping to a small arena.
    let g = relu_chain(&[1 << 40, 1 << 30]);
    match lower(&g) {
        Err(LowerError::Limit(LimitError::Arena { bytes, limit })) => {
            assert_eq!(bytes, usize::MAX as u64);
            assert_eq!(limit, Limits::default().max_arena_bytes);
        }
        other => panic!("want an arena limit error, got {:?}", other.map(|m| m.arena_size)),
    }
}
