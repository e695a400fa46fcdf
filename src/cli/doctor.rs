//! `regent doctor`: reads regent's configuration and the registry's, runs the checks of
//! [`crate::doctor`] and prints one line each.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context, bail};
use clap::Args;

use super::ConfigArg;
use super::commands::existing_config;
use crate::clock::{Clock, SystemClock};
use crate::config::Config;
use crate::doctor::{Account, DoctorClient, Regent, RegistrySettings, RegistryUser, Setup, diagnose};
use crate::token::load_key_set;

/// The user Debian's docker-registry package runs the registry as.
const DEBIAN_REGISTRY_USER: &str = "docker-registry";
/// Exit status for usage and configuration errors.
const USAGE_ERROR: u8 = 2;

/// Arguments of `regent doctor`.
#[derive(Debug, Args)]
pub struct DoctorArgs {
    /// regent's configuration.
    #[command(flatten)]
    pub config: ConfigArg,
    /// The registry's config.yml (`REGISTRY_*` variables in this environment override it, as
    /// they do for the registry; without the file they are read alone).
    #[arg(long, value_name = "FILE")]
    pub registry_config: Option<PathBuf>,
    /// The registry's URL as its clients use it, e.g. `https://registry.example.com` [default:
    /// from http.addr of the registry's configuration].
    #[arg(long, value_name = "URL")]
    pub registry_url: Option<String>,
    /// The user the registry runs as, for the permission check [default: docker-registry if
    /// that user exists, else the check is skipped].
    #[arg(long, value_name = "NAME")]
    pub registry_user: Option<String>,
    /// PEM CA certificate(s) to trust for https:// registry and realm URLs [default: the
    /// system's roots].
    #[arg(long, value_name = "FILE")]
    pub ca_file: Option<PathBuf>,
}

/// `regent doctor`: exit status 0 when nothing failed, 1 on a failed check, 2 when the checks
/// could not run (usage or configuration error).
pub(super) fn doctor_command(args: DoctorArgs) -> ExitCode {
    let result = prepare(&args).and_then(|setup| {
        let runtime = tokio::runtime::Runtime::new().context("starting the tokio runtime")?;
        runtime.block_on(async {
            let setup = setup.with_client(args.ca_file.as_deref())?;
            anyhow::Ok(diagnose(&setup, &SystemClock).await)
        })
    });
    match result {
        Ok(report) => {
            println!("{report}");
            if report.failed() { ExitCode::FAILURE } else { ExitCode::SUCCESS }
        }
        Err(error) => {
            eprintln!("error: {error:#}");
            ExitCode::from(USAGE_ERROR)
        }
    }
}

/// Everything but the HTTP client (which needs the runtime).
struct Prepared {
    /// regent's side.
    regent: Regent,
    /// The registry's configuration, if any.
    registry: Option<RegistrySettings>,
    /// `--registry-url`.
    registry_url: Option<String>,
    /// The registry's user.
    user: RegistryUser,
}

impl Prepared {
    /// The setup, with a client trusting `ca_file`.
    fn with_client(self, ca_file: Option<&std::path::Path>) -> anyhow::Result<Setup> {
        let client = DoctorClient::new(ca_file).map_err(anyhow::Error::msg).context("--ca-file")?;
        Ok(Setup {
            regent: self.regent,
            registry: self.registry,
            registry_url: self.registry_url,
            user: self.user,
            client,
        })
    }
}

/// Reads both configurations, the keys and the registry user.
fn prepare(args: &DoctorArgs) -> anyhow::Result<Prepared> {
    let Some(path) = existing_config(&args.config)? else {
        bail!("no configuration found: pass --config FILE");
    };
    let config = Config::load(&path)?;
    let keys = load_key_set(&config.token)?;
    let regent = Regent::new(&config, keys, SystemClock.now())?;
    let env = |name: &str| std::env::var(name).ok();
    let registry = match &args.registry_config {
        Some(file) => {
            let mut settings = RegistrySettings::load(file)?;
            settings.apply_env(&env);
            Some(settings)
        }
        None => {
            let mut settings = RegistrySettings::default();
            settings.apply_env(&env).then_some(settings)
        }
    };
    let user = match &args.registry_user {
        Some(name) => match Account::lookup(name).map_err(anyhow::Error::msg)? {
            Some(account) => RegistryUser::Account(account),
            None => bail!("--registry-user {name:?}: no such user on this machine"),
        },
        None => match Account::lookup(DEBIAN_REGISTRY_USER).map_err(anyhow::Error::msg)? {
            Some(account) => RegistryUser::Account(account),
            None => RegistryUser::Unknown(format!(
                "no user {DEBIAN_REGISTRY_USER:?} here: pass --registry-user NAME (the user the registry runs as)"
            )),
        },
    };
    Ok(Prepared { regent, registry, registry_url: args.registry_url.clone(), user })
}
