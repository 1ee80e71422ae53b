//! Checking a request's credentials: the Bearer token, then the signature and its time stamp.

use http::HeaderMap;
use http::header::AUTHORIZATION;
use map_auth::{Clock, Credentials, check_time_stamp, verify_signature};

use crate::error::OpError;

/// The `Authorization: Bearer <token>` header must carry the accepted token.
pub(crate) fn check_bearer(headers: &HeaderMap, credentials: &Credentials) -> Result<(), OpError> {
    let token = headers
        .get(AUTHORIZATION)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.strip_prefix("Bearer "))
        .ok_or_else(|| {
            OpError::unauthorized("missing Authorization header (expected Bearer <access_token>)")
        })?;
    if constant_time_eq(
        token.as_bytes(),
        credentials.access_token.expose_secret().as_bytes(),
    ) {
        Ok(())
    } else {
        Err(OpError::unauthorized("invalid access token"))
    }
}

/// `time_stamp` must be within the window of the server's clock and `signature` must be
/// `hex(sha256(client_secret + access_token + time_stamp))`.
pub(crate) fn check_signature(
    credentials: &Credentials,
    clock: &dyn Clock,
    window_secs: i64,
    time_stamp: Option<&str>,
    signature: Option<&str>,
) -> Result<(), OpError> {
    let (Some(time_stamp), Some(signature)) = (time_stamp, signature) else {
        return Err(OpError::unauthorized(
            "time_stamp and signature are required (in the request object of a body, or in the query)",
        ));
    };
    check_time_stamp(time_stamp, clock.unix_seconds(), window_secs)
        .map_err(|e| OpError::unauthorized(e.to_string()))?;
    if verify_signature(
        credentials.client_secret.expose_secret(),
        credentials.access_token.expose_secret(),
        time_stamp,
        signature,
    ) {
        Ok(())
    } else {
        Err(OpError::unauthorized("signature does not match"))
    }
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

#[cfg(test)]
mod tests {
    use super::*;
    use map_auth::{FixedClock, compute_signature};

    #[test]
    fn bearer_and_signature() {
        let credentials = Credentials::new("tok", "sec");
        let mut headers = HeaderMap::new();
        assert!(check_bearer(&headers, &credentials).is_err());
        headers.insert(AUTHORIZATION, "Bearer tok".parse().unwrap());
        assert!(check_bearer(&headers, &credentials).is_ok());
        headers.insert(AUTHORIZATION, "Bearer tox".parse().unwrap());
        let error = check_bearer(&headers, &credentials).unwrap_err();
        assert!(
            !error.detail.contains("tox"),
            "the error does not echo tokens"
        );

        let clock = FixedClock::at(1000);
        let good = compute_signature("sec", "tok", "1000");
        let check = |ts, sig| check_signature(&credentials, &clock, 300, ts, sig);
        assert!(check(Some("1000"), Some(&good)).is_ok());
        assert!(check(Some("1001"), Some(&good)).is_err());
        assert!(check(Some("1000"), None).is_err());
        let stale = compute_signature("sec", "tok", "600");
        assert!(
            check(Some("600"), Some(&stale))
                .unwrap_err()
                .detail
                .contains("300s")
        );
    }
}
