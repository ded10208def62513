//! Elementwise ops: arithmetic, comparisons, logic, activations, `Clip` (opset < 11 bounds as
//! attributes → constant operands), `Cast`, `Identity`/`Dropout` (inference: identity),
//! `Sum`/`Mean` (chains of `Add`, then a division).

use super::{onnx, NodeCx, OpEntry, Outs};
use qcc_ir::ops::{AlphaAttrs, CastAttrs, GeluApprox, GeluAttrs, HardSigmoidAttrs};
use qcc_ir::{DType, Op, Tensor};

pub(crate) const OPS: &[OpEntry] = &[
    onnx("Add", 7, binary),
    onnx("Sub", 7, binary),
    onnx("Mul", 7, binary),
    onnx("Div", 7, binary),
    onnx("Pow", 7, binary),
    onnx("Mod", 10, binary),
    onnx("Equal", 7, binary),
    onnx("Less", 7, binary),
    onnx("LessOrEqual", 12, binary),
    onnx("Greater", 7, binary),
    onnx("GreaterOrEqual", 12, binary),
    onnx("And", 7, binary),
    onnx("Or", 7, binary),
    onnx("Xor", 7, binary),
    onnx("Max", 8, variadic),
    onnx("Min", 8, variadic),
    onnx("Sum", 8, sum_mean),
    onnx("Mean", 8, sum_mean),
    onnx("Where", 9, where_),
    onnx("Relu", 6, unary),
    onnx("Sigmoid", 6, unary),
    onnx("HardSwish", 14, unary),
    onnx("Tanh", 6, unary),
    onnx("Erf", 9, unary),
    onnx("Exp", 6, unary),
    onnx("Log", 6, unary),
    onnx("Sqrt", 6, unary),
    onnx("Reciprocal", 6, unary),
    onnx("Neg", 6, unary),
    onnx("Abs", 6, unary),
    onnx("Floor", 6, unary),
    onnx("Ceil", 6, unary),
    onnx("Round", 11, unary),
    onnx("Sign", 9, unary),
    onnx("Not", 1, unary),
    onnx("Softplus", 1, unary),
    onnx("Sin", 7, unary),
    onnx("Cos", 7, unary),
    onnx("LeakyRelu", 6, unary),
    onnx("Elu", 6, unary),
    onnx("HardSigmoid", 6, unary),
    onnx("Gelu", 20, unary),
    onnx("Identity", 1, identity),
    onnx("Dropout", 7, dropout),
    onnx("Clip", 6, clip),
    onnx("Cast", 6, cast),
];

fn binary(cx: &mut NodeCx<'_>) -> Outs {
    let a = cx.req(0)?;
    let b = cx.req(1)?;
    let op = match cx.op_type.as_str() {
        "Add" => Op::Add,
        "Sub" => Op::Sub,
        "Mul" => Op::Mul,
        "Div" => Op::Div,
        "Pow" => Op::Pow,
        "Mod" => {
            let fmod = cx.ai_or("fmod", 0) != 0;
            let float = cx.dtype(a).is_float();
            if float && !fmod {
                return Err(cx.err("Mod on floats requires fmod=1"));
            }
            if !float && fmod {
                return Err(cx.unsupported("Mod with fmod=1 on integers (C remainder)"));
            }
            Op::Mod
        }
        "Equal" => Op::Equal,
        "Less" => Op::Less,
        "LessOrEqual" => Op::LessOrEqual,
        "Greater" => Op::Greater,
        "GreaterOrEqual" => Op::GreaterOrEqual,
        "And" => Op::And,
        "Or" => Op::Or,
        "Xor" => Op::Xor,
        other => return Err(cx.err(format!("not a binary op: {other}"))),
    };
    if cx.opset < 7 && cx.has("broadcast") {
        return Err(cx.unsupported("legacy `broadcast` attribute"));
    }
    let dtype = match op {
        Op::Equal | Op::Less | Op::LessOrEqual | Op::Greater | Op::GreaterOrEqual => DType::Bool,
        Op::Pow => cx.dtype(a),
        _ => cx.dtype(a),
    };
    if matches!(op, Op::Pow) && cx.dtype(a) != cx.dtype(b) {
        // Pow allows a different exponent type: cast it to the base's type.
        let to = cx.dtype(a);
        let bc = cx.helper("exp_cast", Op::Cast(CastAttrs::new(to)), &[Some(b)], to)?;
        return NodeCx::one(cx.add1(op, &[Some(a), Some(bc)], dtype)?);
    }
    NodeCx::one(cx.add1(op, &[Some(a), Some(b)], dtype)?)
}

