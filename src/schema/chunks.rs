//! Splitting a schema into one TOML document per `[[variable]]`, so that memory stays flat
//! however many variables a schema has.
//!
//! Parsing a whole schema at once made the `toml` crate hold every token and an intermediate
//! table of the whole file: 80 MB for a 10,000-variable schema (4.7 MB of text), most of
//! `render`'s peak memory. A schema is a `[schema]` table and an array of `[[variable]]`
//! tables with their `[variable.*]` sub-tables, and each `[[variable]]` with the sub-tables
//! that follow it is a TOML document of its own. This module finds those boundaries with the
//! `toml_parser` crate's own lexer (so strings, multi-line strings, comments and arrays that
//! span lines are never mistaken for headers), or first by a scan of line starts whose result
//! stands only when every piece parses (see [`split_lines`]); each piece goes to `toml`
//! separately, and the caller shifts every span by the piece's offset, so errors keep the
//! file's lines and columns.

use std::ops::Range;

use toml_parser::Source;
use toml_parser::lexer::TokenKind;

/// Searches for newlines, 16 bytes at a time where the CPU is sure to have SSE2 (every x86_64
/// CPU: `memchr` checks for it at compile time), a word at a time elsewhere. Not
/// `memchr::memchr`: its first call asks the CPU for its features through `std_detect`, 7
/// `cpuid` instructions, each a trap to the hypervisor in a virtual machine (about 4 us here),
/// more than the whole search of a schema. The word-at-a-time search counts a byte at a time:
/// on x86_64 the vector search takes 0.09 M fewer instructions of a `render` (2.3%).
#[derive(Clone, Copy)]
pub(super) enum Newlines {
    #[cfg(all(target_arch = "x86_64", target_feature = "sse2"))]
    Vector(memchr::arch::x86_64::sse2::memchr::One),
    Word(memchr::arch::all::memchr::One),
}

/// The newline searches, the fastest this CPU is sure to have.
pub(super) fn newlines() -> Newlines {
    #[cfg(all(target_arch = "x86_64", target_feature = "sse2"))]
    if let Some(vector) = memchr::arch::x86_64::sse2::memchr::One::new(b'\n') {
        return Newlines::Vector(vector);
    }
    Newlines::Word(memchr::arch::all::memchr::One::new(b'\n'))
}

impl Newlines {
    /// The offset of the first newline in `bytes`.
    pub(super) fn find(&self, bytes: &[u8]) -> Option<usize> {
        match self {
            #[cfg(all(target_arch = "x86_64", target_feature = "sse2"))]
            Newlines::Vector(one) => one.find(bytes),
            Newlines::Word(one) => one.find(bytes),
        }
    }

    /// The offset of the last newline in `bytes`.
    pub(super) fn rfind(&self, bytes: &[u8]) -> Option<usize> {
        match self {
            #[cfg(all(target_arch = "x86_64", target_feature = "sse2"))]
            Newlines::Vector(one) => one.rfind(bytes),
            Newlines::Word(one) => one.rfind(bytes),
        }
    }

    /// How many newlines `bytes` holds.
    pub(super) fn count(&self, bytes: &[u8]) -> usize {
        match self {
            #[cfg(all(target_arch = "x86_64", target_feature = "sse2"))]
            Newlines::Vector(one) => one.count(bytes),
            Newlines::Word(one) => one.count(bytes),
        }
    }

    /// The offsets of every newline in `bytes`, in order.
    pub(super) fn iter(self, bytes: &[u8]) -> impl Iterator<Item = usize> + '_ {
        let mut from = 0;
        std::iter::from_fn(move || {
            let at = from + self.find(bytes.get(from..)?)?;
            from = at + 1;
            Some(at)
        })
    }
}

/// What a piece of the schema holds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Part {
    /// Anything but variables: keys before the first header, `[schema]`, other tables.
    Other,
    /// One `[[variable]]` and the `[variable.*]` tables after it.
    Variable,
}

