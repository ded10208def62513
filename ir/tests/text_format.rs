//! Text format: printer snapshots, parse errors with positions, and the round-trip property
//! `print(parse(print(g))) == print(g)` over random well-typed graphs.

use proptest::prelude::*;
use qcc_ir::ops::{AxisAttrs, ConvAttrs, CustomOp, GemmAttrs, PoolAttrs, SplitAttrs};
use qcc_ir::parse::{parse, parse_with};
use qcc_ir::print::{print, print_with, PrintOptions};
use qcc_ir::{DType, Dim, Graph, Op, Phase, Quant, Shape, Tensor, TensorType, Value};
use std::collections::{BTreeMap, HashMap};

fn mlp() -> Graph {
    let mut g = Graph::new("mlp");
    let x = g.add_input(
        "x",
        TensorType::new(DType::F32, Shape(Some(vec![Dim::Sym("N".into()), 4.into()]))),
    );
    let w = g.add_const(
        "fc.weight",
        Tensor::f32(&[4, 3], (0..12).map(|i| i as f32 * 0.25 - 1.0).collect()),
    );
    let b = g.add_const("fc.bias", Tensor::f32(&[3], vec![0.5, -0.5, 0.1]));
    let n3 = TensorType::new(DType::F32, Shape(Some(vec![Dim::Sym("N".into()), 3.into()])));
    let m = g.add_op(Op::MatMul, "fc", &[x, w], n3.clone()).unwrap();
    let a = g.add_op(Op::Add, "", &[m, b], n3.clone()).unwrap();
    let r = g.add_op(Op::Relu, "relu", &[a], n3).unwrap();
    g.add_output("y", r).unwrap();
    g
}

#[test]
fn mlp_prints_as_expected() {
    insta::assert_snapshot!(print(&mlp()));
}

#[test]
fn quantized_types_print_and_parse() {
    let text = r#"graph @q phase=quantized {
  input %x: u8<0.0235:128>[1,3,8,8]
  const @c0: i8<axis=0, scales=[0.5,0.25]>[2,3,3,3] = dense<sha256="0", min=0, max=0>
  const @c1: i32[2] = [7, -7] "bias"
  %0 = QConv(%x, @c0, @c1) {pads=[1, 1, 1, 1]} : i32<axis=1, scales=[0.01175,0.005875]>[1,2,8,8] "conv"
  %1 = Requantize(%0) : i8<0.05:-3>[1,2,8,8]
  output "y" = %1
}
"#;
    // Without weights the dense constant is an error that says what to do.
    let err = parse(text).unwrap_err();
    assert_eq!((err.line, err.col), (3, 55), "{err}");
    assert!(err.message.contains(".safetensors"), "{err}");
    // With weights whose hash does not match, another clear error.
    let mut w = HashMap::new();
    w.insert("c0".to_string(), std::sync::Arc::new(Tensor::i8(&[2, 3, 3, 3], vec![1; 54])));
    let err = parse_with(text, &w).unwrap_err();
    assert!(err.message.contains("do not match"), "{err}");
    // Fix the hash and it round-trips.
    let h = qcc_ir::print::tensor_hash(&Tensor::i8(&[2, 3, 3, 3], vec![1; 54]));
    let fixed = text.replace("sha256=\"0\"", &format!("sha256=\"{h}\""));
    let g = parse_with(&fixed, &w).unwrap();
    let p = print_with(&g, &PrintOptions::default(), &BTreeMap::new());
    insta::assert_snapshot!(p.text);
    let ext: HashMap<_, _> = p.external.into_iter().collect();
    assert_eq!(print(&parse_with(&p.text, &ext).unwrap()), p.text);
}

