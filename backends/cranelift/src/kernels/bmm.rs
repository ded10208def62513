//! Batched matmul with runtime operands (attention's `Q·Kᵀ` and `P·V`, and f32 `MatMul` whose
//! B is not a 2-d constant): `C[b] = A[b]·B[b]` over the broadcast batch (a loop nest with
//! per-operand matrix strides), each matrix product register-tiled as 4 rows × 8 columns
//! (two 4-lane vectors), with a single-row loop for the row tail and 4-lane / scalar column
//! tails, so nothing is read or written outside the operands.
//!
//! * f32: products accumulate in f32x4 (multiply then add, no FMA), k in order.
//! * Integer (u8/i8 × u8/i8): each operand element is widened to i32 and its zero point
//!   subtracted, the products accumulate exactly in i32x4 (`Σ (a − za)(b − zb)`), then the
//!   bias and the requantization of `qcc_ir::qmath::requantize` (f32 multiply, round half to
//!   even, clamp, zero point), or the raw i32 accumulator.
//!
//! Parameters: `in0` = A, `in1` = B, `p2` = i32 bias (padded to whole 8-column blocks),
//! `p3` = f32 multipliers (padded likewise), `out` = C.

use super::math::{fl, vfl};
use super::movement::nest;
use super::{build_kernel, counted_loop};
use crate::gemm::pack::AlignedBytes;
use cranelift_codegen::ir::condcodes::IntCC;
use cranelift_codegen::ir::types::{F32, F32X4, I32, I32X4, I64, I8, I8X16};
use cranelift_codegen::ir::{Function, InstBuilder, Type, Value};
use cranelift_codegen::isa::TargetIsa;
use cranelift_frontend::{FunctionBuilder, Variable};
use qcc_lowering::{BatchMatMul, MmElem};

const MR: usize = 4;
const NR: usize = 8;

/// A column block: 8 lanes (two vectors), 4 lanes (one vector) or 1 (scalar).
#[derive(Clone, Copy, PartialEq)]
enum Cols {
    V8,
    V4,
    S1,
}

impl Cols {
    fn nvec(self) -> usize {
        if self == Cols::V8 {
            2
        } else {
            1
        }
    }
}

struct Gen<'s> {
    s: &'s BatchMatMul,
    int: bool,
    /// (a signed, b signed, za, zb) for integers.
    q: (bool, bool, i32, i32),
    ea: i64,
    eb: i64,
    ec: i64,
}

/// The padded bias and multipliers of an integer matmul (`p2`, `p3`).
pub fn consts(s: &BatchMatMul) -> Vec<AlignedBytes> {
    let np = s.n.div_ceil(NR) * NR;
    let bias = AlignedBytes::from_words(
        (0..np).map(|j| s.bias.as_ref().map_or(0, |b| if j < s.n { b[j] as u32 } else { 0 })),
        np,
    );
    let mult = AlignedBytes::from_words(
        (0..np).map(|j| {
            s.requant.as_ref().map_or(0, |r| {
                let m = if r.multipliers.len() == 1 {
                    r.multipliers[0]
                } else {
                    r.multipliers[j.min(s.n - 1)]
                };
                m.to_bits()
            })
        }),
        np,
    );
    vec![bias, mult]
}

/// Builds the kernel.
pub fn build(isa: &dyn TargetIsa, index: u32, s: &BatchMatMul) -> Function {
    let (int, q) = match &s.elem {
        MmElem::F32 => (false, (false, false, 0, 0)),
        MmElem::Int { a_signed, b_signed, a_zero_point, b_zero_point } => {
            (true, (*a_signed, *b_signed, *a_zero_point, *b_zero_point))
        }
    };
    let g = Gen {
        s,
        int,
        q,
        ea: if int { 1 } else { 4 },
        eb: if int { 1 } else { 4 },
        ec: if int && s.requant.is_some() { 1 } else { 4 },
    };
    build_kernel(isa, index, |b, p| {
        let (m, n, k) = (s.m as i64, s.n as i64, s.k as i64);
        let sa: Vec<i64> = s.a_strides.iter().map(|&x| x as i64 * m * k * g.ea).collect();
        let sb: Vec<i64> = s.b_strides.iter().map(|&x| x as i64 * k * n * g.eb).collect();
        let mut sc = vec![m * n * g.ec; s.batch.len()];
        for d in (0..s.batch.len().saturating_sub(1)).rev() {
            sc[d] = sc[d + 1] * s.batch[d + 1] as i64;
        }
        let (pa, pb, pbias, pmult, pc) = (p[0], p[1], p[2], p[3], p[4]);
        nest(b, &s.batch, &[sa, sb, sc], vec![pa, pb, pc], &mut |b, q| {
            g.matrix(b, q[0], q[1], pbias, pmult, q[2]);
        });
    })
}

