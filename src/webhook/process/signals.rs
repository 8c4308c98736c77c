//! Consent signals: opt-outs (G5) and double opt-in confirmations (G3).

use chrono::{DateTime, Duration as ChronoDuration, Utc};

use super::{
    masked, InboundMessage, Outcome, Processor, Status, UserPreference, ACTOR, CLOCK_SKEW_MINUTES,
};
use crate::consent::{
    Change, ConfirmationMethod, ConsentEvent, ConsentStatus, OptOut, Revocation, StoreError,
};
use crate::phone::Phone;
use crate::webhook::seen::SeenEvents;

/// When a signal happened: its own time, unless that is later than its
/// arrival allows (see [`CLOCK_SKEW_MINUTES`]).
fn signal_time(at: DateTime<Utc>, received_at: DateTime<Utc>) -> DateTime<Utc> {
    let latest = received_at
        .checked_add_signed(ChronoDuration::minutes(CLOCK_SKEW_MINUTES))
        .unwrap_or(DateTime::<Utc>::MAX_UTC);
    at.min(latest)
}

impl Processor {
    /// A failed status with 131050: the number the status names stopped
    /// marketing. Only that number: the callback data may name a record of
    /// someone else ([`Processor::status`] rejects such a status).
    pub(super) fn status_revoke(
        &self,
        s: &Status,
        received_at: DateTime<Utc>,
    ) -> Result<Outcome, StoreError> {
        let Some(phone) = Phone::from_e164(&s.recipient_id) else {
            return Ok(Outcome::Ignored {
                what: format!("131050 for {} without a phone number", s.id),
            });
        };
        self.opt_out(
            phone,
            signal_time(s.timestamp, received_at),
            format!("webhook:{}", s.id),
            "status_131050",
            "the recipient stopped marketing messages (failed status, error 131050)",
        )
    }

    fn opt_out(
        &self,
        phone: Phone,
        at: DateTime<Utc>,
        origin: String,
        signal: &str,
        reason: &str,
    ) -> Result<Outcome, StoreError> {
        let done = self.store.opt_out(
            phone,
            &Revocation {
                at,
                actor: ACTOR.into(),
                origin: origin.clone(),
                reason: reason.into(),
            },
        )?;
        let (topics, suppressed) = match done {
            OptOut::Revoked(n) => (n, false),
            OptOut::Suppressed => (0, true),
        };
        if topics > 0 {
            tracing::info!(phone = %masked(phone), signal, topics, "consent revoked by webhook");
        } else if suppressed {
            tracing::info!(phone = %masked(phone), signal, "opt-out from a number not in the store: suppressed");
        }
        Ok(Outcome::Revoked {
            phone: masked(phone),
            signal: signal.into(),
            topics,
            origin,
            suppressed,
        })
    }

    /// Runs `apply` once per event id: a redelivered event (the same id,
    /// processed before) is only reported. The id is remembered after the
    /// change, so a crash in between repeats the (idempotent) change rather
    /// than losing it.
    fn once(
        &self,
        kind: &str,
        id: &str,
        what: &str,
        apply: impl FnOnce() -> Result<Outcome, StoreError>,
    ) -> Result<Outcome, StoreError> {
        let key = SeenEvents::digest(&self.store, kind, id);
        if self.seen.contains(&key)? {
            return Ok(Outcome::Ignored {
                what: format!("{what} again: processed before (redelivered)"),
            });
        }
        let outcome = apply()?;
        self.seen.insert(&key, Utc::now())?;
        Ok(outcome)
    }

    pub(super) fn message(
        &self,
        m: &InboundMessage,
        received_at: DateTime<Utc>,
    ) -> Result<Outcome, StoreError> {
        self.once("message", &m.id, &format!("message {}", m.id), || {
            self.message_once(m, signal_time(m.timestamp, received_at))
        })
    }

    fn message_once(&self, m: &InboundMessage, at: DateTime<Utc>) -> Result<Outcome, StoreError> {
        let Some(phone) = Phone::from_e164(&m.from) else {
            return Ok(Outcome::Ignored {
                what: format!("message {} from a sender that is not a phone number", m.id),
            });
        };
        let answers = m.answers();
        let origin = format!("webhook:{}", m.id);
        if answers.iter().any(|a| self.keywords.is_stop(a)) {
            let (signal, reason) = if m.is_tap() {
                ("stop_button", "tapped the stop button")
            } else {
                ("stop_keyword", "replied with a stop keyword")
            };
            return self.opt_out(phone, at, origin, signal, reason);
        }
        if answers.iter().any(|a| self.keywords.is_confirm(a)) {
            let method = if m.is_tap() {
                ConfirmationMethod::Button
            } else {
                ConfirmationMethod::Reply
            };
            let topics = self.confirm(phone, at, method, &origin)?;
            if topics.is_empty() {
                return Ok(Outcome::Ignored {
                    what: format!(
                        "confirmation {} answers no open invitation: nothing confirmed",
                        m.id
                    ),
                });
            }
            return Ok(Outcome::Confirmed {
                phone: masked(phone),
                topics,
                method,
                origin,
            });
        }
        // The text itself is not kept (G8).
        Ok(Outcome::Ignored {
            what: format!("{} message {} without a keyword", m.kind, m.id),
        })
    }

