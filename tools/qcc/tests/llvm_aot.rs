//! `qcc compile --backend llvm` objects run outside the compiler: x86-64 linked natively with
//! gcc (this machine's CPU, and for mlp_digits also `--cpu x86-64`, the SSE2 baseline), AArch64
//! linked with `aarch64-linux-gnu-gcc -static` and run under `qemu-aarch64-static`, wasm32
//! linked with `rust-lld -flavor wasm` (or `wasm-ld`) and run in Node.js. For the int8
//! mlp_digits and mobilenetv2_random (quantized as `tests/aot.rs` does) every output equals the
//! interpreter's on the same integer graph bit for bit; wrong buffer sizes, null pointers and a
//! misaligned arena give the documented error codes (2, 3, 1, 1), never a crash; an
//! out-of-range Gather index gives 4; compiling the same graph twice gives the same object.
//!
//! x86-64 objects for CPUs without SSE4.1 (`--cpu x86-64`) call libm's `rintf` for the
//! round-half-to-even of requantization (`llvm.rint`): link them with `-lm`. The other objects
//! call only `memcpy`/`memset` (x86-64, AArch64: libc) or nothing (wasm32: bulk memory).
//!
//! Needs gcc, `aarch64-linux-gnu-gcc`, `qemu-aarch64-static`, `node` and a wasm linker (the
//! Rust toolchain's `rust-lld`, found through `rustc --print sysroot`, or `wasm-ld`); without
//! one the test fails and says which.
//!
//! Measured on the 2-core development machine (shared with other builds, so times are rough),
//! `cargo test -p qcc --test llvm_aot -- --nocapture` (qcc in the test profile, opt-level 3;
//! compile time = the whole `qcc compile` of the int8 `.qir`, loading included; sizes of the
//! `.o` files):
//!
//! (ranges: tests alone or the three tests in parallel on the 2 cores)
//!
//! | model (int8), target                     | `.o` bytes | `.text` bytes | compile |
//! |------------------------------------------|-----------:|--------------:|--------:|
//! | mlp_digits, x86-64 (host: AMD EPYC, AVX-512) | 3,756,352 |       2,353 | 0.4–0.7 s |
//! | mlp_digits, x86-64 `--cpu x86-64`        |  3,757,424 |               | 0.3–0.7 s |
//! | mlp_digits, AArch64                      |  3,755,744 |         1,784 | 0.3–0.6 s |
//! | mlp_digits, wasm32 (`.wasm` 3,756,781)   |  3,757,233 |               | 0.3–0.7 s |
//! | mobilenetv2_random, x86-64 (host)        |  7,257,688 |       177,782 | 6.5–10 s |
//! | mobilenetv2_random, AArch64              |  7,152,680 |       114,384 | 4.0–6.8 s |
//! | mobilenetv2_random, wasm32 (`.wasm` 7,174,480) | 7,186,742 |         | 3.6–6.0 s |
//!
//! The rest of each object is the weights: about twice the int8 bytes (1.87 MB and 3.55 MB in
//! `int.safetensors`): the gemm kernels pack B as i16 pairs (`kernels/gemm.rs`, `pack_b`). The
//! Cranelift objects of the same graphs for AArch64 are 5,630,608 and 10,932,272 bytes. The
//! whole test takes about 30 s.
#![cfg(feature = "llvm")]

use qcc_ir::Tensor;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..").canonicalize().unwrap()
}

fn on_path(tool: &str) -> bool {
    Command::new("sh")
        .args(["-c", &format!("command -v {tool}")])
        .output()
        .is_ok_and(|o| o.status.success())
}

fn need(tool: &str, package: &str) {
    assert!(
        on_path(tool),
        "`{tool}` is needed for the LLVM AOT test: apt-get install {package} (tools/ci/test.sh does)"
    );
}

/// A wasm linker: `[program, args before the linker's own]`.
fn wasm_linker() -> Vec<String> {
    if on_path("wasm-ld") {
        return vec!["wasm-ld".into()];
    }
    let sysroot = Command::new("rustc")
        .args(["--print", "sysroot"])
        .output()
        .ok()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string());
    if let Some(root) = sysroot {
        let rustlib = Path::new(&root).join("lib/rustlib");
        for e in std::fs::read_dir(&rustlib).into_iter().flatten().flatten() {
            let lld = e.path().join("bin/rust-lld");
            if lld.is_file() {
                return vec![lld.display().to_string(), "-flavor".into(), "wasm".into()];
            }
        }
    }
    panic!(
        "no wasm linker for the LLVM AOT test: install lld (`wasm-ld`) or use a Rust toolchain \
         that ships rust-lld (rustup's do: lib/rustlib/<host>/bin/rust-lld)"
    );
}