/// A piece of the schema text, by byte range.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) struct Chunk {
    pub range: Range<usize>,
    pub part: Part,
}

/// How a table header names its table.
enum Header {
    /// `[[variable]]`: a new variable.
    NewVariable,
    /// `[variable.x]` or `[[variable.x]]`: part of the current variable.
    InVariable,
    /// Any other table.
    Other,
}

/// Splits schema text at its `[[variable]]` lines by a scan of line starts, without lexing;
/// `None` when a line starts like a header this scan does not follow (the caller then uses
/// [`split`]): before the first variable, any header but a plain one naming another table
/// (`[schema]`, `[profile.x]`); after it, any header but `[variable.x]` or `[[variable.x]]`;
/// and a text that starts with a byte order mark.
///
/// A `[[variable]]` line inside a multi-line string, array or inline table is not a header,
/// but this scan splits there: the piece before it then ends inside that string, array or
/// table, which `toml` always refuses. The caller treats any error as a reason to split again
/// with [`split`] and parse again, so what is accepted, and every error, is what [`split`]
/// gives; this only saves lexing the text twice when the schema is right.
pub(super) fn split_lines(text: &str) -> Option<Vec<Chunk>> {
    if text.starts_with('\u{feff}') {
        return None;
    }
    let mut chunks = vec![Chunk {
        range: 0..text.len(),
        part: Part::Other,
    }];
    let newlines = newlines();
    let ends = newlines.iter(text.as_bytes()).map(|i| i + 1);
    let mut start = 0;
    for end in ends.chain(std::iter::once(text.len())) {
        let line = &text[start..end];
        let begin = start;
        start = end;
        let body = line.trim_start_matches([' ', '\t']);
        if !body.starts_with('[') {
            continue;
        }
        let header = body.trim_end_matches(['\n', '\r', ' ', '\t']);
        if header == "[[variable]]" {
            let start = begin + (line.len() - body.len());
            if let Some(last) = chunks.last_mut() {
                last.range.end = start;
            }
            chunks.push(Chunk {
                range: start..text.len(),
                part: Part::Variable,
            });
        } else if chunks.len() > 1 {
            if !header.starts_with("[variable.") && !header.starts_with("[[variable.") {
                return None;
            }
        } else if header.starts_with("[[")
            || header.starts_with("[\"")
            || header.starts_with("['")
            || header.contains("variable")
        {
            return None;
        }
    }
    Some(chunks)
}

/// Whether every multi-line string (`"""`, `'''`) of the text ends on the line it starts on.
/// Then each `[[variable]]` line [`split_lines`] cuts at is a header in any schema TOML
/// accepts (outside strings, such a line is valid TOML only as a header), so its pieces can be
/// trusted without parsing all of them, as [`super::validate::parse_slice`] does.
///
/// Only the lines holding three quotes in a row are lexed, each on its own: a line without
/// them cannot open a multi-line string, so each line lexed starts outside one.
pub(super) fn strings_stay_on_their_lines(text: &str) -> bool {
    let bytes = text.as_bytes();
    let newlines = newlines();
    let mut at = 0;
    while at + 3 <= bytes.len() {
        // Three quotes in a row at `at`? The third byte decides first: most bytes are not
        // quotes, and then no run of three starts at `at`, `at + 1` or `at + 2`.
        let quote = bytes[at + 2];
        if quote != b'"' && quote != b'\'' {
            at += 3;
            continue;
        }
        if bytes[at] != quote || bytes[at + 1] != quote {
            at += 1;
            continue;
        }
        let start = newlines.rfind(&bytes[..at]).map_or(0, |i| i + 1);
        let end = newlines
            .find(&bytes[at..])
            .map_or(text.len(), |i| at + i + 1);
        let line = &text[start..end];
        // A multi-line string left open runs to the end of what is lexed, its newline too.
        let open = Source::new(line).lex().any(|t| {
            matches!(
                t.kind(),
                TokenKind::MlBasicString | TokenKind::MlLiteralString
            ) && t.span().end() == line.len()
                && line.ends_with('\n')
        });
        if open {
            return false;
        }
        at = end;
    }
    true
}

