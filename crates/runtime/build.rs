//! Gives every binary and test of the crate that uses this script a RUNPATH to libtorch, so that
//! they start without `LD_LIBRARY_PATH`. `torch-sys` (links = "tch") publishes the directory as
//! `DEP_TCH_LIBTORCH_LIB` to the crates that depend on it directly.
//!
//! Shared by the workspace's crates through `build = "../runtime/build.rs"`.
fn main() {
    println!("cargo:rerun-if-env-changed=DEP_TCH_LIBTORCH_LIB");
    if let Ok(lib_dir) = std::env::var("DEP_TCH_LIBTORCH_LIB") {
        println!("cargo:rustc-link-arg=-Wl,-rpath,{lib_dir}");
        // For the reproducibility stamp of run summaries (`libtorch` version).
        println!("cargo:rustc-env=RETROFIT_LIBTORCH_LIB={lib_dir}");
    }
}