fn qcc(args: &[&str]) {
    let o =
        Command::new(env!("CARGO_BIN_EXE_qcc")).current_dir(repo()).args(args).output().unwrap();
    assert!(o.status.success(), "qcc {args:?}: {}", String::from_utf8_lossy(&o.stderr));
}

fn run_ok(cmd: &mut Command, what: &str) {
    let o = cmd.output().unwrap_or_else(|e| panic!("{what}: {e}"));
    assert!(
        o.status.success(),
        "{what}: exit {:?}\n{}{}",
        o.status.code(),
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    );
}

/// The C program: reads the inputs (concatenated raw bytes) from argv[1], checks the error codes
/// of bad calls, runs the model, checks its return code is argv[3] and on 0 writes the outputs
/// to argv[2].
fn c_harness(prefix: &str) -> String {
    let up = prefix.to_ascii_uppercase();
    format!(
        r#"#include <stdio.h>
#include <stdlib.h>
#include "{prefix}.h"
static const uint64_t in_bytes[] = {{ {up}_INPUT0_BYTES }};
static const uint64_t out_bytes[] = {{ {up}_OUTPUT0_BYTES }};
int main(int argc, char **argv) {{
  if (argc != 4 || {up}_NUM_INPUTS != 1 || {up}_NUM_OUTPUTS != 1) return 90;
  void *arena = aligned_alloc(64, ({up}_ARENA_SIZE + 63) / 64 * 64);
  void *in = malloc(in_bytes[0]), *out = malloc(out_bytes[0]);
  FILE *f = fopen(argv[1], "rb");
  if (!f || fread(in, 1, in_bytes[0], f) != in_bytes[0]) return 91;
  fclose(f);
  const void *ins[] = {{ in }}, *null_ins[] = {{ NULL }};
  void *outs[] = {{ out }};
  uint64_t short_in[] = {{ in_bytes[0] - 1 }}, long_out[] = {{ out_bytes[0] + 4 }};
  int codes[] = {{
    {prefix}_run(arena, ins, short_in, outs, out_bytes),
    {prefix}_run(arena, ins, in_bytes, outs, long_out),
    {prefix}_run(NULL, ins, in_bytes, outs, out_bytes),
    {prefix}_run((char *)arena + 8, ins, in_bytes, outs, out_bytes),
    {prefix}_run(arena, null_ins, in_bytes, outs, out_bytes),
    {prefix}_run(arena, ins, NULL, outs, out_bytes),
  }};
  int want[] = {{ 2, 3, 1, 1, 1, 1 }};
  for (int i = 0; i < 6; i++)
    if (codes[i] != want[i]) {{
      fprintf(stderr, "bad call %d returned %d, expected %d\n", i, codes[i], want[i]);
      return 92;
    }}
  int rc = {prefix}_run(arena, ins, in_bytes, outs, out_bytes);
  if (rc != atoi(argv[3])) {{ fprintf(stderr, "run returned %d, expected %s\n", rc, argv[3]); return 93; }}
  if (rc != 0) return 0;
  f = fopen(argv[2], "wb");
  fwrite(out, 1, out_bytes[0], f);
  fclose(f);
  return 0;
}}
"#
    )
}

