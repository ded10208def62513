//! Bit-exactness of the generated GEMM kernels against the scalar `qmath` reference, on both
//! dot-product paths, over random shapes (1, odd sizes, tails) and values (saturation, ties).

use proptest::prelude::*;
use qcc_backend_cranelift::gemm::{spec, AType, Epilogue, GemmSpec, JitGemm, Tile};
use qcc_backend_cranelift::isa::HostFeatures;
use qcc_backend_cranelift::{DotPath, IsaOptions};

fn opts(force_pmaddwd: bool) -> IsaOptions {
    IsaOptions { disable_vnni: force_pmaddwd, ..IsaOptions::default() }
}

/// Runs the kernel (all rows, split in two calls to exercise `m0..m1`) and the reference.
fn check(spec: &GemmSpec, a: &[u8], b: &[i8], bias: Option<&[i32]>, force_pmaddwd: bool) {
    let g = JitGemm::compile(spec, b, bias, &opts(force_pmaddwd), false).expect("compile");
    if force_pmaddwd {
        assert_eq!(g.path(), DotPath::Pmaddwd);
    }
    let want = spec::reference(spec, a, b, bias);
    let split = spec.m / 2 + 1;
    let split = split.min(spec.m);
    let got: Vec<i32> = match spec.epilogue {
        Epilogue::I32 => {
            let mut c = vec![0x5a5a5a5ai32; spec.c_len()];
            g.run_i32(a, &mut c, 0, split).unwrap();
            g.run_i32(a, &mut c, split, spec.m).unwrap();
            (0..spec.m).flat_map(|m| c[m * spec.ldc..m * spec.ldc + spec.n].to_vec()).collect()
        }
        Epilogue::Requant { signed, .. } => {
            let mut c = vec![0xa5u8; spec.c_len()];
            g.run_u8(a, &mut c, 0, split).unwrap();
            g.run_u8(a, &mut c, split, spec.m).unwrap();
            // Padding between rows must be untouched.
            for m in 0..spec.m.saturating_sub(1) {
                assert!(c[m * spec.ldc + spec.n..(m + 1) * spec.ldc].iter().all(|&x| x == 0xa5));
            }
            (0..spec.m)
                .flat_map(|m| c[m * spec.ldc..m * spec.ldc + spec.n].to_vec())
                .map(|x| if signed { x as i8 as i32 } else { x as i32 })
                .collect()
        }
    };
    for (i, (g, w)) in got.iter().zip(&want).enumerate() {
        assert_eq!(g, w, "C[{}, {}] of {spec:?}", i / spec.n, i % spec.n);
    }
}

#[derive(Debug, Clone)]
struct Case {
    spec: GemmSpec,
    a: Vec<u8>,
    b: Vec<i8>,
    bias: Option<Vec<i32>>,
}

