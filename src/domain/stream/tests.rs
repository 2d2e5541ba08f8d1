use super::*;

fn run(text: &str) -> Vec<Piece> {
    run_lines(&text.lines().collect::<Vec<_>>())
}

fn run_lines(lines: &[&str]) -> Vec<Piece> {
    let mut s = Splitter::new();
    let mut out = Vec::new();
    for (i, l) in lines.iter().enumerate() {
        out.extend(s.push(i + 1, l));
    }
    out.extend(s.finish());
    out
}

fn lines(pieces: &[Piece]) -> Vec<(bool, usize)> {
    pieces
        .iter()
        .map(|p| match p {
            Piece::Doc { line, .. } => (true, *line),
            Piece::Bad { line, .. } => (false, *line),
        })
        .collect()
}

#[test]
fn ndjson_with_blank_and_bad_lines() {
    let p = run("{\"a\":1}\n\n{bad\n{\"b\":2}\nnot json\n{\"c\":3}\n");
    assert_eq!(
        lines(&p),
        [(true, 1), (false, 3), (true, 4), (false, 5), (true, 6)]
    );
    match &p[1] {
        Piece::Bad { message, .. } => {
            assert!(
                message.starts_with("not valid JSON: key must be a string"),
                "{message}"
            )
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn one_pretty_printed_document() {
    let p = run("{\n  \"a\": 1,\n  \"b\": {\"c\": 2}\n}\n");
    assert_eq!(lines(&p), [(true, 1)]);
}

#[test]
fn a_cut_line_does_not_swallow_the_next() {
    let p = run("{\"a\":1\n{\"b\":2}\n{\"c\":");
    assert_eq!(lines(&p), [(false, 1), (true, 2), (false, 3)]);
}

#[test]
fn a_line_cut_after_a_colon_does_not_swallow_a_valid_line() {
    let valid = r#"{"customer": 1, "event_type": "job.completed", "job": {}}"#;
    let cut = r#"{"customer": 1, "event_type":"#;
    // At the end of input, and followed by more lines.
    assert_eq!(lines(&run_lines(&[cut, valid])), [(false, 1), (true, 2)]);
    assert_eq!(
        lines(&run_lines(&[cut, valid, valid])),
        [(false, 1), (true, 2), (true, 3)]
    );
    assert_eq!(
        lines(&run_lines(&[valid, cut, "", valid, "[1,"])),
        [(true, 1), (false, 2), (true, 4), (false, 5)]
    );
}

#[test]
fn objects_on_their_own_lines_inside_a_document_stay_in_it() {
    let text = "{\n  \"customer\": 1,\n  \"job\":\n    {\"id\": 1},\n  \"items\": [\n    {\"a\": 1},\n    {\"b\": 2}\n  ]\n}\n{\"next\": true}\n";
    let p = run(text);
    assert_eq!(lines(&p), [(true, 1), (true, 10)]);
    match &p[0] {
        Piece::Doc { value, .. } => assert_eq!(value["items"][1]["b"], 2),
        other => panic!("{other:?}"),
    }
}

const VALID: &[&str] = &[
    r#"{"customer": 1, "event_type": "job.completed", "event_id": 7, "actor": {"id": 1, "username": "admin"}, "job": {"id": 7, "tags": ["a", "b"], "ok": true, "none": null, "n": -1.5e3, "s": "q\"uote \\ \u00e9 é"}}"#,
    r#"{"customer":2,"event_type":"device.created","device":{"hostname":"edge-1","ports":[1,2,[3,{}]],"f":false}}"#,
    r#"  {"a": [], "b": {}, "c": [[], [{}]], "d": 0}  "#,
];

/// Checks a run of `cut` then `after` (valid lines): every valid line is its document, and the
/// cut line is reported (or, when what is left of it is still JSON, is that document).
#[track_caller]
fn check_cut(cut: &str, after: &[&str]) {
    let mut input = vec![cut];
    input.extend(after);
    let pieces = run_lines(&input);
    let mut seen = Vec::new();
    for p in &pieces {
        let line = match p {
            Piece::Doc { line, .. } | Piece::Bad { line, .. } => *line,
        };
        assert!(
            !seen.contains(&line),
            "{cut:?}: line {line} twice: {pieces:?}"
        );
        seen.push(line);
        match (line, p) {
            (1, Piece::Doc { value, .. }) => {
                assert_eq!(
                    Ok(value),
                    serde_json::from_str::<Value>(cut).as_ref().map_err(|_| ())
                )
            }
            (1, Piece::Bad { .. }) => {
                assert!(
                    serde_json::from_str::<Value>(cut).is_err(),
                    "{cut:?}: {pieces:?}"
                )
            }
            (n, Piece::Doc { value, .. }) => assert_eq!(
                *value,
                serde_json::from_str::<Value>(after[n - 2]).unwrap(),
                "{cut:?}"
            ),
            (n, bad) => panic!("{cut:?}: line {n} should be a document: {bad:?}"),
        }
    }
    seen.sort_unstable();
    let expected: Vec<usize> = (if cut.trim().is_empty() { 2 } else { 1 }..=input.len()).collect();
    assert_eq!(seen, expected, "{cut:?}: {pieces:?}");
}

#[test]
fn every_line_cut_anywhere_and_followed_by_valid_lines() {
    for cut_from in VALID {
        for end in (0..=cut_from.len()).filter(|i| cut_from.is_char_boundary(*i)) {
            let cut = &cut_from[..end];
            for next in VALID {
                check_cut(cut, &[next]);
                check_cut(cut, &[next, VALID[0]]);
            }
        }
    }
}

#[test]
fn a_pretty_printed_document_cut_anywhere_and_followed_by_a_valid_line() {
    let value: Value = serde_json::from_str(VALID[0]).unwrap();
    let pretty = serde_json::to_string_pretty(&value).unwrap();
    for end in (1..pretty.len()).filter(|i| pretty.is_char_boundary(*i)) {
        let cut = &pretty[..end];
        let mut input: Vec<&str> = cut.lines().collect();
        let n = input.len();
        input.push(VALID[1]);
        let pieces = run_lines(&input);
        let docs: Vec<_> = pieces
            .iter()
            .filter_map(|p| match p {
                Piece::Doc { line, value, .. } => Some((*line, value)),
                Piece::Bad { .. } => None,
            })
            .collect();
        let expected: Value = serde_json::from_str(VALID[1]).unwrap();
        assert!(
            docs.iter()
                .any(|(line, v)| *line == n + 1 && **v == expected),
            "cut at {end}: {pieces:?}"
        );
        assert!(
            pieces
                .iter()
                .any(|p| matches!(p, Piece::Bad { line: 1, .. })),
            "cut at {end}: the cut document is reported: {pieces:?}"
        );
    }
}

#[test]
fn an_unreadable_line_ends_an_open_document() {
    let mut s = Splitter::new();
    let mut out = s.push(1, "{");
    out.extend(s.push(2, "\"a\": 1,"));
    out.extend(s.push_unreadable(3, "not valid UTF-8".into()));
    out.extend(s.push(4, "{\"b\": 2}"));
    out.extend(s.finish());
    assert_eq!(lines(&out), [(false, 1), (false, 3), (true, 4)]);
}

#[test]
fn a_document_too_large_is_reported_once() {
    let mut input = vec!["{".to_string(), "\"a\": [".to_string()];
    let item = format!("\"{}\",", "x".repeat(1000));
    input.extend(std::iter::repeat_n(item, MAX_PAYLOAD_BYTES / 1000 + 10));
    input.extend([
        "\"end\"]".to_string(),
        "}".to_string(),
        "{\"b\": 2}".to_string(),
    ]);
    let refs: Vec<&str> = input.iter().map(String::as_str).collect();
    let p = run_lines(&refs);
    assert_eq!(lines(&p), [(false, 1), (true, input.len())]);
    match &p[0] {
        Piece::Bad { message, .. } => assert!(message.contains("larger than"), "{message}"),
        other => panic!("{other:?}"),
    }
}

#[test]
fn a_large_pretty_printed_document_is_read_in_linear_time() {
    // 40,000 lines took 31 s when every line re-parsed the document so far.
    let mut text =
        String::from("{\n  \"customer\": 1,\n  \"event_type\": \"job.completed\",\n  \"job\": {\n");
    for i in 0..40_000 {
        text.push_str(&format!("    \"k{i}\": {i},\n"));
    }
    text.push_str("    \"last\": true\n  }\n}\n");
    let started = std::time::Instant::now();
    let p = run(&text);
    let took = started.elapsed();
    assert_eq!(lines(&p), [(true, 1)]);
    match &p[0] {
        Piece::Doc { value, .. } => assert_eq!(value["job"]["k39999"], 39_999),
        other => panic!("{other:?}"),
    }
    assert!(took < std::time::Duration::from_secs(10), "took {took:?}");
}

/// `[`, `{}`, `,` repeated, then `x`: the first document breaks only at the last line, and
/// every `[` read again opens a document that runs to the end again.
fn reopening_input(repeats: usize) -> Vec<&'static str> {
    let mut input: Vec<&str> = ["[", "{}", ","].repeat(repeats);
    input.push("x");
    input
}

#[test]
fn lines_read_again_are_not_held_back_again() {
    let input = reopening_input(3);
    let p = run_lines(&input);
    // The first document breaks at line 10 and lines 2-10 are read again: line 2 is an event,
    // line 3 is not JSON, and the document line 4 begins breaks at line 10 too — with lines
    // 5-9 inside it, reported as part of it rather than read a third time. Then line 10.
    assert_eq!(
        lines(&p),
        [(false, 1), (true, 2), (false, 3), (false, 4), (false, 10)]
    );
    // Lines read for the first time are still held back by a document begun among lines read
    // again: line 5 is an event, though the document line 3 began is open when it comes.
    let p = run_lines(&["{\"a\":", "{}", "[", "[", "{\"b\": 1}", "}"]);
    assert_eq!(
        lines(&p),
        [(false, 1), (true, 2), (false, 3), (true, 5), (false, 6)]
    );
}

#[test]
fn input_that_reopens_documents_is_read_in_linear_time() {
    // 24,004 lines of this took 6.4 s when every document read again could hold the rest of
    // the input back once more (quadratic: minutes for this size).
    let repeats = 40_000;
    let input = reopening_input(repeats);
    let started = std::time::Instant::now();
    let p = run_lines(&input);
    let took = started.elapsed();
    assert_eq!(
        lines(&p),
        [
            (false, 1),
            (true, 2),
            (false, 3),
            (false, 4),
            (false, input.len())
        ]
    );
    assert!(took < std::time::Duration::from_secs(10), "took {took:?}");
}

#[test]
fn json_errors_say_where_they_are_in_the_input() {
    let bad = |lines: &[&str]| -> Vec<(usize, String)> {
        run_lines(lines)
            .into_iter()
            .filter_map(|p| match p {
                Piece::Bad { line, message } => Some((line, message)),
                Piece::Doc { .. } => None,
            })
            .collect()
    };
    // A string left open at a line break: said so, not as "1 lines further, column 0".
    assert_eq!(
        bad(&[r#"{"customer": 1, "x": "abc"#]),
        [(
            1,
            "not valid JSON: a string is still open at the end of the line (a closing quote missing?)"
                .to_string()
        )]
    );
    // An error on a later line of a document is placed by its input line number.
    assert_eq!(
        bad(&["{\"a\": 1}", "", "{\"customer\": 1,", "\"x\": \"\\ud800\"}"]),
        [(
            3,
            "not valid JSON: unexpected end of hex escape (at line 4, column 13)".to_string()
        )]
    );
    // On the document's own line, the column alone.
    let first = bad(&[r#"{"x": "\ud800"}"#]);
    assert_eq!(first.len(), 1);
    assert!(
        first[0].1.ends_with("(column 14)") && !first[0].1.contains("further"),
        "{first:?}"
    );
}
