use super::*;

#[test]
fn time_stamps_read_as_seconds() {
    let row = |ts: &str| Row {
        seq: 0,
        ts: ts.to_owned(),
        kind: String::new(),
        payload: Map::new(),
        hash: String::new(),
    };
    assert_eq!(
        render::seconds_of(&row("1970-01-01T00:00:00+00:00")),
        Some(0.0)
    );
    assert_eq!(
        render::seconds_of(&row("2026-12-06T05:18:27.5+00:00")),
        Some(1_796_534_307.5)
    );
    assert_eq!(
        render::seconds_of(&row("2026-12-06T06:18:27+01:00")),
        Some(1_796_534_307.0)
    );
    assert_eq!(render::seconds_of(&row("yesterday")), None);
    assert_eq!(render::seconds_of(&row("2026-1x-06T05:18:27Z")), None);
}

#[test]
fn escaping_covers_markup_and_steering_characters() {
    assert_eq!(
        render::esc("<b a=\"1\">&'</b>"),
        "&lt;b a=&quot;1&quot;&gt;&amp;&#39;&lt;/b&gt;"
    );
    let shown = render::esc("a\u{202e}b\u{1b}[2Jc");
    assert!(
        !shown.contains('\u{202e}') && !shown.contains('\u{1b}'),
        "{shown}"
    );
}

#[test]
fn decision_ids_are_kept_small_and_told_apart() {
    use facts::DecisionKey;
    let random = crate::chain::DecisionId::random().to_string();
    assert!(
        matches!(DecisionKey::of(&random), DecisionKey::Hex(_)),
        "{random}"
    );
    let hex = "0123456789abcdef0123456789abcdef";
    let DecisionKey::Hex(raw) = DecisionKey::of(hex) else {
        panic!("32 lowercase hex digits are kept as bytes");
    };
    assert_eq!(raw[..2], [0x01, 0x23]);
    // Anything else is kept as written, and never equals a hex id.
    for other in [
        "0123456789ABCDEF0123456789ABCDEF",
        "0123456789abcdef0123456789abcde",
        "dec-17",
        "0123456789abcdef0123456789abcdeg",
        "é123456789abcdef0123456789abcde",
    ] {
        assert_eq!(DecisionKey::of(other), DecisionKey::Text(other.into()));
        assert_ne!(DecisionKey::of(other), DecisionKey::of(hex));
    }
    assert_ne!(
        DecisionKey::of(hex),
        DecisionKey::of("0123456789abcdef0123456789abcdee")
    );
}
