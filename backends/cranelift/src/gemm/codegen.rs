//! Emits the Cranelift IR of one GEMM kernel, specialized for its exact shape.
//!
//! Signature: `fn(a, b_packed, bias, mult, c, m0, m1)` (all i64/pointers) computes rows
//! `m0..m1` of C. Structure: a runtime loop over full `mr`-row tiles, then a runtime loop over
//! the remaining single rows; inside, a runtime loop over full `nr`-column panels plus the
//! (compile-time) partial last panel; inside a tile, a runtime k loop unrolled by one A chunk
//! (16 k for VNNI, 8 k for `pmaddwd`) and the k tail peeled at compile time with zero-padded
//! loads, so nothing is read past A's rows. Accumulators live in `Variable`s (block parameters);
//! the body is emitted pre-scheduled (B loads, then per row the A broadcast and the dots) for
//! `opt_level=none` (DESIGN §5).

use super::pack::{elem_bytes, group_k, panel_bytes};
use super::spec::{AType, Epilogue, GemmSpec};
use crate::isa::DotPath;
use cranelift_codegen::ir::condcodes::IntCC;
use cranelift_codegen::ir::types::{F32X4, I16X8, I32, I32X4, I64, I64X2, I8, I8X16};
use cranelift_codegen::ir::{
    AbiParam, Function, InstBuilder, MemFlagsData, Signature, UserFuncName, Value,
};
use cranelift_codegen::isa::{CallConv, TargetIsa};
use cranelift_frontend::{FunctionBuilder, FunctionBuilderContext, Variable};

/// The signature shared by every GEMM kernel.
pub fn signature(call_conv: CallConv) -> Signature {
    let mut sig = Signature::new(call_conv);
    for _ in 0..7 {
        sig.params.push(AbiParam::new(I64));
    }
    sig
}

fn flags() -> MemFlagsData {
    MemFlagsData::new().with_notrap()
}

fn vflags() -> MemFlagsData {
    MemFlagsData::new().with_endianness(cranelift_codegen::ir::Endianness::Little)
}

struct Gen<'s> {
    spec: &'s GemmSpec,
    path: DotPath,
    /// k per unrolled loop step (one A chunk).
    kstep: usize,
    out_bytes: usize,
}

struct Ptrs {
    a: Value,
    b: Value,
    bias: Value,
    mult: Value,
    c: Value,
}

/// Builds the kernel function for `spec` on `path`.
pub fn build(spec: &GemmSpec, path: DotPath, isa: &dyn TargetIsa, index: u32) -> Function {
    let call_conv = isa.default_call_conv();
    let mut func =
        Function::with_name_signature(UserFuncName::user(0, index), signature(call_conv));
    let mut fctx = FunctionBuilderContext::new();
    let mut b = FunctionBuilder::new(&mut func, &mut fctx);
    let g = Gen {
        spec,
        path,
        kstep: match path {
            DotPath::Vnni | DotPath::Usdot => 16,
            DotPath::Pmaddwd => 8,
        },
        out_bytes: spec.epilogue.out_bytes(),
    };
    let entry = b.create_block();
    b.append_block_params_for_function_params(entry);
    b.switch_to_block(entry);
    b.seal_block(entry);
    let p = b.block_params(entry).to_vec();
    let ptrs = Ptrs { a: p[0], b: p[1], bias: p[2], mult: p[3], c: p[4] };
    let (m0, m1) = (p[5], p[6]);
    let mr = spec.tile.mr as i64;

    let m_var = b.declare_var(I64);
    b.def_var(m_var, m0);
    // Full tiles of mr rows.
    let hdr = b.create_block();
    let body = b.create_block();
    let rows_hdr = b.create_block();
    let rows_body = b.create_block();
    let exit = b.create_block();
    b.ins().jump(hdr, &[]);
    b.switch_to_block(hdr);
    let m = b.use_var(m_var);
    let end = b.ins().iadd_imm_s(m, mr);
    let ok = b.ins().icmp(IntCC::SignedLessThanOrEqual, end, m1);
    b.ins().brif(ok, body, &[], rows_hdr, &[]);
    b.switch_to_block(body);
    let m = b.use_var(m_var);
    g.rows(&mut b, &ptrs, m, spec.tile.mr);
    let m = b.use_var(m_var);
    let m = b.ins().iadd_imm_s(m, mr);
    b.def_var(m_var, m);
    b.ins().jump(hdr, &[]);
    b.seal_block(body);
    b.seal_block(hdr);
    // Remaining rows one at a time.
    b.switch_to_block(rows_hdr);
    let m = b.use_var(m_var);
    let ok = b.ins().icmp(IntCC::SignedLessThan, m, m1);
    b.ins().brif(ok, rows_body, &[], exit, &[]);
    b.switch_to_block(rows_body);
    let m = b.use_var(m_var);
    g.rows(&mut b, &ptrs, m, 1);
    let m = b.use_var(m_var);
    let m = b.ins().iadd_imm_s(m, 1);
    b.def_var(m_var, m);
    b.ins().jump(rows_hdr, &[]);
    b.seal_block(rows_body);
    b.seal_block(rows_hdr);
    b.switch_to_block(exit);
    b.seal_block(exit);
    b.ins().return_(&[]);
    b.finalize(isa.frontend_config());
    func
}