fn case() -> impl Strategy<Value = Case> {
    let dims = (
        prop_oneof![Just(1usize), 1usize..20],
        prop_oneof![Just(1usize), 1usize..40],
        prop_oneof![Just(1usize), 1usize..70],
    );
    let tile =
        prop_oneof![Just(Tile::DEFAULT), Just(Tile { mr: 6, nr: 8 }), Just(Tile { mr: 3, nr: 4 })];
    (dims, tile, any::<bool>(), 0usize..3, 0usize..3, any::<bool>(), any::<bool>(), any::<u64>())
        .prop_map(|((m, n, k), tile, a_signed, lda_pad, ldc_pad, requant, out_signed, seed)| {
            let mut rng = seed;
            let mut next = move || {
                rng ^= rng << 13;
                rng ^= rng >> 7;
                rng ^= rng << 17;
                rng
            };
            let a_type = if a_signed { AType::I8 } else { AType::U8 };
            let a_zero_point = match a_type {
                AType::U8 => (next() % 256) as i32,
                AType::I8 => (next() % 256) as i32 - 128,
            };
            let (tlo, thi) = if out_signed { (-128, 127) } else { (0, 255) };
            let epilogue = if requant {
                // Multipliers that produce ties (powers of two) and saturation (large).
                let per_channel = next() % 2 == 0;
                let count = if per_channel { n } else { 1 };
                let multipliers = (0..count)
                    .map(|_| match next() % 4 {
                        0 => 0.5,
                        1 => 0.25,
                        2 => 1.0 / (1 + next() % 3000) as f32,
                        _ => (next() % 1000) as f32 / 997.0 + 0.001,
                    })
                    .collect();
                let zero_point = tlo + (next() % 256) as i32;
                let (mut lo, mut hi) = (tlo, thi);
                if next() % 3 == 0 {
                    lo = zero_point.max(tlo); // fused Relu
                }
                if next() % 4 == 0 {
                    hi = (lo + (next() % 64) as i32).min(thi); // fused Clip
                }
                Epilogue::Requant {
                    signed: out_signed,
                    acc_zero_point: (next() % 7) as i32 - 3,
                    multipliers,
                    zero_point,
                    lo,
                    hi,
                }
            } else {
                Epilogue::I32
            };
            let spec = GemmSpec {
                m,
                n,
                k,
                lda: k + lda_pad,
                ldc: n + ldc_pad,
                a_type,
                a_zero_point,
                epilogue,
                tile,
            };
            // Extremes often, to hit saturation.
            let byte = |r: u64| match r % 5 {
                0 => 0u8,
                1 => 255u8,
                2 => 128u8,
                _ => (r >> 8) as u8,
            };
            let a = (0..spec.a_len()).map(|_| byte(next())).collect();
            let b = (0..k * n).map(|_| byte(next()) as i8).collect();
            let bias = (next() % 2 == 0)
                .then(|| (0..n).map(|_| (next() % 200_001) as i32 - 100_000).collect());
            Case { spec, a, b, bias }
        })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    #[test]
    fn pmaddwd_path_is_bit_exact(c in case()) {
        check(&c.spec, &c.a, &c.b, c.bias.as_deref(), true);
    }

    /// The host's own path: VNNI where the CPU has it (`vpdpbusd`), else `pmaddwd`.
    #[test]
    fn host_path_is_bit_exact(c in case()) {
        check(&c.spec, &c.a, &c.b, c.bias.as_deref(), false);
    }
}

#[test]
fn host_path_follows_cpu_features() {
    let g = JitGemm::compile(
        &GemmSpec::new(1, 4, 4, AType::U8, Epilogue::I32),
        &[1; 16],
        None,
        &IsaOptions::default(),
        false,
    )
    .unwrap();
    let want = if HostFeatures::detect().has_vnni() { DotPath::Vnni } else { DotPath::Pmaddwd };
    eprintln!("host GEMM path: {}", g.path().name());
    assert_eq!(g.path(), want);
}

#[test]
fn big_tail_shapes_are_exact() {
    // Several full k steps, full and partial panels, full and partial tiles.
    for &(m, n, k) in &[(7usize, 37usize, 100usize), (13, 16, 64), (2, 33, 17), (1, 1, 1)] {
        let spec = GemmSpec::new(
            m,
            n,
            k,
            AType::I8,
            Epilogue::Requant {
                signed: true,
                acc_zero_point: 0,
                multipliers: (0..n).map(|j| 0.001 * (j + 1) as f32).collect(),
                zero_point: -3,
                lo: -128,
                hi: 127,
            },
        );
        let a: Vec<u8> = (0..m * k).map(|i| (i * 37 % 256) as u8).collect();
        let b: Vec<i8> = (0..k * n).map(|i| (i * 91 % 256) as u8 as i8).collect();
        let bias: Vec<i32> = (0..n).map(|j| j as i32 * 1000 - 7000).collect();
        check(&spec, &a, &b, Some(&bias), true);
        check(&spec, &a, &b, Some(&bias), false);
    }
}

#[test]
fn bad_buffers_are_errors() {
    let spec = GemmSpec::new(4, 4, 4, AType::U8, Epilogue::I32);
    let g = JitGemm::compile(&spec, &[0; 16], None, &IsaOptions::default(), false).unwrap();
    let mut c = vec![0i32; 15];
    assert!(g.run_i32(&[0; 16], &mut c, 0, 4).is_err());
    let mut c = vec![0i32; 16];
    assert!(g.run_i32(&[0; 15], &mut c, 0, 4).is_err());
    assert!(g.run_i32(&[0; 16], &mut c, 0, 5).is_err());
    let mut c8 = vec![0u8; 16];
    assert!(g.run_u8(&[0; 16], &mut c8, 0, 4).is_err());
    assert!(JitGemm::compile(&spec, &[0; 15], None, &IsaOptions::default(), false).is_err());
}
