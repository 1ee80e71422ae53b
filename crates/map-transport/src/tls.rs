//! The TLS client configuration both backends share: rustls with the ring provider, verifying
//! against the Mozilla roots plus the system's trust store.

use std::sync::Arc;

use rustls::{ClientConfig, RootCertStore};

/// A verifying rustls configuration, without ALPN (each backend sets its own).
pub(crate) fn client_config() -> Result<ClientConfig, rustls::Error> {
    let mut roots = RootCertStore::empty();
    roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
    // Institutions may trust a private CA through the system store; unreadable entries are
    // skipped rather than failing the client.
    let native = rustls_native_certs::load_native_certs();
    for cert in native.certs {
        let _ = roots.add(cert);
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    Ok(ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()?
        .with_root_certificates(roots)
        .with_no_client_auth())
}