fn variadic(cx: &mut NodeCx<'_>) -> Outs {
    let ins = cx.all_inputs()?;
    if ins.iter().any(Option::is_none) || ins.is_empty() {
        return Err(cx.err("every input is required"));
    }
    let op = if cx.op_type == "Max" { Op::Max } else { Op::Min };
    let dt = cx.dtype(ins[0].expect("checked"));
    NodeCx::one(cx.add1(op, &ins, dt)?)
}

fn sum_mean(cx: &mut NodeCx<'_>) -> Outs {
    let ins = cx.all_inputs()?;
    if ins.iter().any(Option::is_none) || ins.is_empty() {
        return Err(cx.err("every input is required"));
    }
    let ins: Vec<_> = ins.into_iter().flatten().collect();
    let dt = cx.dtype(ins[0]);
    let mean = cx.op_type == "Mean";
    if ins.len() == 1 && !mean {
        return NodeCx::one(cx.add1(Op::Identity, &[Some(ins[0])], dt)?);
    }
    let mut acc = ins[0];
    let last = ins.len() - 1;
    for (k, &x) in ins.iter().enumerate().skip(1) {
        if k == last && !mean {
            acc = cx.add1(Op::Add, &[Some(acc), Some(x)], dt)?;
        } else {
            acc = cx.helper(&format!("sum{k}"), Op::Add, &[Some(acc), Some(x)], dt)?;
        }
    }
    if mean {
        let n = Tensor::scalar_f32(ins.len() as f32);
        let n = match dt {
            DType::F32 => n,
            _ => return Err(cx.unsupported(format!("Mean of {dt}"))),
        };
        let c = cx.constant("count", n);
        acc = cx.add1(Op::Div, &[Some(acc), Some(c)], dt)?;
    }
    NodeCx::one(acc)
}

fn where_(cx: &mut NodeCx<'_>) -> Outs {
    let c = cx.req(0)?;
    let x = cx.req(1)?;
    let y = cx.req(2)?;
    let dt = cx.dtype(x);
    NodeCx::one(cx.add1(Op::Where, &[Some(c), Some(x), Some(y)], dt)?)
}

fn unary(cx: &mut NodeCx<'_>) -> Outs {
    let x = cx.req(0)?;
    let op = match cx.op_type.as_str() {
        "Relu" => Op::Relu,
        "Sigmoid" => Op::Sigmoid,
        "HardSwish" => Op::HardSwish,
        "Tanh" => Op::Tanh,
        "Erf" => Op::Erf,
        "Exp" => Op::Exp,
        "Log" => Op::Log,
        "Sqrt" => Op::Sqrt,
        "Reciprocal" => Op::Reciprocal,
        "Neg" => Op::Neg,
        "Abs" => Op::Abs,
        "Floor" => Op::Floor,
        "Ceil" => Op::Ceil,
        "Round" => Op::Round,
        "Sign" => Op::Sign,
        "Not" => Op::Not,
        "Softplus" => Op::Softplus,
        "Sin" => Op::Sin,
        "Cos" => Op::Cos,
        "LeakyRelu" => Op::LeakyRelu(AlphaAttrs { alpha: cx.af_or("alpha", 0.01) }),
        "Elu" => Op::Elu(AlphaAttrs { alpha: cx.af_or("alpha", 1.0) }),
        "HardSigmoid" => Op::HardSigmoid(HardSigmoidAttrs {
            alpha: cx.af_or("alpha", 0.2),
            beta: cx.af_or("beta", 0.5),
        }),
        "Gelu" => Op::Gelu(GeluAttrs {
            approximate: match cx.astr("approximate").as_deref() {
                None | Some("none") => GeluApprox::None,
                Some("tanh") => GeluApprox::Tanh,
                Some(o) => return Err(cx.err(format!("unknown approximate `{o}`"))),
            },
        }),
        other => return Err(cx.err(format!("not a unary op: {other}"))),
    };
    let dt = cx.dtype(x);
    NodeCx::one(cx.add1(op, &[Some(x)], dt)?)
}

