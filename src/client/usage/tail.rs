//! Usage read from the end of an answer too large to keep whole (a batch of embeddings runs to
//! tens of megabytes): every API puts its usage last, so the last member named as one of them
//! names it is taken from the kept end, and read as if the answer held only those members.
//! What else the answer said (its id, why it stopped) is not read: the entry says how many
//! answers or events went unread.
//!
//! Uses nothing but `memchr`.

/// The members an API's usage is named by.
const KEYS: [&str; 5] = [
    "usage",
    "usageMetadata",
    "meta",
    "prompt_eval_count",
    "eval_count",
];

/// A JSON object of the usage members found in `end` (a body's last bytes, cut anywhere), or
/// `None` if it holds none.
pub(super) fn usage_at_the_end(end: &[u8]) -> Option<Vec<u8>> {
    let mut doc = vec![b'{'];
    for key in KEYS {
        if let Some(value) = last_member(end, key) {
            if doc.len() > 1 {
                doc.push(b',');
            }
            doc.push(b'"');
            doc.extend_from_slice(key.as_bytes());
            doc.extend_from_slice(b"\":");
            doc.extend_from_slice(value);
        }
    }
    doc.push(b'}');
    (doc.len() > 2).then_some(doc)
}

/// The value of the last member named `key` in `text` (a piece of JSON cut anywhere), as raw
/// JSON: an object or array (balanced, strings skipped), a string or a number.
fn last_member<'a>(text: &'a [u8], key: &str) -> Option<&'a [u8]> {
    let quoted = format!("\"{key}\"");
    let finder = memchr::memmem::FinderRev::new(quoted.as_bytes());
    finder.rfind_iter(text).find_map(|at| {
        let rest = &text[at + quoted.len()..];
        let colon = rest.iter().position(|b| !b.is_ascii_whitespace())?;
        if rest[colon] != b':' {
            return None; // a string that happens to read so, not a member's name
        }
        let after = &rest[colon + 1..];
        let start = after.iter().position(|b| !b.is_ascii_whitespace())?;
        let value = &after[start..];
        Some(&value[..json_value_len(value)?])
    })
}

/// The length of the JSON value `b` starts with, if it ends within `b`.
fn json_value_len(b: &[u8]) -> Option<usize> {
    let (mut depth, mut in_string, mut escaped) = (0usize, false, false);
    match b.first()? {
        b'{' | b'[' | b'"' => {}
        _ => {
            let n = b
                .iter()
                .take_while(|c| c.is_ascii_digit() || matches!(c, b'-' | b'+' | b'.' | b'e' | b'E'))
                .count();
            return (n > 0).then_some(n);
        }
    }
    for (i, &c) in b.iter().enumerate() {
        if in_string {
            match c {
                _ if escaped => escaped = false,
                b'\\' => escaped = true,
                b'"' => {
                    in_string = false;
                    if depth == 0 {
                        return Some(i + 1);
                    }
                }
                _ => {}
            }
            continue;
        }
        match c {
            b'"' => in_string = true,
            b'{' | b'[' => depth += 1,
            b'}' | b']' => {
                depth = depth.checked_sub(1)?;
                if depth == 0 {
                    return Some(i + 1);
                }
            }
            _ => {}
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_last_member_is_read_whatever_comes_before_it() {
        // Cut anywhere before: mid-string, mid-number, mid-object.
        let end = br#"0.1,0.2]},{"object":"embedding","usage":"in a string","note":"\"usage\": {no}","index":1}],"model":"text-embedding-3-small","usage":{"prompt_tokens":8123,"total_tokens":8123}}"#;
        assert_eq!(
            last_member(end, "usage"),
            Some(&br#"{"prompt_tokens":8123,"total_tokens":8123}"#[..])
        );
        assert_eq!(
            usage_at_the_end(end).as_deref(),
            Some(&br#"{"usage":{"prompt_tokens":8123,"total_tokens":8123}}"#[..])
        );
        // Ollama's counts are numbers at the top.
        let ollama = br#"0.3]],"total_duration":14143917,"prompt_eval_count":812}"#;
        assert_eq!(
            usage_at_the_end(ollama).as_deref(),
            Some(&br#"{"prompt_eval_count":812}"#[..])
        );
        // A value cut off by the end, or none at all.
        assert_eq!(
            last_member(br#"{"usage":{"prompt_tokens":8"#, "usage"),
            None
        );
        assert_eq!(usage_at_the_end(b"0.1,0.2,0.3"), None);
        assert_eq!(usage_at_the_end(b""), None);
    }

    #[test]
    fn values_end_where_json_says() {
        assert_eq!(json_value_len(br#"{"a":"}\"]","b":[1,{}]} tail"#), Some(23));
        assert_eq!(json_value_len(br#""a\"b" tail"#), Some(6));
        assert_eq!(json_value_len(b"-12.5e3,"), Some(7));
        assert_eq!(json_value_len(b"}"), None);
        assert_eq!(json_value_len(b"]"), None);
        assert_eq!(json_value_len(b""), None);
        assert_eq!(json_value_len(b"{"), None);
    }
}
