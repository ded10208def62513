//! The self-contained HTML report of `qcc eval --report out.html`: a summary of the fidelity
//! figures, a per-layer SQNR chart drawn as inline SVG, the sensitivity ranking and the
//! mixed-precision decisions when the evaluation produced them.
//!
//! The page is rendered from the same JSON object `qcc eval --json` prints, so the two can never
//! disagree; it has no scripts, fonts or links to fetch (it opens offline and in CI's headless
//! Chromium). Fields the renderer reads: `model`, `samples`, `outputs` / `qdq_outputs` (name →
//! `{sqnr_db, cosine_mean, max_abs_err, top1_agreement}`), `accuracy` (`{fp32, quantized}`),
//! `layers` (`[{node, op, sqnr_db}]` in execution order), `sensitivity` (`[{node, op,
//! sqnr_db}]`), `auto_mixed` (`{min_sqnr_db, sqnr_db, all_quantized_sqnr_db, met, kept_float, kept_wide:
//! [node]}`), and the
//! node counts `quantized_nodes`, `float_nodes`, `integer_ops`.

use serde_json::Value;
use std::fmt::Write;

/// SQNR (dB) at or above which a layer is drawn as healthy.
pub const GOOD_DB: f64 = 30.0;
/// SQNR (dB) below which a layer is drawn as a problem.
pub const BAD_DB: f64 = 20.0;

/// Escapes text for HTML element content and attribute values.
fn esc(s: &str) -> String {
    let mut o = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => o.push_str("&amp;"),
            '<' => o.push_str("&lt;"),
            '>' => o.push_str("&gt;"),
            '"' => o.push_str("&quot;"),
            '\'' => o.push_str("&#39;"),
            c => o.push(c),
        }
    }
    o
}

fn num(v: &Value, digits: usize) -> String {
    match v.as_f64() {
        Some(x) if x.is_finite() => format!("{x:.digits$}"),
        Some(x) if x.is_infinite() && x > 0.0 => "∞".into(),
        Some(_) => "NaN".into(),
        None => "–".into(),
    }
}

/// The layer's SQNR; exact layers (infinite SQNR, serialized as `null`) count as the chart top.
fn layer_db(l: &Value) -> Option<f64> {
    l["sqnr_db"].as_f64()
}

fn class_of(db: f64) -> &'static str {
    if db >= GOOD_DB {
        "good"
    } else if db >= BAD_DB {
        "fair"
    } else {
        "bad"
    }
}

/// The per-layer SQNR bar chart (one `rect.bar` per layer, in execution order).
pub fn sqnr_chart(layers: &[Value]) -> String {
    let n = layers.len().max(1);
    let (w, h, left, bottom, top) = (960.0f64, 320.0f64, 48.0f64, 24.0f64, 12.0f64);
    let plot_h = h - bottom - top;
    let finite: Vec<f64> = layers.iter().filter_map(layer_db).filter(|d| d.is_finite()).collect();
    let ymax = (finite.iter().cloned().fold(GOOD_DB + 10.0, f64::max) / 10.0).ceil() * 10.0;
    let y = |db: f64| top + plot_h * (1.0 - (db.clamp(0.0, ymax) / ymax));
    let bw = (w - left - 8.0) / n as f64;
    let mut s = String::new();
    let _ = write!(
        s,
        r#"<svg id="sqnr-chart" xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {w} {h}" width="{w}" height="{h}" role="img" aria-label="SQNR per layer">"#
    );
    let mut tick = 0.0;
    while tick <= ymax + 1e-9 {
        let ty = y(tick);
        let _ = write!(
            s,
            r##"<line x1="{left}" x2="{}" y1="{ty:.1}" y2="{ty:.1}" stroke="#ddd"/><text x="{}" y="{:.1}" font-size="10" text-anchor="end">{tick:.0}</text>"##,
            w - 8.0,
            left - 4.0,
            ty + 3.0
        );
        tick += 10.0;
    }
    for (i, l) in layers.iter().enumerate() {
        let db = layer_db(l).unwrap_or(f64::INFINITY);
        let shown = if db.is_finite() { db } else { ymax };
        let x = left + i as f64 * bw;
        let top_y = y(shown);
        let _ = write!(
            s,
            r#"<rect class="bar {}" x="{x:.2}" y="{top_y:.2}" width="{:.2}" height="{:.2}"><title>{} ({}): {} dB</title></rect>"#,
            class_of(db),
            (bw * 0.85).max(0.5),
            (y(0.0) - top_y).max(0.0),
            esc(l["node"].as_str().unwrap_or("")),
            esc(l["op"].as_str().unwrap_or("")),
            num(&l["sqnr_db"], 2)
        );
    }
    for (db, color) in [(GOOD_DB, "#2a7"), (BAD_DB, "#c33")] {
        let ty = y(db);
        let _ = write!(
            s,
            r#"<line class="threshold" x1="{left}" x2="{}" y1="{ty:.1}" y2="{ty:.1}" stroke="{color}" stroke-dasharray="4 3"/>"#,
            w - 8.0
        );
    }
    let _ = write!(
        s,
        r#"<text x="{}" y="{}" font-size="11" text-anchor="middle">layers in execution order ({} layers; hover a bar for its name)</text><text x="12" y="{}" font-size="11" transform="rotate(-90 12 {})" text-anchor="middle">SQNR dB</text></svg>"#,
        left + (w - left) / 2.0,
        h - 6.0,
        layers.len(),
        top + plot_h / 2.0,
        top + plot_h / 2.0
    );
    s
}

