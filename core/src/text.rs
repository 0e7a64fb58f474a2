//! Names are text people read: the characters a name may not hold, and how a name that
//! holds them anyway (written before this check, or by another tool) is shown.
//!
//! Refused: control characters (C0, DEL, C1: NUL, escape sequences, line breaks), the
//! bidirectional marks, embeddings, overrides and isolates (U+061C, U+200E–U+200F,
//! U+202A–U+202E, U+2066–U+2069), which make a name display as something it is not, and
//! invisible formatting characters that hide text or smuggle it past a reader (U+200B,
//! U+2028–U+2029, U+2060–U+2064, U+206A–U+206F, U+FEFF, U+FFF9–U+FFFB, and the tag
//! characters U+E0000–U+E007F). The joiners U+200C and U+200D stay: scripts and emoji
//! need them.

use std::borrow::Cow;
use std::fmt::Write;

use crate::error::RunError;

/// Whether a name may not hold `c`.
pub(crate) fn is_refused(c: char) -> bool {
    c.is_control()
        || matches!(
            c,
            '\u{061C}'
                | '\u{200B}'
                | '\u{200E}'..='\u{200F}'
                | '\u{2028}'..='\u{202E}'
                | '\u{2060}'..='\u{2064}'
                | '\u{2066}'..='\u{206F}'
                | '\u{FEFF}'
                | '\u{FFF9}'..='\u{FFFB}'
                | '\u{E0000}'..='\u{E007F}'
        )
}

/// Refuses `text` as the `field` (named in the error) if it holds a refused character.
pub(crate) fn check(field: impl FnOnce() -> String, text: &str) -> Result<(), RunError> {
    match text.chars().enumerate().find(|(_, c)| is_refused(*c)) {
        None => Ok(()),
        Some((at, c)) => Err(RunError::UnreadableText {
            field: field(),
            found: escaped(c),
            at,
        }),
    }
}

/// `text` with every refused character written as `\u{202E}`; borrowed when it has none
/// (printable ASCII, the common case, is passed by a byte scan).
pub(crate) fn shown(text: &str) -> Cow<'_, str> {
    let plain = |b: &u8| (0x20..0x7f).contains(b);
    if text.as_bytes().iter().all(plain) || !text.chars().any(is_refused) {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        if is_refused(c) {
            out.push_str(&escaped(c));
        } else {
            out.push(c);
        }
    }
    Cow::Owned(out)
}

fn escaped(c: char) -> String {
    let mut out = String::new();
    let _ = write!(out, "\\u{{{:04X}}}", u32::from(c));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn controls_bidi_and_invisible_characters_are_refused_by_field_and_place() {
        for c in [
            '\0',
            '\n',
            '\u{1B}',
            '\u{7F}',
            '\u{85}',
            '\u{9F}',
            '\u{061C}',
            '\u{200B}',
            '\u{200E}',
            '\u{2028}',
            '\u{202A}',
            '\u{202E}',
            '\u{2066}',
            '\u{2069}',
            '\u{FEFF}',
            '\u{E0041}',
        ] {
            assert!(is_refused(c), "{:04X}", u32::from(c));
        }
        for c in ['a', ' ', 'é', '✓', '\u{200C}', '\u{200D}', '中', '\u{FE0F}'] {
            assert!(!is_refused(c), "{:04X}", u32::from(c));
        }
        let err = check(|| "agent name".into(), "evil\u{202E}gpj.exe").unwrap_err();
        assert_eq!(
            err.to_string(),
            "agent name holds the character \\u{202E} at position 4: names may not hold \
             control, bidirectional or invisible formatting characters"
        );
        assert!(check(|| "title".into(), "Ünïcödé ✓ 👩‍💻").is_ok());
    }

    #[test]
    fn refused_characters_are_shown_escaped() {
        assert!(matches!(shown("plain"), Cow::Borrowed("plain")));
        assert!(matches!(shown("Ünïcödé ✓"), Cow::Borrowed(_)));
        assert_eq!(shown("a\u{202E}b\0c"), "a\\u{202E}b\\u{0000}c");
        assert_eq!(shown("\u{E0041}"), "\\u{E0041}");
    }
}
