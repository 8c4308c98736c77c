//! Reading a number in any human format into a [`Phone`]: the fast path where it applies, else libphonenumber's full parse.

use std::str::FromStr;

use phonenumber::country::Id as Region;

use super::{fast, Phone, PhoneError};

impl Phone {
    /// Parses a number in any human format; `region` applies to numbers
    /// written without a country code.
    pub fn parse(input: &str, region: &str) -> Result<Self, PhoneError> {
        let region_id =
            Region::from_str(region).map_err(|_| PhoneError::UnknownRegion(region.into()))?;
        Self::parse_in(input, region_id)
    }

    /// As [`Phone::parse`], with an already-resolved region.
    pub fn parse_in(input: &str, region: Region) -> Result<Self, PhoneError> {
        let trimmed = input.trim();
        if trimmed.is_empty() {
            return Err(PhoneError::Empty);
        }
        if !trimmed
            .chars()
            .all(|c| c.is_ascii_digit() || " +-/().\u{a0}".contains(c))
        {
            return Err(PhoneError::BadCharacters(trimmed.into()));
        }
        // "+49 (0) 171 …": the trunk prefix in brackets after a country code is
        // a German/Austrian habit libphonenumber does not strip by itself.
        let cleaned = trimmed.replace("(0)", "");
        if let Some(phone) = fast::parse(&cleaned, region) {
            return Ok(phone);
        }
        Self::parse_full(trimmed, &cleaned, region)
    }

    /// The full libphonenumber parse: every shape, and every error message.
    pub(super) fn parse_full(
        trimmed: &str,
        cleaned: &str,
        region: Region,
    ) -> Result<Self, PhoneError> {
        let number =
            phonenumber::parse(Some(region), cleaned).map_err(|e| PhoneError::Unparseable {
                input: trimmed.into(),
                reason: e.to_string(),
            })?;
        if !phonenumber::is_valid(&number) {
            return Err(PhoneError::Invalid {
                input: trimmed.into(),
                region: number
                    .country()
                    .id()
                    .map(|r| r.as_ref().to_string())
                    .unwrap_or_else(|| region.as_ref().to_string()),
            });
        }
        let e164 = number.format().mode(phonenumber::Mode::E164).to_string();
        Self::from_e164(&e164).ok_or(PhoneError::Unparseable {
            input: trimmed.into(),
            reason: "not representable as E.164".into(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn e164(input: &str) -> String {
        Phone::parse(input, "DE")
            .unwrap_or_else(|e| panic!("{input}: {e}"))
            .e164()
    }

    #[test]
    fn accepts_the_formats_operators_have() {
        assert_eq!(e164("0171 2345678"), "+491712345678");
        assert_eq!(e164("+49 (0) 171 2345679"), "+491712345679");
        assert_eq!(e164("0049 171 2345680"), "+491712345680");
        assert_eq!(e164("+43 664 1234567"), "+436641234567");
        assert_eq!(e164("0176/12345678"), "+4917612345678");
        assert_eq!(e164("+49-160-9876543"), "+491609876543");
    }

    #[test]
    fn rejects_invalid_numbers_with_a_reason() {
        for bad in ["12345", "0171-234567"] {
            let e = Phone::parse(bad, "DE").expect_err(bad);
            assert!(
                matches!(
                    e,
                    PhoneError::Invalid { .. } | PhoneError::Unparseable { .. }
                ),
                "{bad}: {e:?}"
            );
            assert!(e.to_string().contains(bad), "{e}");
        }
        assert_eq!(Phone::parse("  ", "DE"), Err(PhoneError::Empty));
        assert!(matches!(
            Phone::parse("call me", "DE"),
            Err(PhoneError::BadCharacters(_))
        ));
        assert!(matches!(
            Phone::parse("0171 2345678", "XX"),
            Err(PhoneError::UnknownRegion(_))
        ));
    }
}
