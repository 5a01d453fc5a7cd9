//! The rules of values a person provides: fixed values and operator inputs (`kind = "input"`).
//!
//! A `type` is parsed into a real Rust type, not matched by a regular expression, so a port is
//! a `u16` in 1..=65535 and an int an `i64`. The URL, e-mail and hostname checks are
//! deliberately simple and documented here (the `url` crate would bring the whole IDNA and
//! Unicode normalization stack for a check whose job is catching a pasted wrong value):
//!
//! - hostname: 1 to 253 characters, dot-separated labels of 1 to 63 ASCII letters, digits,
//!   `-` and `_` (compose service names), not starting or ending with `-`;
//! - url: `scheme://authority[/path][?query][#fragment]`: a scheme of a letter then letters,
//!   digits, `+ - .`; an optional `userinfo@`; a hostname or a `[IPv6]` literal; an optional
//!   `:port` (1 to 65535); no white space anywhere;
//! - email: `local@domain`, one `@`, a local part of 1 to 64 printable ASCII characters
//!   other than white space and `"(),:;<>@[\]`, and a hostname domain with at least one dot;
//! - bool: `true false yes no on off 1 0`, in any case;
//! - enum: exactly one of `values`.
//!
//! Every message says why a value is refused without quoting it.

use regex_lite::Regex;

/// The type of a provided value.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ValueType {
    /// `scheme://host[:port]/...`
    Url,
    /// `local@domain.tld`
    Email,
    /// A TCP/UDP port, 1..=65535.
    Port,
    /// A signed 64-bit integer.
    Int,
    /// A boolean word.
    Bool,
    /// A DNS name (or compose service name).
    Hostname,
    /// One of the listed values.
    Enum(Vec<String>),
}

/// A URL as far as envgen checks it.
#[derive(Debug, PartialEq, Eq)]
pub struct Url<'a> {
    /// The scheme, as written.
    pub scheme: &'a str,
    /// The host (without brackets for an IPv6 literal).
    pub host: &'a str,
    /// The port, when given.
    pub port: Option<u16>,
}

/// A value parsed by its type.
#[derive(Debug, PartialEq, Eq)]
pub enum Parsed<'a> {
    /// A URL.
    Url(Url<'a>),
    /// An e-mail address: local part and domain.
    Email(&'a str, &'a str),
    /// A port.
    Port(u16),
    /// An integer.
    Int(i64),
    /// A boolean.
    Bool(bool),
    /// A hostname.
    Hostname(&'a str),
    /// The index of the enum value.
    Enum(usize),
}

impl ValueType {
    /// The type named `name` in the schema (`enum` takes its `values` separately).
    pub fn from_name(name: &str, values: Option<Vec<String>>) -> Option<Self> {
        Some(match name {
            "url" => ValueType::Url,
            "email" => ValueType::Email,
            "port" => ValueType::Port,
            "int" => ValueType::Int,
            "bool" => ValueType::Bool,
            "hostname" => ValueType::Hostname,
            "enum" => ValueType::Enum(values.unwrap_or_default()),
            _ => return None,
        })
    }

    /// The schema name.
    pub fn name(&self) -> &'static str {
        match self {
            ValueType::Url => "url",
            ValueType::Email => "email",
            ValueType::Port => "port",
            ValueType::Int => "int",
            ValueType::Bool => "bool",
            ValueType::Hostname => "hostname",
            ValueType::Enum(_) => "enum",
        }
    }

    /// Parses `value`, or says why it is not of this type.
    pub fn parse<'a>(&self, value: &'a str) -> Result<Parsed<'a>, String> {
        match self {
            ValueType::Url => parse_url(value).map(Parsed::Url),
            ValueType::Email => parse_email(value).map(|(l, d)| Parsed::Email(l, d)),
            ValueType::Port => parse_port(value).map(Parsed::Port),
            ValueType::Int => value
                .parse::<i64>()
                .map(Parsed::Int)
                .map_err(|_| "the value is not an integer".into()),
            ValueType::Bool => match value.to_ascii_lowercase().as_str() {
                "true" | "yes" | "on" | "1" => Ok(Parsed::Bool(true)),
                "false" | "no" | "off" | "0" => Ok(Parsed::Bool(false)),
                _ => Err("the value is not a boolean (true, false, yes, no, on, off, 1, 0)".into()),
            },
            ValueType::Hostname => check_hostname(value)
                .map(|()| Parsed::Hostname(value))
                .map_err(|why| format!("the value is not a hostname: {why}")),
            ValueType::Enum(values) => values
                .iter()
                .position(|v| v == value)
                .map(Parsed::Enum)
                .ok_or_else(|| format!("the value is not one of: {}", values.join(", "))),
        }
    }
}

