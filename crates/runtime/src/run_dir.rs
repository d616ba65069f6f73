//! `results/<stage>/<run-name>/`: one directory per run, never overwritten. The resolved config
//! is written first (`config.toml`), `summary.json` last.

use std::path::{Path, PathBuf};

use serde::Serialize;

use crate::RuntimeError;
use crate::config::to_toml;
use crate::summary::RunSummary;

/// The directory of one run.
#[derive(Debug, Clone)]
pub struct RunDir {
    path: PathBuf,
    stage: String,
    name: String,
}

impl RunDir {
    /// Creates `results_root/stage/name`. Fails if it already exists.
    pub fn create(results_root: &Path, stage: &str, name: &str) -> Result<Self, RuntimeError> {
        let valid_name = !name.is_empty()
            && !name.starts_with('.')
            && name.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'));
        if !valid_name {
            return Err(RuntimeError::RunName(name.to_string()));
        }
        let stage_dir = results_root.join(stage);
        std::fs::create_dir_all(&stage_dir).map_err(|cause| RuntimeError::Write { path: stage_dir.clone(), cause })?;
        let path = stage_dir.join(name);
        std::fs::create_dir(&path).map_err(|cause| match cause.kind() {
            std::io::ErrorKind::AlreadyExists => RuntimeError::RunExists(path.clone()),
            _ => RuntimeError::Write { path: path.clone(), cause },
        })?;
        tracing::info!(run = %path.display(), "run directory created");
        Ok(Self { path, stage: stage.to_string(), name: name.to_string() })
    }

    /// An existing run directory `results_root/stage/name` (given as its path), to resume: it
    /// must hold the run's `config.toml` and no finished `summary.json`.
    pub fn open(path: &Path) -> Result<Self, RuntimeError> {
        let refuse = |reason: &str| RuntimeError::Resume { path: path.to_path_buf(), reason: reason.to_string() };
        if !path.join("config.toml").is_file() {
            return Err(refuse("it is not a run directory (no config.toml)"));
        }
        let summary = path.join(RunSummary::FILE_NAME);
        if summary.is_file() && RunSummary::read(&summary).is_ok_and(|summary| summary.is_finished()) {
            return Err(refuse("the run finished (its summary.json says so)"));
        }
        let name_of =
            |path: Option<&Path>| path.and_then(Path::file_name).and_then(|name| name.to_str()).map(String::from);
        let (Some(name), Some(stage)) = (name_of(Some(path)), name_of(path.parent())) else {
            return Err(refuse("expected results/<stage>/<run>"));
        };
        Ok(Self { path: path.to_path_buf(), stage, name })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    pub fn stage(&self) -> &str {
        &self.stage
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    /// Writes the resolved config as `config.toml`.
    pub fn write_config<T: Serialize>(&self, config: &T) -> Result<PathBuf, RuntimeError> {
        self.write_text("config.toml", &to_toml(config)?)
    }

    /// Writes `value` as pretty JSON into `file_name`.
    pub fn write_json<T: Serialize>(&self, file_name: &str, value: &T) -> Result<PathBuf, RuntimeError> {
        let text = serde_json::to_string_pretty(value)
            .map_err(|error| RuntimeError::Serialize { what: file_name.to_string(), message: error.to_string() })?;
        self.write_text(file_name, &(text + "\n"))
    }

    /// Writes `summary.json`; the last file of a finished run.
    pub fn write_summary(&self, summary: &RunSummary) -> Result<PathBuf, RuntimeError> {
        self.write_json(RunSummary::FILE_NAME, summary)
    }

    /// Writes `text` atomically: into a temporary file first, then renamed over `file_name`, so
    /// that a run killed mid-write never leaves a half-written file.
    pub fn write_text(&self, file_name: &str, text: &str) -> Result<PathBuf, RuntimeError> {
        let path = self.path.join(file_name);
        let partial = self.path.join(format!(".{file_name}.partial"));
        let write_error = |cause| RuntimeError::Write { path: path.clone(), cause };
        std::fs::write(&partial, text).map_err(write_error)?;
        std::fs::rename(&partial, &path).map_err(write_error)?;
        Ok(path)
    }
}

/// A run name from the current UTC time to the millisecond, e.g. `20261127T184012.345Z` (runs
/// started within one second still get their own directories).
pub fn timestamp_run_name() -> String {
    let stamp = humantime::format_rfc3339_millis(std::time::SystemTime::now()).to_string();
    stamp.replace(['-', ':'], "")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_run_directory_is_never_overwritten() {
        let root = tempfile::tempdir().unwrap();
        let run = RunDir::create(root.path(), "data", "first").unwrap();
        run.write_config(&serde_json::json!({"a": 1})).unwrap();
        assert!(run.path().join("config.toml").exists());
        let error = RunDir::create(root.path(), "data", "first").unwrap_err();
        assert!(matches!(error, RuntimeError::RunExists(_)), "{error}");
        assert!(error.to_string().contains("already exists"));
        assert!(run.path().join("config.toml").exists());
    }

    #[test]
    fn run_names_cannot_escape_the_stage_directory() {
        let root = tempfile::tempdir().unwrap();
        for bad in ["", "../x", "a/b", ".hidden", "with space"] {
            assert!(matches!(RunDir::create(root.path(), "data", bad), Err(RuntimeError::RunName(_))));
        }
    }

    #[test]
    fn timestamp_names_are_valid_run_names() {
        let name = timestamp_run_name();
        assert_eq!(name.len(), "20261127T184012.345Z".len(), "{name}");
        let root = tempfile::tempdir().unwrap();
        RunDir::create(root.path(), "data", &name).unwrap();
    }
}
