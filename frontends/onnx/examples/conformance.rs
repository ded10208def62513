//! Runs the conformance suite on a folder and prints the report as JSON:
//! `cargo run -p qcc-onnx --example conformance -- DIR [FILTER]`.

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let Some(dir) = args.get(1) else {
        eprintln!("usage: conformance DIR [FILTER]");
        std::process::exit(2);
    };
    let rep =
        qcc_onnx::conformance::run_dir(std::path::Path::new(dir), args.get(2).map(|s| s.as_str()));
    eprintln!("{}", rep.summary());
    println!("{}", serde_json::to_string_pretty(&rep).expect("report serializes"));
}