fn parse_port(text: &str) -> Result<u16, String> {
    match text.parse::<u16>() {
        Ok(port) if port >= 1 && text.bytes().all(|b| b.is_ascii_digit()) => Ok(port),
        _ => Err("the value is not a port (1 to 65535)".into()),
    }
}

fn check_hostname(host: &str) -> Result<(), &'static str> {
    if host.is_empty() || host.len() > 253 {
        return Err("it must be 1 to 253 characters");
    }
    for label in host.strip_suffix('.').unwrap_or(host).split('.') {
        if label.is_empty() || label.len() > 63 {
            return Err("each dot-separated label must be 1 to 63 characters");
        }
        if !label
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        {
            return Err("only letters, digits, `-` and `_` are allowed");
        }
        if label.starts_with('-') || label.ends_with('-') {
            return Err("a label cannot start or end with `-`");
        }
    }
    Ok(())
}

fn parse_url(text: &str) -> Result<Url<'_>, String> {
    let bad = |why: &str| format!("the value is not a URL: {why}");
    if text.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(bad("it holds white space"));
    }
    let Some((scheme, rest)) = text.split_once("://") else {
        return Err(bad("expected scheme://host"));
    };
    let mut chars = scheme.chars();
    if !chars.next().is_some_and(|c| c.is_ascii_alphabetic())
        || !chars.all(|c| c.is_ascii_alphanumeric() || "+-.".contains(c))
    {
        return Err(bad(
            "the scheme must be a letter then letters, digits, + - .",
        ));
    }
    let authority = rest.split(['/', '?', '#']).next().unwrap_or_default();
    let host_port = authority.rsplit_once('@').map_or(authority, |(_, hp)| hp);
    let (host, port) = if let Some(literal) = host_port.strip_prefix('[') {
        let Some((ip, after)) = literal.split_once(']') else {
            return Err(bad("an IPv6 literal needs a closing ]"));
        };
        if ip.parse::<std::net::Ipv6Addr>().is_err() {
            return Err(bad("the bracketed host is not an IPv6 address"));
        }
        match after {
            "" => (ip, None),
            _ => match after.strip_prefix(':') {
                Some(port) => (ip, Some(port)),
                None => return Err(bad("unexpected text after the IPv6 literal")),
            },
        }
    } else {
        match host_port.rsplit_once(':') {
            Some((host, port)) => (host, Some(port)),
            None => (host_port, None),
        }
    };
    if !host_port.starts_with('[') {
        check_hostname(host).map_err(|why| bad(&format!("the host: {why}")))?;
    }
    let port = match port {
        None => None,
        Some(p) => Some(parse_port(p).map_err(|_| bad("the port must be 1 to 65535"))?),
    };
    Ok(Url { scheme, host, port })
}

fn parse_email(text: &str) -> Result<(&str, &str), String> {
    let bad = |why: &str| format!("the value is not an e-mail address: {why}");
    let Some((local, domain)) = text.split_once('@') else {
        return Err(bad("expected local@domain"));
    };
    if local.is_empty() || local.len() > 64 {
        return Err(bad("the part before @ must be 1 to 64 characters"));
    }
    if !local
        .bytes()
        .all(|b| b.is_ascii_graphic() && !b"\"(),:;<>@[\\]".contains(&b))
    {
        return Err(bad("the part before @ holds a character addresses cannot"));
    }
    if !domain.contains('.') {
        return Err(bad("the domain needs a dot"));
    }
    check_hostname(domain).map_err(|why| bad(&format!("the domain: {why}")))?;
    Ok((local, domain))
}