/// The Node.js program: `node run.js MODULE.wasm PREFIX ARENA IN_BYTES OUT_BYTES IN OUT RC`.
/// Lays out the arena (64-byte aligned), the input, the output and the pointer/size arrays above
/// the linker's `__heap_base`, grows the memory to fit, checks the error codes of bad calls as
/// the C program does, runs the model, checks its return code is RC and on 0 writes the output.
const JS_HARNESS: &str = r#"
const fs = require('fs');
const [wasm, prefix, arenaS, inS, outS, inPath, outPath, rcS] = process.argv.slice(2);
const [arenaSize, inBytes, outBytes] = [arenaS, inS, outS].map(Number);
const up = (x, a) => Math.ceil(x / a) * a;
WebAssembly.instantiate(fs.readFileSync(wasm), {}).then(({ instance }) => {
  const e = instance.exports;
  const run = e[prefix + '_run'];
  if (typeof run !== 'function') throw new Error('no export ' + prefix + '_run');
  const arena = up(e.__heap_base.value, 64);
  const inp = up(arena + arenaSize, 64), out = up(inp + inBytes, 64);
  const ptrs = up(out + outBytes, 64); // ins[1], outs[1], null_ins[1]: u32 each
  const sizes = ptrs + 64; // in_bytes, out_bytes, short_in, long_out: u64 each
  const end = sizes + 64;
  const have = e.memory.buffer.byteLength;
  if (end > have) e.memory.grow(Math.ceil((end - have) / 65536));
  const mem = e.memory.buffer;
  new Uint8Array(mem, inp, inBytes).set(fs.readFileSync(inPath).subarray(0, inBytes));
  new Uint32Array(mem, ptrs, 3).set([inp, out, 0]);
  new BigUint64Array(mem, sizes, 4).set([inBytes, outBytes, inBytes - 1, outBytes + 4].map(BigInt));
  const [ins, outs, nullIns] = [ptrs, ptrs + 4, ptrs + 8];
  const [inB, outB, shortIn, longOut] = [sizes, sizes + 8, sizes + 16, sizes + 24];
  const codes = [
    run(arena, ins, shortIn, outs, outB),
    run(arena, ins, inB, outs, longOut),
    run(0, ins, inB, outs, outB),
    run(arena + 8, ins, inB, outs, outB),
    run(arena, nullIns, inB, outs, outB),
    run(arena, ins, 0, outs, outB),
  ];
  if (codes.join() !== [2, 3, 1, 1, 1, 1].join()) {
    console.error('error codes ' + codes.join() + ', expected 2,3,1,1,1,1');
    process.exit(92);
  }
  const rc = run(arena, ins, inB, outs, outB);
  if (rc !== Number(rcS)) { console.error('run returned ' + rc + ', expected ' + rcS); process.exit(93); }
  if (rc !== 0) return;
  fs.writeFileSync(outPath, new Uint8Array(e.memory.buffer, out, outBytes));
});
"#;

/// Size of the `OUT.o` and the time of `qcc compile`.
fn compile(int: &str, target: &str, extra: &[&str], out: &str) -> (u64, f64) {
    let t = Instant::now();
    let mut args = vec!["compile", int, "--backend", "llvm", "--target", target];
    args.extend(extra);
    args.extend(["-o", out]);
    qcc(&args);
    let secs = t.elapsed().as_secs_f64();
    (std::fs::metadata(format!("{out}.o")).unwrap().len(), secs)
}

/// Compiles `qir` for `target` (`x86_64`, `aarch64` or `wasm32`; `extra`: more `qcc compile`
/// options) as `dir/prefix.o` and links it with its harness; returns the command line that runs
/// the program (append `IN OUT RC`) and the object size and compile time.
fn build(
    dir: &Path,
    qir: &str,
    prefix: &str,
    target: &str,
    extra: &[&str],
) -> (Vec<String>, (u64, f64)) {
    let d = |f: &str| dir.join(f).display().to_string();
    let fig = compile(qir, target, extra, &d(prefix));
    let obj = d(&format!("{prefix}.o"));
    if target == "wasm32" {
        let lld = wasm_linker();
        let wasm = d(&format!("{prefix}.wasm"));
        let export = format!("--export={prefix}_run");
        let mut cmd = Command::new(&lld[0]);
        cmd.args(&lld[1..]).args(["--no-entry", &export, "--export=__heap_base"]);
        cmd.args(["-z", "stack-size=8388608", "-o", &wasm, &obj]);
        run_ok(&mut cmd, &format!("{prefix}: wasm link ({})", lld.join(" ")));
        std::fs::write(dir.join("run.js"), JS_HARNESS).unwrap();
        let header = std::fs::read_to_string(d(&format!("{prefix}.h"))).unwrap();
        let define = |what: &str| -> String {
            let key = format!("#define {}_{what} ", prefix.to_ascii_uppercase());
            let line = header.lines().find(|l| l.starts_with(&key)).expect("header define");
            line[key.len()..].trim_end_matches('u').to_string()
        };
        let run = vec![
            "node".into(),
            d("run.js"),
            wasm,
            prefix.into(),
            define("ARENA_SIZE"),
            define("INPUT0_BYTES"),
            define("OUTPUT0_BYTES"),
        ];
        return (run, fig);
    }
    let src = d(&format!("{prefix}.c"));
    std::fs::write(&src, c_harness(prefix)).unwrap();
    let exe = d(&format!("{prefix}.exe"));
    let (cc, run): (&[&str], Vec<String>) = match target {
        "aarch64" => {
            (&["aarch64-linux-gnu-gcc", "-static"], vec!["qemu-aarch64-static".into(), exe.clone()])
        }
        _ => (&["gcc"], vec![exe.clone()]),
    };
    run_ok(
        Command::new(cc[0]).args(&cc[1..]).args(["-O1", "-o", &exe, &src, &obj, "-lm"]),
        &format!("{prefix}: {}", cc[0]),
    );
    (run, fig)
}

