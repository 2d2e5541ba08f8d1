//! Prometheus's text exposition format 0.0.4, written by hand (a few lines of rules, not worth
//! a client library that would also want to own the values): families each with `# HELP` and
//! `# TYPE`, their samples together, label values escaped, histograms with cumulative buckets
//! ending in `+Inf`, then `_sum` and `_count`.
//!
//! Invariant: whatever a label value holds (webhook names come from users), the output stays
//! one sample per line with every label value a valid quoted string: `\`, `"` and a line break
//! are escaped as the format asks (`\\`, `\"`, `\n`), and `# HELP` text has `\` and line breaks
//! escaped. Names are the caller's constants.

use std::fmt::Write;

/// A metric family's type, as `# TYPE` says it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// A value that may go up and down.
    Gauge,
    /// A count that only goes up (until its process restarts); its name ends in `_total`.
    Counter,
    /// Observations counted in cumulative buckets, with their sum and count.
    Histogram,
}

impl Kind {
    fn as_str(self) -> &'static str {
        match self {
            Kind::Gauge => "gauge",
            Kind::Counter => "counter",
            Kind::Histogram => "histogram",
        }
    }
}

/// A label value with `\`, `"` and line breaks escaped, as the format asks inside `"…"`.
pub fn escape_label(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for c in value.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '"' => out.push_str("\\\""),
            '\n' => out.push_str("\\n"),
            c => out.push(c),
        }
    }
    out
}

/// `# HELP` text with `\` and line breaks escaped (quotes are left as they are there).
pub fn escape_help(text: &str) -> String {
    text.replace('\\', "\\\\").replace('\n', "\\n")
}

/// A sample value as the format writes it: integers without a fraction, `+Inf`, `-Inf`, `NaN`.
pub fn value(v: f64) -> String {
    if v.is_nan() {
        "NaN".into()
    } else if v.is_infinite() {
        if v > 0.0 { "+Inf" } else { "-Inf" }.into()
    } else {
        // Rust's shortest round-trip form: `0.005`, `1`, `2.5`, `1234567`.
        format!("{v}")
    }
}

/// A text exposition being written, family by family.
#[derive(Debug, Default)]
pub struct Exposition {
    out: String,
}

impl Exposition {
    pub fn new() -> Exposition {
        Exposition::default()
    }

    /// Starts a family: its `# HELP` and `# TYPE` lines. Its samples follow, before the next
    /// family starts.
    pub fn family(&mut self, name: &str, kind: Kind, help: &str) {
        let _ = writeln!(self.out, "# HELP {name} {}", escape_help(help));
        let _ = writeln!(self.out, "# TYPE {name} {}", kind.as_str());
    }

    /// One sample: `name{label="value",…} value`.
    pub fn sample(&mut self, name: &str, labels: &[(&str, &str)], v: f64) {
        self.out.push_str(name);
        write_labels(&mut self.out, labels);
        let _ = writeln!(self.out, " {}", value(v));
    }

    /// A histogram's samples: one `_bucket` per upper bound (`bounds`, ascending) with its
    /// cumulative count, the `+Inf` bucket (`count`), then `_sum` and `_count`. `cumulative`
    /// holds the count at or below each bound, so it never decreases.
    pub fn histogram(
        &mut self,
        name: &str,
        labels: &[(&str, &str)],
        bounds: &[f64],
        cumulative: &[u64],
        count: u64,
        sum: f64,
    ) {
        let bucket = format!("{name}_bucket");
        for (bound, n) in bounds.iter().zip(cumulative) {
            let le = value(*bound);
            let mut with_le = labels.to_vec();
            with_le.push(("le", &le));
            self.sample(&bucket, &with_le, *n as f64);
        }
        let mut with_le = labels.to_vec();
        with_le.push(("le", "+Inf"));
        self.sample(&bucket, &with_le, count as f64);
        self.sample(&format!("{name}_sum"), labels, sum);
        self.sample(&format!("{name}_count"), labels, count as f64);
    }

    /// The text, ending with a line break.
    pub fn finish(self) -> String {
        self.out
    }
}

fn write_labels(out: &mut String, labels: &[(&str, &str)]) {
    if labels.is_empty() {
        return;
    }
    out.push('{');
    for (i, (k, v)) in labels.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        let _ = write!(out, "{k}=\"{}\"", escape_label(v));
    }
    out.push('}');
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn label_values_escape_backslash_quote_and_line_break() {
        assert_eq!(escape_label(r#"a\b"c"#), r#"a\\b\"c"#);
        assert_eq!(escape_label("two\nlines"), "two\\nlines");
        assert_eq!(escape_label("ünï {} = ,"), "ünï {} = ,");
        let mut e = Exposition::new();
        e.family("webnet_x", Kind::Gauge, "X.");
        e.sample("webnet_x", &[("name", "say \"hi\"\\\nbye"), ("b", "")], 2.0);
        assert_eq!(
            e.finish(),
            "# HELP webnet_x X.\n# TYPE webnet_x gauge\nwebnet_x{name=\"say \\\"hi\\\"\\\\\\nbye\",b=\"\"} 2\n"
        );
    }

    #[test]
    fn help_text_escapes_backslash_and_line_break_only() {
        assert_eq!(escape_help("a \"b\" c\\d\ne"), "a \"b\" c\\\\d\\ne");
    }

    #[test]
    fn values_are_written_as_the_format_reads_them() {
        assert_eq!(value(3.0), "3");
        assert_eq!(value(0.005), "0.005");
        assert_eq!(value(2.5), "2.5");
        assert_eq!(value(12_345_678.0), "12345678");
        assert_eq!(value(f64::INFINITY), "+Inf");
        assert_eq!(value(f64::NEG_INFINITY), "-Inf");
        assert_eq!(value(f64::NAN), "NaN");
    }

    #[test]
    fn a_histogram_has_cumulative_buckets_then_inf_sum_and_count() {
        let mut e = Exposition::new();
        e.family("webnet_d_seconds", Kind::Histogram, "D.");
        e.histogram(
            "webnet_d_seconds",
            &[("c", "1")],
            &[0.005, 0.5, 1.0],
            &[1, 3, 3],
            5,
            12.25,
        );
        assert_eq!(
            e.finish(),
            "# HELP webnet_d_seconds D.\n# TYPE webnet_d_seconds histogram\n\
             webnet_d_seconds_bucket{c=\"1\",le=\"0.005\"} 1\n\
             webnet_d_seconds_bucket{c=\"1\",le=\"0.5\"} 3\n\
             webnet_d_seconds_bucket{c=\"1\",le=\"1\"} 3\n\
             webnet_d_seconds_bucket{c=\"1\",le=\"+Inf\"} 5\n\
             webnet_d_seconds_sum{c=\"1\"} 12.25\n\
             webnet_d_seconds_count{c=\"1\"} 5\n"
        );
    }

    #[test]
    fn a_sample_without_labels_has_no_braces() {
        let mut e = Exposition::new();
        e.sample("webnet_up", &[], 1.0);
        assert_eq!(e.finish(), "webnet_up 1\n");
    }
}
