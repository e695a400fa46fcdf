//! The client x registry x flow matrix the README shows, and the checks that keep it true.
//!
//! [`MATRIX`] is the one committed statement of what works (a combination it lacks shows as "not
//! tested"). It stays honest two ways:
//! - every end-to-end test that drives a real client through a flow calls [`proven`] with that
//!   cell once the flow worked; [`proven`] fails the test when the matrix does not list the cell;
//! - [`readme_table_is_the_tested_matrix`] fails when the README's table is not
//!   [`readme_table`] of the matrix, or when a cell has no test calling [`proven`] for it (it
//!   reads the test sources: the calls must name the cell literally), or a test proves a cell the
//!   matrix does not list.
//!
//! Both checks are deterministic within one `cargo test` run: nothing depends on which tests ran
//! first. To write the table after changing [`MATRIX`], run
//! `REGENT_WRITE_README=1 cargo test --test it client_matrix`.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

/// A client program the end-to-end tests drive.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Client {
    /// The docker CLI with the Docker engine (the daemon pulls and pushes).
    Docker,
    /// skopeo (containers/image).
    Skopeo,
    /// podman (containers/image).
    Podman,
    /// containerd's `ctr` (containerd's own registry client, shared with nerdctl and CRI).
    Ctr,
}

/// A registry the tests run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum RegistryVersion {
    /// Debian's docker-registry 2.8.2.
    V2,
    /// distribution v3.1.1.
    V3,
}

/// How the client gets its tokens.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Flow {
    /// The user's password on every token request.
    Password,
    /// A refresh token (docker's `identitytoken`) instead of a password.
    IdentityToken,
    /// No credentials.
    Anonymous,
}

/// One cell of the matrix: a combination that works and is tested end to end.
#[derive(Debug, Clone, Copy)]
pub struct Cell {
    /// The client.
    pub client: Client,
    /// The registry.
    pub registry: RegistryVersion,
    /// The flow.
    pub flow: Flow,
    /// How the client asks for its token in this flow.
    pub how: &'static str,
}

use Client::{Ctr, Docker, Podman, Skopeo};
use Flow::{Anonymous, IdentityToken, Password};
use RegistryVersion::{V2, V3};

const DOCKER_PASSWORD: &str =
    "the daemon sends `GET` + Basic; docker stores the password (`refresh_ttl = \"0s\"`)";
const DOCKER_IDENTITY: &str =
    "`docker login` stores an `identitytoken`; the daemon `POST`s `grant_type=refresh_token`";
const CONTAINERS_PASSWORD: &str = "`login` or `--creds`; `GET` + Basic";
const CONTAINERS_IDENTITY: &str = "an `identitytoken` in the auth file; `POST grant_type=refresh_token`";
const CTR_PASSWORD: &str = "`--user`; `POST grant_type=password`";
const CTR_IDENTITY: &str = "`--refresh TOKEN`; `POST grant_type=refresh_token`";
const ANONYMOUS: &str = "`GET`, no credentials";

/// What works, per client, registry and flow.
pub const MATRIX: &[Cell] = &[
    Cell { client: Docker, registry: V2, flow: Password, how: DOCKER_PASSWORD },
    Cell { client: Docker, registry: V2, flow: IdentityToken, how: DOCKER_IDENTITY },
    Cell { client: Docker, registry: V2, flow: Anonymous, how: ANONYMOUS },
    Cell { client: Docker, registry: V3, flow: Password, how: DOCKER_PASSWORD },
    Cell { client: Docker, registry: V3, flow: IdentityToken, how: DOCKER_IDENTITY },
    Cell { client: Docker, registry: V3, flow: Anonymous, how: ANONYMOUS },
    Cell { client: Skopeo, registry: V2, flow: Password, how: CONTAINERS_PASSWORD },
    Cell { client: Skopeo, registry: V2, flow: IdentityToken, how: CONTAINERS_IDENTITY },
    Cell { client: Skopeo, registry: V2, flow: Anonymous, how: ANONYMOUS },
    Cell { client: Skopeo, registry: V3, flow: Password, how: CONTAINERS_PASSWORD },
    Cell { client: Skopeo, registry: V3, flow: IdentityToken, how: CONTAINERS_IDENTITY },
    Cell { client: Skopeo, registry: V3, flow: Anonymous, how: ANONYMOUS },
    Cell { client: Podman, registry: V2, flow: Password, how: CONTAINERS_PASSWORD },
    Cell { client: Podman, registry: V2, flow: IdentityToken, how: CONTAINERS_IDENTITY },
    Cell { client: Podman, registry: V2, flow: Anonymous, how: ANONYMOUS },
    Cell { client: Podman, registry: V3, flow: Password, how: CONTAINERS_PASSWORD },
    Cell { client: Podman, registry: V3, flow: IdentityToken, how: CONTAINERS_IDENTITY },
    Cell { client: Podman, registry: V3, flow: Anonymous, how: ANONYMOUS },
    Cell { client: Ctr, registry: V2, flow: Password, how: CTR_PASSWORD },
    Cell { client: Ctr, registry: V2, flow: IdentityToken, how: CTR_IDENTITY },
    Cell { client: Ctr, registry: V2, flow: Anonymous, how: ANONYMOUS },
    Cell { client: Ctr, registry: V3, flow: Password, how: CTR_PASSWORD },
    Cell { client: Ctr, registry: V3, flow: IdentityToken, how: CTR_IDENTITY },
    Cell { client: Ctr, registry: V3, flow: Anonymous, how: ANONYMOUS },
];