impl Gen<'_> {
    fn vty(&self) -> Type {
        if self.int {
            I32X4
        } else {
            F32X4
        }
    }

    fn sty(&self) -> Type {
        if self.int {
            I32
        } else {
            F32
        }
    }

    /// One m×n product.
    fn matrix(
        &self,
        b: &mut FunctionBuilder<'_>,
        a: Value,
        bm: Value,
        bias: Value,
        mult: Value,
        c: Value,
    ) {
        let s = self.s;
        if s.m == 0 || s.n == 0 {
            return;
        }
        let mv = b.declare_var(I64);
        let zero = b.ins().iconst(I64, 0);
        b.def_var(mv, zero);
        for rows in [MR, 1] {
            let hdr = b.create_block();
            let body = b.create_block();
            let after = b.create_block();
            b.ins().jump(hdr, &[]);
            b.switch_to_block(hdr);
            let m = b.use_var(mv);
            let end = b.ins().iadd_imm_s(m, rows as i64);
            let ok = b.ins().icmp_imm_s(IntCC::SignedLessThanOrEqual, end, s.m as i64);
            b.ins().brif(ok, body, &[], after, &[]);
            b.switch_to_block(body);
            let m = b.use_var(mv);
            let ao = b.ins().imul_imm_s(m, s.k as i64 * self.ea);
            let a_row = b.ins().iadd(a, ao);
            let co = b.ins().imul_imm_s(m, s.n as i64 * self.ec);
            let c_row = b.ins().iadd(c, co);
            counted_loop(b, s.n / NR, &mut |b, j| {
                let col = b.ins().imul_imm_s(j, NR as i64);
                self.tile(b, a_row, bm, bias, mult, c_row, col, rows, Cols::V8);
            });
            let mut col = (s.n / NR) * NR;
            if s.n - col >= 4 {
                let cv = b.ins().iconst(I64, col as i64);
                self.tile(b, a_row, bm, bias, mult, c_row, cv, rows, Cols::V4);
                col += 4;
            }
            while col < s.n {
                let cv = b.ins().iconst(I64, col as i64);
                self.tile(b, a_row, bm, bias, mult, c_row, cv, rows, Cols::S1);
                col += 1;
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
    }

    /// Loads B's row segment at `p` as i32/f32 lanes, zero point subtracted.
    fn load_b(&self, b: &mut FunctionBuilder<'_>, p: Value, cols: Cols) -> Vec<Value> {
        if !self.int {
            return match cols {
                Cols::V8 => vec![b.ins().load(F32X4, fl(), p, 0), b.ins().load(F32X4, fl(), p, 16)],
                Cols::V4 => vec![b.ins().load(F32X4, fl(), p, 0)],
                Cols::S1 => vec![b.ins().load(F32, fl(), p, 0)],
            };
        }
        let (_, bs, _, zb) = self.q;
        let vs = match cols {
            Cols::V8 => {
                let h =
                    if bs { b.ins().sload8x8(fl(), p, 0) } else { b.ins().uload8x8(fl(), p, 0) };
                vec![b.ins().swiden_low(h), b.ins().swiden_high(h)]
            }
            Cols::V4 => {
                let w = b.ins().load(I32, fl(), p, 0);
                let v = b.ins().scalar_to_vector(I32X4, w);
                let v = b.ins().bitcast(I8X16, vfl(), v);
                let h = if bs { b.ins().swiden_low(v) } else { b.ins().uwiden_low(v) };
                vec![if bs { b.ins().swiden_low(h) } else { b.ins().uwiden_low(h) }]
            }
            Cols::S1 => {
                let x = b.ins().load(I8, fl(), p, 0);
                vec![if bs { b.ins().sextend(I32, x) } else { b.ins().uextend(I32, x) }]
            }
        };
        if zb == 0 {
            return vs;
        }
        let z = b.ins().iconst(I32, zb as i64);
        let zv = if cols == Cols::S1 { z } else { b.ins().splat(I32X4, z) };
        vs.into_iter().map(|v| b.ins().isub(v, zv)).collect()
    }

    /// A's element at `p` (f32, or i32 with the zero point subtracted), splat for vectors.
    fn load_a(&self, b: &mut FunctionBuilder<'_>, p: Value, off: i32, cols: Cols) -> Value {
        let x = if self.int {
            let (as_, _, za, _) = self.q;
            let x = b.ins().load(I8, fl(), p, off);
            let x = if as_ { b.ins().sextend(I32, x) } else { b.ins().uextend(I32, x) };
            if za != 0 {
                b.ins().iadd_imm_s(x, -(za as i64))
            } else {
                x
            }
        } else {
            b.ins().load(F32, fl(), p, off)
        };
        if cols == Cols::S1 {
            x
        } else {
            b.ins().splat(self.vty(), x)
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn tile(
        &self,
        b: &mut FunctionBuilder<'_>,
        a_row: Value,
        bm: Value,
        bias: Value,
        mult: Value,
        c_row: Value,
        col: Value,
        rows: usize,
        cols: Cols,
    ) {
        let s = self.s;
        let nv = cols.nvec();
        let ty = if cols == Cols::S1 { self.sty() } else { self.vty() };
        let accs: Vec<Variable> = (0..rows * nv)
            .map(|_| {
                let v = b.declare_var(ty);
                let z = if self.int {
                    let z = b.ins().iconst(I32, 0);
                    if cols == Cols::S1 {
                        z
                    } else {
                        b.ins().splat(I32X4, z)
                    }
                } else {
                    let z = b.ins().f32const(0.0);
                    if cols == Cols::S1 {
                        z
                    } else {
                        b.ins().splat(F32X4, z)
                    }
                };
                b.def_var(v, z);
                v
            })
            .collect();
        let colb = b.ins().imul_imm_s(col, self.eb);
        let b_col = b.ins().iadd(bm, colb);
        counted_loop(b, s.k, &mut |b, kk| {
            let bo = b.ins().imul_imm_s(kk, s.n as i64 * self.eb);
            let bp = b.ins().iadd(b_col, bo);
            let w = self.load_b(b, bp, cols);
            let ao = b.ins().imul_imm_s(kk, self.ea);
            let ap = b.ins().iadd(a_row, ao);
            for r in 0..rows {
                let x = self.load_a(b, ap, (r * s.k) as i32 * self.ea as i32, cols);
                for (j, &wj) in w.iter().enumerate() {
                    let var = accs[r * nv + j];
                    let acc = b.use_var(var);
                    let acc = if self.int {
                        let prod = b.ins().imul(x, wj);
                        b.ins().iadd(acc, prod)
                    } else {
                        let prod = b.ins().fmul(x, wj);
                        b.ins().fadd(acc, prod)
                    };
                    b.def_var(var, acc);
                }
            }
        });
        let cb = b.ins().imul_imm_s(col, self.ec);
        let c_tile = b.ins().iadd(c_row, cb);
        let c4 = b.ins().ishl_imm_s(col, 2);
        let bias_p = b.ins().iadd(bias, c4);
        let mult_p = b.ins().iadd(mult, c4);
        for r in 0..rows {
            for j in 0..nv {
                let v = b.use_var(accs[r * nv + j]);
                let off =
                    (r * s.n) as i32 * self.ec as i32 + (16 * j) as i32 / (4 / self.ec as i32);
                if !self.int {
                    b.ins().store(fl(), v, c_tile, off);
                    continue;
                }
                let bv = b.ins().load(ty, fl(), bias_p, 16 * j as i32);
                let v = b.ins().iadd(v, bv);
                match &s.requant {
                    None => {
                        b.ins().store(fl(), v, c_tile, off);
                    }
                    Some(rq) => {
                        let sc = cols == Cols::S1;
                        let spl = |b: &mut FunctionBuilder<'_>, x: i32| {
                            let c = b.ins().iconst(I32, x as u32 as i64);
                            if sc {
                                c
                            } else {
                                b.ins().splat(I32X4, c)
                            }
                        };
                        let v = if rq.acc_zero_point != 0 {
                            let z = spl(b, rq.acc_zero_point);
                            b.ins().isub(v, z)
                        } else {
                            v
                        };
                        let fty = if sc { F32 } else { F32X4 };
                        let f = b.ins().fcvt_from_sint(fty, v);
                        let mv = b.ins().load(fty, fl(), mult_p, 16 * j as i32);
                        let f = b.ins().fmul(f, mv);
                        let f = b.ins().nearest(f);
                        let i = b.ins().fcvt_to_sint_sat(ty, f);
                        let lo = spl(b, rq.lo - rq.zero_point);
                        let hi = spl(b, rq.hi - rq.zero_point);
                        let zp = spl(b, rq.zero_point);
                        let i = b.ins().smax(i, lo);
                        let i = b.ins().smin(i, hi);
                        let i = b.ins().iadd(i, zp);
                        if sc {
                            let x = b.ins().ireduce(I8, i);
                            b.ins().store(fl(), x, c_tile, off);
                        } else {
                            // 4 lanes in [lo, hi] ⊂ 8-bit range: narrow (no saturation hit).
                            let h = b.ins().snarrow(i, i);
                            let q = if rq.signed {
                                b.ins().snarrow(h, h)
                            } else {
                                b.ins().unarrow(h, h)
                            };
                            let w = b.ins().bitcast(I32X4, vfl(), q);
                            let x = b.ins().extractlane(w, 0);
                            b.ins().store(fl(), x, c_tile, off);
                        }
                    }
                }
            }
        }
    }
}
