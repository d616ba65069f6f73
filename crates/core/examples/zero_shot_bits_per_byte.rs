//! Zero-shot perplexity and bits per byte of a pre-trained base (any supported family) on the
//! validation split of text files: the project's default text split (the 5 % after the first
//! 90 %, `source.valid_fraction = 0.05`, `source.test_fraction = 0.05`), a sliding window of
//! `CONTEXT` tokens moved by `STRIDE`.
//!
//! `cargo run --release -p retrofit-core --example zero_shot_bits_per_byte -- MODEL_DIR CONTEXT STRIDE TEXT...`

use std::path::PathBuf;

use retrofit_core::base::load_base;
use retrofit_data::text::{read_utf8, split_text};
use retrofit_runtime::device::libtorch_cpu;

const VALID_FRACTION: f64 = 0.05;
const TEST_FRACTION: f64 = 0.05;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    retrofit_runtime::telemetry::init_tracing();
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [model, context, stride, texts @ ..] = args.as_slice() else {
        return Err("usage: zero_shot_bits_per_byte MODEL_DIR CONTEXT STRIDE TEXT...".into());
    };
    let (context, stride): (usize, usize) = (context.parse()?, stride.parse()?);
    let device = libtorch_cpu();
    let model = PathBuf::from(model);
    let (base, config) = load_base(&model, &device)?;
    let tokenizer = config.load_tokenizer(&model)?;
    for text in texts {
        let content = read_utf8(&PathBuf::from(text))?;
        let valid = split_text(&content, VALID_FRACTION, TEST_FRACTION)?.valid;
        let ids = tokenizer.encode(&valid)?;
        let start = std::time::Instant::now();
        let evaluation = base.evaluate_text(&ids, valid.len(), context, stride, &device)?;
        println!(
            "{text}: {} ({}) validation split {} bytes, {} tokens: perplexity {:.4}, bits per byte {:.4} \
             (context {context}, stride {stride}, {:.0} s)",
            model.display(),
            base.family(),
            valid.len(),
            ids.len(),
            evaluation.perplexity,
            evaluation.bits_per_byte,
            start.elapsed().as_secs_f64()
        );
    }
    Ok(())
}
