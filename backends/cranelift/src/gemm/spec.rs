//! What a GEMM kernel computes: shapes, operand types, the fused epilogue, and the exact scalar
//! reference (built on `qcc_ir::qmath`) every generated kernel is checked against.
//!
//! `C[m, n] = epilogue(Σ_k (A[m, k] − za) · B[k, n] + bias[n])` with A u8 or i8 (row stride
//! `lda`), B i8 (K×N, packed at compile time), and the epilogue either the raw i32 accumulator or
//! `qmath::requantize(acc, zx, mult[n], zy, lo, hi)` where `[lo, hi]` is the output type's range
//! narrowed by a fused Relu/Clip.

use qcc_ir::qmath;

/// The element type of the A operand (activations).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AType {
    /// Unsigned 8-bit.
    U8,
    /// Signed 8-bit (the kernel flips the sign bit and folds −128·colsum(B) into the bias).
    I8,
}

/// The fused epilogue and output type.
#[derive(Debug, Clone, PartialEq)]
pub enum Epilogue {
    /// Store the i32 accumulator (plus bias).
    I32,
    /// Requantize to 8 bits: `saturate(round_half_even(f32(acc − zx) · mult[n]) + zy)` into
    /// `[lo, hi]`.
    Requant {
        /// Signed (i8) or unsigned (u8) output.
        signed: bool,
        /// Zero point of the accumulator (`zx`), usually 0.
        acc_zero_point: i32,
        /// One multiplier, or one per output column.
        multipliers: Vec<f32>,
        /// Output zero point.
        zero_point: i32,
        /// Lowest output value (type minimum, or raised by Relu/Clip).
        lo: i32,
        /// Highest output value.
        hi: i32,
    },
}

impl Epilogue {
    /// Bytes per output element.
    pub fn out_bytes(&self) -> usize {
        match self {
            Epilogue::I32 => 4,
            Epilogue::Requant { .. } => 1,
        }
    }
}

/// Register tile: `mr` rows × `nr` columns of accumulators.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Tile {
    /// Rows.
    pub mr: usize,
    /// Columns (multiple of 4, at most 16).
    pub nr: usize,
}

impl Tile {
    /// The default 2×16 tile (8 accumulators, 4 B vectors).
    pub const DEFAULT: Tile = Tile { mr: 2, nr: 16 };
}

/// Everything that specializes a GEMM kernel except the data.
#[derive(Debug, Clone, PartialEq)]
pub struct GemmSpec {
    /// Rows of A and C.
    pub m: usize,
    /// Columns of B and C.
    pub n: usize,
    /// The reduction extent.
    pub k: usize,
    /// Row stride of A in elements (≥ k).
    pub lda: usize,
    /// Row stride of C in elements (≥ n).
    pub ldc: usize,
    /// Element type of A.
    pub a_type: AType,
    /// Zero point of A.
    pub a_zero_point: i32,
    /// The fused epilogue.
    pub epilogue: Epilogue,
    /// The register tile.
    pub tile: Tile,
}

impl GemmSpec {
    /// A dense spec (`lda = k`, `ldc = n`) with the default tile.
    pub fn new(m: usize, n: usize, k: usize, a_type: AType, epilogue: Epilogue) -> GemmSpec {
        GemmSpec { m, n, k, lda: k, ldc: n, a_type, a_zero_point: 0, epilogue, tile: Tile::DEFAULT }
    }

    /// Checks the spec; the generator relies on it.
    pub fn validate(&self) -> Result<(), String> {
        if self.n == 0 || self.k == 0 {
            return Err(format!("empty GEMM n={} k={}", self.n, self.k));
        }
        if self.lda < self.k || self.ldc < self.n {
            return Err(format!(
                "strides lda={} ldc={} below k={} n={}",
                self.lda, self.ldc, self.k, self.n
            ));
        }
        let Tile { mr, nr } = self.tile;
        if !(1..=6).contains(&mr) || nr == 0 || nr % 4 != 0 || nr > 16 || mr * nr / 4 > 12 {
            return Err(format!("unsupported tile {mr}×{nr}"));
        }
        let (lo_t, hi_t) = match self.a_type {
            AType::U8 => (0, 255),
            AType::I8 => (-128, 127),
        };
        if !(lo_t..=hi_t).contains(&self.a_zero_point) {
            return Err(format!("A zero point {} out of range", self.a_zero_point));
        }
        if let Epilogue::Requant { signed, multipliers, zero_point, lo, hi, .. } = &self.epilogue {
            let (tlo, thi) = if *signed { (-128, 127) } else { (0, 255) };
            if multipliers.len() != 1 && multipliers.len() != self.n {
                return Err(format!("{} multipliers for n={}", multipliers.len(), self.n));
            }
            if !(tlo..=thi).contains(zero_point) || lo > hi || *lo < tlo || *hi > thi {
                return Err(format!("bad output range [{lo}, {hi}] or zero point {zero_point}"));
            }
        }
        let bytes = |rows: usize, ld: usize, cols: usize| {
            rows.checked_sub(1).map_or(Some(0), |r| r.checked_mul(ld)?.checked_add(cols))
        };
        if bytes(self.m, self.lda, self.k).is_none() || bytes(self.m, self.ldc, self.n).is_none() {
            return Err("GEMM extents overflow".into());
        }
        Ok(())
    }

    /// Elements of A the kernel reads for rows `0..m`.
    pub fn a_len(&self) -> usize {
        if self.m == 0 {
            0
        } else {
            (self.m - 1) * self.lda + self.k
        }
    }

    /// Elements of C the kernel writes for rows `0..m`.
    pub fn c_len(&self) -> usize {
        if self.m == 0 {
            0
        } else {
            (self.m - 1) * self.ldc + self.n
        }
    }
}

/// The exact scalar reference: row-major `a` (as raw bytes, interpreted per `spec.a_type`),
/// row-major `b` (k×n), optional bias; returns C as i32 values (8-bit outputs widened).
pub fn reference(spec: &GemmSpec, a: &[u8], b: &[i8], bias: Option<&[i32]>) -> Vec<i32> {
    let mut c = vec![0i32; spec.m * spec.n];
    for m in 0..spec.m {
        for n in 0..spec.n {
            let mut acc: i64 = bias.map_or(0, |bb| bb[n] as i64);
            for k in 0..spec.k {
                let raw = a[m * spec.lda + k];
                let av = match spec.a_type {
                    AType::U8 => raw as i64,
                    AType::I8 => raw as i8 as i64,
                };
                acc += (av - spec.a_zero_point as i64) * b[k * spec.n + n] as i64;
            }
            c[m * spec.n + n] = match &spec.epilogue {
                Epilogue::I32 => acc as i32,
                Epilogue::Requant { acc_zero_point, multipliers, zero_point, lo, hi, .. } => {
                    let mult = if multipliers.len() == 1 { multipliers[0] } else { multipliers[n] };
                    qmath::requantize(acc, *acc_zero_point, mult, *zero_point, *lo, *hi)
                }
            };
        }
    }
    c
}
