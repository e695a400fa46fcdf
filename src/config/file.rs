//! The `regent.toml` file as written: serde structs with spans, validated into
//! [`Config`](super::Config) by [`validate`](super::validate).
//!
//! Every table denies unknown keys. Values that need checking beyond their TOML type are
//! [`Spanned`] so their errors can name `file:line:col`.

use serde::Deserialize;
use toml::Spanned;

/// The whole file.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct FileConfig {
    /// `[token]`.
    pub(crate) token: Spanned<FileToken>,
    /// `[[authn]]`, in order.
    #[serde(default)]
    pub(crate) authn: Vec<Spanned<FileAuthn>>,
    /// `[policy]`.
    pub(crate) policy: FilePolicy,
    /// `[[listen]]`.
    #[serde(default)]
    pub(crate) listen: Vec<FileListen>,
    /// `[front]`: proxy timeouts and routes.
    pub(crate) front: Option<super::front::FileFront>,
}

/// `[token]`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct FileToken {
    /// The registry's `auth.token.service`.
    pub(crate) service: Spanned<String>,
    /// The `iss` claim.
    pub(crate) issuer: Spanned<String>,
    /// Where clients ask for tokens.
    pub(crate) realm: Spanned<String>,
    /// Token lifetime, humantime (`"5m"`).
    pub(crate) ttl: Option<Spanned<String>>,
    /// `[[token.keys]]`.
    pub(crate) keys: Option<Spanned<Vec<FileKeyFiles>>>,
}

/// One `[[token.keys]]` entry.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct FileKeyFiles {
    /// The PEM private key.
    pub(crate) key: Spanned<String>,
    /// The PEM certificate.
    pub(crate) certificate: Spanned<String>,
}

/// One `[[authn]]` backend.
///
/// One struct for every kind (not a `#[serde(tag = "kind")]` enum, where spans are lost): the
/// fields of all kinds are optional here and checked per kind in validation.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct FileAuthn {
    /// The backend's name (unique).
    pub(crate) name: Spanned<String>,
    /// The backend kind: `htpasswd`.
    pub(crate) kind: Spanned<String>,
    /// htpasswd: the password file.
    pub(crate) file: Option<Spanned<String>>,
    /// htpasswd: the optional AuthGroupFile.
    pub(crate) groups: Option<Spanned<String>>,
    /// The identity cache lifetime, humantime; `"0s"` disables.
    pub(crate) cache_ttl: Option<Spanned<String>>,
}

/// `[policy]`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct FilePolicy {
    /// The directory of policy files.
    pub(crate) directory: Spanned<String>,
}

/// One `[[listen]]` entry.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct FileListen {
    /// `host:port`.
    pub(crate) address: Spanned<String>,
    /// `[listen.tls]`: certificates; absent for plain HTTP.
    pub(crate) tls: Option<super::front::FileListenTls>,
    /// The registry behind this listener (`http://host:port`).
    pub(crate) upstream: Option<Spanned<String>>,
}
