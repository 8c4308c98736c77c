//! Small building blocks the screens share: text formatting, the text
//! field, the chrome (banner, footer, overlays), the stacked state bar and
//! the placeholder-highlighting template preview.

pub mod bar;
pub mod body;
pub mod chrome;
pub mod fmt;
pub mod input;
