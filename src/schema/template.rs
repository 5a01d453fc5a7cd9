//! Templates of derived values: `postgresql://${POSTGRES_USER}:${POSTGRES_PASSWORD|url}@postgres/db`.
//!
//! `${NAME}` inserts another variable's value, `${NAME|url}` inserts it percent-encoded (every
//! byte but the RFC 3986 unreserved `A-Z a-z 0-9 - . _ ~`), so it is safe in a URL's userinfo,
//! path or query. `${NAME.public}` inserts the public key of a keypair variable (and takes
//! `|url` too). `$$` is a literal `$`; any other `$` is an error, so a typo cannot silently
//! become text.

use crate::secret::SecretBuf;
use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};

/// Bytes that `|url` percent-encodes: all but the RFC 3986 unreserved characters.
const URL_ENCODE: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');

/// `value` percent-encoded as `${NAME|url}` inserts it (for `scan`, which looks for it).
pub fn url_encoded(value: &str) -> SecretBuf {
    let mut out = SecretBuf::with_capacity(3 * value.len());
    for piece in utf8_percent_encode(value, URL_ENCODE) {
        out.push_str(piece);
    }
    out
}

/// How a reference's value is transformed before insertion.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Filter {
    /// Inserted as it is.
    Raw,
    /// Percent-encoded for use inside a URL.
    Url,
}

/// One piece of a template.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Part {
    Literal(String),
    Ref {
        name: String,
        public: bool,
        filter: Filter,
        offset: usize,
    },
}

/// A parsed template.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Template {
    parts: Vec<Part>,
    source: String,
}

/// A syntax error in a template, at a byte offset of the template text.
#[derive(Debug, PartialEq, Eq)]
pub struct TemplateError {
    /// Byte offset of the problem in the template text.
    pub offset: usize,
    /// What is wrong.
    pub message: String,
}

/// A reference to another variable inside a template.
#[derive(Debug, PartialEq, Eq)]
pub struct Reference<'a> {
    /// The referenced variable.
    pub name: &'a str,
    /// `${NAME.public}`: the public key of a keypair, not its value.
    pub public: bool,
    /// Byte offset of the `${` in the template text.
    pub offset: usize,
}

impl Template {
    /// Parses template text.
    pub fn parse(text: &str) -> Result<Template, TemplateError> {
        let mut parts = Vec::new();
        let mut literal = String::new();
        let mut rest = text;
        let mut offset = 0;
        while let Some(i) = rest.find('$') {
            literal.push_str(&rest[..i]);
            let at = offset + i;
            let after = &rest[i + 1..];
            if let Some(tail) = after.strip_prefix('$') {
                literal.push('$');
                offset = at + 2;
                rest = tail;
                continue;
            }
            let Some(body_and_tail) = after.strip_prefix('{') else {
                return Err(TemplateError {
                    offset: at,
                    message: "a `$` must start `${NAME}` (write `$$` for a literal `$`)".into(),
                });
            };
            let Some(close) = body_and_tail.find('}') else {
                return Err(TemplateError {
                    offset: at,
                    message: "`${` is never closed by `}`".into(),
                });
            };
            let body = &body_and_tail[..close];
            let (name, filter) = match body.split_once('|').map(|(n, f)| (n, f.trim())) {
                None => (body.trim(), Filter::Raw),
                Some((name, "url")) => (name.trim(), Filter::Url),
                Some((_, other)) => {
                    return Err(TemplateError {
                        offset: at,
                        message: format!("unknown filter `{other}` (the only filter is `url`)"),
                    });
                }
            };
            let (name, public) = match name.split_once('.') {
                None => (name, false),
                Some((name, "public")) => (name, true),
                Some((_, other)) => {
                    return Err(TemplateError {
                        offset: at,
                        message: format!(
                            "unknown suffix `.{other}` (the only one is `.public`, a keypair's public key)"
                        ),
                    });
                }
            };
            if !is_variable_name(name) {
                return Err(TemplateError {
                    offset: at,
                    message: format!("`${{{body}}}` does not name a variable"),
                });
            }
            if !literal.is_empty() {
                parts.push(Part::Literal(std::mem::take(&mut literal)));
            }
            parts.push(Part::Ref {
                name: name.to_string(),
                public,
                filter,
                offset: at,
            });
            offset = at + 2 + close + 1;
            rest = &body_and_tail[close + 1..];
        }
        literal.push_str(rest);
        if !literal.is_empty() {
            parts.push(Part::Literal(literal));
        }
        Ok(Template {
            parts,
            source: text.to_string(),
        })
    }

    /// The template text as parsed (what reference offsets count in).
    pub fn source(&self) -> &str {
        &self.source
    }

