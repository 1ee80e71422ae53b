//! [`Engine`]: runs a job — validates and plans it, sends its requests (in parallel where they
//! are independent), substitutes ids created by earlier requests, retries what is safe to
//! retry, and settles every operation exactly once.

mod driver;
mod in_flight;
mod interrupt;
mod ledger;
mod limiter;
mod operation;
mod pace;
mod reporter;
mod request;
mod resend;
mod spacing;
mod stop;
#[cfg(test)]
mod test_support;

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use map_auth::{Credentials, Signer};
use map_client::{BulkClient, RetryPolicy, RetryStrategy, StandardRetry};

pub use interrupt::Interrupt;
pub use pace::{Concurrency, ConcurrencyParseError};
pub use stop::JobStop;

use crate::event::{Event, EventHandler, ignore_events};
use crate::job::second_pass::SecondPass;
use crate::job::source::OperationSource;
use crate::journal::Journal;
use crate::outcome::{Outcome, Summary};
use crate::plan::Plan;
use crate::validate::{JobInputError, Limits, validate};
use driver::Driver;
use in_flight::InFlight;
use ledger::Ledger;
use pace::Pace;
use reporter::Reporter;
use request::RequestContext;

/// How a job runs.
///
/// ```
/// use map_bulk::{JobConfig, Limits};
///
/// let config = JobConfig {
///     limits: Limits { max_operations: 500, ..Limits::default() },
///     concurrency: 4.into(),
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
    /// Requests in flight at once: a fixed number, or [`Concurrency::Auto`] to find the
    /// server's capacity while the job runs. Requests that touch the same resource or depend
    /// on each other never overlap. Default `Fixed(1)`.
    pub concurrency: Concurrency,
    /// Retries of requests the server did not process or whose answer was lost, by a
    /// [`StandardRetry`] of this policy with a fresh [`map_client::RetryBudget`] shared by the
    /// requests of each run (see [`Engine::with_retry_strategy`] for another strategy).
    pub retry: RetryPolicy,
}

impl Default for JobConfig {
    fn default() -> Self {
        JobConfig {
            limits: Limits::default(),
            fail_on_errors: None,
            error_budget: None,
            concurrency: Concurrency::Fixed(1),
            retry: RetryPolicy::default(),
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
    /// Shared by every run when set; otherwise each run gets a fresh [`StandardRetry`].
    retry: Option<Arc<dyn RetryStrategy>>,
    /// Asks its runs to stop sending.
    interrupt: Interrupt,
}

impl std::fmt::Debug for Engine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Engine")
            .field("client", &self.client)
            .field("signer", &self.signer)
            .field("config", &self.config)
            .field("retry", &self.retry)
            .field("interrupt", &self.interrupt)
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
            retry: None,
            interrupt: Interrupt::default(),
        }
    }

    /// The same engine, its runs stopping to send once `interrupt` is interrupted: what is
    /// in flight is seen through, what was not sent is skipped
    /// ([`JobStop::Interrupted`]), and a journaled run resumes from there.
    pub fn with_interrupt(self, interrupt: Interrupt) -> Self {
        Engine { interrupt, ..self }
    }

    /// The same engine deciding retries with `strategy` instead of a [`StandardRetry`] of
    /// [`JobConfig::retry`] (whose retry budget is fresh for every run). One strategy serves
    /// every request of every run of this engine, so a budget it keeps is shared by them all.
    ///
    /// ```
    /// use std::sync::Arc;
    /// use map_auth::Credentials;
    /// use map_bulk::{BulkClient, Endpoint, Engine, JobConfig, RetryPolicy, StandardRetry};
    /// use map_transport::{ReqwestTransport, TransportConfig};
    ///
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let transport = Arc::new(ReqwestTransport::new(TransportConfig::default())?);
    /// let client = BulkClient::new(Endpoint::new("https://cg.gakunin.jp")?, transport);
    /// // No shared retry budget: every request retries up to the policy's attempts.
    /// let strategy = StandardRetry::new(RetryPolicy::default()).with_budget(None);
    /// let engine = Engine::new(client, &Credentials::new("token", "secret"), JobConfig::default())
    ///     .with_retry_strategy(Arc::new(strategy));
    /// # let _ = engine;
    /// # Ok(())
    /// # }
    /// ```
    pub fn with_retry_strategy(self, strategy: Arc<dyn RetryStrategy>) -> Self {
        Engine {
            retry: Some(strategy),
            ..self
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
        let mut operations = SecondPass::open(source, text_facts)?;
        events(&Event::Planned {
            operations: plan.operations,
            requests: plan.requests.len() as u64,
        });
        let restored = journal
            .as_mut()
            .map(Journal::take_restored)
            .unwrap_or_default();
        let context = Arc::new(self.request_context(events.clone()));
        let mut driver = Driver {
            index,
            may_refer,
            context: context.clone(),
            ledger: Ledger::default(),
            reporter: Reporter::new(events, journal),
            in_flight: InFlight::default(),
            error_budget: self.config.error_budget,
            stopped: None,
            interrupt: self.interrupt.clone(),
            restored,
            resumed: 0,
        };
        driver.send(&plan, &mut operations).await;
        let mut summary = driver.reporter.finish();
        summary.requests = context.requests_sent.load(Ordering::Relaxed);
        Ok(JobReport {
            summary,
            plan,
            stopped: driver.stopped,
            answered: context.answered.load(Ordering::Relaxed),
            resumed: driver.resumed,
        })
    }

    /// What every request of one run shares.
    fn request_context(&self, events: EventHandler) -> RequestContext {
        let retry = self.retry.clone().unwrap_or_else(|| {
            Arc::new(StandardRetry::new(self.config.retry.clone())) as Arc<dyn RetryStrategy>
        });
        RequestContext {
            client: self.client.clone(),
            signer: self.signer.clone(),
            retry,
            fail_on_errors: self.config.fail_on_errors,
            events,
            pace: Pace::new(self.config.concurrency),
            requests_sent: AtomicU64::new(0),
            answered: AtomicU64::new(0),
            interrupt: self.interrupt.clone(),
        }
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
