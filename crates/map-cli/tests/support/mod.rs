//! What the mapctl end-to-end tests share: a simulator on its own runtime, and running
//! mapctl against it.

#![allow(dead_code, unreachable_pub)]

use std::borrow::BorrowMut;
use std::io::Write;
use std::process::{Command, Output, Stdio};

use map_sim::{SimConfig, Simulator};
use serde_json::Value;

/// A simulator on its own runtime, so that tests can run mapctl synchronously against it.
pub struct Server {
    pub sim: Simulator,
    _runtime: tokio::runtime::Runtime,
}

impl Server {
    pub fn start() -> Server {
        Server::start_with(SimConfig::default())
    }

    pub fn start_with(config: SimConfig) -> Server {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .unwrap();
        let sim = runtime.block_on(Simulator::start(config)).unwrap();
        Server {
            sim,
            _runtime: runtime,
        }
    }

    /// `mapctl ARGS --transport TRANSPORT` with this server's URL and credentials in the
    /// environment.
    pub fn mapctl(&self, transport: &str, args: &[&str]) -> Command {
        let mut command = Command::new(env!("CARGO_BIN_EXE_mapctl"));
        let credentials = self.sim.credentials();
        command
            .env_remove("MAP_ACCESS_TOKEN_FILE")
            .env_remove("MAP_CLIENT_SECRET_FILE")
            .env_remove("RUST_LOG")
            .env("MAP_BASE_URL", self.sim.base_url())
            .env("MAP_ACCESS_TOKEN", credentials.access_token.expose_secret())
            .env(
                "MAP_CLIENT_SECRET",
                credentials.client_secret.expose_secret(),
            )
            .args(args)
            .args(["--transport", transport]);
        command
    }
}

pub struct Ran {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl Ran {
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.stdout).unwrap_or_else(|e| panic!("{e}: {}", self.stdout))
    }
}

/// Runs `command` (owned, or borrowed after `.env(…)`) with `stdin`.
pub fn run(mut command: impl BorrowMut<Command>, stdin: Option<&str>) -> Ran {
    let mut child = command
        .borrow_mut()
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut input = child.stdin.take().unwrap();
    input.write_all(stdin.unwrap_or("").as_bytes()).unwrap();
    drop(input);
    let Output {
        status,
        stdout,
        stderr,
    } = child.wait_with_output().unwrap();
    Ran {
        code: status.code().unwrap_or(-1),
        stdout: String::from_utf8(stdout).unwrap(),
        stderr: String::from_utf8(stderr).unwrap(),
    }
}
