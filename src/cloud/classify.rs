//! What a send's answer means for the campaign: Graph error code → action.
//!
//! Meta reuses HTTP 400 for very different failures, so the decision is made
//! by `error.code` (the table in `docs/cloud-api.md`), and the HTTP status is
//! only a fallback when no Graph error body came back. The classification is
//! a pure function so that the whole table is pinned by one unit test.
//!
//! Retrying is only ever proposed when the API clearly did **not** take the
//! message (it answered with an error); a lost answer is [`SendOutcome::Unknown`]
//! and must never be retried automatically (design invariant 2).

use std::time::Duration;

use super::types::{GraphError, MessageStatus};

/// Who has to wait before the next attempt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RetryScope {
    /// Only this recipient (pair rate, transient server errors).
    Recipient,
    /// Every send through this phone number: lower the dispatch rate too.
    Number,
    /// Every send of the app / WABA (hourly call limits, unreachable API).
    App,
}

/// The result of one send, as the dispatcher acts on it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SendOutcome {
    /// The API took the message (not yet delivered).
    Accepted {
        /// The `wamid.…` id status webhooks refer to.
        wamid: String,
        /// Accepted or held for quality assessment.
        status: MessageStatus,
        /// The WhatsApp id, when Meta returned one.
        wa_id: Option<String>,
    },
    /// Not taken; try again after `backoff` (doubled per attempt, plus
    /// jitter, by the dispatcher), within its retry budget.
    Retry {
        /// The Graph code; `None` for a bare 429 or an unreachable API.
        code: Option<i64>,
        /// The first-attempt wait.
        backoff: Duration,
        /// Who waits.
        scope: RetryScope,
    },
    /// Not taken, and it never will be for this recipient in this campaign.
    FinalForRecipient {
        /// The Graph code; `None` for a bare 4xx without a Graph body.
        code: Option<i64>,
        /// 131050: the user stopped marketing; revoke the consent (G5).
        revoke_consent: bool,
        /// Meta's explanation.
        message: String,
    },
    /// Not taken because of Meta's per-user marketing cap (131049), which
    /// is not the recipient's doing: recorded as deferred, and sent again
    /// only when the operator asks, at least 24 h later.
    Deferred {
        /// The Graph code.
        code: Option<i64>,
        /// Meta's explanation.
        message: String,
    },
    /// Not taken, and no other recipient will fare better: pause the
    /// campaign and tell the operator.
    StopCampaign {
        /// The Graph code; `None` for errors found before sending.
        code: Option<i64>,
        /// Meta's explanation, or bote's.
        message: String,
    },
    /// The request may have been taken (timeout or connection lost after it
    /// was written): record as unknown, reconcile from webhooks, never retry.
    Unknown {
        /// What happened.
        reason: String,
    },
}

impl SendOutcome {
    /// The Graph error code, if the outcome carries one.
    pub fn code(&self) -> Option<i64> {
        match self {
            Self::Retry { code, .. }
            | Self::FinalForRecipient { code, .. }
            | Self::Deferred { code, .. }
            | Self::StopCampaign { code, .. } => *code,
            Self::Accepted { .. } | Self::Unknown { .. } => None,
        }
    }
}

/// First wait after a throughput error (130429).
pub const THROUGHPUT_BACKOFF: Duration = Duration::from_secs(1);
/// First wait after a pair-rate error (131056): Meta allows ~1 per 6 s.
pub const PAIR_RATE_BACKOFF: Duration = Duration::from_secs(6);
/// First wait after an app / WABA call limit (4, 80007).
pub const APP_RATE_BACKOFF: Duration = Duration::from_secs(5 * 60);
/// First wait after a transient server error (1, 2, 131000, 131016, a 5xx with a Graph body).
pub const TRANSIENT_BACKOFF: Duration = Duration::from_millis(500);
/// First wait after the Marketing Messages API refused a template it has
/// not synced yet (new or long unused): Meta says up to 10 minutes.
pub const TEMPLATE_SYNC_BACKOFF: Duration = Duration::from_secs(120);
/// First wait after the number answered that it is being upgraded (131057,
/// maintenance mode during a throughput upgrade, ≤ 1 minute).
pub const UPGRADE_BACKOFF: Duration = Duration::from_secs(5);
/// The per-user marketing cap, counted across all businesses.
pub const MARKETING_CAP: i64 = 131_049;
/// "Parameter value is not valid" — on the Marketing Messages API also
/// what a template not yet synced there is refused with.
pub const TEMPLATE_NOT_SYNCED: i64 = 131_009;
/// A parameter holds a newline, a tab or more than 4 consecutive spaces.
pub const PARAMETER_NOT_ALLOWED: i64 = 132_018;
/// A payment problem on the account.
pub const PAYMENT_PROBLEM: i64 = 131_042;
/// The Marketing Messages API refused a template that is not MARKETING:
/// the category bote routed by is stale (sync the templates).
pub const MARKETING_ONLY: i64 = 131_055;
/// The number is in maintenance mode (a throughput upgrade).
pub const THROUGHPUT_UPGRADE: i64 = 131_057;
/// First wait after the API could not be reached at all.
pub const UNREACHABLE_BACKOFF: Duration = Duration::from_secs(2);

