//! Resumable jobs: a write-ahead [`Journal`] of what was sent and how each operation settled
//! (its documentation says how).

use std::collections::HashSet;
use std::fs::{File, OpenOptions};
use std::io::{self, BufRead, BufReader, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

use map_entities::{BulkMethod, MapError};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::job::file_at::{read_at, write_all_at};
use crate::job::source::{OperationSource, SourceError};
use crate::outcome::{Outcome, OutcomeKind, UnknownReason};

/// What the first line of every journal says it is.
const FORMAT: &str = "map-rs bulk journal";
const VERSION: u32 = 1;

/// A job's identity: SHA-256 over its operations, in order (method, bulkId, path, version and
/// data exactly as read). The same operations from NDJSON, a JSON array or a BulkRequest
/// document have the same fingerprint; limits and `failOnErrors` are not part of it.
///
/// ```
/// use map_bulk::{JobFingerprint, JobOperation};
///
/// let op: JobOperation = serde_json::from_str(r#"{"method":"DELETE","path":"/Users/1"}"#)?;
/// let a = JobFingerprint::of(&mut vec![op.clone()])?;
/// let b = JobFingerprint::of(&mut vec![op.clone(), op])?;
/// assert_ne!(a, b);
/// assert!(a.as_str().starts_with("sha256:"));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JobFingerprint(String);

impl JobFingerprint {
    /// Reads every operation of `source` once. Operations that cannot be read count with their
    /// error, so an invalid job still has a fingerprint (the engine refuses it later).
    pub fn of(source: &mut dyn OperationSource) -> Result<Self, SourceError> {
        fn field(hasher: &mut Sha256, value: Option<&str>) {
            match value {
                None => hasher.update([0]),
                Some(text) => {
                    hasher.update([1]);
                    hasher.update((text.len() as u64).to_le_bytes());
                    hasher.update(text.as_bytes());
                }
            }
        }
        let mut hasher = Sha256::new();
        let mut count = 0u64;
        for item in source.operations()? {
            count += 1;
            match item {
                Ok(op) => {
                    hasher.update([b'o']);
                    field(&mut hasher, Some(op.method.as_str()));
                    field(&mut hasher, op.bulk_id.as_deref());
                    field(&mut hasher, op.path.as_deref());
                    field(&mut hasher, op.version.as_deref());
                    field(&mut hasher, op.data.as_deref().map(|d| d.get()));
                }
                Err(error) => {
                    hasher.update([b'e']);
                    field(&mut hasher, Some(&error.to_string()));
                }
            }
        }
        hasher.update(count.to_le_bytes());
        Ok(JobFingerprint(format!(
            "sha256:{}",
            hex::encode(hasher.finalize())
        )))
    }

    /// `sha256:` and 64 hex digits.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Display for JobFingerprint {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// A journal that cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum JournalError {
    /// The journal file could not be read or created.
    #[error("journal {path}: {source}")]
    Io {
        /// The journal's path.
        path: PathBuf,
        /// What failed.
        source: io::Error,
    },
    /// The job could not be read to compute its fingerprint.
    #[error("journal {path}: the job could not be read: {source}")]
    Source {
        /// The journal's path.
        path: PathBuf,
        /// What failed.
        source: SourceError,
    },
    /// The journal was written for other operations.
    #[error(
        "journal {path} was written for a different job ({journal}; this job is {job}): use a new journal file for this job"
    )]
    DifferentJob {
        /// The journal's path.
        path: PathBuf,
        /// The fingerprint in the journal.
        journal: String,
        /// This job's fingerprint.
        job: JobFingerprint,
    },
    /// Another run holds the journal (its lock file is locked): two runs of one job would
    /// send the same requests twice.
    #[error(
        "journal {path} is in use by another run{}: wait for it to end (or stop it), then run again",
        holder.map(|pid| format!(" (process {pid})")).unwrap_or_default()
    )]
    InUse {
        /// The journal's path.
        path: PathBuf,
        /// The process holding it, as it wrote in the lock file.
        holder: Option<u32>,
    },
    /// The journal was written against another server: the ids it holds are that server's.
    #[error(
        "journal {path} was written against {journal}, not {server}: resume it against {journal}, or use a new journal file"
    )]
    DifferentServer {
        /// The journal's path.
        path: PathBuf,
        /// The server the journal names.
        journal: String,
        /// The server of this run.
        server: String,
    },
    /// A line of the journal is not a journal record (only a torn last line, from a process
    /// killed while writing it, is tolerated).
    #[error("journal {path}, line {line}: {message}")]
    Corrupt {
        /// The journal's path.
        path: PathBuf,
        /// The line, from 1.
        line: u64,
        /// What is wrong with it.
        message: String,
    },
}

