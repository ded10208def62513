//! A thin layer over inkwell for writing kernels as scalar loop nests with exact shapes: LLVM's
//! loop vectorizer and unroller turn them into full-width vector code for the target (the
//! kernels state the arithmetic; the optimizer picks the vector width, which is what the
//! Cranelift backend has to do by hand).
//!
//! [`Cg`] owns one module (all kernels of a model), [`K`] builds one kernel function
//! `void k(i8* noalias p0, …, i8* noalias out, i64 r0, i64 r1)`: the operand buffers (inputs
//! then output) and the row range `[r0, r1)` a thread computes. Every builder call returns a
//! `Result` (inkwell's `BuilderError`, which only an unpositioned builder raises), passed up
//! with `?` as [`BackendError`].

use crate::shim;
use crate::target::TargetSpec;
use crate::BackendError;
use inkwell::attributes::{Attribute, AttributeLoc};
use inkwell::basic_block::BasicBlock;
use inkwell::builder::Builder;
use inkwell::context::Context;
use inkwell::intrinsics::Intrinsic;
use inkwell::module::{Linkage, Module};
use inkwell::types::{BasicType, BasicTypeEnum, FloatType, IntType};
use inkwell::values::{
    BasicMetadataValueEnum, BasicValue, BasicValueEnum, FloatValue, FunctionValue, IntValue,
    PointerValue,
};
use inkwell::{AddressSpace, FloatPredicate, IntPredicate};

/// Result of code generation.
pub type R<T> = Result<T, BackendError>;

/// Bytes at a stable, 64-byte aligned address (constant data the generated code reads).
pub struct AlignedBytes {
    words: Vec<[u64; 8]>,
    len: usize,
}

impl AlignedBytes {
    /// A copy of `bytes`.
    pub fn new(bytes: &[u8]) -> AlignedBytes {
        let mut words = vec![[0u64; 8]; bytes.len().div_ceil(64).max(1)];
        // SAFETY: `words` holds at least `bytes.len()` initialized bytes.
        let dst =
            unsafe { std::slice::from_raw_parts_mut(words.as_mut_ptr() as *mut u8, bytes.len()) };
        dst.copy_from_slice(bytes);
        AlignedBytes { words, len: bytes.len() }
    }
    /// Zeroed bytes.
    pub fn zeroed(len: usize) -> AlignedBytes {
        AlignedBytes { words: vec![[0u64; 8]; len.div_ceil(64).max(1)], len }
    }
    /// The bytes.
    pub fn as_slice(&self) -> &[u8] {
        // SAFETY: `words` holds at least `len` initialized bytes.
        unsafe { std::slice::from_raw_parts(self.words.as_ptr() as *const u8, self.len) }
    }
    /// The bytes, mutably.
    pub fn as_mut_slice(&mut self) -> &mut [u8] {
        // SAFETY: as above.
        unsafe { std::slice::from_raw_parts_mut(self.words.as_mut_ptr() as *mut u8, self.len) }
    }
    /// The address of the first byte.
    pub fn as_ptr(&self) -> *const u8 {
        self.words.as_ptr() as *const u8
    }
}

/// Little-endian bytes of `f32`s.
pub fn f32_bytes(v: &[f32]) -> Vec<u8> {
    v.iter().flat_map(|x| x.to_le_bytes()).collect()
}

/// Little-endian bytes of `i32`s.
pub fn i32_bytes(v: &[i32]) -> Vec<u8> {
    v.iter().flat_map(|x| x.to_le_bytes()).collect()
}

/// Constant data the generated code reads: at an address of this process (JIT) or in a
/// global of the module (objects, PTX).
#[derive(Debug, Clone, Copy)]
pub enum ConstRef<'ctx> {
    /// Bytes owned by [`Cg::consts`] (kept alive with the compiled model).
    Addr(usize),
    /// A global of the module.
    Global(inkwell::values::GlobalValue<'ctx>),
}