/// Runs a program from [`build`] on `input`; checks its return code is `rc`; returns the output.
fn run(cmd: &[String], dir: &Path, input: &[u8], rc: i32, what: &str) -> Vec<u8> {
    let (inp, out) = (dir.join("in.bin"), dir.join("out.bin"));
    std::fs::write(&inp, input).unwrap();
    std::fs::remove_file(&out).ok();
    let mut c = Command::new(&cmd[0]);
    c.args(&cmd[1..]).arg(&inp).arg(&out).arg(rc.to_string());
    run_ok(&mut c, what);
    std::fs::read(&out).unwrap_or_default()
}

fn need_all() {
    need("gcc", "gcc");
    need("aarch64-linux-gnu-gcc", "gcc-aarch64-linux-gnu");
    need("qemu-aarch64-static", "qemu-user-static");
    need("node", "nodejs");
    wasm_linker();
}

fn temp_dir(tag: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("qcc-llvm-aot-{}-{tag}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// Quantizes `model`, compiles it with the LLVM backend for x86-64 (host CPU, and
/// `extra_x86` CPUs), AArch64 and wasm32, runs the programs on the first eval sample and
/// compares with the interpreter on the same integer graph.
fn check(model_dir: &Path, tag: &str, extra_x86: &[&str], twice: bool) {
    need_all();
    let dir = temp_dir(tag);
    let d = |f: &str| dir.join(f).display().to_string();
    let m = |f: &str| model_dir.join(f).display().to_string();
    qcc(&["quantize", &m("model.onnx"), "--calib", &m("calib.npz"), "-o", &d("int.qir")]);
    let int = qcc_ir::weights::load_qir(&dir.join("int.qir")).unwrap();
    let eval = qcc::data::read_npz(&model_dir.join("eval.npz")).unwrap();
    let sample = qcc::model::bind_samples(&int, &eval, "eval.npz").unwrap().remove(0);
    let want = qcc_ir::interp::run(&int, &sample).unwrap();
    assert_eq!(want.len(), 1, "{tag}: the harnesses take one output");
    let input: Vec<u8> = sample.iter().flat_map(Tensor::to_le_bytes).collect();
    let expect = want[0].to_le_bytes();

    let mut builds: Vec<(String, &str, Vec<&str>)> = vec![("x86_64".into(), "x86_64", vec![])];
    for cpu in extra_x86 {
        let label = format!("x86_64_{}", cpu.replace('-', "_"));
        builds.push((label, "x86_64", vec!["--cpu", cpu]));
    }
    builds.push(("aarch64".into(), "aarch64", vec![]));
    builds.push(("wasm32".into(), "wasm32", vec![]));
    let mut figures = Vec::new();
    for (label, target, extra) in &builds {
        let prefix = format!("{tag}_{label}");
        let (cmd, fig) = build(&dir, &d("int.qir"), &prefix, target, extra);
        figures.push((label, fig));
        let got = run(&cmd, &dir, &input, 0, &format!("{prefix}: {}", cmd.join(" ")));
        assert!(got == expect, "{tag}: {label} differs from the interpreter");
    }
    if twice {
        std::fs::create_dir_all(dir.join("again")).unwrap();
        let again = dir.join("again").join(format!("{tag}_aarch64")).display().to_string();
        compile(&d("int.qir"), "aarch64", &[], &again);
        assert!(
            std::fs::read(d(&format!("{tag}_aarch64.o"))).unwrap()
                == std::fs::read(format!("{again}.o")).unwrap(),
            "{tag}: two compilations of one graph gave different objects"
        );
    }
    for (label, (bytes, secs)) in figures {
        eprintln!("{tag} {label}: object {bytes} bytes, qcc compile {secs:.2} s");
    }
    std::fs::remove_dir_all(&dir).ok();
}

/// The ELF object at `obj` defines one global symbol, `PREFIX_run` (so several models link into
/// one program), and needs nothing but `memcpy`/`memset` (and `rintf` below SSE4.1).
fn exports_only_run(obj: &Path, prefix: &str) {
    need("nm", "binutils");
    let nm = |flag: &str| -> Vec<String> {
        let o = Command::new("nm").args([flag, "--format=just-symbols"]).arg(obj).output().unwrap();
        assert!(o.status.success(), "nm {flag} {}", obj.display());
        String::from_utf8_lossy(&o.stdout).lines().map(str::to_string).collect()
    };
    let globals: Vec<String> = nm("--extern-only").into_iter().filter(|s| !s.is_empty()).collect();
    let undefined = nm("--undefined-only");
    let defined: Vec<&String> = globals.iter().filter(|s| !undefined.contains(s)).collect();
    assert_eq!(defined, [&format!("{prefix}_run")], "{}: global symbols", obj.display());
    for u in &undefined {
        assert!(
            ["memcpy", "memset", "rintf"].contains(&u.as_str()),
            "{}: needs `{u}`",
            obj.display()
        );
    }
}

/// A Gather with an out-of-range index: the kernel sets the status word, the entry returns 4
/// (and the next, valid run returns 0 with the interpreter's output: the status word is reset).
#[test]
fn out_of_range_gather_index_returns_code_4_on_every_target() {
    use qcc_ir::ops::AxisAttrs;
    use qcc_ir::{DType, Graph, Op, TensorType};
    need_all();
    let dir = temp_dir("gather");
    let mut g = Graph::new("gather");
    let data = Tensor::f32(&[4, 3], (0..12).map(|v| v as f32 * 0.5 - 1.0).collect());
    let table = g.add_const("table", data);
    let idx = g.add_input("idx", TensorType::fixed(DType::I64, &[2]));
    let out = TensorType::fixed(DType::F32, &[2, 3]);
    let y = g.add_op(Op::Gather(AxisAttrs { axis: 0 }), "pick", &[table, idx], out).unwrap();
    g.add_output("y", y).unwrap();
    let qir = dir.join("gather.qir");
    qcc_ir::weights::save_qir(&g, &qir, &Default::default()).unwrap();
    let good = Tensor::i64(&[2], vec![3, 0]);
    let expect = qcc_ir::interp::run(&g, std::slice::from_ref(&good)).unwrap()[0].to_le_bytes();
    let bad = Tensor::i64(&[2], vec![1, 7]).to_le_bytes();
    for target in ["x86_64", "aarch64", "wasm32"] {
        let prefix = format!("gather_{target}");
        let (cmd, _) = build(&dir, &qir.display().to_string(), &prefix, target, &[]);
        if target != "wasm32" {
            exports_only_run(&dir.join(format!("{prefix}.o")), &prefix);
        }
        run(&cmd, &dir, &bad, 4, &format!("{prefix}: index 7 of 4"));
        let got = run(&cmd, &dir, &good.to_le_bytes(), 0, &format!("{prefix}: good indices"));
        assert!(got == expect, "gather on {target} differs from the interpreter");
    }
    std::fs::remove_dir_all(&dir).ok();
}

/// Combinations `qcc compile` refuses with a message instead of writing an object.
#[test]
fn compile_rejects_options_that_do_not_fit_the_backend_or_target() {
    let m = shared_model("mlp_digits").join("model.onnx").display().to_string();
    let out = std::env::temp_dir().join(format!("qcc-llvm-aot-{}-bad", std::process::id()));
    let out = out.display().to_string();
    for (args, says) in [
        (
            vec!["--backend", "cranelift", "--target", "wasm32"],
            "wasm32 objects need --backend llvm",
        ),
        (vec!["--backend", "llvm", "--target", "aarch64", "--cpu", "x86-64"], "--cpu is an x86-64"),
        (vec!["--backend", "llvm", "--vnni"], "--vnni and --i8mm are Cranelift options"),
        (vec!["--backend", "llvm", "--target", "aarch64", "--i8mm"], "are Cranelift options"),
        (vec!["--backend", "cranelift", "--i8mm"], "--i8mm is an AArch64 option"),
        (vec!["--backend", "cranelift", "--cpu", "x86-64"], "options of --backend llvm"),
        (vec!["--backend", "llvm", "--features", "+avx2"], "--features goes with --cpu"),
    ] {
        let o = Command::new(env!("CARGO_BIN_EXE_qcc"))
            .args(["compile", &m, "-o", &out])
            .args(&args)
            .output()
            .unwrap();
        let err = String::from_utf8_lossy(&o.stderr);
        assert!(!o.status.success() && err.contains(says), "{args:?}: {err}");
        assert!(!Path::new(&format!("{out}.o")).exists(), "{args:?} wrote an object");
    }
}

/// `shared/models/NAME` in the nearest folder above the repository that has it.
fn shared_model(name: &str) -> PathBuf {
    let mut dir = repo();
    loop {
        let cand = dir.join("shared/models").join(name);
        if cand.is_dir() {
            return cand;
        }
        assert!(
            dir.pop(),
            "shared model `{name}` not found beside the repository (../shared/models)"
        );
    }
}

#[test]
fn mlp_digits_int8_llvm_objects_match_the_interpreter_on_x86_64_aarch64_and_wasm32() {
    check(&shared_model("mlp_digits"), "mlp", &["x86-64"], true);
}

#[test]
fn mobilenetv2_int8_llvm_objects_match_the_interpreter_on_x86_64_aarch64_and_wasm32() {
    check(&shared_model("mobilenetv2_random"), "mobilenet", &[], false);
}

/// `--cpu sapphirerapids --features …,+avx512vnni` objects do their int8 GEMMs with `vpdpbusd` (B packed in
/// i8 quads, zero points folded into the bias); `--cpu x86-64-v3` (AVX2) objects do not. Both are
/// bit-exact with the interpreter; the VNNI object runs only where the CPU has AVX-512 VNNI (the
/// disassembly is checked everywhere).
#[test]
fn avx512_vnni_objects_use_vpdpbusd_and_match_the_interpreter() {
    need_all();
    need("objdump", "binutils");
    let model_dir = shared_model("mlp_digits");
    let dir = temp_dir("vnni");
    let d = |f: &str| dir.join(f).display().to_string();
    let m = |f: &str| model_dir.join(f).display().to_string();
    qcc(&["quantize", &m("model.onnx"), "--calib", &m("calib.npz"), "-o", &d("int.qir")]);
    let int = qcc_ir::weights::load_qir(&dir.join("int.qir")).unwrap();
    let eval = qcc::data::read_npz(&model_dir.join("eval.npz")).unwrap();
    let sample = qcc::model::bind_samples(&int, &eval, "eval.npz").unwrap().remove(0);
    let expect = qcc_ir::interp::run(&int, &sample).unwrap()[0].to_le_bytes();
    let input: Vec<u8> = sample.iter().flat_map(Tensor::to_le_bytes).collect();
    let host_vnni = std::is_x86_feature_detected!("avx512vnni");
    for (cpu, features, vnni) in [
        ("sapphirerapids", "+avx2,+fma,+avx512f,+avx512bw,+avx512vl,+avx512vnni", true),
        ("x86-64-v3", "+avx2,+fma", false),
    ] {
        let prefix = format!("vnni_{}", cpu.replace('-', "_"));
        let extra = ["--cpu", cpu, "--features", features];
        let (cmd, _) = build(&dir, &d("int.qir"), &prefix, "x86_64", &extra);
        let o = Command::new("objdump").args(["-d", &d(&format!("{prefix}.o"))]).output().unwrap();
        let n = String::from_utf8_lossy(&o.stdout).matches("vpdpbusd").count();
        assert_eq!(n > 0, vnni, "{cpu}: {n} vpdpbusd instructions");
        if vnni && !host_vnni {
            eprintln!("{cpu}: this CPU has no AVX-512 VNNI; the object is only disassembled");
            continue;
        }
        let got = run(&cmd, &dir, &input, 0, &format!("{prefix}: {}", cmd.join(" ")));
        assert!(got == expect, "{cpu}: the object differs from the interpreter");
    }
    std::fs::remove_dir_all(&dir).ok();
}