/// One line of a journal.
#[derive(Debug, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
enum Record {
    /// The first line.
    Journal {
        format: String,
        version: u32,
        job: String,
        /// The base URL of the server it was written against (journals written before it
        /// was recorded have none).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        server: Option<String>,
    },
    /// Written before a request is sent.
    Sending { request: u64, operations: Vec<u64> },
    /// An operation's outcome.
    Settled(SettledRecord),
}

#[derive(Debug, Serialize, Deserialize)]
struct SettledRecord {
    index: u64,
    method: BulkMethod,
    path: String,
    #[serde(rename = "bulkId", default, skip_serializing_if = "Option::is_none")]
    bulk_id: Option<String>,
    outcome: SettledKind,
}

/// Why an outcome is unknown, as a journal keeps it: typed, or as text (how journals written
/// before the reason was typed kept it).
#[derive(Debug, Serialize, Deserialize)]
#[serde(untagged)]
enum RecordedUnknown {
    Typed(UnknownReason),
    Text(String),
}

/// The outcomes a journal keeps. A skipped operation was not applied (its request was refused
/// whole, e.g. with 401, or never sent): it is recorded so that it does not look in flight,
/// and a rerun tries it again.
#[derive(Debug, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
enum SettledKind {
    Succeeded {
        status: u16,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        location: Option<String>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        id: Option<String>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        note: Option<String>,
    },
    Failed {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        status: Option<u16>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        error: Option<MapError>,
        message: String,
    },
    Unknown {
        reason: RecordedUnknown,
    },
    Skipped {
        reason: String,
    },
}

impl SettledRecord {
    fn of(outcome: &Outcome) -> Self {
        let outcome_kind = match &outcome.kind {
            OutcomeKind::Succeeded {
                status,
                location,
                id,
                note,
            } => SettledKind::Succeeded {
                status: *status,
                location: location.clone(),
                id: id.clone(),
                note: note.clone(),
            },
            OutcomeKind::Failed {
                status,
                error,
                message,
            } => SettledKind::Failed {
                status: *status,
                error: error.clone(),
                message: message.clone(),
            },
            OutcomeKind::Unknown { reason } => SettledKind::Unknown {
                reason: RecordedUnknown::Typed(reason.clone()),
            },
            OutcomeKind::Skipped { reason } => SettledKind::Skipped {
                reason: reason.to_string(),
            },
        };
        SettledRecord {
            index: outcome.index,
            method: outcome.method,
            path: outcome.path.clone(),
            bulk_id: outcome.bulk_id.clone(),
            outcome: outcome_kind,
        }
    }

    /// The outcome, unless the operation was skipped (and so is to be tried again).
    fn into_outcome(self) -> Option<Outcome> {
        let kind = match self.outcome {
            SettledKind::Succeeded {
                status,
                location,
                id,
                note,
            } => OutcomeKind::Succeeded {
                status,
                location,
                id,
                note,
            },
            SettledKind::Failed {
                status,
                error,
                message,
            } => OutcomeKind::Failed {
                status,
                error,
                message,
            },
            SettledKind::Unknown { reason } => OutcomeKind::Unknown {
                reason: match reason {
                    RecordedUnknown::Typed(reason) => reason,
                    RecordedUnknown::Text(reason) => UnknownReason::Recorded { reason },
                },
            },
            SettledKind::Skipped { .. } => return None,
        };
        Some(Outcome {
            index: self.index,
            method: self.method,
            path: self.path,
            bulk_id: self.bulk_id,
            kind,
        })
    }
}

