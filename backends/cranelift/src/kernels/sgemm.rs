//! f32 GEMM `C[m×n] = A[m×k]·B + bias` with B packed at compile time in panels of 8 columns
//! (`[N/8][K][8]`, zero padded) and a 4×8 register tile (8 f32x4 accumulators; a single-row loop
//! for the M tail, a compile-time partial panel for the N tail). Multiply then add (no FMA).
//! A fused Relu/Clip clamps the accumulators before they are stored.

use super::math::{fconst, vfl};
use super::{build_kernel, counted_loop};
use crate::gemm::pack::AlignedBytes;
use cranelift_codegen::ir::condcodes::{FloatCC, IntCC};
use cranelift_codegen::ir::types::{F32, F32X4, I64};
use cranelift_codegen::ir::{Function, InstBuilder, MemFlagsData, Value};
use cranelift_codegen::isa::TargetIsa;
use cranelift_frontend::{FunctionBuilder, Variable};

const NR: usize = 8;
const MR: usize = 4;

fn fl() -> MemFlagsData {
    MemFlagsData::new().with_notrap()
}

/// Packs row-major `b` (k×n) into 8-column panels.
pub fn pack(b: &[f32], k: usize, n: usize) -> AlignedBytes {
    let panels = n.div_ceil(NR);
    let mut out = AlignedBytes::zeroed(panels * k * NR * 4);
    let o = out.as_mut_slice();
    for kk in 0..k {
        for nn in 0..n {
            let idx = ((nn / NR) * k * NR + kk * NR + nn % NR) * 4;
            o[idx..idx + 4].copy_from_slice(&b[kk * n + nn].to_le_bytes());
        }
    }
    out
}

/// The bias padded to whole panels.
pub fn pad_bias(bias: Option<&[f32]>, n: usize) -> AlignedBytes {
    let np = n.div_ceil(NR) * NR;
    AlignedBytes::from_words(
        (0..np).map(|j| if j < n { bias.map_or(0.0, |b| b[j]).to_bits() } else { 0 }),
        np,
    )
}

/// The kernel for shape m×n×k (rows `m0..m1` at run time), with an optional fused clamp
/// (`Kernel::GemmF32::clamp`).
pub fn build(
    isa: &dyn TargetIsa,
    index: u32,
    n: usize,
    k: usize,
    clamp: Option<(f32, f32)>,
) -> Function {
    build_kernel(isa, index, |b, p| {
        let (pa, pb, pbias, pc, m0, m1) = (p[0], p[1], p[2], p[4], p[5], p[6]);
        let mv = b.declare_var(I64);
        b.def_var(mv, m0);
        for rows in [MR, 1] {
            let hdr = b.create_block();
            let body = b.create_block();
            let after = b.create_block();
            b.ins().jump(hdr, &[]);
            b.switch_to_block(hdr);
            let m = b.use_var(mv);
            let end = b.ins().iadd_imm_s(m, rows as i64);
            let ok = b.ins().icmp(IntCC::SignedLessThanOrEqual, end, m1);
            b.ins().brif(ok, body, &[], after, &[]);
            b.switch_to_block(body);
            let m = b.use_var(mv);
            let a_row = b.ins().imul_imm_s(m, (4 * k) as i64);
            let a_row = b.ins().iadd(pa, a_row);
            let c_row = b.ins().imul_imm_s(m, (4 * n) as i64);
            let c_row = b.ins().iadd(pc, c_row);
            let full = n / NR;
            counted_loop(b, full, &mut |b, pi| {
                let off = b.ins().imul_imm_s(pi, (k * NR * 4) as i64);
                let bp = b.ins().iadd(pb, off);
                let n0 = b.ins().imul_imm_s(pi, (NR * 4) as i64);
                tile(b, a_row, bp, pbias, c_row, n0, (rows, NR), n, k, clamp);
            });
            if !n.is_multiple_of(NR) {
                let bp = b.ins().iadd_imm_s(pb, (full * k * NR * 4) as i64);
                let n0 = b.ins().iconst(I64, (full * NR * 4) as i64);
                tile(b, a_row, bp, pbias, c_row, n0, (rows, n % NR), n, k, clamp);
            }
            let m = b.use_var(mv);
            let m = b.ins().iadd_imm_s(m, rows as i64);
            b.def_var(mv, m);
            b.ins().jump(hdr, &[]);
            b.seal_block(body);
            b.seal_block(hdr);
            b.switch_to_block(after);
            b.seal_block(after);
        }
    })
}

#[allow(clippy::too_many_arguments)]
fn tile(
    b: &mut FunctionBuilder<'_>,
    a_row: Value,
    b_panel: Value,
    bias: Value,
    c_row: Value,
    n0_bytes: Value,
    (rows, cols): (usize, usize),
    n: usize,
    k: usize,
    clamp: Option<(f32, f32)>,
) {
    let bias_p = b.ins().iadd(bias, n0_bytes);
    let accs: Vec<Variable> = (0..rows * 2)
        .map(|j| {
            let v = b.declare_var(F32X4);
            let init = b.ins().load(F32X4, fl(), bias_p, 16 * (j % 2) as i32);
            b.def_var(v, init);
            v
        })
        .collect();
    counted_loop(b, k, &mut |b, kk| {
        let boff = b.ins().imul_imm_s(kk, (NR * 4) as i64);
        let bp = b.ins().iadd(b_panel, boff);
        let w0 = b.ins().load(F32X4, fl(), bp, 0);
        let w1 = b.ins().load(F32X4, fl(), bp, 16);
        let aoff = b.ins().imul_imm_s(kk, 4);
        let ap = b.ins().iadd(a_row, aoff);
        for r in 0..rows {
            let x = b.ins().load(F32, fl(), ap, (r * k * 4) as i32);
            let x = b.ins().splat(F32X4, x);
            for (j, w) in [w0, w1].into_iter().enumerate() {
                let var = accs[r * 2 + j];
                let acc = b.use_var(var);
                let prod = b.ins().fmul(x, w);
                let acc = b.ins().fadd(acc, prod);
                b.def_var(var, acc);
            }
        }
    });
    let cp = b.ins().iadd(c_row, n0_bytes);
    for r in 0..rows {
        for j in 0..2 {
            let mut v = b.use_var(accs[r * 2 + j]);
            if let Some((lo, hi)) = clamp {
                v = clamp_x4(b, v, lo, hi);
            }
            let lanes = cols.saturating_sub(4 * j).min(4);
            let off = (r * n * 4 + 16 * j) as i32;
            if lanes == 4 {
                b.ins().store(fl(), v, cp, off);
            } else {
                for l in 0..lanes {
                    let x = b.ins().extractlane(v, l as u8);
                    b.ins().store(fl(), x, cp, off + 4 * l as i32);
                }
            }
        }
    }
    let _ = F32;
}

/// `x < lo → lo`, then `x > hi → hi`, per lane (the unary Clip kernel's compare-and-select, so NaN
/// and −0 pass unchanged).
fn clamp_x4(b: &mut FunctionBuilder<'_>, v: Value, lo: f32, hi: f32) -> Value {
    let mut v = v;
    for (c, cc) in [(lo, FloatCC::LessThan), (hi, FloatCC::GreaterThan)] {
        let k = fconst(b, F32X4, c);
        let m = b.ins().fcmp(cc, v, k);
        let m = b.ins().bitcast(F32X4, vfl(), m);
        v = b.ins().bitselect(m, k, v);
    }
    v
}
