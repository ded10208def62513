//! The int8 GEMM kernel generator: `C = epilogue(A[M×K] (u8|i8) · B[K×N] i8 + bias)` with B
//! packed at compile time, a register-blocked tile, the VNNI fold or the exact `pmaddwd` path,
//! exact tails, and bias + requantization (+ Relu/Clip) fused ([`spec`] gives the semantics).

pub mod codegen;
pub mod pack;
pub mod spec;

use crate::isa::{DotPath, IsaOptions};
use crate::jit::JitModule;
use crate::BackendError;
use pack::AlignedBytes;
pub use spec::{AType, Epilogue, GemmSpec, Tile};

/// The machine signature of a generated kernel: `(a, b_packed, bias, mult, c, m0, m1)`.
pub type GemmFn =
    unsafe extern "C" fn(*const u8, *const u8, *const u8, *const u8, *mut u8, i64, i64);

/// The compile-time data of one GEMM: packed B, the folded bias (zero points and the i8
/// activation offset included), the per-column multipliers, padded to whole panels.
#[derive(Clone)]
pub struct GemmData {
    /// The spec the data was prepared for.
    pub spec: GemmSpec,
    /// The dot-product path the packing is for.
    pub path: DotPath,
    /// Packed B.
    pub b: AlignedBytes,
    /// Folded bias, i32 per padded column.
    pub bias: AlignedBytes,
    /// Multipliers, f32 per padded column (zeros for the i32 epilogue).
    pub mult: AlignedBytes,
}

impl GemmData {
    /// Packs `b` (row-major k×n) and folds `bias` (length n) for `spec` on `path`.
    pub fn new(
        spec: &GemmSpec,
        path: DotPath,
        b: &[i8],
        bias: Option<&[i32]>,
    ) -> Result<GemmData, BackendError> {
        spec.validate().map_err(BackendError::InvalidSpec)?;
        let (k, n, nr) = (spec.k, spec.n, spec.tile.nr);
        if b.len() != k * n {
            return Err(BackendError::InvalidSpec(format!(
                "B has {} values, expected {k}×{n}",
                b.len()
            )));
        }
        if let Some(bb) = bias {
            if bb.len() != n {
                return Err(BackendError::InvalidSpec(format!(
                    "bias has {} values, expected {n}",
                    bb.len()
                )));
            }
        }
        let np = n.div_ceil(nr) * nr;
        let colsum = pack::col_sums(b, k, n);
        // Σ (a − za) b = Σ a_u8 b − (off + za) colsum, with a_u8 = a + off.
        let off: i64 = match spec.a_type {
            AType::U8 => 0,
            AType::I8 => 128,
        };
        let zx = match &spec.epilogue {
            Epilogue::Requant { acc_zero_point, .. } => *acc_zero_point as i64,
            Epilogue::I32 => 0,
        };
        let folded = (0..np).map(|j| {
            if j >= n {
                return 0u32;
            }
            let v = bias.map_or(0, |bb| bb[j] as i64)
                - (off + spec.a_zero_point as i64) * colsum[j]
                - zx;
            v as i32 as u32
        });
        let bias = AlignedBytes::from_words(folded, np);
        let mult = match &spec.epilogue {
            Epilogue::Requant { multipliers, .. } => AlignedBytes::from_words(
                (0..np).map(|j| {
                    let m = if multipliers.len() == 1 {
                        multipliers[0]
                    } else {
                        multipliers.get(j).copied().unwrap_or(0.0)
                    };
                    if j < n {
                        m.to_bits()
                    } else {
                        0
                    }
                }),
                np,
            ),
            Epilogue::I32 => AlignedBytes::zeroed(np * 4),
        };
        Ok(GemmData { spec: spec.clone(), path, b: pack::pack_b(b, k, n, nr, path), bias, mult })
    }

