//! [`Engine`]: runs a job — validates and plans it, sends its requests (in parallel where they
//! are independent), substitutes ids created by earlier requests, retries what is safe to
//! retry, and settles every operation exactly once.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

use map_auth::{Credentials, REQUEST_OBJECT_ROOM, Signer};
use map_entities::{BulkMethod, MapError};
use serde::Deserialize;
use tokio::task::JoinSet;
use tracing::Instrument;

use crate::client::{BulkClient, BulkError, RawAnswer, excerpt, retry_after};
use crate::correlate::{Correlation, LeanResponse, SentOperation};
use crate::encode::{BodyWriter, OperationParts};
use crate::event::{Event, EventHandler, ignore_events};
use crate::journal::{Journal, Restored};
use crate::outcome::{Outcome, OutcomeKind, SkipReason, Summary};
use crate::plan::Plan;
use crate::reference::{normalized, references, substitute};
use crate::retry::{Jitter, RetryPolicy};
use crate::second_pass::{ReadOp, SecondPass};
use crate::source::{OperationSource, SourceError};
use crate::validate::{JobIndex, JobInputError, Limits, validate};

/// How a job runs.
///
/// ```
/// use map_bulk::{JobConfig, Limits};
///
/// let config = JobConfig {
///     limits: Limits { max_operations: 500, ..Limits::default() },
///     concurrency: 4,
///     error_budget: Some(100),
///     ..JobConfig::default()
/// };
/// assert_eq!(config.fail_on_errors, None);
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JobConfig {
    /// Operations and bytes per request.
    pub limits: Limits,
    /// Sent as `failOnErrors` with every request. Default none.
    pub fail_on_errors: Option<u64>,
    /// Stop sending once more than this many operations have failed; the rest are skipped.
    /// Default none (no limit).
    pub error_budget: Option<u64>,
    /// Requests in flight at once. Requests that touch the same resource or depend on each
    /// other never overlap. Default 1.
    pub concurrency: usize,
    /// Retries of requests the server did not process or whose answer was lost.
    pub retry: RetryPolicy,
}

impl Default for JobConfig {
    fn default() -> Self {
        JobConfig {
            limits: Limits::default(),
            fail_on_errors: None,
            error_budget: None,
            concurrency: 1,
            retry: RetryPolicy::default(),
        }
    }
}

/// Why a job stopped sending before its end.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum JobStop {
    /// The server refused the credentials (401 or 403).
    Authentication {
        /// The status.
        status: u16,
        /// What the server said.
        detail: String,
    },
    /// The server could not be reached: every attempt of a request failed to connect.
    Unreachable {
        /// The last failure.
        detail: String,
    },
    /// The journal could not be written: nothing more is sent that it could not record.
    Journal {
        /// What failed.
        detail: String,
    },
    /// More operations failed than the error budget allows.
    ErrorBudget {
        /// Operations failed when the job stopped.
        failed: u64,
        /// The budget.
        budget: u64,
    },
}

impl JobStop {
    /// Why an operation not yet sent when the job stopped so is skipped.
    pub fn skip_reason(&self) -> SkipReason {
        match self {
            JobStop::Authentication { .. } => SkipReason::AuthenticationFailed,
            JobStop::ErrorBudget { .. } => SkipReason::ErrorBudgetExhausted,
            JobStop::Unreachable { .. } => SkipReason::ServerUnreachable,
            JobStop::Journal { .. } => SkipReason::JournalUnwritable,
        }
    }
}

impl std::fmt::Display for JobStop {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            JobStop::Authentication { status, detail } => {
                write!(f, "mAP Core refused the credentials ({status}): {detail}")
            }
            JobStop::ErrorBudget { failed, budget } => {
                write!(
                    f,
                    "{failed} operations failed, more than the error budget of {budget}"
                )
            }
            JobStop::Unreachable { detail } => write!(f, "mAP Core could not be reached: {detail}"),
            JobStop::Journal { detail } => write!(f, "the journal could not be written: {detail}"),
        }
    }
}

/// The end of a job.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JobReport {
    /// Counts of outcomes and requests.
    pub summary: Summary,
    /// The plan the job followed.
    pub plan: Plan,
    /// Why the job stopped early, if it did.
    pub stopped: Option<JobStop>,
    /// Attempts that got an HTTP answer of any status: 0 means the server was never reached
    /// in this run.
    pub answered: u64,
    /// Operations whose outcome an earlier run recorded in the journal (see
    /// [`Engine::run_journaled`]); they are reported again, not sent.
    pub resumed: u64,
}

/// Runs bulk jobs against one deployment with one set of credentials.
///
/// ```no_run
/// use std::sync::Arc;
/// use map_auth::Credentials;
/// use map_bulk::{BulkClient, Endpoint, Engine, JobConfig, OutcomeKind};
/// use map_entities::BulkOperation;
/// use map_transport::{HyperTransport, TransportConfig};
/// use serde_json::json;
///
/// # async fn run() -> Result<(), Box<dyn std::error::Error>> {
/// let transport = Arc::new(HyperTransport::new(TransportConfig::default())?);
/// let client = BulkClient::new(Endpoint::new("https://cg.gakunin.jp")?, transport);
/// let engine = Engine::new(client, &Credentials::new("token", "secret"), JobConfig::default());
/// let mut job = vec![
///     BulkOperation::post("/Users", "u1", json!({"userName": "alice"})),
///     BulkOperation::patch("/Groups/lab-a", json!({
///         "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
///         "Operations": [{"op": "add", "path": "members", "value": [{"type": "User", "value": "bulkId:u1"}]}]
///     })),
/// ];
/// let (report, outcomes) = engine.run_collecting(&mut job).await?;
/// for outcome in &outcomes {
///     println!("#{} {} {}", outcome.index, outcome.method, outcome.kind.name());
/// }
/// println!("{} of {} succeeded", report.summary.succeeded, report.summary.total);
/// # Ok(())
/// # }
/// ```
#[derive(Clone)]
pub struct Engine {
    client: BulkClient,
    signer: Arc<Signer>,
    config: JobConfig,
}

