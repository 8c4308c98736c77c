//! The command line: clap definitions and the headless commands, one file
//! per command group. Every command works on a [`Context`] — config, mode
//! (sandbox or live), store location, template catalog — built once from
//! the global flags.

/// `println!` for the CLI: a line to [`output::stdout`], an error when its
/// reader has gone (where `println!` would panic).
macro_rules! outln {
    ($($arg:tt)*) => {
        ::std::io::Write::write_fmt(
            &mut $crate::cli::output::stdout(),
            format_args!("{}\n", format_args!($($arg)*)),
        )
    };
}

/// `eprintln!` for the CLI: a line for the operator on standard error,
/// dropped when nobody reads it (`eprintln!` would panic on a closed pipe,
/// as in `bote … 2>&1 | head`).
macro_rules! errln {
    ($($arg:tt)*) => {{
        let _ = ::std::io::Write::write_fmt(
            &mut ::std::io::stderr(),
            format_args!("{}\n", format_args!($($arg)*)),
        );
    }};
}

mod audit;
pub mod backup;
mod campaign;
mod consent;
mod daemon;
mod dry_run;
mod gdpr;
mod media;
pub mod output;
mod report;
mod resend;
mod send;
pub mod sim;
mod template;
mod webhook;

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context as _, Result};
use clap::{Parser, Subcommand};

use std::sync::Arc;

use crate::cloud::{ApiToken, Client};
use crate::config::{ApiConfig, Config};
use crate::consent::Store;
use crate::engine::{Backend, Engine};
use crate::sim::{Sim, SimConfig};
use crate::template::Catalog;

/// bote: consent-first WhatsApp campaigns from the terminal.
///
/// Without a token bote runs in SANDBOX mode: a local Cloud API simulator,
/// a sandbox store seeded from the sample data, nothing leaves the machine.
#[derive(Debug, Parser)]
#[command(name = "bote", version, about, long_about = None)]
pub struct Cli {
    /// Config file (default: $BOTE_CONFIG, ./bote.toml, then the platform config dir).
    #[arg(long, global = true, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Store directory (default: $BOTE_STORE, [store] path, the platform data dir).
    #[arg(long, global = true, value_name = "DIR")]
    pub store: Option<PathBuf>,
    /// Template directory (default: [templates] dir, else the built-in templates).
    #[arg(long, global = true, value_name = "DIR")]
    pub templates: Option<PathBuf>,
    /// Force sandbox mode even when a token is configured.
    #[arg(long, global = true)]
    pub sandbox: bool,
    /// Use a store that group or others can read as it is, instead of
    /// refusing it (G12: a store holds personal data).
    #[arg(long, global = true)]
    pub allow_shared_store: bool,
    /// More log output on stderr (-v info, -vv debug); never in the TUI.
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    pub verbose: u8,
    /// The command; none opens the TUI (on a terminal; else prints the
    /// sample campaign's dry run).
    #[command(subcommand)]
    pub command: Option<Command>,
}

/// The commands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// The operator's TUI (also what `bote` alone opens).
    Tui,
    /// The consent store: import, browse, revoke.
    #[command(subcommand)]
    Consent(consent::ConsentCmd),
    /// The template catalog.
    #[command(subcommand)]
    Template(template::TemplateCmd),
    /// Files for media headers: upload, list.
    #[command(subcommand)]
    Media(media::MediaCmd),
    /// Campaigns: plan (dry run).
    #[command(subcommand)]
    Campaign(campaign::CampaignCmd),
    /// Run the Cloud API simulator standalone.
    Sim(sim::SimArgs),
    /// The webhook receiver: delivery statuses, STOP, opt-in confirmations.
    #[command(subcommand)]
    Webhook(webhook::WebhookCmd),
    /// Apply the [retention] periods now (G9); the daemon also does it daily.
    Purge {
        /// Count what would go; change nothing.
        #[arg(long)]
        dry_run: bool,
        /// Print the report as JSON.
        #[arg(long)]
        json: bool,
    },
    /// Check the set-up: processing agreement, roles, store permissions,
    /// token source, audit trail, retention (exit 1 if something must be fixed).
    Doctor {
        /// As JSON.
        #[arg(long)]
        json: bool,
    },
    /// The audit trail: verify its chain, show entries (G4, G13).
    #[command(subcommand)]
    Audit(audit::AuditCmd),
    /// Encrypted backups: create (via the daemon), verify, restore (G11).
    #[command(subcommand)]
    Backup(backup::BackupCmd),
    /// The service that owns the store: webhook receiver, campaigns, timers
    /// (every other command is its client; the sandbox starts one by itself).
    Daemon(daemon::DaemonArgs),
}

