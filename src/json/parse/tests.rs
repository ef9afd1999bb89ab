//! The parser against Python's `json.loads`: what it accepts, refuses, and how it reads it.

use super::*;

fn canon(text: &str) -> String {
    let mut tape = Tape::default();
    let node = tape.parse(text).unwrap();
    let mut out = String::new();
    crate::json::canonical::write_node(&mut out, node);
    out
}

#[test]
fn canonicalizes_like_python() {
    assert_eq!(
        canon(r#"{"b": 1, "a": [1.0, -0, -0.0, 1E2]}"#),
        r#"{"a":[1.0,0,-0.0,100.0],"b":1}"#
    );
    assert_eq!(canon(r#"{"a": 1, "a": 2}"#), r#"{"a":2}"#);
    assert_eq!(
        canon(r#"{"a": 1, "b": 0, "a": 2, "a": 3}"#),
        r#"{"a":3,"b":0}"#
    );
    assert_eq!(
        canon(r#"{"\u0061": 1, "a": 2, "b": {"y": [], "x": {}}}"#),
        r#"{"a":2,"b":{"x":{},"y":[]}}"#
    );
    assert_eq!(canon(r#""\u00e9\/\ud83d\ude00\u0001""#), "\"é/😀\\u0001\"");
    assert_eq!(
        canon("[NaN, Infinity, -Infinity, 1e400]"),
        "[NaN,Infinity,-Infinity,Infinity]"
    );
    assert_eq!(
        canon("123456789012345678901234567890"),
        "123456789012345678901234567890"
    );
    assert_eq!(canon("1.000e-1"), "0.1");
    assert_eq!(canon("10000000000000000.0"), "1e+16");
    // Keys sort by code point, astral after BMP (UTF-8 byte order agrees).
    assert_eq!(
        canon(r#"{"😀": 1, "\uffff": 2, "Z": 3, "a": 4}"#),
        "{\"Z\":3,\"a\":4,\"\u{ffff}\":2,\"😀\":1}"
    );
    let many: String = (0..100)
        .rev()
        .map(|i| format!("\"k{i:03}\": {i}"))
        .collect::<Vec<_>>()
        .join(", ");
    let want: String = (0..100)
        .map(|i| format!("\"k{i:03}\":{i}"))
        .collect::<Vec<_>>()
        .join(",");
    assert_eq!(canon(&format!("{{{many}}}")), format!("{{{want}}}"));
}

#[test]
fn rejects_what_python_rejects() {
    for bad in [
        "",
        "{",
        "[1,]",
        "{\"a\":1,}",
        "01",
        "1.",
        ".5",
        "+1",
        "\"a\u{1}\"",
        "\"\\x\"",
        "\"\\u12\"",
        "{'a': 1}",
        "nan",
        "{} {}",
        "\u{feff}{}",
        "-",
        "\"abc",
        "[1 2]",
        "{\"a\" 1}",
    ] {
        assert!(parse_value(bad).is_err(), "{bad:?} should not parse");
    }
}

#[test]
fn control_characters_are_refused_at_any_length() {
    for len in [0, 5, 31, 32, 33, 100] {
        let text = format!("\"{}\u{1}x\"", "a".repeat(len));
        let err = parse_value(&text).expect_err("control character");
        assert_eq!(
            err.to_string(),
            format!("Invalid control character (byte {})", len + 1)
        );
        assert!(parse_value(&format!("\"{}\\n\"", "a".repeat(len))).is_ok());
        assert!(parse_value(&format!("\"{}", "a".repeat(len))).is_err());
    }
}

#[test]
fn find_stop_matches_a_byte_loop() {
    let mut rng = 0x9e37_79b9_7f4a_7c15u64;
    for len in 0..80 {
        for _ in 0..200 {
            let bytes: Vec<u8> = (0..len)
                .map(|_| {
                    rng ^= rng << 13;
                    rng ^= rng >> 7;
                    rng ^= rng << 17;
                    // Mostly ordinary text, sometimes a stop byte or a high byte.
                    match rng % 16 {
                        0 => b'"',
                        1 => b'\\',
                        2 => (rng >> 8) as u8 % 0x20,
                        3 => 0x80 | (rng >> 8) as u8,
                        _ => b'a' + (rng >> 8) as u8 % 26,
                    }
                })
                .collect();
            let want = bytes.iter().position(|&c| STOP[usize::from(c)]);
            assert_eq!(find_stop(&bytes), want, "{bytes:?}");
        }
    }
}

#[test]
fn lone_surrogates_are_refused() {
    assert!(parse_value(r#""\ud800""#).is_err());
    assert!(parse_value(r#""\udfff\ud800""#).is_err());
    assert!(parse_value(r#""\ud800x""#).is_err());
    assert!(parse_value(r#""\ud83d\ude00""#).is_ok());
}

#[test]
fn depth_is_bounded() {
    let ok = "[".repeat(MAX_DEPTH) + &"]".repeat(MAX_DEPTH);
    assert!(parse_value(&ok).is_ok());
    let deep = "[".repeat(MAX_DEPTH + 1) + &"]".repeat(MAX_DEPTH + 1);
    assert!(parse_value(&deep).is_err());
    assert!(parse_value(&"[".repeat(1_000_000)).is_err());
    assert!(parse_value(&"{\"a\":".repeat(1_000_000)).is_err());
}

#[test]
fn navigation() {
    let mut tape = Tape::default();
    let root = tape
        .parse(r#"{"a": [1, {"b": 2}], "c": "x", "a": [3]}"#)
        .unwrap();
    assert_eq!(
        root.get("a").unwrap().items().count(),
        1,
        "last duplicate wins"
    );
    assert_eq!(root.get("c").unwrap().as_str().unwrap(), "x");
    assert_eq!(root.members().count(), 3);
    assert!(root.get("zz").is_none());
}

#[test]
fn python_str_of_values() {
    let py = |t: &str| Tape::default().parse(t).map(|n| n.py_str()).unwrap();
    assert_eq!(py("2.0"), "2.0");
    assert_eq!(py("true"), "True");
    assert_eq!(py("\"2\""), "2");
    assert_eq!(py("null"), "None");
    assert_eq!(py(r#"{"a": [1, "x"]}"#), "{'a': [1, 'x']}");
}