    /// Pending topics → confirmed, with one `Confirmed` event each, in one
    /// atomic write, holding the store's consent writer from the read to
    /// the write, so a confirmation never overwrites a newer revocation
    /// (by the dispatcher, an operator or an import).
    fn confirm(
        &self,
        phone: Phone,
        at: DateTime<Utc>,
        method: ConfirmationMethod,
        origin: &str,
    ) -> Result<Vec<String>, StoreError> {
        let _writer = self.store.consent_writer();
        let Some(before) = self.store.contact(phone)? else {
            return Ok(Vec::new());
        };
        let mut contact = before.clone();
        let mut events = Vec::new();
        let mut topics = Vec::new();
        for (name, t) in contact.topics.iter_mut() {
            // Checked: `at` comes from the body and may be any time.
            let after_signup = t
                .opted_in_at
                .checked_sub_signed(ChronoDuration::minutes(CLOCK_SKEW_MINUTES))
                .is_none_or(|earliest| at >= earliest);
            if t.status != ConsentStatus::Pending || !after_signup {
                continue;
            }
            // A "JA" confirms only what bote asked to confirm, and only while
            // the request is fresh: an unsolicited yes proves nothing about
            // a topic nobody put to the person (double opt-in, G3).
            // An invitation still `Sending` was claimed right before its
            // request left: it counts as asked.
            let invited = self.invites.get(phone, name)?.is_some_and(|inv| {
                let from = inv
                    .at
                    .checked_sub_signed(ChronoDuration::minutes(CLOCK_SKEW_MINUTES))
                    .unwrap_or(inv.at);
                let until = inv
                    .at
                    .checked_add_signed(self.invitation_valid_for)
                    .unwrap_or(DateTime::<Utc>::MAX_UTC);
                at >= from && at <= until
            });
            if !invited {
                continue;
            }
            t.status = ConsentStatus::Confirmed;
            t.confirmed_at = Some(at);
            t.method = Some(method);
            topics.push(name.clone());
            events.push(ConsentEvent {
                recorded_at: Utc::now(),
                actor: ACTOR.into(),
                origin: origin.into(),
                change: Change::Confirmed {
                    topic: name.clone(),
                    confirmed_at: at,
                    method,
                },
            });
        }
        if events.is_empty() {
            return Ok(topics);
        }
        self.store.write(&contact, &events)?;
        tracing::info!(phone = %masked(phone), ?topics, %method, "consent confirmed by webhook");
        Ok(topics)
    }

    pub(super) fn preference(
        &self,
        p: &UserPreference,
        received_at: DateTime<Utc>,
        entry: u64,
    ) -> Result<Outcome, StoreError> {
        // A preference has no id; one with a time is the same event when
        // user, value and time are (one without is dated by its delivery,
        // so each delivery is its own).
        match p.timestamp {
            Some(t) => {
                let id = format!("{}|{}|{}", p.wa_id, p.value, t.timestamp());
                self.once("preference", &id, "user preference", || {
                    self.preference_once(p, received_at, entry)
                })
            }
            None => self.preference_once(p, received_at, entry),
        }
    }

    fn preference_once(
        &self,
        p: &UserPreference,
        received_at: DateTime<Utc>,
        entry: u64,
    ) -> Result<Outcome, StoreError> {
        let Some(phone) = Phone::from_e164(&p.wa_id) else {
            return Ok(Outcome::Ignored {
                what: "user preference of a user without a phone number".into(),
            });
        };
        if !(p.category.is_empty() || p.category == "marketing_messages") {
            return Ok(Outcome::Ignored {
                what: format!("user preference category {:?}", p.category),
            });
        }
        let at = p
            .timestamp
            .map_or(received_at, |t| signal_time(t, received_at));
        match p.value.to_ascii_lowercase().as_str() {
            "stop" => self.opt_out(
                phone,
                at,
                format!("webhook:user_preferences:{entry}"),
                "user_preferences",
                "the user stopped marketing messages in WhatsApp (user_preferences)",
            ),
            // Allowing marketing again in WhatsApp is not a consent (G3, G5).
            "resume" => {
                tracing::info!(phone = %masked(phone), "marketing resumed in WhatsApp; consent unchanged");
                Ok(Outcome::Resumed {
                    phone: masked(phone),
                    at,
                })
            }
            other => Ok(Outcome::Ignored {
                what: format!("user preference value {other:?}"),
            }),
        }
    }
}
