//! The mAP Core API V2 request signature, and how a request carries it.
//!
//! mAP Core authenticates a request by a Bearer access token plus a signature over the client
//! secret, the access token and the current time:
//! `hex(sha256(client_secret + access_token + time_stamp))`, where the time stamp is the Unix
//! time in whole seconds as a decimal string. It is plain SHA-256, not HMAC. This crate
//! computes and checks that signature and says where it goes; it never sends anything.
//!
//! ```
//! use map_auth::{Credentials, FixedClock, Signer, compute_signature};
//!
//! assert_eq!(
//!     compute_signature("s3cr3t", "tok", "0"),
//!     "fdf331af8ac290223f4178361694d5417d9823057d6d23042aacbefd0e960419"
//! );
//!
//! let signer = Signer::new(Credentials::new("tok", "s3cr3t")).with_clock(FixedClock::at(0));
//! let signed = signer.sign_request("POST", None, br#"{"schemas":[]}"#)?;
//! assert_eq!(signed.authorization(), "Bearer tok");
//! assert_eq!(
//!     signed.body(),
//!     br#"{"request":{"time_stamp":"0","signature":"fdf331af8ac290223f4178361694d5417d9823057d6d23042aacbefd0e960419"},"schemas":[]}"#
//! );
//! // Secrets never show in Debug output.
//! assert!(!format!("{signer:?}").contains("s3cr3t"));
//! # Ok::<(), map_auth::SignError>(())
//! ```

mod clock;
mod credentials;
mod placement;
mod signature;

pub use clock::{Clock, FixedClock, SystemClock, time_stamp};
pub use credentials::{AccessToken, ClientSecret, Credentials};
pub use placement::{REQUEST_OBJECT_ROOM, SignError, SignedRequest, Signer};
pub use signature::{
    Signature, TimeStampError, check_time_stamp, compute_signature, verify_signature,
};
