//! A resume checkpoint written under an older parameter path restores under the new one, and the
//! frozen part stays out of what is written.

use burn::module::Module;
use burn::nn::{Linear, LinearConfig};
use burn::train::checkpoint::Checkpointer;
use retrofit_core::training::ModelCheckpointer;
use retrofit_runtime::device::libtorch_cpu;
use retrofit_test_support::max_abs_diff;

/// The layout a checkpoint was written with.
#[derive(Module, Debug)]
struct Before {
    frozen: Linear,
    segment: Linear,
}

/// The layout that reads it now: `segment` moved under `connection.state`.
#[derive(Module, Debug)]
struct After {
    frozen: Linear,
    connection: Moved,
}

#[derive(Module, Debug)]
struct Moved {
    state: Linear,
}

#[test]
fn a_checkpoint_under_an_old_name_restores_under_the_new_one() {
    let device = libtorch_cpu();
    let dir = tempfile::tempdir().unwrap();
    let before =
        Before { frozen: LinearConfig::new(3, 3).init(&device), segment: LinearConfig::new(3, 2).init(&device) };
    let saved = before.segment.weight.val();
    const RENAMED: &[(&str, &str)] = &[("segment.", "connection.state.")];
    let checkpointer = ModelCheckpointer::new(dir.path(), Some("frozen."), RENAMED);
    checkpointer.save(1, before.into_record()).unwrap();

    let fresh = || After {
        frozen: LinearConfig::new(3, 3).init(&device),
        connection: Moved { state: LinearConfig::new(3, 2).init(&device) },
    };
    let after = fresh();
    let frozen = after.frozen.weight.val();
    assert!(max_abs_diff(after.connection.state.weight.val(), saved.clone()) > 0.0);
    let after = after.try_load_record(checkpointer.restore(1).unwrap()).unwrap();
    assert_eq!(max_abs_diff(after.connection.state.weight.val(), saved), 0.0, "renamed tensor restored");
    assert_eq!(max_abs_diff(after.frozen.weight.val(), frozen), 0.0, "the frozen part stays as loaded");
}
