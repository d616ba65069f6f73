//! Each loader on the repository's own small fixtures, and the split sizes.

use std::io::Write;
use std::path::{Path, PathBuf};

use retrofit_data::enwik8::{Enwik8Split, read_enwik8, split_enwik8};
use retrofit_data::labelled::{read_imdb_dir, read_imdb_pickle, read_labelled_csv};
use retrofit_data::source::{DataSource, load_language_corpus};
use retrofit_data::text::read_text_corpus;

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures").join(name)
}

#[test]
fn imdb_directory_layout_loads_both_parts_with_labels() {
    let splits = read_imdb_dir(&fixture("imdb-mini"), 1.0 / 3.0, 0).unwrap();
    assert_eq!(splits.train.len() + splits.valid.len(), 6);
    assert_eq!(splits.valid.len(), 2);
    assert_eq!(splits.test.len(), 2);
    let positives = splits.test.iter().filter(|example| example.label == 1).count();
    assert_eq!(positives, 1);
    assert!(splits.train.iter().chain(&splits.valid).all(|example| !example.text.contains("<br />")));
}

#[test]
fn imdb_pickle_loads_sequences_labels_and_words() {
    let pickle = read_imdb_pickle(&fixture("imdb.word.pkl.gz"), 0.0, 0).unwrap();
    assert_eq!(pickle.i2w[..4], [".pad", ".start", ".end", ".unk"]);
    assert_eq!(pickle.splits.train.len(), 6);
    assert_eq!(pickle.splits.test.len(), 2);
    assert_eq!(pickle.splits.test[0].ids, [6, 5]);
    assert_eq!(pickle.splits.test[0].label, 1);
    let held = read_imdb_pickle(&fixture("imdb.word.pkl.gz"), 0.5, 3).unwrap();
    assert_eq!((held.splits.train.len(), held.splits.valid.len()), (3, 3));
}

#[test]
fn csv_loads_with_header_bom_and_signed_labels_and_splits_by_fraction() {
    let splits = read_labelled_csv(&fixture("sentences.csv"), 0.2, 0.2, 7).unwrap();
    assert_eq!((splits.train.len(), splits.valid.len(), splits.test.len()), (6, 2, 2));
    let all: Vec<_> = splits.train.iter().chain(&splits.valid).chain(&splits.test).collect();
    assert_eq!(all.iter().filter(|example| example.label == 1).count(), 5);
    assert!(
        all.iter().any(|example| example.text == "A warm, funny and beautifully acted film." && example.label == 1)
    );
    // The same seed gives the same split.
    assert_eq!(splits, read_labelled_csv(&fixture("sentences.csv"), 0.2, 0.2, 7).unwrap());

    let dir = tempfile::tempdir().unwrap();
    let bom = dir.path().join("bom.csv");
    std::fs::write(&bom, "\u{feff}\"1\",\"good\"\n\"-1\",\"bad\"\n").unwrap();
    let splits = read_labelled_csv(&bom, 0.0, 0.0, 0).unwrap();
    assert_eq!(splits.train.len(), 2);
}

#[test]
fn text_file_and_directory_split_contiguously() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("b.txt"), "second").unwrap();
    std::fs::write(dir.path().join("a.txt"), "first").unwrap();
    let corpus = read_text_corpus(dir.path()).unwrap();
    assert_eq!(corpus.text, "first\nsecond");

    let alice = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../data/alice29.txt");
    let source = DataSource::Text { path: alice, valid_fraction: 0.05, test_fraction: 0.05 };
    let splits = load_language_corpus(&source).unwrap();
    let total = splits.train.len() + splits.valid.len() + splits.test.len();
    assert_eq!(total, 152_089);
    assert!((splits.valid.len() as f64 - 0.05 * total as f64).abs() <= 4.0);
    assert!((splits.test.len() as f64 - 0.05 * total as f64).abs() <= 4.0);
}

#[test]
fn enwik8_loads_raw_zip_and_gzip_and_splits_by_size() {
    let data: Vec<u8> = (0..1000u32).map(|i| (i % 251) as u8).collect();
    let dir = tempfile::tempdir().unwrap();
    let raw = dir.path().join("enwik8");
    std::fs::write(&raw, &data).unwrap();
    let gz = dir.path().join("enwik8.gz");
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    encoder.write_all(&data).unwrap();
    std::fs::write(&gz, encoder.finish().unwrap()).unwrap();
    let zip_path = dir.path().join("enwik8.zip");
    let mut zip = zip::ZipWriter::new(std::fs::File::create(&zip_path).unwrap());
    zip.start_file("enwik8", zip::write::SimpleFileOptions::default()).unwrap();
    zip.write_all(&data).unwrap();
    zip.finish().unwrap();

    for path in [&raw, &gz, &zip_path] {
        assert_eq!(read_enwik8(path).unwrap(), data, "{}", path.display());
    }
    let split = Enwik8Split { train_bytes: 900, valid_bytes: 50, test_bytes: 50 };
    let splits = split_enwik8(data.clone(), split).unwrap();
    assert_eq!((splits.train.len(), splits.valid.len(), splits.test.len()), (900, 50, 50));
    assert_eq!(splits.valid[..], data[900..950]);
    assert_eq!(Enwik8Split::default().train_bytes, 90_000_000);
}
