//! Writing values as a `.env` file that docker compose v2 and python-dotenv read back exactly.
//!
//! The two parsers disagree on escapes (see `shared/stack/alecia-variables.md`), so each value
//! gets the first spelling that is exact for both:
//!
//! 1. bare (`NAME=value`) when it holds only `A-Z a-z 0-9 _ - . , : / @ + = %`;
//! 2. single quotes when it holds no backslash: both read single quotes literally except
//!    `\'`, which is how a `'` is written;
//! 3. double quotes when it holds a backslash, no `$`, and does not end with a backslash:
//!    both decode `\\` and `\"`;
//! 4. single quotes again when its backslashes are all lone, not before a quote and not last;
//! 5. bare again, raw, when it ends with a backslash: both read unquoted backslashes literally
//!    (python-dotenv's quoted-value regex takes a backslash before the closing quote as an
//!    escape and runs on into the next lines), provided nothing else needs quoting: no space
//!    at either end, no ` #`, no quote or `#` first. A `$` is written `$$` for compose.
//!
//! A value that spans lines (a PEM key) is written in double quotes with each newline as
//! `\n` (and `\\`, `\"`, `\$` escaped): compose-go and python-dotenv both decode `\n` in double
//! quotes, and the `.env` keeps one line per variable.
//!
//! Whatever is left is written in double quotes with `\$`, exact for compose, the target of
//! `render`. python-dotenv also expands `${NAME}` in every quoting, and keeps `$$` and `\$`
//! as they are: such values are reported by name, and after a value that makes python-dotenv
//! run on, every later name is reported too. Generated values from the bundled schema never
//! hit any of these cases. `tests/integration/parsers.rs` checks all of it against the real
//! parsers.

use std::sync::LazyLock;

use regex_lite::Regex;

use crate::secret::SecretBuf;

/// What python-dotenv 1.x treats as a variable reference in any quoting.
static PYTHON_DOTENV_REFERENCE: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"\$\{[^}:]*(?::-[^}]*)?\}").expect("valid regex"));

/// The largest value envgen stores or renders (an RSA-4096 private key in PEM is 3.3 KiB).
pub const MAX_VALUE: usize = 64 << 10;

/// Checks that a value can be stored and rendered at all: not empty, no control characters
/// (but `\n` when the variable is `multiline`), at most [`MAX_VALUE`] bytes.
pub fn check_value(value: &str, multiline: bool) -> Result<(), &'static str> {
    if value.is_empty() {
        Err("is empty")
    } else if value.len() > MAX_VALUE {
        Err("is longer than 64 KiB")
    } else if value
        .chars()
        .any(|c| c.is_control() && !(multiline && c == '\n'))
    {
        if multiline {
            Err("contains a control character other than a newline (tab, carriage return...)")
        } else {
            Err("contains a control character (newline, tab...)")
        }
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

/// How python-dotenv reads a spelled value.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Python {
    /// Exactly.
    Exact,
    /// Differently, on this line only.
    Misreads,
    /// Differently, and it may swallow the lines after it.
    RunsOn,
}

fn is_bare(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"_-.,:/@+=%".contains(&b)
}

/// Whether both parsers read `value` literally when written unquoted (`$` aside).
fn reads_raw_unquoted(value: &str) -> bool {
    !value.starts_with(['\'', '"', '#', ' ']) && !value.ends_with(' ') && !value.contains(" #")
}

/// Picks the spelling of `value`, and how python-dotenv reads it.
fn spelling(value: &str) -> (Spelling, Python) {
    if value.bytes().all(is_bare) {
        return (Spelling::Bare, Python::Exact);
    }
    let dollar = value.contains('$');
    let literal = if PYTHON_DOTENV_REFERENCE.is_match(value) {
        Python::Misreads
    } else {
        Python::Exact
    };
    let trailing_backslash = value.ends_with('\\');
    if value.contains('\n') {
        let python = if trailing_backslash {
            Python::RunsOn
        } else if dollar {
            Python::Misreads
        } else {
            Python::Exact
        };
        return (Spelling::Double, python);
    }
    if !value.contains('\\') {
        (Spelling::Single, literal)
    } else if !dollar && !trailing_backslash {
        (Spelling::Double, Python::Exact)
    } else if !trailing_backslash && !value.contains("\\\\") && !value.contains("\\'") {
        (Spelling::Single, literal)
    } else if reads_raw_unquoted(value) {
        let python = if dollar {
            Python::Misreads
        } else {
            Python::Exact
        };
        (Spelling::Bare, python)
    } else if trailing_backslash {
        (Spelling::Double, Python::RunsOn)
    } else {
        (Spelling::Double, Python::Misreads)
    }
}