impl std::fmt::Debug for Engine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Engine")
            .field("client", &self.client)
            .field("signer", &self.signer)
            .field("config", &self.config)
            .finish()
    }
}

impl Engine {
    /// An engine sending through `client` with `credentials`.
    pub fn new(client: BulkClient, credentials: &Credentials, config: JobConfig) -> Self {
        let signer = Arc::new(client.signer(credentials));
        Engine {
            client,
            signer,
            config,
        }
    }

    /// The engine's configuration.
    pub fn config(&self) -> &JobConfig {
        &self.config
    }

    /// Validates the job and plans its requests without sending anything.
    pub fn plan(&self, source: &mut dyn OperationSource) -> Result<Plan, JobInputError> {
        plan_job(source, self.config.limits)
    }

    /// Runs the job: validates it (an invalid job is refused whole and nothing is sent), then
    /// sends it, reporting progress and every operation's outcome, in input order, to
    /// `events`.
    pub async fn run(
        &self,
        source: &mut dyn OperationSource,
        events: EventHandler,
    ) -> Result<JobReport, JobInputError> {
        self.run_with(source, events, None).await
    }

    /// Runs the job like [`Engine::run`], writing ahead to `journal` what it sends and how
    /// each operation settles, and resuming from what an earlier run of the same job wrote
    /// there: nothing that settled is sent again, ids created earlier are substituted as
    /// before, POSTs that were in flight are reported `unknown` (never resent), and PUT,
    /// PATCH and DELETE that were in flight are sent again. The report covers the whole job.
    ///
    /// Open the journal for the same `source` ([`Journal::open`]); see the
    /// [`journal`](crate::Journal) documentation for an example.
    pub async fn run_journaled(
        &self,
        source: &mut dyn OperationSource,
        events: EventHandler,
        journal: Journal,
    ) -> Result<JobReport, JobInputError> {
        self.run_with(source, events, Some(journal)).await
    }

    async fn run_with(
        &self,
        source: &mut dyn OperationSource,
        events: EventHandler,
        mut journal: Option<Journal>,
    ) -> Result<JobReport, JobInputError> {
        let (plan, mut index) = validate(source, self.config.limits)?;
        let text_facts = index.text_facts.take();
        let may_refer = !index.referenced.is_empty() || text_facts.is_none();
        let restored = journal
            .as_mut()
            .map(Journal::take_restored)
            .unwrap_or_default();
        events(&Event::Planned {
            operations: plan.operations,
            requests: plan.requests.len() as u64,
        });
        let context = Arc::new(RequestContext {
            client: self.client.clone(),
            signer: self.signer.clone(),
            retry: self.config.retry.clone(),
            fail_on_errors: self.config.fail_on_errors,
            events: events.clone(),
            requests_sent: AtomicU64::new(0),
            answered: AtomicU64::new(0),
        });
        let mut driver = Driver {
            config: &self.config,
            index,
            may_refer,
            context: context.clone(),
            events,
            created: HashMap::new(),
            pending: BTreeMap::new(),
            next_to_emit: 0,
            summary: Summary::default(),
            in_flight: JoinSet::new(),
            active: HashMap::new(),
            tasks: HashMap::new(),
            busy_bulk_ids: HashMap::new(),
            busy_keys: HashMap::new(),
            stopped: None,
            journal,
            restored,
            resumed: 0,
        };
        let mut operations = match text_facts {
            Some(facts) => match source.texts() {
                Some(texts) => SecondPass::Texts {
                    texts: texts.map_err(JobInputError::Source)?,
                    facts: facts.into_reader().map_err(JobInputError::temp_file)?,
                },
                None => {
                    return Err(JobInputError::Source(SourceError {
                        index: None,
                        line: None,
                        message: "the source lent its operations' texts to the first pass but not to the second".to_owned(),
                    }));
                }
            },
            None => SecondPass::Parsed(source.operations().map_err(JobInputError::Source)?),
        };
        for (number, planned) in plan.requests.iter().enumerate() {
            let mut batch = Vec::with_capacity(planned.count as usize);
            for index in planned.first..planned.end() {
                match operations.next() {
                    Some(Ok(op)) => batch.push(PreparedOp::read(index, op)),
                    Some(Err(message)) => driver.settle_unread(index, message),
                    None => driver.settle_unread(
                        index,
                        "the input ended before it (it changed since it was validated)".to_owned(),
                    ),
                }
            }
            driver.launch(number as u64 + 1, batch).await;
        }
        while driver.complete_one().await {}
        driver.flush();
        let mut summary = driver.summary;
        summary.requests = context.requests_sent.load(Ordering::Relaxed);
        Ok(JobReport {
            summary,
            plan,
            stopped: driver.stopped,
            answered: context.answered.load(Ordering::Relaxed),
            resumed: driver.resumed,
        })
    }