/// Exit codes (product contract).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Exit {
    /// Everything done.
    Ok = 0,
    /// An error.
    Error = 1,
    /// Wrong usage (clap uses 2 too).
    Usage = 2,
    /// Partially done: some rows rejected, some recipients failed or unknown.
    Partial = 3,
    /// Refused: consent, role, tier or confirmation.
    Refused = 4,
}

impl From<Exit> for ExitCode {
    fn from(e: Exit) -> Self {
        ExitCode::from(e as u8)
    }
}

/// An operation bote will not do (exit code 4).
#[derive(Debug, thiserror::Error)]
#[error("refused: {0}")]
pub struct Refused(pub String);

/// Sandbox or live.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// Local simulator; nothing leaves the machine.
    Sandbox,
    /// The real Cloud API.
    Live,
}

/// What every command needs.
#[derive(Debug)]
pub struct Context {
    /// The configuration.
    pub config: Config,
    /// Where the config came from.
    pub config_path: Option<PathBuf>,
    /// Sandbox or live.
    pub mode: Mode,
    /// The store directory.
    pub store_dir: PathBuf,
    /// Whether the store dir is the default sandbox one (seeded on first use).
    pub default_sandbox_store: bool,
    /// Template directory.
    pub templates_dir: PathBuf,
}

/// The sample consent export, compiled in so the sandbox works anywhere.
const SAMPLE_CONSENTS: &[u8] = include_bytes!("../../sample-data/einwilligungen.csv");

impl Context {
    /// Resolves config, mode and paths from the global flags.
    pub fn new(cli: &Cli) -> Result<Self> {
        let config_path = crate::paths::config_file(cli.config.as_deref())
            .map_err(|p| anyhow::anyhow!("config file {} does not exist", p.display()))?;
        let config = match &config_path {
            Some(p) => Config::load(p)?,
            None => Config::default(),
        };
        let has_token = std::env::var_os(&config.api.token_env).is_some_and(|v| !v.is_empty())
            || config.api.token_file.as_ref().is_some_and(|p| p.is_file());
        let mode = if cli.sandbox || !has_token {
            Mode::Sandbox
        } else {
            Mode::Live
        };
        let explicit = cli.store.is_some() || std::env::var_os("BOTE_STORE").is_some();
        let store_dir = crate::paths::store_dir(
            cli.store.as_deref(),
            config.store.path.as_deref(),
            mode == Mode::Sandbox,
        );
        if let Some(dir) = cli.templates.as_deref().filter(|d| !d.is_dir()) {
            anyhow::bail!(
                "--templates {}: no such directory (without --templates bote uses [templates] dir, else its built-in templates)",
                dir.display()
            );
        }
        let templates_dir = cli
            .templates
            .clone()
            .unwrap_or_else(|| config.templates.dir.clone());
        Ok(Self {
            config,
            config_path,
            mode,
            store_dir,
            default_sandbox_store: mode == Mode::Sandbox && !explicit,
            templates_dir,
        })
    }

    /// Opens the store; the default sandbox store is seeded with the sample
    /// consents the first time.
    pub fn open_store(&self) -> Result<Store> {
        self.seeded(Store::open(&self.store_dir)?)
    }

    /// [`Context::open_store`] for a bulk consent import.
    pub fn open_store_for_import(&self) -> Result<Store> {
        self.seeded(Store::open_for_import(&self.store_dir)?)
    }

    fn seeded(&self, store: Store) -> Result<Store> {
        if self.default_sandbox_store && store.contact_count() == 0 {
            self.seed(&store)
                .context("seeding the sandbox store with the sample consents")?;
        }
        Ok(store)
    }

    fn seed(&self, store: &Store) -> Result<()> {
        let seed = self.store_dir.join("sample-consents.csv");
        std::fs::write(&seed, SAMPLE_CONSENTS)?;
        let opts = crate::consent::import::ImportOptions {
            source: Some("sandbox-sample".into()),
            dry_run: false,
            actor: crate::consent::current_actor(),
            now: chrono::Utc::now(),
        };
        let result =
            crate::consent::import::import(store, &self.config, &seed, &opts, None, &|_, _| {});
        std::fs::remove_file(&seed)?;
        result?;
        store.flush()?;
        Ok(())
    }

