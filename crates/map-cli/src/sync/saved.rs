//! `--journal FILE`'s saved plan, `FILE.plan.json`: written before anything is sent, with a
//! fingerprint of what it was planned from (the desired files' bytes and the options), so
//! that an interrupted run resumes exactly that plan — and only with the same inputs and
//! its journal; anything else is refused rather than sent again.

use std::path::{Path, PathBuf};

use map_bulk::{Journal, JournalLock};
use map_sync::{Plan, job};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::exit::Exit;
use crate::private_file;

/// What a plan was made from, hashed: files (name and bytes) and options, in order.
#[derive(Default)]
pub(crate) struct Inputs(Sha256);

impl Inputs {
    /// Adds one input, delimited by its length so that no two sequences hash alike.
    pub(crate) fn add(&mut self, bytes: &[u8]) {
        self.0.update((bytes.len() as u64).to_le_bytes());
        self.0.update(bytes);
    }

    pub(crate) fn fingerprint(self) -> String {
        hex::encode(self.0.finalize())
    }
}

#[derive(Serialize, Deserialize)]
struct SavedPlan {
    inputs: String,
    /// The base URL it was planned against (plans saved before it was recorded have none).
    #[serde(default)]
    server: Option<String>,
    plan: Plan,
}

/// The saved plan beside a journal, and the journal's lock, held for the whole run: a
/// second sync with the same journal is refused before it reads or writes either.
pub(crate) struct Saved {
    path: PathBuf,
    journal: PathBuf,
    lock: JournalLock,
}

impl Saved {
    pub(crate) fn beside(journal: &Path) -> Result<Saved, Exit> {
        let lock = JournalLock::acquire(journal).map_err(|e| Exit::usage(e.to_string()))?;
        let mut name = journal.as_os_str().to_owned();
        name.push(".plan.json");
        Ok(Saved {
            path: PathBuf::from(name),
            journal: journal.to_owned(),
            lock,
        })
    }

    pub(crate) fn path(&self) -> &Path {
        &self.path
    }

    /// The plan to resume, if one is saved: refused when it was made from other inputs or
    /// against another server. One whose journal never recorded a send (the run was killed
    /// or refused before sending) is discarded, said on stderr, and planned anew.
    #[allow(clippy::print_stderr)]
    pub(crate) fn resume(&self, inputs: &str, server: &str) -> Result<Option<Plan>, Exit> {
        let bytes = match std::fs::read(&self.path) {
            Ok(bytes) => bytes,
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(error) => {
                return Err(Exit::usage(format!(
                    "cannot read {}: {error}",
                    self.path.display()
                )));
            }
        };
        let saved: SavedPlan = serde_json::from_slice(&bytes).map_err(|e| {
            Exit::usage(format!(
                "{}: not a saved sync plan: {e}",
                self.path.display()
            ))
        })?;
        if saved.inputs != inputs {
            return Err(Exit::usage(format!(
                "{} was planned from other desired files or options: finish it with the same ones, or remove {} and {} to plan anew",
                self.path.display(),
                self.journal.display(),
                self.path.display()
            )));
        }
        if let Some(saved_server) = saved.server.as_deref().filter(|s| *s != server) {
            return Err(Exit::usage(format!(
                "{} was planned against {saved_server}, not {server}: finish it there, or remove {} and {} to plan anew",
                self.path.display(),
                self.journal.display(),
                self.path.display()
            )));
        }
        if !self.journal.exists() {
            // The journal is written before the first request leaves: without one, nothing
            // of this plan was sent.
            eprintln!(
                "mapctl: {} was saved but nothing of it was sent (no journal {}): discarded, planning anew",
                self.path.display(),
                self.journal.display()
            );
            std::fs::remove_file(&self.path)
                .map_err(|e| Exit::usage(format!("cannot remove {}: {e}", self.path.display())))?;
            return Ok(None);
        }
        Ok(Some(saved.plan))
    }

    /// Saves `plan` (unless it is the one resumed) and opens the journal for its job.
    pub(crate) fn save_and_open(
        &self,
        inputs: &str,
        server: &str,
        plan: &Plan,
    ) -> Result<Journal, Exit> {
        if !self.path.exists() {
            let saved = SavedPlan {
                inputs: inputs.to_owned(),
                server: Some(server.to_owned()),
                plan: plan.clone(),
            };
            let text = serde_json::to_vec(&saved).map_err(|e| Exit::failure(e.to_string()))?;
            private_file::write(&self.path, &text)
                .map_err(|e| Exit::usage(format!("cannot write {}: {e}", self.path.display())))?;
        }
        Journal::open_locked(&self.lock, &mut job(plan))
            .and_then(|journal| journal.for_server(server))
            .map_err(|e| Exit::usage(e.to_string()))
    }

    /// A run that settled every operation removes the journal and the saved plan, so that
    /// the next run plans anew from what mAP Core then holds; one that stopped keeps them.
    #[allow(clippy::print_stderr)]
    pub(crate) fn finish(&self, settled: bool) {
        if settled {
            let _ = std::fs::remove_file(&self.path);
            let _ = std::fs::remove_file(&self.journal);
        } else {
            eprintln!(
                "mapctl: the run stopped: run it again with --journal {} to resume its plan",
                self.journal.display()
            );
        }
    }
}
