//! Where the evidence readers (`show`, `stats`, the report) take a log from: a file (a log or
//! an evidence pack), or a segment directory's kept segments in order, as the one chain they
//! form, with what its retention record says came before them.
//!
//! Uses the segment layout of the verifier.

use std::io::{self, BufRead, BufReader};
use std::path::Path;

use crate::json::value::Map;

/// The log (or pack) at `path` as one stream: a file, or a segment directory's segments in
/// order, from the first its retention record keeps (one that a retention run stopped before
/// deleting is not read as the log's).
pub(crate) fn open_log(path: &Path) -> io::Result<Box<dyn BufRead>> {
    #[cfg(feature = "ed25519")]
    if path.is_dir() {
        let first = crate::verify::segments::read_record(path)
            .map_err(io::Error::other)?
            .map_or(0, |r| r.next_segment);
        let files = crate::verify::segments::readable(path)?
            .into_iter()
            .filter(|(index, _)| *index >= first)
            .map(|(_, p)| p)
            .collect();
        return Ok(Box::new(BufReader::new(crate::files::Concat::new(
            files, None,
        ))));
    }
    Ok(Box::new(BufReader::new(std::fs::File::open(path)?)))
}

/// For a segment directory whose oldest segments retention deleted: how many entries they
/// held, and the log's opening its record keeps (its `audit_open` payload; for a record that
/// keeps none, the system its seal names).
pub(crate) fn retained(path: &Path) -> Option<(u64, Map)> {
    #[cfg(feature = "ed25519")]
    if path.is_dir() {
        let record = crate::verify::segments::read_record(path).ok()??;
        let opening = record.opened.unwrap_or_else(|| {
            let mut m = Map::new();
            m.insert("system", record.checkpoint.origin.as_str());
            m
        });
        return Some((record.checkpoint.entries, opening));
    }
    let _ = path;
    None
}
