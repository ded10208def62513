//! Imports an ONNX model and prints its IR: `cargo run -p qcc-onnx --example import -- MODEL.onnx`.

fn main() {
    let Some(path) = std::env::args().nth(1) else {
        eprintln!("usage: import MODEL.onnx");
        std::process::exit(2);
    };
    match qcc_onnx::import_file(std::path::Path::new(&path), &Default::default()) {
        Ok(g) => print!("{}", qcc_ir::print::print(&g)),
        Err(e) => {
            eprintln!("{path}: {e}");
            std::process::exit(1);
        }
    }
}
