//! Reading an existing `.env` the way docker compose v2 reads it (compose-go's dialect), for
//! `import` and `diff`.
//!
//! No crate implements compose's dialect, and the point of `import` is to keep the values the
//! running stack got, so this follows compose-go's `dotenv/parser.go` step by step: a UTF-8
//! BOM is skipped; blank lines and `#` lines are skipped; `export ` is dropped; the key ends
//! at `=` or `:` (a key alone on its line takes its value from the shell, which envgen cannot
//! see); unquoted values run to the end of the line, lose a ` #` comment and trailing
//! whitespace (a CRLF's `\r` included); quoted values may span lines, and a backslash
//! before the quote escapes it; double-quoted values then decode `\n \t \\ \$ ...`. The last
//! assignment of a key wins. The tests compare every value with compose-go's own reading.
//!
//! compose then substitutes `$NAME` / `${...}` in unquoted and double-quoted values, from the
//! shell environment first. envgen cannot know that environment, so such a value is returned
//! as [`Value::Reference`], never guessed; `$$` (and `\$` in double quotes) is a literal `$`.

use secrecy::SecretString;
use zeroize::Zeroizing;

/// A value as compose would see it.
#[derive(Debug)]
pub enum Value {
    /// The exact value.
    Literal(SecretString),
    /// The value refers to other variables, which compose substitutes at deploy time.
    Reference,
    /// The key has no `=`: compose takes the value from the shell environment.
    Inherited,
}

/// One assignment of the file.
#[derive(Debug)]
pub struct Assignment {
    /// The key.
    pub name: String,
    /// The 1-based line where the assignment starts.
    pub line: usize,
    /// The value.
    pub value: Value,
}

/// A syntax error compose would also report: the line and what is wrong (never a value).
#[derive(Debug, PartialEq, Eq)]
pub struct SyntaxError {
    /// 1-based line.
    pub line: usize,
    /// What is wrong.
    pub message: String,
}

/// compose-go's `isSpace`: white space that does not end a line.
fn is_space(c: char) -> bool {
    matches!(
        c,
        '\t' | '\u{b}' | '\u{c}' | '\r' | ' ' | '\u{85}' | '\u{a0}'
    )
}

/// Parses `text`; assignments come in file order (later ones win).
pub fn parse(text: &str) -> Result<Vec<Assignment>, SyntaxError> {
    let src = text.strip_prefix('\u{feff}').unwrap_or(text);
    let line_starts: Vec<usize> = std::iter::once(0)
        .chain(src.match_indices('\n').map(|(i, _)| i + 1))
        .collect();
    let line_at = |rest: &str| line_starts.partition_point(|&s| s <= src.len() - rest.len());
    let mut out = Vec::new();
    let mut rest = src;
    loop {
        rest = rest.trim_start();
        if rest.is_empty() {
            break;
        }
        if rest.starts_with('#') {
            rest = rest.find('\n').map_or("", |i| &rest[i..]);
            continue;
        }
        let line = line_at(rest);
        let error = |message: String| SyntaxError { line, message };
        if let Some(after) = rest
            .strip_prefix("export")
            .filter(|a| a.starts_with(char::is_whitespace))
        {
            rest = after.trim_start_matches(is_space);
        }
        let mut end = None;
        for (i, c) in rest.char_indices() {
            match c {
                '=' | ':' | '\n' => {
                    end = Some((i, c));
                    break;
                }
                c if is_space(c) || c.is_alphanumeric() || "_.-[]".contains(c) => {}
                other => {
                    return Err(error(format!(
                        "unexpected character {other:?} in a variable name"
                    )));
                }
            }
        }
        let Some((at, terminator)) = end else {
            // A last line with no `=`: a key whose value comes from the shell.
            out.push(Assignment {
                name: rest.trim().to_string(),
                line,
                value: Value::Inherited,
            });
            break;
        };
        let name = rest[..at].trim_end().to_string();
        if name.contains(char::is_whitespace) {
            return Err(error("a key cannot contain a space".into()));
        }
        rest = rest[at + 1..].trim_start_matches(is_space);
        if terminator == '\n' {
            out.push(Assignment {
                name,
                line,
                value: Value::Inherited,
            });
            continue;
        }
        let (value, after) = match rest.as_bytes().first() {
            Some(&quote @ (b'\'' | b'"')) => {
                let (raw, after) = quoted(rest, quote)
                    .ok_or_else(|| error(format!("{name}: unterminated quoted value")))?;
                let value = if quote == b'"' {
                    substitute(&unescape(&raw))
                } else {
                    Value::Literal(SecretString::from(raw.as_str()))
                };
                (value, after)
            }
            _ => {
                let (line_text, after) = rest.split_once('\n').unwrap_or((rest, ""));
                let value = line_text
                    .split_once(" #")
                    .map_or(line_text, |(v, _)| v)
                    .trim_end();
                (substitute(value), after)
            }
        };
        out.push(Assignment { name, line, value });
        rest = after;
    }
    Ok(out)
}

/// Reads a quoted value starting at `src[0]`: a backslash before the quote escapes it, any
/// other backslash stays. Returns the text between the quotes and what follows them.
fn quoted(src: &str, quote: u8) -> Option<(Zeroizing<String>, &str)> {
    let bytes = src.as_bytes();
    let mut value = Zeroizing::new(Vec::with_capacity(src.len()));
    let mut escaped = false;
    for i in 1..bytes.len() {
        let b = bytes[i];
        if b != quote {
            if !escaped && b == b'\\' {
                escaped = true;
                continue;
            }
            if escaped {
                escaped = false;
                value.push(b'\\');
            }
            value.push(b);
            continue;
        }
        if escaped {
            escaped = false;
            value.push(b);
            continue;
        }
        let text = String::from_utf8(std::mem::take(&mut *value)).expect("split at ASCII quotes");
        return Some((Zeroizing::new(text), &src[i + 1..]));
    }
    None
}

