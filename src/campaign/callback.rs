//! Callback data: the campaign and recipient a status webhook echoes back.

use super::CampaignId;

/// `c=42;r=1187`: campaign and recipient, echoed back by status webhooks.
pub fn callback_data(id: CampaignId, index: u32) -> String {
    format!("c={id};r={index}")
}

/// The inverse of [`callback_data`].
pub fn parse_callback_data(s: &str) -> Option<(CampaignId, u32)> {
    let (c, r) = s.split_once(';')?;
    let c = c.strip_prefix("c=")?.parse().ok()?;
    let r = r.strip_prefix("r=")?.parse().ok()?;
    Some((CampaignId(c), r))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn callback_data_round_trips() {
        let s = callback_data(CampaignId(42), 1187);
        assert_eq!(s, "c=42;r=1187");
        assert_eq!(parse_callback_data(&s), Some((CampaignId(42), 1187)));
        assert_eq!(parse_callback_data("garbage"), None);
        assert_eq!("c7".parse::<CampaignId>(), Ok(CampaignId(7)));
    }
}
