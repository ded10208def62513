//! Diagnostic: where do ONNX Runtime and qcc's QDQ simulation first disagree?
//!
//! `cargo run --release -p qcc --example ort_diff -- MODEL_DIR [SAMPLES]` quantizes
//! `MODEL_DIR/model.onnx` as `tools/qcc/tests/ort_interop.rs` does (4 calibration samples,
//! default config), makes the output of every `Quantize` a graph output, exports the QDQ
//! ONNX, runs it in ONNX Runtime with all graph optimizations off (`tools/ci/ort_run.py …
//! none`) and prints, in graph order, every quantized value whose integers differ (count,
//! largest difference) with the op that produced the value quantized.

use qcc::quantize::{quantize, QuantizeConfig};
use qcc_ir::{Op, Tensor};
use std::path::{Path, PathBuf};
use std::process::Command;

fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().collect();
    let dir = PathBuf::from(args.get(1).expect("MODEL_DIR"));
    let n_eval: usize = args.get(2).map_or(Ok(2), |s| s.parse())?;
    let repo = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let g = qcc::model::load_model(&dir.join("model.onnx"))?;
    let calib = qcc::data::read_npz(&dir.join("calib.npz"))?;
    let mut calib = qcc::model::bind_samples(&g, &calib, "calib.npz")?;
    calib.truncate(4);
    let q = quantize(&g, &calib, &QuantizeConfig::default(), &|| {})?;
    let mut qdq = q.qdq.clone();
    let mut probes = Vec::new();
    for n in qdq.topo_order()? {
        if matches!(qdq.node(n).op, Op::Quantize) {
            let v = qdq.result(n);
            let name = format!("probe_{}", probes.len());
            qdq.add_output(name.clone(), v)?;
            let src = qdq.operand(n, 0).map(|x| {
                let p = qdq.node(x.node);
                format!("{} `{}`", p.op.name(), p.name)
            });
            probes.push((name, v, src.unwrap_or_default()));
        }
    }
    let tmp = std::env::temp_dir().join(format!("qcc-ort-diff-{}", std::process::id()));
    std::fs::create_dir_all(&tmp)?;
    let onnx = tmp.join("qdq.onnx");
    std::fs::write(&onnx, qcc_onnx::export_model(&qdq)?)?;
    let eval = qcc::data::read_npz(&dir.join("eval.npz"))?;
    let mut samples = qcc::model::bind_samples(&q.float, &eval, "eval.npz")?;
    samples.truncate(n_eval);
    let names: Vec<String> = qdq.inputs().iter().map(|&n| qdq.node(n).name.clone()).collect();
    let stacked: Vec<(String, Tensor)> = names
        .iter()
        .enumerate()
        .map(|(k, n)| {
            let per: Vec<Tensor> = samples.iter().map(|s| s[k].clone()).collect();
            Ok((n.clone(), qcc::data::stack_samples(&per).map_err(anyhow::Error::msg)?))
        })
        .collect::<anyhow::Result<_>>()?;
    let (inp, out) = (tmp.join("in.npz"), tmp.join("out.npz"));
    qcc::data::write_npz(&inp, &stacked)?;
    let python = repo.join("tools/ci/.venv/bin/python");
    let o = Command::new(python)
        .arg(repo.join("tools/ci/ort_run.py"))
        .args([&onnx, &inp, &out])
        .arg("none")
        .output()?;
    anyhow::ensure!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let theirs = qcc::data::read_npz(&out)?;
    for (k, s) in samples.iter().enumerate() {
        let mut ours = std::collections::HashMap::new();
        qcc_ir::interp::run_observed(&qdq, s, &mut |v, t| {
            if probes.iter().any(|p| p.1 == v) {
                ours.insert(v, t.clone());
            }
        })?;
        let mut shown = 0;
        for (name, v, src) in &probes {
            let (_, t) = theirs.iter().find(|(n, _)| n == name).expect("probe output");
            let t = &qcc::data::split_samples(t).map_err(anyhow::Error::msg)?[k];
            let (a, b) = (ours[v].to_i64_vec().unwrap(), t.to_i64_vec().unwrap());
            let diff: Vec<i64> = a.iter().zip(&b).map(|(x, y)| (x - y).abs()).collect();
            let n = diff.iter().filter(|&&d| d > 0).count();
            if n > 0 && shown < 12 {
                shown += 1;
                let worst = diff.iter().max().unwrap();
                println!("sample {k}: {name} from {src}: {n}/{} differ, worst {worst}", a.len());
            }
        }
    }
    Ok(())
}
