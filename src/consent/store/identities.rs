//! Business-scoped user ids (BSUID): since April 2026 every webhook about a
//! user names a BSUID (`DE.1502576394655843`), and users with a WhatsApp
//! username may have their number withheld. bote sends to numbers, so it
//! keeps which BSUID belongs to which contact, and honours an opt-out that
//! names only a BSUID (G5).
//!
//! Keys in the `consent` tree, beside the contact's own:
//!
//! ```text
//! u ‖ sha256(salt ‖ "bsuid" ‖ BSUID) → phone (8 BE)          a contact's BSUID(s)
//! x ‖ sha256(salt ‖ "bsuid" ‖ BSUID) → Suppression (JSON)    an opt-out from an unknown BSUID
//! ```
//!
//! Only contacts are linked (a status of bote's own send, or an inbound
//! message naming both ids): bote keeps no numbers of people who are not
//! in the store. An old BSUID stays linked after `user_changed_user_id`,
//! because Meta redelivers webhooks for days.
//!
//! An opt-out about a BSUID no contact is linked to leaves a suppression
//! (a salted hash of the BSUID, like the number suppressions). It reaches
//! the person the moment bote links that BSUID to a contact: the contact's
//! consents given before the opt-out are revoked then ([`Store::opt_out`]
//! ordered by the signal's own time, which moves the consent epoch, so the
//! dispatcher's re-check before every send sees it).

use super::{corrupt, Revocation, Store, StoreError, Suppression, SuppressionCause};
use crate::consent::Contact;
use crate::phone::Phone;

const LINK: u8 = b'u';
const USER_SUPPRESSED: u8 = b'x';

/// Whether `s` has the shape of a BSUID: two letters, a dot, then up to
/// 128 letters and digits (`DE.1502576394655843`; `…ENT…` parents included).
pub fn is_bsuid(s: &str) -> bool {
    let Some((cc, id)) = s.split_once('.') else {
        return false;
    };
    cc.len() == 2
        && cc.bytes().all(|b| b.is_ascii_uppercase())
        && (1..=128).contains(&id.len())
        && id.bytes().all(|b| b.is_ascii_alphanumeric())
}

/// Who a webhook is about: a number, a BSUID, or both.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Identity<'a> {
    /// The number, when Meta sent it.
    pub phone: Option<Phone>,
    /// The BSUID, when Meta sent one.
    pub user_id: Option<&'a str>,
}

/// What an opt-out naming only a BSUID did ([`Store::opt_out_user`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UserOptOut {
    /// The BSUID belongs to this contact: its consents were revoked (as many topics).
    Revoked(Phone, usize),
    /// No contact has the BSUID: it is suppressed, for when it is linked.
    Suppressed,
}

impl Store {
    fn user_key(&self, prefix: u8, user_id: &str) -> [u8; 33] {
        let mut k = [prefix; 33];
        k[1..].copy_from_slice(&self.salted_digest(b"bsuid", user_id.as_bytes()));
        k
    }

    /// The number of the contact a BSUID belongs to, if bote has learnt it.
    pub fn phone_of_user(&self, user_id: &str) -> Result<Option<Phone>, StoreError> {
        let key = self.user_key(LINK, user_id);
        match self.consent.get(key)? {
            Some(v) => Phone::from_key(&v)
                .map(Some)
                .ok_or_else(|| corrupt(&key, "not a phone number")),
            None => Ok(None),
        }
    }

    /// The number `who` names: its own, else the one its BSUID is linked to.
    pub fn resolve(&self, who: Identity<'_>) -> Result<Option<Phone>, StoreError> {
        if who.phone.is_some() {
            return Ok(who.phone);
        }
        match who.user_id {
            Some(u) => self.phone_of_user(u),
            None => Ok(None),
        }
    }

    /// The contact `who` names, by number or by BSUID.
    pub fn find_contact(&self, who: Identity<'_>) -> Result<Option<Contact>, StoreError> {
        match self.resolve(who)? {
            Some(p) => self.contact(p),
            None => Ok(None),
        }
    }

    /// The suppression an opt-out from the unknown BSUID `user_id` left.
    pub fn user_suppression(&self, user_id: &str) -> Result<Option<Suppression>, StoreError> {
        let key = self.user_key(USER_SUPPRESSED, user_id);
        self.consent
            .get(key)?
            .map(|v| serde_json::from_slice(&v).map_err(|e| corrupt(&key, e)))
            .transpose()
    }

