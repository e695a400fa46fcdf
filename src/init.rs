//! `regent init`: writes a working data directory (config, keys, htpasswd, policies).
