//! What a model call's request body says, and only that: its `model` and `stream`, read
//! without parsing the rest (on the call's path: a long prompt costs a fast scan), and the
//! sampling parameters it asked for and the tools it offered, by name, read after the call, off
//! its path. Nothing else of a request is read or kept: no message, no tool's description or
//! schema.
//!
//! Uses the crate's JSON parser.

use crate::json::Value;
use crate::json::parse::{Node, Tape, Tok};

/// `model` and `stream` from a JSON request body. Nothing else is read or kept: the two
/// fields are read without parsing the rest (see [`shallow_fields`]), with a full parse only
/// for a body the shallow reading is unsure of.
pub(crate) fn request_fields(body: &[u8]) -> Option<(Option<String>, Option<bool>)> {
    match shallow_fields(body) {
        Shallow::Read(fields) => Some(fields),
        Shallow::Unsure => parsed_fields(body),
    }
}

/// What the shallow reading of a request body found.
#[derive(Debug, PartialEq)]
enum Shallow {
    Read((Option<String>, Option<bool>)),
    /// Something only a full parse reads right: not an object, an escaped key or model name,
    /// invalid UTF-8.
    Unsure,
}

/// Reads the top-level `model` and `stream` of a JSON object without parsing the rest: every
/// other value is skipped by matching brackets outside strings, and strings are skipped with
/// `memchr`, so a long prompt costs a fast scan and no allocation. The last duplicate key wins,
/// as in Python.
fn shallow_fields(b: &[u8]) -> Shallow {
    let ws = |i: &mut usize| {
        while b
            .get(*i)
            .is_some_and(|c| matches!(c, b' ' | b'\t' | b'\n' | b'\r'))
        {
            *i += 1;
        }
    };
    // The index just past the string starting at `i` (a quote), and whether it has escapes.
    let string_end = |i: usize| -> Option<(usize, bool)> {
        let mut at = i + 1;
        let mut escaped = false;
        loop {
            let j = at + memchr::memchr2(b'"', b'\\', b.get(at..)?)?;
            if b[j] == b'"' {
                return Some((j + 1, escaped));
            }
            escaped = true;
            at = j + 2;
        }
    };
    let mut i = 0;
    ws(&mut i);
    if b.get(i) != Some(&b'{') {
        return Shallow::Unsure;
    }
    i += 1;
    let (mut model, mut stream) = (None, None);
    loop {
        ws(&mut i);
        match b.get(i) {
            // The end, with nothing but white space after it.
            Some(b'}') => {
                i += 1;
                ws(&mut i);
                return if i == b.len() {
                    Shallow::Read((model, stream))
                } else {
                    Shallow::Unsure
                };
            }
            None => return Shallow::Unsure,
            Some(b',') => {
                i += 1;
                continue;
            }
            Some(b'"') => {}
            Some(_) => return Shallow::Unsure,
        }
        let Some((key_end, key_escaped)) = string_end(i) else {
            return Shallow::Unsure;
        };
        if key_escaped {
            return Shallow::Unsure;
        }
        let key = &b[i + 1..key_end - 1];
        i = key_end;
        ws(&mut i);
        if b.get(i) != Some(&b':') {
            return Shallow::Unsure;
        }
        i += 1;
        ws(&mut i);
        let start = i;
        // Skip the value: a string, or anything up to the `,` or `}` that ends it at depth 0.
        let mut depth = 0usize;
        loop {
            match b.get(i) {
                None => return Shallow::Unsure,
                Some(b'"') => match string_end(i) {
                    Some((end, _)) => i = end,
                    None => return Shallow::Unsure,
                },
                Some(b'{' | b'[') => {
                    depth += 1;
                    i += 1;
                }
                Some(b'}' | b']') if depth > 0 => {
                    depth -= 1;
                    i += 1;
                }
                Some(b',' | b'}') if depth == 0 => break,
                Some(_) => i += 1,
            }
            if depth == 0 && b.get(start) == Some(&b'"') {
                break;
            }
        }
        let value = trim_json_ws(&b[start..i]);
        match key {
            b"model" => {
                model = match value {
                    [b'"', inner @ .., b'"'] => {
                        if inner.contains(&b'\\') {
                            return Shallow::Unsure;
                        }
                        match std::str::from_utf8(inner) {
                            Ok(m) => Some(m.to_owned()),
                            Err(_) => return Shallow::Unsure,
                        }
                    }
                    _ => None,
                };
            }
            b"stream" => {
                stream = match value {
                    b"true" => Some(true),
                    b"false" => Some(false),
                    _ => None,
                };
            }
            _ => {}
        }
    }
}