    /// Runs the job and returns every outcome with the report. Holds all outcomes in memory:
    /// for very large jobs use [`Engine::run`] with an event handler.
    pub async fn run_collecting(
        &self,
        source: &mut dyn OperationSource,
    ) -> Result<(JobReport, Vec<Outcome>), JobInputError> {
        let outcomes = Arc::new(std::sync::Mutex::new(Vec::new()));
        let sink = outcomes.clone();
        let events: EventHandler = Arc::new(move |event: &Event<'_>| {
            if let Event::OperationSettled(outcome) = event {
                sink.lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .push((*outcome).clone());
            }
        });
        let report = self.run(source, events).await?;
        let outcomes = std::mem::take(&mut *outcomes.lock().unwrap_or_else(|e| e.into_inner()));
        Ok((report, outcomes))
    }

    /// Runs the job, ignoring events; see [`Engine::run`].
    pub async fn run_quietly(
        &self,
        source: &mut dyn OperationSource,
    ) -> Result<JobReport, JobInputError> {
        self.run(source, ignore_events()).await
    }
}

/// Validates a job and plans its requests within `limits`, without sending anything (no
/// engine or credentials needed): what `mapctl bulk --dry-run` shows.
pub fn plan_job(source: &mut dyn OperationSource, limits: Limits) -> Result<Plan, JobInputError> {
    validate(source, limits).map(|(plan, _)| plan)
}

/// What a referenced POST came to.
#[derive(Debug, Clone)]
enum Created {
    Id(String),
    Failed,
    Unknown,
    Skipped,
}

/// An operation ready to send.
#[derive(Debug, Clone)]
struct PreparedOp {
    index: u64,
    method: BulkMethod,
    bulk_id: Option<String>,
    path: String,
    version: Option<String>,
    /// JSON text.
    data: Option<String>,
    /// bulkIds POSTed in the same request that this operation references.
    local_refs: Vec<String>,
    after_ambiguous: bool,
}

impl PreparedOp {
    /// Operation `index` as the second pass read it, its path normalised (validation
    /// guarantees it is well-formed), not yet checked for references or against the journal.
    fn read(index: u64, op: ReadOp) -> Self {
        let path = match op.path {
            Some(path) => match normalized(&path) {
                std::borrow::Cow::Borrowed(_) => path,
                std::borrow::Cow::Owned(fixed) => fixed,
            },
            None => String::new(),
        };
        PreparedOp {
            index,
            method: op.method,
            bulk_id: op.bulk_id,
            path,
            version: op.version,
            data: op.data,
            local_refs: Vec::new(),
            after_ambiguous: false,
        }
    }

    fn into_outcome(self, kind: OutcomeKind) -> Outcome {
        Outcome {
            index: self.index,
            method: self.method,
            path: self.path,
            bulk_id: self.bulk_id,
            kind,
        }
    }

    /// No fewer bytes than it takes in a request body, escapes aside (the body's buffer grows
    /// for those).
    fn encoded_size_bound(&self) -> usize {
        let text = |field: &Option<String>| field.as_deref().map_or(0, str::len);
        64 + self.path.len() + text(&self.bulk_id) + text(&self.version) + text(&self.data)
    }

    /// What the response is matched against.
    fn sent(&self) -> SentOperation<'_> {
        SentOperation {
            method: self.method,
            bulk_id: self.bulk_id.as_deref(),
            after_ambiguous_attempt: self.after_ambiguous,
        }
    }

    fn outcome(&self, kind: OutcomeKind) -> Outcome {
        Outcome {
            index: self.index,
            method: self.method,
            path: self.path.clone(),
            bulk_id: self.bulk_id.clone(),
            kind,
        }
    }
}

/// What the requests of one job share.
struct RequestContext {
    client: BulkClient,
    signer: Arc<Signer>,
    retry: RetryPolicy,
    fail_on_errors: Option<u64>,
    events: EventHandler,
    requests_sent: AtomicU64,
    /// Attempts that got an HTTP answer, whatever its status.
    answered: AtomicU64,
}

/// The result of one planned request.
struct Execution {
    request: u64,
    outcomes: Vec<Outcome>,
    stop: Option<JobStop>,
}

/// A request in flight, remembered so its operations settle even if its task dies.
struct Active {
    operations: Vec<Outcome>,
    bulk_ids: Vec<String>,
    keys: Vec<String>,
}

struct Driver<'a> {
    config: &'a JobConfig,
    index: JobIndex,
    /// Whether an operation may hold a `bulkId:` reference. Not when the first pass found none
    /// and the second pass reads texts checked to be the ones it validated.
    may_refer: bool,
    context: Arc<RequestContext>,
    events: EventHandler,
    /// Referenced bulkIds whose POST has settled.
    created: HashMap<String, Created>,
    pending: BTreeMap<u64, Outcome>,
    next_to_emit: u64,
    summary: Summary,
    in_flight: JoinSet<Execution>,
    active: HashMap<u64, Active>,
    /// Which request each task in flight sends.
    tasks: HashMap<tokio::task::Id, u64>,
    /// Referenced bulkIds POSTed by requests in flight.
    busy_bulk_ids: HashMap<String, u64>,
    /// Resources touched by requests in flight.
    busy_keys: HashMap<String, u64>,
    stopped: Option<JobStop>,
    journal: Option<Journal>,
    /// What an earlier run recorded in the journal.
    restored: Restored,
    /// Operations settled from the journal.
    resumed: u64,
}

