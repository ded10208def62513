//! Property: inference never panics, whatever the operand types, constant values and attributes,
//! and a success gives as many results as the op's signature says.

use super::*;
use proptest::prelude::*;
use qcc_ir::ops::*;
use qcc_ir::signature::Results;
use qcc_ir::Quant;

fn dim() -> impl Strategy<Value = Dim> {
    prop_oneof![
        4 => (0usize..6).prop_map(Dim::Fixed),
        1 => Just(Dim::Sym("N".into())),
        1 => Just(Dim::Sym("?".into())),
    ]
}

fn shape() -> impl Strategy<Value = Shape> {
    prop_oneof![
        8 => proptest::collection::vec(dim(), 0..5).prop_map(|d| Shape(Some(d))),
        1 => Just(Shape::unknown()),
    ]
}

fn tensor_type() -> impl Strategy<Value = TensorType> {
    let dtype = prop_oneof![
        Just(DType::F32),
        Just(DType::I64),
        Just(DType::I8),
        Just(DType::U8),
        Just(DType::I32),
        Just(DType::Bool)
    ];
    (dtype, shape(), 0u8..3, -1i64..4).prop_map(|(d, s, q, axis)| {
        let t = TensorType::new(d, s);
        match q {
            1 if d.is_quantizable() => t.with_quant(Quant::tensor(0.5, 0)),
            2 if d.is_quantizable() => t.with_quant(Quant::Axis {
                axis: axis.max(0) as usize,
                scales: vec![0.5; 2],
                zero_points: vec![0; 2],
            }),
            _ => t,
        }
    })
}

fn small_vec() -> impl Strategy<Value = Vec<usize>> {
    proptest::collection::vec(0usize..4, 0..4)
}

fn conv_attrs() -> impl Strategy<Value = ConvAttrs> {
    (small_vec(), small_vec(), small_vec(), small_vec(), 0usize..3, 0u8..4).prop_map(
        |(k, s, p, d, group, ap)| ConvAttrs {
            kernel_shape: k,
            strides: s,
            pads: p,
            dilations: d,
            group,
            auto_pad: [AutoPad::NotSet, AutoPad::SameUpper, AutoPad::SameLower, AutoPad::Valid]
                [ap as usize],
        },
    )
}

fn pool_attrs() -> impl Strategy<Value = PoolAttrs> {
    (small_vec(), small_vec(), small_vec(), small_vec(), any::<bool>()).prop_map(
        |(k, s, p, d, ceil_mode)| PoolAttrs {
            kernel_shape: k,
            strides: s,
            pads: p,
            dilations: d,
            ceil_mode,
            ..Default::default()
        },
    )
}