impl Gen<'_> {
    fn nr(&self) -> usize {
        self.spec.tile.nr
    }

    fn panel_bytes(&self) -> usize {
        panel_bytes(self.path, self.spec.k, self.nr())
    }

    /// All panels of `rows` rows starting at row `m`.
    fn rows(&self, b: &mut FunctionBuilder<'_>, p: &Ptrs, m: Value, rows: usize) {
        let s = self.spec;
        let a_off = b.ins().imul_imm_s(m, s.lda as i64);
        let a_row = b.ins().iadd(p.a, a_off);
        let c_off = b.ins().imul_imm_s(m, (s.ldc * self.out_bytes) as i64);
        let c_row = b.ins().iadd(p.c, c_off);
        let full = s.n / self.nr();
        if full > 0 {
            let pv = b.declare_var(I64);
            let zero = b.ins().iconst(I64, 0);
            b.def_var(pv, zero);
            let lp = b.create_block();
            let after = b.create_block();
            b.ins().jump(lp, &[]);
            b.switch_to_block(lp);
            let pi = b.use_var(pv);
            let boff = b.ins().imul_imm_s(pi, self.panel_bytes() as i64);
            let bp = b.ins().iadd(p.b, boff);
            let n0 = b.ins().imul_imm_s(pi, self.nr() as i64);
            self.tile(b, p, a_row, bp, c_row, n0, rows, self.nr());
            let pi = b.use_var(pv);
            let pi = b.ins().iadd_imm_s(pi, 1);
            b.def_var(pv, pi);
            let more = b.ins().icmp_imm_s(IntCC::SignedLessThan, pi, full as i64);
            b.ins().brif(more, lp, &[], after, &[]);
            b.seal_block(lp);
            b.switch_to_block(after);
            b.seal_block(after);
        }
        let rem = s.n % self.nr();
        if rem > 0 {
            let bp = b.ins().iadd_imm_s(p.b, (full * self.panel_bytes()) as i64);
            let n0 = b.ins().iconst(I64, (full * self.nr()) as i64);
            self.tile(b, p, a_row, bp, c_row, n0, rows, rem);
        }
    }

    /// One tile: `rows` rows × one panel, `cols` of whose columns are stored.
    #[allow(clippy::too_many_arguments)]
    fn tile(
        &self,
        b: &mut FunctionBuilder<'_>,
        p: &Ptrs,
        a_row: Value,
        b_panel: Value,
        c_row: Value,
        n0: Value,
        rows: usize,
        cols: usize,
    ) {
        let s = self.spec;
        let nv = self.nr() / 4;
        let zero = b.ins().iconst(I32, 0);
        let zero = b.ins().splat(I32X4, zero);
        let accs: Vec<Variable> = (0..rows * nv)
            .map(|_| {
                let v = b.declare_var(I32X4);
                b.def_var(v, zero);
                v
            })
            .collect();
        let iters = s.k / self.kstep;
        let step_bytes_b = (self.kstep * self.nr() * elem_bytes(self.path)) as i64;
        let (a_end, b_end) = if iters > 0 {
            let av = b.declare_var(I64);
            let bv = b.declare_var(I64);
            let cv = b.declare_var(I64);
            b.def_var(av, a_row);
            b.def_var(bv, b_panel);
            let n = b.ins().iconst(I64, iters as i64);
            b.def_var(cv, n);
            let lp = b.create_block();
            let after = b.create_block();
            b.ins().jump(lp, &[]);
            b.switch_to_block(lp);
            let ap = b.use_var(av);
            let bp = b.use_var(bv);
            self.kchunk(b, &accs, ap, bp, rows, self.kstep);
            let ap = b.ins().iadd_imm_s(ap, self.kstep as i64);
            b.def_var(av, ap);
            let bp = b.ins().iadd_imm_s(bp, step_bytes_b);
            b.def_var(bv, bp);
            let c = b.use_var(cv);
            let c = b.ins().iadd_imm_s(c, -1);
            b.def_var(cv, c);
            b.ins().brif(c, lp, &[], after, &[]);
            b.seal_block(lp);
            b.switch_to_block(after);
            b.seal_block(after);
            (b.use_var(av), b.use_var(bv))
        } else {
            (a_row, b_panel)
        };
        let rem = s.k - iters * self.kstep;
        if rem > 0 {
            self.kchunk(b, &accs, a_end, b_end, rows, rem);
        }
        let accs: Vec<Value> = accs.iter().map(|&v| b.use_var(v)).collect();
        self.epilogue(b, p, &accs, c_row, n0, rows, cols);
    }

    /// Loads `len` (≤ 8) bytes at `ptr + off` into the low bytes of an i64, zero padded, never
    /// reading past them.
    fn load_padded(&self, b: &mut FunctionBuilder<'_>, ptr: Value, off: i32, len: usize) -> Value {
        if len == 8 {
            return b.ins().load(I64, flags(), ptr, off);
        }
        let mut acc: Option<Value> = None;
        let mut done = 0usize;
        for size in [4usize, 2, 1] {
            while len - done >= size {
                let ty = match size {
                    4 => I32,
                    2 => cranelift_codegen::ir::types::I16,
                    _ => I8,
                };
                let v = b.ins().load(ty, flags(), ptr, off + done as i32);
                let v = b.ins().uextend(I64, v);
                let v = if done > 0 { b.ins().ishl_imm_s(v, (8 * done) as i64) } else { v };
                acc = Some(match acc {
                    Some(a) => b.ins().bor(a, v),
                    None => v,
                });
                done += size;
            }
        }
        acc.expect("len > 0")
    }

    /// Flips the sign bit of every byte of an i8 activation vector (i8 → u8 + 128).
    fn flip(&self, b: &mut FunctionBuilder<'_>, v: Value) -> Value {
        if self.spec.a_type == AType::I8 {
            let k = b.ins().iconst(I8, 0x80);
            let k = b.ins().splat(I8X16, k);
            b.ins().bxor(v, k)
        } else {
            v
        }
    }

    /// `klen` (≤ kstep) values of k: accumulates into `accs`.
    fn kchunk(
        &self,
        b: &mut FunctionBuilder<'_>,
        accs: &[Variable],
        a_ptr: Value,
        b_ptr: Value,
        rows: usize,
        klen: usize,
    ) {
        let nv = self.nr() / 4;
        let lda = self.spec.lda as i32;
        let gk = group_k(self.path);
        let groups = klen.div_ceil(gk);
        let gbytes = (self.nr() * gk * elem_bytes(self.path)) as i32;
        match self.path {
            DotPath::Vnni | DotPath::Usdot => {
                let a_first = self.path == DotPath::Usdot;
                for g in 0..groups {
                    let w: Vec<Value> = (0..nv)
                        .map(|j| {
                            b.ins().load(I8X16, flags(), b_ptr, g as i32 * gbytes + 16 * j as i32)
                        })
                        .collect();
                    for r in 0..rows {
                        let off = r as i32 * lda + (g * 4) as i32;
                        let len = (klen - g * 4).min(4);
                        let a32 = if len == 4 {
                            b.ins().load(I32, flags(), a_ptr, off)
                        } else {
                            let v = self.load_padded(b, a_ptr, off, len);
                            b.ins().ireduce(I32, v)
                        };
                        let av = b.ins().splat(I32X4, a32);
                        let av = b.ins().bitcast(I8X16, vflags(), av);
                        let av = self.flip(b, av);
                        for (j, &wj) in w.iter().enumerate() {
                            let var = accs[r * nv + j];
                            let acc = b.use_var(var);
                            let acc = dot4(b, acc, wj, av, a_first);
                            b.def_var(var, acc);
                        }
                    }
                }
            }
            DotPath::Pmaddwd => {
                // One A chunk of up to 8 bytes per row, widened to i16 pairs.
                let chunks: Vec<Value> = (0..rows)
                    .map(|r| {
                        let v = self.load_padded(b, a_ptr, r as i32 * lda, klen);
                        let v = b.ins().scalar_to_vector(I64X2, v);
                        let v = b.ins().bitcast(I8X16, vflags(), v);
                        let v = self.flip(b, v);
                        let v = b.ins().uwiden_low(v);
                        b.ins().bitcast(I8X16, vflags(), v)
                    })
                    .collect();
                for g in 0..groups {
                    let w: Vec<Value> = (0..nv)
                        .map(|j| {
                            b.ins().load(I16X8, flags(), b_ptr, g as i32 * gbytes + 16 * j as i32)
                        })
                        .collect();
                    let lane = 4 * g as u8;
                    let mask: Vec<u8> = (0..16).map(|i| lane + (i % 4) as u8).collect();
                    let mask = b.func.dfg.immediates.push(mask.into());
                    for (r, &ch) in chunks.iter().enumerate() {
                        let av = b.ins().shuffle(ch, ch, mask);
                        let av = b.ins().bitcast(I16X8, vflags(), av);
                        for (j, &wj) in w.iter().enumerate() {
                            let var = accs[r * nv + j];
                            let acc = b.use_var(var);
                            let lo = b.ins().swiden_low(av);
                            let wl = b.ins().swiden_low(wj);
                            let pl = b.ins().imul(lo, wl);
                            let hi = b.ins().swiden_high(av);
                            let wh = b.ins().swiden_high(wj);
                            let ph = b.ins().imul(hi, wh);
                            let d = b.ins().iadd_pairwise(pl, ph);
                            let acc = b.ins().iadd(acc, d);
                            b.def_var(var, acc);
                        }
                    }
                }
            }
        }
    }

    /// Bias, requantization and stores of one tile.
    #[allow(clippy::too_many_arguments)]
    fn epilogue(
        &self,
        b: &mut FunctionBuilder<'_>,
        p: &Ptrs,
        accs: &[Value],
        c_row: Value,
        n0: Value,
        rows: usize,
        cols: usize,
    ) {
        let nv = self.nr() / 4;
        let used = cols.div_ceil(4);
        let n0_4 = b.ins().ishl_imm_s(n0, 2);
        let bias_p = b.ins().iadd(p.bias, n0_4);
        let mult_p = b.ins().iadd(p.mult, n0_4);
        let n0_o = if self.out_bytes == 4 { n0_4 } else { n0 };
        let c_tile = b.ins().iadd(c_row, n0_o);
        let bias: Vec<Value> =
            (0..used).map(|j| b.ins().load(I32X4, flags(), bias_p, 16 * j as i32)).collect();
        let ldc_b = (self.spec.ldc * self.out_bytes) as i32;
        match &self.spec.epilogue {
            Epilogue::I32 => {
                for r in 0..rows {
                    for (j, bj) in bias.iter().enumerate() {
                        let v = b.ins().iadd(accs[r * nv + j], *bj);
                        let off = r as i32 * ldc_b + 16 * j as i32;
                        let lanes = (cols - 4 * j).min(4);
                        if lanes == 4 {
                            b.ins().store(flags(), v, c_tile, off);
                        } else {
                            for l in 0..lanes {
                                let x = b.ins().extractlane(v, l as u8);
                                b.ins().store(flags(), x, c_tile, off + 4 * l as i32);
                            }
                        }
                    }
                }
            }
            Epilogue::Requant { signed, zero_point, lo, hi, .. } => {
                let mult: Vec<Value> = (0..used)
                    .map(|j| b.ins().load(F32X4, flags(), mult_p, 16 * j as i32))
                    .collect();
                let splat = |b: &mut FunctionBuilder<'_>, x: i32| {
                    let c = b.ins().iconst(I32, x as u32 as i64);
                    b.ins().splat(I32X4, c)
                };
                let lo_v = splat(b, lo - zero_point);
                let hi_v = splat(b, hi - zero_point);
                let zp_v = splat(b, *zero_point);
                let zero = splat(b, 0);
                for r in 0..rows {
                    let mut q: Vec<Value> = (0..used)
                        .map(|j| {
                            let v = b.ins().iadd(accs[r * nv + j], bias[j]);
                            let f = b.ins().fcvt_from_sint(F32X4, v);
                            let f = b.ins().fmul(f, mult[j]);
                            let f = b.ins().nearest(f);
                            let i = b.ins().fcvt_to_sint_sat(I32X4, f);
                            let i = b.ins().smax(i, lo_v);
                            let i = b.ins().smin(i, hi_v);
                            b.ins().iadd(i, zp_v)
                        })
                        .collect();
                    while !q.len().is_multiple_of(4) {
                        q.push(zero);
                    }
                    for (quad, c4) in q.chunks(4).enumerate() {
                        let h0 = b.ins().snarrow(c4[0], c4[1]);
                        let h1 = b.ins().snarrow(c4[2], c4[3]);
                        let v =
                            if *signed { b.ins().snarrow(h0, h1) } else { b.ins().unarrow(h0, h1) };
                        let base = r as i32 * ldc_b + 16 * quad as i32;
                        let n = (cols - 16 * quad).min(16);
                        self.store_bytes(b, v, c_tile, base, n);
                    }
                }
            }
        }
    }

    /// Stores the first `n` bytes of the i8x16 `v` at `ptr + off`.
    fn store_bytes(&self, b: &mut FunctionBuilder<'_>, v: Value, ptr: Value, off: i32, n: usize) {
        let mut done = 0usize;
        while done < n {
            let left = n - done;
            let o = off + done as i32;
            if done == 0 && left >= 16 {
                b.ins().store(flags(), v, ptr, o);
                done += 16;
            } else if done.is_multiple_of(8) && left >= 8 {
                let w = b.ins().bitcast(I64X2, vflags(), v);
                let x = b.ins().extractlane(w, (done / 8) as u8);
                b.ins().store(flags(), x, ptr, o);
                done += 8;
            } else if done.is_multiple_of(4) && left >= 4 {
                let w = b.ins().bitcast(I32X4, vflags(), v);
                let x = b.ins().extractlane(w, (done / 4) as u8);
                b.ins().store(flags(), x, ptr, o);
                done += 4;
            } else {
                let x = b.ins().extractlane(v, done as u8);
                b.ins().store(flags(), x, ptr, o);
                done += 1;
            }
        }
    }
}

