//! JIT infrastructure: one [`JitModule`] per compiled model; functions are declared, defined
//! (optionally with disassembly kept for inspection) and finalized together. Dropping the module
//! frees its code (Cranelift's JIT otherwise leaks it, one allocation per compiled model).

use crate::isa::{DotPath, IsaOptions, Target};
use crate::BackendError;
use cranelift_codegen::ir::Function;
use cranelift_codegen::Context;
use cranelift_jit::{JITBuilder, JITModule};
use cranelift_module::{FuncId, Linkage, Module};
use std::mem::ManuallyDrop;
use std::time::{Duration, Instant};

/// A Cranelift JIT module for one model, with the dot-product path of its ISA.
///
/// Its owner keeps the function pointers taken with [`JitModule::address`] beside it and must
/// not call them once the module is dropped (its code is freed then).
pub struct JitModule {
    module: ManuallyDrop<JITModule>,
    path: DotPath,
    keep_disasm: bool,
    disasm: Vec<(String, String)>,
    compile_time: Duration,
    finalized: bool,
}

impl JitModule {
    /// A module for the host, with extern "C" helpers registered as symbols.
    pub fn new(
        opts: &IsaOptions,
        symbols: &[(&str, *const u8)],
    ) -> Result<JitModule, BackendError> {
        let target = crate::isa::host_target(opts)?;
        Self::with_target(target, symbols)
    }

    /// A module on an explicit target (must be runnable on the host to call its functions).
    pub fn with_target(
        target: Target,
        symbols: &[(&str, *const u8)],
    ) -> Result<JitModule, BackendError> {
        let mut jb = JITBuilder::with_isa(target.isa, cranelift_module::default_libcall_names());
        for (name, ptr) in symbols {
            jb.symbol(*name, *ptr);
        }
        Ok(JitModule {
            module: ManuallyDrop::new(JITModule::new(jb)),
            path: target.path,
            keep_disasm: false,
            disasm: Vec::new(),
            compile_time: Duration::ZERO,
            finalized: false,
        })
    }

    /// Keep the disassembly (Cranelift's VCode listing) of every function defined from now on.
    pub fn keep_disasm(&mut self, on: bool) {
        self.keep_disasm = on;
    }

    /// The dot-product path of the module's ISA.
    pub fn path(&self) -> DotPath {
        self.path
    }

    /// The module's ISA.
    pub fn isa(&self) -> &dyn cranelift_codegen::isa::TargetIsa {
        self.module.isa()
    }

    /// A reference to function `id` usable in `func` (for direct calls between functions).
    pub fn declare_func_in_func(
        &mut self,
        id: FuncId,
        func: &mut Function,
    ) -> cranelift_codegen::ir::FuncRef {
        self.module.declare_func_in_func(id, func)
    }

    /// The underlying Cranelift module (to declare imports or build signatures).
    pub fn module(&mut self) -> &mut JITModule {
        &mut self.module
    }

    /// Declares and defines a function built elsewhere; returns its id.
    pub fn define(&mut self, name: &str, func: Function) -> Result<FuncId, BackendError> {
        if self.finalized {
            return Err(BackendError::codegen(name, "module already finalized"));
        }
        let start = Instant::now();
        let id = self
            .module
            .declare_function(name, Linkage::Local, &func.signature)
            .map_err(|e| BackendError::codegen(name, e))?;
        let mut ctx = Context::for_function(func);
        ctx.set_disasm(self.keep_disasm);
        self.module
            .define_function(id, &mut ctx)
            .map_err(|e| BackendError::codegen(name, format!("{e:?}")))?;
        if self.keep_disasm {
            if let Some(vcode) = ctx.compiled_code().and_then(|c| c.vcode.clone()) {
                self.disasm.push((name.to_string(), vcode));
            }
        }
        self.compile_time += start.elapsed();
        Ok(id)
    }

    /// Declares and defines many functions, compiling them in parallel (rayon; each function is
    /// independent: Cranelift compiles one `Function` per `Context`). Returns their ids in order.
    /// The machine code is identical to [`JitModule::define`]'s.
    pub fn define_all(
        &mut self,
        funcs: Vec<(String, Function)>,
    ) -> Result<Vec<FuncId>, BackendError> {
        use rayon::prelude::*;
        if self.finalized {
            return Err(BackendError::codegen("<define_all>", "module already finalized"));
        }
        let start = Instant::now();
        let mut ids = Vec::with_capacity(funcs.len());
        for (name, f) in &funcs {
            let id = self
                .module
                .declare_function(name, Linkage::Local, &f.signature)
                .map_err(|e| BackendError::codegen(name, e))?;
            ids.push(id);
        }
        let isa = self.module.isa();
        let min_align = (isa.function_alignment().minimum as u64).max(isa.symbol_alignment());
        let keep = self.keep_disasm;
        let compiled = funcs
            .into_par_iter()
            .zip(ids.par_iter())
            .map(|((name, func), &id)| {
                let mut ctx = Context::for_function(func);
                ctx.set_disasm(keep);
                ctx.compile(isa, &mut Default::default())
                    .map_err(|e| BackendError::codegen(&name, format!("{:?}", e.inner)))?;
                let code = ctx.compiled_code().expect("compiled just above");
                let align = (code.buffer.alignment as u64).max(min_align);
                let relocs: Vec<_> = code
                    .buffer
                    .relocs()
                    .iter()
                    .map(|r| cranelift_module::ModuleReloc::from_mach_reloc(r, &ctx.func, id))
                    .collect();
                let bytes = code.code_buffer().to_vec();
                let vcode = code.vcode.clone();
                Ok((name, id, align, bytes, relocs, vcode))
            })
            .collect::<Result<Vec<_>, BackendError>>()?;
        for (name, id, align, bytes, relocs, vcode) in compiled {
            self.module
                .define_function_bytes(id, align, &bytes, &relocs)
                .map_err(|e| BackendError::codegen(&name, format!("{e:?}")))?;
            if let Some(v) = vcode.filter(|_| keep) {
                self.disasm.push((name, v));
            }
        }
        self.compile_time += start.elapsed();
        Ok(ids)
    }

    /// Finalizes every defined function (makes them executable).
    pub fn finalize(&mut self) -> Result<(), BackendError> {
        let start = Instant::now();
        self.module.finalize_definitions().map_err(|e| BackendError::codegen("<finalize>", e))?;
        self.finalized = true;
        self.compile_time += start.elapsed();
        Ok(())
    }

    /// The address of a finalized function.
    pub fn address(&self, id: FuncId) -> Result<*const u8, BackendError> {
        if !self.finalized {
            return Err(BackendError::codegen("<address>", "module not finalized"));
        }
        Ok(self.module.get_finalized_function(id))
    }

    /// The kept disassembly, `(function name, listing)`.
    pub fn disasm(&self) -> &[(String, String)] {
        &self.disasm
    }

    /// Time spent in Cranelift (define + finalize).
    pub fn compile_time(&self) -> Duration {
        self.compile_time
    }
}

impl Drop for JitModule {
    fn drop(&mut self) {
        // SAFETY: `module` is taken once, here, and never used again. Every owner of a
        // `JitModule` (`CompiledModel`, `JitGemm`) keeps the function pointers it took from it in
        // the same struct and calls them only through `&self`, so none is running or called
        // after this point.
        unsafe { ManuallyDrop::take(&mut self.module).free_memory() };
    }
}
