//! Files the crate writes whole: a temporary file beside the target, synced, then renamed (or
//! linked, when an existing file must not be replaced) into place; telling whether two paths
//! name one file; and reading several files as one stream.
//!
//! Uses only the standard library.

use std::fs::{self, File, OpenOptions};
use std::io;
use std::os::unix::fs::{MetadataExt as _, OpenOptionsExt as _};
use std::path::{Path, PathBuf};

/// Whether `a` and `b` name the same file: the same device and inode when both exist (links
/// and other spellings of the path included), or the same canonical path when `b` does not
/// exist yet.
pub(crate) fn same_file(a: &Path, b: &Path) -> bool {
    match (fs::metadata(a), fs::metadata(b)) {
        (Ok(x), Ok(y)) => (x.dev(), x.ino()) == (y.dev(), y.ino()),
        _ => match (fs::canonicalize(a), canonical_new(b)) {
            (Ok(x), Some(y)) => x == y,
            _ => false,
        },
    }
}

/// The canonical form of a path that may not exist yet: its directory's, joined with its name.
fn canonical_new(path: &Path) -> Option<PathBuf> {
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    Some(fs::canonicalize(dir).ok()?.join(path.file_name()?))
}

/// Writes `path` whole or not at all, created with permissions `mode` (before the umask):
/// `write` fills a temporary file beside it, which is synced and then renamed into place (or,
/// when `replace` is false, linked into place, failing if `path` exists), and the directory is
/// synced. The temporary file is removed on any failure.
pub(crate) fn write_whole(
    path: &Path,
    mode: u32,
    replace: bool,
    write: impl FnOnce(&mut File) -> io::Result<()>,
) -> io::Result<()> {
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        fs::create_dir_all(dir)?;
    }
    let mut name = path.file_name().unwrap_or_default().to_os_string();
    name.push(format!(".tmp-{}", std::process::id()));
    let tmp = path.with_file_name(name);
    let result = (|| {
        let mut file = OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .mode(mode)
            .open(&tmp)?;
        write(&mut file)?;
        file.sync_all()?;
        if replace {
            fs::rename(&tmp, path)
        } else {
            fs::hard_link(&tmp, path).and_then(|()| fs::remove_file(&tmp))
        }?;
        sync_parent(path)
    })();
    if result.is_err() {
        let _ = fs::remove_file(&tmp);
    }
    result
}

/// Makes a directory entry durable.
pub(crate) fn sync_parent(path: &Path) -> io::Result<()> {
    match path.parent().filter(|d| !d.as_os_str().is_empty()) {
        Some(dir) => File::open(dir)?.sync_all(),
        None => File::open(".")?.sync_all(),
    }
}

/// Files read one after another as one stream, stopping after `lines_left` lines if set: the
/// segments of a segmented log read as the one chain they form.
pub(crate) struct Concat {
    files: std::vec::IntoIter<PathBuf>,
    current: Option<File>,
    lines_left: Option<u64>,
}

impl Concat {
    pub(crate) fn new(files: Vec<PathBuf>, lines_left: Option<u64>) -> Self {
        Self {
            files: files.into_iter(),
            current: None,
            lines_left,
        }
    }
}

impl io::Read for Concat {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        loop {
            if self.lines_left == Some(0) || buf.is_empty() {
                return Ok(0);
            }
            let Some(file) = &mut self.current else {
                let Some(path) = self.files.next() else {
                    return Ok(0);
                };
                let file = File::open(&path)
                    .map_err(|e| io::Error::new(e.kind(), format!("{}: {e}", path.display())))?;
                self.current = Some(file);
                continue;
            };
            let n = file.read(buf)?;
            if n == 0 {
                self.current = None;
                continue;
            }
            let Some(left) = &mut self.lines_left else {
                return Ok(n);
            };
            for (i, _) in buf[..n].iter().enumerate().filter(|(_, b)| **b == b'\n') {
                *left -= 1;
                if *left == 0 {
                    return Ok(i + 1);
                }
            }
            return Ok(n);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write as _;

    #[test]
    fn same_file_sees_links_spellings_and_new_paths() {
        let dir = std::env::temp_dir().join(format!("acttrace-files-{}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(dir.join("sub")).unwrap();
        let a = dir.join("a.jsonl");
        fs::write(&a, "x").unwrap();
        fs::hard_link(&a, dir.join("hard")).unwrap();
        std::os::unix::fs::symlink(&a, dir.join("soft")).unwrap();
        assert!(same_file(&a, &dir.join("hard")));
        assert!(same_file(&a, &dir.join("soft")));
        assert!(same_file(&a, &dir.join("sub/../a.jsonl")));
        assert!(!same_file(&a, &dir.join("b.jsonl")));
        fs::write(dir.join("c"), "x").unwrap();
        assert!(!same_file(&a, &dir.join("c")), "same content, another file");

        let key = dir.join("k");
        write_whole(&key, 0o600, false, |f| f.write_all(b"secret")).unwrap();
        assert_eq!(fs::metadata(&key).unwrap().mode() & 0o777, 0o600);
        let again = write_whole(&key, 0o600, false, |f| f.write_all(b"other"));
        assert_eq!(again.unwrap_err().kind(), io::ErrorKind::AlreadyExists);
        assert_eq!(fs::read(&key).unwrap(), b"secret");
        let failed = write_whole(&dir.join("p"), 0o600, true, |_| Err(io::Error::other("x")));
        assert!(failed.is_err());
        let left: Vec<_> = fs::read_dir(&dir)
            .unwrap()
            .flatten()
            .map(|e| e.file_name())
            .collect();
        assert!(
            !left.iter().any(|n| n.to_string_lossy().contains(".tmp-")),
            "{left:?}"
        );
        let _ = fs::remove_dir_all(&dir);
    }
}
