//! Variable references in docker compose files, found the way compose interpolates them.
//!
//! The file is parsed as YAML (yaml-rust2), so a `${X}` in a comment is not a reference and
//! each reference is reported with the line of the scalar that holds it. Inside a scalar,
//! compose's syntax applies: `$$` is a literal `$`; `$NAME` and `${NAME}` need NAME,
//! as do `${NAME:?msg}` and `${NAME?msg}`; `${NAME:-default}`, `${NAME-default}`,
//! `${NAME:+alt}` and `${NAME+alt}` work without it. References nested in a default count too.

use std::path::Path;

use yaml_rust2::parser::{Event, MarkedEventReceiver, Parser};
use yaml_rust2::scanner::{Marker, TScalarStyle};

use crate::error::{Error, Result};

/// Whether compose needs the variable to be set.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Need {
    /// Without a value compose substitutes an empty string (or stops, for `?`).
    Required,
    /// The reference carries a default or an alternative.
    Defaulted,
}

/// One reference to a variable in a compose file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Reference {
    /// The variable.
    pub name: String,
    /// The 1-based line of the reference.
    pub line: usize,
    /// Whether compose needs the variable.
    pub need: Need,
}

fn is_name_start(b: u8) -> bool {
    b.is_ascii_alphabetic() || b == b'_'
}

fn name_len(bytes: &[u8]) -> usize {
    if bytes.first().is_some_and(|&b| is_name_start(b)) {
        bytes
            .iter()
            .take_while(|b| b.is_ascii_alphanumeric() || **b == b'_')
            .count()
    } else {
        0
    }
}

/// The references in one interpolated string: `(name, byte offset of the $, need)`.
pub fn references(text: &str) -> Vec<(String, usize, Need)> {
    let bytes = text.as_bytes();
    let mut found = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] != b'$' {
            i += 1;
            continue;
        }
        match bytes.get(i + 1) {
            Some(b'$') => i += 2,
            Some(b'{') => {
                let len = name_len(&bytes[i + 2..]);
                if len == 0 {
                    i += 2;
                    continue;
                }
                let after = &text[i + 2 + len..];
                let need = if [":-", "-", ":+", "+"]
                    .iter()
                    .any(|op| after.starts_with(op))
                {
                    Need::Defaulted
                } else {
                    Need::Required
                };
                found.push((text[i + 2..i + 2 + len].to_string(), i, need));
                // Go on right after the name, so references inside a default are found too.
                i += 2 + len;
            }
            Some(&b) if is_name_start(b) => {
                let len = name_len(&bytes[i + 1..]);
                found.push((text[i + 1..i + 1 + len].to_string(), i, Need::Required));
                i += 1 + len;
            }
            _ => i += 1,
        }
    }
    found
}

/// Collects references from every scalar of a YAML document.
struct Collector {
    found: Vec<Reference>,
}

impl MarkedEventReceiver for Collector {
    fn on_event(&mut self, event: Event, mark: Marker) {
        let Event::Scalar(value, style, _, _) = event else {
            return;
        };
        for (name, offset, need) in references(&value) {
            // The mark is where the scalar's text starts (for a block scalar, its first
            // content line, past the blank lines the value keeps as leading `\n`s); a literal
            // block keeps its line breaks, so count those after the first content line.
            let newlines = match style {
                TScalarStyle::Literal => {
                    let leading = value.len() - value.trim_start_matches('\n').len();
                    value[..offset]
                        .matches('\n')
                        .count()
                        .saturating_sub(leading)
                }
                _ => 0,
            };
            let line = mark.line() + newlines;
            self.found.push(Reference { name, line, need });
        }
    }
}

/// Every variable reference in the compose file at `path`.
pub fn scan(path: &Path) -> Result<Vec<Reference>> {
    let text = std::fs::read_to_string(path).map_err(|e| Error::io("read", path, e))?;
    scan_text(&text, path)
}

/// Every variable reference in compose file text read from `path` (named in errors).
pub fn scan_text(text: &str, path: &Path) -> Result<Vec<Reference>> {
    let mut collector = Collector { found: Vec::new() };
    Parser::new_from_str(text)
        .load(&mut collector, true)
        .map_err(|e| Error::ComposeSyntax {
            path: path.to_path_buf(),
            line: e.marker().line(),
            message: e.info().to_string(),
        })?;
    Ok(collector.found)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(text: &str) -> Vec<(String, Need)> {
        references(text)
            .into_iter()
            .map(|(n, _, need)| (n, need))
            .collect()
    }

    #[test]
    fn every_reference_form_of_compose() {
        use Need::*;
        let r = |n: &str, need| (n.to_string(), need);
        assert_eq!(names("${A}"), [r("A", Required)]);
        assert_eq!(names("$B/x"), [r("B", Required)]);
        assert_eq!(names("${C:?set C}"), [r("C", Required)]);
        assert_eq!(names("${D?}"), [r("D", Required)]);
        assert_eq!(
            names("${E:-x}${F-y}${G:+z}${H+w}"),
            [
                r("E", Defaulted),
                r("F", Defaulted),
                r("G", Defaulted),
                r("H", Defaulted)
            ]
        );
        assert_eq!(names("${I:-${J}}"), [r("I", Defaulted), r("J", Required)]);
        assert_eq!(names("$$K $${L} $$$M"), [r("M", Required)]);
        assert_eq!(names("cost: 5$ ${ } $1 ${9}"), []);
        assert_eq!(
            names("postgresql://${POSTGRES_USER}:${POSTGRES_PASSWORD}@db"),
            [
                r("POSTGRES_USER", Required),
                r("POSTGRES_PASSWORD", Required)
            ]
        );
    }

    /// Found by the compose fuzz target: the YAML scanner marks a block scalar at its first
    /// content line, past the blank lines the value keeps as leading `\n`s, so counting those
    /// again put the reference below where it is (past the end of the file here).
    #[test]
    fn a_literal_block_starting_with_blank_lines_keeps_its_lines() {
        let text = "c: |\n\n\n  ${AFTER_BLANKS}\n  $NEXT\nd: |+\n\n  $KEPT\n";
        let found = scan_text(text, Path::new("compose.yml")).unwrap();
        let lines: Vec<(&str, usize)> = found.iter().map(|r| (r.name.as_str(), r.line)).collect();
        assert_eq!(lines, [("AFTER_BLANKS", 4), ("NEXT", 5), ("KEPT", 8)]);
    }

    #[test]
    fn scanning_a_compose_file_skips_comments_and_keeps_lines() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("compose.yml");
        std::fs::write(
            &path,
            "services:\n  db:\n    # ${IN_A_COMMENT}\n    environment:\n      PASSWORD: ${DB_PASSWORD}\n      URL: \"postgres://$${NOT}:${DB_PASSWORD:-x}@db\"\n    command: |\n      run\n      --pass $REDIS_PASSWORD\n",
        )
        .unwrap();
        let found = scan(&path).unwrap();
        let summary: Vec<(&str, usize, Need)> = found
            .iter()
            .map(|r| (r.name.as_str(), r.line, r.need))
            .collect();
        assert_eq!(
            summary,
            [
                ("DB_PASSWORD", 5, Need::Required),
                ("DB_PASSWORD", 6, Need::Defaulted),
                ("REDIS_PASSWORD", 9, Need::Required)
            ]
        );
        std::fs::write(&path, "services: [\n").unwrap();
        assert!(matches!(scan(&path), Err(Error::ComposeSyntax { .. })));
    }
}
