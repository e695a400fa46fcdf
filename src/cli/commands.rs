//! The bodies of the `regent` subcommands.

use std::io::{BufRead, IsTerminal};
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::{Context, bail};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

use super::{
    ConfigArg, EMBEDDED_DEFAULT_DIR, ExplainArgs, InitArgs, PasswdArgs, ServeArgs, find_config,
    htpasswd_file, init_default,
};
use crate::authn::htpasswd::{delete_user, set_password};
use crate::clock::{Clock, SystemClock};
use crate::config::{Config, DEFAULT_MAX_BCRYPT_COST};
use crate::init::{InitOptions, default_realm, init};
use crate::policy::examples::{EXAMPLE_POLICIES, EXAMPLE_POLICY_DIRECTORY};
use crate::policy::{LoadedPolicies, PolicySet, PolicySource, Principal};
use crate::scope::parse_scopes;
use crate::secret::Secret;
use crate::server::{BoundListener, Server, bind_listeners, build_state, serve_metrics, shutdown_signal};
use crate::subject::{Ceiling, Claim, SubjectKind};

/// The user the embedded default creates on its first run.
const DEMO_USER: &str = "demo";
/// The bcrypt cost of the demo user's password (Apache's default).
const DEMO_BCRYPT_COST: u32 = 10;

/// `regent init`.
pub(super) fn init_command(args: InitArgs) -> anyhow::Result<ExitCode> {
    let realm = args.realm.unwrap_or_else(|| match args.hosts.first() {
        Some(host) if host.contains(':') => format!("https://[{host}]:{}/token", args.tls_listen.port()),
        Some(host) => format!("https://{host}:{}/token", args.tls_listen.port()),
        None => default_realm(args.listen),
    });
    let opts = InitOptions {
        dir: args.dir,
        service: args.service,
        issuer: args.issuer,
        realm,
        key_type: args.key_type.into(),
        listen: args.listen,
        force: args.force,
        hosts: args.hosts,
        tls_listen: args.tls_listen,
        upstream: args.upstream,
    };
    let report = init(&opts, EXAMPLE_POLICY_DIRECTORY, SystemClock.now())?;
    println!("{report}");
    Ok(ExitCode::SUCCESS)
}

/// The configuration file a command uses: found by lookup, or the embedded default's data
/// directory when it has been initialised; `None` when there is none yet.
pub(super) fn existing_config(arg: &ConfigArg) -> anyhow::Result<Option<PathBuf>> {
    if let Some(path) = find_config(arg)? {
        return Ok(Some(path));
    }
    let default = PathBuf::from(EMBEDDED_DEFAULT_DIR).join("regent.toml");
    Ok(default.exists().then_some(default))
}

/// `regent serve`: serves until SIGTERM or SIGINT, applying changes of `regent.toml` as it
/// goes; exits 0 after a graceful shutdown.
pub(super) fn serve_command(args: ServeArgs) -> anyhow::Result<ExitCode> {
    let path = match existing_config(&args.config)? {
        Some(path) => path,
        None => first_run()?,
    };
    let config = Config::load(&path)?;
    let runtime = tokio::runtime::Runtime::new().context("starting the tokio runtime")?;
    let served = runtime.block_on(async {
        let mut listeners = bind_listeners(&config.listen).await?;
        for addr in &args.listen {
            let listener =
                tokio::net::TcpListener::bind(addr).await.with_context(|| format!("binding {addr}"))?;
            listeners.push(BoundListener::plain(listener)?);
        }
        if listeners.is_empty() {
            bail!("{}: no listener: add a [[listen]] entry or pass --listen ADDR", path.display());
        }
        let state = build_state(&config, Arc::new(SystemClock))?;
        if let Some(address) = config.metrics.address {
            let listener = tokio::net::TcpListener::bind(address)
                .await
                .with_context(|| format!("binding the [metrics] address {address}"))?;
            let state = state.clone();
            tokio::spawn(async move {
                if let Err(error) = serve_metrics(listener, state, shutdown_signal()).await {
                    tracing::error!(%error, "the metrics listener stopped");
                }
            });
        }
        let server = Server::new(listeners, &config.front, &config.limits, state)?;
        let _watch = server.watch_config(config.clone())?;
        tracing::info!(config = %path.display(), service = %config.token.service, "regent serving");
        server.run(shutdown_signal()).await?;
        Ok(ExitCode::SUCCESS)
    });
    // Blocking work still running (a bcrypt, a file poll) gets a moment, not a wait without end.
    runtime.shutdown_timeout(RUNTIME_SHUTDOWN_GRACE);
    served
}

/// How long `regent serve` waits for blocking tasks after its listeners have stopped.
const RUNTIME_SHUTDOWN_GRACE: std::time::Duration = std::time::Duration::from_secs(2);

/// The embedded default's first run: `regent init --dir ./regent-data` plus a demo user whose
/// random password is printed once to stdout (never through the logger).
fn first_run() -> anyhow::Result<PathBuf> {
    let dir = PathBuf::from(EMBEDDED_DEFAULT_DIR);
    init_default(&dir)?;
    let path = dir.join("regent.toml");
    let config = Config::load(&path)?;
    let password = random_password()?;
    let (file, max_cost) = htpasswd_file(&config)?;
    set_password(&file, DEMO_USER, &password, DEMO_BCRYPT_COST.min(max_cost))?;
    println!("regent: first run, initialised {}", dir.display());
    println!("regent: demo user {DEMO_USER:?} with password {:?} (shown only this once)", password.expose());
    Ok(path)
}