impl Driver<'_> {
    /// Sends `batch` (operations as read, see [`PreparedOp::read`]) as request `request`.
    async fn launch(&mut self, request: u64, batch: Vec<PreparedOp>) {
        let mut staged = self.restore(batch);
        if staged.is_empty() {
            self.flush();
            return;
        }
        // Find references (validation guarantees they are well-formed). Each operation's
        // references wait in `local_refs` until those to other requests are resolved below.
        let mut any_refs = false;
        if self.may_refer {
            for op in &mut staged {
                op.local_refs = references(&op.path, op.data.as_deref());
                any_refs |= !op.local_refs.is_empty();
            }
        }
        // The bulkIds POSTed by this request (only needed when something refers to one).
        let local_posts: HashSet<String> = if any_refs {
            staged
                .iter()
                .filter(|op| op.method == BulkMethod::Post)
                .filter_map(|op| op.bulk_id.clone())
                .collect()
        } else {
            HashSet::new()
        };
        // Wait until every POST this request depends on has settled, no request in flight
        // touches the same resources, and there is room.
        let keys: Vec<String> = staged.iter().filter_map(resource_key).collect();
        loop {
            let waits_on_creator = staged
                .iter()
                .flat_map(|op| &op.local_refs)
                .any(|r| !local_posts.contains(r) && self.busy_bulk_ids.contains_key(r));
            let conflicts = keys.iter().any(|k| self.busy_keys.contains_key(k));
            if !waits_on_creator
                && !conflicts
                && self.in_flight.len() < self.config.concurrency.max(1)
            {
                break;
            }
            if !self.complete_one().await {
                break;
            }
        }
        let prepared = if any_refs || self.stopped.is_some() {
            self.resolve_or_skip(staged, &local_posts)
        } else {
            // Nothing to resolve or skip: the usual case.
            staged
        };
        self.flush();
        if prepared.is_empty() {
            return;
        }
        if let Some(journal) = &mut self.journal {
            // Written ahead: if it cannot be, the request is not sent.
            if let Err(error) = journal.record_sending(request, prepared.iter().map(|op| op.index))
            {
                self.stop_for_journal(&error);
                for op in prepared {
                    if let (Some(bulk_id), BulkMethod::Post) = (&op.bulk_id, op.method) {
                        let bulk_id = bulk_id.clone();
                        self.remember(&bulk_id, Created::Skipped);
                    }
                    self.settle(op.into_outcome(OutcomeKind::Skipped {
                        reason: SkipReason::JournalUnwritable,
                    }));
                }
                self.flush();
                return;
            }
        }
        let bulk_ids: Vec<String> = prepared
            .iter()
            .filter(|op| op.method == BulkMethod::Post)
            .filter_map(|op| op.bulk_id.as_deref())
            .filter(|b| self.index.is_referenced(b))
            .map(str::to_owned)
            .collect();
        for bulk_id in &bulk_ids {
            self.busy_bulk_ids.insert(bulk_id.clone(), request);
        }
        for key in &keys {
            self.busy_keys.insert(key.clone(), request);
        }
        let operations = prepared
            .iter()
            .map(|op| {
                op.outcome(OutcomeKind::Unknown {
                    reason: String::new(),
                })
            })
            .collect();
        self.active.insert(
            request,
            Active {
                operations,
                bulk_ids,
                keys,
            },
        );
        let context = self.context.clone();
        let span = tracing::info_span!("bulk_request", request, operations = prepared.len());
        let task = self.in_flight.spawn(
            async move {
                let (outcomes, stop) = execute(context, request, prepared, Instant::now()).await;
                Execution {
                    request,
                    outcomes,
                    stop,
                }
            }
            .instrument(span),
        );
        self.tasks.insert(task.id(), request);
    }

    /// The operations of `staged` that can be sent: those that depend on a POST that failed,
    /// was skipped or whose outcome is unknown (or all, once the job has stopped) settle as
    /// skipped; references to POSTs of earlier requests are replaced by the ids they created,
    /// and only references to POSTs of this request (`local_posts`) are kept.
    fn resolve_or_skip(
        &mut self,
        staged: Vec<PreparedOp>,
        local_posts: &HashSet<String>,
    ) -> Vec<PreparedOp> {
        let mut prepared = Vec::with_capacity(staged.len());
        let mut skipped_locally: HashMap<String, SkipReason> = HashMap::new();
        for mut op in staged {
            let skip = match &self.stopped {
                Some(stop) => Some(stop.skip_reason()),
                None => op.local_refs.iter().find_map(|r| {
                    if local_posts.contains(r) {
                        skipped_locally
                            .get(r)
                            .map(|_| SkipReason::DependencySkipped { bulk_id: r.clone() })
                    } else {
                        match self.created.get(r) {
                            Some(Created::Id(_)) => None,
                            Some(Created::Failed) => {
                                Some(SkipReason::DependencyFailed { bulk_id: r.clone() })
                            }
                            Some(Created::Skipped) => {
                                Some(SkipReason::DependencySkipped { bulk_id: r.clone() })
                            }
                            Some(Created::Unknown) | None => {
                                Some(SkipReason::DependencyUnknown { bulk_id: r.clone() })
                            }
                        }
                    }
                }),
            };
            if let Some(reason) = skip {
                if let (Some(bulk_id), BulkMethod::Post) = (&op.bulk_id, op.method) {
                    skipped_locally.insert(bulk_id.clone(), reason.clone());
                    self.remember(bulk_id, Created::Skipped);
                }
                self.settle(op.into_outcome(OutcomeKind::Skipped { reason }));
                continue;
            }
            if op.local_refs.iter().any(|r| !local_posts.contains(r)) {
                let created = &self.created;
                let resolve = |bulk_id: &str| match created.get(bulk_id) {
                    Some(Created::Id(id)) if !local_posts.contains(bulk_id) => Some(id.clone()),
                    _ => None,
                };
                substitute(&mut op.path, &mut op.data, &resolve);
            }
            op.local_refs.retain(|r| local_posts.contains(r));
            prepared.push(op);
        }
        prepared
    }

    /// Waits for one request in flight and settles its operations; false if none is in flight.
    async fn complete_one(&mut self) -> bool {
        let Some(joined) = self.in_flight.join_next_with_id().await else {
            return false;
        };
        let execution = match joined {
            Ok((task, execution)) => {
                self.tasks.remove(&task);
                execution
            }
            Err(error) => {
                // The request's task died; its operations may have been sent.
                let request = self.tasks.remove(&error.id()).unwrap_or(0);
                let outcomes = self.active.get(&request).map(|a| {
                    a.operations
                        .iter()
                        .map(|op| Outcome {
                            index: op.index,
                            method: op.method,
                            path: op.path.clone(),
                            bulk_id: op.bulk_id.clone(),
                            kind: OutcomeKind::Unknown {
                                reason: format!("the request's task ended abnormally: {error}"),
                            },
                        })
                        .collect()
                });
                Execution {
                    request,
                    outcomes: outcomes.unwrap_or_default(),
                    stop: None,
                }
            }
        };
        if let Some(active) = self.active.remove(&execution.request) {
            for bulk_id in active.bulk_ids {
                self.busy_bulk_ids.remove(&bulk_id);
            }
            for key in active.keys {
                if self.busy_keys.get(&key) == Some(&execution.request) {
                    self.busy_keys.remove(&key);
                }
            }
        }
        if self.stopped.is_none() {
            self.stopped = execution.stop;
        }
        if let Some(journal) = &mut self.journal {
            if let Err(error) = journal.record_settled(execution.outcomes.iter()) {
                self.stop_for_journal(&error);
            }
        }
        let mut counts = Summary::default();
        let mut outcomes = execution.outcomes;
        for outcome in &mut outcomes {
            counts.count(&outcome.kind);
            self.remember_post(outcome);
            self.settle_in_place(outcome);
        }
        drop(outcomes);
        (self.events)(&Event::RequestSettled {
            request: execution.request,
            succeeded: counts.succeeded,
            failed: counts.failed,
            skipped: counts.skipped,
            unknown: counts.unknown,
        });
        if let (None, Some(budget)) = (&self.stopped, self.config.error_budget) {
            if self.summary.failed > budget {
                self.stopped = Some(JobStop::ErrorBudget {
                    failed: self.summary.failed,
                    budget,
                });
            }
        }
        self.flush();
        true
    }

    /// Settles the operations of `batch` that an earlier run recorded in the journal, and
    /// POSTs it left in flight (`unknown`: never sent again). Returns the rest, each with
    /// whether an earlier run may have applied it (a PUT, PATCH or DELETE left in flight).
    fn restore(&mut self, batch: Vec<PreparedOp>) -> Vec<PreparedOp> {
        if self.restored.settled.is_empty() && self.restored.interrupted.is_empty() {
            // Nothing from an earlier run: the batch as it is, without moving it.
            return batch;
        }
        let mut rest = Vec::with_capacity(batch.len());
        for mut op in batch {
            let index = op.index;
            let earlier = self.restored.settled.take(index).unwrap_or_else(|error| {
                // The journal says it settled: whatever it was, it is not sent again.
                Some(op.outcome(OutcomeKind::Unknown {
                    reason: format!(
                        "an earlier run settled it, but its record could not be read back from the journal ({error}); not sent again"
                    ),
                }))
            });
            if let Some(outcome) = earlier {
                self.resumed += 1;
                self.remember_post(&outcome);
                self.settle(outcome);
            } else if !self.restored.interrupted.remove(&index) {
                rest.push(op);
            } else if op.method != BulkMethod::Post {
                op.after_ambiguous = true;
                rest.push(op);
            } else {
                let outcome = op.into_outcome(OutcomeKind::Unknown {
                    reason: "an earlier run sent it and was interrupted before the answer came; a POST is not sent again when it may have been applied".to_owned(),
                });
                if let Some(journal) = &mut self.journal {
                    if let Err(error) = journal.record_settled(std::iter::once(&outcome)) {
                        self.stop_for_journal(&error);
                    }
                }
                self.remember_post(&outcome);
                self.settle(outcome);
            }
        }
        rest
    }

    fn stop_for_journal(&mut self, error: &std::io::Error) {
        tracing::error!(%error, "the journal could not be written; stopping");
        if self.stopped.is_none() {
            self.stopped = Some(JobStop::Journal {
                detail: error.to_string(),
            });
        }
    }

    /// Keeps what a settled POST came to, for the operations that reference it.
    fn remember_post(&mut self, outcome: &Outcome) {
        if let (Some(bulk_id), BulkMethod::Post) = (&outcome.bulk_id, outcome.method) {
            if !self.index.is_referenced(bulk_id) {
                return;
            }
            let created = match &outcome.kind {
                OutcomeKind::Succeeded { id: Some(id), .. } => Created::Id(id.clone()),
                OutcomeKind::Succeeded { id: None, .. } | OutcomeKind::Unknown { .. } => {
                    Created::Unknown
                }
                OutcomeKind::Failed { .. } => Created::Failed,
                OutcomeKind::Skipped { .. } => Created::Skipped,
            };
            self.remember(bulk_id, created);
        }
    }

    /// Keeps what a POST came to if any operation references it.
    fn remember(&mut self, bulk_id: &str, created: Created) {
        if self.index.is_referenced(bulk_id) {
            self.created.insert(bulk_id.to_owned(), created);
        }
    }

    fn settle_unread(&mut self, index: u64, message: String) {
        self.settle(Outcome {
            index,
            method: BulkMethod::Post,
            path: String::new(),
            bulk_id: None,
            kind: OutcomeKind::Failed {
                status: None,
                error: None,
                message,
            },
        });
    }

    fn settle(&mut self, mut outcome: Outcome) {
        self.settle_in_place(&mut outcome);
    }

    /// Settles `outcome` where it lies: reported at once when it is next in input order (the
    /// usual case: it is not moved), otherwise taken out to wait its turn.
    fn settle_in_place(&mut self, outcome: &mut Outcome) {
        self.summary.count(&outcome.kind);
        if outcome.index == self.next_to_emit && self.pending.is_empty() {
            // In order already: report it at once.
            (self.events)(&Event::OperationSettled(outcome));
            self.next_to_emit += 1;
        } else {
            let waiting = std::mem::replace(
                outcome,
                Outcome {
                    index: outcome.index,
                    method: outcome.method,
                    path: String::new(),
                    bulk_id: None,
                    kind: OutcomeKind::Unknown {
                        reason: String::new(),
                    },
                },
            );
            self.pending.insert(waiting.index, waiting);
        }
    }

    /// Reports settled operations in input order.
    fn flush(&mut self) {
        while let Some(outcome) = self.pending.remove(&self.next_to_emit) {
            (self.events)(&Event::OperationSettled(&outcome));
            self.next_to_emit += 1;
        }
    }
}

