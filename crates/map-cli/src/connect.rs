//! Where mapctl sends, and how: the endpoint a base URL names (https, or http to loopback
//! unless `--allow-insecure`) and the transport `--transport` picks; shared by `bulk` and the
//! resource commands.

use std::sync::Arc;

use map_client::Endpoint;
use map_transport::{HyperTransport, ReqwestTransport, Transport, TransportConfig};

use crate::cli::TransportKind;
use crate::exit::Exit;

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