    /// The engine a daemon serves: the store, the way out — the configured
    /// Cloud API when live, the in-process simulator in sandbox mode — and
    /// the webhook receiver beside it, so STOPs and statuses reach the store
    /// while it sends. Live, the receiver listens on `[webhook] listen` with
    /// the secrets from the environment; in the sandbox on an ephemeral
    /// loopback port with fresh secrets, and the simulator posts to it.
    pub async fn engine(&self) -> Result<Engine> {
        let store = Arc::new(self.open_store()?);
        let catalog = self.catalog()?;
        let (secrets, listen, sandbox_secret) = match self.mode {
            Mode::Live => (
                crate::webhook::WebhookSecrets::from_env(&self.config.webhook)
                    .context("a live daemon hosts the webhook receiver")?,
                self.config.webhook.listen.clone(),
                None,
            ),
            Mode::Sandbox => {
                let secret = format!("{:032x}", rand::random::<u128>());
                let verify = format!("{:032x}", rand::random::<u128>());
                (
                    crate::webhook::WebhookSecrets::new(verify, secret.clone()),
                    "127.0.0.1:0".to_string(),
                    Some(secret),
                )
            }
        };
        let receiver = crate::webhook::Receiver::new(
            Arc::clone(&store),
            crate::campaign::Campaigns::open(&store)?,
            secrets,
        )
        .keywords(crate::webhook::Keywords::from_config(&self.config.consent))
        .start(&listen)
        .await?;
        let (client, backend) = match sandbox_secret {
            Some(secret) => {
                let target = crate::sim::WebhookTarget::new(receiver.url(), secret);
                self.sandbox(&catalog, Some(target)).await?
            }
            None => self.connect(&catalog).await?,
        };
        // Sends route by the latest category the store knows (sync, webhooks).
        let client = client.with_categories(crate::cloud::TemplateCategories::open(store.db())?);
        Ok(Engine::shared(
            store,
            self.config.clone(),
            catalog,
            Arc::new(client.clone()),
            backend,
            crate::consent::current_actor(),
        )?
        .with_cloud(client)
        .with_receiver(receiver))
    }

    /// The daemon client for this store (a sandbox daemon is started when
    /// none runs).
    pub async fn client(&self) -> Result<crate::service::client::Client> {
        crate::service::client::Client::connect(self).await
    }

    /// The Cloud API client and what it talks to: a fresh in-process
    /// simulator serving `catalog` in sandbox mode, the configured API live.
    pub async fn connect(&self, catalog: &Catalog) -> Result<(Client, Backend)> {
        match self.mode {
            Mode::Sandbox => self.sandbox(catalog, None).await,
            Mode::Live => Ok((
                Client::from_config(&self.config.api, &self.config.send)?,
                Backend::Live,
            )),
        }
    }

    /// A fresh in-process simulator (posting webhooks to `webhook`, if any)
    /// and a client pointed at it.
    async fn sandbox(
        &self,
        catalog: &Catalog,
        webhook: Option<crate::sim::WebhookTarget>,
    ) -> Result<(Client, Backend)> {
        {
            {
                let token = ApiToken::new("sandbox-token")?;
                let mut sim = SimConfig::new(catalog.clone());
                sim.token = Some(token.clone());
                sim.webhook = webhook;
                // Meta's highest throughput tier, so bote's own ceiling is what binds.
                sim.mps = 1000;
                sim.faults.latency = std::time::Duration::from_millis(40);
                sim.faults.jitter = std::time::Duration::from_millis(20);
                let sim = Sim::start(sim).await?;
                let api = ApiConfig {
                    messaging_tier: self.config.api.messaging_tier,
                    marketing_endpoint: self.config.api.marketing_endpoint,
                    version: self.config.api.version.clone(),
                    ..sim.api_config()
                };
                let client = Client::new(&api, &self.config.send, token)?;
                Ok((client, Backend::Sandbox(Some(Box::new(sim)))))
            }
        }
    }

    /// The template catalog: the template dir if present, else the built-in one.
    pub fn catalog(&self) -> Result<Catalog> {
        Ok(Catalog::load_or_embedded(&self.templates_dir)?)
    }

    /// A one-line banner naming the mode, for every human-readable output.
    pub fn banner(&self) -> String {
        match self.mode {
            Mode::Sandbox => format!(
                "SANDBOX — local simulator, nothing leaves this machine (store: {})",
                self.store_dir.display()
            ),
            Mode::Live => format!(
                "LIVE — {} phone number {} (store: {})",
                self.config.api.base_url,
                self.config.api.phone_number_id,
                self.store_dir.display()
            ),
        }
    }
}