#[test]
fn parse_errors_have_positions() {
    let cases: &[(&str, (usize, usize), &str)] = &[
        ("graph @g {\n  %0 = Relu(%x) : f32[1]\n}", (2, 13), "undefined value `%x`"),
        ("graph @g {\n  input %x: f33[1]\n}", (2, 13), "unknown dtype `f33`"),
        (
            "graph @g {\n  input %x: f32[1]\n  %0 = Frobnicate(%x) : f32[1]\n}",
            (3, 8),
            "unknown op `Frobnicate`",
        ),
        (
            "graph @g {\n  input %x: f32[1]\n  %0 = Conv(%x) {strides=\"a\"} : f32[1]\n}",
            (3, 8),
            "bad attributes for `Conv`",
        ),
        (
            "graph @g {\n  input %x: f32[1]\n  %0 = Relu(%x) : f32[1]\n  %0 = Relu(%x) : f32[1]\n",
            (4, 3),
            "defined twice",
        ),
        ("graph @g {\n  input %x: f32[1]\n", (3, 1), "missing `}`"),
        ("graph @g {\n  const @c0: i8[2] = [1, 300]\n}", (2, 29), "out of range for i8"),
        ("graph @g {\n  const @c0: f32[3] = [1, 2]\n}", (2, 28), "needs 3 elements"),
        ("graph @g {\n  input %x: f32[1]\n  output \"y\" = %x\n} extra", (4, 3), "after the graph"),
        ("graph @g {\n  input %x: f32[1\n}", (3, 1), "expected `,`"),
        ("graph @g phase=frozen {\n}", (1, 16), "unknown phase"),
        (
            "graph @g {\n  input %x: f32[1]\n  %0 = Relu(%x) : f32[1], f32[1]\n}",
            (3, 32),
            "1 results but 2 types",
        ),
        ("graph @g {\n  input %x: f32[1] \"unterminated\n}", (2, 20), "unterminated string"),
    ];
    for (text, pos, msg) in cases {
        let e = parse(text).expect_err(text);
        assert!(e.message.contains(msg), "expected `{msg}` in `{}` for:\n{text}", e.message);
        assert_eq!((e.line, e.col), *pos, "position of `{}` for:\n{text}\n{e}", e.message);
    }
}

#[test]
fn quoted_names_do_not_collide_with_numbered_values() {
    let mut g = Graph::new("0 weird name");
    let t = TensorType::fixed(DType::F32, &[2]);
    let x = g.add_input("0", t.clone());
    let y = g.add_input("input.1", t.clone());
    let s = g.add_op(Op::Add, "a \"quoted\" name\n", &[x, y], t.clone()).unwrap();
    let r = g.add_op(Op::Relu, "", &[s], t).unwrap();
    g.add_output("out:0", r).unwrap();
    let p = print(&g);
    assert!(p.contains("input %\"0\": f32[2]"), "{p}");
    let back = parse(&p).unwrap_or_else(|e| panic!("{e}\n{p}"));
    assert_eq!(print(&back), p);
    assert_eq!(back.node(back.inputs()[0]).name, "0");
}

// ----- round-trip property over random well-typed graphs -----

fn arb_dtype() -> impl Strategy<Value = DType> {
    prop::sample::select(DType::ALL.to_vec())
}

fn arb_scale() -> impl Strategy<Value = f32> {
    prop_oneof![(1e-6f32..10.0), Just(0.1f32), Just(1.0f32 / 3.0), (1e-30f32..1e-20)]
}

fn quant_for(dtype: DType, dims: &[usize]) -> BoxedStrategy<Option<Quant>> {
    let Some((lo, hi)) = dtype.int_range() else { return Just(None).boxed() };
    if !dtype.is_quantizable() {
        return Just(None).boxed();
    }
    let (lo, hi) = (lo.max(-1000) as i32, hi.min(1000) as i32);
    let per_tensor = (arb_scale(), lo..=hi)
        .prop_map(|(scale, zero_point)| Some(Quant::Tensor { scale, zero_point }));
    if dims.is_empty() || dims[0] == 0 {
        return prop_oneof![Just(None), per_tensor].boxed();
    }
    let c = dims[0];
    let per_axis = (prop::collection::vec(arb_scale(), c), prop::collection::vec(lo..=hi, c))
        .prop_map(|(scales, zero_points)| Some(Quant::Axis { axis: 0, scales, zero_points }));
    let blocked = (
        prop::collection::vec(arb_scale(), c.div_ceil(2)),
        prop::collection::vec(lo..=hi, c.div_ceil(2)),
    )
        .prop_map(|(scales, zero_points)| {
            Some(Quant::Block { axis: 0, block: 2, scales, zero_points })
        });
    prop_oneof![Just(None), per_tensor, per_axis, blocked].boxed()
}

