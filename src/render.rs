//! Writing values as a `.env` file that docker compose v2 and python-dotenv read back exactly.
//!
//! The two parsers disagree on escapes (see `shared/stack/alecia-variables.md`), so each value
//! gets the first spelling that is exact for both:
//!
//! 1. bare (`NAME=value`) when it holds only `A-Z a-z 0-9 _ - . , : / @ + = %`;
//! 2. single quotes when it holds no backslash: both read single quotes literally except
//!    `\'`, which is how a `'` is written;
//! 3. double quotes when it holds a backslash but no `$`: both decode `\\` and `\"`;
//! 4. single quotes again when its backslashes are all lone, not before a quote and not last.
//!
//! A value that is none of these (a backslash pair or a trailing backslash together with a
//! `$`) is written in double quotes with `\$`, exact for compose, the target of `render`.
//! python-dotenv also expands `${NAME}` even inside single quotes; a value holding such a
//! reference, or the case above, is reported by name as one python-dotenv would misread.
//! Generated values never hit either case. `tests/parsers.rs` checks all of this against the
//! real parsers.

use std::sync::LazyLock;

use regex_lite::Regex;

use crate::secret::SecretBuf;

/// What python-dotenv 1.x treats as a variable reference in any quoting.
static PYTHON_DOTENV_REFERENCE: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"\$\{[^}:]*(?::-[^}]*)?\}").expect("valid regex"));

/// Checks that a value can be stored and rendered at all: not empty, no control characters.
pub fn check_value(value: &str) -> Result<(), &'static str> {
    if value.is_empty() {
        Err("is empty")
    } else if value.chars().any(char::is_control) {
        Err("contains a control character (newline, tab...)")
    } else {
        Ok(())
    }
}

/// The quoting chosen for one value.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Spelling {
    Bare,
    Single,
    Double,
}

fn is_bare(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"_-.,:/@+=%".contains(&b)
}

/// Picks the spelling of `value`, and whether python-dotenv reads it exactly.
fn spelling(value: &str) -> (Spelling, bool) {
    if value.bytes().all(is_bare) {
        return (Spelling::Bare, true);
    }
    let python_expands = PYTHON_DOTENV_REFERENCE.is_match(value);
    if !value.contains('\\') {
        (Spelling::Single, !python_expands)
    } else if !value.contains('$') {
        (Spelling::Double, true)
    } else if !value.contains("\\\\") && !value.contains("\\'") && !value.ends_with('\\') {
        (Spelling::Single, !python_expands)
    } else {
        (Spelling::Double, false)
    }
}

/// Appends `NAME=<quoted value>\n` to `out`; returns whether python-dotenv reads it exactly.
pub fn push_assignment(out: &mut SecretBuf, name: &str, value: &str) -> bool {
    let (spelling, python_exact) = spelling(value);
    out.push_str(name);
    out.push_str("=");
    match spelling {
        Spelling::Bare => out.push_str(value),
        Spelling::Single => {
            out.push_str("'");
            push_escaped(out, value, |c| (c == '\'').then_some("\\'"));
            out.push_str("'");
        }
        Spelling::Double => {
            out.push_str("\"");
            push_escaped(out, value, |c| match c {
                '\\' => Some("\\\\"),
                '"' => Some("\\\""),
                '$' => Some("\\$"),
                _ => None,
            });
            out.push_str("\"");
        }
    }
    out.push_str("\n");
    python_exact
}

/// Appends `value`, replacing each character for which `escape` gives a replacement.
fn push_escaped(out: &mut SecretBuf, value: &str, escape: impl Fn(char) -> Option<&'static str>) {
    let mut start = 0;
    for (i, c) in value.char_indices() {
        if let Some(replacement) = escape(c) {
            out.push_str(&value[start..i]);
            out.push_str(replacement);
            start = i + c.len_utf8();
        }
    }
    out.push_str(&value[start..]);
}

