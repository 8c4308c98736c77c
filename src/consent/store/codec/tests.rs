use super::*;

fn t(s: i64, n: u32) -> DateTime<Utc> {
    DateTime::from_timestamp(s, n).expect("time")
}

fn key(p: Phone) -> Vec<u8> {
    [&[b'c'][..], &p.key()].concat()
}

/// A contact with every optional field set somewhere and every kind of
/// event, including escapes, empty strings, pre-1970 and nanosecond times.
fn everything() -> (Contact, Vec<ConsentEvent>) {
    let phone = Phone::from_e164("+4915112345678").expect("phone");
    let full = TopicConsent {
        status: ConsentStatus::Revoked,
        opted_in_at: t(1_700_000_000, 0),
        source: "web-form:shop.example/\"news\"".into(),
        confirmed_at: Some(t(1_700_000_100, 999_999_999)),
        method: Some(ConfirmationMethod::Code),
        text_version: Some("v3-2026-04".into()),
        revoked_at: Some(t(1_700_000_200, 1)),
        revoked_by: Some("webhook:wamid.X".into()),
    };
    let bare = TopicConsent {
        status: ConsentStatus::Pending,
        opted_in_at: t(-86_400, 5),
        source: String::new(),
        confirmed_at: None,
        method: None,
        text_version: None,
        revoked_at: None,
        revoked_by: None,
    };
    let contact = Contact {
        phone,
        locale: Some("de_AT".into()),
        attributes: BTreeMap::from([
            ("first_name".into(), "Zoë \\ \"x\"".into()),
            ("city".into(), String::new()),
        ]),
        profile_at: t(1_700_000_000, 0),
        topics: BTreeMap::from([
            ("sale".into(), full.clone()),
            ("events".into(), bare),
            (
                "new-collection".into(),
                TopicConsent {
                    status: ConsentStatus::Confirmed,
                    ..full
                },
            ),
        ]),
    };
    let ev = |origin: &str, change| ConsentEvent {
        recorded_at: t(1_750_000_000, 42),
        actor: "anna".into(),
        origin: origin.into(),
        change,
    };
    let history = vec![
        ev(
            "import:list.csv:2",
            Change::OptedIn {
                topic: "sale".into(),
                opted_in_at: t(1_700_000_000, 0),
                source: "web-form:shop.example/\"news\"".into(),
                text_version: Some("v3-2026-04".into()),
            },
        ),
        ev(
            "import:list.csv:2",
            Change::OptedIn {
                topic: "events".into(),
                opted_in_at: t(-86_400, 5),
                source: String::new(),
                text_version: None,
            },
        ),
        ev(
            "import:list.csv:2",
            Change::Confirmed {
                topic: "sale".into(),
                confirmed_at: t(1_700_000_100, 999_999_999),
                method: ConfirmationMethod::Reply,
            },
        ),
        ev(
            "import:list.csv:2",
            Change::ProfileUpdated {
                locale: Some("de_AT".into()),
                attributes: vec!["first_name".into(), "city".into()],
            },
        ),
        ev(
            "operator",
            Change::ProfileUpdated {
                locale: None,
                attributes: vec![],
            },
        ),
        ev(
            "webhook:wamid.X",
            Change::Revoked {
                topic: "sale".into(),
                revoked_at: t(1_700_000_200, 1),
                reason: "STOP".into(),
            },
        ),
        ev(
            "import:b.csv:9",
            Change::SuppressionLifted {
                erased_at: t(1_600_000_000, 0),
            },
        ),
        ev(
            "import:b.csv:9",
            Change::OptOutLifted {
                opted_out_at: t(1_600_000_001, 0),
            },
        ),
        ev(
            "webhook:wamid.Y",
            Change::IdentityChanged {
                what: "user_changed_number".into(),
                user_id: Some("DE.123".into()),
                new_phone: Some("+4915187654321".into()),
            },
        ),
        ev(
            "webhook:wamid.Z",
            Change::IdentityChanged {
                what: "user_changed_user_id".into(),
                user_id: None,
                new_phone: None,
            },
        ),
    ];
    (contact, history)
}