fn arb_tensor(dtype: DType, dims: Vec<usize>) -> BoxedStrategy<Tensor> {
    let n: usize = dims.iter().product();
    let ints = move |dtype: DType, dims: Vec<usize>| {
        let (lo, hi) = dtype.int_range().unwrap();
        prop::collection::vec(lo.max(-1 << 40)..=hi.min(1 << 40), n)
            .prop_map(move |v| Tensor::from_i64_saturating(dtype, dims.clone(), &v).unwrap())
            .boxed()
    };
    match dtype {
        DType::F32 | DType::F16 | DType::BF16 => {
            let d = dims.clone();
            prop::collection::vec(
                prop_oneof![
                    any::<f32>(),
                    -1e3f32..1e3,
                    Just(f32::INFINITY),
                    Just(-0.0f32),
                    Just(1e-45f32)
                ],
                n,
            )
            .prop_map(move |v| {
                let t = Tensor::f32(&d, v);
                let data = match dtype {
                    DType::F16 => qcc_ir::Data::F16(
                        t.as_f32().unwrap().iter().map(|&x| half::f16::from_f32(x)).collect(),
                    ),
                    DType::BF16 => qcc_ir::Data::BF16(
                        t.as_f32().unwrap().iter().map(|&x| half::bf16::from_f32(x)).collect(),
                    ),
                    _ => return t,
                };
                Tensor::new(d.clone(), data).unwrap()
            })
            .boxed()
        }
        DType::F8E4M3FN | DType::F8E5M2 | DType::F4E2M1 => {
            // Any bit pattern; NaNs as the canonical one (the text form does not keep a NaN's
            // sign or payload).
            let d = dims.clone();
            prop::collection::vec(any::<u8>(), n)
                .prop_map(move |v| {
                    use qcc_ir::minifloat::{F4E2M1, F8E4M3FN, F8E5M2};
                    let data = match dtype {
                        DType::F8E4M3FN => qcc_ir::Data::F8E4M3FN(
                            v.iter()
                                .map(|&b| F8E4M3FN(b))
                                .map(|x| if x.is_nan() { F8E4M3FN(0x7f) } else { x })
                                .collect(),
                        ),
                        DType::F8E5M2 => qcc_ir::Data::F8E5M2(
                            v.iter()
                                .map(|&b| F8E5M2(b))
                                .map(|x| if x.is_nan() { F8E5M2(0x7e) } else { x })
                                .collect(),
                        ),
                        _ => qcc_ir::Data::F4E2M1(v.iter().map(|&b| F4E2M1(b & 0xf)).collect()),
                    };
                    Tensor::new(d.clone(), data).unwrap()
                })
                .boxed()
        }
        DType::Bool => {
            let d = dims.clone();
            prop::collection::vec(any::<bool>(), n)
                .prop_map(move |v| Tensor::new(d.clone(), qcc_ir::Data::Bool(v)).unwrap())
                .boxed()
        }
        _ => ints(dtype, dims),
    }
}

#[derive(Debug, Clone)]
enum Step {
    Unary(usize, u8),
    Binary(usize, usize),
    Conv(usize, Vec<usize>, usize),
    Split(usize, usize),
    Custom(usize, i64, String),
    Clip(usize, bool, bool),
}

fn arb_step() -> impl Strategy<Value = Step> {
    prop_oneof![
        (any::<usize>(), 0u8..6).prop_map(|(a, k)| Step::Unary(a, k)),
        (any::<usize>(), any::<usize>()).prop_map(|(a, b)| Step::Binary(a, b)),
        (any::<usize>(), prop::collection::vec(0usize..3, 0..4), 1usize..4)
            .prop_map(|(a, p, s)| Step::Conv(a, p, s)),
        (any::<usize>(), 1usize..4).prop_map(|(a, n)| Step::Split(a, n)),
        (any::<usize>(), any::<i64>(), "[a-z \"\\\\]{0,8}")
            .prop_map(|(a, i, s)| Step::Custom(a, i, s)),
        (any::<usize>(), any::<bool>(), any::<bool>())
            .prop_map(|(a, lo, hi)| Step::Clip(a, lo, hi)),
    ]
}

