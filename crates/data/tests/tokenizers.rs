//! Tokenizers: GPT-2 BPE ids equal the reference encoder's; bytes and words round-trip.

use std::path::{Path, PathBuf};

use retrofit_data::tokenizer::{TextTokenizer, TokenizerConfig};

fn gpt2_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../data/gpt2")
}

/// Expected ids from OpenAI's reference encoder (npm `gpt-3-encoder` 1.1.4, the same vocabulary).
#[test]
fn gpt2_bpe_ids_equal_the_reference_encoder() {
    let tokenizer = TextTokenizer::gpt2_from_dir(&gpt2_dir()).unwrap();
    assert_eq!(tokenizer.vocab_size(), 50_257);
    let cases: [(&str, &[u32]); 6] = [
        ("Hello world", &[15496, 995]),
        ("Hello, world!", &[15496, 11, 995, 0]),
        (" the quick brown fox", &[262, 2068, 7586, 21831]),
        ("Alice was beginning to get very tired", &[44484, 373, 3726, 284, 651, 845, 10032]),
        (
            "It's 2026: café, naïve!\n\nNew line",
            &[1026, 338, 1160, 2075, 25, 40304, 11, 41492, 0, 198, 198, 3791, 1627],
        ),
        ("  two  spaces", &[220, 734, 220, 9029]),
    ];
    for (text, expected) in cases {
        assert_eq!(tokenizer.encode(text).unwrap(), expected, "{text:?}");
        assert_eq!(tokenizer.decode(expected).unwrap(), text);
    }
}

#[test]
fn chunked_corpus_encoding_equals_whole_text_encoding() {
    let tokenizer = TextTokenizer::gpt2_from_dir(&gpt2_dir()).unwrap();
    let alice = std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("../../data/alice29.txt")).unwrap();
    let whole = tokenizer.encode(&alice).unwrap();
    assert_eq!(tokenizer.encode_corpus(alice.as_bytes()).unwrap(), whole);
    assert!(whole.len() > 30_000);
}

#[test]
fn byte_tokenizer_is_the_identity_on_bytes() {
    let tokenizer = TextTokenizer::from_config(&TokenizerConfig::Bytes, std::iter::empty()).unwrap();
    assert_eq!(tokenizer.vocab_size(), 256);
    assert_eq!(tokenizer.encode("aé").unwrap(), [97, 195, 169]);
    assert_eq!(tokenizer.decode(&[97, 195, 169]).unwrap(), "aé");
}

#[test]
fn word_vocabulary_is_capped_with_pad_and_unknown() {
    let texts = ["the cat sat", "the cat ran", "the dog"];
    let tokenizer = TextTokenizer::from_config(&TokenizerConfig::Word { max_vocab: 4 }, texts.iter().copied()).unwrap();
    assert_eq!(tokenizer.vocab_size(), 4);
    assert_eq!(tokenizer.pad_id(), 0);
    // <pad>=0 <unk>=1, then by frequency: the=2, cat=3; the rest is unknown. Lower-cased.
    assert_eq!(tokenizer.encode("The cat ran!").unwrap(), [2, 3, 1, 1]);
}

#[test]
fn missing_tokenizer_files_are_an_error_naming_the_file() {
    let error = TextTokenizer::gpt2_from_dir(Path::new("no/such/dir")).unwrap_err().to_string();
    assert!(error.contains("vocab.json"), "{error}");
}

#[test]
fn token_byte_lengths_add_up_to_the_utf8_length_of_the_text() {
    let gpt2 = TextTokenizer::gpt2_from_dir(&gpt2_dir()).unwrap();
    let lengths = gpt2.token_byte_lengths().unwrap();
    assert_eq!(lengths.len(), 50_257);
    for text in ["It's 2026: café, naïve!\n\nNew line", "Alice — “quoted” ünïcödé 日本語"] {
        let ids = gpt2.encode(text).unwrap();
        let bytes: u32 = ids.iter().map(|&id| lengths[id as usize]).sum();
        assert_eq!(bytes as usize, text.len(), "{text:?}");
    }
    assert_eq!(TextTokenizer::Bytes.token_byte_lengths().unwrap(), vec![1; 256]);
    let words = TextTokenizer::from_config(&TokenizerConfig::Word { max_vocab: 10 }, ["a b c"].into_iter()).unwrap();
    assert!(words.token_byte_lengths().is_err());
}
