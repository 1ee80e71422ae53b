//! SIGINT and SIGTERM while a job runs (`bulk`, `sync`): the first asks the engine to send
//! no new request ([`map_bulk::Interrupt`]); the requests in flight are seen through, what
//! settled is reported, the journal and the undo file are written, and mapctl exits 130
//! (SIGINT) or 143 (SIGTERM). A second signal abandons the requests in flight: mapctl exits
//! at once, their operations unknown as after a kill (the journal wrote them ahead).

use std::sync::atomic::{AtomicI32, Ordering};

use map_bulk::Interrupt;

/// The signal received, 0 when none.
static RECEIVED: AtomicI32 = AtomicI32::new(0);

const SIGINT: i32 = 2;
const SIGTERM: i32 = 15;

/// Listens for SIGINT and SIGTERM from now on; the handle the engine is to watch.
pub(crate) fn listen() -> Interrupt {
    let interrupt = Interrupt::new();
    let handle = interrupt.clone();
    tokio::spawn(async move {
        let mut signals = Signals::install();
        let mut first = true;
        while let Some(signal) = signals.next().await {
            if first {
                first = false;
                RECEIVED.store(signal, Ordering::SeqCst);
                handle.interrupt();
                say(&format!(
                    "mapctl: {}: no new request is sent; waiting for the requests in flight (again to abandon them)",
                    name(signal)
                ));
            } else {
                say(&format!(
                    "mapctl: {} again: abandoning the requests in flight (their operations are unknown, as after a kill; --journal resumes the job)",
                    name(signal)
                ));
                std::process::exit(128 + signal);
            }
        }
    });
    interrupt
}

/// The exit code for a job stopped by the signal received: 130 (SIGINT) or 143 (SIGTERM).
pub(crate) fn exit_code() -> u8 {
    match RECEIVED.load(Ordering::SeqCst) {
        SIGTERM => 128 + SIGTERM as u8,
        _ => 128 + SIGINT as u8,
    }
}

/// The name of the signal received (`SIGINT` if none was recorded).
pub(crate) fn received() -> &'static str {
    name(RECEIVED.load(Ordering::SeqCst))
}

fn name(signal: i32) -> &'static str {
    if signal == SIGTERM {
        "SIGTERM"
    } else {
        "SIGINT"
    }
}

#[allow(clippy::print_stderr)]
fn say(message: &str) {
    eprintln!("{message}");
}

/// SIGINT and SIGTERM, installed once so that none is missed between two.
struct Signals {
    #[cfg(unix)]
    streams: Option<(tokio::signal::unix::Signal, tokio::signal::unix::Signal)>,
}

impl Signals {
    #[cfg(unix)]
    fn install() -> Signals {
        use tokio::signal::unix::{SignalKind, signal};
        let streams = signal(SignalKind::interrupt())
            .and_then(|i| Ok((i, signal(SignalKind::terminate())?)))
            .ok();
        Signals { streams }
    }

    #[cfg(unix)]
    async fn next(&mut self) -> Option<i32> {
        let (interrupt, terminate) = self.streams.as_mut()?;
        tokio::select! {
            received = interrupt.recv() => received.map(|()| SIGINT),
            received = terminate.recv() => received.map(|()| SIGTERM),
        }
    }

    #[cfg(not(unix))]
    fn install() -> Signals {
        Signals {}
    }

    #[cfg(not(unix))]
    async fn next(&mut self) -> Option<i32> {
        tokio::signal::ctrl_c().await.ok().map(|()| SIGINT)
    }
}