/// The name a `[[variable]]` piece gives its variable, read without parsing the piece: the
/// first line after the header that is neither blank nor a comment, when it is exactly
/// `name = "NAME"` (or `'NAME'`) with NAME of ASCII letters, digits and `_`; `None` for
/// anything else. In a piece TOML accepts, that line is a key of the variable's own table:
/// nothing before it can open a string, array or table that it would be part of.
pub(super) fn peek_name(piece: &str) -> Option<&str> {
    let line = piece
        .split('\n')
        .skip(1)
        .map(|l| l.trim_matches([' ', '\t', '\r']))
        .find(|l| !l.is_empty() && !l.starts_with('#'))?;
    let value = line
        .strip_prefix("name")?
        .trim_start_matches([' ', '\t'])
        .strip_prefix('=')?
        .trim_start_matches([' ', '\t']);
    let quote = *value.as_bytes().first()?;
    if quote != b'"' && quote != b'\'' {
        return None;
    }
    let rest = &value[1..];
    let end = rest.bytes().position(|b| b == quote)?;
    let (name, after) = (
        &rest[..end],
        rest[end + 1..].trim_start_matches([' ', '\t']),
    );
    let plain = !name.is_empty() && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_');
    (plain && (after.is_empty() || after.starts_with('#'))).then_some(name)
}

/// Splits schema text at its `[[variable]]` headers, in file order, whatever its size.
///
/// Small schemas are split too. Parsed whole, the 28-variable stack (16 KiB) made `toml`
/// hold 230 KiB of tokens and tables at once, and each fresh page of that heap is a page
/// fault: in pieces `render` takes 25 fewer faults and about 5% less time.
pub(super) fn split(text: &str) -> Vec<Chunk> {
    let source = Source::new(text);
    let mut tokens = source.lex().peekable();
    let mut chunks = vec![Chunk {
        range: 0..text.len(),
        part: Part::Other,
    }];
    let mut line_start = true;
    // Inside a value (after `=` on a key/value line), and how deep in its brackets.
    let mut in_value = false;
    let mut depth = 0usize;
    while let Some(token) = tokens.next() {
        match token.kind() {
            TokenKind::Eof => break,
            TokenKind::Newline => {
                if depth == 0 {
                    in_value = false;
                    line_start = true;
                }
            }
            TokenKind::Whitespace | TokenKind::Comment => {}
            TokenKind::LeftSquareBracket if line_start && !in_value => {
                let start = token.span().start();
                let array = tokens
                    .next_if(|t| t.kind() == TokenKind::LeftSquareBracket)
                    .is_some();
                let mut first_key = None;
                let mut segments = 0;
                while let Some(t) = tokens.next_if(|t| {
                    !matches!(
                        t.kind(),
                        TokenKind::RightSquareBracket | TokenKind::Newline | TokenKind::Eof
                    )
                }) {
                    match t.kind() {
                        TokenKind::Whitespace | TokenKind::Dot => {}
                        _ => {
                            segments += 1;
                            if first_key.is_none() {
                                let raw = &text[t.span().start()..t.span().end()];
                                first_key = Some(unquote(raw));
                            }
                        }
                    }
                }
                let header = match (first_key, array, segments) {
                    (Some("variable"), true, 1) => Header::NewVariable,
                    (Some("variable"), _, _) => Header::InVariable,
                    _ => Header::Other,
                };
                let current = chunks.last().map(|c| c.part);
                let part = match header {
                    Header::NewVariable => Some(Part::Variable),
                    Header::InVariable if current == Some(Part::Variable) => None,
                    // A `[variable.x]` before any `[[variable]]` stays with the other tables,
                    // where `toml` reports it as it always did.
                    Header::InVariable | Header::Other => Some(Part::Other),
                };
                if let Some(part) = part {
                    if let Some(last) = chunks.last_mut() {
                        last.range.end = start;
                    }
                    chunks.push(Chunk {
                        range: start..text.len(),
                        part,
                    });
                }
                line_start = false;
            }
            TokenKind::Equals if depth == 0 => {
                in_value = true;
                line_start = false;
            }
            TokenKind::LeftSquareBracket | TokenKind::LeftCurlyBracket => {
                if in_value {
                    depth += 1;
                }
                line_start = false;
            }
            TokenKind::RightSquareBracket | TokenKind::RightCurlyBracket => {
                depth = depth.saturating_sub(1);
                line_start = false;
            }
            _ => line_start = false,
        }
    }
    chunks.retain(|c| c.part == Part::Variable || !text[c.range.clone()].trim().is_empty());
    chunks
}

