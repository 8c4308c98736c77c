//! Reading a number in any human format into a [`Phone`]: the fast path where it applies, else libphonenumber's full parse.

use std::str::FromStr;

use phonenumber::country::{Id as Region, Source};

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
        let unparseable = |e: phonenumber::ParseError| PhoneError::Unparseable {
            input: trimmed.into(),
            reason: e.to_string(),
        };
        // The crate applies the *default* region's rules to every number:
        // it strips that region's national prefix even from one written with
        // its country code ("+39 06 …" read in DE lost Rome's 0, "+64 8 …"
        // in RU its 8), and its international prefix after a `+` ("+810 …"
        // in RU became +1). Either is another person's number. A number
        // written with a `+` is read alone, by its own country's rules, as
        // libphonenumber itself does; one written with the region's
        // international prefix is read again as the `+` form it means.
        let number = if written_with_plus(cleaned) {
            phonenumber::parse(None, cleaned).map_err(unparseable)?
        } else {
            let number = phonenumber::parse(Some(region), cleaned).map_err(unparseable)?;
            match number.code().source() {
                Source::Idd | Source::Plus => {
                    let rest = after_international_prefix(cleaned, region)
                        .ok_or_else(|| unparseable(phonenumber::ParseError::InvalidCountryCode))?;
                    phonenumber::parse(None, format!("+{rest}")).map_err(unparseable)?
                }
                Source::Number | Source::Default => number,
            }
        };
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

/// Whether the number starts with a `+` (the crate skips what precedes the
/// first digit or `+`, e.g. an opening bracket).
fn written_with_plus(cleaned: &str) -> bool {
    cleaned.chars().find(|c| c.is_ascii_digit() || *c == '+') == Some('+')
}

/// The digits after `region`'s international dialling prefix, where the
/// crate found it: the region's pattern at the start, not followed by a 0.
fn after_international_prefix(cleaned: &str, region: Region) -> Option<String> {
    let digits: String = cleaned.chars().filter(char::is_ascii_digit).collect();
    let end = phonenumber::metadata::DATABASE
        .by_id(region.as_ref())?
        .international_prefix()?
        .find(&digits)
        .filter(|m| m.start() == 0 && !digits[m.end()..].starts_with('0'))?
        .end();
    Some(digits[end..].to_string())
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
    fn a_number_with_its_country_code_keeps_its_digits_whatever_the_default_region() {
        // Rome keeps its 0; an 8 after +64 or +52 is no Russian trunk prefix.
        for (input, region, e164) in [
            ("+39 06 6982 1234", "DE", "+390669821234"),
            ("0039 06 6982 1234", "DE", "+390669821234"),
            ("+64 8 345 6842", "RU", "+6483456842"),
            ("+52 800 123 4567", "RU", "+528001234567"),
            ("+81 3 1234 5678", "RU", "+81312345678"),
            ("+49 171 2345678", "US", "+491712345678"),
        ] {
            assert_eq!(
                Phone::parse(input, region).map(Phone::e164).as_deref(),
                Ok(e164),
                "{input} in {region}"
            );
        }
        // After a +, RU's international prefix 810 is no prefix: +81 is Japan.
        let jp = Phone::parse("+810 3 1234 5678", "RU");
        assert!(
            !jp.as_ref().is_ok_and(|p| p.e164().starts_with("+1")),
            "{jp:?}"
        );
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
