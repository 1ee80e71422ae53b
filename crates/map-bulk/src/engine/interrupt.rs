//! [`Interrupt`]: a handle that asks a running job to stop sending — what `mapctl` does on
//! SIGINT or SIGTERM. Requests already in flight are seen through (their answers settle
//! their operations); no new one is sent, and the operations not sent settle as skipped
//! ([`SkipReason::Interrupted`](crate::SkipReason::Interrupted)), so a journaled job resumes
//! exactly where it stopped.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

/// Asks the runs of an engine to stop sending. Clones share one flag.
///
/// ```
/// use map_bulk::Interrupt;
///
/// let interrupt = Interrupt::new();
/// let for_the_signal_handler = interrupt.clone();
/// assert!(!interrupt.is_interrupted());
/// for_the_signal_handler.interrupt();
/// assert!(interrupt.is_interrupted());
/// ```
#[derive(Debug, Clone, Default)]
pub struct Interrupt(Arc<AtomicBool>);

impl Interrupt {
    /// A handle not yet interrupted.
    pub fn new() -> Self {
        Interrupt::default()
    }

    /// Asks every run that holds this handle to send no new request.
    pub fn interrupt(&self) {
        self.0.store(true, Ordering::SeqCst);
    }

    /// Whether [`Interrupt::interrupt`] was called.
    pub fn is_interrupted(&self) -> bool {
        self.0.load(Ordering::SeqCst)
    }
}
