//! [`Exit`]: how mapctl ends, and its exit code.

use std::process::ExitCode;

/// How a command ended.
#[derive(Debug)]
pub(crate) enum Exit {
    /// 0: every operation succeeded (or the command did its job).
    Success,
    /// 1: some operations did not succeed, or something else went wrong.
    NotAllSucceeded,
    /// 2: invalid input or usage; nothing was sent. The message says what to fix.
    Usage(String),
    /// 3: could not connect or authenticate.
    Unreachable(String),
    /// 1, with a message.
    Failure(String),
    /// 4: a sync plan goes over a safety limit; nothing was sent. The message says which
    /// limit and the flag that raises it.
    HeldBack(String),
    /// 130 or 143: a job stopped by SIGINT or SIGTERM; what settled was reported.
    Interrupted {
        /// The exit code: 128 and the signal's number.
        code: u8,
        /// What to do next.
        message: String,
    },
}

impl Exit {
    pub(crate) fn usage(message: impl Into<String>) -> Self {
        Exit::Usage(message.into())
    }

    pub(crate) fn failure(message: impl Into<String>) -> Self {
        Exit::Failure(message.into())
    }
}

#[allow(clippy::print_stderr)]
impl From<Exit> for ExitCode {
    fn from(exit: Exit) -> ExitCode {
        match exit {
            Exit::Success => ExitCode::SUCCESS,
            Exit::NotAllSucceeded => ExitCode::from(1),
            Exit::Usage(message) => {
                eprintln!("mapctl: {message}");
                ExitCode::from(2)
            }
            Exit::Unreachable(message) => {
                eprintln!("mapctl: {message}");
                ExitCode::from(3)
            }
            Exit::Failure(message) => {
                eprintln!("mapctl: {message}");
                ExitCode::from(1)
            }
            Exit::HeldBack(message) => {
                eprintln!("mapctl: {message}");
                ExitCode::from(4)
            }
            Exit::Interrupted { code, message } => {
                eprintln!("mapctl: {message}");
                ExitCode::from(code)
            }
        }
    }
}
