//! The manifest: the last part of every archive, describing all the parts
//! before it — which trees with how many records, the audit trail up to
//! which entry, and the SHA-256 of each — so that `backup verify` can say
//! exactly which part is not what was written.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// The archive format this bote writes (and the only one it reads).
pub const FORMAT: u32 = 1;

/// What an archive holds, written after everything it describes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Manifest {
    /// [`FORMAT`].
    pub format: u32,
    /// The bote that wrote it.
    pub bote_version: String,
    /// When the snapshot was taken.
    pub created_at: DateTime<Utc>,
    /// The store's recorded mode (`live`, `sandbox`), if it had one.
    #[serde(default)]
    pub mode: Option<String>,
    /// Contacts in the snapshot (records `c‖…` of the `consent` tree).
    pub contacts: u64,
    /// Campaigns in the snapshot (the 4-byte ids in the `campaigns` tree).
    pub campaigns: u64,
    /// Every sled tree, in archive order.
    pub trees: Vec<TreePart>,
    /// The audit trail.
    pub audit: AuditPart,
}

/// One sled tree in the archive.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TreePart {
    /// The tree's name (`consent`, `recipients/3`, sled's `__sled__default`).
    pub name: String,
    /// Its records.
    pub records: u64,
    /// SHA-256 (hex) of its records as framed in the archive: for each, in
    /// key order, `u32 BE key length ‖ key ‖ u32 BE value length ‖ value`.
    pub sha256: String,
}

/// The audit trail in the archive.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditPart {
    /// Bytes of `audit.jsonl` copied.
    pub bytes: u64,
    /// Entries (the seq of the last one).
    pub entries: u64,
    /// The hash of the last entry (the chain's head).
    pub head: String,
    /// SHA-256 (hex) of those bytes: `sha256sum` of the copied file.
    pub sha256: String,
}

/// What a reader actually found in one tree part.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SeenTree {
    /// Name.
    pub name: String,
    /// Records read.
    pub records: u64,
    /// SHA-256 (hex) of them as framed.
    pub sha256: String,
}

/// What a reader actually found in the audit part.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SeenAudit {
    /// Bytes read.
    pub bytes: u64,
    /// SHA-256 (hex) of them.
    pub sha256: String,
}

impl Manifest {
    /// Checks what was read against what the manifest says; the error names
    /// the first part that differs and how.
    pub fn check(&self, trees: &[SeenTree], audit: &SeenAudit) -> Result<(), String> {
        if self.format != FORMAT {
            return Err(format!(
                "the archive is of format {}; this bote reads format {FORMAT}",
                self.format
            ));
        }
        for (i, want) in self.trees.iter().enumerate() {
            let Some(got) = trees.get(i) else {
                return Err(format!(
                    "tree {:?} is listed in the manifest but missing from the archive",
                    want.name
                ));
            };
            if got.name != want.name {
                return Err(format!(
                    "part {} is tree {:?}, but the manifest lists {:?} there",
                    i + 1,
                    got.name,
                    want.name
                ));
            }
            if got.records != want.records {
                return Err(format!(
                    "tree {:?} holds {} records, the manifest says {}",
                    want.name, got.records, want.records
                ));
            }
            if got.sha256 != want.sha256 {
                return Err(format!(
                    "tree {:?} does not match its SHA-256 in the manifest (its content was changed)",
                    want.name
                ));
            }
        }
        if let Some(extra) = trees.get(self.trees.len()) {
            return Err(format!(
                "tree {:?} is in the archive but not in the manifest",
                extra.name
            ));
        }
        if audit.bytes != self.audit.bytes {
            return Err(format!(
                "the audit trail holds {} bytes, the manifest says {}",
                audit.bytes, self.audit.bytes
            ));
        }
        if audit.sha256 != self.audit.sha256 {
            return Err(
                "the audit trail does not match its SHA-256 in the manifest (its content was changed)"
                    .into(),
            );
        }
        Ok(())
    }

    /// Records in every tree together.
    pub fn records(&self) -> u64 {
        self.trees.iter().map(|t| t.records).sum()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn manifest() -> Manifest {
        Manifest {
            format: FORMAT,
            bote_version: "0.1.0".into(),
            created_at: DateTime::from_timestamp(1_700_000_000, 0).expect("time"),
            mode: Some("sandbox".into()),
            contacts: 2,
            campaigns: 1,
            trees: vec![
                TreePart {
                    name: "consent".into(),
                    records: 3,
                    sha256: "aa".into(),
                },
                TreePart {
                    name: "meta".into(),
                    records: 1,
                    sha256: "bb".into(),
                },
            ],
            audit: AuditPart {
                bytes: 10,
                entries: 1,
                head: "cc".into(),
                sha256: "dd".into(),
            },
        }
    }

    fn seen(m: &Manifest) -> (Vec<SeenTree>, SeenAudit) {
        let trees = m
            .trees
            .iter()
            .map(|t| SeenTree {
                name: t.name.clone(),
                records: t.records,
                sha256: t.sha256.clone(),
            })
            .collect();
        let audit = SeenAudit {
            bytes: m.audit.bytes,
            sha256: m.audit.sha256.clone(),
        };
        (trees, audit)
    }

    #[test]
    fn the_manifest_round_trips_as_json_with_stable_field_names() {
        let m = manifest();
        let json = serde_json::to_value(&m).expect("json");
        for key in [
            "format",
            "bote_version",
            "created_at",
            "mode",
            "contacts",
            "campaigns",
            "trees",
            "audit",
        ] {
            assert!(json.get(key).is_some(), "{key} missing in {json}");
        }
        assert_eq!(json["trees"][0]["sha256"], "aa");
        assert_eq!(json["audit"]["head"], "cc");
        let back: Manifest = serde_json::from_value(json).expect("back");
        assert_eq!(back, m);
        assert_eq!(m.records(), 4);
    }

    #[test]
    fn check_names_the_part_that_differs() {
        let m = manifest();
        let (trees, audit) = seen(&m);
        assert_eq!(m.check(&trees, &audit), Ok(()));

        let mut t = trees.clone();
        t[1].sha256 = "xx".into();
        let e = m.check(&t, &audit).expect_err("hash");
        assert!(
            e.contains("tree \"meta\" does not match its SHA-256"),
            "{e}"
        );

        let mut t = trees.clone();
        t[0].records = 2;
        let e = m.check(&t, &audit).expect_err("count");
        assert!(
            e.contains("\"consent\" holds 2 records, the manifest says 3"),
            "{e}"
        );

        let e = m.check(&trees[..1], &audit).expect_err("missing");
        assert!(
            e.contains("\"meta\" is listed in the manifest but missing"),
            "{e}"
        );

        let mut t = trees.clone();
        t.push(SeenTree {
            name: "extra".into(),
            records: 0,
            sha256: String::new(),
        });
        let e = m.check(&t, &audit).expect_err("extra");
        assert!(
            e.contains("\"extra\" is in the archive but not in the manifest"),
            "{e}"
        );

        let mut a = audit.clone();
        a.sha256 = "zz".into();
        let e = m.check(&trees, &a).expect_err("audit");
        assert!(e.contains("audit trail does not match"), "{e}");

        let mut newer = m.clone();
        newer.format = 2;
        let e = newer.check(&trees, &audit).expect_err("format");
        assert!(e.contains("format 2"), "{e}");
    }
}
