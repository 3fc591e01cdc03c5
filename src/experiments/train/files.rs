//! A run directory's files, and its JSON documents (spec.json, progress.json, result.json).

use std::path::{Path, PathBuf};

use crate::error::{Error, Result};
use crate::experiments::metrics::RunResult;

/// The files of one run directory (docs/experiments.md, "A run's outputs").
pub struct RunFiles {
    /// The run directory itself.
    pub dir: PathBuf,
    /// spec.json: everything that defines the run.
    pub spec: PathBuf,
    /// metrics.jsonl: one line per epoch.
    pub metrics: PathBuf,
    /// alignment.jsonl: one line per alignment probe.
    pub alignment: PathBuf,
    /// loop_gain.jsonl: one line per loop-gain estimate (`RunSpec::loop_gain_every`).
    pub loop_gain: PathBuf,
    /// checkpoint.safetensors: weights, Adam moments and position after the last epoch.
    pub checkpoint: PathBuf,
    /// result.json: written last; its presence marks a finished run.
    pub result: PathBuf,
    /// progress.json: where a long run is, rewritten every tenth of an epoch.
    pub progress: PathBuf,
}

impl RunFiles {
    /// The file paths inside `dir` (nothing is created).
    pub fn new(dir: &Path) -> Self {
        Self {
            dir: dir.to_path_buf(),
            spec: dir.join("spec.json"),
            metrics: dir.join("metrics.jsonl"),
            alignment: dir.join("alignment.jsonl"),
            loop_gain: dir.join("loop_gain.jsonl"),
            checkpoint: dir.join("checkpoint.safetensors"),
            result: dir.join("result.json"),
            progress: dir.join("progress.json"),
        }
    }
}

/// Reads result.json of the run in `dir`, if present.
pub fn read_result(dir: &Path) -> Result<Option<RunResult>> {
    let path = RunFiles::new(dir).result;
    match path.exists() {
        true => read_json(&path).map(Some),
        false => Ok(None),
    }
}

/// Reads one JSON document.
pub(super) fn read_json<D: serde::de::DeserializeOwned>(path: &Path) -> Result<D> {
    let text = std::fs::read_to_string(path).map_err(|e| Error::io(path, e))?;
    serde_json::from_str(&text).map_err(|e| Error::Format(format!("{}: {e}", path.display())))
}

/// Writes one JSON document (pretty, newline-terminated), replacing the file whole.
pub(super) fn write_json<S: serde::Serialize>(path: &Path, value: &S) -> Result<()> {
    let text = serde_json::to_string_pretty(value).map_err(|e| Error::Format(e.to_string()))?;
    write_replacing(path, text + "\n")
}

pub(super) fn create_dir(dir: &Path) -> Result<()> {
    std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))
}

pub(super) fn remove_file(path: &Path) -> Result<()> {
    std::fs::remove_file(path).map_err(|e| Error::io(path, e))
}

/// Writes `text` through the store's one atomic write (temporary file, fsync, rename).
fn write_replacing(path: &Path, text: String) -> Result<()> {
    crate::store::write_atomic(path, text.as_bytes())
}
