//! The account's state as Meta reports it: the number's quality
//! (`phone_number_quality_update`), restrictions and bans
//! (`account_update`), alerts (`account_alerts`) and the portfolio's
//! messaging limit (`business_capability_update`). One small JSON value in
//! the store's `account` tree: these arrive a few times a day at most.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::PlatformError;

/// The tree and its one key.
const TREE: &str = "account";
const KEY: &[u8] = b"state";
/// Alerts kept (the newest); older ones are in the audit trail.
const ALERTS_KEPT: usize = 20;

/// One notice from Meta: what it said and when bote heard it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Notice {
    /// Meta's `event` (or alert type): `FLAGGED`, `DOWNGRADE`,
    /// `ACCOUNT_RESTRICTION`, ….
    pub event: String,
    /// Further words Meta gave (limit, restriction, description), if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
    /// When bote heard it.
    pub at: DateTime<Utc>,
}

/// The portfolio's messaging limit (unique users per rolling 24 h).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MessagingLimit {
    /// The limit; `u64::MAX` for unlimited.
    pub tier: u64,
    /// As Meta wrote it (`TIER_2K`, `2000`, …).
    pub raw: String,
    /// Where bote learnt it (`business_capability_update webhook`, …).
    pub source: String,
    /// When.
    pub at: DateTime<Utc>,
}

impl MessagingLimit {
    /// Reads Meta's limit: `TIER_250`, `TIER_2K`, `TIER_10K`, `TIER_100K`,
    /// `TIER_UNLIMITED` (also `UNLIMITED`), or a plain number. **bote's
    /// choice:** both spellings are read, since Meta has used both.
    pub fn parse_tier(raw: &serde_json::Value) -> Option<u64> {
        if let Some(n) = raw.as_u64() {
            return (n > 0).then_some(n);
        }
        let s = raw.as_str()?.trim().to_ascii_uppercase();
        let s = s.strip_prefix("TIER_").unwrap_or(&s);
        if s == "UNLIMITED" {
            return Some(u64::MAX);
        }
        let (digits, scale) = match s.strip_suffix('K') {
            Some(d) => (d, 1_000),
            None => match s.strip_suffix('M') {
                Some(d) => (d, 1_000_000),
                None => (s, 1),
            },
        };
        digits
            .parse::<u64>()
            .ok()
            .and_then(|n| n.checked_mul(scale))
            .filter(|n| *n > 0)
    }

    /// How views show the limit.
    pub fn shown(&self) -> String {
        if self.tier == u64::MAX {
            "unlimited".into()
        } else {
            self.tier.to_string()
        }
    }
}

/// What bote knows about the account.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccountState {
    /// The number's latest quality notice.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub phone_quality: Option<Notice>,
    /// The latest `account_update` (restriction, ban, verification …).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub account: Option<Notice>,
    /// The newest alerts, newest last.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub alerts: Vec<Notice>,
    /// The messaging limit Meta reported, if it did.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub messaging_limit: Option<MessagingLimit>,
    /// The number's throughput level as the API last showed it (a sync).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub throughput: Option<Notice>,
}

impl AccountState {
    /// The lines a view shows (empty when Meta has said nothing).
    pub fn lines(&self) -> Vec<String> {
        let mut out = Vec::new();
        let when = |t: &DateTime<Utc>| t.format("%Y-%m-%d %H:%M UTC").to_string();
        if let Some(l) = &self.messaging_limit {
            out.push(format!(
                "messaging limit {} ({}, {})",
                l.shown(),
                l.source,
                when(&l.at)
            ));
        }
        for (what, n) in [
            ("number quality", &self.phone_quality),
            ("account", &self.account),
        ] {
            if let Some(n) = n {
                let detail = n
                    .detail
                    .as_deref()
                    .map(|d| format!(" {d}"))
                    .unwrap_or_default();
                out.push(format!("{what}: {}{detail} ({})", n.event, when(&n.at)));
            }
        }
        if let Some(t) = &self.throughput {
            out.push(format!("throughput {} (API, {})", t.event, when(&t.at)));
        }
        if let Some(a) = self.alerts.last() {
            let detail = a
                .detail
                .as_deref()
                .map(|d| format!(" {d}"))
                .unwrap_or_default();
            out.push(format!(
                "latest alert: {}{detail} ({})",
                a.event,
                when(&a.at)
            ));
        }
        out
    }
}

/// The account state in the store (cheap to clone).
#[derive(Debug, Clone)]
pub struct Account {
    tree: sled::Tree,
}

impl Account {
    /// Opens the tree in `db`.
    pub fn open(db: &sled::Db) -> Result<Self, PlatformError> {
        Ok(Self {
            tree: db.open_tree(TREE)?,
        })
    }

    /// What bote knows now.
    pub fn get(&self) -> Result<AccountState, PlatformError> {
        match self.tree.get(KEY)? {
            Some(v) => Ok(serde_json::from_slice(&v)?),
            None => Ok(AccountState::default()),
        }
    }

    /// Changes the state atomically (compare and swap, so two webhooks at
    /// once both land); the state afterwards.
    pub fn update(
        &self,
        change: impl Fn(&mut AccountState),
    ) -> Result<AccountState, PlatformError> {
        loop {
            let before = self.tree.get(KEY)?;
            let mut state: AccountState = match &before {
                Some(v) => serde_json::from_slice(v)?,
                None => AccountState::default(),
            };
            change(&mut state);
            let bytes = serde_json::to_vec(&state)?;
            if self
                .tree
                .compare_and_swap(KEY, before, Some(bytes))?
                .is_ok()
            {
                return Ok(state);
            }
        }
    }

    /// Adds an alert, keeping the newest [`ALERTS_KEPT`].
    pub fn alert(&self, notice: Notice) -> Result<AccountState, PlatformError> {
        self.update(|s| {
            if s.alerts.last() != Some(&notice) {
                s.alerts.push(notice.clone());
            }
            let extra = s.alerts.len().saturating_sub(ALERTS_KEPT);
            s.alerts.drain(..extra);
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn limits_read_in_both_spellings() {
        for (raw, want) in [
            (json!("TIER_250"), Some(250)),
            (json!("TIER_2K"), Some(2_000)),
            (json!("tier_10k"), Some(10_000)),
            (json!("TIER_100K"), Some(100_000)),
            (json!("TIER_UNLIMITED"), Some(u64::MAX)),
            (json!(1000), Some(1_000)),
            (json!("TIER_0"), None),
            (json!("lots"), None),
        ] {
            assert_eq!(MessagingLimit::parse_tier(&raw), want, "{raw}");
        }
    }

    #[test]
    fn the_state_keeps_the_newest_alerts() {
        let db = sled::Config::new().temporary(true).open().expect("db");
        let a = Account::open(&db).expect("tree");
        for i in 0..25 {
            a.alert(Notice {
                event: format!("A{i}"),
                detail: None,
                at: Utc::now(),
            })
            .expect("alert");
        }
        let s = a.get().expect("read");
        assert_eq!(s.alerts.len(), ALERTS_KEPT);
        assert_eq!(s.alerts.last().map(|n| n.event.as_str()), Some("A24"));
        assert!(s.lines().iter().any(|l| l.contains("A24")));
    }
}