/// One module being generated: the context's module and builder, the target, and the constant
/// data its kernels read (by address for the JIT, as globals for objects).
pub struct Cg<'ctx> {
    /// The LLVM context.
    pub ctx: &'ctx Context,
    /// The module holding every kernel of the model.
    pub module: Module<'ctx>,
    /// The instruction builder.
    pub b: Builder<'ctx>,
    /// Target (CPU and features go on every function).
    pub target: TargetSpec,
    /// Constant data referenced by the code (JIT).
    pub consts: Vec<AlignedBytes>,
    /// Put constants in module globals (in this address space) instead of referring to this
    /// process's memory.
    pub globals: Option<AddressSpace>,
}

impl<'ctx> Cg<'ctx> {
    /// A new module for `target`.
    pub fn new(ctx: &'ctx Context, name: &str, target: TargetSpec) -> Cg<'ctx> {
        let module = ctx.create_module(name);
        module.set_triple(&inkwell::targets::TargetTriple::create(&target.triple));
        Cg { ctx, module, b: ctx.create_builder(), target, consts: Vec::new(), globals: None }
    }

    /// `i8*`.
    pub fn i8p(&self) -> inkwell::types::PointerType<'ctx> {
        self.ctx.i8_type().ptr_type(AddressSpace::default())
    }

    /// Adds the target CPU/feature attributes (and nounwind) to `f`.
    pub fn add_target_attrs(&self, f: FunctionValue<'ctx>) {
        let fa = AttributeLoc::Function;
        f.add_attribute(fa, self.ctx.create_string_attribute("target-cpu", &self.target.cpu));
        f.add_attribute(
            fa,
            self.ctx.create_string_attribute("target-features", &self.target.features),
        );
        f.add_attribute(fa, self.enum_attr("nounwind"));
    }

    /// An enum attribute by name.
    pub fn enum_attr(&self, name: &str) -> Attribute {
        self.ctx.create_enum_attribute(Attribute::get_named_enum_kind_id(name), 0)
    }

    /// Starts a kernel `name` with `nbufs` buffer parameters (inputs then output) and the row
    /// range; the builder is positioned in its body.
    pub fn kernel(&'_ self, name: &str, nbufs: usize) -> R<K<'_, 'ctx>> {
        let i64t = self.ctx.i64_type();
        let mut params: Vec<inkwell::types::BasicMetadataTypeEnum<'ctx>> =
            vec![self.i8p().into(); nbufs];
        params.push(i64t.into());
        params.push(i64t.into());
        let fty = self.ctx.void_type().fn_type(&params, false);
        let f = self.module.add_function(name, fty, Some(Linkage::Internal));
        self.add_target_attrs(f);
        for i in 0..nbufs {
            f.add_attribute(AttributeLoc::Param(i as u32), self.enum_attr("noalias"));
        }
        let entry = self.ctx.append_basic_block(f, "entry");
        let body = self.ctx.append_basic_block(f, "body");
        self.b.position_at_end(body);
        let bufs = (0..nbufs).map(|i| f.get_nth_param(i as u32).unwrap().into_pointer_value());
        let bufs: Vec<_> = bufs.collect();
        let r0 = f.get_nth_param(nbufs as u32).unwrap().into_int_value();
        let r1 = f.get_nth_param(nbufs as u32 + 1).unwrap().into_int_value();
        Ok(K { cg: self, f, entry, bufs, r0, r1 })
    }