/// The rules of a provided value: its type, pattern, length bounds, and whether it may span
/// lines.
#[derive(Debug, Default)]
pub struct Rules {
    /// The parsed type, if the schema gives one.
    pub value_type: Option<ValueType>,
    /// A regular expression the whole value must match.
    pub pattern: Option<Regex>,
    /// Fewest characters.
    pub min_chars: Option<usize>,
    /// Most characters.
    pub max_chars: Option<usize>,
    /// Whether the value may hold newlines (`multiline = true`).
    pub multiline: bool,
}

impl Rules {
    /// Checks a value, saying why it is refused (without quoting it).
    pub fn check(&self, value: &str) -> Result<(), String> {
        crate::render::check_value(value, self.multiline).map_err(|why| {
            if why.starts_with("contains a control") && !self.multiline && value.contains('\n') {
                "the value holds a newline; only variables with `multiline = true` may".into()
            } else {
                format!("the value {why}")
            }
        })?;
        let chars = value.chars().count();
        if let Some(min) = self.min_chars.filter(|&m| chars < m) {
            return Err(format!(
                "the value has {chars} characters, fewer than min_chars = {min}"
            ));
        }
        if let Some(max) = self.max_chars.filter(|&m| chars > m) {
            return Err(format!(
                "the value has {chars} characters, more than max_chars = {max}"
            ));
        }
        if let Some(value_type) = &self.value_type {
            value_type.parse(value)?;
        }
        match &self.pattern {
            Some(re) if !re.is_match(value) => Err(format!(
                "the value does not match the pattern {}",
                re.as_str()
            )),
            _ => Ok(()),
        }
    }

    /// A few words for `envgen list`: `url`, `enum (a|b)`, `pattern ^x$`.
    pub fn describe(&self) -> String {
        let mut parts = Vec::new();
        match &self.value_type {
            Some(ValueType::Enum(values)) => parts.push(format!("enum ({})", values.join("|"))),
            Some(t) => parts.push(t.name().to_string()),
            None => {}
        }
        match (self.min_chars, self.max_chars) {
            (Some(a), Some(b)) => parts.push(format!("{a}..{b} chars")),
            (Some(a), None) => parts.push(format!(">= {a} chars")),
            (None, Some(b)) => parts.push(format!("<= {b} chars")),
            (None, None) => {}
        }
        if let Some(re) = &self.pattern {
            parts.push(format!("pattern {}", re.as_str()));
        }
        if self.multiline {
            parts.push("multi-line".into());
        }
        parts.join(", ")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn parse(t: ValueType, v: &str) -> Result<Parsed<'_>, String> {
        t.parse(v)
    }