/// A key as written, without its quotes (`"variable"`, `'variable'`); escapes are not
/// decoded, so an escaped key never matches `variable` and is left to `toml`.
fn unquote(raw: &str) -> &str {
    raw.strip_prefix('"')
        .and_then(|r| r.strip_suffix('"'))
        .or_else(|| raw.strip_prefix('\'').and_then(|r| r.strip_suffix('\'')))
        .unwrap_or(raw)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parts(text: &str) -> Vec<(Part, &str)> {
        split(text)
            .into_iter()
            .map(|c| (c.part, &text[c.range]))
            .collect()
    }

    #[test]
    fn each_variable_with_its_sub_tables_is_one_chunk() {
        let text = "[schema]\nname = \"s\"\n\n[[variable]]\nname = \"A\"\n[variable.rotation]\nimpact = \"free\"\n\n[[ variable ]]\nname = \"B\"\n";
        assert_eq!(
            parts(text),
            [
                (Part::Other, "[schema]\nname = \"s\"\n\n"),
                (
                    Part::Variable,
                    "[[variable]]\nname = \"A\"\n[variable.rotation]\nimpact = \"free\"\n\n"
                ),
                (Part::Variable, "[[ variable ]]\nname = \"B\"\n"),
            ]
        );
    }

    #[test]
    fn headers_inside_strings_comments_and_arrays_are_not_headers() {
        let text = "[[variable]]\nname = \"A\"\ndescription = \"\"\"\n[[variable]]\n\"\"\"\n# [[variable]]\nsteps = [\n  \"x\",\n  [1],\n]\nt = '''\n[schema]\n'''\n";
        assert_eq!(parts(text), [(Part::Variable, text)]);
    }

    #[test]
    fn other_tables_after_variables_are_chunks_of_their_own() {
        let text = "[[variable]]\nname = \"A\"\n[schema]\nname = \"s\"\n[profile.staging]\nX = \"1\"\n[variable.rotation]\n";
        let got = parts(text);
        assert_eq!(got.len(), 4, "{got:?}");
        assert_eq!(got[1], (Part::Other, "[schema]\nname = \"s\"\n"));
        assert_eq!(got[3], (Part::Other, "[variable.rotation]\n"));
    }

    #[test]
    fn quoted_keys_are_recognized_and_the_chunks_cover_the_text() {
        let text = "a = 1\n[[\"variable\"]]\nname = \"A\"\n['variable'.rotation]\n";
        let chunks = split(text);
        assert_eq!(chunks.len(), 2);
        assert_eq!(chunks[1].part, Part::Variable);
        assert_eq!(chunks[0].range.end, chunks[1].range.start);
        assert_eq!(chunks[1].range.end, text.len());
    }

    #[test]
    fn every_schema_is_split_however_small() {
        let one = "[schema]\nname = \"s\"\n[[variable]]\nname = \"A\"\n";
        assert_eq!(parts(one).len(), 2);
        let mut big = String::from("[schema]\nname = \"s\"\n");
        for _ in 0..2000 {
            big.push_str("[[variable]]\nname = \"A\"\n");
        }
        let chunks = split(&big);
        assert_eq!(chunks.len(), 2001);
        assert_eq!(chunks[0].part, Part::Other);
        assert!(chunks[1..].iter().all(|c| c.part == Part::Variable));
    }

    #[test]
    fn the_line_scan_splits_where_the_lexer_does() {
        let text = "# top\n[schema]\nname = \"s\"\n[profile.x]\nA = \"1\"\n\n[[variable]]\nname = \"A\"\n  [variable.rotation]\nimpact = \"free\"\n[[variable]]\r\nname = \"B\"\n";
        let fast = split_lines(text).expect("only variable tables after the first");
        assert_eq!(fast.len(), 3);
        assert_eq!(
            fast[0],
            Chunk {
                range: 0..fast[1].range.start,
                part: Part::Other
            }
        );
        let exact: Vec<_> = split(text)
            .into_iter()
            .filter(|c| c.part == Part::Variable)
            .collect();
        assert_eq!(fast[1..], exact[..]);
    }

    #[test]
    fn the_line_scan_gives_up_on_other_tables_after_variables() {
        for tail in [
            "[schema]\n",
            "[[ variable ]]\n",
            "[\"variable\".rotation]\n",
            "x = [\n[1],\n]\n",
            "[[variable]] # c\n",
        ] {
            let text = format!("[schema]\nname = \"s\"\n[[variable]]\nname = \"A\"\n{tail}");
            assert_eq!(split_lines(&text), None, "{tail:?}");
        }
    }

    #[test]
    fn the_line_scan_gives_up_on_variable_headers_it_does_not_read_before_the_first_cut() {
        for head in [
            "[[variable]] # c\n",
            "[[ variable ]]\n",
            "[[\"variable\"]]\n",
            "['variable']\n",
            "[variable.rotation]\n",
            "[[other]]\n",
            "\u{feff}[[variable]]\n",
        ] {
            let text = format!("{head}name = \"A\"\n[[variable]]\nname = \"B\"\n");
            assert_eq!(split_lines(&text), None, "{head:?}");
        }
        let plain = "[schema]\nname = \"s\"\n[profile.p]\nA = \"1\"\n[[variable]]\nname = \"A\"\n";
        assert_eq!(split_lines(plain).map(|c| c.len()), Some(2));
    }

    #[test]
    fn a_header_line_inside_a_string_or_array_leaves_a_piece_toml_refuses() {
        for inside in [
            "d = \"\"\"\n[[variable]]\n\"\"\"\n",
            "d = \'\'\'\n[[variable]]\n\'\'\'\n",
            "d = [\n[[variable]]\n]\n",
            "d = { a = 1,\n[[variable]]\n}\n",
        ] {
            let text = format!("[[variable]]\nname = \"A\"\n{inside}");
            let fast = split_lines(&text).expect("split at both lines");
            assert_eq!(fast.len(), 3, "{inside:?}");
            let piece = &text[fast[1].range.clone()];
            assert!(toml::from_str::<toml::Table>(piece).is_err(), "{piece:?}");
        }
    }

    /// Every x86_64 CPU has SSE2, so the vector search is the one taken there.
    #[cfg(all(target_arch = "x86_64", target_feature = "sse2"))]
    #[test]
    fn x86_64_searches_sixteen_bytes_at_a_time() {
        assert!(matches!(newlines(), Newlines::Vector(_)));
    }

    proptest::proptest! {
        /// The searches find what a byte-by-byte scan finds, on every length and alignment,
        /// whichever search this CPU uses and with the word-at-a-time one.
        #[test]
        fn newlines_are_found_as_a_byte_scan_finds_them(
            bytes in proptest::prop_oneof![
                proptest::collection::vec(proptest::sample::select(vec![b'\n', b'a', b'\r', 0, 0xff]), 0..300),
                // Newlines far apart: the 64-byte loops and their tails.
                proptest::collection::vec(proptest::prop_oneof![60 => proptest::strategy::Just(b'a'), 1 => proptest::strategy::Just(b'\n')], 0..700),
            ],
            skip in 0usize..16,
        ) {
            let bytes = &bytes[skip.min(bytes.len())..];
            let expected: Vec<usize> = (0..bytes.len()).filter(|&i| bytes[i] == b'\n').collect();
            for searches in [newlines(), Newlines::Word(memchr::arch::all::memchr::One::new(b'\n'))] {
                proptest::prop_assert_eq!(searches.iter(bytes).collect::<Vec<_>>(), expected.clone());
                proptest::prop_assert_eq!(searches.count(bytes), expected.len());
                proptest::prop_assert_eq!(searches.find(bytes), expected.first().copied());
                proptest::prop_assert_eq!(searches.rfind(bytes), expected.last().copied());
            }
        }

        /// Whenever every piece of the line scan parses, the lexer splits at the same places.
        #[test]
        fn a_line_scan_whose_pieces_parse_agrees_with_the_lexer(
            lines in proptest::collection::vec(proptest::prop_oneof![
                proptest::strategy::Just("[[variable]]".to_string()),
                proptest::strategy::Just("[[variable]] # c".to_string()),
                proptest::strategy::Just("  [[ variable ]]".to_string()),
                proptest::strategy::Just("[[\"variable\"]]".to_string()),
                proptest::strategy::Just("\u{feff}[[variable]]".to_string()),
                proptest::strategy::Just("[variable.rotation]".to_string()),
                proptest::strategy::Just("[[variable.x]]".to_string()),
                proptest::strategy::Just("[schema]".to_string()),
                proptest::strategy::Just("[profile.p]".to_string()),
                proptest::strategy::Just("variable = [{ name = \"X\" }]".to_string()),
                proptest::strategy::Just("d = {".to_string()),
                proptest::strategy::Just("}".to_string()),
                proptest::strategy::Just("d = \"\"\"".to_string()),
                proptest::strategy::Just("\"\"\"".to_string()),
                proptest::strategy::Just("d = [".to_string()),
                proptest::strategy::Just("]".to_string()),
                "[a-z]{1,3} = \"[a-z\\[\\] ]{0,5}\"",
                "[a-z]{1,3} = [0-9]{1,2}",
            ], 0..16),
        ) {
            let text = lines.join("\n") + "\n";
            let fast = split_lines(&text).unwrap_or_default();
            if !fast.is_empty() && fast.iter().all(|c| toml::from_str::<toml::Table>(&text[c.range.clone()]).is_ok()) {
                let exact = split(&text);
                let variables = |cs: &[Chunk]| {
                    cs.iter().filter(|c| c.part == Part::Variable).cloned().collect::<Vec<_>>()
                };
                proptest::prop_assert_eq!(variables(&fast), variables(&exact));
                // The other tables come before the first variable in both.
                let first = exact.iter().find(|c| c.part == Part::Variable).map_or(text.len(), |c| c.range.start);
                proptest::prop_assert_eq!(&fast[0].range, &(0..first));
            }
        }

        /// When the check passes, lexing the whole text finds no multi-line string that
        /// goes on past its line.
        #[test]
        fn strings_said_to_stay_on_their_lines_do(
            fragments in proptest::collection::vec(proptest::sample::select(vec![
                "\"\"\"", "'\'\'", "\"", "'", "\\", "a", " ", "=", "#", "[", "\n", "\r\n",
            ]), 0..40),
        ) {
            let text = fragments.concat();
            if strings_stay_on_their_lines(&text) {
                for t in Source::new(&text).lex() {
                    if matches!(t.kind(), TokenKind::MlBasicString | TokenKind::MlLiteralString) {
                        let raw = &text[t.span().start()..t.span().end()];
                        proptest::prop_assert!(!raw.contains('\n'), "{raw:?} in {text:?}");
                    }
                }
            }
        }

        #[test]
        fn chunks_never_panic_and_stay_in_order(text in "\\PC{0,300}") {
            let chunks = split(&text);
            let mut at = 0;
            for c in &chunks {
                proptest::prop_assert!(c.range.start >= at && c.range.end <= text.len());
                at = c.range.end;
            }
        }
    }
}
