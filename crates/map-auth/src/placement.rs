//! How a request carries its credentials: a Bearer header always; a `request` object merged into
//! a JSON body (POST, PUT, PATCH) or `time_stamp` and `signature` query parameters (GET, DELETE).

use std::fmt;
use std::sync::Arc;

use crate::clock::{Clock, SystemClock, time_stamp};
use crate::credentials::Credentials;
use crate::signature::{Signature, compute_signature};

/// Signs requests with one set of credentials. Every call makes a fresh time stamp and
/// signature, so a retried request is signed afresh.
///
/// ```
/// use map_auth::{Credentials, FixedClock, Signer};
///
/// let signer = Signer::new(Credentials::new("tok", "s3cr3t")).with_clock(FixedClock::at(0));
/// let signed = signer.sign_request("DELETE", Some("x=1"), b"")?;
/// assert_eq!(
///     signed.query(),
///     Some("x=1&time_stamp=0&signature=fdf331af8ac290223f4178361694d5417d9823057d6d23042aacbefd0e960419")
/// );
/// # Ok::<(), map_auth::SignError>(())
/// ```
#[derive(Clone)]
pub struct Signer {
    credentials: Credentials,
    clock: Arc<dyn Clock>,
}

impl Signer {
    /// A signer reading time from the system clock.
    pub fn new(credentials: Credentials) -> Self {
        Signer {
            credentials,
            clock: Arc::new(SystemClock),
        }
    }

    /// The same signer reading time from `clock`.
    pub fn with_clock(mut self, clock: impl Clock + 'static) -> Self {
        self.clock = Arc::new(clock);
        self
    }

    /// The same signer reading time from a clock shared with others.
    pub fn with_shared_clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = clock;
        self
    }

    /// The credentials this signer uses.
    pub fn credentials(&self) -> &Credentials {
        &self.credentials
    }

    /// A fresh time stamp and its signature.
    pub fn sign(&self) -> Signature {
        let time_stamp = time_stamp(self.clock.as_ref());
        let signature = compute_signature(
            self.credentials.client_secret.expose_secret(),
            self.credentials.access_token.expose_secret(),
            &time_stamp,
        );
        Signature {
            time_stamp,
            signature,
        }
    }

    /// Signs one attempt of a request with `method`, the URL's `query` (without `?`) and
    /// `body`:
    ///
    /// - POST, PUT, PATCH: `body` must be a JSON object; `"request": {"time_stamp": …,
    ///   "signature": …}` becomes its first attribute. The query is left as it is.
    /// - GET, DELETE: `time_stamp` and `signature` are appended to the query; the body is left
    ///   as it is.
    ///
    /// The body must not already have a `request` attribute.
    pub fn sign_request(
        &self,
        method: &str,
        query: Option<&str>,
        body: &[u8],
    ) -> Result<SignedRequest, SignError> {
        let placement = match method {
            "POST" | "PUT" | "PATCH" => Placement::Body,
            "GET" | "DELETE" => Placement::Query,
            other => {
                return Err(SignError::UnsupportedMethod(
                    other.chars().take(16).collect(),
                ));
            }
        };
        let signature = self.sign();
        let (query, body) = match placement {
            Placement::Body => (
                query.map(str::to_owned),
                merge_request_object(body, &signature)?,
            ),
            Placement::Query => (Some(append_query(query, &signature)), body.to_vec()),
        };
        Ok(self.signed(query, body, 0, signature))
    }

    /// Signs a POST, PUT or PATCH like [`Signer::sign_request`], for a JSON object body
    /// written at `buffer[room..]` with the `room` bytes before it left free: the `request`
    /// object is written into them instead of copying the body. [`REQUEST_OBJECT_ROOM`] bytes
    /// are always enough; with less room the body is copied as `sign_request` does.
    ///
    /// ```
    /// use map_auth::{Credentials, FixedClock, REQUEST_OBJECT_ROOM, Signer};
    ///
    /// let signer = Signer::new(Credentials::new("tok", "s3cr3t")).with_clock(FixedClock::at(0));
    /// let mut buffer = vec![0; REQUEST_OBJECT_ROOM];
    /// buffer.extend_from_slice(br#"{"a":1}"#);
    /// let signed = signer.sign_body_in_room(None, buffer, REQUEST_OBJECT_ROOM)?;
    /// assert_eq!(signed.body(), signer.sign_request("POST", None, br#"{"a":1}"#)?.body());
    /// let (buffer, start) = signed.into_body_buffer();
    /// assert!(buffer[start..].starts_with(br#"{"request":{"time_stamp":"0","#));
    /// # Ok::<(), map_auth::SignError>(())
    /// ```
    pub fn sign_body_in_room(
        &self,
        query: Option<&str>,
        mut buffer: Vec<u8>,
        room: usize,
    ) -> Result<SignedRequest, SignError> {
        let signature = self.sign();
        let query = query.map(str::to_owned);
        let body = buffer.get(room..).unwrap_or_default();
        let (open, empty_object) = object_start(body)?;
        let prefix = request_object(&signature, empty_object);
        let open = room + open;
        // The prefix replaces the body's `{` and ends just before what followed it.
        match (open + 1).checked_sub(prefix.len()) {
            Some(start) => {
                buffer[start..=open].copy_from_slice(&prefix);
                Ok(self.signed(query, buffer, start, signature))
            }
            None => {
                let mut merged = prefix;
                merged.extend_from_slice(&buffer[open + 1..]);
                Ok(self.signed(query, merged, 0, signature))
            }
        }
    }

    fn signed(
        &self,
        query: Option<String>,
        body: Vec<u8>,
        start: usize,
        signature: Signature,
    ) -> SignedRequest {
        SignedRequest {
            authorization: format!("Bearer {}", self.credentials.access_token.expose_secret()),
            query,
            body,
            start,
            signature,
        }
    }
}

