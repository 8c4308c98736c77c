//! Rendering: the text a recipient would read, placeholders filled from their params.

use super::{substitute, Params, Part, Template};

impl Template {
    /// The message a recipient would read: header, body and footer with
    /// placeholders filled from `params` (in slot order).
    pub fn render(&self, params: &Params) -> String {
        let slots = self.slots();
        let lookup = |part: Part| {
            let slots = &slots;
            move |key: &str| {
                slots
                    .iter()
                    .position(|s| s.part == part && s.key == key)
                    .and_then(|i| params.0.get(i))
                    .map(String::as_str)
            }
        };
        let mut out = String::new();
        if let Some(line) = self.media_line() {
            // The preview names the file, so a wrong picture shows in the plan.
            out.push_str(&line);
            out.push_str("\n\n");
        }
        if let Some(h) = self.header_text() {
            out.push_str(&substitute(h, lookup(Part::Header)));
            out.push_str("\n\n");
        }
        out.push_str(&substitute(self.body(), lookup(Part::Body)));
        if let Some(f) = self.footer() {
            out.push_str("\n\n");
            out.push_str(f);
        }
        let buttons: Vec<&str> = self.buttons().iter().map(|b| b.text.as_str()).collect();
        if !buttons.is_empty() {
            out.push_str("\n\n[ ");
            out.push_str(&buttons.join(" ] [ "));
            out.push_str(" ]");
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use crate::template::fixtures::catalog;

    #[test]
    fn renders_a_personalised_message() {
        let c = catalog();
        let t = c.get("herbst_sale", Some("de")).expect("exists");
        let attrs = BTreeMap::from([("first_name".to_string(), "Jürgen".to_string())]);
        let params = t.resolve(&attrs, &BTreeMap::new()).expect("resolves");
        let text = t.render(&params);
        assert!(text.contains("Hallo Jürgen"), "{text}");
        assert!(!text.contains("{{"), "{text}");
    }

    #[test]
    fn a_media_header_names_its_file() {
        let c = catalog();
        let t = c.get("winter_gutschein", Some("de")).expect("exists");
        let attrs = BTreeMap::from([("first_name".to_string(), "Anna".to_string())]);
        let text = t.render(&t.resolve(&attrs, &BTreeMap::new()).expect("resolves"));
        assert!(text.starts_with("[image: https://"), "{text}");
        assert!(text.contains("Hallo Anna"), "{text}");
    }
}
