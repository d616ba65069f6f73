//! Settings that may be switched off or left unlimited. TOML has no null, so these are written
//! as a value or a keyword: `clip_grad_norm = "off"`, `valid_windows = "all"`. In code they are
//! `Option`s, never sentinel numbers.

use serde::de::{DeserializeOwned, Error};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

#[derive(Serialize, Deserialize)]
#[serde(untagged)]
enum ValueOrWord<T> {
    Value(T),
    Word(String),
}

fn serialize<T: Serialize, S: Serializer>(value: &Option<T>, word: &str, serializer: S) -> Result<S::Ok, S::Error> {
    match value {
        Some(value) => value.serialize(serializer),
        None => serializer.serialize_str(word),
    }
}

fn deserialize<'de, T: DeserializeOwned, D: Deserializer<'de>>(
    word: &str,
    deserializer: D,
) -> Result<Option<T>, D::Error> {
    match ValueOrWord::<T>::deserialize(deserializer) {
        Ok(ValueOrWord::Value(value)) => Ok(Some(value)),
        Ok(ValueOrWord::Word(text)) if text == word => Ok(None),
        Ok(ValueOrWord::Word(text)) => {
            Err(D::Error::custom(format!("expected a number or \"{word}\", got \"{text}\"")))
        }
        Err(_) => Err(D::Error::custom(format!("expected a number or \"{word}\""))),
    }
}

/// `Option<T>` written as a value or `"off"` (`#[serde(with = "retrofit_runtime::setting::off")]`).
pub mod off {
    use super::*;

    pub fn serialize<T: Serialize, S: Serializer>(value: &Option<T>, serializer: S) -> Result<S::Ok, S::Error> {
        super::serialize(value, "off", serializer)
    }

    pub fn deserialize<'de, T: DeserializeOwned, D: Deserializer<'de>>(deserializer: D) -> Result<Option<T>, D::Error> {
        super::deserialize("off", deserializer)
    }
}

/// `Option<T>` written as a value or `"all"` (`#[serde(with = "retrofit_runtime::setting::all")]`).
pub mod all {
    use super::*;

    pub fn serialize<T: Serialize, S: Serializer>(value: &Option<T>, serializer: S) -> Result<S::Ok, S::Error> {
        super::serialize(value, "all", serializer)
    }

    pub fn deserialize<'de, T: DeserializeOwned, D: Deserializer<'de>>(deserializer: D) -> Result<Option<T>, D::Error> {
        super::deserialize("all", deserializer)
    }
}

/// `Option<T>` written as a value or `"auto"` (`#[serde(with = "retrofit_runtime::setting::auto")]`).
pub mod auto {
    use super::*;

    pub fn serialize<T: Serialize, S: Serializer>(value: &Option<T>, serializer: S) -> Result<S::Ok, S::Error> {
        super::serialize(value, "auto", serializer)
    }

    pub fn deserialize<'de, T: DeserializeOwned, D: Deserializer<'de>>(deserializer: D) -> Result<Option<T>, D::Error> {
        super::deserialize("auto", deserializer)
    }
}

#[cfg(test)]
mod tests {
    use serde::{Deserialize, Serialize};

    #[derive(Debug, PartialEq, Serialize, Deserialize)]
    struct Settings {
        #[serde(with = "super::off")]
        clip: Option<f64>,
        #[serde(with = "super::all")]
        windows: Option<usize>,
    }

    #[test]
    fn keywords_and_values_round_trip() {
        let off: Settings = toml::from_str("clip = \"off\"\nwindows = 64\n").unwrap();
        assert_eq!(off, Settings { clip: None, windows: Some(64) });
        let on: Settings = toml::from_str("clip = 1.5\nwindows = \"all\"\n").unwrap();
        assert_eq!(on, Settings { clip: Some(1.5), windows: None });
        for settings in [off, on] {
            assert_eq!(toml::from_str::<Settings>(&toml::to_string(&settings).unwrap()).unwrap(), settings);
        }
    }

    #[test]
    fn a_wrong_word_says_what_is_expected() {
        let error = toml::from_str::<Settings>("clip = \"none\"\nwindows = 1\n").unwrap_err().to_string();
        assert!(error.contains("expected a number or \"off\""), "{error}");
    }
}
