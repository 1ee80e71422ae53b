//! The TLS client configuration both backends share: rustls with the ring provider, verifying
//! against the Mozilla roots plus the system's trust store.
//!
//! The roots are gathered on the first certificate to verify, not when a client is built:
//! reading and parsing the system's store takes about 9 ms (twice the work on Debian, which
//! keeps both a bundle and a directory), which a job against a plain-HTTP local server never
//! needs. Verification itself is rustls' own `WebPkiServerVerifier`; this only defers
//! building it.

use std::sync::{Arc, OnceLock};

use rustls::client::WebPkiServerVerifier;
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::{CryptoProvider, verify_tls12_signature, verify_tls13_signature};
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{ClientConfig, DigitallySignedStruct, RootCertStore, SignatureScheme};

/// A verifying rustls configuration, without ALPN (each backend sets its own).
pub(crate) fn client_config() -> Result<ClientConfig, rustls::Error> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let verifier = Arc::new(VerifyWithRoots {
        provider: provider.clone(),
        verifier: OnceLock::new(),
    });
    Ok(ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()?
        // "Dangerous" only in name: the verifier is rustls' WebPkiServerVerifier, built late.
        .dangerous()
        .with_custom_certificate_verifier(verifier)
        .with_no_client_auth())
}

/// The Mozilla roots and the system's.
fn roots() -> RootCertStore {
    let mut roots = RootCertStore::empty();
    roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
    // Institutions may trust a private CA through the system store; unreadable entries are
    // skipped rather than failing the client.
    let native = rustls_native_certs::load_native_certs();
    for cert in native.certs {
        let _ = roots.add(cert);
    }
    roots
}

/// rustls' WebPki verifier over [`roots`], built on first use. Handshake signatures are
/// checked with the provider's algorithms, as WebPkiServerVerifier checks them; they need no
/// roots.
#[derive(Debug)]
struct VerifyWithRoots {
    provider: Arc<CryptoProvider>,
    verifier: OnceLock<Result<Arc<WebPkiServerVerifier>, String>>,
}

impl VerifyWithRoots {
    fn verifier(&self) -> Result<&Arc<WebPkiServerVerifier>, rustls::Error> {
        self.verifier
            .get_or_init(|| {
                WebPkiServerVerifier::builder_with_provider(
                    Arc::new(roots()),
                    self.provider.clone(),
                )
                .build()
                .map_err(|e| format!("no certificate authorities to verify against: {e}"))
            })
            .as_ref()
            .map_err(|message| rustls::Error::General(message.clone()))
    }
}

impl ServerCertVerifier for VerifyWithRoots {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp_response: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        self.verifier()?.verify_server_cert(
            end_entity,
            intermediates,
            server_name,
            ocsp_response,
            now,
        )
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        verify_tls12_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        verify_tls13_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.provider
            .signature_verification_algorithms
            .supported_schemes()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn building_a_client_config_reads_no_roots_and_verifying_builds_them_once() {
        let config = client_config().unwrap();
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let lazy = VerifyWithRoots {
            provider: provider.clone(),
            verifier: OnceLock::new(),
        };
        assert!(lazy.verifier.get().is_none());
        // A certificate that is not DER at all is refused by the WebPki verifier.
        let refused = lazy.verify_server_cert(
            &CertificateDer::from(vec![1, 2, 3]),
            &[],
            &ServerName::try_from("map.example").unwrap(),
            &[],
            UnixTime::now(),
        );
        assert!(refused.is_err());
        assert!(matches!(lazy.verifier.get(), Some(Ok(_))));
        assert_eq!(
            lazy.supported_verify_schemes(),
            WebPkiServerVerifier::builder_with_provider(Arc::new(roots()), provider)
                .build()
                .unwrap()
                .supported_verify_schemes()
        );
        assert!(config.alpn_protocols.is_empty());
    }
}
