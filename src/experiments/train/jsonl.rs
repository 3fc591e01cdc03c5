//! The JSON-lines logs (metrics.jsonl, alignment.jsonl): one record per line.

use std::io::Write;
use std::path::Path;

use crate::error::{Error, Result};

/// Reads the lines of a JSON-lines file (none if it does not exist; blank lines are skipped).
pub fn read_jsonl<R: serde::de::DeserializeOwned>(path: &Path) -> Result<Vec<R>> {
    if !path.exists() {
        return Ok(Vec::new());
    }
    let text = std::fs::read_to_string(path).map_err(|e| Error::io(path, e))?;
    text.lines()
        .filter(|l| !l.trim().is_empty())
        .enumerate()
        .map(|(i, l)| {
            serde_json::from_str(l)
                .map_err(|e| Error::Format(format!("{}:{}: {e}", path.display(), i + 1)))
        })
        .collect()
}

/// Appends one record (the file is created if needed).
pub(super) fn append_line<S: serde::Serialize>(path: &Path, value: &S) -> Result<()> {
    let mut f = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .map_err(|e| Error::io(path, e))?;
    writeln!(f, "{}", line(value)?).map_err(|e| Error::io(path, e))
}

/// Replaces the file's records with `values`.
pub(super) fn rewrite_lines<S: serde::Serialize>(path: &Path, values: &[S]) -> Result<()> {
    let mut text = String::new();
    for v in values {
        text += &line(v)?;
        text.push('\n');
    }
    std::fs::write(path, text).map_err(|e| Error::io(path, e))
}

/// One record as a single line of JSON.
fn line<S: serde::Serialize>(value: &S) -> Result<String> {
    serde_json::to_string(value).map_err(|e| Error::Format(e.to_string()))
}
