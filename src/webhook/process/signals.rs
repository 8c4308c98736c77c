//! Consent signals: opt-outs (G5) and double opt-in confirmations (G3).

use chrono::{DateTime, Duration as ChronoDuration, Utc};

use super::{
    masked, masked_user, InboundMessage, Outcome, Processor, Status, UserPreference, ACTOR,
    CLOCK_SKEW_MINUTES,
};
use crate::consent::{
    is_bsuid, Change, ConfirmationMethod, ConsentEvent, ConsentStatus, Identity, OptOut,
    Revocation, StoreError, UserOptOut,
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
        let who = Identity {
            phone: Phone::from_e164(&s.recipient_id),
            user_id: s.recipient_user_id.as_deref(),
        };
        self.opt_out_of(
            who,
            signal_time(s.timestamp, received_at),
            format!("webhook:{}", s.id),
            "status_131050",
            "the recipient stopped marketing messages (failed status, error 131050)",
        )
    }

    /// An opt-out of whoever `who` names: by number (or the number its
    /// BSUID is linked to), else a suppression of the BSUID alone.
    fn opt_out_of(
        &self,
        who: Identity<'_>,
        at: DateTime<Utc>,
        origin: String,
        signal: &str,
        reason: &str,
    ) -> Result<Outcome, StoreError> {
        if let Some(phone) = self.store.resolve(who)? {
            return self.opt_out(phone, at, origin, signal, reason);
        }
        let Some(user_id) = who.user_id.filter(|u| is_bsuid(u)) else {
            return Ok(Outcome::Ignored {
                what: format!("{signal} ({origin}) naming neither a phone number nor a user id"),
            });
        };
        let revocation = Revocation {
            at,
            actor: ACTOR.into(),
            origin: origin.clone(),
            reason: reason.into(),
        };
        match self.store.opt_out_user(user_id, &revocation)? {
            UserOptOut::Revoked(phone, topics) => Ok(Outcome::Revoked {
                phone: masked(phone),
                signal: signal.into(),
                topics,
                origin,
                suppressed: false,
            }),
            UserOptOut::Suppressed => {
                tracing::info!(user = %masked_user(user_id), signal, "opt-out from a user id no contact has: suppressed");
                Ok(Outcome::UserSuppressed {
                    user_id: masked_user(user_id),
                    signal: signal.into(),
                    origin,
                })
            }
        }
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
        let from = Phone::from_e164(&m.from);
        let user_id = m.from_user_id.as_deref().filter(|u| is_bsuid(u));
        // A message naming both ids teaches bote the contact's BSUID.
        if let (Some(p), Some(u)) = (from, user_id) {
            self.store.learn_user_id(u, p)?;
        }
        let who = Identity {
            phone: from,
            user_id,
        };
        if let Some(sys) = &m.system {
            let sender = self.store.resolve(who)?;
            return self.identity_change(m, sys, sender, at);
        }
        let answers = m.answers();
        let origin = format!("webhook:{}", m.id);
        if answers.iter().any(|a| self.keywords.is_stop(a)) {
            let (signal, reason) = if m.is_tap() {
                ("stop_button", "tapped the stop button")
            } else {
                ("stop_keyword", "replied with a stop keyword")
            };
            return self.opt_out_of(who, at, origin, signal, reason);
        }
        let Some(phone) = self.store.resolve(who)? else {
            return Ok(Outcome::Ignored {
                what: format!(
                    "message {} from a sender bote cannot tell by number or user id",
                    m.id
                ),
            });
        };
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
                let who = p
                    .user_id
                    .as_deref()
                    .filter(|_| p.wa_id.is_empty())
                    .unwrap_or(&p.wa_id);
                let id = format!("{who}|{}|{}", p.value, t.timestamp());
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
        let who = Identity {
            phone: Phone::from_e164(&p.wa_id),
            user_id: p.user_id.as_deref(),
        };
        if let (Some(phone), Some(u)) = (who.phone, who.user_id) {
            self.store.learn_user_id(u, phone)?;
        }
        if !(p.category.is_empty() || p.category == "marketing_messages") {
            return Ok(Outcome::Ignored {
                what: format!("user preference category {:?}", p.category),
            });
        }
        let at = p
            .timestamp
            .map_or(received_at, |t| signal_time(t, received_at));
        let value = p.value.to_ascii_lowercase();
        if value == "stop" {
            return self.opt_out_of(
                who,
                at,
                format!("webhook:user_preferences:{entry}"),
                "user_preferences",
                "the user stopped marketing messages in WhatsApp (user_preferences)",
            );
        }
        let Some(phone) = self.store.resolve(who)? else {
            return Ok(Outcome::Ignored {
                what: "user preference of a user bote cannot tell by number or user id".into(),
            });
        };
        match value.as_str() {
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