type Decl = (DType, Vec<usize>, bool, Option<Quant>);

fn arb_decl() -> impl Strategy<Value = Decl> {
    (arb_dtype(), prop::collection::vec(0usize..5, 0..4), any::<bool>()).prop_flat_map(
        |(d, dims, sym)| {
            let q = quant_for(d, &dims);
            (Just(d), Just(dims), Just(sym), q)
        },
    )
}

fn arb_graph() -> impl Strategy<Value = Graph> {
    let inputs = prop::collection::vec(arb_decl(), 1..4);
    let consts = prop::collection::vec(
        (arb_dtype(), prop::collection::vec(0usize..6, 0..3)).prop_flat_map(|(d, dims)| {
            let q = quant_for(d, &dims);
            (arb_tensor(d, dims.clone()), q)
        }),
        0..4,
    );
    let steps = prop::collection::vec(arb_step(), 0..12);
    let phase = prop::sample::select(Phase::ALL.to_vec());
    (inputs, consts, steps, phase, "[a-z_]{1,6}").prop_map(
        |(inputs, consts, steps, phase, name)| {
            let mut g = Graph::new(name);
            g.advance_phase(phase).unwrap();
            let mut vals: Vec<Value> = Vec::new();
            for (i, (d, dims, sym, q)) in inputs.into_iter().enumerate() {
                let mut shape: Vec<Dim> = dims.iter().map(|&x| Dim::Fixed(x)).collect();
                if sym && !shape.is_empty() {
                    shape[0] = Dim::Sym(if i % 2 == 0 { "N".into() } else { "?".into() });
                }
                let mut t = TensorType::new(d, Shape(Some(shape)));
                t.quant = q;
                vals.push(g.add_input(format!("in{i}"), t));
            }
            for (i, (t, q)) in consts.into_iter().enumerate() {
                let mut ty = TensorType::fixed(t.dtype, &t.shape);
                ty.quant = q;
                vals.push(g.add_const_typed(
                    if i % 2 == 0 { format!("w{i}") } else { String::new() },
                    t,
                    ty,
                ));
            }
            for (k, s) in steps.into_iter().enumerate() {
                let pick = |i: usize| vals[i % vals.len()];
                let ty = |g: &Graph, v: Value| g.value_type(v).clone();
                let name = format!("n{k}");
                match s {
                    Step::Unary(a, kind) => {
                        let v = pick(a);
                        let op = [
                            Op::Relu,
                            Op::Sigmoid,
                            Op::Identity,
                            Op::Softmax(AxisAttrs { axis: -1 }),
                            Op::Gemm(GemmAttrs { alpha: 0.5, ..Default::default() }),
                            Op::MaxPool(PoolAttrs {
                                kernel_shape: vec![2, 2],
                                ceil_mode: true,
                                ..Default::default()
                            }),
                        ][kind as usize]
                            .clone();
                        let t = ty(&g, v);
                        vals.push(g.add_op(op, name, &[v], t).unwrap());
                    }
                    Step::Binary(a, b) => {
                        let (x, y) = (pick(a), pick(b));
                        let t = ty(&g, x);
                        vals.push(g.add_op(Op::Add, name, &[x, y], t).unwrap());
                    }
                    Step::Conv(a, pads, group) => {
                        let v = pick(a);
                        let t = ty(&g, v);
                        let op = Op::Conv(ConvAttrs { pads, group, ..Default::default() });
                        vals.push(g.add_op(op, name, &[v, v], t).unwrap());
                    }
                    Step::Split(a, n) => {
                        let v = pick(a);
                        let t = ty(&g, v);
                        let id = g
                            .add_node(
                                Op::Split(SplitAttrs { axis: 0 }),
                                name,
                                &[Some(v), None],
                                vec![t; n],
                            )
                            .unwrap();
                        vals.extend(g.results(id));
                    }
                    Step::Custom(a, i, s) => {
                        let v = pick(a);
                        let t = ty(&g, v);
                        let mut attrs = BTreeMap::new();
                        attrs.insert("k".to_string(), serde_json::json!(i));
                        attrs.insert("s".to_string(), serde_json::json!(s));
                        attrs.insert(
                            "l".to_string(),
                            serde_json::json!([1.5, -2, "x", [true, null]]),
                        );
                        let op = Op::Custom(CustomOp {
                            domain: "com.example".into(),
                            name: "My Op".into(),
                            attrs,
                        });
                        vals.push(g.add_op(op, s, &[v], t).unwrap());
                    }
                    Step::Clip(a, lo, hi) => {
                        let v = pick(a);
                        let t = ty(&g, v);
                        let ops = [Some(v), lo.then_some(v), hi.then_some(v)];
                        let id = g.add_node(Op::Clip, name, &ops, vec![t]).unwrap();
                        vals.push(g.result(id));
                    }
                }
            }
            for (i, v) in vals.iter().rev().take(2).enumerate() {
                g.add_output(format!("out{i}"), *v).unwrap();
            }
            g
        },
    )
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn print_parse_print_round_trips(g in arb_graph(), limit in prop_oneof![Just(0usize), Just(4), Just(usize::MAX)]) {
        let opts = PrintOptions { inline_limit: limit };
        let p = print_with(&g, &opts, &BTreeMap::new());
        let weights: HashMap<_, _> = p.external.iter().cloned().collect();
        let back = parse_with(&p.text, &weights).map_err(|e| TestCaseError::fail(format!("{e}\n{}", p.text)))?;
        let p2 = print_with(&back, &opts, &BTreeMap::new());
        prop_assert_eq!(&p2.text, &p.text);
        // The weights come back identical too (NaN-aware via bytes).
        for ((k1, t1), (k2, t2)) in p.external.iter().zip(p2.external.iter()) {
            prop_assert_eq!(k1, k2);
            prop_assert_eq!(t1.to_le_bytes(), t2.to_le_bytes());
        }
    }
}

