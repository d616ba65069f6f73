//! Labelled texts for sentiment classification: IMDb in the Stanford `aclImdb/` layout, the
//! thesis's `imdb.word.pkl.gz`, and `label,text` CSV. Label 0 is negative, 1 positive.

use std::collections::BTreeMap;
use std::io::Read;
use std::path::{Path, PathBuf};

use rand::SeedableRng;
use rand::rngs::StdRng;
use rand::seq::SliceRandom;
use serde_pickle::{HashableValue, Value};

use crate::DataError;
use crate::text::{check_fractions, read_utf8};

/// Number of classes of every sentiment source.
pub const NUM_CLASSES: usize = 2;

/// One labelled text.
#[derive(Debug, Clone, PartialEq)]
pub struct LabelledText {
    pub text: String,
    pub label: usize,
}

/// One labelled token sequence.
#[derive(Debug, Clone, PartialEq)]
pub struct LabelledIds {
    pub ids: Vec<u32>,
    pub label: usize,
}

/// Train / validation / test examples.
#[derive(Debug, Clone, PartialEq)]
pub struct LabelledSplits<T> {
    pub train: Vec<T>,
    pub valid: Vec<T>,
    pub test: Vec<T>,
}

impl<T> LabelledSplits<T> {
    /// The three parts with their names, in order.
    pub fn named(&self) -> [(&'static str, &[T]); 3] {
        [("train", &self.train), ("valid", &self.valid), ("test", &self.test)]
    }

    /// Applies `f` to every example of every split.
    pub fn map<U>(self, mut f: impl FnMut(T) -> U) -> LabelledSplits<U> {
        LabelledSplits {
            train: self.train.into_iter().map(&mut f).collect(),
            valid: self.valid.into_iter().map(&mut f).collect(),
            test: self.test.into_iter().map(&mut f).collect(),
        }
    }
}

/// Moves a seeded random `fraction` of `items` into a second vector (the held-out part).
pub fn hold_out<T>(mut items: Vec<T>, fraction: f64, seed: u64) -> (Vec<T>, Vec<T>) {
    items.shuffle(&mut StdRng::seed_from_u64(seed));
    let held = (items.len() as f64 * fraction).round() as usize;
    let kept = items.split_off(held);
    (kept, items)
}

/// IMDb in the Stanford layout: `train/{pos,neg}/*.txt` and `test/{pos,neg}/*.txt`; validation is
/// a seeded `valid_fraction` of the training reviews.
pub fn read_imdb_dir(dir: &Path, valid_fraction: f64, seed: u64) -> Result<LabelledSplits<LabelledText>, DataError> {
    check_fractions(valid_fraction, 0.0)?;
    if !dir.exists() {
        return Err(DataError::Missing(dir.to_path_buf()));
    }
    let read_part = |part: &str| -> Result<Vec<LabelledText>, DataError> {
        let mut examples = Vec::new();
        for (class, label) in [("neg", 0), ("pos", 1)] {
            let class_dir = dir.join(part).join(class);
            for file in sorted_files(&class_dir, "txt")? {
                let text = read_utf8(&file)?.replace("<br />", " ");
                examples.push(LabelledText { text, label });
            }
        }
        Ok(examples)
    };
    let (train, valid) = hold_out(read_part("train")?, valid_fraction, seed);
    let test = read_part("test")?;
    Ok(LabelledSplits { train, valid, test })
}

fn sorted_files(dir: &Path, extension: &str) -> Result<Vec<PathBuf>, DataError> {
    if !dir.is_dir() {
        return Err(DataError::Missing(dir.to_path_buf()));
    }
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .map_err(|cause| DataError::Read { path: dir.to_path_buf(), cause })?
        .filter_map(|entry| entry.ok().map(|entry| entry.path()))
        .filter(|file| file.extension().is_some_and(|ext| ext == extension))
        .collect();
    files.sort();
    Ok(files)
}

/// A `label,text` CSV without or with a header row (`label,text`), one example per line (a
/// quoted field that runs over several lines, as an unterminated quote does, is an error naming
/// its line). Labels: `1`/`-1`, `1`/`0`, `pos`/`neg`, `positive`/`negative`. Split into train /
/// valid / test by seeded fractions.
pub fn read_labelled_csv(
    path: &Path,
    valid_fraction: f64,
    test_fraction: f64,
    seed: u64,
) -> Result<LabelledSplits<LabelledText>, DataError> {
    check_fractions(valid_fraction, test_fraction)?;
    let text = read_utf8(path)?;
    let mut reader = csv::ReaderBuilder::new().has_headers(false).flexible(true).from_reader(text.as_bytes());
    let mut examples = Vec::new();
    for (index, record) in reader.records().enumerate() {
        let mut line = index as u64 + 1;
        let record =
            record.map_err(|error| DataError::Csv { path: path.to_path_buf(), line, message: error.to_string() })?;
        line = record.position().map_or(line, |position| position.line());
        let csv_error = |message: String| DataError::Csv { path: path.to_path_buf(), line, message };
        if record.iter().any(|field| field.contains('\n')) {
            return Err(csv_error(
                "a quoted field runs over several lines (an unterminated quote?): put each example on one line"
                    .to_string(),
            ));
        }
        if record.len() < 2 {
            return Err(csv_error(format!("expected 2 columns (label,text), found {}", record.len())));
        }
        let label_field = record[0].trim();
        if index == 0 && label_field.eq_ignore_ascii_case("label") {
            continue;
        }
        let label = parse_label(label_field).ok_or_else(|| {
            csv_error(format!("bad label `{label_field}`: use 1/-1, 1/0, pos/neg or positive/negative"))
        })?;
        examples.push(LabelledText { text: record[1].to_string(), label });
    }
    if examples.is_empty() {
        return Err(DataError::Empty(path.to_path_buf()));
    }
    let test_share = test_fraction;
    let (rest, test) = hold_out(examples, test_share, seed);
    let valid_share = if test_share < 1.0 { valid_fraction / (1.0 - test_share) } else { 0.0 };
    let (train, valid) = hold_out(rest, valid_share, seed.wrapping_add(1));
    Ok(LabelledSplits { train, valid, test })
}

fn parse_label(field: &str) -> Option<usize> {
    match field.to_ascii_lowercase().as_str() {
        "1" | "+1" | "pos" | "positive" => Some(1),
        "0" | "-1" | "neg" | "negative" => Some(0),
        _ => None,
    }
}

/// The thesis's `imdb.word.pkl.gz`: a gzipped pickle of `(sequences, labels, i2w, w2i)` where
/// `sequences` and `labels` are dicts with `train` and `test` lists.
#[derive(Debug, Clone, PartialEq)]
pub struct ImdbPickle {
    pub splits: LabelledSplits<LabelledIds>,
    /// Index to word.
    pub i2w: Vec<String>,
}

/// Reads the pickle; validation is a seeded `valid_fraction` of the training sequences.
pub fn read_imdb_pickle(path: &Path, valid_fraction: f64, seed: u64) -> Result<ImdbPickle, DataError> {
    check_fractions(valid_fraction, 0.0)?;
    let compressed = std::fs::read(path).map_err(|cause| match cause.kind() {
        std::io::ErrorKind::NotFound => DataError::Missing(path.to_path_buf()),
        _ => DataError::Read { path: path.to_path_buf(), cause },
    })?;
    let mut raw = Vec::new();
    flate2::read::GzDecoder::new(compressed.as_slice()).read_to_end(&mut raw).map_err(|error| DataError::Corrupt {
        path: path.to_path_buf(),
        format: "gzip",
        message: error.to_string(),
    })?;
    let value =
        serde_pickle::value_from_slice(&raw, serde_pickle::DeOptions::new().replace_unresolved_globals()).map_err(
            |error| DataError::Corrupt { path: path.to_path_buf(), format: "pickle", message: error.to_string() },
        )?;
    let structure = |message: String| DataError::PickleStructure { path: path.to_path_buf(), message };
    let parts = match value {
        Value::Tuple(parts) | Value::List(parts) if parts.len() == 4 => parts,
        other => return Err(structure(format!("top level is {}, expected a 4-tuple", kind(&other)))),
    };
    let [sequences, labels, i2w, _w2i]: [Value; 4] =
        parts.try_into().map_err(|_| structure("expected 4 items".into()))?;
    let mut sequences = as_dict(sequences, "sequences").map_err(&structure)?;
    let mut labels = as_dict(labels, "labels").map_err(&structure)?;
    let mut take_part = |part: &str| -> Result<Vec<LabelledIds>, String> {
        let key = HashableValue::String(part.to_string());
        let seqs = sequences.remove(&key).ok_or(format!("sequences has no `{part}` entry"))?;
        let labs = labels.remove(&key).ok_or(format!("labels has no `{part}` entry"))?;
        let seqs = as_list(seqs, &format!("sequences[{part}]"))?;
        let labs = as_list(labs, &format!("labels[{part}]"))?;
        if seqs.len() != labs.len() {
            return Err(format!("{part}: {} sequences but {} labels", seqs.len(), labs.len()));
        }
        seqs.into_iter()
            .zip(labs)
            .enumerate()
            .map(|(index, (seq, label))| {
                let ids = as_list(seq, &format!("sequences[{part}][{index}]"))?
                    .iter()
                    .map(|id| as_int(id).and_then(|id| u32::try_from(id).ok()))
                    .collect::<Option<Vec<u32>>>()
                    .ok_or(format!("sequences[{part}][{index}] holds a non-index value"))?;
                let label = as_int(&label)
                    .filter(|label| (0..NUM_CLASSES as i64).contains(label))
                    .ok_or(format!("labels[{part}][{index}] is not 0 or 1"))? as usize;
                Ok(LabelledIds { ids, label })
            })
            .collect()
    };
    let train = take_part("train").map_err(&structure)?;
    let test = take_part("test").map_err(&structure)?;
    let i2w = as_list(i2w, "i2w")
        .map_err(&structure)?
        .into_iter()
        .map(|word| match word {
            Value::String(word) => Ok(word),
            Value::Bytes(bytes) => Ok(String::from_utf8_lossy(&bytes).into_owned()),
            other => Err(structure(format!("i2w holds a {}, expected strings", kind(&other)))),
        })
        .collect::<Result<Vec<_>, _>>()?;
    let max_id = train.iter().chain(&test).flat_map(|example| example.ids.iter()).max().copied();
    if let Some(max_id) = max_id.filter(|&id| id as usize >= i2w.len()) {
        return Err(structure(format!("token id {max_id} is outside i2w ({} words)", i2w.len())));
    }
    let (train, valid) = hold_out(train, valid_fraction, seed);
    Ok(ImdbPickle { splits: LabelledSplits { train, valid, test }, i2w })
}

fn kind(value: &Value) -> &'static str {
    match value {
        Value::None => "None",
        Value::Bool(_) => "a bool",
        Value::I64(_) | Value::Int(_) => "an int",
        Value::F64(_) => "a float",
        Value::Bytes(_) => "bytes",
        Value::String(_) => "a str",
        Value::List(_) => "a list",
        Value::Tuple(_) => "a tuple",
        Value::Set(_) | Value::FrozenSet(_) => "a set",
        Value::Dict(_) => "a dict",
    }
}

fn as_dict(value: Value, name: &str) -> Result<BTreeMap<HashableValue, Value>, String> {
    match value {
        Value::Dict(dict) => Ok(dict),
        other => Err(format!("{name} is {}, expected a dict", kind(&other))),
    }
}

fn as_list(value: Value, name: &str) -> Result<Vec<Value>, String> {
    match value {
        Value::List(items) | Value::Tuple(items) => Ok(items),
        other => Err(format!("{name} is {}, expected a list", kind(&other))),
    }
}

fn as_int(value: &Value) -> Option<i64> {
    match value {
        Value::I64(int) => Some(*int),
        Value::Bool(flag) => Some(*flag as i64),
        _ => None,
    }
}
