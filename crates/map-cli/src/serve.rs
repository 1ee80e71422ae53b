//! `mapctl serve`: the simulator in the foreground until SIGINT or SIGTERM.

use std::io::Write;

use std::time::Duration;

use map_sim::{FaultPlan, Load, SimConfig, Simulator};

use crate::cli::ServeArgs;
use crate::credentials::{self, ACCESS_TOKEN_VAR, CLIENT_SECRET_VAR};
use crate::exit::Exit;

#[allow(clippy::print_stdout)]
pub(crate) async fn run(args: ServeArgs) -> Exit {
    let faults = match args
        .faults
        .as_deref()
        .map(str::parse::<FaultPlan>)
        .transpose()
    {
        Ok(faults) => faults.unwrap_or_default(),
        Err(error) => return Exit::usage(format!("--faults: {error}")),
    };
    if let Some(rate) = args.rate.filter(|rate| !(rate.is_finite() && *rate > 0.0)) {
        return Exit::usage(format!(
            "--rate: {rate} is not a positive number of requests per second"
        ));
    }
    let load = Load {
        latency: Duration::from_millis(args.latency),
        per_operation: Duration::from_micros(args.per_operation_us),
        capacity: args
            .capacity
            .map(|n| usize::try_from(n).unwrap_or(usize::MAX)),
        rate: args.rate,
    };
    let from_env = match credentials::optional_from_env() {
        Ok(credentials) => credentials,
        Err(error) => return Exit::usage(error),
    };
    let mut config = SimConfig::default()
        .with_port(args.port)
        .with_max_operations(args.max_operations)
        .with_max_payload_bytes(args.max_payload_bytes)
        .with_null_mode(args.null)
        .with_faults(faults)
        .with_load(load.clone());
    if let Some(credentials) = &from_env {
        config = config.with_credentials(credentials.clone());
    }
    if let Some(eppn) = &args.self_user {
        let name = eppn.split('@').next().unwrap_or(eppn);
        config = config.with_self_user(serde_json::json!({
            "userName": name,
            "eduPersonPrincipalNames": [{"value": eppn}],
        }));
    }
    let simulator = match Simulator::start(config).await {
        Ok(simulator) => simulator,
        Err(error) => {
            return Exit::failure(format!("cannot listen on 127.0.0.1:{}: {error}", args.port));
        }
    };
    let mut out = std::io::stdout().lock();
    let _ = writeln!(out, "{}", simulator.base_url());
    if from_env.is_some() {
        let _ = writeln!(
            out,
            "credentials: the ones in {ACCESS_TOKEN_VAR} and {CLIENT_SECRET_VAR}"
        );
    } else {
        let credentials = simulator.credentials();
        // Fixed demo credentials, not secrets: printed so that clients can use them.
        let _ = writeln!(
            out,
            "{ACCESS_TOKEN_VAR}={}",
            credentials.access_token.expose_secret()
        );
        let _ = writeln!(
            out,
            "{CLIENT_SECRET_VAR}={}",
            credentials.client_secret.expose_secret()
        );
    }
    let mode = if args.null {
        "null mode: nothing is stored"
    } else {
        "in-memory store"
    };
    if load != Load::default() {
        let _ = writeln!(
            out,
            "load: {} ms per answer, {} µs per operation, capacity {}, rate {}",
            args.latency,
            args.per_operation_us,
            args.capacity
                .map_or("unlimited".to_owned(), |n| n.to_string()),
            args.rate
                .map_or("unlimited".to_owned(), |r| format!("{r}/s"))
        );
    }
    let _ = writeln!(out, "serving ({mode}); stop with Ctrl-C or SIGTERM");
    let _ = out.flush();
    drop(out);
    wait_for_signal().await;
    simulator.shutdown().await;
    Exit::Success
}

async fn wait_for_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        if let Ok(mut terminate) = signal(SignalKind::terminate()) {
            tokio::select! {
                _ = tokio::signal::ctrl_c() => {}
                _ = terminate.recv() => {}
            }
            return;
        }
    }
    let _ = tokio::signal::ctrl_c().await;
}
