//! The `qcc` command line (DESIGN §8).

mod cmd;

use clap::Parser;

fn main() {
    let cli = cmd::Cli::parse();
    match cmd::dispatch(cli) {
        Ok(code) => std::process::exit(code),
        Err(e) => {
            eprintln!("error: {e:#}");
            std::process::exit(1);
        }
    }
}