/// Runs a client's future on a fresh runtime.
pub(crate) fn block_on<T>(f: impl std::future::Future<Output = Result<T>>) -> Result<T> {
    tokio::runtime::Runtime::new()?.block_on(f)
}

/// Writes a file with personal data: owner-only (0600), never over an
/// existing one unless the operator said `--force` (made owner-only too:
/// it now holds personal data).
pub(crate) fn write_private(path: &std::path::Path, bytes: &[u8], overwrite: bool) -> Result<()> {
    use crate::consent::store::PrivateFile;
    use std::io::Write;
    let how = if overwrite {
        PrivateFile::Replace
    } else {
        PrivateFile::New
    };
    let mut f = crate::consent::store::open_private(path, how).map_err(|e| match e.kind() {
        std::io::ErrorKind::AlreadyExists => {
            anyhow::anyhow!(crate::consent::table::overwrite_refused(path))
        }
        _ => anyhow::anyhow!("{}: {e}", path.display()),
    })?;
    #[cfg(unix)]
    if overwrite {
        use std::os::unix::fs::PermissionsExt;
        f.set_permissions(std::fs::Permissions::from_mode(0o600))?;
    }
    f.write_all(bytes)?;
    f.sync_all()?;
    Ok(())
}

/// Sets up logging: stderr for headless commands, by verbosity.
pub fn init_logging(verbose: u8) {
    let level = match verbose {
        0 => "warn",
        1 => "info",
        _ => "debug",
    };
    let filter = tracing_subscriber::EnvFilter::try_from_env("BOTE_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(format!("bote={level}")));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        // tracing colours by default, into a redirected stderr too.
        .with_ansi(output::stderr_color())
        .with_target(false)
        .try_init();
}

/// Runs the parsed command line; returns the exit code.
pub fn run(cli: Cli) -> Result<Exit> {
    crate::consent::store::allow_shared_store(cli.allow_shared_store);
    let ctx = Context::new(&cli)?;
    match cli.command {
        Some(Command::Consent(cmd)) => consent::run(&ctx, cmd),
        Some(Command::Audit(cmd)) => audit::run(&ctx, cmd),
        Some(Command::Backup(cmd)) => backup::run(&ctx, cmd),
        Some(Command::Purge { dry_run, json }) => gdpr::purge(&ctx, dry_run, json),
        Some(Command::Doctor { json }) => gdpr::doctor(&ctx, json),
        Some(Command::Template(cmd)) => template::run(&ctx, cmd),
        Some(Command::Media(cmd)) => media::run(&ctx, cmd),
        Some(Command::Campaign(cmd)) => campaign::run(&ctx, cmd),
        Some(Command::Sim(args)) => {
            let catalog = ctx.catalog()?;
            tokio::runtime::Runtime::new()?.block_on(sim::run(args, catalog))?;
            Ok(Exit::Ok)
        }
        Some(Command::Webhook(cmd)) => webhook::run(&ctx, cmd),
        Some(Command::Daemon(args)) => daemon::run(ctx, args, cli.verbose),
        Some(Command::Tui) | None => tui(&ctx),
    }
}

/// The TUI on a terminal; without one (a pipe, CI) the sample campaign's
/// dry run, so `bote` alone always shows what it would do.
fn tui(ctx: &Context) -> Result<Exit> {
    use std::io::IsTerminal;
    if !std::io::stdout().is_terminal() || !std::io::stdin().is_terminal() {
        return campaign::sample(ctx);
    }
    tokio::runtime::Runtime::new()?.block_on(async {
        let client = ctx.client().await?;
        crate::tui::run(client, &ctx.store_dir).await
    })?;
    Ok(Exit::Ok)
}

/// Whether this command line opens the TUI (then logs go to a file).
pub fn is_tui(cli: &Cli) -> bool {
    matches!(cli.command, None | Some(Command::Tui))
}

/// Whether this command line runs the daemon (it sets up its own logging).
pub fn is_daemon(cli: &Cli) -> bool {
    matches!(&cli.command, Some(Command::Daemon(a)) if a.action.is_none())
}

/// Maps an error to its exit code.
pub fn exit_code_for(err: &anyhow::Error) -> Exit {
    if err.downcast_ref::<Refused>().is_some() {
        Exit::Refused
    } else {
        Exit::Error
    }
}

pub use output::use_color;

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn clap_definition_is_consistent() {
        Cli::command().debug_assert();
    }
}