/// The resource an operation changes, if it is an existing or named one: requests that share
/// one never run at the same time.
fn resource_key(op: &PreparedOp) -> Option<String> {
    let path = op.path.as_str();
    match op.method {
        BulkMethod::Put | BulkMethod::Patch | BulkMethod::Delete => Some(path.to_owned()),
        BulkMethod::Post => {
            // Groups and services may be created with a chosen id.
            if !(path == "/Groups" || path == "/Services") {
                return None;
            }
            #[derive(Deserialize)]
            struct WithId {
                id: Option<String>,
            }
            let id = serde_json::from_str::<WithId>(op.data.as_deref()?)
                .ok()?
                .id?;
            Some(format!("{path}/{id}"))
        }
    }
}

type Boxed<T> = Pin<Box<dyn Future<Output = T> + Send>>;

/// How one attempt ended, as far as retrying is concerned.
enum Answer<'a> {
    /// 200 with a readable body: its results, matched to the operations sent.
    Processed(Correlation<'a>),
    /// 400: the whole request refused with this error; nothing applied.
    Refused(Option<MapError>, String),
    /// 401 or 403.
    Unauthorized(u16, String),
    /// 413: split and try again.
    TooLarge(Option<MapError>, String),
    /// Not processed (connect failure, 429, 503): safe to send again. The flag says whether
    /// the server could not be reached at all.
    NotProcessed(String, Option<std::time::Duration>, bool),
    /// May have been applied (timeout, reset, truncated, 500, 502, 504, unreadable 200).
    Ambiguous(String),
    /// Any other answer: the request failed.
    Failed(Option<u16>, Option<MapError>, String),
}

