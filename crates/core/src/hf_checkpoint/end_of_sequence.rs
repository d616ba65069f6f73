//! The end-of-sequence ids a model directory names, where generation stops.

use std::path::Path;

use serde_json::Value;

use super::LoadError;

/// The files that may name the end-of-sequence ids, in the order they are read.
const FILES: [&str; 2] = ["generation_config.json", "config.json"];

/// The end-of-sequence ids of the model in `dir`: `eos_token_id` of its `generation_config.json`,
/// else of its `config.json` (a single id or a list; absent or null in both: none). A file that
/// is missing is skipped; one that is not JSON, or an `eos_token_id` that is not ids, is an error.
pub fn end_of_sequence_ids(dir: &Path) -> Result<Vec<u32>, LoadError> {
    for name in FILES {
        let path = dir.join(name);
        let text = match std::fs::read_to_string(&path) {
            Ok(text) => text,
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => continue,
            Err(source) => return Err(LoadError::Missing { path, source }),
        };
        let config: Value =
            serde_json::from_str(&text).map_err(|source| LoadError::Config { path: path.clone(), source })?;
        let named = config.get("eos_token_id").unwrap_or(&Value::Null);
        if named.is_null() {
            continue;
        }
        let id = |value: &Value| value.as_u64().and_then(|id| u32::try_from(id).ok());
        let ids = match named {
            Value::Array(values) => values.iter().map(id).collect::<Option<Vec<u32>>>(),
            single => id(single).map(|id| vec![id]),
        };
        return ids.ok_or_else(|| LoadError::EndOfSequence { path, value: named.to_string() });
    }
    Ok(Vec::new())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dir(files: &[(&str, &str)]) -> tempfile::TempDir {
        let dir = tempfile::tempdir().unwrap();
        for (name, text) in files {
            std::fs::write(dir.path().join(name), text).unwrap();
        }
        dir
    }

    #[test]
    fn generation_config_comes_first_then_config_and_either_may_name_one_id_or_a_list() {
        let both = dir(&[
            ("generation_config.json", r#"{"eos_token_id": [2, 7]}"#),
            ("config.json", r#"{"eos_token_id": 0}"#),
        ]);
        assert_eq!(end_of_sequence_ids(both.path()).unwrap(), [2, 7]);
        let single = dir(&[("generation_config.json", r#"{"eos_token_id": 2}"#)]);
        assert_eq!(end_of_sequence_ids(single.path()).unwrap(), [2]);
        let fallback =
            dir(&[("generation_config.json", r#"{"bos_token_id": 1}"#), ("config.json", r#"{"eos_token_id": 5}"#)]);
        assert_eq!(end_of_sequence_ids(fallback.path()).unwrap(), [5]);
        let null = dir(&[
            ("generation_config.json", r#"{"eos_token_id": null}"#),
            ("config.json", r#"{"eos_token_id": [3]}"#),
        ]);
        assert_eq!(end_of_sequence_ids(null.path()).unwrap(), [3]);
        let none = dir(&[("config.json", r#"{"eos_token_id": null}"#)]);
        assert!(end_of_sequence_ids(none.path()).unwrap().is_empty());
        assert!(end_of_sequence_ids(dir(&[]).path()).unwrap().is_empty());
    }

    #[test]
    fn an_eos_that_is_not_ids_and_a_file_that_is_not_json_are_errors_naming_the_file() {
        let text = dir(&[("config.json", r#"{"eos_token_id": "</s>"}"#)]);
        let error = end_of_sequence_ids(text.path()).unwrap_err().to_string();
        assert!(error.contains("config.json") && error.contains("\"</s>\""), "{error}");
        let negative = dir(&[("generation_config.json", r#"{"eos_token_id": [2, -1]}"#)]);
        assert!(end_of_sequence_ids(negative.path()).unwrap_err().to_string().contains("generation_config.json"));
        let broken = dir(&[("generation_config.json", "{")]);
        assert!(end_of_sequence_ids(broken.path()).unwrap_err().to_string().contains("generation_config.json"));
    }
}