    /// Calls `f` on rows `m0..m1`.
    ///
    /// # Safety
    /// `f` must be the kernel generated for this data's spec and path, `a` must hold
    /// `spec.a_len()` bytes and `c` `spec.c_len() · out_bytes` bytes, and `m0 ≤ m1 ≤ spec.m`.
    pub unsafe fn call(&self, f: GemmFn, a: *const u8, c: *mut u8, m0: usize, m1: usize) {
        // SAFETY: guaranteed by the caller; the kernel reads B/bias/mult within their padded sizes.
        unsafe {
            f(a, self.b.as_ptr(), self.bias.as_ptr(), self.mult.as_ptr(), c, m0 as i64, m1 as i64)
        }
    }
}

/// A GEMM compiled alone into its own JIT module (tests, benchmarks, the CLI's kernel bench).
pub struct JitGemm {
    data: GemmData,
    func: GemmFn,
    module: JitModule,
}

impl JitGemm {
    /// Generates, packs and compiles.
    pub fn compile(
        spec: &GemmSpec,
        b: &[i8],
        bias: Option<&[i32]>,
        opts: &IsaOptions,
        keep_disasm: bool,
    ) -> Result<JitGemm, BackendError> {
        let mut module = JitModule::new(opts, &[])?;
        module.keep_disasm(keep_disasm);
        let path = module.path();
        let data = GemmData::new(spec, path, b, bias)?;
        let func = codegen::build(spec, path, module.isa(), 0);
        let id = module.define("gemm", func)?;
        module.finalize()?;
        let addr = module.address(id)?;
        // SAFETY: the function was built with `codegen::signature`, which matches `GemmFn`.
        let func = unsafe { std::mem::transmute::<*const u8, GemmFn>(addr) };
        Ok(JitGemm { data, func, module })
    }

    /// The path the kernel was generated for.
    pub fn path(&self) -> DotPath {
        self.data.path
    }

    /// The JIT module (compile time, disassembly).
    pub fn module(&self) -> &JitModule {
        &self.module
    }

    /// The spec.
    pub fn spec(&self) -> &GemmSpec {
        &self.data.spec
    }

    fn check(&self, a: usize, c: usize, ob: usize) -> Result<(), BackendError> {
        let s = &self.data.spec;
        if a < s.a_len() || c < s.c_len() || ob != s.epilogue.out_bytes() {
            return Err(BackendError::BadInput(format!(
                "GEMM {}×{}×{}: A has {a} (needs {}), C has {c} (needs {}) of {ob}-byte elements",
                s.m,
                s.n,
                s.k,
                s.a_len(),
                s.c_len()
            )));
        }
        Ok(())
    }

    /// Runs rows `m0..m1` with 8-bit output (after bounds checks).
    pub fn run_u8(&self, a: &[u8], c: &mut [u8], m0: usize, m1: usize) -> Result<(), BackendError> {
        self.check(a.len(), c.len(), 1)?;
        self.rows_ok(m0, m1)?;
        // SAFETY: sizes checked above.
        unsafe { self.data.call(self.func, a.as_ptr(), c.as_mut_ptr(), m0, m1) };
        Ok(())
    }

    /// Runs rows `m0..m1` with i32 output (after bounds checks).
    pub fn run_i32(
        &self,
        a: &[u8],
        c: &mut [i32],
        m0: usize,
        m1: usize,
    ) -> Result<(), BackendError> {
        self.check(a.len(), c.len(), 4)?;
        self.rows_ok(m0, m1)?;
        // SAFETY: sizes checked above.
        unsafe { self.data.call(self.func, a.as_ptr(), c.as_mut_ptr().cast(), m0, m1) };
        Ok(())
    }

    fn rows_ok(&self, m0: usize, m1: usize) -> Result<(), BackendError> {
        if m0 > m1 || m1 > self.data.spec.m {
            return Err(BackendError::BadInput(format!("rows {m0}..{m1} of {}", self.data.spec.m)));
        }
        Ok(())
    }
}