/// Sorts an attempt's result; a 200 body is read once and its results matched to `sent`.
fn classify<'a>(
    result: &'a Result<RawAnswer, BulkError>,
    sent: &[SentOperation<'_>],
    fail_on_errors: Option<u64>,
) -> Answer<'a> {
    let answer = match result {
        Ok(answer) => answer,
        Err(BulkError::Transport(error)) => {
            return if error.delivery().was_not_sent() {
                Answer::NotProcessed(error.to_string(), None, true)
            } else {
                Answer::Ambiguous(error.to_string())
            };
        }
        Err(error) => return Answer::Failed(None, None, error.to_string()),
    };
    let status = answer.status.as_u16();
    let error = || serde_json::from_slice::<MapError>(&answer.body).ok();
    let detail = |error: &Option<MapError>| {
        error
            .as_ref()
            .and_then(|e| e.detail.clone())
            .unwrap_or_else(|| {
                format!("{} {}", answer.status, excerpt(&answer.body))
                    .trim_end()
                    .to_owned()
            })
    };
    match status {
        // One vectorised UTF-8 check, then serde_json borrows strings without re-checking.
        200 => match crate::scan::utf8(&answer.body)
            .map_err(|e| e.to_string())
            .and_then(|text| LeanResponse::read(text, sent.len()).map_err(|e| e.to_string()))
        {
            Ok(response) => Answer::Processed(Correlation::new(sent, response, fail_on_errors)),
            Err(e) => Answer::Ambiguous(format!(
                "the 200 answer could not be read ({e}); it starts {:?}",
                excerpt(&answer.body)
            )),
        },
        400 => {
            let error = error();
            let message = detail(&error);
            Answer::Refused(error, message)
        }
        401 | 403 => {
            let error = error();
            Answer::Unauthorized(status, detail(&error))
        }
        413 => {
            let error = error();
            let message = detail(&error);
            Answer::TooLarge(error, message)
        }
        429 | 503 => Answer::NotProcessed(
            format!("{} ({})", answer.status, detail(&error())),
            retry_after(&answer.headers),
            false,
        ),
        500 | 502 | 504 => Answer::Ambiguous(format!("{} ({})", answer.status, detail(&error()))),
        _ => {
            let error = error();
            let message = detail(&error);
            Answer::Failed(Some(status), error, message)
        }
    }
}

