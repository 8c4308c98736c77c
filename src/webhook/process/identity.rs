//! System messages about a person's identity: `user_changed_number` (a
//! new number, with a new BSUID) and `user_changed_user_id` (a new BSUID
//! only). Both are recorded in the contact's history.
//!
//! A changed number also ends the old number's consents: bote sends to
//! numbers, and the old one may be given to someone else. The new number
//! needs its own consent (an invitation), so nothing is moved to it.

use chrono::{DateTime, Utc};

use super::{masked, InboundMessage, Outcome, Processor, ACTOR};
use crate::consent::{Change, ConsentEvent, Revocation, StoreError};
use crate::phone::Phone;
use crate::webhook::payload::System;

impl Processor {
    /// A system message from `sender` (resolved by number or BSUID).
    pub(super) fn identity_change(
        &self,
        m: &InboundMessage,
        sys: &System,
        sender: Option<Phone>,
        at: DateTime<Utc>,
    ) -> Result<Outcome, StoreError> {
        let what = sys.kind.as_str();
        if !matches!(what, "user_changed_number" | "user_changed_user_id") {
            return Ok(Outcome::Ignored {
                what: format!("system message {what:?} {}", m.id),
            });
        }
        let Some(phone) = sender else {
            return Ok(Outcome::Ignored {
                what: format!("{what} {} about someone bote does not know", m.id),
            });
        };
        let origin = format!("webhook:{}", m.id);
        let new_phone = sys.wa_id.as_deref().and_then(Phone::from_e164);
        let recorded = {
            let _writer = self.store.consent_writer();
            match self.store.contact(phone)? {
                None => false,
                Some(contact) => {
                    let event = ConsentEvent {
                        recorded_at: Utc::now(),
                        actor: ACTOR.into(),
                        origin: origin.clone(),
                        change: Change::IdentityChanged {
                            what: what.into(),
                            user_id: sys.user_id.clone(),
                            new_phone: new_phone.map(Phone::e164),
                        },
                    };
                    // audit: Store::write records every event it is given.
                    self.store.write(&contact, &[event])?;
                    true
                }
            }
        };
        if !recorded {
            return Ok(Outcome::Ignored {
                what: format!("{what} {} of a number not in the store", m.id),
            });
        }
        let mut topics_revoked = 0;
        match what {
            "user_changed_user_id" => {
                if let Some(u) = sys.user_id.as_deref() {
                    self.store.learn_user_id(u, phone)?;
                }
            }
            _ => {
                topics_revoked = self.store.revoke(
                    phone,
                    None,
                    &Revocation {
                        at,
                        actor: ACTOR.into(),
                        origin,
                        reason: "the person changed their WhatsApp number (user_changed_number): this number may go to someone else, and the new one needs its own consent".into(),
                    },
                )?;
            }
        }
        tracing::info!(phone = %masked(phone), what, topics_revoked, "WhatsApp identity changed");
        Ok(Outcome::IdentityChanged {
            phone: masked(phone),
            what: what.into(),
            topics_revoked,
        })
    }
}
