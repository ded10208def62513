//! The text form of a lowered model (for snapshots and `--print-ir`): buffers with their arena
//! slots, then the steps.

use crate::model::*;
use std::fmt::Write;

fn shape(s: &[usize]) -> String {
    let v: Vec<String> = s.iter().map(|d| d.to_string()).collect();
    format!("[{}]", v.join(","))
}

fn buf(m: &LoweredModel, b: BufId) -> String {
    let x = &m.buffers[b];
    let place = match &x.storage {
        Storage::Arena { offset, view_of: None } => format!("@{offset}+{}", x.bytes()),
        Storage::Arena { offset, view_of: Some(r) } => {
            format!("@{offset}+{} (view of %{r})", x.bytes())
        }
        Storage::Const(_) => "const".into(),
    };
    format!("%{b}: {}{} {place}", x.dtype, shape(&x.shape))
}

fn kernel(k: &Kernel) -> String {
    match k {
        Kernel::QGemm(q) => {
            let mut s = format!(
                "qgemm m={} n={} k={} a={}<zp={}> bias={}",
                q.m,
                q.n,
                q.k,
                if q.a_signed { "i8" } else { "u8" },
                q.a_zero_point,
                q.bias.is_some()
            );
            match &q.requant {
                None => s.push_str(" -> i32"),
                Some(r) => {
                    let _ = write!(
                        s,
                        " -> {}<zp={}> clamp=[{},{}] mult={}",
                        if r.signed { "i8" } else { "u8" },
                        r.zero_point,
                        r.lo,
                        r.hi,
                        if r.multipliers.len() == 1 { "tensor" } else { "channel" }
                    );
                }
            }
            s
        }
        Kernel::Quantize { scale, zero_point, signed } => {
            format!("quantize {}<{scale:?}:{zero_point}>", if *signed { "i8" } else { "u8" })
        }
        Kernel::Dequantize { scale, zero_point, signed } => {
            format!("dequantize {}<{scale:?}:{zero_point}>", if *signed { "i8" } else { "u8" })
        }
        Kernel::GemmF32 { m, n, k, bias, clamp, .. } => {
            let clamp = clamp.map_or(String::new(), |(lo, hi)| format!(" clamp=[{lo:?},{hi:?}]"));
            format!("gemm_f32 m={m} n={n} k={k} bias={}{clamp}", bias.is_some())
        }
        Kernel::Binary { op, shape: s, a_strides, b_strides } => {
            format!("{op:?} {} a_strides={a_strides:?} b_strides={b_strides:?}", shape(s))
                .to_lowercase()
        }
        Kernel::Unary(u) => format!("{u:?}").to_lowercase(),
        Kernel::DequantizeAxis(d) => format!(
            "{} [{}, {}, {}] scales={:?} zero_points={:?}",
            d.dtype, d.outer, d.axis_len, d.inner, d.scales, d.zero_points
        ),
        Kernel::BatchMatMul(_)
        | Kernel::Copy(_)
        | Kernel::Gather(_)
        | Kernel::Cast { .. }
        | Kernel::LayerNorm { .. }
        | Kernel::Softmax { .. }
        | Kernel::Math { .. }
        | Kernel::Reduce { .. } => crate::spec::describe(k),
        Kernel::Compare(_)
        | Kernel::Where(_)
        | Kernel::ArgReduce(_)
        | Kernel::LogSoftmax { .. }
        | Kernel::Resample(_) => crate::fops::describe(k),
        other => crate::cnn::describe(other),
    }
}

/// Prints the model.
pub fn print(m: &LoweredModel) -> String {
    let mut s = String::new();
    let _ = writeln!(s, "arena {} bytes", m.arena_size);
    for (name, b) in &m.inputs {
        let _ = writeln!(s, "input {name:?} {}", buf(m, *b));
    }
    for (i, st) in m.steps.iter().enumerate() {
        let ins: Vec<String> = st.inputs.iter().map(|&b| buf(m, b)).collect();
        let _ = writeln!(s, "step {i} {:?} [{}]: {}", st.node, st.ops, kernel(&st.kernel));
        let _ = writeln!(s, "    in  {}", ins.join(", "));
        let _ = writeln!(s, "    out {}", buf(m, st.output));
    }
    for (name, b) in &m.outputs {
        let _ = writeln!(s, "output {name:?} {}", buf(m, *b));
    }
    s
}
