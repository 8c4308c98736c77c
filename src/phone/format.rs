//! Writing a [`Phone`] out: digits for the API, E.164, and masked for screens and logs.

use std::fmt;

use super::{country_code_len, Phone};

impl Phone {
    /// Digits only, as the Cloud API's `to` field wants them.
    pub fn digits(self) -> String {
        self.0.to_string()
    }

    /// `+4917…`.
    pub fn e164(self) -> String {
        format!("+{}", self.0)
    }

    /// The number with all but the last `keep` digits hidden, for screens and logs.
    pub fn masked(self, keep: usize) -> String {
        let d = self.digits();
        let keep = keep.min(d.len());
        let hidden = d.len() - keep;
        let cc = country_code_len(&d).min(hidden);
        format!(
            "+{}{}{}",
            &d[..cc],
            "•".repeat(hidden - cc),
            &d[d.len() - keep..]
        )
    }
}

impl fmt::Display for Phone {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "+{}", self.0)
    }
}

impl fmt::Debug for Phone {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Debug output ends up in logs: never the whole number (G12).
        write!(f, "Phone({})", self.masked(4))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn masking_keeps_country_code_and_tail() {
        let p = Phone::parse("0171 2345678", "DE").expect("valid");
        assert_eq!(p.masked(3), "+49•••••••678");
        assert!(!format!("{p:?}").contains("2345678"));
        let us = Phone::from_e164("+12025550123").expect("valid");
        assert_eq!(us.masked(4), "+1••••••0123");
    }
}
