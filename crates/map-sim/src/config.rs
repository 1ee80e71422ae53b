//! [`SimConfig`]: what the simulator accepts, its limits and its faults.

use std::sync::Arc;

use map_auth::{Clock, Credentials, SystemClock};

use crate::fault::FaultPlan;
use crate::load::Load;

/// The access token the simulator accepts unless told otherwise.
pub const DEMO_ACCESS_TOKEN: &str = "map-sim-demo-token";
/// The client secret the simulator accepts unless told otherwise.
pub const DEMO_CLIENT_SECRET: &str = "map-sim-demo-secret";

/// How a [`crate::Simulator`] behaves. Start from [`Default`] and change what you need.
///
/// ```
/// use map_sim::{FaultPlan, SimConfig};
///
/// let config = SimConfig::default()
///     .with_max_operations(100)
///     .with_faults("503:1@2,close-after@4".parse::<FaultPlan>()?);
/// assert_eq!(config.max_operations, 100);
/// # Ok::<(), map_sim::FaultSpecError>(())
/// ```
#[derive(Debug, Clone)]
pub struct SimConfig {
    /// The one access token and client secret the server accepts. Default: the demo
    /// credentials [`DEMO_ACCESS_TOKEN`] and [`DEMO_CLIENT_SECRET`].
    pub credentials: Credentials,
    /// The most operations one bulk request may carry (`maxOperations`). Default 1000.
    pub max_operations: usize,
    /// The largest bulk request body in bytes (`maxPayloadSize`). Default 1 MiB.
    pub max_payload_bytes: usize,
    /// How far a request's time stamp may be from the server's clock, in seconds. Default 300.
    pub time_window_secs: i64,
    /// Null mode, for benchmarks: check auth and shape, store nothing, answer every operation
    /// with success. Default off.
    pub null_mode: bool,
    /// Faults to inject into bulk requests. Default none.
    pub faults: FaultPlan,
    /// The loopback port to listen on; 0 picks a free one. Default 0.
    pub port: u16,
    /// The server's clock (time-stamp checks and `meta` times). Default the system clock.
    pub clock: Arc<dyn Clock>,
    /// The user the token belongs to: stored when the server starts, answered by
    /// `GET /api/v2/Self`, and named in `meta.createdBy` of the users it creates. Default
    /// none (`/Self` then answers 400 `'Self' Not Found`).
    pub self_user: Option<serde_json::Value>,
    /// How busy it behaves: latency, time per operation, capacity, rate. Default: none of it.
    pub load: Load,
}

impl Default for SimConfig {
    fn default() -> Self {
        SimConfig {
            credentials: Credentials::new(DEMO_ACCESS_TOKEN, DEMO_CLIENT_SECRET),
            max_operations: 1000,
            max_payload_bytes: 1024 * 1024,
            time_window_secs: 300,
            null_mode: false,
            faults: FaultPlan::default(),
            port: 0,
            clock: Arc::new(SystemClock),
            self_user: None,
            load: Load::default(),
        }
    }
}

impl SimConfig {
    /// Sets [`SimConfig::credentials`].
    pub fn with_credentials(mut self, credentials: Credentials) -> Self {
        self.credentials = credentials;
        self
    }

    /// Sets [`SimConfig::max_operations`].
    pub fn with_max_operations(mut self, max_operations: usize) -> Self {
        self.max_operations = max_operations;
        self
    }

    /// Sets [`SimConfig::max_payload_bytes`].
    pub fn with_max_payload_bytes(mut self, max_payload_bytes: usize) -> Self {
        self.max_payload_bytes = max_payload_bytes;
        self
    }

    /// Sets [`SimConfig::null_mode`].
    pub fn with_null_mode(mut self, null_mode: bool) -> Self {
        self.null_mode = null_mode;
        self
    }

    /// Sets [`SimConfig::faults`].
    pub fn with_faults(mut self, faults: FaultPlan) -> Self {
        self.faults = faults;
        self
    }

    /// Sets [`SimConfig::port`].
    pub fn with_port(mut self, port: u16) -> Self {
        self.port = port;
        self
    }

    /// Sets [`SimConfig::self_user`]: a User document, e.g.
    /// `{"userName": "Repository Admin", "eduPersonPrincipalNames": [{"value": "admin@example.ac.jp"}]}`.
    pub fn with_self_user(mut self, user: serde_json::Value) -> Self {
        self.self_user = Some(user);
        self
    }

    /// Sets [`SimConfig::load`].
    pub fn with_load(mut self, load: Load) -> Self {
        self.load = load;
        self
    }

    /// Sets [`SimConfig::clock`].
    pub fn with_clock(mut self, clock: impl Clock + 'static) -> Self {
        self.clock = Arc::new(clock);
        self
    }
}