/// Appends `NAME=<quoted value>\n` to `out`; says how python-dotenv reads it.
fn push_assignment(out: &mut SecretBuf, name: &str, value: &str) -> Python {
    let (spelling, python) = spelling(value);
    out.push_str(name);
    out.push_str("=");
    match spelling {
        Spelling::Bare => push_escaped(out, value, |c| (c == '$').then_some("$$")),
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
                '\n' => Some("\\n"),
                _ => None,
            });
            out.push_str("\"");
        }
    }
    out.push_str("\n");
    python
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
    /// Variables python-dotenv may read differently (compose reads them exactly). Every
    /// variable not listed here, python-dotenv reads exactly.
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
    let mut ran_on = false;
    for (name, value) in values {
        let python = push_assignment(&mut text, name, value);
        ran_on |= python == Python::RunsOn;
        if ran_on || python != Python::Exact {
            python_dotenv_inexact.push(name.to_string());
        }
    }
    Dotenv {
        text,
        python_dotenv_inexact,
    }
}

/// `export NAME='value'` lines, exact when evaluated by POSIX sh or bash: nothing is special
/// inside single quotes, and a `'` is written `'\''` (close, escaped quote, reopen).
pub fn shell<'a>(values: impl IntoIterator<Item = (&'a str, &'a str)>) -> SecretBuf {
    let mut text = SecretBuf::with_capacity(4096);
    for (name, value) in values {
        text.push_str("export ");
        text.push_str(name);
        text.push_str("='");
        push_escaped(&mut text, value, |c| (c == '\'').then_some("'\\''"));
        text.push_str("'\n");
    }
    text
}