/// Sends `ops` as one request (retrying, splitting on 413) until every one has settled.
fn execute(
    context: Arc<RequestContext>,
    request: u64,
    mut ops: Vec<PreparedOp>,
    started: Instant,
) -> Boxed<(Vec<Outcome>, Option<JobStop>)> {
    Box::pin(async move {
        let mut outcomes = Vec::with_capacity(ops.len());
        let mut jitter = Jitter::new();
        let mut attempt = 0u32;
        loop {
            attempt += 1;
            let size = ops.iter().map(PreparedOp::encoded_size_bound).sum();
            let mut writer = BodyWriter::new(REQUEST_OBJECT_ROOM, size);
            for op in &ops {
                writer.push(&OperationParts {
                    method: op.method,
                    bulk_id: op.bulk_id.as_deref(),
                    path: &op.path,
                    version: op.version.as_deref(),
                    data: op.data.as_deref(),
                });
            }
            let body = writer.finish(context.fail_on_errors);
            let bytes = body.len() - REQUEST_OBJECT_ROOM;
            (context.events)(&Event::RequestSent {
                request,
                attempt,
                operations: ops.len(),
                bytes,
            });
            context.requests_sent.fetch_add(1, Ordering::Relaxed);
            tracing::debug!(attempt, bytes, "sending");
            let result = context
                .client
                .exchange(body, REQUEST_OBJECT_ROOM, &context.signer)
                .await;
            if result.is_ok() {
                context.answered.fetch_add(1, Ordering::Relaxed);
            }
            let sent: Vec<SentOperation<'_>> = ops.iter().map(PreparedOp::sent).collect();
            let answer = classify(&result, &sent, context.fail_on_errors);
            drop(sent);
            let retry_cause = match answer {
                Answer::Processed(correlation) => {
                    outcomes.extend(ops.into_iter().enumerate().map(|(position, op)| {
                        let kind = correlation.outcome(position, &op.sent());
                        op.into_outcome(kind)
                    }));
                    return (outcomes, None);
                }
                Answer::Refused(error, message) => {
                    outcomes.extend(ops.iter().map(|op| {
                        op.outcome(OutcomeKind::Failed {
                            status: Some(400),
                            error: error.clone(),
                            message: format!("the whole request was refused: {message}"),
                        })
                    }));
                    return (outcomes, None);
                }
                Answer::Failed(status, error, message) => {
                    outcomes.extend(ops.iter().map(|op| {
                        op.outcome(OutcomeKind::Failed {
                            status,
                            error: error.clone(),
                            message: message.clone(),
                        })
                    }));
                    return (outcomes, None);
                }
                Answer::Unauthorized(status, detail) => {
                    tracing::warn!(status, "credentials refused");
                    outcomes.extend(ops.iter().map(|op| {
                        op.outcome(OutcomeKind::Skipped {
                            reason: SkipReason::AuthenticationFailed,
                        })
                    }));
                    return (outcomes, Some(JobStop::Authentication { status, detail }));
                }
                Answer::TooLarge(error, message) => {
                    let Some(middle) = split_point(&ops) else {
                        outcomes.extend(ops.iter().map(|op| {
                            op.outcome(OutcomeKind::Failed {
                                status: Some(413),
                                error: error.clone(),
                                message: format!("too large for the server even alone: {message}"),
                            })
                        }));
                        return (outcomes, None);
                    };
                    let second = ops.split_off(middle);
                    let (first_outcomes, stop) =
                        execute(context.clone(), request, ops, started).await;
                    outcomes.extend(first_outcomes);
                    if let Some(stop) = &stop {
                        // The second half was never sent: skipped for why the job stopped.
                        outcomes.extend(second.iter().map(|op| {
                            op.outcome(OutcomeKind::Skipped {
                                reason: stop.skip_reason(),
                            })
                        }));
                        return (outcomes, Some(stop.clone()));
                    }
                    let (ready, skipped) = resolve_after(&outcomes, second);
                    outcomes.extend(skipped);
                    if !ready.is_empty() {
                        let (second_outcomes, stop) =
                            execute(context.clone(), request, ready, started).await;
                        outcomes.extend(second_outcomes);
                        return (outcomes, stop);
                    }
                    return (outcomes, None);
                }
                Answer::NotProcessed(cause, retry_after, unreachable) => {
                    match context
                        .retry
                        .next_delay(attempt, retry_after, started, &mut jitter)
                    {
                        Some(delay) => (cause, delay),
                        None => {
                            let detail = format!("{cause}; gave up after {attempt} attempts");
                            let reason = if unreachable {
                                SkipReason::ServerUnreachable
                            } else {
                                SkipReason::NotProcessed {
                                    detail: detail.clone(),
                                }
                            };
                            outcomes.extend(ops.iter().map(|op| {
                                op.outcome(OutcomeKind::Skipped {
                                    reason: reason.clone(),
                                })
                            }));
                            let stop = unreachable.then_some(JobStop::Unreachable { detail });
                            return (outcomes, stop);
                        }
                    }
                }
                Answer::Ambiguous(cause) => {
                    // POSTs are never sent again blindly: they and what depends on them end here.
                    let unknown_posts: HashSet<String> = ops
                        .iter()
                        .filter(|op| op.method == BulkMethod::Post)
                        .filter_map(|op| op.bulk_id.clone())
                        .collect();
                    let mut retry = Vec::new();
                    for mut op in std::mem::take(&mut ops) {
                        if op.method == BulkMethod::Post {
                            outcomes.push(op.outcome(OutcomeKind::Unknown {
                                reason: format!("{cause}; a POST is not sent again when it may have been applied"),
                            }));
                        } else if let Some(bulk_id) =
                            op.local_refs.iter().find(|r| unknown_posts.contains(*r))
                        {
                            let reason = SkipReason::DependencyUnknown {
                                bulk_id: bulk_id.clone(),
                            };
                            outcomes.push(op.outcome(OutcomeKind::Skipped { reason }));
                        } else {
                            op.after_ambiguous = true;
                            retry.push(op);
                        }
                    }
                    if retry.is_empty() {
                        return (outcomes, None);
                    }
                    match context
                        .retry
                        .next_delay(attempt, None, started, &mut jitter)
                    {
                        Some(delay) => {
                            ops = retry;
                            (cause, delay)
                        }
                        None => {
                            outcomes.extend(retry.iter().map(|op| {
                                op.outcome(OutcomeKind::Unknown {
                                    reason: format!("{cause}; gave up after {attempt} attempts"),
                                })
                            }));
                            return (outcomes, None);
                        }
                    }
                }
            };
            let (cause, delay) = retry_cause;
            tracing::info!(attempt, ?delay, cause = cause.as_str(), "retrying");
            (context.events)(&Event::RetryScheduled {
                request,
                attempt: attempt + 1,
                delay,
                cause: &cause,
            });
            if !delay.is_zero() {
                tokio::time::sleep(delay).await;
            }
        }
    })
}

