//! What a stage reads: one enum of every supported data source, and loading it into splits.

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use crate::enwik8::{Enwik8Split, read_enwik8, split_enwik8};
use crate::labelled::{LabelledIds, LabelledSplits, read_imdb_dir, read_imdb_pickle, read_labelled_csv};
use crate::probe::ProbeConfig;
use crate::text::{read_text_corpus, split_text};
use crate::tokenizer::{TextTokenizer, TokenizerConfig};
use crate::{ByteSplits, DataError};

fn default_fraction() -> f64 {
    0.1
}

/// A data source, as named in a stage's config (`[source]` with `kind = ...`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "kebab-case", deny_unknown_fields)]
pub enum DataSource {
    /// A UTF-8 text file or a directory of them; contiguous train / valid / test by fractions.
    Text {
        path: PathBuf,
        #[serde(default = "default_fraction")]
        valid_fraction: f64,
        #[serde(default = "default_fraction")]
        test_fraction: f64,
    },
    /// enwik8, raw or `.zip` or `.gz`, split 90M / 5M / 5M bytes unless `split` says otherwise.
    Enwik8 {
        path: PathBuf,
        #[serde(default)]
        split: Enwik8Split,
    },
    /// `label,text` CSV; seeded random train / valid / test by fractions.
    Csv {
        path: PathBuf,
        #[serde(default = "default_fraction")]
        valid_fraction: f64,
        #[serde(default = "default_fraction")]
        test_fraction: f64,
    },
    /// IMDb in the Stanford `aclImdb/` layout; validation held out of the training reviews.
    ImdbDir {
        path: PathBuf,
        #[serde(default = "default_fraction")]
        valid_fraction: f64,
    },
    /// The thesis's `imdb.word.pkl.gz` (already word ids; the tokenizer setting is not used).
    ImdbPickle {
        path: PathBuf,
        #[serde(default = "default_fraction")]
        valid_fraction: f64,
    },
    /// The generated long-range probe (see [`crate::probe`]): no file.
    Probe(ProbeConfig),
}

/// The text shipped with the repository (Alice in Wonderland, public domain): what the
/// language-model stages read when no corpus is configured.
pub const EMBEDDED_TEXT: &str = "data/alice29.txt";

impl Default for DataSource {
    /// The embedded default corpus, split 90 / 5 / 5.
    fn default() -> Self {
        Self::Text { path: PathBuf::from(EMBEDDED_TEXT), valid_fraction: 0.05, test_fraction: 0.05 }
    }
}

/// The labelled sample shipped with the repository (synthetic sentences written for the
/// project): what the classifier stages read when no data set is configured.
pub const EMBEDDED_SAMPLE: &str = "data/sentiment-sample.csv";

impl DataSource {
    /// The embedded labelled sample, split 80 / 10 / 10.
    pub fn embedded_sample() -> Self {
        Self::Csv { path: PathBuf::from(EMBEDDED_SAMPLE), valid_fraction: 0.1, test_fraction: 0.1 }
    }

    /// The file or directory read (`None` for generated data).
    pub fn path(&self) -> Option<&PathBuf> {
        match self {
            Self::Text { path, .. }
            | Self::Enwik8 { path, .. }
            | Self::Csv { path, .. }
            | Self::ImdbDir { path, .. }
            | Self::ImdbPickle { path, .. } => Some(path),
            Self::Probe(_) => None,
        }
    }

    /// The same source with a relative path taken relative to `root` (for callers that do not
    /// run from the repository root, such as tests).
    pub fn relative_to(mut self, root: &std::path::Path) -> Self {
        let path = match &mut self {
            Self::Text { path, .. }
            | Self::Enwik8 { path, .. }
            | Self::Csv { path, .. }
            | Self::ImdbDir { path, .. }
            | Self::ImdbPickle { path, .. } => path,
            Self::Probe(_) => return self,
        };
        if path.is_relative() {
            *path = root.join(&*path);
        }
        self
    }

    /// `kind path`, for logs and summaries.
    pub fn describe(&self) -> String {
        let kind = match self {
            Self::Text { .. } => "text",
            Self::Enwik8 { .. } => "enwik8",
            Self::Csv { .. } => "csv",
            Self::ImdbDir { .. } => "imdb-dir",
            Self::ImdbPickle { .. } => "imdb-pickle",
            Self::Probe(probe) => {
                return format!(
                    "probe ({} keys, gap {}, seed {}, {}/{}/{} records)",
                    probe.keys.len(),
                    probe.gap,
                    probe.seed,
                    probe.train_records,
                    probe.valid_records,
                    probe.test_records
                );
            }
        };
        format!("{kind} {}", self.path().map_or_else(String::new, |path| path.display().to_string()))
    }

