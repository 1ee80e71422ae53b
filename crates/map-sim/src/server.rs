//! [`Simulator`]: the server's life (start, inspect, shut down) and the connection layer where
//! faults strike.

use std::convert::Infallible;
use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::atomic::AtomicU64;
use std::sync::{Arc, Mutex, MutexGuard};
use std::task::{Context, Poll};

use axum::Router;
use axum::body::Body;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use bytes::Bytes;
use chrono::{DateTime, SecondsFormat};
use http::{HeaderValue, Method, Request, StatusCode, header};
use http_body::Frame;
use http_body_util::BodyExt;
use hyper::body::Incoming;
use hyper_util::rt::TokioIo;
use map_auth::Credentials;
use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tokio::task::{JoinHandle, JoinSet};
use tower::ServiceExt;

use crate::bulk::Processed;
use crate::config::SimConfig;
use crate::error::OpError;
use crate::fault::{Fault, FaultSchedule};
use crate::load::{Gate, Throttle};
use crate::store::{Counters, Snapshot, Store};
use crate::{bulk, resources};

/// What every handler shares.
pub(crate) struct Shared {
    pub(crate) config: SimConfig,
    pub(crate) base_url: String,
    store: Mutex<Store>,
    faults: FaultSchedule,
    gate: Gate,
    pub(crate) null_ids: AtomicU64,
}

impl Shared {
    /// The store, locked. A panicked holder cannot leave it half-written (every change is
    /// made on a copy or checked first), so a poisoned lock is taken over.
    pub(crate) fn store(&self) -> MutexGuard<'_, Store> {
        self.store.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The server's time as RFC 3339, for `meta`.
    pub(crate) fn now(&self) -> String {
        rfc3339_now(self.config.clock.as_ref())
    }
}

/// `clock`'s time as RFC 3339, to the second.
fn rfc3339_now(clock: &dyn map_auth::Clock) -> String {
    DateTime::from_timestamp(clock.unix_seconds(), 0)
        .unwrap_or_default()
        .to_rfc3339_opts(SecondsFormat::Secs, true)
}

/// A running in-memory mAP Core server on loopback.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> std::io::Result<()> {
/// use map_sim::{SimConfig, Simulator};
///
/// let sim = Simulator::start(SimConfig::default()).await?;
/// assert!(sim.base_url().starts_with("http://127.0.0.1:"));
/// assert_eq!(sim.counters().bulk_requests, 0);
/// sim.shutdown().await;
/// # Ok(())
/// # }
/// ```
pub struct Simulator {
    base_url: String,
    shared: Arc<Shared>,
    stop: Option<oneshot::Sender<()>>,
    task: JoinHandle<()>,
}

impl Simulator {
    /// Starts a server on `127.0.0.1` (port from the config; 0 picks a free one).
    pub async fn start(config: SimConfig) -> std::io::Result<Simulator> {
        let listener = TcpListener::bind(SocketAddr::from(([127, 0, 0, 1], config.port))).await?;
        let base_url = format!("http://{}", listener.local_addr()?);
        let mut store = Store::new(base_url.clone());
        if let Some(user) = &config.self_user {
            store
                .seed_self_user(user.clone(), &rfc3339_now(config.clock.as_ref()))
                .map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidInput, e.detail))?;
        }
        let shared = Arc::new(Shared {
            store: Mutex::new(store),
            faults: FaultSchedule::new(config.faults.clone()),
            gate: Gate::new(config.load.clone()),
            null_ids: AtomicU64::new(0),
            base_url: base_url.clone(),
            config,
        });
        let router = router(shared.clone());
        let (stop, stopped) = oneshot::channel();
        let task = tokio::spawn(accept_loop(listener, router, shared.clone(), stopped));
        Ok(Simulator {
            base_url,
            shared,
            stop: Some(stop),
            task,
        })
    }

    /// The base URL clients use, e.g. `http://127.0.0.1:41234` (the API is under `/api/v2`).
    pub fn base_url(&self) -> &str {
        &self.base_url
    }

    /// The credentials the server accepts.
    pub fn credentials(&self) -> &Credentials {
        &self.shared.config.credentials
    }

    /// Every stored resource, now.
    pub fn snapshot(&self) -> Snapshot {
        self.shared.store().snapshot()
    }

    /// What the server has received and applied so far.
    pub fn counters(&self) -> Counters {
        self.shared.store().counters.clone()
    }

    /// Stops accepting, closes every connection and waits for the server to end.
    pub async fn shutdown(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        let _ = (&mut self.task).await;
    }
}

