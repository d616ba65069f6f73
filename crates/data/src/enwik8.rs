//! enwik8 (the first 10^8 bytes of an English Wikipedia dump) from the raw file, a `.zip` or a
//! `.gz`, with the standard 90M / 5M / 5M byte split.

use std::io::Read;
use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::{ByteSplits, DataError};

/// Sizes in bytes of the three consecutive parts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Enwik8Split {
    pub train_bytes: usize,
    pub valid_bytes: usize,
    pub test_bytes: usize,
}

impl Default for Enwik8Split {
    /// The standard split: 90,000,000 / 5,000,000 / 5,000,000.
    fn default() -> Self {
        Self { train_bytes: 90_000_000, valid_bytes: 5_000_000, test_bytes: 5_000_000 }
    }
}

/// Reads the raw bytes, unpacking `.zip` (the single member) or `.gz` by the file's magic bytes.
pub fn read_enwik8(path: &Path) -> Result<Vec<u8>, DataError> {
    let bytes = std::fs::read(path).map_err(|cause| match cause.kind() {
        std::io::ErrorKind::NotFound => DataError::Missing(path.to_path_buf()),
        _ => DataError::Read { path: path.to_path_buf(), cause },
    })?;
    let corrupt =
        |format: &'static str, message: String| DataError::Corrupt { path: path.to_path_buf(), format, message };
    let data = if bytes.starts_with(&[0x1f, 0x8b]) {
        let mut out = Vec::new();
        flate2::read::GzDecoder::new(bytes.as_slice())
            .read_to_end(&mut out)
            .map_err(|error| corrupt("gzip", error.to_string()))?;
        out
    } else if bytes.starts_with(b"PK\x03\x04") || path.extension().is_some_and(|ext| ext == "zip") {
        let mut archive =
            zip::ZipArchive::new(std::io::Cursor::new(bytes)).map_err(|error| corrupt("zip", error.to_string()))?;
        if archive.len() != 1 {
            return Err(corrupt("zip", format!("expected one member, found {}", archive.len())));
        }
        let mut member = archive.by_index(0).map_err(|error| corrupt("zip", error.to_string()))?;
        let mut out = Vec::new();
        member.read_to_end(&mut out).map_err(|error| corrupt("zip", error.to_string()))?;
        out
    } else if path.extension().is_some_and(|ext| ext == "gz") {
        return Err(corrupt("gzip", "missing gzip header".to_string()));
    } else {
        bytes
    };
    if data.is_empty() {
        return Err(DataError::Empty(path.to_path_buf()));
    }
    Ok(data)
}

/// Cuts the bytes into consecutive train / valid / test parts of the given sizes.
pub fn split_enwik8(data: Vec<u8>, split: Enwik8Split) -> Result<ByteSplits, DataError> {
    let needed = split.train_bytes + split.valid_bytes + split.test_bytes;
    if data.len() < needed {
        return Err(DataError::Split(format!(
            "enwik8 has {} bytes, the split needs {needed} ({} + {} + {}): give the full file or smaller split sizes",
            data.len(),
            split.train_bytes,
            split.valid_bytes,
            split.test_bytes
        )));
    }
    let valid_end = split.train_bytes + split.valid_bytes;
    Ok(ByteSplits {
        train: data[..split.train_bytes].to_vec(),
        valid: data[split.train_bytes..valid_end].to_vec(),
        test: data[valid_end..needed].to_vec(),
    })
}