    #[test]
    fn types_parse_into_real_values() {
        assert_eq!(
            parse(
                ValueType::Url,
                "https://user:p@w@smtp.example.com:587/x?y#z"
            )
            .unwrap(),
            Parsed::Url(Url {
                scheme: "https",
                host: "smtp.example.com",
                port: Some(587)
            })
        );
        assert_eq!(
            parse(ValueType::Url, "redis://[::1]:6379").unwrap(),
            Parsed::Url(Url {
                scheme: "redis",
                host: "::1",
                port: Some(6379)
            })
        );
        assert!(parse(ValueType::Url, "http://my_service").is_ok());
        for bad in [
            "example.com",
            "https://",
            "https://exa mple.com",
            "1http://x",
            "http://x:0",
            "http://x:65536",
            "http://x:8a",
            "http://[zz]/",
            "http://-x/",
        ] {
            assert!(parse(ValueType::Url, bad).is_err(), "{bad}");
        }
        assert_eq!(parse(ValueType::Port, "587").unwrap(), Parsed::Port(587));
        for bad in ["0", "65536", "+80", "-1", "80 ", ""] {
            assert!(parse(ValueType::Port, bad).is_err(), "{bad:?}");
        }
        assert_eq!(parse(ValueType::Int, "-42").unwrap(), Parsed::Int(-42));
        assert!(parse(ValueType::Int, "4.2").is_err());
        assert_eq!(parse(ValueType::Bool, "Yes").unwrap(), Parsed::Bool(true));
        assert_eq!(parse(ValueType::Bool, "0").unwrap(), Parsed::Bool(false));
        assert!(parse(ValueType::Bool, "maybe").is_err());
        assert!(
            parse(ValueType::Email, "ops+alerts@mail.example.org").is_ok(),
            "plus addressing"
        );
        for bad in [
            "ops",
            "ops@localhost",
            "@x.org",
            "a b@x.org",
            "a@b@x.org",
            "a@x..org",
        ] {
            assert!(parse(ValueType::Email, bad).is_err(), "{bad}");
        }
        assert!(parse(ValueType::Hostname, "db-1.internal").is_ok());
        assert!(parse(ValueType::Hostname, &"a".repeat(64)).is_err());
        let e = ValueType::Enum(vec!["smtp".into(), "ses".into()]);
        assert_eq!(e.parse("ses").unwrap(), Parsed::Enum(1));
        assert_eq!(
            e.parse("x").unwrap_err(),
            "the value is not one of: smtp, ses"
        );
    }

    #[test]
    fn rules_combine_and_never_quote_the_value() {
        let rules = Rules {
            value_type: Some(ValueType::Email),
            pattern: Some(Regex::new("@example\\.org$").unwrap()),
            min_chars: Some(5),
            max_chars: Some(30),
            multiline: false,
        };
        assert!(rules.check("ops@example.org").is_ok());
        for bad in [
            "o@example.org\n",
            "a@b.c",
            "ops@example.com",
            &"x".repeat(40),
        ] {
            let why = rules.check(bad).unwrap_err();
            assert!(!why.contains(bad.trim()), "{why}");
        }
        assert!(
            rules
                .check("a\nb")
                .unwrap_err()
                .contains("multiline = true")
        );
        let pem = Rules {
            multiline: true,
            ..Rules::default()
        };
        assert!(
            pem.check("-----BEGIN X-----\nAAAA\n-----END X-----")
                .is_ok()
        );
        assert!(pem.check("a\rb").is_err());
        assert_eq!(
            rules.describe(),
            "email, 5..30 chars, pattern @example\\.org$"
        );
    }

    proptest! {
        #[test]
        fn parsers_never_panic(value in "\\PC{0,80}") {
            for t in [ValueType::Url, ValueType::Email, ValueType::Port, ValueType::Int,
                      ValueType::Bool, ValueType::Hostname] {
                let _ = t.parse(&value);
            }
        }

        #[test]
        fn well_formed_urls_parse_back_to_their_parts(
            scheme in "[a-z][a-z0-9+.-]{0,8}",
            host in "[a-z0-9]([a-z0-9-]{0,10}[a-z0-9])?(\\.[a-z0-9]{1,10}){0,3}",
            port in proptest::option::of(1u16..),
            path in "(/[a-zA-Z0-9._~%-]{0,10}){0,3}",
        ) {
            let text = match port {
                Some(p) => format!("{scheme}://{host}:{p}{path}"),
                None => format!("{scheme}://{host}{path}"),
            };
            let parsed = ValueType::Url.parse(&text).unwrap();
            prop_assert_eq!(parsed, Parsed::Url(Url { scheme: &scheme, host: &host, port }));
        }

        #[test]
        fn every_port_in_range_parses_and_round_trips(port in 1u16..) {
            let text = port.to_string();
            prop_assert_eq!(ValueType::Port.parse(&text).unwrap(), Parsed::Port(port));
        }
    }
}
