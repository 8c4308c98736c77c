//! Journal blocks: the records of [`BLOCK`] consecutive recipients in one
//! sled value.
//!
//! One sled key per recipient cost sled a tree page per eight or so
//! recipients, and sled keeps per-page bookkeeping resident for every page
//! it has ever seen, growing with each update until the page is
//! consolidated: a 1M-recipient campaign held ~80 MB of it while sending.
//! Sixteen records per value cut the pages sixteenfold; the price is that
//! an update rewrites the block (about a kilobyte) instead of one record.

use super::journal::corrupt;
use crate::consent::StoreError;

/// Recipients per block.
pub const BLOCK: u32 = 16;

/// First byte of a block value.
const TAG: u8 = 0xB2;
/// Slot length that marks a recipient without a record.
const ABSENT: u32 = u32::MAX;

/// The sled key of the block holding `index`, and its slot in it.
pub fn locate(index: u32) -> ([u8; 4], usize) {
    ((index / BLOCK).to_be_bytes(), (index % BLOCK) as usize)
}

/// A block key read back from sled, and the first recipient index of its
/// block.
pub fn parse_key(key: &[u8]) -> Result<([u8; 4], u32), StoreError> {
    let k: [u8; 4] = key
        .try_into()
        .map_err(|_| corrupt(key, "journal block key is not 4 bytes"))?;
    u32::from_be_bytes(k)
        .checked_mul(BLOCK)
        .map(|first| (k, first))
        .ok_or_else(|| corrupt(key, "journal block number out of range"))
}

/// The slots of a block value in order: `Some(record bytes)` or `None` for
/// a recipient without a record.
pub fn slots<'a>(
    key: &'a [u8],
    value: &'a [u8],
) -> impl Iterator<Item = Result<Option<&'a [u8]>, StoreError>> + 'a {
    let (mut rest, mut failed) = match value.split_first() {
        Some((&TAG, rest)) => (rest, None),
        _ => (&[][..], Some(corrupt(key, "not a journal block"))),
    };
    std::iter::from_fn(move || {
        if let Some(e) = failed.take() {
            return Some(Err(e));
        }
        if rest.is_empty() {
            return None;
        }
        let truncated = || corrupt(key, "journal block truncated");
        let Some((len, tail)) = rest.split_first_chunk::<4>() else {
            rest = &[];
            return Some(Err(truncated()));
        };
        let len = u32::from_le_bytes(*len);
        if len == ABSENT {
            rest = tail;
            return Some(Ok(None));
        }
        let Some((record, tail)) = tail.split_at_checked(len as usize) else {
            rest = &[];
            return Some(Err(truncated()));
        };
        rest = tail;
        Some(Ok(Some(record)))
    })
}

/// Builds a block value from its slots in order.
pub fn build<'a>(slots: impl IntoIterator<Item = Option<&'a [u8]>>) -> Vec<u8> {
    let mut out = Vec::with_capacity(1 + BLOCK as usize * 96);
    out.push(TAG);
    for slot in slots {
        match slot {
            Some(record) => {
                out.extend_from_slice(&(record.len() as u32).to_le_bytes());
                out.extend_from_slice(record);
            }
            None => out.extend_from_slice(&ABSENT.to_le_bytes()),
        }
    }
    out
}

/// A block with some slots changed: `change(slot, current)` returns the
/// slot's new record bytes, or `None` to keep it. Slots past the end of the
/// block (or of a missing block) start absent. `Ok(None)` when nothing
/// changed.
pub fn rewrite(
    key: &[u8],
    value: Option<&[u8]>,
    mut change: impl FnMut(usize, Option<&[u8]>) -> Result<Option<Vec<u8>>, StoreError>,
    last_slot: usize,
) -> Result<Option<Vec<u8>>, StoreError> {
    let mut current: Vec<Option<&[u8]>> = match value {
        Some(v) => slots(key, v).collect::<Result<_, _>>()?,
        None => Vec::new(),
    };
    if current.len() <= last_slot {
        current.resize(last_slot + 1, None);
    }
    let mut changed: Vec<(usize, Vec<u8>)> = Vec::new();
    for (slot, record) in current.iter().enumerate() {
        if let Some(new) = change(slot, *record)? {
            changed.push((slot, new));
        }
    }
    if changed.is_empty() {
        return Ok(None);
    }
    for (slot, new) in &changed {
        current[*slot] = Some(new);
    }
    Ok(Some(build(current)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blocks_round_trip_with_absent_slots() {
        let v = build([Some(&b"one"[..]), None, Some(&b""[..]), Some(&b"four"[..])]);
        let got: Vec<_> = slots(b"k", &v).collect::<Result<_, _>>().expect("decodes");
        assert_eq!(
            got,
            vec![Some(&b"one"[..]), None, Some(&b""[..]), Some(&b"four"[..])]
        );
        assert_eq!(locate(0), (0u32.to_be_bytes(), 0));
        assert_eq!(locate(BLOCK + 3), (1u32.to_be_bytes(), 3));
        let key = 2u32.to_be_bytes();
        assert_eq!(parse_key(&key).expect("key"), (key, 2 * BLOCK));
    }

    #[test]
    fn rewrite_changes_only_the_slots_asked_for_and_extends_the_block() {
        let v = build([Some(&b"a"[..]), Some(&b"b"[..])]);
        let new = rewrite(
            b"k",
            Some(&v),
            |slot, cur| Ok((slot == 1 || slot == 3).then(|| [cur.unwrap_or(b"-"), b"!"].concat())),
            3,
        )
        .expect("rewrites")
        .expect("changed");
        let got: Vec<_> = slots(b"k", &new)
            .collect::<Result<_, _>>()
            .expect("decodes");
        assert_eq!(
            got,
            vec![Some(&b"a"[..]), Some(&b"b!"[..]), None, Some(&b"-!"[..])]
        );
        let same = rewrite(b"k", Some(&v), |_, _| Ok(None), 1).expect("rewrites");
        assert!(same.is_none());
    }

    #[test]
    fn damaged_blocks_are_errors_not_panics() {
        let v = build([Some(&b"record"[..]), Some(&b"second"[..])]);
        let boundary = 1 + 4 + b"record".len();
        for cut in (0..v.len()).filter(|&c| c != 1 && c != boundary) {
            let r: Result<Vec<_>, _> = slots(b"k", &v[..cut]).collect();
            assert!(r.is_err(), "cut at {cut} decoded");
        }
        assert!(slots(b"k", b"{\"json\":1}").next().expect("one").is_err());
        assert!(parse_key(b"abc").is_err());
        assert!(parse_key(&u32::MAX.to_be_bytes()).is_err());
    }
}
