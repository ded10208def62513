//! Compile-time packing of the weight matrix B (K×N, i8) into column panels of `NR` columns:
//! `[N/NR][K/4][NR][4]` bytes for the VNNI path, `[N/NR][K/2][NR][2]` i16 for the `pmaddwd` path
//! (weights pre-widened, so the inner loop needs no widening). Padding (K and N tails) is zero.

use crate::isa::DotPath;

#[repr(C, align(64))]
#[derive(Clone, Copy)]
struct Line([u8; 64]);

/// A zero-initialized byte buffer aligned to 64 bytes.
#[derive(Clone)]
pub struct AlignedBytes {
    lines: Vec<Line>,
    len: usize,
}

impl AlignedBytes {
    /// `len` zero bytes.
    pub fn zeroed(len: usize) -> AlignedBytes {
        AlignedBytes { lines: vec![Line([0; 64]); len.div_ceil(64).max(1)], len }
    }
    /// The bytes.
    pub fn as_slice(&self) -> &[u8] {
        // SAFETY: `lines` holds at least `len` contiguous initialized bytes.
        unsafe { std::slice::from_raw_parts(self.lines.as_ptr().cast::<u8>(), self.len) }
    }
    /// The bytes, mutably.
    pub fn as_mut_slice(&mut self) -> &mut [u8] {
        // SAFETY: as above, uniquely borrowed.
        unsafe { std::slice::from_raw_parts_mut(self.lines.as_mut_ptr().cast::<u8>(), self.len) }
    }
    /// Start address.
    pub fn as_ptr(&self) -> *const u8 {
        self.lines.as_ptr().cast()
    }
    /// Length in bytes.
    pub fn len(&self) -> usize {
        self.len
    }
    /// True when empty.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }
    /// A buffer holding `v` as little-endian 32-bit words.
    pub fn from_words(v: impl IntoIterator<Item = u32>, count: usize) -> AlignedBytes {
        let mut b = AlignedBytes::zeroed(count * 4);
        let s = b.as_mut_slice();
        for (i, w) in v.into_iter().take(count).enumerate() {
            s[i * 4..i * 4 + 4].copy_from_slice(&w.to_le_bytes());
        }
        b
    }
}

/// Number of k values one packed group covers on `path` (4 for VNNI, 2 for `pmaddwd`).
pub fn group_k(path: DotPath) -> usize {
    match path {
        DotPath::Vnni | DotPath::Usdot => 4,
        DotPath::Pmaddwd => 2,
    }
}

/// Bytes of one packed element on `path`.
pub fn elem_bytes(path: DotPath) -> usize {
    match path {
        DotPath::Vnni | DotPath::Usdot => 1,
        DotPath::Pmaddwd => 2,
    }
}

/// Bytes of one panel of `nr` columns over `k` (padded).
pub fn panel_bytes(path: DotPath, k: usize, nr: usize) -> usize {
    let g = group_k(path);
    k.div_ceil(g) * nr * g * elem_bytes(path)
}

/// Packs row-major `b` (k×n) for `path` with panels of `nr` columns.
pub fn pack_b(b: &[i8], k: usize, n: usize, nr: usize, path: DotPath) -> AlignedBytes {
    assert_eq!(b.len(), k * n, "pack_b: b has {} elements, expected {k}×{n}", b.len());
    let g = group_k(path);
    let panels = n.div_ceil(nr);
    let pb = panel_bytes(path, k, nr);
    let mut out = AlignedBytes::zeroed(panels * pb);
    let o = out.as_mut_slice();
    for kk in 0..k {
        let (kg, t) = (kk / g, kk % g);
        for nn in 0..n {
            let (p, j) = (nn / nr, nn % nr);
            let idx = p * pb + (kg * nr * g + j * g + t) * elem_bytes(path);
            let w = b[kk * n + nn];
            match path {
                DotPath::Vnni | DotPath::Usdot => o[idx] = w as u8,
                DotPath::Pmaddwd => o[idx..idx + 2].copy_from_slice(&(w as i16).to_le_bytes()),
            }
        }
    }
    out
}

/// Column sums of row-major `b` (k×n), exact.
pub fn col_sums(b: &[i8], k: usize, n: usize) -> Vec<i64> {
    let mut s = vec![0i64; n];
    for kk in 0..k {
        for (nn, acc) in s.iter_mut().enumerate() {
            *acc += b[kk * n + nn] as i64;
        }
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn vnni_layout_and_padding() {
        // k=5, n=3, nr=4: two groups of 4 k, one panel.
        let b: Vec<i8> = (0..15).map(|i| i as i8 - 7).collect();
        let p = pack_b(&b, 5, 3, 4, DotPath::Vnni);
        assert_eq!(p.len(), 2 * 4 * 4);
        let s = p.as_slice();
        // group 0, column 1, k = 0..4 → b[k*3+1]
        for t in 0..4 {
            assert_eq!(s[4 + t] as i8, b[t * 3 + 1]);
        }
        // group 1 holds k=4 then zeros; column 3 is padding.
        assert_eq!(s[16] as i8, b[12]);
        assert_eq!(&s[17..20], &[0, 0, 0]);
        assert!(s[12..16].iter().all(|&x| x == 0));
    }

    #[test]
    fn pmaddwd_layout_is_sign_extended() {
        let b: Vec<i8> = vec![-128, 127, -1, 5];
        let p = pack_b(&b, 2, 2, 4, DotPath::Pmaddwd);
        let s = p.as_slice();
        let w = |i: usize| i16::from_le_bytes([s[2 * i], s[2 * i + 1]]);
        assert_eq!((w(0), w(1), w(2), w(3)), (-128, -1, 127, 5));
        assert_eq!(col_sums(&b, 2, 2), vec![-129, 132]);
    }
}
