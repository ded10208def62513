//! The suite checked on itself: the reference interpreter, seen as a backend, passes every
//! case (so the cases are well-formed graphs), and a backend that is off by one LSB or one
//! ulp is caught (so the checks can fail).

use qcc_backend_conformance::{check_close, check_exact, Backend};
use qcc_ir::{DType, Data, Graph, Op, Quant, Tensor, TensorType};

/// The interpreter behind the backend interface.
struct Interp;

impl Backend for Interp {
    type Compiled = Graph;
    fn compile(g: &Graph, _threads: usize) -> Result<Graph, String> {
        Ok(g.clone())
    }
    fn run(g: &Graph, inputs: &[Tensor]) -> Result<Vec<Tensor>, String> {
        qcc_ir::interp::run(g, inputs).map_err(|e| e.to_string())
    }
    fn describe(g: &Graph) -> String {
        qcc_ir::print::print(g)
    }
}

qcc_backend_conformance::suite!(Interp);

/// The interpreter with the first output element nudged: one LSB for integers, a relative
/// 1e-3 for floats.
struct OffByOne;

impl Backend for OffByOne {
    type Compiled = Graph;
    fn compile(g: &Graph, _threads: usize) -> Result<Graph, String> {
        Ok(g.clone())
    }
    fn run(g: &Graph, inputs: &[Tensor]) -> Result<Vec<Tensor>, String> {
        let mut out = Interp::run(g, inputs)?;
        match &mut out[0].data {
            Data::U8(v) => v[0] = v[0].wrapping_add(1),
            Data::F32(v) => v[0] = v[0] * 1.001 + 1e-3,
            _ => unreachable!("the test graphs below have u8 or f32 outputs"),
        }
        Ok(out)
    }
    fn describe(g: &Graph) -> String {
        qcc_ir::print::print(g)
    }
}

#[test]
fn an_integer_off_by_one_lsb_is_caught() {
    let mut g = Graph::new("q");
    let x = g.add_input("x", TensorType::fixed(DType::F32, &[4]));
    let q = TensorType::fixed(DType::U8, &[4]).with_quant(Quant::tensor(0.1, 3));
    let y = g.add_op(Op::Quantize, "q", &[x], q).unwrap();
    g.add_output("y", y).unwrap();
    let x = Tensor::f32(&[4], vec![0.05, 0.15, -1.0, 30.0]);
    check_exact::<Interp>(&g, std::slice::from_ref(&x));
    let caught = std::panic::catch_unwind(|| check_exact::<OffByOne>(&g, &[x]));
    assert!(caught.is_err(), "a one-LSB difference passed check_exact");
}

#[test]
fn a_float_beyond_tolerance_is_caught() {
    let mut g = Graph::new("f");
    let x = g.add_input("x", TensorType::fixed(DType::F32, &[3]));
    let y = g.add_op(Op::Relu, "r", &[x], TensorType::fixed(DType::F32, &[3])).unwrap();
    g.add_output("y", y).unwrap();
    let x = Tensor::f32(&[3], vec![2.0, -1.0, 0.5]);
    check_close::<Interp>(&g, std::slice::from_ref(&x), 1e-5, 1e-5);
    let caught = std::panic::catch_unwind(|| check_close::<OffByOne>(&g, &[x], 1e-5, 1e-5));
    assert!(caught.is_err(), "a 1e-3 relative difference passed check_close(1e-5)");
}