/// What bote does with a Graph error code, per the doc's table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Reaction {
    Throughput,
    PairRate,
    AppRate,
    Transient,
    Final,
    FinalRevoke,
    Defer,
    Stop,
}

fn reaction(code: i64) -> Option<Reaction> {
    use Reaction::*;
    Some(match code {
        130429 | THROUGHPUT_UPGRADE => Throughput,
        131056 => PairRate,
        4 | 80007 => AppRate,
        1 | 2 | 131000 | 131016 => Transient,
        131050 => FinalRevoke,
        MARKETING_CAP => Defer,
        130472
        | 131026
        | 131047
        | 131051
        | 131052
        | 131053
        | 132005
        | PARAMETER_NOT_ALLOWED
        | 135000 => Final,
        0
        | 190
        | 3
        | 10
        | 200..=299
        | 131048
        | PAYMENT_PROBLEM
        | MARKETING_ONLY
        | 132000
        | 132001
        | 132007
        | 132012
        | 132015
        | 132016
        | 133010
        | 368
        | 131031 => Stop,
        _ => return None,
    })
}

/// Classifies an API answer that was not a success body: the HTTP status
/// and, when the body was a Graph error, that error.
pub fn classify(http_status: u16, error: Option<&GraphError>) -> SendOutcome {
    let Some(error) = error else {
        return classify_bare_status(http_status);
    };
    let code = Some(error.code);
    let message = error.describe();
    let retry = |backoff, scope| SendOutcome::Retry {
        code,
        backoff,
        scope,
    };
    match reaction(error.code) {
        Some(Reaction::Throughput) if error.code == THROUGHPUT_UPGRADE => {
            retry(UPGRADE_BACKOFF, RetryScope::Number)
        }
        Some(Reaction::Throughput) => retry(THROUGHPUT_BACKOFF, RetryScope::Number),
        Some(Reaction::Defer) => SendOutcome::Deferred { code, message },
        Some(Reaction::PairRate) => retry(PAIR_RATE_BACKOFF, RetryScope::Recipient),
        Some(Reaction::AppRate) => retry(APP_RATE_BACKOFF, RetryScope::App),
        Some(Reaction::Transient) => retry(TRANSIENT_BACKOFF, RetryScope::Recipient),
        Some(Reaction::Final) => SendOutcome::FinalForRecipient {
            code,
            revoke_consent: false,
            message,
        },
        Some(Reaction::FinalRevoke) => SendOutcome::FinalForRecipient {
            code,
            revoke_consent: true,
            message,
        },
        // An expired or revoked token: say how to get going again.
        Some(Reaction::Stop) if error.code == 190 => SendOutcome::StopCampaign {
            code,
            message: format!(
                "{message} — renew the access token (rewrite api.token_file, or restart the daemon with the new token), then resume"
            ),
        },
        Some(Reaction::Stop) => SendOutcome::StopCampaign { code, message },
        None if http_status >= 500 => retry(TRANSIENT_BACKOFF, RetryScope::Recipient),
        None if (400..500).contains(&http_status) => SendOutcome::FinalForRecipient {
            code,
            revoke_consent: false,
            message,
        },
        None => SendOutcome::Unknown {
            reason: format!(
                "HTTP {http_status} with unknown Graph error code {}: {message}",
                error.code
            ),
        },
    }
}

/// As [`classify`], for an answer of the Marketing Messages API: there a
/// "parameter value not valid" (131009) is also how a template that is not
/// synced yet is refused, so it is retried later rather than final.
pub fn classify_marketing(http_status: u16, error: Option<&GraphError>) -> SendOutcome {
    match error {
        Some(e) if e.code == TEMPLATE_NOT_SYNCED => SendOutcome::Retry {
            code: Some(e.code),
            backoff: TEMPLATE_SYNC_BACKOFF,
            scope: RetryScope::App,
        },
        _ => classify(http_status, error),
    }
}

