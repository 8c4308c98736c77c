//! `[compliance]`, `[retention]` and `[roles]`: the processing agreement, deletion periods and who may do what.

use std::fmt;
use std::time::Duration;

use serde::Deserialize;

use super::period::de_period;

/// `[compliance]`: the data-processing agreement (G16).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ComplianceConfig {
    /// The processor: Meta or the chosen BSP.
    pub processor: Option<String>,
    /// When the DPA was signed; live sends refuse without it.
    pub dpa_signed_at: Option<chrono::NaiveDate>,
    /// The DPA's document reference.
    pub dpa_reference: Option<String>,
}

/// `[retention]` (G9).
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RetentionConfig {
    /// Per-recipient campaign results.
    #[serde(deserialize_with = "de_period")]
    pub results: Duration,
    /// Consents that were never confirmed.
    #[serde(deserialize_with = "de_period")]
    pub pending_unconfirmed: Duration,
    /// Revoked records before they shrink to a suppression hash.
    #[serde(deserialize_with = "de_period")]
    pub revoked: Duration,
}

impl Default for RetentionConfig {
    fn default() -> Self {
        Self {
            results: Duration::from_secs(180 * 86_400),
            pending_unconfirmed: Duration::from_secs(30 * 86_400),
            revoked: Duration::ZERO,
        }
    }
}

/// `[roles]`: OS user names per role; `*` matches everyone (G12).
/// Without a `[roles]` section only the store's owner may act, as admin
/// (see [`Config::roles`](super::Config::roles)): safe by default.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RolesConfig {
    /// May do everything, including erasure and restores.
    pub admin: Vec<String>,
    /// May import and send.
    pub operator: Vec<String>,
    /// May look.
    pub viewer: Vec<String>,
}

/// What a user may do (G12).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Role {
    /// May look.
    Viewer,
    /// May import and send.
    Operator,
    /// May do everything, including erasure and restores.
    Admin,
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Viewer => "viewer",
            Self::Operator => "operator",
            Self::Admin => "admin",
        })
    }
}

impl RolesConfig {
    /// The highest role `user` has; `*` in a list matches everyone.
    pub fn role_of(&self, user: &str) -> Option<Role> {
        let has = |list: &[String]| list.iter().any(|u| u == "*" || u == user);
        if has(&self.admin) {
            Some(Role::Admin)
        } else if has(&self.operator) {
            Some(Role::Operator)
        } else if has(&self.viewer) {
            Some(Role::Viewer)
        } else {
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::tests::parse;
    use super::*;

    #[test]
    fn roles_match_users_and_wildcards() {
        let c = parse(include_str!("../../sample-data/bote.toml")).expect("sample config");
        let roles = c.roles.expect("the sample has [roles]");
        assert_eq!(roles.role_of("alice"), Some(Role::Admin));
        assert_eq!(roles.role_of("bob"), Some(Role::Operator));
        assert_eq!(roles.role_of("mallory"), Some(Role::Viewer));
        let none = RolesConfig {
            admin: vec![],
            operator: vec![],
            viewer: vec![],
        };
        assert_eq!(none.role_of("x"), None);
        let c = parse("[api]\nmessaging_tier = 1000\n").expect("config");
        assert!(c.roles.is_none(), "no [roles]: owner only, not everyone");
    }
}