/// What an earlier run left: the operations that settled, and those sent but not settled.
#[derive(Debug, Default)]
pub(crate) struct Restored {
    pub(crate) settled: Settled,
    pub(crate) interrupted: HashSet<u64>,
}

/// The operations an earlier run settled. For each operation index, where its `settled`
/// record starts in the journal is kept in an anonymous temporary file (8 bytes per index,
/// written and read by position), and the outcome is read from the journal when it is asked
/// for: resuming a job of any size keeps memory flat.
#[derive(Debug, Default)]
pub(crate) struct Settled {
    /// Offsets plus one (0: not settled), 8 bytes at `8 × index`.
    offsets: Option<File>,
    /// The journal, read by position.
    journal: Option<File>,
    /// Settled operations not yet asked for.
    remaining: usize,
    /// Settled operations in all.
    count: usize,
}

impl Settled {
    /// Whether no settled operation is left to ask for.
    pub(crate) fn is_empty(&self) -> bool {
        self.remaining == 0
    }

    /// Settled operations in all.
    pub(crate) fn len(&self) -> usize {
        self.count
    }

    /// Notes that the record for `index` starts at `offset` of `journal`.
    fn record(&mut self, journal: &File, index: u64, offset: u64) -> io::Result<()> {
        if self.journal.is_none() {
            self.journal = Some(journal.try_clone()?);
        }
        let offsets = match &mut self.offsets {
            Some(offsets) => offsets,
            None => self.offsets.insert(tempfile::tempfile()?),
        };
        let at = index.checked_mul(8).ok_or_else(|| {
            io::Error::new(io::ErrorKind::InvalidData, "an operation index past 2^61")
        })?;
        if read_u64_at(offsets, at)? == 0 {
            self.count += 1;
            self.remaining += 1;
        }
        write_all_at(offsets, &(offset + 1).to_le_bytes(), at)
    }

    /// The outcome an earlier run recorded for `index`, if it settled; each index is asked
    /// for at most once.
    pub(crate) fn take(&mut self, index: u64) -> io::Result<Option<Outcome>> {
        let (Some(offsets), Some(journal)) = (&self.offsets, &self.journal) else {
            return Ok(None);
        };
        if self.remaining == 0 {
            return Ok(None);
        }
        let Some(offset) = read_u64_at(offsets, index.saturating_mul(8))?.checked_sub(1) else {
            return Ok(None);
        };
        self.remaining -= 1;
        let line = read_line_at(journal, offset)?;
        match serde_json::from_slice::<Record>(&line) {
            Ok(Record::Settled(record)) if record.index == index => Ok(record.into_outcome()),
            Ok(_) => Err(io::Error::new(
                io::ErrorKind::InvalidData,
                format!("the journal's record at byte {offset} is not operation {index}'s"),
            )),
            Err(error) => Err(io::Error::new(io::ErrorKind::InvalidData, error)),
        }
    }
}

/// The little-endian u64 at `at` of `file`; 0 past its end.
fn read_u64_at(file: &File, at: u64) -> io::Result<u64> {
    let mut word = [0u8; 8];
    let mut filled = 0;
    while filled < 8 {
        let read = read_at(file, &mut word[filled..], at + filled as u64)?;
        if read == 0 {
            break;
        }
        filled += read;
    }
    Ok(u64::from_le_bytes(word))
}

/// The line of `file` that starts at `at`, without its newline.
fn read_line_at(file: &File, at: u64) -> io::Result<Vec<u8>> {
    let mut line = Vec::new();
    let mut chunk = [0u8; 4096];
    loop {
        let read = read_at(file, &mut chunk, at + line.len() as u64)?;
        if read == 0 {
            return Ok(line);
        }
        if let Some(end) = chunk[..read].iter().position(|&b| b == b'\n') {
            line.extend_from_slice(&chunk[..end]);
            return Ok(line);
        }
        line.extend_from_slice(&chunk[..read]);
    }
}

