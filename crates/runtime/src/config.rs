//! Stage configuration: TOML into serde structs that deny unknown fields, with `--set key=value`
//! overrides. Defaults live in code (`Default`); a TOML file names only what it changes, and
//! `--set` changes single keys on top of both.
//!
//! Layers merge key by key, except that a table whose `kind` differs from the layer below (an enum
//! variant such as `[source] kind = "csv"`) replaces that table whole.

use std::path::Path;

use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::RuntimeError;

/// Reads `path` (or nothing: all defaults) and applies `overrides` (`a.b=value`, the value in
/// TOML syntax, a bare word taken as a string), then deserializes. A key the struct does not
/// have, or a value of the wrong type, is an error naming the key.
pub fn load_config<T: DeserializeOwned + Serialize + Default>(
    path: Option<&Path>,
    overrides: &[String],
) -> Result<T, RuntimeError> {
    let (origin, text) = match path {
        Some(path) => {
            let text = std::fs::read_to_string(path)
                .map_err(|cause| RuntimeError::ConfigRead { path: path.to_path_buf(), cause })?;
            (path.display().to_string(), text)
        }
        None => ("(defaults)".to_string(), String::new()),
    };
    parse_config(&origin, &text, overrides)
}

/// [`load_config`] on text already in memory; `origin` names it in errors.
pub fn parse_config<T: DeserializeOwned + Serialize + Default>(
    origin: &str,
    text: &str,
    overrides: &[String],
) -> Result<T, RuntimeError> {
    let file: toml::Table = text.parse().map_err(|error: toml::de::Error| RuntimeError::ConfigSyntax {
        origin: origin.to_string(),
        message: one_line(error.message()),
    })?;
    let mut table = toml::Table::try_from(T::default())
        .map_err(|error| RuntimeError::Serialize { what: "default config".to_string(), message: error.to_string() })?;
    merge(&mut table, file);
    for assignment in overrides {
        let mut layer = toml::Table::new();
        apply_override(&mut layer, assignment)?;
        merge(&mut table, layer);
    }
    serde_path_to_error::deserialize(toml::Value::Table(table)).map_err(|error| {
        let key = error.path().to_string();
        let message = one_line(&error.inner().to_string());
        let key = match unknown_field_name(&message) {
            Some(field) if key == "." => field.to_string(),
            Some(field) if !key.ends_with(field) => format!("{key}.{field}"),
            _ => key,
        };
        RuntimeError::ConfigKey { origin: origin.to_string(), key, message }
    })
}

/// The resolved configuration as TOML, to be written into a run directory.
pub fn to_toml<T: Serialize>(config: &T) -> Result<String, RuntimeError> {
    toml::to_string_pretty(config)
        .map_err(|error| RuntimeError::Serialize { what: "config".to_string(), message: error.to_string() })
}

/// Merges `layer` into `base`: tables key by key, other values replaced; a table whose `kind`
/// differs from the base's replaces it whole.
fn merge(base: &mut toml::Table, layer: toml::Table) {
    for (key, value) in layer {
        match (base.get_mut(&key), value) {
            (Some(toml::Value::Table(below)), toml::Value::Table(above))
                if above.get("kind").is_none_or(|kind| below.get("kind") == Some(kind)) =>
            {
                merge(below, above);
            }
            (_, value) => {
                base.insert(key, value);
            }
        }
    }
}

fn apply_override(table: &mut toml::Table, assignment: &str) -> Result<(), RuntimeError> {
    let (key, raw_value) = assignment
        .split_once('=')
        .map(|(key, value)| (key.trim(), value.trim()))
        .filter(|(key, _)| !key.is_empty())
        .ok_or_else(|| RuntimeError::OverrideSyntax(assignment.to_string()))?;
    let value = format!("value = {raw_value}")
        .parse::<toml::Table>()
        .ok()
        .and_then(|mut parsed| parsed.remove("value"))
        .unwrap_or_else(|| toml::Value::String(raw_value.to_string()));
    let mut parts: Vec<&str> = key.split('.').collect();
    let leaf = parts.pop().unwrap_or(key);
    let mut current = table;
    for part in parts {
        let entry = current.entry(part.to_string()).or_insert_with(|| toml::Value::Table(toml::Table::new()));
        current = entry.as_table_mut().ok_or_else(|| RuntimeError::ConfigKey {
            origin: "--set".to_string(),
            key: key.to_string(),
            message: format!("`{part}` is not a table"),
        })?;
    }
    current.insert(leaf.to_string(), value);
    Ok(())
}