    /// Links `user_id` to the contact `phone` (a status of bote's own send
    /// or an inbound message naming both). Nothing for a number that is not
    /// a contact, or a link already known. A suppression the BSUID left
    /// while unknown is applied to the contact now. Returns whether a new
    /// link was made.
    pub fn learn_user_id(&self, user_id: &str, phone: Phone) -> Result<bool, StoreError> {
        if !is_bsuid(user_id) {
            return Ok(false);
        }
        let key = self.user_key(LINK, user_id);
        if self.consent.get(key)?.is_some_and(|v| *v == phone.key()) {
            return Ok(false);
        }
        if self.contact(phone)?.is_none() {
            return Ok(false);
        }
        // Not a consent change: written alone, the epoch stays (learning
        // happens on every status and must not cost every send a re-check).
        self.consent.insert(key, &phone.key()[..])?;
        if let Some(s) = self.user_suppression(user_id)? {
            let done = self.opt_out(
                phone,
                &Revocation {
                    at: s.since,
                    actor: "webhook".into(),
                    origin: "bsuid-suppression".into(),
                    reason: "an opt-out that named only this person's business-scoped user id, before bote knew whose it was".into(),
                },
            )?;
            tracing::info!(phone = %phone.masked(4), ?done, "a BSUID suppression reached its contact");
        }
        Ok(true)
    }

    /// Queues the removal of every BSUID link to `phone` (an erasure, G10:
    /// nothing about the number may stay); returns how many.
    pub fn stage_forget_user_ids(
        &self,
        batch: &mut super::Batch,
        phone: Phone,
    ) -> Result<usize, StoreError> {
        let mut n = 0;
        for r in self.consent.scan_prefix([LINK]) {
            let (k, v) = r?;
            if *v == phone.key() {
                batch.inner.remove(k);
                batch.writes += 1;
                n += 1;
            }
        }
        Ok(n)
    }

    /// An opt-out signal naming only a BSUID: the linked contact's consents
    /// are revoked ([`Store::opt_out`]), else the BSUID is suppressed (the
    /// newest suppression is kept) until bote learns whose it is.
    pub fn opt_out_user(
        &self,
        user_id: &str,
        revocation: &Revocation,
    ) -> Result<UserOptOut, StoreError> {
        if let Some(phone) = self.phone_of_user(user_id)? {
            return Ok(match self.opt_out(phone, revocation)? {
                super::OptOut::Revoked(n) => UserOptOut::Revoked(phone, n),
                super::OptOut::Suppressed => UserOptOut::Revoked(phone, 0),
            });
        }
        let _writer = self.consent_writer();
        let newer = self
            .user_suppression(user_id)?
            .is_some_and(|s| s.since >= revocation.at);
        if !newer {
            let s = Suppression {
                since: revocation.at,
                cause: SuppressionCause::OptedOut,
            };
            let mut batch = super::Batch::default();
            let value = serde_json::to_vec(&s).map_err(|e| corrupt(b"bsuid", e))?;
            batch
                .inner
                .insert(&self.user_key(USER_SUPPRESSED, user_id)[..], value);
            batch.writes += 1;
            // A batch moves the consent epoch: plans and sends look again.
            self.commit(batch)?;
        }
        Ok(UserOptOut::Suppressed)
    }
}

#[cfg(test)]
mod tests {
    use chrono::{DateTime, Duration, Utc};

    use super::*;
    use crate::consent::store::fixtures::{contact, phone};
    use crate::consent::ConsentStatus;

    const BSUID: &str = "DE.1502576394655843";

    fn revocation(at: DateTime<Utc>) -> Revocation {
        Revocation {
            at,
            actor: "webhook".into(),
            origin: "webhook:wamid.X".into(),
            reason: "replied with a stop keyword".into(),
        }
    }

    #[test]
    fn bsuids_have_metas_shape() {
        for ok in [BSUID, "AT.a1", "US.ENT1502576394655843"] {
            assert!(is_bsuid(ok), "{ok}");
        }
        let long = format!("DE.{}", "1".repeat(129));
        for bad in [
            "",
            "DE",
            "de.123",
            "DE.",
            "D.123",
            "DE.12-3",
            "4917612345678",
            long.as_str(),
        ] {
            assert!(!is_bsuid(bad), "{bad}");
        }
    }

