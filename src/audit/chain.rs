//! The line format of the audit trail and the check of its chain.
//!
//! A line is the JSON of an [`Entry`] with `,"hash":"<sha256 hex>"` put
//! before its closing brace, where the hash is taken over the entry's JSON
//! exactly as written (never re-serialised, so the check does not depend on
//! how a JSON library orders or prints things). Each entry names the hash of
//! the line before it in `prev`; the first names [`GENESIS`].

use std::io::BufRead;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::Action;

/// `prev` of the first entry.
pub const GENESIS: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// What the hash suffix of a line looks like: `,"hash":"` 64 hex `"}`.
const SUFFIX_LEN: usize = 9 + 64 + 2;

/// One processing step, as stored.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Entry {
    /// Position in the chain, from 1, without gaps.
    pub seq: u64,
    /// When it happened (UTC).
    pub at: DateTime<Utc>,
    /// Who did it: the OS user the kernel vouched for, or `bote` for the
    /// daemon's own steps (timers, webhooks).
    pub actor: String,
    /// What happened.
    pub action: Action,
    /// What it concerned: a contact's reference (`c:…`), a campaign
    /// (`campaign:N`), a file; never a phone number.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subject: Option<String>,
    /// Counts, names, reasons.
    #[serde(default, skip_serializing_if = "serde_json::Value::is_null")]
    pub details: serde_json::Value,
    /// The hash of the line before.
    pub prev: String,
}

/// An entry with the hash its line carries.
#[derive(Debug, Clone, PartialEq)]
pub struct Sealed {
    /// The entry.
    pub entry: Entry,
    /// SHA-256 of the entry's JSON, hex.
    pub hash: String,
}

/// Why a line is not a sound link of the chain.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Break {
    /// The line is not an audit entry at all.
    #[error("line {line} is not an audit entry: {reason}")]
    Unreadable {
        /// 1-based line.
        line: u64,
        /// What is wrong.
        reason: String,
    },
    /// The entry's text does not match its hash: it was edited.
    #[error("entry {seq} (line {line}) was edited: its content does not match its hash")]
    Edited {
        /// The entry's seq.
        seq: u64,
        /// 1-based line.
        line: u64,
    },
    /// The entry does not follow the one before it.
    #[error("entry {seq} (line {line}) does not follow entry {after}: {what}")]
    OutOfChain {
        /// The entry's seq.
        seq: u64,
        /// 1-based line.
        line: u64,
        /// The seq of the line before (0 for none).
        after: u64,
        /// Removed, reordered or replaced, as far as the chain tells.
        what: String,
    },
    /// Entries at the end are gone: the store recorded a later head.
    #[error("the trail ends at entry {last} but the store recorded entry {anchored}: entries after {last} were removed")]
    Truncated {
        /// The last entry in the file.
        last: u64,
        /// The head the store recorded.
        anchored: u64,
    },
    /// The entry the store recorded as the head has another hash: the trail was rewritten.
    #[error("entry {seq} is not the entry the store recorded at that position: the trail was rewritten from there or before")]
    Rewritten {
        /// The anchored seq.
        seq: u64,
    },
}

/// The hex SHA-256 of `bytes`.
pub fn digest_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

/// The line (without its newline) that stores `entry`, and its hash.
pub fn seal(entry: &Entry) -> Result<(String, String), serde_json::Error> {
    let body = serde_json::to_string(entry)?;
    let hash = digest_hex(body.as_bytes());
    // `body` is a JSON object, so it ends with '}'.
    let line = format!("{},\"hash\":\"{hash}\"}}", &body[..body.len() - 1]);
    Ok((line, hash))
}

/// Reads one line back: its entry and the hash it carries, checking that
/// the hash matches the entry's text.
pub fn unseal(line: &str, lineno: u64) -> Result<Sealed, Break> {
    let unreadable = |reason: &str| Break::Unreadable {
        line: lineno,
        reason: reason.into(),
    };
    if line.len() < SUFFIX_LEN + 2 || !line.is_char_boundary(line.len() - SUFFIX_LEN) {
        return Err(unreadable("too short to carry a hash"));
    }
    let (head, suffix) = line.split_at(line.len() - SUFFIX_LEN);
    let hash = suffix
        .strip_prefix(",\"hash\":\"")
        .and_then(|s| s.strip_suffix("\"}"))
        .filter(|h| h.len() == 64 && h.bytes().all(|b| b.is_ascii_hexdigit()))
        .ok_or_else(|| unreadable("it does not end with its hash"))?;
    let body = format!("{head}}}");
    let entry: Entry = serde_json::from_str(&body).map_err(|e| unreadable(&e.to_string()))?;
    if digest_hex(body.as_bytes()) != hash {
        return Err(Break::Edited {
            seq: entry.seq,
            line: lineno,
        });
    }
    Ok(Sealed {
        entry,
        hash: hash.to_string(),
    })
}

/// The result of checking a whole trail.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Verified {
    /// Entries whose links hold, from the first.
    pub entries: u64,
    /// The hash of the last sound entry (the value to keep elsewhere to
    /// detect a rewrite of the whole trail).
    pub head: String,
    /// The first break, if any.
    pub first_break: Option<String>,
}