/// Resumable jobs: a write-ahead [`Journal`] of what was sent and how each operation settled.
///
/// The journal is a file of JSON lines. The first names the job (a SHA-256 over its
/// operations); then, for each request, the indexes of its operations are written *before* it
/// is sent, and every operation's outcome is written once it is known — with the ids that
/// later references need. Each record reaches the operating system before the engine goes on,
/// so a process killed at any point leaves a journal that says what may have reached the
/// server; the records written ahead of a request are also synced to disk before it is sent,
/// so that even a power cut cannot make a sent POST look unsent.
///
/// Running the same job again with the same journal:
///
/// - sends nothing that settled (succeeded, failed or unknown) and reports it as it was;
/// - restores the `bulkId` → id map, so references to resources created earlier still resolve;
/// - treats an operation that was sent but never settled as a lost answer is treated: a POST
///   is reported `unknown` and never sent again; a PUT, PATCH or DELETE is sent again;
/// - sends again what was skipped (it was not applied: a stopped job, a server that could not
///   be reached, refused credentials).
///
/// A journal written for a different job is refused.
///
/// ```no_run
/// use std::sync::Arc;
/// use map_auth::Credentials;
/// use map_bulk::{BulkClient, Endpoint, Engine, JobConfig, JobReader, Journal, ignore_events};
/// use map_transport::{HyperTransport, TransportConfig};
///
/// # async fn run() -> Result<(), Box<dyn std::error::Error>> {
/// let transport = Arc::new(HyperTransport::new(TransportConfig::default())?);
/// let client = BulkClient::new(Endpoint::new("https://cg.gakunin.jp")?, transport);
/// let engine = Engine::new(client, &Credentials::new("token", "secret"), JobConfig::default());
/// let mut job = JobReader::from_path("users.ndjson");
/// // Interrupt this at any point and run it again: nothing settled is sent twice.
/// let journal = Journal::open("users.journal", &mut job)?;
/// let report = engine.run_journaled(&mut job, ignore_events(), journal).await?;
/// println!("{} settled in an earlier run", report.resumed);
/// # Ok(())
/// # }
/// ```
///
/// Opening reads what an earlier run wrote (if the file exists) and checks that it was the
/// same job; nothing is written until the engine sends the first request, so a job refused by
/// validation leaves no journal behind.
#[derive(Debug)]
pub struct Journal {
    path: PathBuf,
    job: JobFingerprint,
    /// Open for appending once the first record is written.
    file: Option<File>,
    /// `FILE.lock`, held while this journal is open (unless its caller holds it: see
    /// [`Journal::open_locked`]).
    _lock: Option<JournalLock>,
    /// The server this run sends to, and the one an earlier run wrote against.
    server: Option<String>,
    earlier_server: Option<String>,
    restored: Restored,
    buffer: Vec<u8>,
}

impl Journal {
    /// Opens the journal at `path` for the job `source`, reading what an earlier run of the
    /// same job wrote there. Reads the whole job once to compute its [`JobFingerprint`].
    pub fn open(
        path: impl AsRef<Path>,
        source: &mut dyn OperationSource,
    ) -> Result<Self, JournalError> {
        let path = path.as_ref().to_path_buf();
        let job = JobFingerprint::of(source).map_err(|source| JournalError::Source {
            path: path.clone(),
            source,
        })?;
        Journal::open_for(path, job)
    }

    /// Opens the journal at `path` for the job whose fingerprint is `job`.
    pub fn open_for(path: impl AsRef<Path>, job: JobFingerprint) -> Result<Self, JournalError> {
        let lock = JournalLock::acquire(path.as_ref())?;
        let mut journal = Journal::open_unlocked(path, job)?;
        journal._lock = Some(lock);
        Ok(journal)
    }

