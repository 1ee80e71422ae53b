//! Text in columns: padded by display width (`unicode-width`), so that a table of Japanese
//! names (two columns a character on a terminal) lines up as one of ASCII names does.

use unicode_width::UnicodeWidthStr;

/// `cell` followed by spaces to `width` display columns (none if it is wider).
pub(crate) fn pad(cell: &str, width: usize) -> String {
    let mut padded = String::with_capacity(cell.len() + width);
    padded.push_str(cell);
    padded.extend(std::iter::repeat_n(' ', width.saturating_sub(cell.width())));
    padded
}

/// How many columns `text` takes on a terminal.
pub(crate) fn width(text: &str) -> usize {
    text.width()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wide_characters_count_two_columns() {
        assert_eq!(pad("山田", 6), "山田  ");
        assert_eq!(pad("Yamada", 6), "Yamada");
        assert_eq!(width(&pad("山田 太郎", 12)), 12);
        assert_eq!(pad("long text", 3), "long text");
    }
}