    /// The variables the template refers to, in order of appearance.
    pub fn references(&self) -> impl Iterator<Item = Reference<'_>> {
        self.parts.iter().filter_map(|part| match part {
            Part::Ref {
                name,
                public,
                offset,
                ..
            } => Some(Reference {
                name,
                public: *public,
                offset: *offset,
            }),
            Part::Literal(_) => None,
        })
    }

    /// Fills the template, taking each referenced value from `lookup(name, public)`; `None` when the
    /// result would exceed `limit` bytes (templates that repeat one another grow
    /// exponentially: 40 doublings of one byte is a terabyte).
    pub fn render<'v>(
        &self,
        mut lookup: impl FnMut(&str, bool) -> &'v str,
        limit: usize,
    ) -> Option<SecretBuf> {
        let mut out = SecretBuf::default();
        let push = |out: &mut SecretBuf, text: &str| {
            (out.as_str().len() + text.len() <= limit).then(|| out.push_str(text))
        };
        for part in &self.parts {
            match part {
                Part::Literal(text) => push(&mut out, text)?,
                Part::Ref {
                    name,
                    public,
                    filter,
                    ..
                } => {
                    let value = lookup(name, *public);
                    match filter {
                        Filter::Raw => push(&mut out, value)?,
                        Filter::Url => {
                            for piece in utf8_percent_encode(value, URL_ENCODE) {
                                push(&mut out, piece)?;
                            }
                        }
                    }
                }
            }
        }
        Some(out)
    }
}

/// Whether `name` is a valid variable name: `[A-Za-z_][A-Za-z0-9_]*`.
pub fn is_variable_name(name: &str) -> bool {
    let mut chars = name.chars();
    matches!(chars.next(), Some(c) if c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn fill(text: &str, values: &[(&str, &'static str)]) -> String {
        let t = Template::parse(text).unwrap();
        t.render(
            |n, public| {
                let v = values.iter().find(|(k, _)| *k == n).unwrap().1;
                if public { "PUBLIC" } else { v }
            },
            usize::MAX,
        )
        .unwrap()
        .as_str()
        .to_string()
    }

    #[test]
    fn references_are_filled_and_url_filtered() {
        let values = [("U", "alecia"), ("P", "p@ss:w/rd %$#")];
        assert_eq!(
            fill("postgresql://${U}:${P|url}@postgres:5432/db", &values),
            "postgresql://alecia:p%40ss%3Aw%2Frd%20%25%24%23@postgres:5432/db"
        );
        assert_eq!(fill("${U}${U}", &values), "aleciaalecia");
        assert_eq!(fill("cost $$5 ${ U | url }", &values), "cost $5 alecia");
        assert_eq!(
            fill("${U.public}/${U.public|url}", &values),
            "PUBLIC/PUBLIC"
        );
    }

    #[test]
    fn references_are_listed_with_offsets() {
        let t = Template::parse("a${X}b${Y.public|url}").unwrap();
        let refs: Vec<_> = t.references().collect();
        assert_eq!(
            refs,
            vec![
                Reference {
                    name: "X",
                    public: false,
                    offset: 1
                },
                Reference {
                    name: "Y",
                    public: true,
                    offset: 6
                }
            ]
        );
    }

    #[test]
    fn malformed_templates_are_rejected_with_position() {
        let err = |t: &str| Template::parse(t).unwrap_err();
        assert_eq!(err("ab$c").offset, 2);
        assert!(err("ab$c").message.contains("$$"));
        assert!(err("x${A").message.contains("never closed"));
        assert!(err("${A|b64}").message.contains("unknown filter"));
        assert!(err("${1A}").message.contains("does not name"));
        assert!(err("${}").message.contains("does not name"));
        assert!(
            err("${A.private}")
                .message
                .contains("unknown suffix `.private`")
        );
        assert!(err("${.public}").message.contains("does not name"));
    }

    proptest! {
        #[test]
        fn url_filter_output_is_unreserved_and_decodes_back(value in "\\PC{0,40}") {
            let t = Template::parse("${V|url}").unwrap();
            let out = t.render(|_, _| value.as_str(), usize::MAX).unwrap().as_str().to_string();
            prop_assert!(out.bytes().all(|b| b.is_ascii_alphanumeric() || b"-._~%".contains(&b)));
            let decoded = percent_encoding::percent_decode_str(&out).decode_utf8().unwrap();
            prop_assert_eq!(decoded, value.as_str());
        }

        #[test]
        fn literal_text_without_dollar_passes_through(text in "[^$]{0,40}") {
            let t = Template::parse(&text).unwrap();
            let out = t.render(|_, _| unreachable!(), usize::MAX).unwrap();
            prop_assert_eq!(out.as_str(), text.as_str());
        }
    }
}