    /// Opens the journal at `path` for the job `source` under a `lock` the caller took (and
    /// keeps) for it: a run that opens the journal more than once (a sync's rounds) holds
    /// it throughout.
    pub fn open_locked(
        lock: &JournalLock,
        source: &mut dyn OperationSource,
    ) -> Result<Self, JournalError> {
        let path = lock.journal.clone();
        let job = JobFingerprint::of(source).map_err(|source| JournalError::Source {
            path: path.clone(),
            source,
        })?;
        Journal::open_unlocked(path, job)
    }

    fn open_unlocked(path: impl AsRef<Path>, job: JobFingerprint) -> Result<Self, JournalError> {
        let path = path.as_ref().to_path_buf();
        let io_error = |source| JournalError::Io {
            path: path.clone(),
            source,
        };
        let mut journal = Journal {
            path: path.clone(),
            job,
            file: None,
            _lock: None,
            server: None,
            earlier_server: None,
            restored: Restored::default(),
            buffer: Vec::new(),
        };
        let file = match OpenOptions::new().read(true).write(true).open(&path) {
            Ok(file) => file,
            Err(error) if error.kind() == io::ErrorKind::NotFound => return Ok(journal),
            Err(error) => return Err(io_error(error)),
        };
        let complete = journal.read_earlier(&file)?;
        if complete == 0 {
            // Empty, or only a torn header: start afresh.
            file.set_len(0).map_err(io_error)?;
            return Ok(journal);
        }
        // Drop a torn last line so that what is appended starts on a line of its own.
        file.set_len(complete).map_err(io_error)?;
        let mut file = file;
        file.seek(SeekFrom::End(0)).map_err(io_error)?;
        journal.file = Some(file);
        Ok(journal)
    }

    /// Reads the records an earlier run wrote; returns the length of the complete lines.
    fn read_earlier(&mut self, file: &File) -> Result<u64, JournalError> {
        let mut reader = BufReader::new(file);
        let mut line = Vec::new();
        let mut complete = 0u64;
        let mut number = 0u64;
        // Sent and not yet settled, in the order the records were written.
        let mut in_flight: HashSet<u64> = HashSet::new();
        loop {
            line.clear();
            let read = reader
                .read_until(b'\n', &mut line)
                .map_err(|source| JournalError::Io {
                    path: self.path.clone(),
                    source,
                })?;
            if read == 0 {
                break;
            }
            number += 1;
            if line.last() != Some(&b'\n') {
                // The last line was cut short by an interruption: it never took effect.
                break;
            }
            let corrupt = |message: String| JournalError::Corrupt {
                path: self.path.clone(),
                line: number,
                message,
            };
            let record: Record = serde_json::from_slice(&line)
                .map_err(|e| corrupt(format!("not a journal record: {e}")))?;
            match (number, record) {
                (
                    1,
                    Record::Journal {
                        format,
                        version,
                        job,
                        server,
                    },
                ) => {
                    self.earlier_server = server;
                    if format != FORMAT || version != VERSION {
                        return Err(corrupt(format!(
                            "a journal of format {format:?} version {version}; this is {FORMAT:?} version {VERSION}"
                        )));
                    }
                    if job != self.job.as_str() {
                        return Err(JournalError::DifferentJob {
                            path: self.path.clone(),
                            journal: job,
                            job: self.job.clone(),
                        });
                    }
                }
                (1, _) => {
                    return Err(corrupt(
                        "the first line does not name the job (not a map-rs journal?)".to_owned(),
                    ));
                }
                (_, Record::Journal { .. }) => {
                    return Err(corrupt("a second journal header".to_owned()));
                }
                (_, Record::Sending { operations, .. }) => in_flight.extend(operations),
                (_, Record::Settled(record)) => {
                    in_flight.remove(&record.index);
                    // Skipped operations were not applied: they are sent again.
                    if !matches!(record.outcome, SettledKind::Skipped { .. }) {
                        self.restored
                            .settled
                            .record(file, record.index, complete)
                            .map_err(|source| JournalError::Io {
                                path: self.path.clone(),
                                source,
                            })?;
                    }
                }
            }
            complete += read as u64;
        }
        self.restored.interrupted = in_flight;
        Ok(complete)
    }

