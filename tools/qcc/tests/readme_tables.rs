//! The README's generated sections — supported ONNX ops and built-in passes — are produced from
//! the importer's op registry and the pass registry, so they cannot drift: this test regenerates
//! them and fails on any difference. `QCC_BLESS=1 cargo test -p qcc --test readme_tables`
//! rewrites the README (review the diff).

use std::collections::BTreeMap;
use std::path::Path;

fn ops_section() -> String {
    let mut by_domain: BTreeMap<&str, BTreeMap<&str, i64>> = BTreeMap::new();
    for (domain, op, since) in qcc_onnx::ops::supported_ops() {
        let e = by_domain.entry(domain).or_default().entry(op).or_insert(since);
        *e = (*e).min(since);
    }
    let mut s = String::new();
    for (domain, ops) in &by_domain {
        let title = if domain.is_empty() { "ONNX (default domain)" } else { domain };
        s += &format!("**{title}**, {} ops: ", ops.len());
        let names: Vec<String> = ops.keys().map(|o| format!("`{o}`")).collect();
        s += &names.join(", ");
        s += "\n\n";
    }
    s += &format!(
        "The IR has {} ops (`qcc_ir::ops::OP_NAMES`); every one runs on the reference interpreter.\n",
        qcc_ir::ops::OP_NAMES.len()
    );
    s
}

fn passes_section() -> String {
    let reg = qcc_passes::Registry::with_builtins();
    let mut s = String::from("| pass or pipeline | what it does |\n|---|---|\n");
    for l in reg.list() {
        let what = match &l.expands_to {
            Some(p) => format!("{} (= `{p}`)", l.summary),
            None => l.summary.clone(),
        };
        s += &format!("| `{}` | {} |\n", l.name, what.replace('|', "\\|"));
    }
    s
}

/// Replaces the text between `<!-- NAME:begin -->` and `<!-- NAME:end -->`.
fn splice(readme: &str, name: &str, body: &str) -> String {
    let (b, e) = (format!("<!-- {name}:begin -->\n"), format!("<!-- {name}:end -->"));
    let start = readme.find(&b).unwrap_or_else(|| panic!("README lacks the marker {b}"));
    let end = readme.find(&e).unwrap_or_else(|| panic!("README lacks the marker {e}"));
    format!("{}{b}{body}{}", &readme[..start], &readme[end..])
}

#[test]
fn readme_tables_match_the_registries() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../README.md");
    let readme = std::fs::read_to_string(&path).expect("README.md");
    let want = splice(&splice(&readme, "ops", &ops_section()), "passes", &passes_section());
    if std::env::var_os("QCC_BLESS").is_some() {
        std::fs::write(&path, &want).unwrap();
        return;
    }
    assert!(
        readme == want,
        "README.md's generated sections are stale: run `QCC_BLESS=1 cargo test -p qcc --test \
         readme_tables` and review the diff"
    );
}
