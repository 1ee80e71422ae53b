//! Secret newtypes: the raw value only through an explicit accessor, never in Debug or Display.

use std::fmt;

macro_rules! secret {
    ($(#[$meta:meta])* $name:ident) => {
        $(#[$meta])*
        #[derive(Clone, PartialEq, Eq)]
        pub struct $name(String);

        impl $name {
            /// Wraps a raw value.
            pub fn new(value: impl Into<String>) -> Self {
                $name(value.into())
            }

            /// The raw value. Every use is a place a secret leaves its wrapper: keep it out of
            /// logs, errors and reports.
            pub fn expose_secret(&self) -> &str {
                &self.0
            }
        }

        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(concat!(stringify!($name), "(<redacted>)"))
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("<redacted>")
            }
        }

        impl From<String> for $name {
            fn from(value: String) -> Self {
                $name(value)
            }
        }

        impl From<&str> for $name {
            fn from(value: &str) -> Self {
                $name(value.to_owned())
            }
        }
    };
}

secret! {
    /// The OAuth access token mAP Core issued to the client. Sent as `Authorization: Bearer …`.
    AccessToken
}

secret! {
    /// The client secret. Never sent; only hashed into signatures.
    ClientSecret
}

/// What a client needs to call mAP Core: its access token and its client secret.
///
/// ```
/// use map_auth::Credentials;
///
/// let credentials = Credentials::new("tok-123", "very-secret");
/// assert_eq!(credentials.access_token.expose_secret(), "tok-123");
/// let shown = format!("{credentials:?} {}", credentials.client_secret);
/// assert!(!shown.contains("tok-123") && !shown.contains("very-secret"));
/// ```
#[derive(Clone, PartialEq, Eq)]
pub struct Credentials {
    /// The access token.
    pub access_token: AccessToken,
    /// The client secret.
    pub client_secret: ClientSecret,
}

impl Credentials {
    /// Credentials from the raw token and secret.
    pub fn new(access_token: impl Into<String>, client_secret: impl Into<String>) -> Self {
        Credentials {
            access_token: AccessToken::new(access_token),
            client_secret: ClientSecret::new(client_secret),
        }
    }
}

impl fmt::Debug for Credentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Credentials")
            .field("access_token", &self.access_token)
            .field("client_secret", &self.client_secret)
            .finish()
    }
}
