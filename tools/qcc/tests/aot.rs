//! `qcc compile` objects linked into a C program: natively for x86-64 (gcc) and under
//! `qemu-aarch64-static` for AArch64 (`aarch64-linux-gnu-gcc -static`), there both with the generic
//! widening kernels and with `--i8mm` (`usdot`, run with `-cpu max`; the disassembly must contain
//! `usdot`). The int8 models' outputs
//! equal the interpreter's on the same integer graph bit for bit, on every target; wrong buffer
//! sizes and null pointers give the documented error codes, never a crash; compiling twice gives
//! the same object.
//!
//! Needs gcc, `aarch64-linux-gnu-gcc` and `qemu-aarch64-static` (Debian: `gcc-aarch64-linux-gnu`,
//! `qemu-user-static`; `tools/ci/test.sh` installs them); without them the test fails and says so.

use qcc_ir::Tensor;
use std::path::{Path, PathBuf};
use std::process::Command;

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..").canonicalize().unwrap()
}

fn need(tool: &str, package: &str) {
    let ok = Command::new("sh")
        .args(["-c", &format!("command -v {tool}")])
        .output()
        .is_ok_and(|o| o.status.success());
    assert!(
        ok,
        "`{tool}` is needed for the AOT test: apt-get install {package} (tools/ci/test.sh does)"
    );
}

fn qcc(args: &[&str]) {
    let o =
        Command::new(env!("CARGO_BIN_EXE_qcc")).current_dir(repo()).args(args).output().unwrap();
    assert!(o.status.success(), "qcc {args:?}: {}", String::from_utf8_lossy(&o.stderr));
}

/// The C program: reads the inputs (concatenated raw bytes) from argv[1], checks the error codes
/// of bad calls, runs the model, writes the outputs to argv[2].
fn harness(prefix: &str) -> String {
    let up = prefix.to_ascii_uppercase();
    format!(
        r#"#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "{prefix}.h"
static const uint64_t in_bytes[] = {{ {up}_INPUT0_BYTES }};
static const uint64_t out_bytes[] = {{ {up}_OUTPUT0_BYTES }};
int main(int argc, char **argv) {{
  if (argc != 3 || {up}_NUM_INPUTS != 1 || {up}_NUM_OUTPUTS != 1) return 90;
  void *arena = aligned_alloc(64, ({up}_ARENA_SIZE + 63) / 64 * 64);
  void *in = malloc(in_bytes[0]), *out = malloc(out_bytes[0]);
  FILE *f = fopen(argv[1], "rb");
  if (!f || fread(in, 1, in_bytes[0], f) != in_bytes[0]) return 91;
  fclose(f);
  const void *ins[] = {{ in }};
  void *outs[] = {{ out }};
  uint64_t short_in[] = {{ in_bytes[0] - 1 }}, long_out[] = {{ out_bytes[0] + 4 }};
  int bad_in = {prefix}_run(arena, ins, short_in, outs, out_bytes);
  int bad_out = {prefix}_run(arena, ins, in_bytes, outs, long_out);
  int null_arena = {prefix}_run(NULL, ins, in_bytes, outs, out_bytes);
  int misaligned = {prefix}_run((char *)arena + 8, ins, in_bytes, outs, out_bytes);
  if (bad_in != 2 || bad_out != 3 || null_arena != 1 || misaligned != 1) {{
    fprintf(stderr, "error codes: %d %d %d %d\n", bad_in, bad_out, null_arena, misaligned);
    return 92;
  }}
  int rc = {prefix}_run(arena, ins, in_bytes, outs, out_bytes);
  if (rc != 0) {{ fprintf(stderr, "run returned %d\n", rc); return 93; }}
  f = fopen(argv[2], "wb");
  fwrite(out, 1, out_bytes[0], f);
  fclose(f);
  return 0;
}}
"#
    )
}