/// A rendered `.env`.
#[derive(Debug)]
pub struct Dotenv {
    /// The file's text.
    pub text: SecretBuf,
    /// Variables whose value python-dotenv would read differently (compose reads them exactly).
    pub python_dotenv_inexact: Vec<String>,
}

/// Renders `header` (as `#` comment lines) then one assignment per `(name, value)`.
pub fn dotenv<'a>(header: &str, values: impl IntoIterator<Item = (&'a str, &'a str)>) -> Dotenv {
    let mut text = SecretBuf::with_capacity(4096);
    for line in header.lines() {
        text.push_str(if line.is_empty() { "#" } else { "# " });
        text.push_str(line);
        text.push_str("\n");
    }
    let mut python_dotenv_inexact = Vec::new();
    for (name, value) in values {
        if !push_assignment(&mut text, name, value) {
            python_dotenv_inexact.push(name.to_string());
        }
    }
    Dotenv {
        text,
        python_dotenv_inexact,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn line(value: &str) -> (String, bool) {
        let mut out = SecretBuf::default();
        let exact = push_assignment(&mut out, "K", value);
        (out.as_str().to_string(), exact)
    }

    #[test]
    fn spellings_follow_the_documented_rules() {
        assert_eq!(line("abcDEF0123"), ("K=abcDEF0123\n".into(), true));
        assert_eq!(line("a+b/c=="), ("K=a+b/c==\n".into(), true));
        assert_eq!(
            line("p%40ss@host:5432/db"),
            ("K=p%40ss@host:5432/db\n".into(), true)
        );
        assert_eq!(line("it's # $x"), ("K='it\\'s # $x'\n".into(), true));
        assert_eq!(
            line("$argon2id$v=19$m=65540,t=3,p=4$c2FsdA$aGFzaA"),
            (
                "K='$argon2id$v=19$m=65540,t=3,p=4$c2FsdA$aGFzaA'\n".into(),
                true
            )
        );
        assert_eq!(line("a\\b\"c"), ("K=\"a\\\\b\\\"c\"\n".into(), true));
        assert_eq!(line("a\\b$c"), ("K='a\\b$c'\n".into(), true));
        assert_eq!(line("a\\\\b$c"), ("K=\"a\\\\\\\\b\\$c\"\n".into(), false));
        assert_eq!(line("end\\$"), ("K='end\\$'\n".into(), true));
        assert_eq!(line("x$\\"), ("K=\"x\\$\\\\\"\n".into(), false));
        assert_eq!(line("${HOME}"), ("K='${HOME}'\n".into(), false));
        assert_eq!(line("${a:b}"), ("K='${a:b}'\n".into(), true));
    }

    #[test]
    fn values_must_be_non_empty_single_line_text() {
        assert!(check_value("").is_err());
        assert!(check_value("a\nb").is_err());
        assert!(check_value("a\tb").is_err());
        assert!(check_value("a\u{7f}").is_err());
        assert!(check_value("ünï $#'\"\\ ok").is_ok());
    }

    #[test]
    fn the_header_is_commented_and_values_follow_in_order() {
        let out = dotenv("one\n\ntwo", [("A", "1"), ("B", "x y")]);
        assert_eq!(out.text.as_str(), "# one\n#\n# two\nA=1\nB='x y'\n");
        assert!(out.python_dotenv_inexact.is_empty());
    }

    proptest! {
        #[test]
        fn every_printable_value_is_one_line_with_balanced_quotes(value in "[ -~]{1,40}") {
            let (text, _) = line(&value);
            prop_assert!(text.ends_with('\n'));
            prop_assert_eq!(text.matches('\n').count(), 1);
            let body = &text["K=".len()..text.len() - 1];
            match body.as_bytes()[0] {
                b'\'' | b'"' => prop_assert!(body.len() >= 2 && body.ends_with(&body[..1])),
                _ => prop_assert_eq!(body, value.as_str()),
            }
        }
    }
}
