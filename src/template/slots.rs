//! Placeholders: where each `{{…}}` sits in a template; finding and substituting them in text.

use serde::{Deserialize, Serialize};

use super::Template;

/// Which component a placeholder sits in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Part {
    /// The header text.
    Header,
    /// The body.
    Body,
    /// The URL of the button with this index.
    Button(u8),
}

/// One placeholder occurrence.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Slot {
    /// Where it is.
    pub part: Part,
    /// `1`, `2` … or a name.
    pub key: String,
}

impl Slot {
    /// Whether the key is positional (`{{1}}`) rather than named.
    pub fn is_positional(&self) -> bool {
        self.key.bytes().all(|b| b.is_ascii_digit())
    }
}

/// Extracts `{{…}}` placeholder keys from `text`, in order of appearance.
pub fn placeholders(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut rest = text;
    while let Some(start) = rest.find("{{") {
        let after = &rest[start + 2..];
        let Some(end) = after.find("}}") else { break };
        out.push(after[..end].trim().to_string());
        rest = &after[end + 2..];
    }
    out
}

/// Replaces each `{{key}}` in `text` using `value`; unknown keys stay as they are.
pub fn substitute<'a>(text: &str, mut value: impl FnMut(&str) -> Option<&'a str>) -> String {
    let mut out = String::with_capacity(text.len() + 32);
    let mut rest = text;
    while let Some(start) = rest.find("{{") {
        let after = &rest[start + 2..];
        let Some(end) = after.find("}}") else { break };
        out.push_str(&rest[..start]);
        match value(after[..end].trim()) {
            Some(v) => out.push_str(v),
            None => out.push_str(&rest[start..start + 2 + end + 2]),
        }
        rest = &after[end + 2..];
    }
    out.push_str(rest);
    out
}

impl Template {
    /// Every placeholder, in the order the Cloud API expects parameters:
    /// header, body, then buttons by index.
    pub fn slots(&self) -> Vec<Slot> {
        let mut slots = Vec::new();
        let mut push = |part, text: &str| {
            for key in placeholders(text) {
                slots.push(Slot { part, key });
            }
        };
        if let Some(h) = self.header_text() {
            push(Part::Header, h);
        }
        push(Part::Body, self.body());
        for (i, b) in self.buttons().iter().enumerate() {
            // Validation allows at most ten buttons; past 255 (an unchecked
            // template) an index would wrap onto another button's.
            let Ok(index) = u8::try_from(i) else { break };
            if let Some(url) = &b.url {
                push(Part::Button(index), url);
            }
        }
        slots
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn placeholder_parsing() {
        assert_eq!(
            placeholders("a {{1}} b {{ name }} c {{2"),
            vec!["1", "name"]
        );
        let out = substitute("Hi {{1}}, {{x}}!", |k| (k == "1").then_some("Bo"));
        assert_eq!(out, "Hi Bo, {{x}}!");
    }
}
