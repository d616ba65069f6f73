//! The data stage on the embedded defaults and on a labelled fixture.

use std::path::Path;

use retrofit_data::source::DataSource;
use retrofit_data::stage::{DataStageConfig, describe_data};
use retrofit_data::tokenizer::{TokenizerConfig, default_gpt2_dir};

fn repo(path: &str) -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..").join(path)
}

#[test]
fn default_config_describes_alice_with_gpt2() {
    let mut config = DataStageConfig::default();
    assert_eq!(
        config.source,
        DataSource::Text { path: "data/alice29.txt".into(), valid_fraction: 0.05, test_fraction: 0.05 }
    );
    assert_eq!(config.tokenizer, TokenizerConfig::Gpt2 { dir: default_gpt2_dir() });
    // Tests run from the crate directory; point the defaults at the repository root.
    config.source = DataSource::Text { path: repo("data/alice29.txt"), valid_fraction: 0.05, test_fraction: 0.05 };
    config.tokenizer = TokenizerConfig::Gpt2 { dir: repo("data/gpt2") };
    let stats = describe_data(&config, &|_| {}).unwrap();
    assert_eq!(stats.vocab_size, 50_257);
    assert_eq!(stats.splits.len(), 3);
    let bytes: usize = stats.splits.iter().map(|split| split.bytes.unwrap()).sum();
    assert_eq!(bytes, 152_089);
    let train = &stats.splits[0];
    let bytes_per_token = train.bytes_per_token.unwrap();
    assert!((3.0..5.0).contains(&bytes_per_token), "{bytes_per_token}");
    assert_eq!(train.windows, Some((train.tokens - 1) / 256));
}

#[test]
fn labelled_csv_with_a_word_vocabulary() {
    let config = DataStageConfig {
        source: DataSource::Csv {
            path: Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/sentences.csv"),
            valid_fraction: 0.2,
            test_fraction: 0.2,
        },
        tokenizer: TokenizerConfig::Word { max_vocab: 20 },
        max_length: 8,
        ..DataStageConfig::default()
    };
    let stats = describe_data(&config, &|_| {}).unwrap();
    assert_eq!(stats.vocab_size, 20);
    let examples: Vec<usize> = stats.splits.iter().map(|split| split.examples.unwrap()).collect();
    assert_eq!(examples, [6, 2, 2]);
    let classes: usize = stats.splits.iter().map(|split| split.class_counts.as_ref().unwrap()[1]).sum();
    assert_eq!(classes, 5);
    assert!(stats.splits[0].truncated.unwrap() >= 1);
    assert!(stats.to_string().contains("| train | 6 |"));
}