fn fidelity_rows(s: &mut String, title: &str, outs: &Value) {
    let Some(map) = outs.as_object() else { return };
    for (name, f) in map {
        let _ = write!(
            s,
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            esc(title),
            esc(name),
            num(&f["sqnr_db"], 2),
            num(&f["cosine_mean"], 5),
            num(&f["max_abs_err"], 4),
            num(&f["top1_agreement"], 3)
        );
    }
}

fn layer_table(s: &mut String, id: &str, rows: &[&Value]) {
    let _ = write!(
        s,
        r#"<table id="{id}"><tr><th>#</th><th>node</th><th>op</th><th>SQNR dB</th></tr>"#
    );
    for (i, l) in rows.iter().enumerate() {
        let db = layer_db(l).unwrap_or(f64::INFINITY);
        let _ = write!(
            s,
            r#"<tr class="{}"><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>"#,
            class_of(db),
            i + 1,
            esc(l["node"].as_str().unwrap_or("")),
            esc(l["op"].as_str().unwrap_or("")),
            num(&l["sqnr_db"], 2)
        );
    }
    s.push_str("</table>");
}

/// Renders the report page for one `qcc eval` JSON object.
pub fn eval_html(report: &Value) -> String {
    let model = report["model"].as_str().unwrap_or("model");
    let mut s = String::new();
    let _ = write!(
        s,
        r#"<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>qcc eval: {m}</title><style>
body{{font-family:system-ui,sans-serif;margin:24px;color:#222;max-width:1000px}}
table{{border-collapse:collapse;margin:8px 0 16px}}td,th{{border:1px solid #ccc;padding:3px 8px;text-align:right}}
td:nth-child(2),td:nth-child(3){{text-align:left}}th{{background:#f3f3f3}}
.bar.good{{fill:#2a7}}.bar.fair{{fill:#e90}}.bar.bad{{fill:#c33}}tr.bad td{{background:#fdd}}tr.fair td{{background:#ffe9c6}}
.note{{color:#555;font-size:90%}}</style></head><body>
<h1>qcc eval: {m}</h1><p class="note">qcc {v} · {n} evaluation samples · {q} nodes quantized, {f} kept in float, {i} integer ops after realization.</p>"#,
        m = esc(model),
        v = env!("CARGO_PKG_VERSION"),
        n = report["samples"].as_u64().unwrap_or(0),
        q = report["quantized_nodes"].as_u64().unwrap_or(0),
        f = report["float_nodes"].as_u64().unwrap_or(0),
        i = report["integer_ops"].as_u64().unwrap_or(0),
    );
    s.push_str(
        r#"<h2>Summary</h2><table id="summary"><tr><th>model</th><th>output</th><th>SQNR dB</th><th>cosine</th><th>max abs err</th><th>top-1 agreement</th></tr>"#,
    );
    fidelity_rows(&mut s, "integer", &report["outputs"]);
    fidelity_rows(&mut s, "QDQ simulation", &report["qdq_outputs"]);
    s.push_str("</table>");
    if let Some(acc) = report.get("accuracy") {
        let _ = write!(
            s,
            r#"<p id="accuracy">Accuracy: fp32 {}, quantized {}.</p>"#,
            num(&acc["fp32"], 4),
            num(&acc["quantized"], 4)
        );
    }
    let layers: Vec<Value> = report["layers"].as_array().cloned().unwrap_or_default();
    let _ = write!(
        s,
        "<h2>SQNR per layer</h2><p class=\"note\">Each layer's output in the QDQ simulation against fp32, with every layer quantized. Green ≥ {GOOD_DB} dB, red &lt; {BAD_DB} dB.</p>"
    );
    s.push_str(&sqnr_chart(&layers));
    let mut worst: Vec<&Value> = layers.iter().collect();
    worst.sort_by(|a, b| {
        let (x, y) = (layer_db(a).unwrap_or(f64::INFINITY), layer_db(b).unwrap_or(f64::INFINITY));
        x.total_cmp(&y)
    });
    worst.truncate(10);
    s.push_str("<h3>Lowest layers</h3>");
    layer_table(&mut s, "worst-layers", &worst);
    if let Some(sens) = report["sensitivity"].as_array() {
        let mut rows: Vec<&Value> = sens.iter().collect();
        rows.sort_by(|a, b| {
            let (x, y) =
                (layer_db(a).unwrap_or(f64::INFINITY), layer_db(b).unwrap_or(f64::INFINITY));
            x.total_cmp(&y)
        });
        s.push_str("<h2>Sensitivity</h2><p class=\"note\">Output SQNR when only that layer is quantized; the most sensitive first.</p>");
        layer_table(&mut s, "sensitivity", &rows);
    }
    if let Some(mp) = report.get("auto_mixed") {
        let list = |field: &str| -> Vec<String> {
            mp[field]
                .as_array()
                .into_iter()
                .flatten()
                .map(|k| esc(k.as_str().unwrap_or(&k.to_string())))
                .collect()
        };
        let (kept, wide) = (list("kept_float"), list("kept_wide"));
        let names = |v: &[String]| if v.is_empty() { "none".to_string() } else { v.join(", ") };
        let _ = write!(
            s,
            r#"<h2>Mixed precision</h2><p id="mixed-precision">Target {} dB ({}), reached {} dB (all layers quantized: {} dB), keeping {} layer(s) in float: {}; {} at i16: {}.</p>"#,
            num(&mp["min_sqnr_db"], 1),
            if mp["met"].as_bool().unwrap_or(false) { "met" } else { "NOT met" },
            num(&mp["sqnr_db"], 2),
            num(&mp["all_quantized_sqnr_db"], 2),
            kept.len(),
            names(&kept),
            wide.len(),
            names(&wide)
        );
    }
    s.push_str("<details><summary>All layers</summary>");
    let all: Vec<&Value> = layers.iter().collect();
    layer_table(&mut s, "all-layers", &all);
    s.push_str("</details></body></html>\n");
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn chart_has_one_bar_per_layer_and_escapes_names() {
        let r = json!({
            "model": "m<1>",
            "samples": 2,
            "outputs": {"y": {"sqnr_db": 31.5, "cosine_mean": 0.99, "max_abs_err": 0.1, "top1_agreement": 1.0}},
            "layers": [
                {"node": "a&b", "op": "Conv", "sqnr_db": 42.0},
                {"node": "c", "op": "Relu", "sqnr_db": 12.0},
                {"node": "d", "op": "Reshape", "sqnr_db": null}
            ]
        });
        let html = eval_html(&r);
        assert_eq!(html.matches(r#"<rect class="bar "#).count(), 3);
        assert_eq!(html.matches(r#"<rect class="bar bad""#).count(), 1);
        assert!(html.contains("a&amp;b (Conv): 42.00 dB"));
        assert!(html.contains("qcc eval: m&lt;1&gt;"));
        assert!(!html.contains("<script"));
        assert!(!html.contains("Sensitivity"), "no section without data");
    }

    #[test]
    fn sensitivity_is_sorted_most_sensitive_first() {
        let r = json!({
            "layers": [],
            "sensitivity": [
                {"node": "x", "op": "Conv", "sqnr_db": 40.0},
                {"node": "y", "op": "MatMul", "sqnr_db": 15.0}
            ],
            "auto_mixed": {"min_sqnr_db": 30.0, "sqnr_db": 31.2, "all_quantized_sqnr_db": 20.5, "met": true, "kept_float": ["y"]}
        });
        let html = eval_html(&r);
        let (x, y) = (html.find("<td>x</td>").unwrap(), html.find("<td>y</td>").unwrap());
        assert!(y < x);
        assert!(html.contains("keeping 1 layer(s) in float: y; 0 at i16: none."), "{html}");
    }
}