/// Quantizes `model`, compiles it for both targets, runs both programs on the first eval sample
/// and compares with the interpreter on the same integer graph.
fn check(model_dir: &Path, tag: &str) {
    need("gcc", "gcc");
    need("aarch64-linux-gnu-gcc", "gcc-aarch64-linux-gnu");
    need("qemu-aarch64-static", "qemu-user-static");
    let dir = std::env::temp_dir().join(format!("qcc-aot-{}-{tag}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let d = |f: &str| dir.join(f).display().to_string();
    let m = |f: &str| model_dir.join(f).display().to_string();
    qcc(&["quantize", &m("model.onnx"), "--calib", &m("calib.npz"), "-o", &d("int.qir")]);
    let int = qcc_ir::weights::load_qir(&dir.join("int.qir")).unwrap();
    let eval = qcc::data::read_npz(&model_dir.join("eval.npz")).unwrap();
    let sample = qcc::model::bind_samples(&int, &eval, "eval.npz").unwrap().remove(0);
    let want = qcc_ir::interp::run(&int, &sample).unwrap();
    let input: Vec<u8> = sample.iter().flat_map(Tensor::to_le_bytes).collect();
    std::fs::write(dir.join("in.bin"), input).unwrap();

    let mut outs = Vec::new();
    let a64 = vec!["aarch64-linux-gnu-gcc", "-static"];
    for (target, flags, cc, run) in [
        ("x86_64", &[][..], vec!["gcc"], vec![]),
        ("aarch64", &[], a64.clone(), vec!["qemu-aarch64-static"]),
        ("aarch64_i8mm", &["--i8mm"], a64, vec!["qemu-aarch64-static", "-cpu", "max"]),
    ] {
        let prefix = format!("{tag}_{target}");
        let arch = target.split_once("_i8mm").map_or(target, |(a, _)| a);
        let int_qir = d("int.qir");
        let mut args = vec!["compile", &int_qir, "--backend", "cranelift", "--target", arch];
        args.extend(flags);
        let out = d(&prefix);
        args.extend(["-o", &out]);
        qcc(&args);
        if arch == "aarch64" {
            // The dot-product path is taken exactly when asked for.
            let o = Command::new("aarch64-linux-gnu-objdump")
                .args(["-d", &d(&format!("{prefix}.o"))])
                .output()
                .expect("aarch64-linux-gnu-objdump (binutils-aarch64-linux-gnu)");
            let usdot = String::from_utf8_lossy(&o.stdout).matches("usdot").count();
            assert_eq!(usdot > 0, !flags.is_empty(), "{prefix}: {usdot} usdot instructions");
        }
        std::fs::write(dir.join(format!("main_{target}.c")), harness(&prefix)).unwrap();
        let exe = d(&format!("prog_{target}"));
        let o = Command::new(cc[0])
            .args(&cc[1..])
            .args(["-O1", "-o", &exe, &d(&format!("main_{target}.c")), &d(&format!("{prefix}.o"))])
            .output()
            .unwrap();
        assert!(o.status.success(), "{target} link: {}", String::from_utf8_lossy(&o.stderr));
        let out_file = d(&format!("out_{target}.bin"));
        let mut cmd = match run.split_first() {
            Some((q, qargs)) => {
                let mut c = Command::new(q);
                c.args(qargs).arg(&exe);
                c
            }
            None => Command::new(&exe),
        };
        let o = cmd.args([&d("in.bin"), &out_file]).output().unwrap();
        assert!(
            o.status.success(),
            "{tag} on {target}: exit {:?}: {}",
            o.status.code(),
            String::from_utf8_lossy(&o.stderr)
        );
        outs.push((target, std::fs::read(&out_file).unwrap()));
    }
    // Determinism: compiling the same graph again (same name, another folder) gives the same
    // object bytes.
    std::fs::create_dir_all(dir.join("again")).unwrap();
    let again = dir.join("again").join(format!("{tag}_aarch64")).display().to_string();
    qcc(&["compile", &d("int.qir"), "--target", "aarch64", "-o", &again]);
    assert!(
        std::fs::read(dir.join(format!("{tag}_aarch64.o"))).unwrap()
            == std::fs::read(format!("{again}.o")).unwrap(),
        "{tag}: two compilations of one graph gave different objects"
    );
    let expect = want[0].to_le_bytes();
    for (target, got) in &outs {
        assert_eq!(got, &expect, "{tag}: the {target} object differs from the interpreter");
    }
}

#[test]
fn mlp_digits_int8_objects_match_the_interpreter_on_x86_64_and_aarch64() {
    let m = repo().join("../shared/models/mlp_digits");
    assert!(m.is_dir(), "../shared/models/mlp_digits is missing beside the repository");
    check(&m, "mlp");
}

#[test]
fn digits_cnn_int8_objects_match_the_interpreter_on_x86_64_and_aarch64() {
    check(&repo().join("tests/models/digits_cnn"), "digits");
}

#[test]
fn mobilenetv2_int8_objects_match_the_interpreter_on_x86_64_and_aarch64() {
    let m = repo().join("../shared/models/mobilenetv2_random");
    assert!(m.is_dir(), "../shared/models/mobilenetv2_random is missing beside the repository");
    check(&m, "mobilenet");
}
