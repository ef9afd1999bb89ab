//! The crate's layout holds its shape: the modules depend on each other in one direction only,
//! no source file outgrows about 800 lines, and every module says what it owns and may use.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// Each module and the modules it may use. The arrows point one way: `json` <- `chain` <-
/// `verify` <- `store` <- `evidence`, with `redact` beside `json`; the layers and the client
/// sit on top. `fuzz` (the fuzz targets' properties) and the binary may use everything and
/// nothing may use them.
const ALLOWED: &[(&str, &[&str])] = &[
    ("files", &[]),
    ("base64", &[]),
    ("blocking", &[]),
    ("json", &[]),
    ("redact", &["json", "base64"]),
    ("chain", &["json", "redact", "files"]),
    ("verify", &["json", "chain"]),
    (
        "store",
        &["json", "chain", "redact", "verify", "files", "blocking"],
    ),
    (
        "evidence",
        &["json", "chain", "verify", "store", "files", "base64"],
    ),
    ("decision", &["json", "chain", "store"]),
    (
        "layer",
        &[
            "json", "chain", "redact", "store", "decision", "base64", "blocking",
        ],
    ),
    ("client", &["json", "chain", "store", "decision", "base64"]),
];

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).expect("read src") {
        let path = entry.expect("entry").path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// The top-level module a source file belongs to (`src/store/writer.rs` -> `store`).
fn module_of(src: &Path, file: &Path) -> String {
    let rel = file.strip_prefix(src).expect("under src");
    let first = rel.components().next().expect("a component");
    first
        .as_os_str()
        .to_string_lossy()
        .trim_end_matches(".rs")
        .to_owned()
}

/// The crate modules a file's code names (`crate::store::...`), comments left out.
fn uses(text: &str) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    for line in text.lines() {
        let code = line.split("//").next().unwrap_or("");
        let mut rest = code;
        while let Some(at) = rest.find("crate::") {
            let name: String = rest[at + 7..]
                .chars()
                .take_while(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || *c == '_')
                .collect();
            if !name.is_empty() {
                out.insert(name);
            }
            rest = &rest[at + 7..];
        }
    }
    out
}

#[test]
fn modules_depend_one_way_and_files_stay_small() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    rust_files(&src, &mut files);
    let allowed: BTreeMap<&str, &[&str]> = ALLOWED.iter().copied().collect();
    let mut graph: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    let mut problems = Vec::new();
    for file in &files {
        let text = std::fs::read_to_string(file).expect("read source");
        let lines = text.lines().count();
        if lines > 800 {
            problems.push(format!("{} has {lines} lines", file.display()));
        }
        let module = module_of(&src, file);
        if matches!(module.as_str(), "lib" | "bin" | "fuzz") {
            continue;
        }
        for used in uses(&text) {
            if used != module {
                graph.entry(module.clone()).or_default().insert(used);
            }
        }
    }
    for (module, used) in &graph {
        let Some(may) = allowed.get(module.as_str()) else {
            problems.push(format!("{module} is not in the layout's list"));
            continue;
        };
        for u in used {
            if !may.contains(&u.as_str()) {
                problems.push(format!("{module} uses {u}, which it may not"));
            }
        }
    }
    // No cycles, whatever the list allows: a walk from each module never comes back to it.
    for start in graph.keys() {
        let mut stack: Vec<&String> = graph[start].iter().collect();
        let mut seen = BTreeSet::new();
        while let Some(m) = stack.pop() {
            if m == start {
                problems.push(format!("a cycle through {start}"));
                break;
            }
            if seen.insert(m) {
                stack.extend(graph.get(m).into_iter().flatten());
            }
        }
    }
    // Every module root says what it owns and what it may use.
    for module in allowed.keys() {
        let root = [
            src.join(module).join("mod.rs"),
            src.join(format!("{module}.rs")),
        ]
        .into_iter()
        .find(|p| p.is_file())
        .expect("module root");
        let text = std::fs::read_to_string(&root).expect("read");
        let doc: String = text
            .lines()
            .take_while(|l| l.starts_with("//!"))
            .collect::<Vec<_>>()
            .join(" ");
        if doc.len() < 80 {
            problems.push(format!("{} has no top comment to speak of", root.display()));
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}