/// serde reports an unknown field at its parent's path; pull the field's own name out.
fn unknown_field_name(message: &str) -> Option<&str> {
    let rest = message.strip_prefix("unknown field `")?;
    rest.split('`').next()
}

fn one_line(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Deserialize;

    #[derive(Debug, Deserialize, Serialize, PartialEq)]
    #[serde(deny_unknown_fields, default)]
    struct Training {
        learning_rate: f64,
        epochs: usize,
    }

    impl Default for Training {
        fn default() -> Self {
            Self { learning_rate: 1e-4, epochs: 2 }
        }
    }

    #[derive(Debug, Deserialize, Serialize, PartialEq, Default)]
    #[serde(deny_unknown_fields, default)]
    struct Stage {
        name: String,
        training: Training,
    }

    #[test]
    fn empty_text_gives_the_defaults() {
        let stage: Stage = parse_config("t", "", &[]).unwrap();
        assert_eq!(stage, Stage::default());
    }

    #[test]
    fn overrides_replace_file_values_and_reach_nested_tables() {
        let overrides = vec!["training.epochs=7".to_string(), "name=run-a".to_string()];
        let stage: Stage = parse_config("t", "[training]\nepochs = 3\n", &overrides).unwrap();
        assert_eq!(stage.training.epochs, 7);
        assert_eq!(stage.name, "run-a");
        assert_eq!(stage.training.learning_rate, 1e-4);
    }

    #[test]
    fn unknown_key_is_an_error_naming_it() {
        let error = parse_config::<Stage>("t.toml", "[training]\nlearning_rat = 1.0\n", &[]).unwrap_err().to_string();
        assert!(error.contains("training.learning_rat"), "{error}");
        let error = parse_config::<Stage>("t.toml", "", &["epochs=3".to_string()]).unwrap_err().to_string();
        assert!(error.contains("`epochs`"), "{error}");
    }

    #[test]
    fn wrong_type_is_an_error_naming_the_key() {
        let error = parse_config::<Stage>("t.toml", "[training]\nepochs = \"many\"\n", &[]).unwrap_err().to_string();
        assert!(error.contains("training.epochs"), "{error}");
        let error = parse_config::<Stage>("t.toml", "", &["training.epochs=-1".to_string()]).unwrap_err().to_string();
        assert!(error.contains("training.epochs"), "{error}");
    }

    #[test]
    fn malformed_override_and_toml_are_errors() {
        assert!(matches!(
            parse_config::<Stage>("t", "", &["epochs".to_string()]),
            Err(RuntimeError::OverrideSyntax(_))
        ));
        assert!(matches!(parse_config::<Stage>("t", "name = ", &[]), Err(RuntimeError::ConfigSyntax { .. })));
    }

    #[derive(Debug, Deserialize, Serialize, PartialEq)]
    #[serde(tag = "kind", rename_all = "kebab-case", deny_unknown_fields)]
    enum Source {
        Text { path: String, fraction: f64 },
        Csv { path: String },
    }

    #[derive(Debug, Deserialize, Serialize, PartialEq)]
    #[serde(deny_unknown_fields, default)]
    struct WithSource {
        source: Source,
    }

    impl Default for WithSource {
        fn default() -> Self {
            Self { source: Source::Text { path: "a.txt".into(), fraction: 0.1 } }
        }
    }

    #[test]
    fn overrides_change_one_field_of_the_default_variant() {
        let config: WithSource = parse_config("t", "", &["source.path=b.txt".to_string()]).unwrap();
        assert_eq!(config.source, Source::Text { path: "b.txt".into(), fraction: 0.1 });
    }

    #[test]
    fn another_variant_replaces_the_default_table_whole() {
        let config: WithSource = parse_config("t", "[source]\nkind = \"csv\"\npath = \"c.csv\"\n", &[]).unwrap();
        assert_eq!(config.source, Source::Csv { path: "c.csv".into() });
        let error =
            parse_config::<WithSource>("t", "[source]\nkind = \"csv\"\npath = \"c.csv\"\nfraction = 1.0\n", &[])
                .unwrap_err()
                .to_string();
        assert!(error.contains("source.fraction"), "{error}");
    }

    #[test]
    fn resolved_config_round_trips_through_toml() {
        let stage: Stage = parse_config("t", "name = \"x\"", &[]).unwrap();
        let again: Stage = parse_config("t", &to_toml(&stage).unwrap(), &[]).unwrap();
        assert_eq!(stage, again);
    }
}