    /// Whether the source is labelled (classification) rather than running text.
    pub fn is_labelled(&self) -> bool {
        matches!(self, Self::Csv { .. } | Self::ImdbDir { .. } | Self::ImdbPickle { .. })
    }
}

/// Running text split into train / valid / test bytes.
pub fn load_language_corpus(source: &DataSource) -> Result<ByteSplits, DataError> {
    match source {
        DataSource::Text { path, valid_fraction, test_fraction } => {
            let corpus = read_text_corpus(path)?;
            Ok(split_text(&corpus.text, *valid_fraction, *test_fraction)?.into())
        }
        DataSource::Enwik8 { path, split } => split_enwik8(read_enwik8(path)?, *split),
        DataSource::Probe(probe) => probe.generate(),
        labelled => Err(DataError::Split(format!(
            "{} is a labelled data set; a language model needs kind = \"text\" or \"enwik8\"",
            labelled.describe()
        ))),
    }
}

/// Labelled token sequences with the vocabulary that produced them.
#[derive(Debug, Clone)]
pub struct LabelledData {
    pub splits: LabelledSplits<LabelledIds>,
    /// Text bytes of each split (train, valid, test); `None` for pre-tokenized data.
    pub split_bytes: Option<[usize; 3]>,
    pub vocabulary: Vocabulary,
}

/// Where token ids come from.
#[derive(Debug, Clone)]
pub enum Vocabulary {
    Tokenizer(TextTokenizer),
    /// A fixed word list (the IMDb pickle's `i2w`); padding is id 0 (`.pad` in former).
    Words(Vec<String>),
}

impl Vocabulary {
    pub fn name(&self) -> &'static str {
        match self {
            Self::Tokenizer(tokenizer) => tokenizer.name(),
            Self::Words(_) => "pickle-words",
        }
    }

    pub fn size(&self) -> usize {
        match self {
            Self::Tokenizer(tokenizer) => tokenizer.vocab_size(),
            Self::Words(words) => words.len(),
        }
    }

    pub fn pad_id(&self) -> u32 {
        match self {
            Self::Tokenizer(tokenizer) => tokenizer.pad_id(),
            Self::Words(_) => 0,
        }
    }
}

/// Labelled examples, tokenized (a word vocabulary is built from the training split only).
pub fn load_labelled(source: &DataSource, tokenizer: &TokenizerConfig, seed: u64) -> Result<LabelledData, DataError> {
    let texts = match source {
        DataSource::Csv { path, valid_fraction, test_fraction } => {
            read_labelled_csv(path, *valid_fraction, *test_fraction, seed)?
        }
        DataSource::ImdbDir { path, valid_fraction } => read_imdb_dir(path, *valid_fraction, seed)?,
        DataSource::ImdbPickle { path, valid_fraction } => {
            let pickle = read_imdb_pickle(path, *valid_fraction, seed)?;
            return Ok(LabelledData {
                splits: pickle.splits,
                split_bytes: None,
                vocabulary: Vocabulary::Words(pickle.i2w),
            });
        }
        running => {
            return Err(DataError::Split(format!(
                "{} is running text; a classifier needs kind = \"csv\", \"imdb-dir\" or \"imdb-pickle\"",
                running.describe()
            )));
        }
    };
    let text_tokenizer =
        TextTokenizer::from_config(tokenizer, texts.train.iter().map(|example| example.text.as_str()))?;
    let bytes = |part: &[crate::labelled::LabelledText]| part.iter().map(|example| example.text.len()).sum();
    let split_bytes = Some([bytes(&texts.train), bytes(&texts.valid), bytes(&texts.test)]);
    let mut failure = None;
    let splits = texts.map(|example| {
        let ids = text_tokenizer.encode(&example.text).unwrap_or_else(|error| {
            failure.get_or_insert(error);
            Vec::new()
        });
        LabelledIds { ids, label: example.label }
    });
    if let Some(error) = failure {
        return Err(error);
    }
    Ok(LabelledData { splits, split_bytes, vocabulary: Vocabulary::Tokenizer(text_tokenizer) })
}
