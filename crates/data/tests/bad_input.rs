//! Every kind of bad input is a typed error with one clear line, never a panic.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use retrofit_data::DataError;
use retrofit_data::enwik8::{Enwik8Split, read_enwik8, split_enwik8};
use retrofit_data::labelled::{read_imdb_dir, read_imdb_pickle, read_labelled_csv};
use retrofit_data::lm_batch::ContiguousWindows;
use retrofit_data::source::DataSource;
use retrofit_data::stage::{DataStageConfig, describe_data};
use retrofit_data::text::read_text_corpus;
use retrofit_data::tokenizer::TokenizerConfig;

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures").join(name)
}

fn one_line(error: &DataError) -> String {
    let text = error.to_string();
    assert!(!text.contains('\n'), "{text}");
    text
}

#[test]
fn missing_paths() {
    let missing = fixture("no-such-file");
    for error in [
        read_text_corpus(&missing).unwrap_err(),
        read_enwik8(&missing).unwrap_err(),
        read_labelled_csv(&missing, 0.1, 0.1, 0).unwrap_err(),
        read_imdb_pickle(&missing, 0.1, 0).unwrap_err(),
        read_imdb_dir(&missing, 0.1, 0).unwrap_err(),
    ] {
        assert!(matches!(error, DataError::Missing(_)), "{error}");
        assert!(one_line(&error).contains("does not exist"));
    }
}

#[test]
fn corrupt_gzip_and_zip() {
    let error = read_enwik8(&fixture("corrupt.gz")).unwrap_err();
    assert!(matches!(error, DataError::Corrupt { format: "gzip", .. }), "{error}");
    let error = read_imdb_pickle(&fixture("corrupt.gz"), 0.1, 0).unwrap_err();
    assert!(matches!(error, DataError::Corrupt { format: "gzip", .. }), "{error}");

    let dir = tempfile::tempdir().unwrap();
    let zip = dir.path().join("enwik8.zip");
    std::fs::write(&zip, b"PK\x03\x04 this is not really a zip archive").unwrap();
    let error = read_enwik8(&zip).unwrap_err();
    assert!(matches!(error, DataError::Corrupt { format: "zip", .. }), "{error}");
    one_line(&error);
}

#[test]
fn pickle_with_the_wrong_structure() {
    for name in ["imdb-bad-structure.pkl.gz", "imdb-bad-labels.pkl.gz"] {
        let error = read_imdb_pickle(&fixture(name), 0.1, 0).unwrap_err();
        assert!(matches!(error, DataError::PickleStructure { .. }), "{name}: {error}");
        assert!(one_line(&error).contains("expected IMDb pickle"));
    }
}

#[test]
fn csv_with_bad_label_or_missing_column() {
    let error = read_labelled_csv(&fixture("bad-label.csv"), 0.1, 0.1, 0).unwrap_err();
    assert!(matches!(error, DataError::Csv { line: 3, .. }), "{error}");
    assert!(one_line(&error).contains("bad label `maybe`"));
    let error = read_labelled_csv(&fixture("missing-column.csv"), 0.1, 0.1, 0).unwrap_err();
    assert!(matches!(error, DataError::Csv { line: 3, .. }), "{error}");
    assert!(one_line(&error).contains("expected 2 columns"));
}

#[test]
fn csv_with_an_unterminated_quote_is_an_error_not_merged_rows() {
    let error = read_labelled_csv(&fixture("unterminated-quote.csv"), 0.1, 0.1, 0).unwrap_err();
    assert!(matches!(error, DataError::Csv { line: 1, .. }), "{error}");
    assert!(one_line(&error).contains("unterminated quote"), "{error}");
}

#[test]
fn empty_or_non_utf8_corpus() {
    let error = read_text_corpus(&fixture("blank.txt")).unwrap_err();
    assert!(matches!(error, DataError::Empty(_)), "{error}");
    let error = read_text_corpus(&fixture("latin1.txt")).unwrap_err();
    assert!(matches!(error, DataError::NotUtf8 { offset: 3, .. }), "{error}");
    one_line(&error);
    let dir = tempfile::tempdir().unwrap();
    let empty = dir.path().join("enwik8");
    std::fs::write(&empty, b"").unwrap();
    assert!(matches!(read_enwik8(&empty).unwrap_err(), DataError::Empty(_)));
}

#[test]
fn corpus_shorter_than_one_context_window() {
    let error = ContiguousWindows::new("tiny", Arc::new(vec![1, 2, 3]), 3).unwrap_err();
    assert!(matches!(error, DataError::TooShort { tokens: 3, needed: 4, .. }), "{error}");

    let config = DataStageConfig {
        source: DataSource::Text { path: fixture("short.txt"), valid_fraction: 0.1, test_fraction: 0.1 },
        tokenizer: TokenizerConfig::Bytes,
        context: 64,
        ..DataStageConfig::default()
    };
    let error = describe_data(&config, &|_| {}).unwrap_err();
    assert!(matches!(error, DataError::TooShort { .. }), "{error}");
    assert!(one_line(&error).contains("fewer than one context window"));
}

#[test]
fn enwik8_shorter_than_its_split() {
    let error = split_enwik8(vec![0; 10], Enwik8Split::default()).unwrap_err();
    assert!(one_line(&error).contains("the split needs 100000000"), "{error}");
}

#[test]
fn labelled_source_given_to_a_language_model_and_back() {
    let config = DataStageConfig {
        source: DataSource::Text { path: fixture("sentences.csv"), valid_fraction: 0.1, test_fraction: 0.1 },
        ..DataStageConfig::default()
    };
    assert!(retrofit_data::source::load_labelled(&config.source, &config.tokenizer, 0).is_err());
}