fn identity(cx: &mut NodeCx<'_>) -> Outs {
    let x = cx.req(0)?;
    let dt = cx.dtype(x);
    NodeCx::one(cx.add1(Op::Identity, &[Some(x)], dt)?)
}

fn dropout(cx: &mut NodeCx<'_>) -> Outs {
    // Inference semantics: identity. A training_mode input that is constant false is fine;
    // a true or non-constant one is not (random masks are not supported).
    if let Some(t) = cx.input(2)? {
        match cx.const_of(t).and_then(|t| t.to_i64_vec()) {
            Some(v) if v.iter().all(|&b| b == 0) => {}
            _ => return Err(cx.unsupported("Dropout in training mode")),
        }
    }
    let x = cx.req(0)?;
    let dt = cx.dtype(x);
    let y = cx.add1(Op::Identity, &[Some(x)], dt)?;
    let mut outs = vec![Some(y)];
    if cx.node.output.len() > 1 && !cx.node.output[1].is_empty() {
        // The mask is all true in inference mode: Shape(x) → ConstantOfShape(true).
        let s = cx.helper("shape", Op::Shape(Default::default()), &[Some(x)], DType::I64)?;
        let m = cx.helper(
            "mask",
            Op::ConstantOfShape(qcc_ir::ops::ConstantOfShapeAttrs {
                dtype: DType::Bool,
                value: 1.0,
            }),
            &[Some(s)],
            DType::Bool,
        )?;
        outs.push(Some(m));
    }
    Ok(outs)
}

fn clip(cx: &mut NodeCx<'_>) -> Outs {
    let x = cx.req(0)?;
    let dt = cx.dtype(x);
    let (lo, hi) = if cx.opset < 11 {
        let lo = cx.af("min").map(|m| cx.constant("min", Tensor::scalar_f32(m)));
        let hi = cx.af("max").map(|m| cx.constant("max", Tensor::scalar_f32(m)));
        (lo, hi)
    } else {
        (cx.input(1)?, cx.input(2)?)
    };
    NodeCx::one(cx.add1(Op::Clip, &[Some(x), lo, hi], dt)?)
}

fn cast(cx: &mut NodeCx<'_>) -> Outs {
    let x = cx.req(0)?;
    let code = cx.ai("to").ok_or_else(|| cx.err("missing `to`"))?;
    let to = crate::tensor::dtype_from_onnx(code as i32, &cx.name)?;
    check_cast(cx, to)?;
    let saturate = cx.ai_or("saturate", 1) != 0;
    NodeCx::one(cx.add1(Op::Cast(CastAttrs { to, saturate }), &[Some(x)], to)?)
}

/// Cast to 4- and 2-bit integers wraps around from opset 25 on; qcc's `Cast` saturates.
pub(crate) fn check_cast(cx: &NodeCx<'_>, to: DType) -> Result<(), crate::error::OnnxError> {
    if cx.opset >= 25 && to.is_subbyte_int() {
        return Err(cx.unsupported(format!(
            "{} to {to} at opset {} wraps around; qcc's Cast saturates",
            cx.op_type, cx.opset
        )));
    }
    Ok(())
}