    /// The same journal for a run against `server` (its base URL), which a new journal
    /// records; one an earlier run wrote against another server is refused, since the ids
    /// it holds are that server's.
    ///
    /// ```
    /// use map_bulk::{JobOperation, Journal, JournalError};
    ///
    /// let dir = tempfile::tempdir()?;
    /// let path = dir.path().join("job.journal");
    /// let op: JobOperation = serde_json::from_str(r#"{"method":"DELETE","path":"/Groups/g"}"#)?;
    /// let journal = Journal::open(&path, &mut vec![op])?.for_server("https://a.example.ac.jp/")?;
    /// assert_eq!(journal.server(), Some("https://a.example.ac.jp/"));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn for_server(mut self, server: &str) -> Result<Self, JournalError> {
        if let Some(earlier) = &self.earlier_server
            && earlier != server
        {
            return Err(JournalError::DifferentServer {
                path: self.path.clone(),
                journal: earlier.clone(),
                server: server.to_owned(),
            });
        }
        self.server = Some(server.to_owned());
        Ok(self)
    }

    /// The server this journal is for, if it was said ([`Journal::for_server`]).
    pub fn server(&self) -> Option<&str> {
        self.server.as_deref().or(self.earlier_server.as_deref())
    }

    /// Where the journal is.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The job's fingerprint.
    pub fn job(&self) -> &JobFingerprint {
        &self.job
    }

    /// Operations an earlier run settled (succeeded, failed or unknown).
    pub fn settled_earlier(&self) -> usize {
        self.restored.settled.len()
    }

    /// Operations an earlier run sent without learning how they ended.
    pub fn interrupted(&self) -> usize {
        self.restored.interrupted.len()
    }

    /// Hands over what the earlier run left, for the engine.
    pub(crate) fn take_restored(&mut self) -> Restored {
        std::mem::take(&mut self.restored)
    }

    /// Writes ahead that a request with these operations is about to be sent.
    pub(crate) fn record_sending(
        &mut self,
        request: u64,
        operations: impl Iterator<Item = u64>,
    ) -> io::Result<()> {
        let record = Record::Sending {
            request,
            operations: operations.collect(),
        };
        serde_json::to_writer(&mut self.buffer, &record)?;
        self.buffer.push(b'\n');
        self.write_buffer()?;
        // On disk before the request leaves, so that not even a power cut can make an
        // operation that was sent look unsent (and a POST be sent twice).
        self.file()?.sync_data()
    }

    /// Writes how these operations settled.
    pub(crate) fn record_settled<'a>(
        &mut self,
        outcomes: impl Iterator<Item = &'a Outcome>,
    ) -> io::Result<()> {
        for record in outcomes.map(SettledRecord::of) {
            serde_json::to_writer(&mut self.buffer, &Record::Settled(record))?;
            self.buffer.push(b'\n');
        }
        self.write_buffer()
    }

    /// Hands the buffered records to the operating system in one write.
    fn write_buffer(&mut self) -> io::Result<()> {
        if self.buffer.is_empty() {
            return Ok(());
        }
        let mut buffer = std::mem::take(&mut self.buffer);
        let result = self.file().and_then(|mut file| file.write_all(&buffer));
        buffer.clear();
        self.buffer = buffer;
        result
    }

    fn file(&mut self) -> io::Result<&File> {
        if self.file.is_none() {
            let mut file =
                private(OpenOptions::new().create(true).append(true)).open(&self.path)?;
            let header = Record::Journal {
                format: FORMAT.to_owned(),
                version: VERSION,
                job: self.job.as_str().to_owned(),
                server: self.server.clone(),
            };
            let mut line = serde_json::to_vec(&header)?;
            line.push(b'\n');
            file.write_all(&line)?;
            self.file = Some(file);
        }
        self.file
            .as_ref()
            .ok_or_else(|| io::Error::other("journal file not open"))
    }
}