/// One JSON object mapping each name to its value, in the given order.
pub fn json<'a>(values: impl IntoIterator<Item = (&'a str, &'a str)>) -> SecretBuf {
    let mut text = SecretBuf::with_capacity(4096);
    text.push_str("{");
    for (i, (name, value)) in values.into_iter().enumerate() {
        text.push_str(if i == 0 { "\n  " } else { ",\n  " });
        text.push_json_string(name);
        text.push_str(": ");
        text.push_json_string(value);
    }
    text.push_str("\n}\n");
    text
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn line(value: &str) -> (String, Python) {
        let mut out = SecretBuf::default();
        let python = push_assignment(&mut out, "K", value);
        (out.as_str().to_string(), python)
    }

    #[test]
    fn spellings_follow_the_documented_rules() {
        use Python::*;
        assert_eq!(line("abcDEF0123"), ("K=abcDEF0123\n".into(), Exact));
        assert_eq!(line("a+b/c=="), ("K=a+b/c==\n".into(), Exact));
        assert_eq!(
            line("p%40ss@host:5432/db"),
            ("K=p%40ss@host:5432/db\n".into(), Exact)
        );
        assert_eq!(line("it's # $x"), ("K='it\\'s # $x'\n".into(), Exact));
        assert_eq!(
            line("$argon2id$v=19$m=65540,t=3,p=4$c2FsdA$aGFzaA"),
            (
                "K='$argon2id$v=19$m=65540,t=3,p=4$c2FsdA$aGFzaA'\n".into(),
                Exact
            )
        );
        assert_eq!(line("a\\b\"c"), ("K=\"a\\\\b\\\"c\"\n".into(), Exact));
        assert_eq!(line("a\\b$c"), ("K='a\\b$c'\n".into(), Exact));
        assert_eq!(line("end\\$"), ("K='end\\$'\n".into(), Exact));
        assert_eq!(line("trailing\\"), ("K=trailing\\\n".into(), Exact));
        assert_eq!(line("it's\\"), ("K=it's\\\n".into(), Exact));
        assert_eq!(line("x$\\"), ("K=x$$\\\n".into(), Misreads));
        assert_eq!(line("a\\\\b$c"), ("K=a\\\\b$$c\n".into(), Misreads));
        assert_eq!(line("'q\\"), ("K=\"'q\\\\\"\n".into(), RunsOn));
        assert_eq!(line(" x\\\\$"), ("K=\" x\\\\\\\\\\$\"\n".into(), Misreads));
        assert_eq!(line("${HOME}"), ("K='${HOME}'\n".into(), Misreads));
        assert_eq!(line("${a:b}"), ("K='${a:b}'\n".into(), Exact));
    }

    #[test]
    fn after_a_value_python_dotenv_runs_on_every_later_name_is_reported() {
        let out = dotenv(
            "",
            [
                ("A", "ok"),
                ("B", "${X}"),
                ("C", "ok"),
                ("D", "\"q\\"),
                ("E", "ok"),
            ],
        );
        assert_eq!(out.python_dotenv_inexact, ["B", "D", "E"]);
    }

    #[test]
    fn shell_and_json_spellings() {
        let values = [("A", "it's $HOME"), ("B", "x\"y")];
        assert_eq!(
            shell(values).as_str(),
            "export A='it'\\''s $HOME'\nexport B='x\"y'\n"
        );
        assert_eq!(
            json(values).as_str(),
            "{\n  \"A\": \"it's $HOME\",\n  \"B\": \"x\\\"y\"\n}\n"
        );
        assert_eq!(json([]).as_str(), "{\n}\n");
    }

    #[test]
    fn values_must_be_non_empty_single_line_text() {
        assert!(check_value("", false).is_err());
        assert!(check_value("a\nb", false).is_err());
        assert!(check_value("a\tb", false).is_err());
        assert!(check_value("a\u{7f}", false).is_err());
        assert!(check_value("ünï $#'\"\\ ok", false).is_ok());
    }

    #[test]
    fn multiline_values_may_hold_newlines_only() {
        assert!(check_value("a\nb\n", true).is_ok());
        assert!(check_value("a\r\nb", true).is_err());
        assert!(check_value("a\tb", true).is_err());
        assert!(check_value("", true).is_err());
    }

    #[test]
    fn multiline_values_are_double_quoted_with_escaped_newlines() {
        use Python::*;
        assert_eq!(
            line("-----BEGIN X-----\nAB+/=\n-----END X-----"),
            (
                "K=\"-----BEGIN X-----\\nAB+/=\\n-----END X-----\"\n".into(),
                Exact
            )
        );
        assert_eq!(line("a\n$b"), ("K=\"a\\n\\$b\"\n".into(), Misreads));
        assert_eq!(line("a\n'\"\\x"), ("K=\"a\\n'\\\"\\\\x\"\n".into(), Exact));
        assert_eq!(line("a\nb\\"), ("K=\"a\\nb\\\\\"\n".into(), RunsOn));
        assert_eq!(shell([("K", "a\nb'c")]).as_str(), "export K='a\nb'\\''c'\n");
        assert_eq!(json([("K", "a\nb")]).as_str(), "{\n  \"K\": \"a\\nb\"\n}\n");
    }

    #[test]
    fn the_header_is_commented_and_values_follow_in_order() {
        let out = dotenv("one\n\ntwo", [("A", "1"), ("B", "x y")]);
        assert_eq!(out.text.as_str(), "# one\n#\n# two\nA=1\nB='x y'\n");
        assert!(out.python_dotenv_inexact.is_empty());
    }

    proptest! {
        #[test]
        fn multi_line_values_stay_on_one_line_and_read_back_in_the_compose_dialect(
            value in "[ -~\n]{0,30}\n[ -~\n]{0,30}",
        ) {
            prop_assume!(check_value(&value, true).is_ok());
            let (text, _) = line(&value);
            prop_assert_eq!(text.matches('\n').count(), 1);
            let parsed = crate::dotenv::parse(&text).unwrap();
            prop_assert_eq!(parsed.len(), 1);
            match &parsed[0].value {
                crate::dotenv::Value::Literal(v) => {
                    prop_assert_eq!(secrecy::ExposeSecret::expose_secret(v), value.as_str())
                }
                _ => prop_assert!(false, "not read as a literal"),
            }
        }

        #[test]
        fn every_printable_value_is_one_line_with_balanced_quotes(value in "[ -~]{1,40}") {
            let (text, _) = line(&value);
            prop_assert!(text.ends_with('\n'));
            prop_assert_eq!(text.matches('\n').count(), 1);
            let body = &text["K=".len()..text.len() - 1];
            match body.as_bytes()[0] {
                b'\'' | b'"' => prop_assert!(body.len() >= 2 && body.ends_with(&body[..1])),
                _ => prop_assert_eq!(body, value.replace('$', "$$")),
            }
        }
    }
}