/// Bytes enough for the `request` object that [`Signer::sign_body_in_room`] writes before a
/// body: `{"request":{"time_stamp":"…","signature":"…"},` with a time stamp of up to 20 digits
/// and a 64-digit signature is at most 129.
pub const REQUEST_OBJECT_ROOM: usize = 136;

impl fmt::Debug for Signer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Signer")
            .field("credentials", &self.credentials)
            .field("clock", &self.clock)
            .finish()
    }
}

enum Placement {
    Body,
    Query,
}

/// One signed attempt: the `Authorization` header value, the query and the body to send.
#[derive(Clone)]
pub struct SignedRequest {
    authorization: String,
    query: Option<String>,
    /// The body is `body[start..]`.
    body: Vec<u8>,
    start: usize,
    signature: Signature,
}

impl SignedRequest {
    /// The `Authorization` header value, `Bearer <access_token>`. It holds the token: put it in
    /// the header and nowhere else.
    pub fn authorization(&self) -> &str {
        &self.authorization
    }

    /// The query to send (without `?`), if any.
    pub fn query(&self) -> Option<&str> {
        self.query.as_deref()
    }

    /// The body to send.
    pub fn body(&self) -> &[u8] {
        &self.body[self.start..]
    }

    /// The body to send, by value.
    pub fn into_body(mut self) -> Vec<u8> {
        self.body.drain(..self.start);
        self.body
    }

    /// The buffer holding the body to send, and where in it the body starts: the body by
    /// value without moving it (see [`Signer::sign_body_in_room`]).
    pub fn into_body_buffer(self) -> (Vec<u8>, usize) {
        (self.body, self.start)
    }

    /// The time stamp this attempt was signed with.
    pub fn time_stamp(&self) -> &str {
        &self.signature.time_stamp
    }
}

impl fmt::Debug for SignedRequest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SignedRequest")
            .field("authorization", &"Bearer <redacted>")
            .field("time_stamp", &self.signature.time_stamp)
            .field("body_len", &self.body().len())
            .finish()
    }
}

/// Why a request could not be signed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SignError {
    /// A POST, PUT or PATCH body that is not a JSON object.
    NotAJsonObject {
        /// The start of the body, for the message.
        found: String,
    },
    /// A method mAP Core does not sign (only POST, PUT, PATCH, GET, DELETE).
    UnsupportedMethod(String),
}

impl fmt::Display for SignError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SignError::NotAJsonObject { found } => write!(
                f,
                "a signed request body must be a JSON object (starting with '{{'), found {found:?}"
            ),
            SignError::UnsupportedMethod(method) => write!(
                f,
                "cannot sign method {method:?}: expected POST, PUT, PATCH, GET or DELETE"
            ),
        }
    }
}

impl std::error::Error for SignError {}

/// `{"request":{"time_stamp":"…","signature":"…"},` + the rest of `body` after its `{`.
fn merge_request_object(body: &[u8], signature: &Signature) -> Result<Vec<u8>, SignError> {
    let (open, empty_object) = object_start(body)?;
    let mut merged = request_object(signature, empty_object);
    merged.reserve(body.len());
    merged.extend_from_slice(&body[open + 1..]);
    Ok(merged)
}

/// Where the JSON object `body` opens, and whether it is empty (`{}`).
fn object_start(body: &[u8]) -> Result<(usize, bool), SignError> {
    let start = body.iter().position(|b| !b.is_ascii_whitespace());
    let Some(open) = start.filter(|&i| body[i] == b'{') else {
        return Err(SignError::NotAJsonObject {
            found: String::from_utf8_lossy(&body[..body.len().min(32)]).into_owned(),
        });
    };
    let empty_object = body[open + 1..]
        .iter()
        .find(|b| !b.is_ascii_whitespace())
        .is_some_and(|&b| b == b'}');
    Ok((open, empty_object))
}

/// `{"request":{"time_stamp":"…","signature":"…"}`, and `,` unless the object it opens is
/// empty: what replaces a body's opening `{`.
fn request_object(signature: &Signature, empty_object: bool) -> Vec<u8> {
    // Time stamps are decimal digits and signatures hex digits: nothing to escape.
    let mut prefix = Vec::with_capacity(REQUEST_OBJECT_ROOM);
    prefix.extend_from_slice(b"{\"request\":{\"time_stamp\":\"");
    prefix.extend_from_slice(signature.time_stamp.as_bytes());
    prefix.extend_from_slice(b"\",\"signature\":\"");
    prefix.extend_from_slice(signature.signature.as_bytes());
    prefix.extend_from_slice(b"\"}");
    if !empty_object {
        prefix.push(b',');
    }
    prefix
}