    /// Constant bytes for the generated code: kept alive with the model (JIT) or a private
    /// global of the module (64-byte aligned).
    pub fn constant(&mut self, bytes: &[u8]) -> ConstRef<'ctx> {
        match self.globals {
            None => {
                let a = AlignedBytes::new(bytes);
                let p = a.as_ptr() as usize;
                self.consts.push(a);
                ConstRef::Addr(p)
            }
            Some(space) => {
                let init = self.ctx.const_string(bytes, false);
                let g = self.module.add_global(init.get_type(), Some(space), "const");
                g.set_initializer(&init);
                g.set_constant(true);
                g.set_linkage(Linkage::Private);
                g.set_alignment(64);
                ConstRef::Global(g)
            }
        }
    }

    /// A zero-initialized mutable i32 (the run's status word), as [`Cg::constant`] places it.
    pub fn status_word(&mut self) -> ConstRef<'ctx> {
        match self.globals {
            None => {
                let a = AlignedBytes::zeroed(4);
                let p = a.as_ptr() as usize;
                self.consts.push(a);
                ConstRef::Addr(p)
            }
            Some(space) => {
                let t = self.ctx.i32_type();
                let g = self.module.add_global(t, Some(space), "qcc_status");
                g.set_initializer(&t.const_zero());
                ConstRef::Global(g)
            }
        }
    }

    /// A constant as an `i8*` in the generic address space (at the builder's position).
    pub fn const_i8p(&self, c: ConstRef<'ctx>) -> R<PointerValue<'ctx>> {
        Ok(match c {
            ConstRef::Addr(a) => self.b.build_int_to_ptr(
                self.ctx.i64_type().const_int(a as u64, false),
                self.i8p(),
                "k",
            )?,
            ConstRef::Global(g) => {
                let p = g.as_pointer_value();
                let sp = p.get_type().get_address_space();
                let p = self.b.build_pointer_cast(p, self.ctx.i8_type().ptr_type(sp), "g8")?;
                if sp == AddressSpace::default() {
                    p
                } else {
                    self.b.build_address_space_cast(p, self.i8p(), "gen")?
                }
            }
        })
    }
}

/// One kernel function under construction.
pub struct K<'a, 'ctx> {
    /// The module.
    pub cg: &'a Cg<'ctx>,
    /// The function.
    pub f: FunctionValue<'ctx>,
    entry: BasicBlock<'ctx>,
    /// Buffer parameters (`i8*`): inputs, then the output.
    pub bufs: Vec<PointerValue<'ctx>>,
    /// First row to compute.
    pub r0: IntValue<'ctx>,
    /// One past the last row.
    pub r1: IntValue<'ctx>,
}

