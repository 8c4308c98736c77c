//! `bote sim`: run the Cloud API simulator as a standalone server.
//!
//! The sandbox for operators and for manual end-to-end runs: point
//! `api.base_url` at the printed URL. It binds only what is asked for
//! (loopback by default) and runs until Ctrl-C, then prints its counters.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use anyhow::Context;

use crate::cloud::ApiToken;
use crate::phone::Phone;
use crate::sim::{DropStyle, FaultSettings, Mark, Sim, SimConfig, WebhookTarget};
use crate::template::Catalog;

/// Run a local WhatsApp Cloud API simulator (sandbox and tests).
#[derive(Debug, Clone, clap::Args)]
pub struct SimArgs {
    /// Address to listen on; port 0 picks a free port (printed at startup).
    /// Stays on loopback unless you name another address.
    #[arg(long, default_value = "127.0.0.1:0", value_name = "ADDR:PORT")]
    pub listen: SocketAddr,

    /// Throughput ceiling per phone number id, in messages per second;
    /// more in one second is answered with error 130429 (Meta: 80, up to 1000).
    #[arg(long, default_value_t = 80, value_name = "N")]
    pub mps: u32,

    /// Latency added to every request, in milliseconds.
    #[arg(long, default_value_t = 0, value_name = "MS")]
    pub latency_ms: u64,

    /// Random extra latency of up to this many milliseconds.
    #[arg(long, default_value_t = 0, value_name = "MS")]
    pub jitter_ms: u64,

    /// Fraction (0..1) of valid sends refused with HTTP 500, code 131000
    /// (not accepted: safe to retry).
    #[arg(long, default_value_t = 0.0, value_parser = fraction, value_name = "F")]
    pub fail_rate: f64,

    /// Fraction (0..1) of sends accepted and recorded whose response is then
    /// lost (the connection is closed): the client must treat them as unknown.
    #[arg(long, default_value_t = 0.0, value_parser = fraction, value_name = "F")]
    pub drop_rate: f64,

    /// Fraction (0..1) of sends accepted and recorded, then answered with a
    /// bare HTTP 502 page as a gateway would: the client must treat them as unknown.
    #[arg(long, default_value_t = 0.0, value_parser = fraction, value_name = "F")]
    pub gateway_rate: f64,

    /// Lose responses by never answering (the client times out) instead of
    /// closing the connection.
    #[arg(long)]
    pub hang: bool,

    /// Fraction (0..1) of accepted sends answered `held_for_quality_assessment`.
    #[arg(long, default_value_t = 0.0, value_parser = fraction, value_name = "F")]
    pub hold_rate: f64,

    /// The access token clients must send; without it any non-empty token
    /// is accepted. Prefer the environment variable over the flag.
    #[arg(long, env = "BOTE_TOKEN", hide_env_values = true, value_name = "T")]
    pub token: Option<String>,

    /// Header carrying the token; `Authorization` expects `Bearer <token>`.
    #[arg(long, default_value = "Authorization", value_name = "NAME")]
    pub auth_header: String,

    /// Serve only this phone number id (default: any).
    #[arg(long, value_name = "ID")]
    pub phone_number_id: Option<String>,

    /// Serve only this WhatsApp Business Account id (default: any).
    #[arg(long, value_name = "ID")]
    pub waba_id: Option<String>,

    /// POST signed status webhooks (sent, delivered, read, failed) here.
    #[arg(long, value_name = "URL", requires = "app_secret")]
    pub webhook_url: Option<String>,

    /// App secret that signs webhooks (X-Hub-Signature-256).
    #[arg(
        long,
        env = "BOTE_APP_SECRET",
        hide_env_values = true,
        value_name = "S"
    )]
    pub app_secret: Option<String>,

    /// Fraction (0..1) of webhook events posted twice.
    #[arg(long, default_value_t = 0.0, value_parser = fraction, value_name = "F")]
    pub duplicate_rate: f64,

    /// Fraction (0..1) of messages whose webhook events arrive out of order.
    #[arg(long, default_value_t = 0.0, value_parser = fraction, value_name = "F")]
    pub reorder_rate: f64,

    /// A number (E.164) that is not on WhatsApp: sends fail with 131026.
    /// Repeat for more.
    #[arg(long, value_name = "NUMBER")]
    pub undeliverable: Vec<String>,

    /// A number (E.164) that stopped marketing: sends fail with 131050.
    /// Repeat for more.
    #[arg(long, value_name = "NUMBER")]
    pub opted_out: Vec<String>,

    /// Report marked numbers by a `failed` webhook after a 200, as Meta
    /// usually does, instead of a synchronous error (needs --webhook-url).
    #[arg(long, requires = "webhook_url")]
    pub async_failures: bool,

    /// Append every accepted message as one JSON line to this file.
    #[arg(long, value_name = "FILE")]
    pub record: Option<PathBuf>,
}