#[test]
fn save_and_load_with_safetensors() {
    let dir = std::env::temp_dir().join(format!("qcc-ir-weights-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("m.qir");
    let g = mlp();
    let printed = qcc_ir::weights::save_qir(&g, &path, &PrintOptions { inline_limit: 4 }).unwrap();
    assert_eq!(printed.external.len(), 1, "the 12-element weight goes to the safetensors file");
    assert!(path.with_extension("safetensors").exists());
    let back = qcc_ir::weights::load_qir(&path).unwrap();
    assert_eq!(qcc_ir::print::print_full(&back), qcc_ir::print::print_full(&g));
    std::fs::remove_dir_all(&dir).unwrap();
}

/// Low-bit element types and `saturate` print and parse back to the same text; the default
/// `saturate = true` is not printed, and literals of float8/float4 constants are exact values.
#[test]
fn low_bit_types_and_saturate_round_trip() {
    let text = r#"graph @lb phase=imported {
  input %x: f32[4]
  const @c0: f8e4m3fn[4] = [448.0, -0.015625, nan, -0.0]
  const @c1: f8e5m2[2] = [-inf, 57344.0]
  const @c2: f4e2m1[3] = [6.0, -0.5, 1.5]
  const @c3: u16[2] = [0, 65535]
  const @c4: i2[2] = [-2, 1]
  %0 = Cast(%x) {saturate=false, to="f8e5m2"} : f8e5m2[4]
  %1 = Cast(%x) {to="f8e4m3fn"} : f8e4m3fn[4]
  %2 = QuantizeLinear(%x, @c0) {dtype="f8e4m3fn", saturate=false} : f8e4m3fn[4]
  output "a" = %0
  output "b" = %1
  output "c" = %2
}
"#;
    let g = parse(text).unwrap_or_else(|e| panic!("{e}"));
    let p = print_with(&g, &PrintOptions::default(), &BTreeMap::new());
    assert_eq!(p.text, text);
    // Values out of a type's range are not silently accepted for integers.
    let bad = text.replace("[-2, 1]", "[-3, 1]");
    assert!(parse(&bad).unwrap_err().message.contains("out of range"));
}