impl Drop for Simulator {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl std::fmt::Debug for Simulator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Simulator")
            .field("base_url", &self.base_url)
            .finish_non_exhaustive()
    }
}

fn router(shared: Arc<Shared>) -> Router {
    Router::new()
        .route("/api/v2/Bulk", post(bulk::handle))
        .route("/api/v2/Existeppn/{eppn}", get(resources::exist_eppn))
        .route("/api/v2/Self", get(resources::self_user))
        .route(
            "/api/v2/{resource}",
            get(resources::list).post(resources::create),
        )
        .route(
            "/api/v2/{resource}/{id}",
            get(resources::get_one)
                .put(resources::replace)
                .patch(resources::patch)
                .delete(resources::delete),
        )
        .with_state(shared)
}

async fn accept_loop(
    listener: TcpListener,
    router: Router,
    shared: Arc<Shared>,
    mut stopped: oneshot::Receiver<()>,
) {
    let mut connections = JoinSet::new();
    loop {
        tokio::select! {
            _ = &mut stopped => break,
            accepted = listener.accept() => {
                let Ok((stream, _)) = accepted else { continue };
                let _ = stream.set_nodelay(true);
                let router = router.clone();
                let shared = shared.clone();
                connections.spawn(async move {
                    let service = hyper::service::service_fn(move |request| {
                        serve(router.clone(), shared.clone(), request)
                    });
                    let _ = hyper::server::conn::http1::Builder::new()
                        .keep_alive(true)
                        .serve_connection(TokioIo::new(stream), service)
                        .await;
                });
            }
            // Reap finished connections so the set does not grow.
            Some(_) = connections.join_next(), if !connections.is_empty() => {}
        }
    }
    connections.abort_all();
}

/// Returned to hyper to drop the connection without (finishing) an answer.
#[derive(Debug)]
struct DropConnection;

impl std::fmt::Display for DropConnection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("connection dropped by an injected fault")
    }
}

impl std::error::Error for DropConnection {}

/// One request: a bulk request is admitted by the [`Gate`] (or answered 429), then gets its
/// fault, if any, and the router's answer, with the load's time added.
async fn serve(
    router: Router,
    shared: Arc<Shared>,
    request: Request<Incoming>,
) -> Result<Response, DropConnection> {
    let arrived = tokio::time::Instant::now();
    let is_bulk = request.method() == Method::POST && request.uri().path() == "/api/v2/Bulk";
    let load = shared.gate.load().clone();
    let slot = if is_bulk {
        match shared.gate.admit() {
            Ok(slot) => slot,
            Err(throttle) => {
                {
                    let counters = &mut shared.store().counters;
                    match throttle {
                        Throttle::Capacity => counters.throttled_capacity += 1,
                        Throttle::Rate { .. } => counters.throttled_rate += 1,
                    }
                }
                pause_until(arrived, load.latency).await;
                return Ok(refusal(
                    StatusCode::TOO_MANY_REQUESTS,
                    Some(throttle.retry_after_secs()),
                ));
            }
        }
    } else {
        None
    };
    let answer = answer_with_faults(router, &shared, request, is_bulk).await;
    // The load's times count from arrival: the simulator's own work is part of them, as a
    // real server's is part of its time per operation.
    let mut server_time = load.latency;
    if let Ok(response) = &answer
        && let Some(Processed { operations }) = response.extensions().get()
    {
        let operations = u32::try_from(*operations).unwrap_or(u32::MAX);
        server_time = server_time.saturating_add(load.per_operation.saturating_mul(operations));
    }
    pause_until(arrived, server_time).await;
    // The slot is held until the answer goes: a busy server's capacity is its whole requests.
    drop(slot);
    answer
}

