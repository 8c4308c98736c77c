//! Stop (G5) and confirm (G3) keywords, compared after normalising what
//! people type: case, surrounding and repeated whitespace and punctuation
//! do not matter ("Stop.", " stopp ", "STOP!"), extra words do ("stop the
//! music" is not a stop).

use crate::config::ConsentConfig;

/// Lower-case, punctuation dropped, whitespace collapsed: `" Stop. "`,
/// `"STOP!"` → `"stop"`; `"stop the music"` stays three words.
pub fn normalize(s: &str) -> String {
    let kept: String = s
        .chars()
        .filter(|c| c.is_alphanumeric() || c.is_whitespace())
        .collect();
    kept.split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
        .to_lowercase()
}

/// The words that revoke (G5) and confirm (G3), normalised once.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Keywords {
    stop: Vec<String>,
    confirm: Vec<String>,
}

/// Labels of Meta's marketing opt-out quick-reply button.
pub const STOP_BUTTONS: [&str; 1] = ["Stop promotions"];

impl Keywords {
    /// From explicit lists; the "Stop promotions" button always revokes.
    pub fn new(stop: &[String], confirm: &[String]) -> Self {
        let norm = |v: &mut Vec<String>| {
            v.retain(|s| !s.is_empty());
            v.sort();
            v.dedup();
        };
        let mut stop: Vec<String> = stop
            .iter()
            .map(|s| normalize(s))
            .chain(STOP_BUTTONS.iter().map(|s| normalize(s)))
            .collect();
        let mut confirm: Vec<String> = confirm.iter().map(|s| normalize(s)).collect();
        norm(&mut stop);
        norm(&mut confirm);
        // A word configured as both must never confirm.
        confirm.retain(|c| !stop.contains(c));
        Self { stop, confirm }
    }

    /// `[consent] stop_keywords` and `confirm_keywords`.
    pub fn from_config(c: &ConsentConfig) -> Self {
        Self::new(&c.stop_keywords, &c.confirm_keywords)
    }

    /// Whether `text` is a stop signal.
    pub fn is_stop(&self, text: &str) -> bool {
        let n = normalize(text);
        self.stop.contains(&n)
    }

    /// Whether `text` confirms a pending consent.
    pub fn is_confirm(&self, text: &str) -> bool {
        let n = normalize(text);
        self.confirm.contains(&n)
    }
}

impl Default for Keywords {
    fn default() -> Self {
        Self::from_config(&ConsentConfig::default())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keywords_ignore_case_space_and_punctuation() {
        let k = Keywords::default();
        for s in [
            "Stop.",
            " stopp ",
            "STOP!",
            "abmelden",
            "Unsubscribe!!",
            "stop promotions",
            "¡STOP!",
        ] {
            assert!(k.is_stop(s), "{s:?}");
        }
        for s in ["stop the music", "stoppen", "", "...", "s top"] {
            assert!(!k.is_stop(s), "{s:?}");
        }
        assert!(k.is_confirm(" Ja! ") && k.is_confirm("yes.") && !k.is_confirm("ja bitte"));
    }

    #[test]
    fn a_word_in_both_lists_only_stops() {
        let k = Keywords::new(&["STOP".into()], &["stop".into(), "JA".into()]);
        assert!(k.is_stop("stop") && !k.is_confirm("stop") && k.is_confirm("ja"));
    }
}