fn append_query(query: Option<&str>, signature: &Signature) -> String {
    let mut out = String::with_capacity(query.map_or(0, str::len) + 100);
    if let Some(query) = query.filter(|q| !q.is_empty()) {
        out.push_str(query);
        out.push('&');
    }
    out.push_str("time_stamp=");
    out.push_str(&signature.time_stamp);
    out.push_str("&signature=");
    out.push_str(&signature.signature);
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::FixedClock;

    fn signer() -> Signer {
        Signer::new(Credentials::new("tok", "s3cr3t")).with_clock(FixedClock::at(0))
    }

    const SIG: &str = "fdf331af8ac290223f4178361694d5417d9823057d6d23042aacbefd0e960419";

    #[test]
    fn json_bodies_get_the_request_object_first() {
        let signed = signer().sign_request("PUT", None, b"  {\"a\":1}").unwrap();
        assert_eq!(
            String::from_utf8(signed.into_body()).unwrap(),
            format!("{{\"request\":{{\"time_stamp\":\"0\",\"signature\":\"{SIG}\"}},\"a\":1}}")
        );
        let empty = signer().sign_request("PATCH", None, b"{ }").unwrap();
        assert_eq!(
            String::from_utf8(empty.into_body()).unwrap(),
            format!("{{\"request\":{{\"time_stamp\":\"0\",\"signature\":\"{SIG}\"}} }}")
        );
    }

    #[test]
    fn signing_in_room_writes_what_signing_by_copy_writes() {
        for time in [0, 1_700_000_000, i64::MAX] {
            let signer =
                Signer::new(Credentials::new("tok", "s3cr3t")).with_clock(FixedClock::at(time));
            for body in [&b"{\"a\":1}"[..], b" {}", b"{ }", b"\n {\"b\":[{}]}"] {
                let by_copy = signer.sign_request("POST", Some("q=1"), body).unwrap();
                // Too little room, just enough, and plenty: the body sent is the same.
                for room in [0, 1, 60, 129, REQUEST_OBJECT_ROOM, 300] {
                    let mut buffer = vec![b'#'; room];
                    buffer.extend_from_slice(body);
                    let in_room = signer.sign_body_in_room(Some("q=1"), buffer, room).unwrap();
                    assert_eq!(in_room.body(), by_copy.body(), "room {room}, time {time}");
                    assert_eq!(in_room.query(), Some("q=1"));
                    let (buffer, start) = in_room.clone().into_body_buffer();
                    assert_eq!(&buffer[start..], by_copy.body());
                    assert_eq!(in_room.into_body(), by_copy.body());
                }
            }
        }
        let signer = signer();
        assert!(matches!(
            signer.sign_body_in_room(None, b"xx[1]".to_vec(), 2),
            Err(SignError::NotAJsonObject { .. })
        ));
        assert!(matches!(
            signer.sign_body_in_room(None, b"{}".to_vec(), 5),
            Err(SignError::NotAJsonObject { .. })
        ));
    }

    #[test]
    fn bodies_that_are_not_objects_are_refused() {
        for body in [&b""[..], b"[1]", b"  ", b"null"] {
            assert!(matches!(
                signer().sign_request("POST", None, body),
                Err(SignError::NotAJsonObject { .. })
            ));
        }
        assert!(matches!(
            signer().sign_request("HEAD", None, b""),
            Err(SignError::UnsupportedMethod(_))
        ));
    }

    #[test]
    fn get_and_delete_sign_the_query() {
        let signed = signer().sign_request("GET", None, b"").unwrap();
        assert_eq!(
            signed.query(),
            Some(format!("time_stamp=0&signature={SIG}").as_str())
        );
        assert_eq!(signed.authorization(), "Bearer tok");
        assert!(signed.body().is_empty());
    }

    #[test]
    fn every_attempt_is_signed_afresh() {
        let clock = FixedClock::at(100);
        let signer = Signer::new(Credentials::new("tok", "s3cr3t")).with_clock(clock.clone());
        let first = signer.sign();
        clock.advance(1);
        let second = signer.sign();
        assert_eq!(first.time_stamp, "100");
        assert_eq!(second.time_stamp, "101");
        assert_ne!(first.signature, second.signature);
    }

    #[test]
    fn debug_output_holds_no_secret() {
        let signer =
            Signer::new(Credentials::new("tok-Zq81", "sec-Wp27")).with_clock(FixedClock::at(0));
        let signed = signer.sign_request("POST", None, b"{}").unwrap();
        let signature = compute_signature("sec-Wp27", "tok-Zq81", "0");
        let shown = format!("{signer:?} {signed:?} {:?}", signer.credentials());
        for secret in ["tok-Zq81", "sec-Wp27", signature.as_str()] {
            assert!(!shown.contains(secret), "{secret} in {shown}");
        }
    }
}