fn op() -> impl Strategy<Value = Op> {
    let axis = -5i64..5;
    prop_oneof![
        conv_attrs().prop_map(Op::Conv),
        conv_attrs().prop_map(Op::QConv),
        conv_attrs()
            .prop_map(|c| Op::ConvTranspose(ConvTransposeAttrs { conv: c, ..Default::default() })),
        pool_attrs().prop_map(Op::MaxPool),
        pool_attrs().prop_map(Op::QAveragePool),
        (any::<bool>(), any::<bool>()).prop_map(|(a, b)| Op::Gemm(GemmAttrs {
            trans_a: a,
            trans_b: b,
            ..Default::default()
        })),
        Just(Op::MatMul),
        Just(Op::QMatMul),
        Just(Op::Add),
        Just(Op::Where),
        Just(Op::Max),
        Just(Op::QAdd),
        axis.clone().prop_map(|a| Op::Softmax(AxisAttrs { axis: a })),
        axis.clone().prop_map(|a| Op::Concat(AxisAttrs { axis: a })),
        axis.clone().prop_map(|a| Op::Flatten(AxisAttrs { axis: a })),
        axis.clone().prop_map(|a| Op::Gather(AxisAttrs { axis: a })),
        axis.clone().prop_map(|a| Op::Split(SplitAttrs { axis: a })),
        axis.clone().prop_map(|a| Op::ArgMax(ArgAttrs { axis: a, ..Default::default() })),
        axis.prop_map(|a| Op::LayerNormalization(LayerNormAttrs { axis: a, epsilon: 1e-5 })),
        any::<bool>()
            .prop_map(|k| Op::ReduceSum(ReduceAttrs { keepdims: k, noop_with_empty_axes: false })),
        any::<bool>().prop_map(|z| Op::Reshape(ReshapeAttrs { allowzero: z })),
        small_vec().prop_map(|p| Op::Transpose(TransposeAttrs { perm: p })),
        Just(Op::Slice),
        Just(Op::Squeeze),
        Just(Op::Unsqueeze),
        Just(Op::Expand),
        Just(Op::Tile),
        Just(Op::Pad(PadAttrs::default())),
        Just(Op::Resize(ResizeAttrs::default())),
        Just(Op::Range),
        Just(Op::ConstantOfShape(ConstantOfShapeAttrs { dtype: DType::F32, value: 0.0 })),
        (0usize..4).prop_map(|b| Op::DepthToSpace(BlockAttrs { blocksize: b, mode: "DCR".into() })),
        Just(Op::Quantize),
        Just(Op::Dequantize),
        Just(Op::Requantize),
        Just(Op::Lut),
        Just(Op::BatchNormalization(EpsAttrs::default())),
        Just(Op::Clip),
    ]
}

fn const_value() -> impl Strategy<Value = Option<Tensor>> {
    prop_oneof![
        1 => Just(None),
        2 => proptest::collection::vec(-12i64..12, 0..6).prop_map(|v| Some(ints(&v))),
        1 => proptest::collection::vec(-1.0f32..4.0, 0..5).prop_map(|v| Some(Tensor::f32(&[v.len()], v))),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 2000, ..ProptestConfig::default() })]
    #[test]
    fn inference_never_panics(
        op in op(),
        types in proptest::collection::vec(proptest::option::weighted(0.9, tensor_type()), 0..6),
        consts in proptest::collection::vec(const_value(), 6),
        declared in proptest::collection::vec(tensor_type(), 0..4),
    ) {
        let tys: Vec<Option<&TensorType>> = types.iter().map(Option::as_ref).collect();
        let cv: Vec<Option<&Tensor>> = consts.iter().take(types.len()).map(Option::as_ref).collect();
        if let Ok(r) = infer_node(&op, &tys, &cv, &declared) {
            match op.signature().results {
                Results::Fixed(n) => prop_assert_eq!(r.len(), n),
                Results::AtLeastOne => prop_assert!(!r.is_empty()),
            }
        }
    }
}

proptest! {
    /// Broadcasting is commutative, also with symbols and unknowns, and every known result
    /// extent is the extent of one of the operands.
    #[test]
    fn broadcasting_is_commutative(a in shape(), b in shape()) {
        use qcc_ir::infer::dims::broadcast;
        let ab = broadcast(&[&a, &b]);
        let ba = broadcast(&[&b, &a]);
        prop_assert_eq!(ab.is_ok(), ba.is_ok());
        if let (Ok(ab), Ok(ba)) = (ab, ba) {
            prop_assert_eq!(&ab, &ba);
            if let (Some(r), Some(ad), Some(bd)) = (ab.dims(), a.dims(), b.dims()) {
                prop_assert_eq!(r.len(), ad.len().max(bd.len()));
                for (i, d) in r.iter().rev().enumerate() {
                    let from_a = ad.iter().rev().nth(i);
                    let from_b = bd.iter().rev().nth(i);
                    let known = matches!(d, Dim::Fixed(_)) || d == &Dim::Sym("N".into());
                    if known {
                        prop_assert!(from_a == Some(d) || from_b == Some(d), "{d} from {a} and {b}");
                    }
                }
            }
        }
    }
}
