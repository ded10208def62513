//! ONNX Runtime `com.microsoft` QOperator ops import as DequantizeLinear → float op →
//! QuantizeLinear and compute that reference semantics on the interpreter.

use prost::Message;
use qcc_ir::{Op, Tensor};
use qcc_onnx::proto::{
    tensor_shape_proto, type_proto, AttributeProto, GraphProto, ModelProto, NodeProto,
    OperatorSetIdProto, TensorShapeProto, TypeProto, ValueInfoProto,
};
use qcc_onnx::{import_bytes, tensor_to_proto, ImportOptions};

fn vi(name: &str, elem: i32, dims: &[i64]) -> ValueInfoProto {
    ValueInfoProto {
        name: Some(name.into()),
        r#type: Some(TypeProto {
            value: Some(type_proto::Value::TensorType(type_proto::Tensor {
                elem_type: Some(elem),
                shape: Some(TensorShapeProto {
                    dim: dims
                        .iter()
                        .map(|&d| tensor_shape_proto::Dimension {
                            value: Some(tensor_shape_proto::dimension::Value::DimValue(d)),
                            ..Default::default()
                        })
                        .collect(),
                }),
            })),
            ..Default::default()
        }),
        ..Default::default()
    }
}

fn ms_node(op: &str, ins: &[&str], out: &str, attrs: Vec<AttributeProto>) -> NodeProto {
    NodeProto {
        op_type: Some(op.into()),
        domain: Some("com.microsoft".into()),
        name: Some(out.into()),
        input: ins.iter().map(|s| s.to_string()).collect(),
        output: vec![out.into()],
        attribute: attrs,
        ..Default::default()
    }
}

fn int_attr(name: &str, i: i64) -> AttributeProto {
    AttributeProto { name: Some(name.into()), i: Some(i), r#type: Some(2), ..Default::default() }
}

const SA: f32 = 0.05;
const ZA: u8 = 120;
const SB: f32 = 0.03;
const ZB: u8 = 130;
const SY: f32 = 0.08;
const ZY: u8 = 128;
const S2: f32 = 1.0 / 256.0;
const S3: f32 = 0.04;
const ZC: u8 = 100;
const SW: f32 = 0.02;
const S4: f32 = 0.1;
const Z4: u8 = 90;

fn model() -> Vec<u8> {
    let f = |n: &str, v: f32| tensor_to_proto(n, &Tensor::scalar_f32(v));
    let u = |n: &str, v: u8| tensor_to_proto(n, &Tensor::u8(&[], vec![v]));
    let inits = vec![
        f("sa", SA),
        u("za", ZA),
        f("sb", SB),
        u("zb", ZB),
        f("sy", SY),
        u("zy", ZY),
        f("s2", S2),
        u("z2", 0),
        f("s3", S3),
        u("z3", ZC),
        tensor_to_proto("w", &Tensor::i8(&[2, 3], vec![10, -20, 30, -40, 50, -60])),
        f("sw", SW),
        tensor_to_proto("zw", &Tensor::i8(&[], vec![0])),
        tensor_to_proto("c", &Tensor::i32(&[2], vec![100, -250])),
        f("s4", S4),
        u("z4", Z4),
    ];
    let m = ModelProto {
        ir_version: Some(8),
        opset_import: vec![
            OperatorSetIdProto { domain: Some(String::new()), version: Some(17) },
            OperatorSetIdProto { domain: Some("com.microsoft".into()), version: Some(1) },
        ],
        graph: Some(GraphProto {
            name: Some("qops".into()),
            node: vec![
                ms_node(
                    "QLinearAdd",
                    &["a", "sa", "za", "b", "sb", "zb", "sy", "zy"],
                    "add",
                    vec![],
                ),
                ms_node("QLinearSigmoid", &["add", "sy", "zy", "s2", "z2"], "sig", vec![]),
                ms_node(
                    "QLinearConcat",
                    &["s3", "z3", "a", "sa", "za", "sig", "s2", "z2"],
                    "cat",
                    vec![int_attr("axis", 0)],
                ),
                ms_node(
                    "QGemm",
                    &["cat", "s3", "z3", "w", "sw", "zw", "c", "s4", "z4"],
                    "gemm",
                    vec![int_attr("transB", 1)],
                ),
            ],
            initializer: inits,
            input: vec![vi("a", 2, &[2, 3]), vi("b", 2, &[2, 3])],
            output: vec![vi("cat", 2, &[4, 3]), vi("gemm", 2, &[4, 2])],
            ..Default::default()
        }),
        ..Default::default()
    };
    m.encode_to_vec()
}

fn dq(q: u8, s: f32, z: u8) -> f32 {
    qcc_ir::qmath::dequantize(q as i32, s, z as i32)
}
fn q(x: f32, s: f32, z: u8) -> u8 {
    qcc_ir::qmath::quantize(x, s, z as i32, 0, 255) as u8
}

#[test]
fn qoperator_ops_decompose_and_run() {
    let g = import_bytes(&model(), &ImportOptions::default()).expect("imports");
    assert!(g.node_ids().iter().all(|&n| !matches!(g.node(n).op, Op::Custom(_))));
    let n_q =
        g.node_ids().iter().filter(|&&n| matches!(g.node(n).op, Op::QuantizeLinear(_))).count();
    assert_eq!(n_q, 4, "one QuantizeLinear per QOperator op");
    let a = vec![0u8, 60, 120, 200, 255, 17];
    let b = vec![255u8, 130, 3, 90, 140, 250];
    let out =
        qcc_ir::interp::run(&g, &[Tensor::u8(&[2, 3], a.clone()), Tensor::u8(&[2, 3], b.clone())])
            .expect("runs");
    // The reference semantics, written out.
    let add: Vec<u8> =
        a.iter().zip(&b).map(|(&x, &y)| q(dq(x, SA, ZA) + dq(y, SB, ZB), SY, ZY)).collect();
    let sig: Vec<u8> =
        add.iter().map(|&x| q(1.0 / (1.0 + (-dq(x, SY, ZY)).exp()), S2, 0)).collect();
    let cat: Vec<u8> = a
        .iter()
        .map(|&x| q(dq(x, SA, ZA), S3, ZC))
        .chain(sig.iter().map(|&x| q(dq(x, S2, 0), S3, ZC)))
        .collect();
    let w = [10i8, -20, 30, -40, 50, -60];
    let c = [100i32, -250];
    let mut gemm = Vec::new();
    for i in 0..4 {
        for j in 0..2 {
            let mut acc = 0f32;
            for k in 0..3 {
                acc += dq(cat[i * 3 + k], S3, ZC) * (w[j * 3 + k] as f32 * SW);
            }
            gemm.push(q(acc + c[j] as f32 * (S3 * SW), S4, Z4));
        }
    }
    let got_cat = out[0].as_u8().expect("u8");
    let got_gemm = out[1].as_u8().expect("u8");
    let close =
        |x: &[u8], y: &[u8]| x.iter().zip(y).all(|(&p, &r)| (p as i32 - r as i32).abs() <= 1);
    assert!(close(got_cat, &cat), "cat {got_cat:?} vs {cat:?}");
    assert!(close(got_gemm, &gemm), "gemm {got_gemm:?} vs {gemm:?}");
    let exact = got_cat.iter().zip(&cat).filter(|(p, r)| p == r).count()
        + got_gemm.iter().zip(&gemm).filter(|(p, r)| p == r).count();
    assert!(exact >= 18, "only {exact}/20 exact");
}
