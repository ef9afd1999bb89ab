//! Shared helpers: scratch directories, the shared vectors, the Python reference.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;
use std::sync::atomic::{AtomicU64, Ordering};

/// A scratch directory under Cargo's per-target temp dir, removed when dropped.
pub(crate) struct Scratch(PathBuf);

impl Scratch {
    pub(crate) fn new(name: &str) -> Self {
        static N: AtomicU64 = AtomicU64::new(0);
        let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!(
            "{name}-{}-{}",
            std::process::id(),
            N.fetch_add(1, Ordering::Relaxed)
        ));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("create scratch dir");
        Self(dir)
    }

    pub(crate) fn join(&self, p: &str) -> PathBuf {
        self.0.join(p)
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// The reference's files and verdicts: `tests/vectors` (vendored, with their manifest), or
/// another copy named by `$ACTTRACE_VECTORS` (such as the shared one they were taken from).
/// Runs `openssl` with `args` in `dir`, and fails the test if it fails.
#[cfg_attr(
    not(any(feature = "rfc3161", feature = "postgres-tls")),
    allow(dead_code)
)]
pub(crate) fn openssl(dir: &Path, args: &[&str]) {
    let out = Command::new("openssl")
        .current_dir(dir)
        .args(args)
        .output()
        .expect("openssl runs (the CI script installs it)");
    assert!(
        out.status.success(),
        "openssl {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

pub(crate) fn vectors_dir() -> PathBuf {
    let dir = std::env::var_os("ACTTRACE_VECTORS").map_or_else(
        || Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/vectors"),
        PathBuf::from,
    );
    assert!(
        dir.join("MANIFEST.json").is_file(),
        "the reference's vectors are not at {}; set ACTTRACE_VECTORS",
        dir.display()
    );
    dir
}

pub(crate) fn manifest() -> serde_json::Value {
    let text = std::fs::read_to_string(vectors_dir().join("MANIFEST.json")).expect("read manifest");
    serde_json::from_str(&text).expect("parse manifest")
}

/// The reference implementation the interop tests pin (the versions the vectors were made with).
pub(crate) const REFERENCE: [&str; 2] = ["cendor-acttrace==1.14.0", "cendor-core==1.21.0"];

/// The Python of a venv holding the reference implementation: `$ACTTRACE_PYREF_PYTHON`, or
/// `target/pyref` (created on first use with `python3 -m venv` and pip).
pub(crate) fn reference_python() -> PathBuf {
    static PY: OnceLock<PathBuf> = OnceLock::new();
    PY.get_or_init(|| {
        if let Some(p) = std::env::var_os("ACTTRACE_PYREF_PYTHON") {
            return PathBuf::from(p);
        }
        venv("target/pyref", "cendor.acttrace", &REFERENCE).join("bin/python")
    })
    .clone()
}

/// A venv under the crate's directory at `dir` in which `module` imports: made on first use
/// with `python3 -m venv`, then `pip install` with `install`'s arguments. Returns its root.
pub(crate) fn venv(dir: &str, module: &str, install: &[&str]) -> PathBuf {
    let venv = Path::new(env!("CARGO_MANIFEST_DIR")).join(dir);
    let py = venv.join("bin/python");
    let ready = Command::new(&py)
        .args(["-c", &format!("import {module}")])
        .output()
        .is_ok_and(|o| o.status.success());
    if !ready {
        run(Command::new("python3").args(["-m", "venv"]).arg(&venv));
        run(Command::new(&py)
            .args([
                "-m",
                "pip",
                "install",
                "--quiet",
                "--disable-pip-version-check",
            ])
            .args(install));
    }
    venv
}

fn run(cmd: &mut Command) {
    let out = cmd.output().unwrap_or_else(|e| panic!("{cmd:?}: {e}"));
    assert!(
        out.status.success(),
        "{cmd:?} failed:\n{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Runs the reference's `verify()`; returns `(ok, detail)`.
pub(crate) fn reference_verify(
    path: &Path,
    key: Option<&str>,
    expected_head: Option<&str>,
) -> (bool, String) {
    let script = r#"
import json, sys
from cendor.acttrace import verify
args = json.loads(sys.argv[2])
ok, detail = verify(sys.argv[1], **args)
print(json.dumps([ok, detail]))
"#;
    let mut args = serde_json::Map::new();
    if let Some(k) = key {
        args.insert("key".into(), k.into());
    }
    if let Some(h) = expected_head {
        args.insert("expected_head".into(), h.into());
    }
    let out = Command::new(reference_python())
        .args(["-c", script])
        .arg(path)
        .arg(serde_json::Value::Object(args).to_string())
        .output()
        .expect("run reference verify");
    assert!(
        out.status.success(),
        "reference verify crashed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let (ok, detail): (bool, String) =
        serde_json::from_slice(&out.stdout).expect("reference verify output");
    (ok, detail)
}

/// Runs a Python snippet in the reference's venv, failing the test if it fails.
pub(crate) fn reference_run(script: &str, args: &[&str]) -> String {
    let out = Command::new(reference_python())
        .args(["-c", script])
        .args(args)
        .output()
        .expect("run reference script");
    assert!(
        out.status.success(),
        "reference script failed:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Debian's Chromium (`ACTTRACE_CHROMIUM` names another), or `None` with a note on stderr:
/// `.ci/run` installs it.
pub(crate) fn chromium() -> Option<PathBuf> {
    let path = std::env::var_os("ACTTRACE_CHROMIUM")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("/usr/bin/chromium"));
    if path.is_file() {
        Some(path)
    } else {
        eprintln!(
            "skipped: no Chromium at {} (apt-get install chromium; .ci/run installs it)",
            path.display()
        );
        None
    }
}

/// The DOM Chromium builds from an HTML file (headless, no network), serialized.
pub(crate) fn rendered_dom(chromium: &Path, page: &Path) -> String {
    let out = Command::new(chromium)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--no-first-run",
            "--dump-dom",
        ])
        .arg(format!("file://{}", page.display()))
        .output()
        .expect("run chromium");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Runs the `acttrace` command (without `ACTTRACE_KEY` from the environment); gives its exit
/// code and what it printed, standard output then standard error.
#[cfg(feature = "cli")]
pub(crate) fn run_acttrace<S: AsRef<std::ffi::OsStr>>(args: &[S]) -> (Option<i32>, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_acttrace"))
        .env_remove("ACTTRACE_KEY")
        .args(args)
        .output()
        .expect("run acttrace");
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr),
    )
}

/// The verifier key line `acttrace checkpoint --note` prints (`... verifier key NAME+ID+KEY`).
#[cfg(feature = "cli")]
pub(crate) fn verifier_key(said: &str) -> String {
    said.split("verifier key ")
        .nth(1)
        .and_then(|rest| rest.split_whitespace().next())
        .unwrap_or_else(|| panic!("no verifier key in: {said}"))
        .to_owned()
}

/// Base64 (RFC 4648, with padding), written apart from the crate's own: as AWS wraps a
/// stream's events, as a `data:` URL or a document block carries a file.
mod base64;
pub(crate) use self::base64::base64;

/// A `.tar.gz` of `files` (name, content), as `tar czf` makes one: a ustar header a file (its
/// checksum right), the data padded to 512 bytes, two blocks of zeros, gzipped.
#[cfg(feature = "server")]
pub(crate) fn tar_gz(files: &[(&str, &[u8])]) -> Vec<u8> {
    use std::io::Write as _;
    let mut tar = Vec::new();
    for (name, data) in files {
        let mut header = [0u8; 512];
        header[..name.len()].copy_from_slice(name.as_bytes());
        header[100..107].copy_from_slice(b"0000644");
        header[124..135].copy_from_slice(format!("{:011o}", data.len()).as_bytes());
        header[148..156].copy_from_slice(b"        ");
        header[156] = b'0';
        header[257..265].copy_from_slice(b"ustar\x0000");
        let sum: u32 = header.iter().map(|&b| u32::from(b)).sum();
        header[148..155].copy_from_slice(format!("{sum:06o}\0").as_bytes());
        tar.extend_from_slice(&header);
        tar.extend_from_slice(data);
        tar.resize(tar.len().div_ceil(512) * 512, 0);
    }
    tar.resize(tar.len() + 1024, 0);
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    gz.write_all(&tar).expect("compress");
    gz.finish().expect("compress")
}

/// A zip archive of `files` (name, content), each deflated, as a `.docx` or a `.zip` is laid
/// out: local headers and data, the central directory and its end, with each file's CRC-32.
#[cfg(feature = "server")]
pub(crate) fn zip(files: &[(&str, &[u8])]) -> Vec<u8> {
    use std::io::Write as _;
    let (mut out, mut directory) = (Vec::new(), Vec::new());
    for (name, data) in files {
        let mut deflate = flate2::write::DeflateEncoder::new(Vec::new(), Default::default());
        deflate.write_all(data).expect("compress");
        let packed = deflate.finish().expect("compress");
        let mut crc = flate2::Crc::new();
        crc.update(data);
        // Version, flags, deflate, time and date; CRC, sizes, name's length, no extra field.
        let mut head = vec![20, 0, 0, 0, 8, 0, 0, 0, 0x21, 0];
        head.extend_from_slice(&crc.sum().to_le_bytes());
        head.extend_from_slice(&(packed.len() as u32).to_le_bytes());
        head.extend_from_slice(&(data.len() as u32).to_le_bytes());
        head.extend_from_slice(&(name.len() as u16).to_le_bytes());
        head.extend_from_slice(&[0, 0]);
        let offset = out.len() as u32;
        out.extend_from_slice(b"PK\x03\x04");
        out.extend_from_slice(&head);
        out.extend_from_slice(name.as_bytes());
        out.extend_from_slice(&packed);
        directory.extend_from_slice(b"PK\x01\x02\x14\x00");
        directory.extend_from_slice(&head);
        // No comment, disk 0, attributes; where its local header is.
        directory.extend_from_slice(&[0; 10]);
        directory.extend_from_slice(&offset.to_le_bytes());
        directory.extend_from_slice(name.as_bytes());
    }
    let at = out.len() as u32;
    out.extend_from_slice(&directory);
    out.extend_from_slice(b"PK\x05\x06\x00\x00\x00\x00");
    for _ in 0..2 {
        out.extend_from_slice(&(files.len() as u16).to_le_bytes());
    }
    out.extend_from_slice(&(directory.len() as u32).to_le_bytes());
    out.extend_from_slice(&at.to_le_bytes());
    out.extend_from_slice(&[0, 0]);
    out
}
