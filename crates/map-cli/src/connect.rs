//! Where mapctl sends, and how: the endpoint a base URL names (https, or http to loopback
//! unless `--allow-insecure`) and the transport `--transport` picks; shared by `bulk`, `sync`
//! and the resource commands. With `--simulator`, `bulk` and `sync` run against an embedded
//! simulator instead ([`target`]); without either, they refuse to run: a typo in
//! `MAP_BASE_URL`'s name must not apply a job to a simulator and report it succeeded.

use std::sync::Arc;

use std::time::Duration;

use map_auth::Credentials;
use map_bulk::{BulkClient, Engine, JobConfig, RetryPolicy};
use map_client::{Endpoint, Pipeline, ResourceClient};
use map_sim::{SimConfig, Simulator};
use map_transport::{HyperTransport, ReqwestTransport, Transport, TransportConfig};

use crate::cli::{ConnectArgs, EngineArgs, TransportKind};
use crate::credentials;
use crate::exit::Exit;

/// Where a job goes: a real deployment, with credentials from the environment, or the
/// embedded simulator (kept running while this lives).
pub(crate) struct Target {
    pub(crate) endpoint: Endpoint,
    pub(crate) credentials: Credentials,
    pub(crate) transport: Arc<dyn Transport>,
    pub(crate) timeout: Duration,
    _simulator: Option<Simulator>,
}

/// The base URL's deployment, or (with `--simulator`) an embedded simulator, said on
/// stderr; neither is a usage error.
#[allow(clippy::print_stderr)]
pub(crate) async fn target(connect: &ConnectArgs) -> Result<Target, Exit> {
    let transport = transport(connect.transport).map_err(Exit::failure)?;
    let timeout = Duration::from_secs(connect.timeout);
    if connect.base_url.is_none() && !connect.simulator {
        return Err(Exit::usage(
            "no mAP Core to send to: give --base-url URL (or set MAP_BASE_URL), or --simulator to run against an embedded simulator",
        ));
    }
    if let (Some(base_url), false) = (&connect.base_url, connect.simulator) {
        let endpoint = endpoint(base_url, connect.allow_insecure)?;
        let credentials = credentials::from_env().map_err(Exit::usage)?;
        return Ok(Target {
            endpoint,
            credentials,
            transport,
            timeout,
            _simulator: None,
        });
    }
    let simulator = Simulator::start(SimConfig::default())
        .await
        .map_err(|e| Exit::failure(format!("cannot start the embedded simulator: {e}")))?;
    eprintln!(
        "mapctl: --simulator: running against an embedded mAP Core simulator at {} (nothing reaches a real mAP Core)",
        simulator.base_url()
    );
    let endpoint = Endpoint::new(simulator.base_url()).map_err(|e| Exit::failure(e.to_string()))?;
    Ok(Target {
        endpoint,
        credentials: simulator.credentials().clone(),
        transport,
        timeout,
        _simulator: Some(simulator),
    })
}

impl Target {
    /// The engine that runs jobs here, as `engine_args` say.
    pub(crate) fn engine(
        &self,
        engine_args: &EngineArgs,
        fail_on_errors: Option<u64>,
    ) -> Result<Engine, Exit> {
        let config = JobConfig {
            limits: engine_args.limits(),
            fail_on_errors,
            error_budget: engine_args.error_budget,
            concurrency: engine_args.concurrency().map_err(Exit::usage)?,
            retry: RetryPolicy::default(),
        };
        let client = BulkClient::new(self.endpoint.clone(), self.transport.clone())
            .with_timeout(self.timeout);
        Ok(Engine::new(client, &self.credentials, config))
    }

    /// The client of the resource endpoints here.
    pub(crate) fn resources(&self) -> ResourceClient {
        let pipeline = Pipeline::new(self.endpoint.clone(), self.transport.clone())
            .with_attempt_timeout(self.timeout);
        ResourceClient::new(pipeline, &self.credentials)
    }
}

/// The endpoint at `base_url`; a URL that cannot be used is a usage error.
pub(crate) fn endpoint(base_url: &str, allow_insecure: bool) -> Result<Endpoint, Exit> {
    if allow_insecure {
        Endpoint::allowing_insecure(base_url)
    } else {
        Endpoint::new(base_url)
    }
    .map_err(|e| Exit::usage(e.to_string()))
}

/// The HTTP client `kind` names.
pub(crate) fn transport(kind: TransportKind) -> Result<Arc<dyn Transport>, String> {
    let config = TransportConfig::default();
    Ok(match kind {
        TransportKind::Reqwest => {
            Arc::new(ReqwestTransport::new(config).map_err(|e| e.to_string())?)
        }
        TransportKind::Hyper => Arc::new(HyperTransport::new(config).map_err(|e| e.to_string())?),
    })
}
