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

/// A decision's outcome: its `decision_record`'s, else its `decision_end`'s, and `blocked`
/// when a policy blocked it; the later of a record and a block wins. Decisions with other ids
/// keep theirs.
#[test]
fn outcomes_follow_records_and_blocks_over_ends() {
    let mut facts = facts::Facts::for_period(crate::evidence::Period::all());
    let mut seq = 0;
    let mut add = |facts: &mut facts::Facts, kind: &str, id: &str, fields: &[(&str, &str)]| {
        let mut payload = Map::new();
        payload.insert("decision_id", id);
        for (k, v) in fields {
            payload.insert(*k, *v);
        }
        seq += 1;
        facts.add(&Row {
            seq,
            ts: "2026-12-06T05:18:27+00:00".to_owned(),
            kind: kind.to_owned(),
            payload,
            hash: String::new(),
        });
    };
    let (a, b, c, d, e) = (
        "0123456789abcdef0123456789abcdef",
        "fedcba9876543210fedcba9876543210",
        "dec-3",
        "dec-4",
        "dec-5",
    );
    for id in [a, b, c, d, e] {
        add(&mut facts, "decision", id, &[]);
    }
    // a: ended, then recorded: the record's outcome.
    add(&mut facts, "decision_end", a, &[("outcome", "ok")]);
    add(&mut facts, "decision_record", a, &[("outcome", "approved")]);
    // b: the end's, with no record.
    add(&mut facts, "decision_end", b, &[("outcome", "declined")]);
    // c: ended, then blocked.
    add(&mut facts, "decision_end", c, &[("outcome", "error")]);
    add(&mut facts, "policy_flag", c, &[("action", "block")]);
    // d: blocked, then recorded, then ended: the record (the later of the two).
    add(&mut facts, "policy_flag", d, &[("action", "blocked")]);
    add(&mut facts, "decision_record", d, &[("outcome", "approved")]);
    add(&mut facts, "decision_end", d, &[("outcome", "ok")]);
    // e: never ended.
    let outcome = |facts: &facts::Facts, id: &str| {
        let key = facts::DecisionKey::of(id);
        facts
            .decisions
            .get(&key)
            .and_then(|dec| facts.outcome(dec).map(str::to_owned))
    };
    assert_eq!(outcome(&facts, a).as_deref(), Some("approved"));
    assert_eq!(outcome(&facts, b).as_deref(), Some("declined"));
    assert_eq!(outcome(&facts, c).as_deref(), Some("blocked"));
    assert_eq!(outcome(&facts, d).as_deref(), Some("approved"));
    assert_eq!(outcome(&facts, e), None);
    assert_eq!(facts.opened().count(), 5);
    assert_eq!(facts.opened_at(c).map(|(s, _)| s), Some(3));
    assert!(facts.opened_at("dec-unknown").is_none());
}

#[test]
fn entry_types_are_counted_up_to_a_bound() {
    let mut facts = facts::Facts::for_period(crate::evidence::Period::all());
    for i in 0..facts::MAX_TYPES + 44 {
        for _ in 0..2 {
            facts.add(&Row {
                seq: i as u64,
                ts: "2026-12-06T05:18:27+00:00".to_owned(),
                kind: format!("type-{i:04}"),
                payload: Map::new(),
                hash: String::new(),
            });
        }
    }
    assert_eq!(facts.types.len(), facts::MAX_TYPES);
    assert!(facts.types.values().all(|n| *n == 2));
    assert_eq!(facts.other_types, 88);
    assert_eq!(facts.entries, 2 * (facts::MAX_TYPES as u64 + 44));
}
