//! UTF-8 text corpora: one file or a directory of files, split by fractions.

use std::path::{Path, PathBuf};

use crate::DataError;

/// A corpus read into memory.
#[derive(Debug, Clone)]
pub struct TextCorpus {
    pub text: String,
    /// The files it was read from, in order.
    pub files: Vec<PathBuf>,
}

/// Train / validation / test parts of one text.
#[derive(Debug, Clone, PartialEq)]
pub struct TextSplits {
    pub train: String,
    pub valid: String,
    pub test: String,
}

/// Reads a UTF-8 file, or every regular file of a directory in name order joined by a newline.
pub fn read_text_corpus(path: &Path) -> Result<TextCorpus, DataError> {
    if !path.exists() {
        return Err(DataError::Missing(path.to_path_buf()));
    }
    let files = if path.is_dir() {
        let mut files: Vec<PathBuf> = std::fs::read_dir(path)
            .map_err(|cause| DataError::Read { path: path.to_path_buf(), cause })?
            .filter_map(|entry| entry.ok().map(|entry| entry.path()))
            .filter(|file| file.is_file())
            .collect();
        files.sort();
        files
    } else {
        vec![path.to_path_buf()]
    };
    let mut parts = Vec::with_capacity(files.len());
    for file in &files {
        parts.push(read_utf8(file)?);
    }
    let text = parts.join("\n");
    if text.trim().is_empty() {
        return Err(DataError::Empty(path.to_path_buf()));
    }
    Ok(TextCorpus { text, files })
}

/// Reads one file as UTF-8 (a leading byte-order mark is dropped); a gzip file (by its magic
/// bytes, e.g. the shipped `data/austen.txt.gz`) is unpacked first.
pub fn read_utf8(path: &Path) -> Result<String, DataError> {
    let mut bytes = std::fs::read(path).map_err(|cause| match cause.kind() {
        std::io::ErrorKind::NotFound => DataError::Missing(path.to_path_buf()),
        _ => DataError::Read { path: path.to_path_buf(), cause },
    })?;
    if bytes.starts_with(&[0x1f, 0x8b]) {
        let mut unpacked = Vec::new();
        std::io::Read::read_to_end(&mut flate2::read::GzDecoder::new(bytes.as_slice()), &mut unpacked).map_err(
            |error| DataError::Corrupt { path: path.to_path_buf(), format: "gzip", message: error.to_string() },
        )?;
        bytes = unpacked;
    }
    let text = String::from_utf8(bytes)
        .map_err(|error| DataError::NotUtf8 { path: path.to_path_buf(), offset: error.utf8_error().valid_up_to() })?;
    Ok(match text.strip_prefix('\u{feff}') {
        Some(rest) => rest.to_string(),
        None => text,
    })
}

/// Splits `text` into contiguous train / valid / test parts: the last `test_fraction` of its
/// bytes is test, the `valid_fraction` before it validation, the rest training. Cuts fall on
/// character boundaries.
pub fn split_text(text: &str, valid_fraction: f64, test_fraction: f64) -> Result<TextSplits, DataError> {
    check_fractions(valid_fraction, test_fraction)?;
    let len = text.len();
    let test_start = text.floor_char_boundary(len - (len as f64 * test_fraction).round() as usize);
    let valid_start =
        text.floor_char_boundary(test_start - (len as f64 * valid_fraction).round().min(test_start as f64) as usize);
    Ok(TextSplits {
        train: text[..valid_start].to_string(),
        valid: text[valid_start..test_start].to_string(),
        test: text[test_start..].to_string(),
    })
}

/// Validation and test fractions must each lie in [0, 1) and leave some training data.
pub fn check_fractions(valid_fraction: f64, test_fraction: f64) -> Result<(), DataError> {
    let in_range = |f: f64| (0.0..1.0).contains(&f);
    if !in_range(valid_fraction) || !in_range(test_fraction) || valid_fraction + test_fraction >= 1.0 {
        return Err(DataError::Split(format!(
            "valid_fraction {valid_fraction} and test_fraction {test_fraction} must be in [0, 1) and sum to less than 1"
        )));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_are_contiguous_and_sized_by_fraction() {
        let text = "abcdefghij".repeat(10);
        let splits = split_text(&text, 0.1, 0.2).unwrap();
        assert_eq!(splits.train.len(), 70);
        assert_eq!(splits.valid.len(), 10);
        assert_eq!(splits.test.len(), 20);
        assert_eq!(format!("{}{}{}", splits.train, splits.valid, splits.test), text);
    }

    #[test]
    fn cuts_never_split_a_character() {
        let text = "é".repeat(50);
        let splits = split_text(&text, 0.05, 0.05).unwrap();
        assert_eq!(format!("{}{}{}", splits.train, splits.valid, splits.test), text);
    }

    #[test]
    fn bad_fractions_are_errors() {
        assert!(split_text("abc", 0.6, 0.5).is_err());
        assert!(split_text("abc", -0.1, 0.0).is_err());
    }
}