impl<'a, 'ctx> K<'a, 'ctx> {
    /// The builder (for instructions this layer does not wrap).
    pub fn b(&self) -> &Builder<'ctx> {
        &self.cg.b
    }
    /// `f32`.
    pub fn f32t(&self) -> FloatType<'ctx> {
        self.cg.ctx.f32_type()
    }
    /// `iN`.
    pub fn int(&self, bits: u32) -> IntType<'ctx> {
        match bits {
            8 => self.cg.ctx.i8_type(),
            16 => self.cg.ctx.i16_type(),
            32 => self.cg.ctx.i32_type(),
            64 => self.cg.ctx.i64_type(),
            1 => self.cg.ctx.bool_type(),
            _ => unreachable!("kernels use i1/i8/i16/i32/i64"),
        }
    }
    /// An i64 constant.
    pub fn i64c(&self, v: i64) -> IntValue<'ctx> {
        self.cg.ctx.i64_type().const_int(v as u64, true)
    }
    /// An i32 constant.
    pub fn i32c(&self, v: i32) -> IntValue<'ctx> {
        self.cg.ctx.i32_type().const_int(v as i64 as u64, true)
    }
    /// An f32 constant.
    pub fn f32c(&self, v: f32) -> FloatValue<'ctx> {
        self.f32t().const_float(v as f64)
    }

    /// Finishes the function (branch from the entry block, return).
    pub fn finish(self) -> R<FunctionValue<'ctx>> {
        self.b().build_return(None)?;
        let body = self.entry.get_next_basic_block().expect("body block");
        self.b().position_at_end(self.entry);
        self.b().build_unconditional_branch(body)?;
        Ok(self.f)
    }

    /// Buffer `i` as a pointer to `elem`.
    pub fn buf(&self, i: usize, elem: impl BasicType<'ctx>) -> R<PointerValue<'ctx>> {
        Ok(shim::ptr_to(self.b(), elem.as_basic_type_enum(), self.bufs[i])?)
    }

    /// Constant data ([`Cg::constant`]) as a pointer to `elem`.
    pub fn const_ptr(
        &self,
        c: ConstRef<'ctx>,
        elem: impl BasicType<'ctx>,
    ) -> R<PointerValue<'ctx>> {
        let p = self.cg.const_i8p(c)?;
        Ok(shim::ptr_to(self.b(), elem.as_basic_type_enum(), p)?)
    }

    /// A mutable local (promoted to a register by the optimizer) holding `init`.
    pub fn var(&self, init: BasicValueEnum<'ctx>) -> R<PointerValue<'ctx>> {
        let eb = self.cg.ctx.create_builder();
        match self.entry.get_first_instruction() {
            Some(i) => eb.position_before(&i),
            None => eb.position_at_end(self.entry),
        }
        let p = eb.build_alloca(init.get_type(), "var")?;
        self.b().build_store(p, init)?;
        Ok(p)
    }

    /// A stack array of `n` elements of `ty` (in the entry block), as a pointer to `ty`.
    pub fn array(&self, ty: impl BasicType<'ctx>, n: usize) -> R<PointerValue<'ctx>> {
        let eb = self.cg.ctx.create_builder();
        match self.entry.get_first_instruction() {
            Some(i) => eb.position_before(&i),
            None => eb.position_at_end(self.entry),
        }
        let arr = eb.build_array_alloca(ty, self.i64c(n as i64), "arr")?;
        if let Some(i) = arr.as_instruction() {
            let _ = i.set_alignment(64);
        }
        Ok(arr)
    }

    /// Loads a vector of type `vt` from `&ptr[idx]` (`ptr` points to the element type).
    pub fn ld_vec(
        &self,
        vt: inkwell::types::VectorType<'ctx>,
        ptr: PointerValue<'ctx>,
        idx: IntValue<'ctx>,
    ) -> R<inkwell::values::VectorValue<'ctx>> {
        let p = shim::gep(self.b(), vt.get_element_type(), ptr, idx)?;
        let p = shim::ptr_to(self.b(), vt.as_basic_type_enum(), p)?;
        let v = shim::load(self.b(), vt.as_basic_type_enum(), p)?;
        if let Some(i) = v.as_instruction_value() {
            let _ = i.set_alignment(1);
        }
        Ok(v.into_vector_value())
    }

    /// Stores the vector `v` at `&ptr[idx]` (`ptr` points to the element type).
    pub fn st_vec(
        &self,
        ptr: PointerValue<'ctx>,
        idx: IntValue<'ctx>,
        v: inkwell::values::VectorValue<'ctx>,
    ) -> R<()> {
        let vt = v.get_type();
        let p = shim::gep(self.b(), vt.get_element_type(), ptr, idx)?;
        let p = shim::ptr_to(self.b(), vt.as_basic_type_enum(), p)?;
        let st = self.b().build_store(p, v)?;
        let _ = st.set_alignment(1);
        Ok(())
    }

    /// `lanes` copies of the scalar `v`.
    pub fn splat(&self, v: IntValue<'ctx>, lanes: usize) -> R<inkwell::values::VectorValue<'ctx>> {
        let vt = v.get_type().vec_type(lanes as u32);
        let one = self.b().build_insert_element(vt.get_undef(), v, self.i32c(0), "ins")?;
        let mask = self.cg.ctx.i32_type().vec_type(lanes as u32).const_zero();
        Ok(self.b().build_shuffle_vector(one, vt.get_undef(), mask, "splat")?)
    }

    /// `lanes` copies of the f32 `v`.
    pub fn splat_f(
        &self,
        v: FloatValue<'ctx>,
        lanes: usize,
    ) -> R<inkwell::values::VectorValue<'ctx>> {
        let vt = v.get_type().vec_type(lanes as u32);
        let one = self.b().build_insert_element(vt.get_undef(), v, self.i32c(0), "ins")?;
        let mask = self.cg.ctx.i32_type().vec_type(lanes as u32).const_zero();
        Ok(self.b().build_shuffle_vector(one, vt.get_undef(), mask, "splat")?)
    }

    /// `for i in lo..hi { body(i) }` (i64, step 1).
    pub fn for_range(
        &self,
        lo: IntValue<'ctx>,
        hi: IntValue<'ctx>,
        body: &mut dyn FnMut(IntValue<'ctx>) -> R<()>,
    ) -> R<()> {
        let b = self.b();
        let ctx = self.cg.ctx;
        let pre = b.get_insert_block().expect("positioned");
        let head = ctx.append_basic_block(self.f, "head");
        let blk = ctx.append_basic_block(self.f, "loop");
        let exit = ctx.append_basic_block(self.f, "exit");
        b.build_unconditional_branch(head)?;
        b.position_at_end(head);
        let phi = b.build_phi(ctx.i64_type(), "i")?;
        phi.add_incoming(&[(&lo, pre)]);
        let i = phi.as_basic_value().into_int_value();
        let c = b.build_int_compare(IntPredicate::SLT, i, hi, "c")?;
        b.build_conditional_branch(c, blk, exit)?;
        b.position_at_end(blk);
        body(i)?;
        let next = b.build_int_nsw_add(i, self.i64c(1), "n")?;
        let latch = b.get_insert_block().expect("positioned");
        b.build_unconditional_branch(head)?;
        phi.add_incoming(&[(&next, latch)]);
        b.position_at_end(exit);
        Ok(())
    }

    /// `for i in 0..n { body(i) }`.
    pub fn for_n(&self, n: usize, body: &mut dyn FnMut(IntValue<'ctx>) -> R<()>) -> R<()> {
        self.for_range(self.i64c(0), self.i64c(n as i64), body)
    }

    /// `if c { then() }`.
    pub fn if_(&self, c: IntValue<'ctx>, then: &mut dyn FnMut() -> R<()>) -> R<()> {
        let b = self.b();
        let t = self.cg.ctx.append_basic_block(self.f, "then");
        let e = self.cg.ctx.append_basic_block(self.f, "endif");
        b.build_conditional_branch(c, t, e)?;
        b.position_at_end(t);
        then()?;
        b.build_unconditional_branch(e)?;
        b.position_at_end(e);
        Ok(())
    }

    // ----- memory -----

    /// `ptr[idx]` (element type `ty`).
    pub fn ld(
        &self,
        ty: impl BasicType<'ctx>,
        ptr: PointerValue<'ctx>,
        idx: IntValue<'ctx>,
    ) -> R<BasicValueEnum<'ctx>> {
        let ty = ty.as_basic_type_enum();
        let p = shim::gep(self.b(), ty, ptr, idx)?;
        Ok(shim::load(self.b(), ty, p)?)
    }
    /// `ptr[idx]` as an integer.
    pub fn ldi(
        &self,
        ty: IntType<'ctx>,
        ptr: PointerValue<'ctx>,
        idx: IntValue<'ctx>,
    ) -> R<IntValue<'ctx>> {
        Ok(self.ld(ty, ptr, idx)?.into_int_value())
    }
    /// `ptr[idx]` as an f32.
    pub fn ldf(&self, ptr: PointerValue<'ctx>, idx: IntValue<'ctx>) -> R<FloatValue<'ctx>> {
        Ok(self.ld(self.f32t(), ptr, idx)?.into_float_value())
    }
    /// `ptr[idx] = v`.
    pub fn st(
        &self,
        ptr: PointerValue<'ctx>,
        idx: IntValue<'ctx>,
        v: impl BasicValue<'ctx>,
    ) -> R<()> {
        let v = v.as_basic_value_enum();
        let p = shim::gep(self.b(), v.get_type(), ptr, idx)?;
        self.b().build_store(p, v)?;
        Ok(())
    }
    /// Reads a local.
    pub fn get(
        &self,
        ty: impl BasicType<'ctx>,
        var: PointerValue<'ctx>,
    ) -> R<BasicValueEnum<'ctx>> {
        Ok(shim::load(self.b(), ty.as_basic_type_enum(), var)?)
    }
    /// Writes a local.
    pub fn set(&self, var: PointerValue<'ctx>, v: impl BasicValue<'ctx>) -> R<()> {
        self.b().build_store(var, v)?;
        Ok(())
    }

    // ----- integer arithmetic -----

    /// a + b
    pub fn add(&self, a: IntValue<'ctx>, b: IntValue<'ctx>) -> R<IntValue<'ctx>> {
        Ok(self.b().build_int_add(a, b, "add")?)
    }
    /// a − b
    pub fn sub(&self, a: IntValue<'ctx>, b: IntValue<'ctx>) -> R<IntValue<'ctx>> {
        Ok(self.b().build_int_sub(a, b, "sub")?)
    }
    /// a · b
    pub fn mul(&self, a: IntValue<'ctx>, b: IntValue<'ctx>) -> R<IntValue<'ctx>> {
        Ok(self.b().build_int_mul(a, b, "mul")?)
    }
    /// i64 `a·c + d` with constants (index arithmetic).
    pub fn affine(&self, a: IntValue<'ctx>, c: usize, d: IntValue<'ctx>) -> R<IntValue<'ctx>> {
        let t = self.mul(a, self.i64c(c as i64))?;
        self.add(t, d)
    }
    /// `a / c` (unsigned, constant divisor).
    pub fn udiv(&self, a: IntValue<'ctx>, c: usize) -> R<IntValue<'ctx>> {
        Ok(self.b().build_int_unsigned_div(a, self.i64c(c as i64), "udiv")?)
    }
    /// `a % c` (unsigned, constant divisor).
    pub fn urem(&self, a: IntValue<'ctx>, c: usize) -> R<IntValue<'ctx>> {
        Ok(self.b().build_int_unsigned_rem(a, self.i64c(c as i64), "urem")?)
    }
    /// Arithmetic shift right by a constant.
    pub fn ashr(&self, a: IntValue<'ctx>, by: u32) -> R<IntValue<'ctx>> {
        let c = a.get_type().const_int(by as u64, false);
        Ok(self.b().build_right_shift(a, c, true, "shr")?)
    }
    /// The bits of an i32 as an f32.
    pub fn bitcast_f32(&self, v: IntValue<'ctx>) -> R<FloatValue<'ctx>> {
        Ok(self.b().build_bit_cast(v, self.f32t(), "bc")?.into_float_value())
    }
    /// Sign or zero extension to `ty`.
    pub fn ext(&self, v: IntValue<'ctx>, ty: IntType<'ctx>, signed: bool) -> R<IntValue<'ctx>> {
        Ok(if signed {
            self.b().build_int_s_extend_or_bit_cast(v, ty, "sx")?
        } else {
            self.b().build_int_z_extend_or_bit_cast(v, ty, "zx")?
        })
    }
    /// Truncation to `ty`.
    pub fn trunc(&self, v: IntValue<'ctx>, ty: IntType<'ctx>) -> R<IntValue<'ctx>> {
        Ok(self.b().build_int_truncate_or_bit_cast(v, ty, "tr")?)
    }
    /// Integer comparison.
    pub fn icmp(&self, p: IntPredicate, a: IntValue<'ctx>, b: IntValue<'ctx>) -> R<IntValue<'ctx>> {
        Ok(self.b().build_int_compare(p, a, b, "ic")?)
    }
    /// `c ? a : b`.
    pub fn select<V: BasicValue<'ctx>>(
        &self,
        c: IntValue<'ctx>,
        a: V,
        b: V,
    ) -> R<BasicValueEnum<'ctx>> {
        Ok(self.b().build_select(c, a, b, "sel")?)
    }
    /// Signed clamp of `v` to `[lo, hi]`.
    pub fn sclamp(
        &self,
        v: IntValue<'ctx>,
        lo: IntValue<'ctx>,
        hi: IntValue<'ctx>,
    ) -> R<IntValue<'ctx>> {
        let c = self.icmp(IntPredicate::SLT, v, lo)?;
        let v = self.select(c, lo, v)?.into_int_value();
        let c = self.icmp(IntPredicate::SGT, v, hi)?;
        Ok(self.select(c, hi, v)?.into_int_value())
    }

    // ----- float arithmetic -----

    /// a + b
    pub fn fadd(&self, a: FloatValue<'ctx>, b: FloatValue<'ctx>) -> R<FloatValue<'ctx>> {
        Ok(self.b().build_float_add(a, b, "fadd")?)
    }
    /// a − b
    pub fn fsub(&self, a: FloatValue<'ctx>, b: FloatValue<'ctx>) -> R<FloatValue<'ctx>> {
        Ok(self.b().build_float_sub(a, b, "fsub")?)
    }
    /// a · b
    pub fn fmul(&self, a: FloatValue<'ctx>, b: FloatValue<'ctx>) -> R<FloatValue<'ctx>> {
        Ok(self.b().build_float_mul(a, b, "fmul")?)
    }
    /// a / b
    pub fn fdiv(&self, a: FloatValue<'ctx>, b: FloatValue<'ctx>) -> R<FloatValue<'ctx>> {
        Ok(self.b().build_float_div(a, b, "fdiv")?)
    }
    /// Float comparison.
    pub fn fcmp(
        &self,
        p: FloatPredicate,
        a: FloatValue<'ctx>,
        b: FloatValue<'ctx>,
    ) -> R<IntValue<'ctx>> {
        Ok(self.b().build_float_compare(p, a, b, "fc")?)
    }
    /// `c ? a : b` on floats.
    pub fn fsel(
        &self,
        c: IntValue<'ctx>,
        a: FloatValue<'ctx>,
        b: FloatValue<'ctx>,
    ) -> R<FloatValue<'ctx>> {
        Ok(self.select(c, a, b)?.into_float_value())
    }
    /// NaN-propagating maximum (NaN if either is NaN).
    pub fn fmax(&self, a: FloatValue<'ctx>, b: FloatValue<'ctx>) -> R<FloatValue<'ctx>> {
        let gt = self.fcmp(FloatPredicate::OGT, a, b)?;
        let m = self.fsel(gt, a, b)?;
        let nan = self.fcmp(FloatPredicate::UNO, a, a)?;
        self.fsel(nan, a, m)
    }
    /// NaN-propagating minimum.
    pub fn fmin(&self, a: FloatValue<'ctx>, b: FloatValue<'ctx>) -> R<FloatValue<'ctx>> {
        let lt = self.fcmp(FloatPredicate::OLT, a, b)?;
        let m = self.fsel(lt, a, b)?;
        let nan = self.fcmp(FloatPredicate::UNO, a, a)?;
        self.fsel(nan, a, m)
    }
    /// Signed integer → f32 (exact up to 2²⁴).
    pub fn sitofp(&self, v: IntValue<'ctx>) -> R<FloatValue<'ctx>> {
        Ok(self.b().build_signed_int_to_float(v, self.f32t(), "cvt")?)
    }
    /// Calls the overloaded intrinsic `name` (overloaded on `tys`).
    pub fn intrinsic(
        &self,
        name: &str,
        tys: &[BasicTypeEnum<'ctx>],
        args: &[BasicValueEnum<'ctx>],
    ) -> R<BasicValueEnum<'ctx>> {
        let i = Intrinsic::find(name)
            .ok_or_else(|| BackendError::codegen(name, "intrinsic not found"))?;
        let f = i
            .get_declaration(&self.cg.module, tys)
            .ok_or_else(|| BackendError::codegen(name, "intrinsic declaration"))?;
        let args: Vec<BasicMetadataValueEnum<'ctx>> = args.iter().map(|&a| a.into()).collect();
        let call = self.b().build_call(f, &args, "call")?;
        match call.try_as_basic_value() {
            inkwell::values::ValueKind::Basic(v) => Ok(v),
            _ => Err(BackendError::codegen(name, "intrinsic returns void")),
        }
    }
    /// Round half to even (`llvm.rint` in the default rounding mode; DESIGN §5: not
    /// `roundeven`, which LLVM 14 mishandles on some targets).
    pub fn rint(&self, v: FloatValue<'ctx>) -> R<FloatValue<'ctx>> {
        let t = self.f32t().as_basic_type_enum();
        Ok(self.intrinsic("llvm.rint", &[t], &[v.into()])?.into_float_value())
    }
    /// `√v` (IEEE).
    pub fn sqrt(&self, v: FloatValue<'ctx>) -> R<FloatValue<'ctx>> {
        let t = self.f32t().as_basic_type_enum();
        Ok(self.intrinsic("llvm.sqrt", &[t], &[v.into()])?.into_float_value())
    }
    /// f32 → i32, saturating, NaN → 0 (`llvm.fptosi.sat`).
    pub fn fptosi_sat(&self, v: FloatValue<'ctx>) -> R<IntValue<'ctx>> {
        let i = self.int(32).as_basic_type_enum();
        let f = self.f32t().as_basic_type_enum();
        Ok(self.intrinsic("llvm.fptosi.sat", &[i, f], &[v.into()])?.into_int_value())
    }

    // ----- quantization arithmetic (exactly `qcc_ir::qmath`) -----

    /// `saturate(round_half_even(t) + zy)` into `[lo, hi]` (NaN gives `zy` clamped), as i32.
    ///
    /// The clamp happens in f32 on the rounded value (to `[lo − zy, hi − zy]`, exact integers
    /// while within 2²⁴), NaN is replaced by 0, and a plain `fptosi` converts: the same integer
    /// as `qmath::round_saturate`, and it vectorizes (LLVM 14 keeps `llvm.fptosi.sat` scalar:
    /// a requantizing depthwise conv ran 1.80 ms with it, 0.26 ms like this). Bounds beyond
    /// 2²⁴ use `llvm.fptosi.sat` and an integer clamp.
    pub fn round_saturate(
        &self,
        t: FloatValue<'ctx>,
        zy: i32,
        lo: i32,
        hi: i32,
    ) -> R<IntValue<'ctx>> {
        let (l, h) = (lo as i64 - zy as i64, hi as i64 - zy as i64);
        const EXACT: i64 = 1 << 24;
        let r = self.rint(t)?;
        if l <= h && l.abs() <= EXACT && h.abs() <= EXACT {
            let (lf, hf) = (self.f32c(l as f32), self.f32c(h as f32));
            let nan = self.fcmp(FloatPredicate::UNO, r, r)?;
            let r = self.fsel(nan, self.f32c(0.0), r)?;
            let r = self.fsel(self.fcmp(FloatPredicate::OLT, r, lf)?, lf, r)?;
            let r = self.fsel(self.fcmp(FloatPredicate::OGT, r, hf)?, hf, r)?;
            let q = self.b().build_float_to_signed_int(r, self.int(32), "cvt")?;
            return self.add(q, self.i32c(zy));
        }
        let q = self.fptosi_sat(r)?;
        // clamp(q + zy, lo, hi) computed as clamp(q, lo − zy, hi − zy) + zy: no i32 overflow.
        let c = |v: i64| v.clamp(i32::MIN as i64, i32::MAX as i64) as i32;
        let q = self.sclamp(q, self.i32c(c(l)), self.i32c(c(h)))?;
        self.add(q, self.i32c(zy))
    }
    /// `saturate(round_half_even(f32(acc − zx)·m) + zy)` for an i32 accumulator.
    pub fn requant(
        &self,
        acc: IntValue<'ctx>,
        zx: i32,
        m: FloatValue<'ctx>,
        zy: i32,
        lo: i32,
        hi: i32,
    ) -> R<IntValue<'ctx>> {
        let a = if zx == 0 { acc } else { self.sub(acc, self.i32c(zx))? };
        let t = self.fmul(self.sitofp(a)?, m)?;
        self.round_saturate(t, zy, lo, hi)
    }
}

/// The inclusive range of i8 (`signed`) or u8.
pub fn q8_range(signed: bool) -> (i32, i32) {
    if signed {
        (-128, 127)
    } else {
        (0, 255)
    }
}
