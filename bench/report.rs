//! The benchmark report: a markdown table (printed, and written into BENCHMARKS.md between its
//! markers) and an SVG chart.

use std::path::Path;

use crate::scenarios::Figure;

const BEGIN: &str =
    "<!-- BEGIN RESULTS (written by `cargo bench --bench webnet -- --full --write`) -->";
const END: &str = "<!-- END RESULTS -->";

fn num(v: f64) -> String {
    if !v.is_finite() {
        "n/a".into()
    } else if v >= 100.0 {
        format!("{:.0}", v)
    } else if v >= 10.0 {
        format!("{:.1}", v)
    } else {
        format!("{:.2}", v)
    }
}

pub fn markdown(results: &[Figure], full: bool) -> String {
    let mut s = String::new();
    s.push_str(&format!(
        "Sizes: {}. Machine: {}.\n\n",
        if full { "full" } else { "small (smoke)" },
        machine()
    ));
    s.push_str(
        "| scenario | measure | value | baseline | ratio | target |\n|---|---|---|---|---|---|\n",
    );
    for r in results {
        let (base, ratio) = match &r.baseline {
            Some((name, v)) => (
                format!("{} {} ({name})", num(*v), r.unit),
                format!("{:.2}×", r.value / v),
            ),
            None => ("".into(), "".into()),
        };
        let mut target = match &r.target {
            Some((words, met)) => format!("{} {words}", if *met { "✅" } else { "❌" }),
            None => String::new(),
        };
        if r.broken {
            target.push_str(" ⚠ harness check failed (see stderr)");
        }
        s.push_str(&format!(
            "| {} | {} | {} {} | {base} | {ratio} | {target} |\n",
            r.scenario,
            r.name,
            num(r.value),
            r.unit
        ));
    }
    s
}

fn machine() -> String {
    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|t| {
            t.lines()
                .find(|l| l.starts_with("model name"))
                .map(|l| l.split(':').nth(1).unwrap_or("").trim().to_string())
        })
        .unwrap_or_else(|| "unknown CPU".into());
    let cores = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(0);
    let mem_gib = std::fs::read_to_string("/proc/meminfo")
        .ok()
        .and_then(|t| {
            t.lines()
                .next()
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|kb| kb.parse::<f64>().ok())
        })
        .map_or(0.0, |kb| kb / 1_048_576.0);
    let rustc = std::process::Command::new("rustc")
        .arg("--version")
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
        .unwrap_or_default();
    let build = if cfg!(debug_assertions) {
        "unoptimised build (a smoke test: these figures mean nothing)"
    } else {
        "release build"
    };
    format!("{cores} cores, {cpu}, {mem_gib:.0} GiB; {rustc}; {build}")
}

/// Rewrites the results section of BENCHMARKS.md and bench/chart.svg.
pub fn write(root: &Path, results: &[Figure], table: &str) -> std::io::Result<()> {
    let path = root.join("BENCHMARKS.md");
    let text = std::fs::read_to_string(&path).unwrap_or_default();
    let section = format!("{BEGIN}\n{table}\n![throughput and latency](bench/chart.svg)\n{END}");
    let new = match (text.find(BEGIN), text.find(END)) {
        (Some(a), Some(b)) if b > a => format!("{}{section}{}", &text[..a], &text[b + END.len()..]),
        _ => format!("{text}\n{section}\n"),
    };
    std::fs::write(&path, new)?;
    std::fs::write(root.join("bench/chart.svg"), svg(results))
}

/// Two panels of horizontal bars: throughput (per second) and latency (ms).
fn svg(results: &[Figure]) -> String {
    let panels = [
        ("Throughput (per second; longer is better)", true),
        ("Latency and time (ms; shorter is better)", false),
    ];
    let mut rows: Vec<(String, f64, bool)> = Vec::new();
    let mut body = String::new();
    let width = 900.0;
    let mut y = 20.0;
    for (title, per_second) in panels {
        rows.clear();
        for r in results {
            let is_rate = r.unit.ends_with("/s");
            let is_time = r.unit == "ms";
            if (per_second && is_rate) || (!per_second && is_time) {
                rows.push((format!("{}: {}", r.scenario, r.name), r.value, false));
                if let Some((name, v)) = &r.baseline {
                    rows.push((format!("    baseline: {name}"), *v, true));
                }
            }
        }
        let max = rows
            .iter()
            .map(|r| r.1)
            .filter(|v| v.is_finite())
            .fold(1.0, f64::max);
        body.push_str(&format!(
            "<text x=\"10\" y=\"{y}\" font-weight=\"bold\">{title}</text>\n"
        ));
        y += 10.0;
        for (label, v, base) in &rows {
            let w = if v.is_finite() { v / max * 380.0 } else { 0.0 };
            let color = if *base { "#9aa5b1" } else { "#2f7ed8" };
            body.push_str(&format!(
                "<text x=\"10\" y=\"{}\" font-size=\"11\">{}</text><rect x=\"480\" y=\"{}\" width=\"{w:.1}\" height=\"14\" fill=\"{color}\"/><text x=\"{:.1}\" y=\"{}\" font-size=\"11\">{}</text>\n",
                y + 12.0,
                escape(label),
                y + 1.0,
                485.0 + w,
                y + 12.0,
                num(*v)
            ));
            y += 18.0;
        }
        y += 20.0;
    }
    format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{width}\" height=\"{y}\" font-family=\"sans-serif\">\n<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n{body}</svg>\n"
    )
}

fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}