/// `acc + Σ4 w·a` per i32 lane, in the exact widening-tree form Cranelift folds into
/// `vpdpbusd xmm` on x86-64 (`imul(w, a)`) or `usdot` on AArch64 (`imul(a, w)`, `a_first`)
/// (DESIGN §5): `w` i8 weights (sign-extended), `a` u8 activations.
pub fn dot4(b: &mut FunctionBuilder<'_>, acc: Value, w: Value, a: Value, a_first: bool) -> Value {
    let wl = b.ins().swiden_low(w);
    let al = b.ins().uwiden_low(a);
    let lo = if a_first { b.ins().imul(al, wl) } else { b.ins().imul(wl, al) };
    let wh = b.ins().swiden_high(w);
    let ah = b.ins().uwiden_high(a);
    let hi = if a_first { b.ins().imul(ah, wh) } else { b.ins().imul(wh, ah) };
    let lol = b.ins().swiden_low(lo);
    let loh = b.ins().swiden_high(lo);
    let s0 = b.ins().iadd_pairwise(lol, loh);
    let hil = b.ins().swiden_low(hi);
    let hih = b.ins().swiden_high(hi);
    let s1 = b.ins().iadd_pairwise(hil, hih);
    let s = b.ins().iadd_pairwise(s0, s1);
    b.ins().iadd(s, acc)
}
