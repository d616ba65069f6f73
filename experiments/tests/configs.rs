//! Every shipped config parses into its stage's struct, and the data config equals the defaults.

use std::path::Path;

use retrofit_core::config::load_config;
use retrofit_data::stage::DataStageConfig;

fn config(path: &str) -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../configs").join(path)
}

#[test]
fn data_config_is_the_embedded_default() {
    let parsed: DataStageConfig = load_config(Some(&config("data.toml")), &[]).unwrap();
    assert_eq!(parsed, DataStageConfig::default());
}