/// Where to split a request the server found too large: as near the middle as possible
/// without separating an operation from a POST it references later in the request.
fn split_point(ops: &[PreparedOp]) -> Option<usize> {
    if ops.len() < 2 {
        return None;
    }
    let position: HashMap<&str, usize> = ops
        .iter()
        .enumerate()
        .filter(|(_, op)| op.method == BulkMethod::Post)
        .filter_map(|(i, op)| Some((op.bulk_id.as_deref()?, i)))
        .collect();
    let valid = |middle: usize| {
        ops[..middle].iter().all(|op| {
            op.local_refs
                .iter()
                .all(|r| position.get(r.as_str()).is_none_or(|&p| p < middle))
        })
    };
    let half = ops.len() / 2;
    (0..ops.len())
        .flat_map(|d| [half + d, half.wrapping_sub(d)])
        .find(|&m| m > 0 && m < ops.len() && valid(m))
}

/// After the first half of a split request settled: substitutes the ids it created into the
/// second half, and skips what depends on POSTs that did not succeed.
fn resolve_after(settled: &[Outcome], second: Vec<PreparedOp>) -> (Vec<PreparedOp>, Vec<Outcome>) {
    let states: HashMap<&str, &OutcomeKind> = settled
        .iter()
        .filter(|o| o.method == BulkMethod::Post)
        .filter_map(|o| Some((o.bulk_id.as_deref()?, &o.kind)))
        .collect();
    let mut ready = Vec::new();
    let mut skipped = Vec::new();
    let mut skipped_here: HashSet<String> = HashSet::new();
    for mut op in second {
        let blocked = op.local_refs.iter().find_map(|r| {
            if skipped_here.contains(r) {
                return Some(SkipReason::DependencySkipped { bulk_id: r.clone() });
            }
            match states.get(r.as_str()) {
                None | Some(OutcomeKind::Succeeded { id: Some(_), .. }) => None,
                Some(OutcomeKind::Failed { .. }) => {
                    Some(SkipReason::DependencyFailed { bulk_id: r.clone() })
                }
                Some(OutcomeKind::Skipped { .. }) => {
                    Some(SkipReason::DependencySkipped { bulk_id: r.clone() })
                }
                Some(_) => Some(SkipReason::DependencyUnknown { bulk_id: r.clone() }),
            }
        });
        if let Some(reason) = blocked {
            if let (Some(bulk_id), BulkMethod::Post) = (&op.bulk_id, op.method) {
                skipped_here.insert(bulk_id.clone());
            }
            skipped.push(op.outcome(OutcomeKind::Skipped { reason }));
            continue;
        }
        let resolve = |bulk_id: &str| match states.get(bulk_id) {
            Some(OutcomeKind::Succeeded { id: Some(id), .. }) => Some(id.clone()),
            _ => None,
        };
        substitute(&mut op.path, &mut op.data, &resolve);
        op.local_refs.retain(|r| !states.contains_key(r.as_str()));
        ready.push(op);
    }
    (ready, skipped)
}
