//! Ctrl-C: the first one asks the running training to stop after its current step (its last
//! epoch checkpoint stays, and the run can be resumed); a second one ends the process at once.

use std::sync::Once;
use std::sync::atomic::{AtomicBool, Ordering};

static STOP_REQUESTED: AtomicBool = AtomicBool::new(false);
static HANDLER: Once = Once::new();

/// Installs the Ctrl-C handler (once per process; later calls do nothing).
pub fn install_ctrl_c_handler() {
    HANDLER.call_once(|| {
        let installed = ctrlc::set_handler(|| {
            if STOP_REQUESTED.swap(true, Ordering::SeqCst) {
                eprintln!("interrupted again: quitting now");
                std::process::exit(130);
            }
            eprintln!("interrupted: stopping after the current step (Ctrl-C again to quit at once)");
        });
        if let Err(error) = installed {
            tracing::warn!(%error, "cannot install the Ctrl-C handler: Ctrl-C ends the run at once");
        }
    });
}

/// Whether Ctrl-C asked the run to stop.
pub fn stop_requested() -> bool {
    STOP_REQUESTED.load(Ordering::SeqCst)
}

/// Asks the run to stop, as Ctrl-C does (for tests and embedding programs).
pub fn request_stop() {
    STOP_REQUESTED.store(true, Ordering::SeqCst);
}