fn trim_json_ws(mut v: &[u8]) -> &[u8] {
    while let [rest @ .., b' ' | b'\t' | b'\n' | b'\r'] = v {
        v = rest;
    }
    v
}

/// [`request_fields`] by a full parse, for the bodies the shallow reading is unsure of.
fn parsed_fields(body: &[u8]) -> Option<(Option<String>, Option<bool>)> {
    let text = std::str::from_utf8(body).ok()?;
    let mut tape = Tape::default();
    let root = tape.parse(text).ok()?;
    let (mut model, mut stream) = (None, None);
    for (k, v) in root.members() {
        match k.raw() {
            "model" => model = v.as_str().map(|m| m.into_owned()),
            "stream" => {
                stream = match v.tok() {
                    Tok::Bool(b) => Some(b),
                    _ => None,
                }
            }
            _ => {}
        }
    }
    Some((model, stream))
}

/// The sampling parameters a request asked for (`temperature`, `max_tokens`, `top_p`), at the
/// body's top level or in Gemini's `generationConfig`: read after the call, off its path.
pub(crate) fn request_params(body: &[u8]) -> Vec<(&'static str, Value)> {
    let mut out = Vec::new();
    // Most requests name none of them: no parse of a long prompt for nothing.
    let named = [
        &b"temperature"[..],
        b"max_",
        b"axOutputTokens",
        b"top_p",
        b"topP",
        b"\"tool",
    ]
    .iter()
    .any(|k| memchr::memmem::find(body, k).is_some());
    if !named {
        return out;
    }
    let Ok(text) = std::str::from_utf8(body) else {
        return out;
    };
    let mut tape = Tape::default();
    let Ok(root) = tape.parse(text) else {
        return out;
    };
    let config = root.get("generationConfig");
    let field = |names: &[&str]| {
        names.iter().find_map(|n| {
            root.get(n)
                .or_else(|| config.and_then(|c| c.get(n)))
                .map(|v| v.to_value())
                .filter(|v| matches!(v, Value::Int(_) | Value::Float(_)))
        })
    };
    for (name, keys) in [
        ("temperature", &["temperature"][..]),
        (
            "max_tokens",
            &[
                "max_tokens",
                "max_completion_tokens",
                "max_output_tokens",
                "maxOutputTokens",
            ][..],
        ),
        ("top_p", &["top_p", "topP"][..]),
    ] {
        if let Some(v) = field(keys) {
            out.push((name, v));
        }
    }
    let tools = offered_tools(root);
    if !tools.is_empty() {
        out.push(("tools_offered", Value::Array(tools)));
    }
    out
}