/// A journal's lock: `JOURNAL.lock` beside it, locked (`flock`) by one run at a time, with
/// that process's id written in it. A second run of the same journal is refused while the
/// first lives (cron overlap, a second terminal); the operating system releases the lock
/// when its holder ends, however it ends.
///
/// ```
/// use map_bulk::{JournalError, JournalLock};
///
/// let dir = tempfile::tempdir()?;
/// let journal = dir.path().join("users.journal");
/// let held = JournalLock::acquire(&journal)?;
/// assert!(matches!(JournalLock::acquire(&journal), Err(JournalError::InUse { .. })));
/// drop(held);
/// assert!(JournalLock::acquire(&journal).is_ok());
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug)]
pub struct JournalLock {
    journal: PathBuf,
    _file: File,
}

impl JournalLock {
    /// Locks the journal at `journal` for this process, or says which process holds it.
    pub fn acquire(journal: impl AsRef<Path>) -> Result<JournalLock, JournalError> {
        let journal = journal.as_ref().to_path_buf();
        let mut name = journal.as_os_str().to_owned();
        name.push(".lock");
        let path = PathBuf::from(name);
        let io_error = |source| JournalError::Io {
            path: path.clone(),
            source,
        };
        let mut file = private(
            OpenOptions::new()
                .read(true)
                .write(true)
                .create(true)
                .truncate(false),
        )
        .open(&path)
        .map_err(io_error)?;
        match file.try_lock() {
            Ok(()) => {}
            Err(std::fs::TryLockError::WouldBlock) => {
                let mut text = String::new();
                let _ = std::io::Read::read_to_string(&mut file, &mut text);
                return Err(JournalError::InUse {
                    path: journal,
                    holder: text.trim().parse().ok(),
                });
            }
            Err(std::fs::TryLockError::Error(error)) => return Err(io_error(error)),
        }
        // Who holds it, for the message a second run gives.
        file.set_len(0).map_err(io_error)?;
        file.write_all(std::process::id().to_string().as_bytes())
            .map_err(io_error)?;
        Ok(JournalLock {
            journal,
            _file: file,
        })
    }

    /// The journal it locks.
    pub fn journal(&self) -> &Path {
        &self.journal
    }
}

/// A journal holds what the job sends (names, addresses): readable by its owner alone.
fn private(options: &mut OpenOptions) -> &mut OpenOptions {
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600)
    }
    #[cfg(not(unix))]
    {
        options
    }
}

#[cfg(test)]
mod tests {
    use std::io::Write;

    use super::*;

    fn settled_line(index: u64, id: &str) -> String {
        let outcome = Outcome {
            index,
            method: BulkMethod::Post,
            path: "/Users".to_owned(),
            bulk_id: Some(format!("u{index}")),
            kind: OutcomeKind::Succeeded {
                status: 201,
                location: None,
                id: Some(id.to_owned()),
                note: None,
            },
        };
        let mut line =
            serde_json::to_string(&Record::Settled(SettledRecord::of(&outcome))).unwrap();
        line.push('\n');
        line
    }

    #[test]
    fn a_journal_open_in_one_run_is_refused_to_another_naming_the_holder() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("job.journal");
        let op: crate::JobOperation =
            serde_json::from_str(r#"{"method":"DELETE","path":"/Groups/g"}"#).unwrap();
        let first = Journal::open(&path, &mut vec![op.clone()]).unwrap();
        let error = Journal::open(&path, &mut vec![op.clone()]).unwrap_err();
        assert!(
            matches!(&error, JournalError::InUse { holder: Some(pid), .. } if *pid == std::process::id()),
            "{error}"
        );
        assert!(
            error
                .to_string()
                .contains("is in use by another run (process "),
            "{error}"
        );
        drop(first);
        assert!(
            Journal::open(&path, &mut vec![op]).is_ok(),
            "released with its holder"
        );
    }

