//! `base_precision`: `auto` picks bf16 exactly where the device has it, asking for bf16 on a
//! device without it warns with the measured slowdown, and float32 never probes.

use retrofit_core::base::{BaseFormat, BasePrecision, Bf16Support};

fn support(native: bool) -> impl FnOnce() -> Bf16Support {
    move || Bf16Support { native, evidence: if native { "has bf16" } else { "no bf16" }.to_string() }
}

#[test]
fn auto_is_bf16_with_native_bf16_and_float32_without() {
    let never = || -> f64 { panic!("auto never times a slowdown") };
    let with = BasePrecision::Auto.resolve(support(true), never);
    assert_eq!(with.format, BaseFormat::Bfloat16);
    assert_eq!(with.reason, "base precision bfloat16 (auto: has bf16)");
    assert_eq!(with.warning, None);
    let without = BasePrecision::Auto.resolve(support(false), never);
    assert_eq!(without.format, BaseFormat::Float32);
    assert_eq!(without.reason, "base precision float32 (auto: no bf16)");
    assert_eq!(without.warning, None);
}

#[test]
fn asked_for_bf16_runs_bf16_and_warns_with_the_slowdown_only_without_native_bf16() {
    let with = BasePrecision::Bfloat16.resolve(support(true), || panic!("no slowdown to measure"));
    assert_eq!((with.format, with.warning), (BaseFormat::Bfloat16, None));
    let without = BasePrecision::Bfloat16.resolve(support(false), || 7.25);
    assert_eq!(without.format, BaseFormat::Bfloat16);
    let warning = without.warning.expect("a warning");
    assert!(warning.contains("7.2x slower than float32"), "{warning}");
    assert!(!warning.contains('\n'), "one line: {warning}");
}

#[test]
fn float32_never_probes() {
    let choice =
        BasePrecision::Float32.resolve(|| panic!("float32 needs no probe"), || panic!("float32 needs no timing"));
    assert_eq!((choice.format, choice.warning), (BaseFormat::Float32, None));
}

#[test]
fn the_config_spells_are_auto_float32_bfloat16_and_auto_is_the_default() {
    #[derive(serde::Deserialize)]
    struct Model {
        base_precision: BasePrecision,
    }
    for (text, expected) in
        [("auto", BasePrecision::Auto), ("float32", BasePrecision::Float32), ("bfloat16", BasePrecision::Bfloat16)]
    {
        let parsed: Model = toml::from_str(&format!("base_precision = \"{text}\"")).unwrap();
        assert_eq!(parsed.base_precision, expected);
    }
    assert_eq!(BasePrecision::default(), BasePrecision::Auto);
    assert_eq!(BaseFormat::Bfloat16.to_string(), "bfloat16");
}

#[test]
fn the_real_probe_answers_on_this_machine_and_times_both_formats() {
    let device = retrofit_runtime::device::libtorch_cpu();
    let support = retrofit_core::base::bf16_support(&device);
    assert!(!support.evidence.is_empty());
    let slowdown = retrofit_core::base::matmul_slowdown(&device, 16, 32, 64);
    assert!(slowdown.is_finite() && slowdown > 0.0, "{slowdown}");
}