/// compose's escapes in double quotes: `\a \b \f \n \r \t \v \\ \"`, `\0NNN` octal, and `\$`,
/// which stays `$$` for the substitution step to turn into `$`. Others are kept as written.
fn unescape(raw: &str) -> Zeroizing<String> {
    let mut out = Zeroizing::new(String::with_capacity(raw.len() + 8));
    let mut chars = raw.chars().peekable();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        let decoded = match chars.peek() {
            Some('a') => Some("\u{7}"),
            Some('b') => Some("\u{8}"),
            Some('f') => Some("\u{c}"),
            Some('n') => Some("\n"),
            Some('r') => Some("\r"),
            Some('t') => Some("\t"),
            Some('v') => Some("\u{b}"),
            Some('\\') => Some("\\"),
            Some('"') => Some("\""),
            Some('$') => Some("$$"),
            _ => None,
        };
        if let Some(text) = decoded {
            out.push_str(text);
            chars.next();
        } else if chars.peek() == Some(&'0') {
            chars.next();
            let digits: String = std::iter::from_fn(|| chars.next_if(|d| d.is_ascii_digit()))
                .take(3)
                .collect();
            match u8::from_str_radix(&digits, 8) {
                Ok(byte) if digits.len() == 3 => out.push(char::from(byte)),
                _ => {
                    out.push('\\');
                    out.push_str(&digits);
                }
            }
        } else {
            out.push('\\');
        }
    }
    out
}

/// compose's substitution: `$$` is `$`; `$NAME` or `${` refer to other variables.
fn substitute(value: &str) -> Value {
    let bytes = value.as_bytes();
    let mut out = Zeroizing::new(String::with_capacity(value.len()));
    let mut i = 0;
    while i < bytes.len() {
        let c = value[i..].chars().next().expect("in bounds");
        if c == '$' {
            match bytes.get(i + 1) {
                Some(b'$') => {
                    out.push('$');
                    i += 2;
                    continue;
                }
                Some(b'{') => return Value::Reference,
                Some(b) if b.is_ascii_alphabetic() || *b == b'_' => return Value::Reference,
                _ => {}
            }
        }
        out.push(c);
        i += c.len_utf8();
    }
    Value::Literal(SecretString::from(out.as_str()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use secrecy::ExposeSecret;

    fn values(text: &str) -> Vec<(String, usize, String)> {
        parse(text)
            .unwrap()
            .into_iter()
            .map(|a| {
                let v = match a.value {
                    Value::Literal(v) => v.expose_secret().to_string(),
                    Value::Reference => "<ref>".into(),
                    Value::Inherited => "<inherited>".into(),
                };
                (a.name, a.line, v)
            })
            .collect()
    }

    #[test]
    fn compose_dialect() {
        let text = "\u{feff}# comment\r\nexport A=plain value # comment\r\nB='it\\'s # not a comment'\nC=\"dq \\\\ \\$ \\\"q\\\"\"\nD: yaml style\n  E = spaced\nF=a#b\nG='multi\nline'\nH\nI=x$$y\nJ=$HOME\nK=\"${X}\"\nL='${X}'\nA=again\nM=\"\\0101\"";
        let got = values(text);
        let expect = [
            ("A", 2, "plain value"),
            ("B", 3, "it's # not a comment"),
            ("C", 4, "dq \\ $ \"q\""),
            ("D", 5, "yaml style"),
            ("E", 6, "spaced"),
            ("F", 7, "a#b"),
            ("G", 8, "multi\nline"),
            ("H", 10, "<inherited>"),
            ("I", 11, "x$y"),
            ("J", 12, "<ref>"),
            ("K", 13, "<ref>"),
            ("L", 14, "${X}"),
            ("A", 15, "again"),
            ("M", 16, "A"),
        ];
        let expect: Vec<(String, usize, String)> = expect
            .iter()
            .map(|(n, l, v)| (n.to_string(), *l, v.to_string()))
            .collect();
        assert_eq!(got, expect);
    }

    proptest::proptest! {
        #[test]
        fn arbitrary_input_never_panics_and_errors_are_located(text in "[\\PC\\n\\r]{0,300}") {
            if let Err(e) = parse(&text) {
                proptest::prop_assert!(e.line >= 1 && e.line <= text.split('\n').count());
            }
        }
    }

    #[test]
    fn debug_of_an_assignment_hides_the_value() {
        let parsed = parse("A='hunter2'").unwrap();
        assert!(!format!("{parsed:?}").contains("hunter2"));
    }

    #[test]
    fn errors_name_the_line_and_never_a_value() {
        assert_eq!(parse("A=1\nB C=2\n").unwrap_err().line, 2);
        let e = parse("A=1\nB='secret-ish\n").unwrap_err();
        assert_eq!(
            e,
            SyntaxError {
                line: 2,
                message: "B: unterminated quoted value".into()
            }
        );
        assert!(
            parse("A=1\n$X=2")
                .unwrap_err()
                .message
                .contains("unexpected character '$'")
        );
    }
}