    #[test]
    fn a_contact_is_found_by_phone_or_by_its_learnt_bsuid() {
        let dir = tempfile::tempdir().expect("tmp");
        let store = Store::open(dir.path()).expect("open");
        let p = phone("0171 2345678");
        let stranger = phone("0171 7654321");
        store
            .write(&contact(p, ConsentStatus::Confirmed), &[])
            .expect("write");
        let by_user = Identity {
            phone: None,
            user_id: Some(BSUID),
        };
        assert_eq!(store.find_contact(by_user).expect("find"), None);
        let epoch = store.consent_epoch();
        assert!(store.learn_user_id(BSUID, p).expect("learn"));
        assert!(
            !store.learn_user_id(BSUID, p).expect("again"),
            "known: nothing new"
        );
        assert_eq!(
            store.consent_epoch(),
            epoch,
            "learning is no consent change"
        );
        assert!(
            !store.learn_user_id("DE.999", stranger).expect("stranger"),
            "only contacts"
        );
        assert_eq!(store.phone_of_user("DE.999").expect("read"), None);
        let found = store.find_contact(by_user).expect("find").expect("found");
        assert_eq!(found.phone, p);
        let by_phone = Identity {
            phone: Some(p),
            user_id: None,
        };
        assert_eq!(
            store.find_contact(by_phone).expect("find").map(|c| c.phone),
            Some(p)
        );
    }

    #[test]
    fn an_erasure_can_forget_every_bsuid_of_a_number() {
        let dir = tempfile::tempdir().expect("tmp");
        let store = Store::open(dir.path()).expect("open");
        let (p, q) = (phone("0171 2345678"), phone("0171 7654321"));
        store
            .write(&contact(p, ConsentStatus::Confirmed), &[])
            .expect("write");
        store
            .write(&contact(q, ConsentStatus::Confirmed), &[])
            .expect("write");
        store.learn_user_id(BSUID, p).expect("learn");
        store.learn_user_id("DE.2", p).expect("learn");
        store.learn_user_id("DE.3", q).expect("learn");
        let mut batch = crate::consent::store::Batch::default();
        assert_eq!(
            store.stage_forget_user_ids(&mut batch, p).expect("stage"),
            2
        );
        store.commit(batch).expect("commit");
        assert_eq!(store.phone_of_user(BSUID).expect("read"), None);
        assert_eq!(store.phone_of_user("DE.2").expect("read"), None);
        assert_eq!(
            store.phone_of_user("DE.3").expect("read"),
            Some(q),
            "others stay"
        );
    }

    #[test]
    fn an_opt_out_of_a_known_bsuid_revokes_its_contact() {
        let dir = tempfile::tempdir().expect("tmp");
        let store = Store::open(dir.path()).expect("open");
        let p = phone("0171 2345678");
        let c = contact(p, ConsentStatus::Confirmed);
        let t = c.topics["sale"].opted_in_at + Duration::days(1);
        store.write(&c, &[]).expect("write");
        store.learn_user_id(BSUID, p).expect("learn");
        assert_eq!(
            store.opt_out_user(BSUID, &revocation(t)).expect("opt out"),
            UserOptOut::Revoked(p, 1)
        );
        assert!(!store
            .contact(p)
            .expect("read")
            .expect("c")
            .may_receive("sale"));
    }

    #[test]
    fn an_unknown_bsuid_is_suppressed_and_reaches_its_contact_when_learnt() {
        let dir = tempfile::tempdir().expect("tmp");
        let store = Store::open(dir.path()).expect("open");
        let p = phone("0171 2345678");
        let c = contact(p, ConsentStatus::Confirmed);
        let t = c.topics["sale"].opted_in_at + Duration::days(1);
        store.write(&c, &[]).expect("write");
        let epoch = store.consent_epoch();
        assert_eq!(
            store.opt_out_user(BSUID, &revocation(t)).expect("opt out"),
            UserOptOut::Suppressed
        );
        assert!(store.consent_epoch() > epoch, "sends look again");
        // An older signal never replaces a newer suppression.
        store
            .opt_out_user(BSUID, &revocation(t - Duration::hours(1)))
            .expect("older");
        assert_eq!(
            store
                .user_suppression(BSUID)
                .expect("read")
                .map(|s| s.since),
            Some(t)
        );
        assert!(store
            .contact(p)
            .expect("read")
            .expect("c")
            .may_receive("sale"));
        // The first status that names both ids links them: the opt-out
        // reaches the contact at once.
        store.learn_user_id(BSUID, p).expect("learn");
        assert!(!store
            .contact(p)
            .expect("read")
            .expect("c")
            .may_receive("sale"));
    }
}