/// Checks every link of the trail read from `lines`, and its end against
/// `anchor` (the head seq and hash the store recorded), stopping at the
/// first break.
pub fn verify(
    lines: impl BufRead,
    anchor: Option<(u64, String)>,
) -> Result<Verified, std::io::Error> {
    let mut prev_seq = 0u64;
    let mut prev_hash = GENESIS.to_string();
    let mut anchored_seen = false;
    let broke = |entries, head: String, b: Break| Verified {
        entries,
        head,
        first_break: Some(b.to_string()),
    };
    for (i, line) in lines.lines().enumerate() {
        let line = line?;
        let lineno = i as u64 + 1;
        let sealed = match unseal(&line, lineno) {
            Ok(s) => s,
            Err(b) => return Ok(broke(prev_seq, prev_hash, b)),
        };
        let e = &sealed.entry;
        if e.seq != prev_seq + 1 || e.prev != prev_hash {
            let what = if e.seq <= prev_seq {
                "it repeats or comes before an earlier position (reordered)".to_string()
            } else if e.seq > prev_seq + 1 {
                format!(
                    "entries {}..{} are missing (removed)",
                    prev_seq + 1,
                    e.seq - 1
                )
            } else {
                "the entry before it was changed or replaced".to_string()
            };
            return Ok(broke(
                prev_seq,
                prev_hash,
                Break::OutOfChain {
                    seq: e.seq,
                    line: lineno,
                    after: prev_seq,
                    what,
                },
            ));
        }
        if let Some((seq, hash)) = &anchor {
            if *seq == e.seq {
                if *hash != sealed.hash {
                    return Ok(broke(prev_seq, prev_hash, Break::Rewritten { seq: *seq }));
                }
                anchored_seen = true;
            }
        }
        prev_seq = e.seq;
        prev_hash = sealed.hash;
    }
    if let Some((seq, _)) = anchor {
        if !anchored_seen && seq > prev_seq {
            return Ok(broke(
                prev_seq,
                prev_hash,
                Break::Truncated {
                    last: prev_seq,
                    anchored: seq,
                },
            ));
        }
    }
    Ok(Verified {
        entries: prev_seq,
        head: prev_hash,
        first_break: None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(seq: u64, prev: &str) -> Entry {
        Entry {
            seq,
            at: DateTime::from_timestamp(1_780_000_000 + seq as i64, 0).expect("time"),
            actor: "alice".into(),
            action: Action::ConsentImport,
            subject: None,
            details: serde_json::json!({"rows": seq}),
            prev: prev.into(),
        }
    }

    fn trail(n: u64) -> Vec<String> {
        let mut prev = GENESIS.to_string();
        (1..=n)
            .map(|seq| {
                let (line, hash) = seal(&entry(seq, &prev)).expect("seal");
                prev = hash;
                line
            })
            .collect()
    }

    fn check(lines: &[String], anchor: Option<(u64, String)>) -> Verified {
        verify(lines.join("\n").as_bytes(), anchor).expect("read")
    }

    #[test]
    fn a_sealed_line_reads_back_as_it_was() {
        let e = entry(1, GENESIS);
        let (line, hash) = seal(&e).expect("seal");
        let back = unseal(&line, 1).expect("unseal");
        assert_eq!(back.entry, e);
        assert_eq!(back.hash, hash);
        assert_eq!(check(&trail(5), None).first_break, None);
        assert_eq!(check(&trail(5), None).entries, 5);
    }

    #[test]
    fn an_edit_names_the_edited_entry() {
        let mut t = trail(5);
        t[2] = t[2].replace("\"rows\":3", "\"rows\":4");
        let v = check(&t, None);
        assert_eq!(v.entries, 2);
        let b = v.first_break.expect("break");
        assert!(b.contains("entry 3 (line 3) was edited"), "{b}");
    }

    #[test]
    fn an_edit_with_a_recomputed_hash_is_caught_at_the_next_entry() {
        let mut t = trail(5);
        let mut forged = entry(3, &unseal(&t[1], 2).expect("ok").hash);
        forged.actor = "mallory".into();
        t[2] = seal(&forged).expect("seal").0;
        let b = check(&t, None).first_break.expect("break");
        assert!(
            b.contains("entry 4 (line 4) does not follow entry 3"),
            "{b}"
        );
    }

    #[test]
    fn removal_and_reordering_are_named() {
        let mut t = trail(5);
        t.remove(1);
        let b = check(&t, None).first_break.expect("break");
        assert!(
            b.contains("entry 3 (line 2)") && b.contains("entries 2..2 are missing"),
            "{b}"
        );
        let mut t = trail(5);
        t.swap(1, 2);
        let b = check(&t, None).first_break.expect("break");
        assert!(b.contains("entry 3 (line 2)"), "{b}");
    }

    #[test]
    fn the_anchor_catches_a_cut_tail_and_a_rewritten_trail() {
        let t = trail(5);
        let head = unseal(&t[4], 5).expect("ok").hash;
        assert_eq!(check(&t, Some((5, head.clone()))).first_break, None);
        let b = check(&t[..3], Some((5, head))).first_break.expect("break");
        assert!(
            b.contains("ends at entry 3 but the store recorded entry 5"),
            "{b}"
        );
        let other = trail(5);
        let b = check(&other, Some((4, "ab".repeat(32))))
            .first_break
            .expect("break");
        assert!(
            b.contains("entry 4 is not the entry the store recorded"),
            "{b}"
        );
    }

    #[test]
    fn garbage_is_unreadable_not_a_panic() {
        for line in [
            "",
            "{}",
            "x".repeat(200).as_str(),
            "{\"seq\":1,\"hash\":\"zz\"}",
            "é".repeat(80).as_str(),
        ] {
            assert!(
                matches!(unseal(line, 7), Err(Break::Unreadable { line: 7, .. })),
                "{line}"
            );
        }
    }
}
