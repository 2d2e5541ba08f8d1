//! One line of text a user gives (a name, a note): the rules every such field shares.

use super::ValidationError;

/// Checks one line of text given for `field` (`what` names it in messages: "the note"): at most
/// `max_chars` characters, no control characters and no invisible formatting characters (see
/// [`is_invisible_format`]) once trimmed; it may be empty.
pub fn validate_line(
    field: &'static str,
    what: &str,
    text: &str,
    max_chars: usize,
) -> Result<String, ValidationError> {
    let trimmed = text.trim();
    if trimmed.chars().count() > max_chars {
        return Err(ValidationError::new(
            field,
            format!("{what} is longer than {max_chars} characters"),
        ));
    }
    if trimmed.chars().any(char::is_control) {
        return Err(ValidationError::new(
            field,
            format!("{what} contains control characters"),
        ));
    }
    if let Some(c) = trimmed.chars().find(|c| is_invisible_format(*c)) {
        return Err(ValidationError::new(
            field,
            format!(
                "{what} contains an invisible formatting character (U+{:04X}): it would change how the text around it is shown",
                u32::from(c)
            ),
        ));
    }
    Ok(trimmed.to_string())
}

/// Characters that are not seen but change how text is shown or compared, refused in names and
/// notes: bidirectional controls (U+202A–U+202E embeddings and overrides, U+2066–U+2069
/// isolates, U+200E/U+200F marks, U+061C, which can show `abc\u{202E}evil` as `abclive`), and
/// the other invisible format characters: zero-width space U+200B, word joiner and invisible
/// operators U+2060–U+2064, deprecated format controls U+206A–U+206F, U+FEFF, soft hyphen
/// U+00AD, U+180E, interlinear annotation U+FFF9–U+FFFB and tag characters U+E0000–U+E007F.
/// The zero-width (non-)joiners U+200C/U+200D stay allowed: scripts such as Persian and
/// Devanagari, and emoji sequences, need them.
pub fn is_invisible_format(c: char) -> bool {
    matches!(
        c,
        '\u{202A}'..='\u{202E}'
            | '\u{2066}'..='\u{2069}'
            | '\u{200E}'
            | '\u{200F}'
            | '\u{061C}'
            | '\u{200B}'
            | '\u{2060}'..='\u{2064}'
            | '\u{206A}'..='\u{206F}'
            | '\u{FEFF}'
            | '\u{00AD}'
            | '\u{180E}'
            | '\u{FFF9}'..='\u{FFFB}'
            | '\u{E0000}'..='\u{E007F}'
    )
}