#[test]
fn every_field_and_event_kind_round_trips() {
    let (contact, history) = everything();
    let k = key(contact.phone);
    let bytes = encode(&contact, &history);
    assert_eq!(bytes[0], FORMAT);
    assert_eq!(
        decode_record(&k, &bytes).expect("decode"),
        (contact.clone(), history.clone())
    );
    assert_eq!(decode_contact(&k, &bytes).expect("contact"), contact);
    let view = decode_contact_view(&k, &bytes).expect("view");
    assert_eq!(view.phone, contact.phone);
    assert_eq!(view.locale.as_deref(), Some("de_AT"));
    assert_eq!(view.status("sale"), Some(ConsentStatus::Revoked));
    assert_eq!(
        view.status("new-collection"),
        Some(ConsentStatus::Confirmed)
    );
    assert_eq!(view.status("events"), Some(ConsentStatus::Pending));
    assert_eq!(view.status("other"), None);
    assert_eq!(
        view.attributes,
        vec![
            (Cow::Borrowed("city"), Cow::Borrowed("")),
            (Cow::Borrowed("first_name"), Cow::Borrowed("Zoë \\ \"x\"")),
        ]
    );
    // No history at all, no locale.
    let bare = Contact {
        locale: None,
        attributes: BTreeMap::new(),
        ..contact
    };
    let bytes = encode(&bare, []);
    assert_eq!(decode_record(&k, &bytes).expect("bare"), (bare, vec![]));
}

/// A history longer than the searched part of the string table still
/// round-trips (references only ever point into the searched part).
#[test]
fn a_long_history_round_trips() {
    let (contact, mut history) = everything();
    let first = history[0].clone();
    for i in 0..3 * SEARCHED {
        history.push(ConsentEvent {
            origin: format!("import:big.csv:{i}"),
            ..first.clone()
        });
        history.push(ConsentEvent {
            origin: "import:big.csv:1".into(),
            ..first.clone()
        });
    }
    let k = key(contact.phone);
    let bytes = encode(&contact, &history);
    assert_eq!(
        decode_record(&k, &bytes).expect("decode"),
        (contact, history)
    );
}

/// What a JSON record of the first format holds decodes the same, and
/// the binary one of a typical import row is a fraction of its size.
#[test]
fn json_records_still_decode_and_binary_is_small() {
    let (contact, history) = everything();
    let k = key(contact.phone);
    let json = serde_json::to_vec(&contact).expect("json");
    assert_eq!(decode_contact(&k, &json).expect("json"), contact);
    assert_eq!(
        decode_record(&k, &json).expect("json"),
        (contact.clone(), vec![])
    );
    let view = decode_contact_view(&k, &json).expect("view");
    assert_eq!(view.status("sale"), Some(ConsentStatus::Revoked));
    let events_json = serde_json::to_vec(&history).expect("json");
    let binary = encode(&contact, &history);
    assert!(
        binary.len() * 3 < json.len() + events_json.len(),
        "{} vs {} + {}",
        binary.len(),
        json.len(),
        events_json.len()
    );
}

/// Every cut and every flipped byte of a record is refused or decodes
/// to something; none panics, none reads past the value.
#[test]
fn damaged_records_are_refused_without_panicking() {
    let (contact, history) = everything();
    let k = key(contact.phone);
    let bytes = encode(&contact, &history);
    for cut in 1..bytes.len() {
        assert!(decode_record(&k, &bytes[..cut]).is_err(), "cut at {cut}");
    }
    for i in 1..bytes.len() {
        for flip in [0x01, 0x80, 0xFF] {
            let mut b = bytes.clone();
            b[i] ^= flip;
            let _ = decode_record(&k, &b);
            let _ = decode_contact_view(&k, &b);
        }
    }
    let mut longer = bytes.clone();
    longer.push(0);
    assert!(decode_record(&k, &longer).is_err(), "trailing bytes");
    let e = decode_record(b"c", &bytes).expect_err("no number in the key");
    assert!(e.to_string().contains("no number"), "{e}");
}
