//! Positions in the schema file: the text being validated, where each piece of it starts,
//! and the errors placed at a file, line and column.

use std::cell::Cell;
use std::ops::Range;
use std::path::Path;

use super::super::chunks;
use super::super::raw::RawSchema;
use crate::error::{Error, Result};

/// What to do about a TOML error.
pub(super) const TOML_HINT: &str = "fix the TOML; `[schema]` needs `name`, each `[[variable]]` needs `name`, `kind`, `description` and `services`";

/// The schema text being validated, for positions in error messages. Spans given to it are
/// relative to `base`, where the piece of text being validated starts in the file.
#[derive(Clone, Copy)]
pub(super) struct Ctx<'a> {
    text: &'a str,
    path: &'a Path,
    /// The last position whose line was asked, and that line (1-based). Variables are
    /// validated in file order, so each line number costs a count of the newlines since the
    /// one before, not a scan from the top (which made a 10,000-variable schema quadratic),
    /// and no table of line starts is kept (a megabyte at 10,000 variables).
    cursor: &'a Cell<(usize, usize)>,
    base: usize,
}

impl<'a> Ctx<'a> {
    /// The whole file, `cursor` starting at line 1 of byte 0.
    pub(super) fn new(text: &'a str, path: &'a Path, cursor: &'a Cell<(usize, usize)>) -> Self {
        Ctx {
            text,
            path,
            cursor,
            base: 0,
        }
    }

    /// The same file, for a piece starting at byte `base`.
    pub(super) fn at(&self, base: usize) -> Ctx<'a> {
        Ctx { base, ..*self }
    }

    /// A span of the piece as a span of the file.
    pub(super) fn absolute(&self, span: &Range<usize>) -> Range<usize> {
        span.start + self.base..span.end + self.base
    }

    /// Parses one piece of the schema with `toml`, errors placed in the file.
    pub(super) fn toml(&self, piece: &str) -> Result<RawSchema> {
        toml::from_str(piece).map_err(|e| {
            let span = e.span().unwrap_or(0..0);
            self.error(span, None, e.message().to_string(), TOML_HINT)
        })
    }

    pub(super) fn error(
        &self,
        span: Range<usize>,
        variable: Option<&str>,
        message: String,
        hint: &str,
    ) -> Error {
        let span = self.absolute(&span);
        let mut offset = span.start.min(self.text.len());
        while !self.text.is_char_boundary(offset) {
            offset -= 1;
        }
        let line = self.line_of(&span);
        let start = memchr::memrchr(b'\n', &self.text.as_bytes()[..offset]).map_or(0, |i| i + 1);
        let column = self.text[start..offset].chars().count() + 1;
        self.error_with(line, column, variable, message, hint)
    }

    /// The position in the file of byte `offset` of a parsed TOML string whose token spans
    /// `span`. The parsed text and the file agree only where nothing before the offset was
    /// escaped (`\t`, `\u00e9`) or folded (`"""` strings): there the exact position, elsewhere
    /// the start of the string.
    pub(super) fn in_string(&self, span: &Range<usize>, parsed: &str, offset: usize) -> usize {
        let raw = self.text.get(self.absolute(span)).unwrap_or_default();
        let quote = if raw.starts_with("\"\"\"") || raw.starts_with("'''") {
            3
        } else {
            1
        };
        let body = raw.get(quote..).unwrap_or_default();
        match (parsed.get(..offset), body.get(..offset)) {
            (Some(a), Some(b)) if a == b => span.start + quote + offset,
            _ => span.start,
        }
    }

    pub(super) fn error_at_line(
        &self,
        line: usize,
        variable: Option<&str>,
        message: String,
        hint: &str,
    ) -> Error {
        self.error_with(line, 1, variable, message, hint)
    }

    pub(super) fn error_with(
        &self,
        line: usize,
        column: usize,
        variable: Option<&str>,
        message: String,
        hint: &str,
    ) -> Error {
        Error::Schema {
            path: self.path.to_path_buf(),
            line,
            column,
            message: match variable {
                Some(name) => format!("variable {name}: {message}"),
                None => message,
            },
            hint: hint.to_string(),
        }
    }

    /// The 1-based line of a span's start.
    pub(super) fn line_of(&self, span: &Range<usize>) -> usize {
        let offset = span.start.min(self.text.len());
        let (from, line) = match self.cursor.get() {
            (at, line) if at <= offset => (at, line),
            _ => (0, 1),
        };
        let line = line + chunks::newlines().count(&self.text.as_bytes()[from..offset]);
        self.cursor.set((offset, line));
        line
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    proptest::proptest! {
        /// Lines asked in any order (forwards as variables are read, backwards for an error
        /// about an earlier one) are those a count from the top gives.
        #[test]
        fn lines_are_right_in_any_order(
            text in "[a-z\n]{0,200}",
            offsets in proptest::collection::vec(0usize..220, 1..20),
        ) {
            let cursor = Cell::new((0, 1));
            let ctx = Ctx::new(&text, Path::new("s.toml"), &cursor);
            for offset in offsets {
                let end = offset.min(text.len());
                let expected = text.as_bytes()[..end].iter().filter(|&&b| b == b'\n').count() + 1;
                proptest::prop_assert_eq!(ctx.line_of(&(offset..offset)), expected);
            }
        }
    }
}
