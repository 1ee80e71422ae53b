//! Where mapctl finds mAP Core and the credentials for it: `MAP_BASE_URL` (or `--base-url`),
//! and each secret either in its variable or in a file its `_FILE` variable names (the
//! container-secrets convention), so that it need not sit in the environment.

use map_auth::Credentials;

/// The access token's variable.
pub(crate) const ACCESS_TOKEN_VAR: &str = "MAP_ACCESS_TOKEN";
/// The client secret's variable.
pub(crate) const CLIENT_SECRET_VAR: &str = "MAP_CLIENT_SECRET";

/// The credentials from the process environment; the error says which variable is missing
/// or wrong, and never holds a secret.
pub(crate) fn from_env() -> Result<Credentials, String> {
    from(&|name| std::env::var(name).ok())
}

/// The credentials from the process environment, if both are set.
pub(crate) fn optional_from_env() -> Result<Option<Credentials>, String> {
    optional(&|name| std::env::var(name).ok())
}

fn from(lookup: &dyn Fn(&str) -> Option<String>) -> Result<Credentials, String> {
    let token = secret(lookup, ACCESS_TOKEN_VAR)?;
    let secret = secret(lookup, CLIENT_SECRET_VAR)?;
    let missing = |name: &str| format!("{name} is not set (nor {name}_FILE)");
    match (token, secret) {
        (Some(token), Some(secret)) => Ok(Credentials::new(token, secret)),
        (None, None) => Err(format!(
            "--base-url needs credentials: set {ACCESS_TOKEN_VAR} and {CLIENT_SECRET_VAR} (or {ACCESS_TOKEN_VAR}_FILE and {CLIENT_SECRET_VAR}_FILE, naming files that hold them)"
        )),
        (None, Some(_)) => Err(format!(
            "--base-url needs credentials: {}",
            missing(ACCESS_TOKEN_VAR)
        )),
        (Some(_), None) => Err(format!(
            "--base-url needs credentials: {}",
            missing(CLIENT_SECRET_VAR)
        )),
    }
}

fn optional(lookup: &dyn Fn(&str) -> Option<String>) -> Result<Option<Credentials>, String> {
    let token = secret(lookup, ACCESS_TOKEN_VAR)?;
    let secret = secret(lookup, CLIENT_SECRET_VAR)?;
    Ok(token
        .zip(secret)
        .map(|(token, secret)| Credentials::new(token, secret)))
}

/// The secret `name` holds, or the content of the file `name_FILE` names, less one trailing
/// newline; `None` when neither is set (or set empty). Both set is an error naming both.
fn secret(lookup: &dyn Fn(&str) -> Option<String>, name: &str) -> Result<Option<String>, String> {
    let file_var = format!("{name}_FILE");
    let value = lookup(name);
    let path = lookup(&file_var).filter(|v| !v.is_empty());
    if value.as_deref() == Some("") && path.is_none() {
        return Err(format!("{name} is set but empty"));
    }
    let value = value.filter(|v| !v.is_empty());
    match (value, path) {
        (Some(_), Some(_)) => Err(format!(
            "both {name} and {file_var} are set: set one of them"
        )),
        (Some(value), None) => Ok(Some(value)),
        (None, Some(path)) => {
            let text = std::fs::read_to_string(&path)
                .map_err(|e| format!("{file_var}: cannot read {path}: {e}"))?;
            let text = match text.strip_suffix('\n') {
                Some(line) => line.strip_suffix('\r').unwrap_or(line),
                None => &text,
            };
            if text.is_empty() {
                return Err(format!("{file_var}: {path} is empty"));
            }
            Ok(Some(text.to_owned()))
        }
        (None, None) => Ok(None),
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use std::collections::HashMap;

    use super::*;

    fn lookup(vars: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
        let vars: HashMap<String, String> = vars
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        move |name| vars.get(name).cloned()
    }

    fn file(name: &str, content: &str) -> String {
        let path =
            std::env::temp_dir().join(format!("mapctl-credentials-{}-{name}", std::process::id()));
        std::fs::write(&path, content).unwrap();
        path.display().to_string()
    }

    #[test]
    fn a_secret_comes_from_its_variable_or_from_the_file_its_file_variable_names() {
        let token = file("token", "tok-from-file\n");
        let secret = file("secret", "s3cr3t\r\n");
        let credentials = from(&lookup(&[
            ("MAP_ACCESS_TOKEN_FILE", &token),
            ("MAP_CLIENT_SECRET_FILE", &secret),
        ]))
        .unwrap();
        assert_eq!(credentials.access_token.expose_secret(), "tok-from-file");
        assert_eq!(credentials.client_secret.expose_secret(), "s3cr3t");

        let kept = file("kept", "two newlines\n\n");
        let credentials = from(&lookup(&[
            ("MAP_ACCESS_TOKEN_FILE", &kept),
            ("MAP_CLIENT_SECRET", "plain"),
        ]))
        .unwrap();
        assert_eq!(
            credentials.access_token.expose_secret(),
            "two newlines\n",
            "only one is dropped"
        );
        assert_eq!(credentials.client_secret.expose_secret(), "plain");
    }

    #[test]
    fn both_a_variable_and_its_file_is_an_error_naming_both_and_no_secret() {
        let token = file("both", "tok\n");
        let error = from(&lookup(&[
            ("MAP_ACCESS_TOKEN", "the-token-itself"),
            ("MAP_ACCESS_TOKEN_FILE", &token),
            ("MAP_CLIENT_SECRET", "s"),
        ]))
        .unwrap_err();
        assert!(
            error.contains("MAP_ACCESS_TOKEN and MAP_ACCESS_TOKEN_FILE"),
            "{error}"
        );
        assert!(
            !error.contains("the-token-itself") && !error.contains("tok"),
            "{error}"
        );
    }

    #[test]
    fn a_missing_empty_or_unreadable_file_says_which() {
        let missing = std::env::temp_dir().join("mapctl-credentials-no-such-file");
        let missing = missing.display().to_string();
        let error = from(&lookup(&[
            ("MAP_ACCESS_TOKEN_FILE", &missing),
            ("MAP_CLIENT_SECRET", "s"),
        ]))
        .unwrap_err();
        assert!(
            error.starts_with("MAP_ACCESS_TOKEN_FILE: cannot read"),
            "{error}"
        );
        let empty = file("empty", "\n");
        let error = from(&lookup(&[
            ("MAP_ACCESS_TOKEN", "t"),
            ("MAP_CLIENT_SECRET_FILE", &empty),
        ]))
        .unwrap_err();
        assert!(
            error.starts_with("MAP_CLIENT_SECRET_FILE:") && error.ends_with("is empty"),
            "{error}"
        );
        let error = from(&lookup(&[("MAP_ACCESS_TOKEN", "t")])).unwrap_err();
        assert!(
            error.contains("MAP_CLIENT_SECRET is not set (nor MAP_CLIENT_SECRET_FILE)"),
            "{error}"
        );
        assert_eq!(
            optional(&lookup(&[("MAP_ACCESS_TOKEN", "t")]))
                .unwrap()
                .map(|_| ()),
            None
        );
    }
}