fn fraction(s: &str) -> Result<f64, String> {
    match s.parse::<f64>() {
        Ok(f) if (0.0..=1.0).contains(&f) => Ok(f),
        _ => Err(format!("{s:?} is not a fraction between 0 and 1")),
    }
}

fn number(s: &str) -> anyhow::Result<Phone> {
    Phone::from_e164(s.trim()).with_context(|| format!("{s:?} is not an E.164 number"))
}

impl SimArgs {
    /// The simulator configuration these switches describe.
    pub fn to_config(&self, catalog: Catalog) -> anyhow::Result<SimConfig> {
        let mut config = SimConfig::new(catalog);
        config.listen = self.listen;
        config.mps = self.mps;
        config.token = self
            .token
            .as_deref()
            .map(ApiToken::new)
            .transpose()
            .context("--token")?;
        config.auth_header.clone_from(&self.auth_header);
        config.phone_number_id.clone_from(&self.phone_number_id);
        config.waba_id.clone_from(&self.waba_id);
        config.faults = FaultSettings {
            latency: Duration::from_millis(self.latency_ms),
            jitter: Duration::from_millis(self.jitter_ms),
            fail_rate: self.fail_rate,
            drop_rate: self.drop_rate,
            drop_style: if self.hang {
                DropStyle::Hang
            } else {
                DropStyle::Close
            },
            gateway_rate: self.gateway_rate,
            hold_rate: self.hold_rate,
            async_failures: self.async_failures,
        };
        if let (Some(url), Some(secret)) = (&self.webhook_url, &self.app_secret) {
            let mut target = WebhookTarget::new(url.clone(), secret.clone());
            target.duplicate_rate = self.duplicate_rate;
            target.reorder_rate = self.reorder_rate;
            config.webhook = Some(target);
        }
        config.record.clone_from(&self.record);
        Ok(config)
    }
}

/// Runs the simulator until Ctrl-C, then prints its counters.
pub async fn run(args: SimArgs, catalog: Catalog) -> anyhow::Result<()> {
    let marks: Vec<(Phone, Mark)> = args
        .undeliverable
        .iter()
        .map(|n| number(n).map(|p| (p, Mark::Undeliverable)))
        .chain(
            args.opted_out
                .iter()
                .map(|n| number(n).map(|p| (p, Mark::OptedOut))),
        )
        .collect::<anyhow::Result<_>>()?;
    let templates = catalog.len();
    let config = args.to_config(catalog)?;
    let handle = Sim::start(config).await.context("starting the simulator")?;
    for (phone, mark) in marks {
        handle.faults().mark(phone, mark);
    }
    let api = handle.api_config();
    outln!("bote sim listening on {}", handle.base_url())?;
    outln!(
        "  [api] base_url = {:?}  phone_number_id = {:?}  waba_id = {:?}",
        api.base_url,
        api.phone_number_id,
        api.waba_id
    )?;
    outln!(
        "  {templates} templates; {} mps per number; latency {}+0..{} ms; fail {}; drop {}; bare 502 {}; token {}",
        args.mps,
        args.latency_ms,
        args.jitter_ms,
        args.fail_rate,
        args.drop_rate,
        args.gateway_rate,
        if args.token.is_some() {
            "required"
        } else {
            "any"
        },
    )?;
    if !args.listen.ip().is_loopback() {
        errln!(
            "warning: listening on {}, reachable from the network",
            args.listen.ip()
        );
    }
    tokio::signal::ctrl_c()
        .await
        .context("waiting for Ctrl-C")?;
    let stats = handle.stats();
    handle.shutdown().await.context("stopping the simulator")?;
    outln!("{}", serde_json::to_string_pretty(&stats)?)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[derive(Debug, Parser)]
    struct Cli {
        #[command(flatten)]
        sim: SimArgs,
    }

    #[test]
    fn switches_parse_and_are_documented() {
        use clap::CommandFactory;
        Cli::command().debug_assert();
        let cli = Cli::try_parse_from([
            "bote",
            "--mps",
            "200",
            "--fail-rate",
            "0.1",
            "--drop-rate",
            "0.05",
            "--latency-ms",
            "20",
            "--jitter-ms",
            "5",
            "--token",
            "T",
        ])
        .expect("parses");
        assert_eq!(cli.sim.listen.to_string(), "127.0.0.1:0");
        let config = cli.sim.to_config(Catalog::default()).expect("config");
        assert_eq!(config.mps, 200);
        assert_eq!(config.faults.latency, Duration::from_millis(20));
        assert!(Cli::try_parse_from(["bote", "--fail-rate", "1.5"]).is_err());
        assert!(Cli::try_parse_from(["bote", "--webhook-url", "http://x"]).is_err());
        let help = Cli::command().render_long_help().to_string();
        for flag in [
            "--listen",
            "--mps",
            "--latency-ms",
            "--jitter-ms",
            "--fail-rate",
            "--drop-rate",
            "--token",
            "--webhook-url",
            "--app-secret",
            "--record",
        ] {
            assert!(help.contains(flag), "{flag} missing from --help");
        }
    }
}