/// No Graph error body came back (a proxy's page, an empty body).
fn classify_bare_status(status: u16) -> SendOutcome {
    let code = None;
    match status {
        // A proxy's 502/504 or a bare 500 may come after Meta took the
        // message: only a Graph error body proves it was not taken.
        500..=599 => SendOutcome::Unknown {
            reason: format!("HTTP {status} without a Graph error: the message may have been taken"),
        },
        429 => SendOutcome::Retry {
            code,
            backoff: THROUGHPUT_BACKOFF,
            scope: RetryScope::Number,
        },
        401 | 403 => SendOutcome::StopCampaign {
            code,
            message: format!(
                "HTTP {status} without a Graph error: check the token and auth header"
            ),
        },
        400..=499 => SendOutcome::FinalForRecipient {
            code,
            revoke_consent: false,
            message: format!("HTTP {status} without a Graph error"),
        },
        300..=399 => SendOutcome::StopCampaign {
            code,
            message: format!("HTTP {status} redirect: check api.base_url"),
        },
        _ => SendOutcome::Unknown {
            reason: format!("HTTP {status} without a message id or a Graph error"),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn err(code: i64) -> GraphError {
        GraphError {
            message: format!("(#{code}) test"),
            code,
            ..GraphError::default()
        }
    }

    #[derive(Debug, PartialEq)]
    enum Want {
        Retry(RetryScope),
        Final,
        Revoke,
        Defer,
        Stop,
    }

    fn kind(o: &SendOutcome) -> Option<Want> {
        Some(match o {
            SendOutcome::Retry { scope, .. } => Want::Retry(*scope),
            SendOutcome::FinalForRecipient {
                revoke_consent: false,
                ..
            } => Want::Final,
            SendOutcome::FinalForRecipient {
                revoke_consent: true,
                ..
            } => Want::Revoke,
            SendOutcome::StopCampaign { .. } => Want::Stop,
            SendOutcome::Deferred { .. } => Want::Defer,
            _ => return None,
        })
    }

    /// Every code of the table in `docs/cloud-api.md`, with the HTTP status
    /// Meta typically uses; the status must not change the answer.
    #[test]
    fn every_documented_code() {
        use RetryScope::*;
        use Want::*;
        let mut table: Vec<(i64, Want)> = vec![
            (0, Stop),
            (190, Stop),
            (3, Stop),
            (10, Stop),
            (4, Retry(App)),
            (80007, Retry(App)),
            (130429, Retry(Number)),
            (131056, Retry(Recipient)),
            (131048, Stop),
            (131049, Defer),
            (131042, Stop),
            (132018, Final),
            (131057, Retry(Number)),
            (131055, Stop),
            (130472, Final),
            (131050, Revoke),
            (131026, Final),
            (131047, Final),
            (131051, Final),
            (131052, Final),
            (131053, Final),
            (132000, Stop),
            (132001, Stop),
            (132005, Final),
            (132007, Stop),
            (132012, Stop),
            (132015, Stop),
            (132016, Stop),
            (133010, Stop),
            (135000, Final),
            (1, Retry(Recipient)),
            (2, Retry(Recipient)),
            (131000, Retry(Recipient)),
            (131016, Retry(Recipient)),
            (368, Stop),
            (131031, Stop),
        ];
        table.extend((200..=299).map(|c| (c, Stop)));
        for (code, want) in table {
            for status in [400, 401, 403, 429, 500, 503] {
                let got = classify(status, Some(&err(code)));
                assert_eq!(
                    kind(&got).as_ref(),
                    Some(&want),
                    "code {code} HTTP {status}: {got:?}"
                );
                assert_eq!(got.code(), Some(code));
            }
        }
    }

    #[test]
    fn backoffs_match_the_reaction() {
        let backoff = |code| match classify(400, Some(&err(code))) {
            SendOutcome::Retry { backoff, .. } => backoff,
            other => panic!("{code}: {other:?}"),
        };
        assert!(
            backoff(4) >= Duration::from_secs(60),
            "minutes for app limits"
        );
        assert!(
            backoff(131056) >= Duration::from_secs(1),
            "seconds for pair rate"
        );
        assert!(backoff(130429) < backoff(4));
    }

    #[test]
    fn an_unsynced_template_on_the_marketing_api_is_retried_later() {
        let o = classify_marketing(400, Some(&err(TEMPLATE_NOT_SYNCED)));
        assert!(
            matches!(o, SendOutcome::Retry { backoff, scope: RetryScope::App, .. } if backoff >= Duration::from_secs(60)),
            "{o:?}"
        );
        // On /messages the same code is an ordinary bad parameter.
        assert_eq!(
            kind(&classify(400, Some(&err(TEMPLATE_NOT_SYNCED)))),
            Some(Want::Final)
        );
        // Everything else is classified the same on both endpoints.
        for code in [131049, 131050, 130429, 132015, 131042] {
            assert_eq!(
                kind(&classify_marketing(400, Some(&err(code)))),
                kind(&classify(400, Some(&err(code)))),
                "{code}"
            );
        }
    }

    #[test]
    fn unknown_codes_follow_the_status() {
        let o = classify(400, Some(&err(424242)));
        assert_eq!(kind(&o), Some(Want::Final));
        let o = classify(502, Some(&err(424242)));
        assert_eq!(kind(&o), Some(Want::Retry(RetryScope::Recipient)));
        assert!(matches!(
            classify(200, Some(&err(424242))),
            SendOutcome::Unknown { .. }
        ));
    }

    #[test]
    fn bare_statuses() {
        for status in [500, 502, 503, 504] {
            assert!(
                matches!(classify(status, None), SendOutcome::Unknown { .. }),
                "HTTP {status} without a body may have been taken: never retried"
            );
        }
        assert_eq!(
            kind(&classify(429, None)),
            Some(Want::Retry(RetryScope::Number))
        );
        assert_eq!(kind(&classify(401, None)), Some(Want::Stop));
        assert_eq!(kind(&classify(404, None)), Some(Want::Final));
        assert_eq!(kind(&classify(302, None)), Some(Want::Stop));
        assert!(matches!(classify(200, None), SendOutcome::Unknown { .. }));
    }
}
