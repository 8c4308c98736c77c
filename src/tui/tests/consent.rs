//! The consent browser: search, state and history, revoke (asked again),
//! import with its report.

use crossterm::event::KeyCode;

use super::harness::{Fixture, Harness, CONSENTS};
use crate::consent::ConsentStatus;
use crate::phone::Phone;
use crate::tui::app::ScreenId;

async fn search(h: &mut Harness, number: &str) {
    h.key(KeyCode::Char('/'));
    h.key_mod(KeyCode::Char('u'), crossterm::event::KeyModifiers::CONTROL);
    h.keys(number);
    h.press(&[KeyCode::Enter]).await;
}

#[tokio::test]
async fn revoked_number_with_history() {
    let fx = Fixture::new(true);
    let mut h = Harness::new(&fx, true, 100, 30).await;
    h.key(KeyCode::Char('c'));
    assert_eq!(h.app.screen(), ScreenId::Consent);
    search(&mut h, "0171 1000007").await;
    snap!("consent_revoked_number", h);
}

#[tokio::test]
async fn unknown_and_invalid_numbers() {
    let fx = Fixture::new(true);
    let mut h = Harness::new(&fx, true, 80, 24).await;
    h.key(KeyCode::Char('c'));
    search(&mut h, "+49 171 9999999").await;
    assert!(h.render().contains("not in the store"));
    search(&mut h, "hello").await;
    assert!(h.app.consent.error.is_some());
    snap!("consent_invalid_number", h);
}

#[tokio::test]
async fn revoke_asks_again_then_records() {
    let fx = Fixture::new(true);
    let mut h = Harness::new(&fx, true, 100, 30).await;
    h.key(KeyCode::Char('c'));
    search(&mut h, "+491711000001").await;
    h.key(KeyCode::Char('x'));
    snap!("consent_revoke_dialog", h);
    h.press(&[KeyCode::Char('y')]).await;
    let phone = Phone::from_e164("+491711000001").expect("phone");
    let contact = fx
        .engine
        .store
        .contact(phone)
        .expect("read")
        .expect("contact");
    let events = contact.topic("events").expect("events").status;
    let sale = contact.topic("sale").expect("sale");
    assert_eq!(
        events,
        ConsentStatus::Revoked,
        "topics sort: events is the first row"
    );
    assert_eq!(sale.status, ConsentStatus::Confirmed);
    let history = fx.engine.store.history(phone).expect("history");
    let last = history.last().expect("event");
    // The actor is the OS user the daemon saw on the socket, not a claim.
    let user = h.exec.ctx().client.hello.user.clone();
    assert_eq!(
        (last.actor.clone(), last.origin.clone()),
        (user.clone(), format!("operator:{user}"))
    );
    assert!(h.render().contains("revoked 1 topic"));
    h.key(KeyCode::Char('X'));
    h.press(&[KeyCode::Char('y')]).await;
    let contact = fx
        .engine
        .store
        .contact(phone)
        .expect("read")
        .expect("contact");
    assert!(contact
        .topics
        .values()
        .all(|t| t.status == ConsentStatus::Revoked));
}

#[tokio::test]
async fn import_report() {
    let fx = Fixture::new(false);
    let csv = fx.path("consents.csv");
    std::fs::write(&csv, CONSENTS).expect("csv");
    let mut h = Harness::new(&fx, true, 100, 30).await;
    h.key(KeyCode::Char('c'));
    h.key(KeyCode::Esc);
    h.key(KeyCode::Char('i'));
    assert_eq!(h.app.screen(), ScreenId::Import);
    h.keys(&csv.display().to_string());
    h.press(&[KeyCode::Enter]).await;
    snap!("import_report", h);
    h.press(&[KeyCode::Esc, KeyCode::Esc]).await;
    assert_eq!(h.app.screen(), ScreenId::Home);
    assert!(
        h.render().contains("Confirmed"),
        "totals appear after the import"
    );
}

/// The list: every contact while no number is open, narrowed by a typed
/// filter (a bad one named, the list kept); Enter opens a number, Esc
/// goes back to the list, and a digit typed starts a new search.
#[tokio::test]
async fn the_list_filters_opens_a_number_and_digits_search() {
    let fx = Fixture::new(true);
    let mut h = Harness::new(&fx, true, 100, 30).await;
    h.press(&[KeyCode::Char('c')]).await;
    h.key(KeyCode::Esc); // leave the search field
    let all = h.app.consent.list.page.as_ref().expect("list").total;
    assert_eq!(all, 10, "every contact of the fixture");
    snap!("consent_list", h);

    h.key(KeyCode::Char('f'));
    h.keys("status=pending");
    h.press(&[KeyCode::Enter]).await;
    let page = h.app.consent.list.page.clone().expect("page");
    assert!(page.total >= 1 && page.total < all, "{}", page.total);
    assert!(page.rows.iter().all(|r| r
        .consents
        .iter()
        .any(|c| c.status == ConsentStatus::Pending)));

    h.key(KeyCode::Char('f'));
    h.key_mod(KeyCode::Char('u'), crossterm::event::KeyModifiers::CONTROL);
    h.keys("colour=red");
    h.press(&[KeyCode::Enter]).await;
    let err = h.app.consent.list.error.clone().expect("a located error");
    assert!(err.contains("colour"), "{err}");
    assert_eq!(
        h.app.consent.list.page.as_ref().map(|p| p.total),
        Some(page.total)
    );
    h.key(KeyCode::Esc);

    let first = page.rows[0].phone;
    h.press(&[KeyCode::Enter]).await;
    assert_eq!(h.app.consent.result.as_ref().map(|r| r.phone), Some(first));
    h.key(KeyCode::Esc);
    assert!(h.app.consent.result.is_none(), "Esc goes back to the list");
    assert_eq!(h.app.screen(), ScreenId::Consent);

    h.keys("0171 1000007");
    assert!(h.app.consent.searching, "typing a number searches");
    assert_eq!(h.app.consent.query.get(), Some("0171 1000007"));
    h.press(&[KeyCode::Enter]).await;
    assert_eq!(
        h.app.consent.result.as_ref().map(|r| r.phone),
        Phone::parse("0171 1000007", "DE").ok()
    );
}
