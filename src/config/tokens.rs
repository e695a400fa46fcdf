//! `[tokens]`: access-token settings beyond the `kind = "tokens"` backend.
//!
//! ```toml
//! [tokens]
//! self_service = true   # POST/GET/DELETE /tokens for users' own tokens (off by default)
//! ```

use serde::Deserialize;
use toml::Spanned;

use super::error::{ConfigError, Locator};
use super::{AuthnConfig, BackendConfig};

/// The validated `[tokens]` table.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TokensConfig {
    /// Whether users manage their own tokens through `/tokens`.
    pub self_service: bool,
}

/// `[tokens]` as written.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct FileTokens {
    /// Whether `/tokens` is served.
    self_service: Option<Spanned<bool>>,
}

/// Checks `[tokens]`: `self_service` needs a `kind = "tokens"` backend.
pub(super) fn tokens(
    locator: &Locator<'_>,
    file: Option<FileTokens>,
    authn: &[AuthnConfig],
) -> Result<TokensConfig, ConfigError> {
    let Some(self_service) = file.and_then(|file| file.self_service) else {
        return Ok(TokensConfig::default());
    };
    let has_tokens = authn.iter().any(|authn| matches!(authn.backend, BackendConfig::Tokens { .. }));
    if *self_service.get_ref() && !has_tokens {
        return Err(locator.at(
            self_service.span(),
            "self_service needs access tokens: add a first [[authn]] with kind = \"tokens\"",
        ));
    }
    Ok(TokensConfig { self_service: *self_service.get_ref() })
}