fn random_password() -> anyhow::Result<Secret> {
    let mut bytes = [0u8; 18];
    aws_lc_rs::rand::fill(&mut bytes).map_err(|_| anyhow::anyhow!("no randomness available"))?;
    Ok(Secret::new(URL_SAFE_NO_PAD.encode(bytes)))
}

/// `regent passwd`.
pub(super) fn passwd_command(args: PasswdArgs) -> anyhow::Result<ExitCode> {
    let (file, max_cost) = match args.file {
        Some(file) => (file, DEFAULT_MAX_BCRYPT_COST),
        None => match existing_config(&args.config)? {
            Some(path) => htpasswd_file(&Config::load(&path)?)?,
            None => bail!("no configuration found: pass --config FILE or --file HTPASSWD"),
        },
    };
    if args.delete {
        if delete_user(&file, &args.user)? {
            println!("deleted {:?} from {}", args.user, file.display());
            return Ok(ExitCode::SUCCESS);
        }
        bail!("{}: no user {:?}", file.display(), args.user);
    }
    if args.cost > max_cost {
        bail!(
            "--cost {} is above max_bcrypt_cost {max_cost}: the server would refuse to load {} \
             (raise max_bcrypt_cost in the htpasswd backend's config first)",
            args.cost,
            file.display()
        );
    }
    let password = read_password(true)?;
    if password.is_empty() {
        bail!("the password is empty");
    }
    set_password(&file, &args.user, &password, args.cost)?;
    println!("set the password of {:?} in {}", args.user, file.display());
    Ok(ExitCode::SUCCESS)
}

/// A password from a prompt (asked twice when `confirm`) or, when stdin is not a terminal, its
/// first line.
pub(super) fn read_password(confirm: bool) -> anyhow::Result<Secret> {
    let password = if std::io::stdin().is_terminal() {
        let first = rpassword::prompt_password("Password: ").context("reading the password")?;
        if confirm {
            let again = rpassword::prompt_password("Again: ").context("reading the password")?;
            if first != again {
                bail!("the passwords differ");
            }
        }
        first
    } else {
        let mut line = String::new();
        std::io::stdin().lock().read_line(&mut line).context("reading the password from stdin")?;
        line.trim_end_matches(['\r', '\n']).to_owned()
    };
    Ok(Secret::new(password))
}

/// Loads the policies of the configuration, or the embedded examples when there is none.
pub(super) fn load_policies(arg: &ConfigArg) -> anyhow::Result<LoadedPolicies> {
    match existing_config(arg)? {
        Some(path) => Ok(PolicySet::load_dir(&Config::load(&path)?.policy.directory)?),
        None => {
            let sources: Vec<PolicySource> = EXAMPLE_POLICIES
                .iter()
                .map(|(name, text)| PolicySource {
                    path: PathBuf::from("<embedded>").join(name),
                    text: (*text).into(),
                })
                .collect();
            Ok(PolicySet::from_sources(&sources)?)
        }
    }
}

/// `regent policy check`.
pub(super) fn policy_check(args: ConfigArg) -> anyhow::Result<ExitCode> {
    match load_policies(&args) {
        Ok(loaded) => {
            for warning in &loaded.warnings {
                eprintln!("warning: {warning}");
            }
            println!("ok: {} rules", loaded.set.rule_count());
            Ok(ExitCode::SUCCESS)
        }
        Err(err) => {
            eprintln!("{err:#}");
            Ok(ExitCode::FAILURE)
        }
    }
}

/// `regent policy explain`.
pub(super) fn policy_explain(args: ExplainArgs) -> anyhow::Result<ExitCode> {
    let loaded = load_policies(&args.config)?;
    let named = match (args.user, args.robot) {
        (Some(name), _) => Some((SubjectKind::Person, name)),
        (None, Some(name)) => Some((SubjectKind::Robot, name)),
        (None, None) => None,
    };
    let principal = match named {
        Some((kind, name)) => Principal::User {
            kind,
            name,
            groups: args.groups,
            backend: args.backend.unwrap_or_default(),
            owns_name: !args.not_owner,
            claims: args.claims.iter().map(|text| Claim::parse(text)).collect::<Result<_, _>>()?,
        },
        None => Principal::Anonymous,
    };
    let ceiling = (!args.ceiling.is_empty())
        .then(|| Ceiling::parse(args.ceiling.iter().map(String::as_str)))
        .transpose()?;
    let scopes = parse_scopes(args.scopes.iter().map(String::as_str))?;
    let mut evaluation = loaded.set.evaluate(&principal, &scopes);
    if let Some(ceiling) = &ceiling {
        evaluation = evaluation.within(ceiling);
    }
    for decision in &evaluation.decisions {
        println!("{decision}");
    }
    let access: Vec<String> = evaluation
        .access
        .iter()
        .map(|a| format!("{}:{}:{}", a.resource_type, a.name, a.actions.join(",")))
        .collect();
    println!("token access: {}", if access.is_empty() { "(none)".to_owned() } else { access.join(" ") });
    Ok(ExitCode::SUCCESS)
}