    #[test]
    fn a_journal_is_private_and_refused_against_another_server() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("job.journal");
        let op: crate::JobOperation =
            serde_json::from_str(r#"{"method":"DELETE","path":"/Groups/g"}"#).unwrap();
        let mut journal = Journal::open(&path, &mut vec![op.clone()])
            .unwrap()
            .for_server("https://a.example.ac.jp/")
            .unwrap();
        journal.record_sending(1, [0].into_iter()).unwrap();
        drop(journal);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&path).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        let again = Journal::open(&path, &mut vec![op.clone()]).unwrap();
        assert_eq!(again.server(), Some("https://a.example.ac.jp/"));
        let error = again.for_server("https://b.example.ac.jp/").unwrap_err();
        assert!(
            matches!(&error, JournalError::DifferentServer { journal, server, .. }
                if journal == "https://a.example.ac.jp/" && server == "https://b.example.ac.jp/"),
            "{error}"
        );
        assert!(
            Journal::open(&path, &mut vec![op])
                .unwrap()
                .for_server("https://a.example.ac.jp/")
                .is_ok()
        );
    }

    #[test]
    fn an_unknown_reason_is_read_back_as_it_was_and_old_text_as_recorded() {
        let unknown = |reason| Outcome {
            index: 4,
            method: BulkMethod::Post,
            path: "/Users".to_owned(),
            bulk_id: None,
            kind: OutcomeKind::Unknown { reason },
        };
        let reason = UnknownReason::RetriesGaveUp {
            cause: "502 Bad Gateway".to_owned(),
            give_up: map_client::GiveUp::Attempts { attempts: 5 },
        };
        let line = serde_json::to_string(&SettledRecord::of(&unknown(reason.clone()))).unwrap();
        let back: SettledRecord = serde_json::from_str(&line).unwrap();
        assert_eq!(back.into_outcome(), Some(unknown(reason)));
        let old = r#"{"index":4,"method":"POST","path":"/Users","outcome":{"unknown":{"reason":"timed out"}}}"#;
        let back: SettledRecord = serde_json::from_str(old).unwrap();
        assert_eq!(
            back.into_outcome(),
            Some(unknown(UnknownReason::Recorded {
                reason: "timed out".to_owned()
            }))
        );
    }

    #[test]
    fn settled_operations_are_read_back_by_position_in_index_order() {
        let mut journal = tempfile::tempfile().unwrap();
        let mut settled = Settled::default();
        let mut offset = 0u64;
        // Written out of order, as requests in flight together settle; 7 settles twice.
        for (index, id) in [(7, "first"), (2, "b"), (900_000, "far"), (7, "again")] {
            let line = settled_line(index, id);
            journal.write_all(line.as_bytes()).unwrap();
            settled.record(&journal, index, offset).unwrap();
            offset += line.len() as u64;
        }
        assert_eq!(settled.len(), 3);
        let id = |outcome: Option<Outcome>| match outcome.map(|o| o.kind) {
            Some(OutcomeKind::Succeeded { id, .. }) => id,
            other => panic!("{other:?}"),
        };
        assert!(settled.take(0).unwrap().is_none());
        assert_eq!(id(settled.take(2).unwrap()).as_deref(), Some("b"));
        assert_eq!(id(settled.take(7).unwrap()).as_deref(), Some("again"));
        assert!(!settled.is_empty());
        assert!(settled.take(8).unwrap().is_none());
        assert_eq!(id(settled.take(900_000).unwrap()).as_deref(), Some("far"));
        assert!(settled.is_empty());
        assert_eq!(settled.len(), 3);
    }

    #[test]
    fn a_record_that_is_not_the_operation_s_is_an_error_not_a_guess() {
        let mut journal = tempfile::tempfile().unwrap();
        let line = settled_line(3, "x");
        journal.write_all(line.as_bytes()).unwrap();
        let mut settled = Settled::default();
        // Operation 4 said to start where operation 3's record is.
        settled.record(&journal, 4, 0).unwrap();
        let error = settled.take(4).unwrap_err();
        assert!(error.to_string().contains("not operation 4's"), "{error}");
    }
}