/// Waits until `time` has passed since `arrived` (a time beyond any clock is a day).
async fn pause_until(arrived: tokio::time::Instant, time: std::time::Duration) {
    if time.is_zero() {
        return;
    }
    const FOREVER: std::time::Duration = std::time::Duration::from_secs(86_400);
    let deadline = arrived
        .checked_add(time)
        .unwrap_or_else(|| tokio::time::Instant::now() + FOREVER);
    tokio::time::sleep_until(deadline).await;
}

/// The router's answer, or the fault the schedule has for this (bulk) request.
async fn answer_with_faults(
    router: Router,
    shared: &Shared,
    request: Request<Incoming>,
    is_bulk: bool,
) -> Result<Response, DropConnection> {
    let fault = if is_bulk { shared.faults.next() } else { None };
    if fault.is_some() {
        shared.store().counters.faults_injected += 1;
    }
    match fault {
        Some(Fault::CloseBeforeReading) => return Err(DropConnection),
        Some(Fault::TooManyRequests { retry_after_secs }) => {
            return Ok(refusal(
                StatusCode::TOO_MANY_REQUESTS,
                Some(retry_after_secs),
            ));
        }
        Some(Fault::Unavailable { retry_after_secs }) => {
            return Ok(refusal(
                StatusCode::SERVICE_UNAVAILABLE,
                Some(retry_after_secs),
            ));
        }
        Some(Fault::InternalError) => return Ok(refusal(StatusCode::INTERNAL_SERVER_ERROR, None)),
        Some(Fault::BadGateway) => return Ok(refusal(StatusCode::BAD_GATEWAY, None)),
        Some(Fault::Delay(delay)) => tokio::time::sleep(delay).await,
        Some(Fault::CloseAfterApplying | Fault::TruncatedBody) | None => {}
    }
    let response = match router.oneshot(request.map(Body::new)).await {
        Ok(response) => response,
        Err(never) => match never {},
    };
    match fault {
        Some(Fault::CloseAfterApplying) => Err(DropConnection),
        Some(Fault::TruncatedBody) => Ok(truncate(response).await),
        _ => Ok(response),
    }
}

/// A whole-request refusal from a fault: nothing was applied.
fn refusal(status: StatusCode, retry_after_secs: Option<u64>) -> Response {
    let error = OpError::new(
        status.as_u16(),
        "invalidValue",
        format!("injected fault: {status}"),
    );
    let mut response = error.into_response();
    if let Some(secs) = retry_after_secs {
        response
            .headers_mut()
            .insert(header::RETRY_AFTER, HeaderValue::from(secs));
    }
    response
}

/// The same response, announcing its full length but sending only half of the body.
async fn truncate(response: Response) -> Response {
    let (mut parts, body) = response.into_parts();
    let bytes = body
        .collect()
        .await
        .map(|c| c.to_bytes())
        .unwrap_or_default();
    parts.headers.insert(
        header::CONTENT_LENGTH,
        HeaderValue::from(bytes.len().max(2)),
    );
    let half = bytes.slice(..bytes.len() / 2);
    Response::from_parts(parts, Body::new(HalfBody::new(half)))
}

/// A body that yields its bytes, pauses so they reach the wire, and then fails, so hyper
/// aborts the connection mid-body.
struct HalfBody {
    data: Option<Bytes>,
    pause: Pin<Box<tokio::time::Sleep>>,
}

impl HalfBody {
    fn new(data: Bytes) -> Self {
        HalfBody {
            data: Some(data),
            pause: Box::pin(tokio::time::sleep(std::time::Duration::from_millis(20))),
        }
    }
}

impl http_body::Body for HalfBody {
    type Data = Bytes;
    type Error = DropConnection;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        context: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, DropConnection>>> {
        if let Some(bytes) = self.data.take() {
            return Poll::Ready(Some(Ok(Frame::data(bytes))));
        }
        match self.pause.as_mut().poll(context) {
            Poll::Ready(()) => Poll::Ready(Some(Err(DropConnection))),
            Poll::Pending => Poll::Pending,
        }
    }
}

impl From<Infallible> for DropConnection {
    fn from(never: Infallible) -> Self {
        match never {}
    }
}
