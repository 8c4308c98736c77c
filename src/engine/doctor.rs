//! `bote doctor`: what a DPO or an operator checks before trusting a set-up
//! (G11, G12, G13, G16) — the processing agreement, who may act, the store's
//! permissions, where the token comes from, the audit trail, the periods.

use serde::{Deserialize, Serialize};

use super::Engine;
use crate::config::Role;
use crate::service::peer::Caller;
use crate::service::wire::Failure;

/// How a check came out.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Verdict {
    /// As it should be.
    Ok,
    /// Works, but a DPO would ask about it.
    Warn,
    /// Must be fixed (live sending refuses, or the trail is broken).
    Fail,
}

/// One check.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Check {
    /// What was checked.
    pub name: String,
    /// The outcome.
    pub verdict: Verdict,
    /// What was found, and what to do.
    pub detail: String,
}

fn check(name: &str, verdict: Verdict, detail: impl Into<String>) -> Check {
    Check {
        name: name.into(),
        verdict,
        detail: detail.into(),
    }
}

impl Engine {
    /// Every check, in the order a DPO reads them.
    pub fn doctor(&self, caller: &Caller) -> Result<Vec<Check>, Failure> {
        self.authorize(caller, Role::Viewer, "running the checks")?;
        let c = &self.config;
        let live = !self.is_sandbox();
        let mut out = vec![check(
            "mode",
            Verdict::Ok,
            if live {
                format!(
                    "live: {} phone number {}",
                    c.api.base_url, c.api.phone_number_id
                )
            } else {
                "sandbox: nothing leaves this machine".to_string()
            },
        )];
        let dpa = &c.compliance;
        out.push(match (&dpa.processor, dpa.dpa_signed_at) {
            (Some(p), Some(at)) => check(
                "processing agreement (G16)",
                Verdict::Ok,
                format!(
                    "{p}, signed {at}{}",
                    dpa.dpa_reference
                        .as_deref()
                        .map(|r| format!(", reference {r}"))
                        .unwrap_or_default()
                ),
            ),
            _ => check(
                "processing agreement (G16)",
                if live { Verdict::Fail } else { Verdict::Warn },
                "not on record: set [compliance] processor and dpa_signed_at (live sending refuses until then)",
            ),
        });
        out.push(match &c.roles {
            None => check(
                "roles (G12)",
                Verdict::Ok,
                "no [roles]: only the store's owner may act, as admin",
            ),
            Some(r) => {
                let wide: Vec<&str> = [("admin", &r.admin), ("operator", &r.operator)]
                    .into_iter()
                    .filter(|(_, users)| users.iter().any(|u| u == "*"))
                    .map(|(role, _)| role)
                    .collect();
                let listed = format!(
                    "admin: {} · operator: {} · viewer: {}",
                    list(&r.admin),
                    list(&r.operator),
                    list(&r.viewer)
                );
                if wide.is_empty() {
                    check("roles (G12)", Verdict::Ok, listed)
                } else {
                    check(
                        "roles (G12)",
                        Verdict::Warn,
                        format!(
                            "every local user is {} (\"*\"): {listed}",
                            wide.join(" and ")
                        ),
                    )
                }
            }
        });
        let dir = self.store.dir();
        out.push(match crate::consent::store::shared_mode(dir) {
            None => check(
                "store permissions (G12)",
                Verdict::Ok,
                format!("{}: owner only", dir.display()),
            ),
            Some(mode) => check(
                "store permissions (G12)",
                Verdict::Warn,
                format!(
                    "{}: others can read it (mode {mode:04o}; used with --allow-shared-store)",
                    dir.display()
                ),
            ),
        });
        out.push(token_check(c, live));
        out.push(match self.store.audit().verify() {
            Ok(v) => match v.first_break {
                None => check(
                    "audit trail (G13)",
                    Verdict::Ok,
                    format!("{} entries, sound; head {}", v.entries, v.head),
                ),
                Some(b) => check("audit trail (G13)", Verdict::Fail, b),
            },
            Err(e) => check("audit trail (G13)", Verdict::Fail, e.to_string()),
        });
        let r = &c.retention;
        out.push(check(
            "retention (G9)",
            Verdict::Ok,
            format!(
                "results {}d · unconfirmed {}d · revoked {}d; applied {}",
                r.results.as_secs() / 86_400,
                r.pending_unconfirmed.as_secs() / 86_400,
                r.revoked.as_secs() / 86_400,
                if live {
                    "at start and daily"
                } else {
                    "daily and by bote purge"
                }
            ),
        ));
        Ok(out)
    }
}

fn list(users: &[String]) -> String {
    if users.is_empty() {
        "-".into()
    } else {
        users.join(", ")
    }
}

/// Where the token comes from, never what it is.
fn token_check(c: &crate::config::Config, live: bool) -> Check {
    use std::os::unix::fs::PermissionsExt;
    if let Some(path) = &c.api.token_file {
        return match std::fs::metadata(path) {
            Ok(m) if m.permissions().mode() & 0o077 != 0 => check(
                "access token (G12)",
                Verdict::Warn,
                format!(
                    "from {} — others can read it (mode {:04o}): chmod 600",
                    path.display(),
                    m.permissions().mode() & 0o7777
                ),
            ),
            Ok(_) => check(
                "access token (G12)",
                Verdict::Ok,
                format!("from {} (owner only)", path.display()),
            ),
            Err(e) => check(
                "access token (G12)",
                if live { Verdict::Fail } else { Verdict::Warn },
                format!("{}: {e}", path.display()),
            ),
        };
    }
    let set = std::env::var_os(&c.api.token_env).is_some_and(|v| !v.is_empty());
    match (set, live) {
        (true, _) => check(
            "access token (G12)",
            Verdict::Ok,
            format!("from ${} of the daemon's environment", c.api.token_env),
        ),
        (false, true) => check(
            "access token (G12)",
            Verdict::Fail,
            format!(
                "${} is not set and there is no [api] token_file",
                c.api.token_env
            ),
        ),
        (false, false) => check(
            "access token (G12)",
            Verdict::Ok,
            "none needed in the sandbox",
        ),
    }
}