/// Called by a test once `client` did `flow` against `registry` for real: fails unless the
/// matrix lists the cell.
pub fn proven(client: Client, registry: RegistryVersion, flow: Flow) {
    let listed =
        MATRIX.iter().any(|cell| (cell.client, cell.registry, cell.flow) == (client, registry, flow));
    assert!(
        listed,
        "{client:?} x {registry:?} x {flow:?} worked, but client_matrix::MATRIX does not list it"
    );
}

impl Client {
    /// The README's name for it, with the version tested.
    fn label(self) -> &'static str {
        match self {
            Docker => "docker CLI 28 + dockerd 20.10",
            Skopeo => "skopeo 1.9",
            Podman => "podman 4.3",
            Ctr => "containerd `ctr` 1.6",
        }
    }
}

impl RegistryVersion {
    /// The README's name for it.
    fn label(self) -> &'static str {
        match self {
            V2 => "2.8",
            V3 => "3.1.1",
        }
    }
}

/// The README section's first and last lines.
const BEGIN: &str = "<!-- client-matrix: generated from tests/it/client_matrix.rs; do not edit -->";
const END: &str = "<!-- client-matrix end -->";

/// The Markdown table of [`MATRIX`], between the [`BEGIN`] and [`END`] markers.
pub fn readme_table() -> String {
    let mut out = format!(
        "{BEGIN}\n| client | registry | password | identity token (refresh) | anonymous |\n\
         | --- | --- | --- | --- | --- |\n"
    );
    let mut rows: Vec<(Client, RegistryVersion)> =
        MATRIX.iter().map(|cell| (cell.client, cell.registry)).collect();
    rows.dedup();
    for (client, registry) in rows {
        let cell = |flow: Flow| {
            let found = MATRIX.iter().find(|c| (c.client, c.registry, c.flow) == (client, registry, flow));
            found.map_or_else(|| "not tested".to_owned(), |c| format!("yes: {}", c.how))
        };
        out.push_str(&format!(
            "| {} | {} | {} | {} | {} |\n",
            client.label(),
            registry.label(),
            cell(Password),
            cell(IdentityToken),
            cell(Anonymous)
        ));
    }
    out.push_str(END);
    out
}

/// `proven(Client::X, RegistryVersion::Y, Flow::Z)` calls in the test sources, as (X, Y, Z) names.
fn proven_calls(dir: &Path) -> BTreeSet<(String, String, String)> {
    let mut calls = BTreeSet::new();
    for file in rust_files(dir) {
        let text: String =
            std::fs::read_to_string(&file).expect("read a test source").split_whitespace().collect();
        for call in text.split("proven(Client::").skip(1) {
            let args = call.split(')').next().unwrap_or_default();
            let parts: Vec<&str> = args.split(',').collect();
            if let [client, registry, flow] = parts[..] {
                let strip = |arg: &str, prefix: &str| arg.strip_prefix(prefix).map(str::to_owned);
                if let (Some(registry), Some(flow)) =
                    (strip(registry, "RegistryVersion::"), strip(flow, "Flow::"))
                {
                    calls.insert((client.to_owned(), registry, flow));
                    continue;
                }
            }
            panic!(
                "{}: write proven() calls as proven(Client::X, RegistryVersion::Y, Flow::Z): {args}",
                file.display()
            );
        }
    }
    calls
}

/// Every `.rs` file under `dir` but this one.
fn rust_files(dir: &Path) -> Vec<PathBuf> {
    let mut files = Vec::new();
    for entry in std::fs::read_dir(dir).expect("read a test dir") {
        let path = entry.expect("a dir entry").path();
        if path.is_dir() {
            files.extend(rust_files(&path));
        } else if path.extension().is_some_and(|ext| ext == "rs") && !path.ends_with("client_matrix.rs") {
            files.push(path);
        }
    }
    files
}

#[test]
fn readme_table_is_the_tested_matrix() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let works: BTreeSet<(String, String, String)> = MATRIX
        .iter()
        .map(|cell| {
            (format!("{:?}", cell.client), format!("{:?}", cell.registry), format!("{:?}", cell.flow))
        })
        .collect();
    let proven = proven_calls(&root.join("tests/it"));
    let unproven: Vec<_> = works.difference(&proven).collect();
    assert!(unproven.is_empty(), "cells the matrix says work but no test proves: {unproven:?}");
    let unlisted: Vec<_> = proven.difference(&works).collect();
    assert!(unlisted.is_empty(), "tests prove cells the matrix does not list: {unlisted:?}");

    let readme_path = root.join("README.md");
    let readme = std::fs::read_to_string(&readme_path).expect("README.md");
    let (start, end) = match (readme.find(BEGIN), readme.find(END)) {
        (Some(start), Some(end)) if start < end => (start, end + END.len()),
        _ => panic!("README.md lacks the client matrix markers {BEGIN:?} ... {END:?}"),
    };
    let table = readme_table();
    if std::env::var_os("REGENT_WRITE_README").is_some() {
        let updated = format!("{}{table}{}", &readme[..start], &readme[end..]);
        std::fs::write(&readme_path, updated).expect("write README.md");
        return;
    }
    assert_eq!(
        readme[start..end],
        table,
        "README.md's client matrix is not the tested one; run REGENT_WRITE_README=1 cargo test --test it client_matrix"
    );
}
