//! [`Endpoint`]: where mAP Core's API is, and the https rule.

use std::net::IpAddr;

use url::{Host, Url};

/// The base URL of a mAP Core deployment, and the URLs under it.
///
/// The base URL may carry a path prefix; slashes between it and `api/v2/…` do not matter.
/// Only https is accepted, except to loopback (`localhost`, `127.0.0.0/8`, `::1`), unless
/// [`Endpoint::allowing_insecure`] is used.
///
/// ```
/// use map_client::Endpoint;
///
/// let endpoint = Endpoint::new("https://map.example.ac.jp/prefix/")?;
/// assert_eq!(endpoint.bulk_url().as_str(), "https://map.example.ac.jp/prefix/api/v2/Bulk");
/// assert!(Endpoint::new("http://map.example.ac.jp").is_err());
/// assert!(Endpoint::new("http://127.0.0.1:8080").is_ok());
/// # Ok::<(), map_client::EndpointError>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Endpoint {
    base: Url,
    bulk: Url,
}

/// A base URL that cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EndpointError {
    /// Not a URL at all.
    #[error("base URL {url:?} is not a URL: {reason}")]
    NotAUrl {
        /// The text given.
        url: String,
        /// Why it did not parse.
        reason: String,
    },
    /// Not http or https.
    #[error("base URL {url:?} must use https")]
    UnsupportedScheme {
        /// The text given.
        url: String,
    },
    /// Plain http to a host that is not loopback.
    #[error(
        "base URL {url:?} uses plain http to a host that is not loopback; use https (or allow insecure http explicitly)"
    )]
    InsecureHttp {
        /// The text given.
        url: String,
    },
    /// A query or fragment, which would be lost.
    #[error("base URL {url:?} must not have a query or fragment")]
    HasQuery {
        /// The text given.
        url: String,
    },
}

impl Endpoint {
    /// The deployment at `base_url`: https, or http to loopback.
    pub fn new(base_url: &str) -> Result<Self, EndpointError> {
        Self::parse(base_url, false)
    }

    /// The deployment at `base_url`, accepting plain http to any host.
    pub fn allowing_insecure(base_url: &str) -> Result<Self, EndpointError> {
        Self::parse(base_url, true)
    }

    fn parse(base_url: &str, allow_insecure: bool) -> Result<Self, EndpointError> {
        let url = || base_url.to_owned();
        let mut base = Url::parse(base_url.trim()).map_err(|e| EndpointError::NotAUrl {
            url: url(),
            reason: e.to_string(),
        })?;
        match base.scheme() {
            "https" => {}
            "http" if allow_insecure || is_loopback(&base) => {}
            "http" => return Err(EndpointError::InsecureHttp { url: url() }),
            _ => return Err(EndpointError::UnsupportedScheme { url: url() }),
        }
        if base.query().is_some() || base.fragment().is_some() {
            return Err(EndpointError::HasQuery { url: url() });
        }
        if base.host().is_none() {
            return Err(EndpointError::NotAUrl {
                url: url(),
                reason: "no host".to_owned(),
            });
        }
        let prefix = base.path().trim_end_matches('/').to_owned();
        base.set_path(&format!("{prefix}/"));
        let bulk = base
            .join("api/v2/Bulk")
            .map_err(|e| EndpointError::NotAUrl {
                url: url(),
                reason: e.to_string(),
            })?;
        Ok(Endpoint { base, bulk })
    }

    /// `{base}/api/v2/Bulk`.
    pub fn bulk_url(&self) -> &Url {
        &self.bulk
    }

    /// `{base}/api/v2/{path}` for a relative `path` such as `Users`, `Groups/g1` or
    /// `Users?filter=…` (its query is kept).
    ///
    /// ```
    /// use map_client::Endpoint;
    ///
    /// let endpoint = Endpoint::new("https://map.example.ac.jp/prefix")?;
    /// assert_eq!(
    ///     endpoint.api_url("Groups/g1")?.as_str(),
    ///     "https://map.example.ac.jp/prefix/api/v2/Groups/g1"
    /// );
    /// # Ok::<(), map_client::EndpointError>(())
    /// ```
    pub fn api_url(&self, path: &str) -> Result<Url, EndpointError> {
        self.base
            .join(&format!("api/v2/{}", path.trim_start_matches('/')))
            .map_err(|e| EndpointError::NotAUrl {
                url: path.to_owned(),
                reason: e.to_string(),
            })
    }

    /// The base URL, ending in `/`.
    pub fn base_url(&self) -> &Url {
        &self.base
    }
}

fn is_loopback(url: &Url) -> bool {
    match url.host() {
        Some(Host::Domain(domain)) => domain.eq_ignore_ascii_case("localhost"),
        Some(Host::Ipv4(ip)) => IpAddr::V4(ip).is_loopback(),
        Some(Host::Ipv6(ip)) => IpAddr::V6(ip).is_loopback(),
        None => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slashes_do_not_matter() {
        for base in [
            "https://map.example/p",
            "https://map.example/p/",
            "https://map.example/p//",
        ] {
            assert_eq!(
                Endpoint::new(base).unwrap().bulk_url().as_str(),
                "https://map.example/p/api/v2/Bulk",
                "{base}"
            );
        }
        assert_eq!(
            Endpoint::new("https://map.example")
                .unwrap()
                .bulk_url()
                .as_str(),
            "https://map.example/api/v2/Bulk"
        );
    }

    #[test]
    fn http_only_to_loopback_unless_allowed() {
        assert!(Endpoint::new("http://localhost:8080").is_ok());
        assert!(Endpoint::new("http://[::1]:8080").is_ok());
        assert!(Endpoint::new("http://127.0.0.2").is_ok());
        assert!(matches!(
            Endpoint::new("http://10.0.0.1"),
            Err(EndpointError::InsecureHttp { .. })
        ));
        assert!(Endpoint::allowing_insecure("http://10.0.0.1").is_ok());
        assert!(matches!(
            Endpoint::new("ftp://x"),
            Err(EndpointError::UnsupportedScheme { .. })
        ));
        assert!(matches!(
            Endpoint::new("map.example"),
            Err(EndpointError::NotAUrl { .. })
        ));
        assert!(matches!(
            Endpoint::new("https://x/?a=1"),
            Err(EndpointError::HasQuery { .. })
        ));
    }
}