/// The names of the tools a request offered the model, never their descriptions or schemas:
/// `tools[].function.name` (OpenAI's chat, Cohere's, Ollama's), `tools[].name` (Anthropic's,
/// the Responses API's functions), `toolConfig.tools[].toolSpec.name` (Bedrock's `converse`),
/// `tools[].functionDeclarations[].name` (Gemini's); a built-in tool by its `type` (the
/// Responses API's `web_search`) or its key (Gemini's `googleSearch`). At most 64, each cut to
/// 64 characters.
fn offered_tools(root: Node<'_>) -> Vec<Value> {
    const MAX: usize = 64;
    let Some(list) = root
        .get("tools")
        .or_else(|| root.get("toolConfig").and_then(|c| c.get("tools")))
    else {
        return Vec::new();
    };
    let text = |n: Option<Node<'_>>| {
        n.and_then(|n| n.as_str())
            .map(|s| Value::from(s.chars().take(MAX).collect::<String>()))
    };
    let mut names = Vec::new();
    for tool in list.items() {
        if let Some(declared) = tool.get("functionDeclarations") {
            names.extend(declared.items().filter_map(|d| text(d.get("name"))));
            continue;
        }
        let name = text(tool.get("function").and_then(|f| f.get("name")))
            .or_else(|| text(tool.get("name")))
            .or_else(|| text(tool.get("toolSpec").and_then(|t| t.get("name"))))
            .or_else(|| text(tool.get("type")))
            .or_else(|| {
                let (key, _) = tool.members().next()?;
                Some(Value::from(
                    key.decode().chars().take(MAX).collect::<String>(),
                ))
            });
        names.extend(name);
    }
    names.truncate(MAX);
    names
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The shallow reading gives what a full parse gives, on ordinary bodies (where it is used)
    /// and on odd ones (where it may hand over to the parse).
    #[test]
    fn request_fields_read_without_a_parse_agree_with_one() {
        let long = "x".repeat(100_000);
        let bodies = [
            r#"{"model":"gpt-4o","messages":[{"role":"user","content":"hi"}]}"#.to_owned(),
            r#"{"messages":[{"role":"user","content":"say \"model\": \"fake\", {[}]"}],"model":"o3","stream":true}"#.to_owned(),
            r#" { "stream" : false , "model" : "claude-sonnet-4-5" , "max_tokens" : 1024 } "#.to_owned(),
            r#"{"model":"a","model":"b","stream":true,"stream":false}"#.to_owned(),
            r#"{"metadata":{"model":"inner","stream":true},"tools":[{"model":"x"}],"model":"outer"}"#.to_owned(),
            r#"{"model":"caf\u00e9","stream":true}"#.to_owned(),
            r#"{"mod\u0065l":"escaped-key"}"#.to_owned(),
            r#"{"model":null,"stream":"yes"}"#.to_owned(),
            r#"{"model":7,"stream":1,"temperature":0.5e-3,"n":-1,"x":[[],{},[{}]]}"#.to_owned(),
            r#"{"model":"modèle-ünicode","messages":[]}"#.to_owned(),
            format!(r#"{{"messages":[{{"role":"user","content":"{long}"}}],"model":"gpt-4o-mini","stream":true}}"#),
            "{}".to_owned(),
            "[]".to_owned(),
            "not json".to_owned(),
            r#"{"model":"cut-short""#.to_owned(),
            r#"{"model":"x","messages":[{"#.to_owned(),
            r#"{"model":"x"} trailing"#.to_owned(),
        ];
        for body in &bodies {
            assert_eq!(
                request_fields(body.as_bytes()),
                parsed_fields(body.as_bytes()),
                "{}",
                &body[..body.len().min(80)]
            );
        }
        // Ordinary bodies never need the parse.
        for body in [
            &bodies[0],
            &bodies[1],
            &bodies[2],
            &bodies[4],
            &bodies[8],
            &bodies[10],
        ] {
            assert!(matches!(shallow_fields(body.as_bytes()), Shallow::Read(_)));
        }
        assert_eq!(shallow_fields(bodies[6].as_bytes()), Shallow::Unsure);
    }

    /// The tools a request offered, by name, in every API's form; never a description or a
    /// schema.
    #[test]
    fn the_tools_offered_are_named() {
        let named = |body: &str| -> Vec<String> {
            request_params(body.as_bytes())
                .into_iter()
                .filter(|(k, _)| *k == "tools_offered")
                .flat_map(|(_, v)| match v {
                    Value::Array(items) => items,
                    _ => Vec::new(),
                })
                .filter_map(|v| v.as_str().map(str::to_owned))
                .collect()
        };
        let openai = r#"{"model":"gpt-4o","messages":[],"tools":[{"type":"function","function":{"name":"credit_score","description":"SECRET-DESC","parameters":{}}},{"type":"function","function":{"name":"income_check"}}]}"#;
        assert_eq!(named(openai), ["credit_score", "income_check"]);
        let responses = r#"{"model":"o3","input":"x","tools":[{"type":"function","name":"credit_score","parameters":{}},{"type":"web_search"}]}"#;
        assert_eq!(named(responses), ["credit_score", "web_search"]);
        let anthropic = r#"{"model":"claude","messages":[],"tools":[{"name":"credit_score","input_schema":{}},{"type":"web_search_20250305","name":"web_search"}]}"#;
        assert_eq!(named(anthropic), ["credit_score", "web_search"]);
        let gemini = r#"{"contents":[],"tools":[{"functionDeclarations":[{"name":"credit_score"},{"name":"income_check"}]},{"googleSearch":{}}]}"#;
        assert_eq!(
            named(gemini),
            ["credit_score", "income_check", "googleSearch"]
        );
        let bedrock = r#"{"messages":[],"toolConfig":{"tools":[{"toolSpec":{"name":"credit_score","inputSchema":{}}}]}}"#;
        assert_eq!(named(bedrock), ["credit_score"]);
        assert!(named(r#"{"model":"gpt-4o","messages":[],"tools":[]}"#).is_empty());
        assert!(named(r#"{"model":"gpt-4o","messages":[{"content":"use the tools"}]}"#).is_empty());
        let many: Vec<String> = (0..100).map(|i| format!(r#"{{"name":"t{i}"}}"#)).collect();
        assert_eq!(
            named(&format!(r#"{{"tools":[{}]}}"#, many.join(","))).len(),
            64
        );
        let all = format!("{:?}", request_params(openai.as_bytes()));
        assert!(!all.contains("SECRET-DESC"), "{all}");
    }
}
