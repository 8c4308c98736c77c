//! The access token as a type that cannot leak by accident.
//!
//! A system-user token grants sending in the business's name, so it must
//! never reach a log, an error message, a journal or the screen (design
//! invariant 6). [`ApiToken`] prints as `ApiToken(***)` in both `Debug` and
//! `Display`; the only way to the secret is [`ApiToken::expose`], which the
//! client uses once to build a header marked sensitive.

use std::fmt;
use std::path::PathBuf;

use crate::config::ApiConfig;

/// Why the token could not be loaded. Never contains the token itself.
#[derive(Debug, thiserror::Error)]
pub enum TokenError {
    /// The environment variable is unset or not UTF-8.
    #[error("the access token is missing: set the environment variable {var} (or api.token_file)")]
    MissingEnv {
        /// The variable named by `api.token_env`.
        var: String,
    },
    /// The token file could not be read.
    #[error("cannot read the token file {path}: {source}")]
    File {
        /// The file named by `api.token_file`.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// The variable or file holds only whitespace.
    #[error("the access token from {origin} is empty")]
    Empty {
        /// Where it was read from.
        origin: String,
    },
    /// The token contains characters an HTTP header cannot carry.
    #[error("the access token from {origin} contains characters not allowed in an HTTP header")]
    NotHeaderSafe {
        /// Where it was read from.
        origin: String,
    },
}

/// A Cloud API access token; prints as `ApiToken(***)`.
#[derive(Clone, PartialEq, Eq)]
pub struct ApiToken(String);

impl ApiToken {
    /// Wraps a token, rejecting empty ones and header-unsafe characters.
    pub fn new(token: impl Into<String>) -> Result<Self, TokenError> {
        Self::checked(token.into().trim().to_string(), "the caller")
    }

    fn checked(token: String, origin: &str) -> Result<Self, TokenError> {
        if token.is_empty() {
            return Err(TokenError::Empty {
                origin: origin.into(),
            });
        }
        if !token.bytes().all(|b| (0x21..0x7f).contains(&b)) {
            return Err(TokenError::NotHeaderSafe {
                origin: origin.into(),
            });
        }
        Ok(Self(token))
    }

    /// Loads the token from `api.token_file` when set, else from the
    /// environment variable named by `api.token_env`.
    pub fn from_config(api: &ApiConfig) -> Result<Self, TokenError> {
        match &api.token_file {
            Some(path) => Self::from_file(path),
            None => {
                let value = std::env::var(&api.token_env).map_err(|_| TokenError::MissingEnv {
                    var: api.token_env.clone(),
                })?;
                Self::checked(value.trim().to_string(), &format!("${}", api.token_env))
            }
        }
    }

    /// Reads the token from a file (trimmed; warns if others may read it).
    pub fn from_file(path: &std::path::Path) -> Result<Self, TokenError> {
        let text = std::fs::read_to_string(path).map_err(|source| TokenError::File {
            path: path.to_path_buf(),
            source,
        })?;
        warn_if_shared(path);
        Self::checked(text.trim().to_string(), &path.display().to_string())
    }

    /// The secret itself: only for building the auth header or comparing.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

#[cfg(unix)]
fn warn_if_shared(path: &std::path::Path) {
    use std::os::unix::fs::PermissionsExt;
    if let Ok(meta) = std::fs::metadata(path) {
        if meta.permissions().mode() & 0o077 != 0 {
            tracing::warn!(
                file = %path.display(),
                "token file is readable by group or others; chmod 600 it"
            );
        }
    }
}

#[cfg(not(unix))]
fn warn_if_shared(_path: &std::path::Path) {}

impl fmt::Debug for ApiToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ApiToken(***)")
    }
}

impl fmt::Display for ApiToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ApiToken(***)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn never_prints_the_secret() {
        let t = ApiToken::new("EAAG-secret-123").expect("valid");
        assert_eq!(format!("{t:?}"), "ApiToken(***)");
        assert_eq!(t.to_string(), "ApiToken(***)");
        assert_eq!(format!("{:?}", Some(&t)), "Some(ApiToken(***))");
        assert_eq!(t.expose(), "EAAG-secret-123");
    }

    #[test]
    fn rejects_empty_and_unsafe_tokens_without_echoing_them() {
        assert!(matches!(ApiToken::new("  "), Err(TokenError::Empty { .. })));
        let e = ApiToken::new("abc\ndef").expect_err("newline");
        assert!(!e.to_string().contains("abc"), "{e}");
    }

    #[test]
    fn loads_from_file_or_names_the_variable() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("token");
        std::fs::write(&path, "EAAG-from-file\n").expect("write");
        let api = ApiConfig {
            token_file: Some(path),
            ..ApiConfig::default()
        };
        assert_eq!(
            ApiToken::from_config(&api).expect("file").expose(),
            "EAAG-from-file"
        );
        let api = ApiConfig {
            token_env: "BOTE_TEST_TOKEN_THAT_IS_NOT_SET".into(),
            ..ApiConfig::default()
        };
        let e = ApiToken::from_config(&api).expect_err("unset");
        assert!(
            e.to_string().contains("BOTE_TEST_TOKEN_THAT_IS_NOT_SET"),
            "{e}"
        );
    }
}
