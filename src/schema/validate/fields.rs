//! The checks of each group of fields of a variable: its generator (encoding, length,
//! alphabet, requirements), its rotation table, the rules of fixed values and inputs, tokens,
//! key pairs, and the schema's profiles. `validate.rs` drives them for each variable.

use std::collections::BTreeMap;

use regex_lite::Regex;
use toml::Spanned;

use super::{Ctx, is_profile_name};
use crate::error::Result;
use crate::generate::{Alphabet, CharClass, Encoding, Generator};
use crate::jwt::{self, Jwt};
use crate::keypair::{self, KeyPair};
use crate::schema::raw::{RawProfiles, RawVariable};
use crate::schema::rotation::{Impact, Rotation, Strategy};
use crate::schema::rules::{Rules, ValueType};
use crate::schema::{ByName, Kind, MAX_COUNT, MAX_HISTORY, MAX_LENGTH, Variable};

impl Ctx<'_> {
    pub(super) fn history_bound(&self, h: &Spanned<i64>) -> Result<usize> {
        if !(0..=MAX_HISTORY).contains(h.get_ref()) {
            return Err(self.error(
                h.span(),
                None,
                format!(
                    "history must be between 0 and {MAX_HISTORY}, not {}",
                    h.get_ref()
                ),
                "history is how many previous values the vault keeps per variable (default 5)",
            ));
        }
        Ok(*h.get_ref() as usize)
    }

    /// Validates a `[variable.rotation]` table.
    pub(super) fn rotation(
        &self,
        rv: &RawVariable,
        var: Option<&str>,
        kind: &Kind,
        history: usize,
    ) -> Result<Rotation> {
        let mut rotation = Rotation::free(history);
        let Some(raw) = &rv.rotation else {
            return Ok(rotation);
        };
        let r = raw.get_ref();
        if let Some(impact) = &r.impact {
            rotation.impact = Impact::from_name(impact.get_ref()).ok_or_else(|| {
                self.error(
                    impact.span(),
                    var,
                    format!("unknown rotation impact `{}`", impact.get_ref()),
                    "impact is free (a redeploy applies it), op (an action inside a running service is needed) or data (stored data becomes unreadable)",
                )
            })?;
        }
        rotation.breaks = r
            .breaks
            .as_deref()
            .map(str::trim)
            .filter(|b| !b.is_empty())
            .map(Box::from);
        if rotation.impact.is_guarded() && rotation.breaks.is_none() {
            return Err(self.error(
                raw.span(),
                var,
                format!("a rotation with impact = \"{}\" needs `breaks`", rotation.impact.name()),
                "say what breaks when the value changes; envgen shows it when it refuses the rotation",
            ));
        }
        rotation.steps = r
            .steps
            .iter()
            .map(|s| s.trim().to_string())
            .filter(|s| !s.is_empty())
            .collect();
        rotation.steps.shrink_to_fit();
        if let Some(strategy) = &r.strategy {
            rotation.strategy = match strategy.get_ref().as_str() {
                "replace" => Strategy::Replace,
                "prepend" if kind.generator().is_some_and(|g| g.count > 1) => Strategy::Prepend,
                "prepend" => {
                    return Err(self.error(
                        strategy.span(),
                        var,
                        "strategy \"prepend\" needs a list (count > 1)".into(),
                        "drop `strategy` or give the variable a `count`",
                    ));
                }
                other => {
                    return Err(self.error(
                        strategy.span(),
                        var,
                        format!("unknown rotation strategy `{other}`"),
                        "strategy is replace (default) or prepend (lists: a new item first, the oldest dropped)",
                    ));
                }
            };
        }
        if let Some(age) = &r.max_age {
            rotation.max_age =
                Some(self.duration(age, var, "max_age", "\"90d\", \"26w\" or \"12h\"")?);
        }
        if let Some(h) = &r.history {
            rotation.history = self.history_bound(h)?;
        }
        Ok(rotation)
    }

    /// The rules of a fixed value or an input: type, values, pattern, lengths, multiline.
    pub(super) fn rules(&self, rv: &RawVariable, var: Option<&str>) -> Result<Rules> {
        let mut rules = Rules::default();
        if let Some(t) = &rv.value_type {
            let values = rv.values.as_ref().map(|v| v.get_ref().clone());
            let parsed = ValueType::from_name(t.get_ref(), values).ok_or_else(|| {
                self.error(
                    t.span(),
                    var,
                    format!("unknown type `{}`", t.get_ref()),
                    "type is one of: url, email, port, int, bool, hostname, enum",
                )
            })?;
            if let ValueType::Enum(values) = &parsed {
                let Some(list) = &rv.values else {
                    return Err(self.error(
                        t.span(),
                        var,
                        "type \"enum\" needs `values`".into(),
                        "add e.g. `values = [\"smtp\", \"ses\"]`",
                    ));
                };
                let mut seen = std::collections::HashSet::new();
                if values.is_empty()
                    || values
                        .iter()
                        .any(|v| !seen.insert(v) || crate::render::check_value(v, false).is_err())
                {
                    return Err(self.error(
                        list.span(),
                        var,
                        "`values` must list distinct, non-empty, single-line values".into(),
                        "list each allowed value once",
                    ));
                }
            }
            rules.value_type = Some(parsed);
        }
        if let Some(values) = &rv.values
            && !matches!(rules.value_type, Some(ValueType::Enum(_)))
        {
            return Err(self.error(
                values.span(),
                var,
                "`values` needs `type = \"enum\"`".into(),
                "add type = \"enum\", or drop `values`",
            ));
        }
        if let Some(p) = &rv.pattern {
            rules.pattern = Some(Regex::new(p.get_ref()).map_err(|e| {
                self.error(
                    p.span(),
                    var,
                    format!("invalid pattern: {e}"),
                    "write a regular expression, e.g. \"^[a-z_][a-z0-9_]*$\"",
                )
            })?);
        }
        let bound = |field: &Option<Spanned<i64>>, name: &str| -> Result<Option<usize>> {
            match field {
                None => Ok(None),
                Some(n) if (1..=crate::render::MAX_VALUE as i64).contains(n.get_ref()) => {
                    Ok(Some(*n.get_ref() as usize))
                }
                Some(n) => Err(self.error(
                    n.span(),
                    var,
                    format!(
                        "{name} must be between 1 and {}, not {}",
                        crate::render::MAX_VALUE,
                        n.get_ref()
                    ),
                    "bound the value's length in characters",
                )),
            }
        };
        rules.min_chars = bound(&rv.min_chars, "min_chars")?;
        rules.max_chars = bound(&rv.max_chars, "max_chars")?;
        if let (Some(min), Some(max)) = (rules.min_chars, rules.max_chars)
            && min > max
        {
            let span = rv.min_chars.as_ref().map(Spanned::span).unwrap_or_default();
            return Err(self.error(
                span,
                var,
                format!("min_chars ({min}) is more than max_chars ({max})"),
                "swap them, or correct one",
            ));
        }
        rules.multiline = rv.multiline.as_ref().is_some_and(|m| *m.get_ref());
        Ok(rules)
    }

    /// A `kind = "jwt"` variable.
    pub(super) fn jwt(&self, rv: &RawVariable, var: Option<&str>) -> Result<Jwt> {
        let Some(secret) = rv.secret.as_ref().and_then(|s| s.get_ref().as_str()) else {
            let span = rv.secret.as_ref().map_or(rv.name.span(), Spanned::span);
            return Err(self.error(
                span,
                var,
                "a jwt needs `secret`, the name of the variable that signs it".into(),
                "add e.g. `secret = \"JWT_SECRET\"`",
            ));
        };
        let algorithm = match &rv.algorithm {
            None => jwt::Algorithm::Hs256,
            Some(a) => jwt::Algorithm::from_name(a.get_ref()).ok_or_else(|| {
                self.error(
                    a.span(),
                    var,
                    format!("unknown jwt algorithm `{}`", a.get_ref()),
                    "algorithm is one of: HS256, HS384, HS512",
                )
            })?,
        };
        let mut claims = serde_json::Map::new();
        if let Some(table) = &rv.claims {
            for (key, value) in table.get_ref() {
                if key == "iat" || key == "exp" {
                    return Err(self.error(
                        table.span(),
                        var,
                        format!("the claim `{key}` is set by envgen"),
                        "iat is when the token is made; give its lifetime with `expires = \"5y\"`",
                    ));
                }
                let json = toml_to_json(value).ok_or_else(|| {
                    self.error(
                        table.span(),
                        var,
                        format!("the claim `{key}` holds a date, which JSON cannot"),
                        "write dates as strings or numbers (seconds since 1970)",
                    )
                })?;
                claims.insert(key.clone(), json);
            }
        }
        let expires = match &rv.expires {
            None => None,
            Some(e) => Some(self.duration(e, var, "expires", "\"5y\", \"90d\" or \"1h\"")?),
        };
        Ok(Jwt {
            secret: secret.to_string(),
            algorithm,
            claims,
            expires,
        })
    }

    /// A `kind = "keypair"` variable.
    pub(super) fn keypair(&self, rv: &RawVariable, var: Option<&str>) -> Result<KeyPair> {
        let Some(a) = &rv.algorithm else {
            return Err(self.error(
                rv.name.span(),
                var,
                "a keypair needs `algorithm`".into(),
                "add algorithm = \"ed25519\", \"p256\", \"rsa2048\" or \"rsa4096\"",
            ));
        };
        let algorithm = keypair::Algorithm::from_name(a.get_ref()).ok_or_else(|| {
            self.error(
                a.span(),
                var,
                format!("unknown key algorithm `{}`", a.get_ref()),
                "algorithm is one of: ed25519, p256, rsa2048, rsa4096",
            )
        })?;
        let format = match &rv.format {
            None => keypair::Format::PemPkcs8,
            Some(f) => {
                let format = keypair::Format::from_name(f.get_ref()).ok_or_else(|| {
                    self.error(
                        f.span(),
                        var,
                        format!("unknown key format `{}`", f.get_ref()),
                        "format is pem-pkcs8 (the default) or vapid",
                    )
                })?;
                if format == keypair::Format::Vapid && algorithm != keypair::Algorithm::P256 {
                    return Err(self.error(
                        f.span(),
                        var,
                        format!(
                            "the vapid format is for p256 keys, not {}",
                            algorithm.name()
                        ),
                        "use algorithm = \"p256\" for web push keys, or format = \"pem-pkcs8\"",
                    ));
                }
                format
            }
        };
        Ok(KeyPair { algorithm, format })
    }

    /// The `[profile.NAME]` tables: each names fixed variables and gives them a default.
    pub(super) fn profiles(
        &self,
        raw: RawProfiles,
        variables: &[Variable],
        index: &ByName,
    ) -> Result<BTreeMap<String, Vec<(usize, String)>>> {
        let mut profiles = BTreeMap::new();
        for (profile, table) in raw {
            if !is_profile_name(&profile) {
                return Err(self.error(
                    table.span(),
                    None,
                    format!("{profile:?} is not a valid profile name"),
                    "use lowercase letters, digits, `-` or `_` (it names the vault: vault/<schema>.<profile>.age)",
                ));
            }
            let mut overrides = Vec::new();
            for (name, value) in table.into_inner() {
                let fixed = index
                    .find(variables, &name)
                    .and_then(|i| match &variables[i].kind {
                        Kind::Fixed(fixed) => Some((i, fixed)),
                        _ => None,
                    });
                let Some((i, fixed)) = fixed else {
                    return Err(self.error(
                        value.span(),
                        Some(&name),
                        format!("profile {profile} sets it, but it is not a fixed variable of the schema"),
                        "a profile gives other defaults to fixed variables only; every other value is made per profile anyway",
                    ));
                };
                fixed.check(value.get_ref()).map_err(|reason| {
                    self.error(
                        value.span(),
                        Some(&name),
                        format!("profile {profile}: the value is refused: {reason}"),
                        "make it satisfy the variable's type, pattern and lengths",
                    )
                })?;
                overrides.push((i, value.into_inner()));
            }
            profiles.insert(profile, overrides);
        }
        Ok(profiles)
    }

    pub(super) fn generator(&self, rv: &RawVariable, var: Option<&str>) -> Result<Generator> {
        let Some(encoding) = &rv.encoding else {
            return Err(self.error(
                rv.name.span(),
                var,
                "has no encoding".into(),
                "add `encoding = ...`: hex, base64, base64url, alnum, alphabet or uuid",
            ));
        };
        let length = |field: &Option<Spanned<i64>>, name: &str, unit: &str| -> Result<usize> {
            let (wrong, wrong_name) = if name == "bytes" {
                (&rv.chars, "chars")
            } else {
                (&rv.bytes, "bytes")
            };
            if let Some(w) = wrong {
                return Err(self.error(
                    w.span(),
                    var,
                    format!(
                        "{} counts {unit}: use `{name}`, not `{wrong_name}`",
                        encoding.get_ref()
                    ),
                    &format!("write `{name} = N`"),
                ));
            }
            let Some(n) = field else {
                return Err(self.error(
                    rv.name.span(),
                    var,
                    "has no length".to_string(),
                    &format!("add `{name} = N` (the length in {unit})"),
                ));
            };
            if !(1..=MAX_LENGTH).contains(n.get_ref()) {
                return Err(self.error(
                    n.span(),
                    var,
                    format!(
                        "{name} must be between 1 and {MAX_LENGTH}, not {}",
                        n.get_ref()
                    ),
                    "give the length the consuming service requires",
                ));
            }
            Ok(*n.get_ref() as usize)
        };
        if rv.alphabet.is_some() && encoding.get_ref() != "alphabet" {
            let span = rv.alphabet.as_ref().map(|a| a.span()).unwrap_or_default();
            return Err(self.error(
                span,
                var,
                format!(
                    "`alphabet` needs `encoding = \"alphabet\"`, not {:?}",
                    encoding.get_ref()
                ),
                "drop `alphabet` or set encoding = \"alphabet\"",
            ));
        }
        let enc = match encoding.get_ref().as_str() {
            "hex" => Encoding::Hex {
                bytes: length(&rv.bytes, "bytes", "bytes")?,
            },
            "base64" => Encoding::Base64 {
                bytes: length(&rv.bytes, "bytes", "bytes")?,
            },
            "base64url" => Encoding::Base64Url {
                bytes: length(&rv.bytes, "bytes", "bytes")?,
            },
            "uuid" => {
                if let Some(extra) = rv.bytes.as_ref().or(rv.chars.as_ref()) {
                    return Err(self.error(
                        extra.span(),
                        var,
                        "a uuid has a fixed length".into(),
                        "drop `bytes`/`chars`: a uuid is 36 characters (122 random bits)",
                    ));
                }
                Encoding::Uuid
            }
            "alnum" => Encoding::Chars {
                alphabet: Box::new(Alphabet::alnum()),
                chars: length(&rv.chars, "chars", "characters")?,
            },
            "alphabet" => {
                let Some(text) = &rv.alphabet else {
                    return Err(self.error(
                        encoding.span(),
                        var,
                        "encoding \"alphabet\" needs an `alphabet`".into(),
                        "add e.g. `alphabet = \"abcdefghijkmnpqrstuvwxyz23456789\"`",
                    ));
                };
                let alphabet = Alphabet::custom(text.get_ref()).map_err(|e| {
                    self.error(
                        text.span(),
                        var,
                        e,
                        "list each allowed printable ASCII character once",
                    )
                })?;
                Encoding::Chars {
                    alphabet: Box::new(alphabet),
                    chars: length(&rv.chars, "chars", "characters")?,
                }
            }
            other => {
                return Err(self.error(
                    encoding.span(),
                    var,
                    format!("unknown encoding `{other}`"),
                    "encoding is one of: hex, base64, base64url, alnum, alphabet, uuid",
                ));
            }
        };
        let enc = match (&rv.exclude, enc) {
            (None, enc) => enc,
            (Some(exclude), Encoding::Chars { alphabet, chars }) => Encoding::Chars {
                alphabet: alphabet
                    .without(exclude.get_ref())
                    .map(Box::new)
                    .map_err(|e| self.error(exclude.span(), var, e, "exclude fewer characters"))?,
                chars,
            },
            (Some(exclude), enc) => {
                let symbols = enc.symbols();
                if let Some(c) = exclude
                    .get_ref()
                    .chars()
                    .find(|c| c.is_ascii() && symbols.contains(&(*c as u8)))
                {
                    return Err(self.error(
                        exclude.span(),
                        var,
                        format!("{} values may contain {c:?}, which `exclude` forbids", enc.name()),
                        "`exclude` removes characters from alnum or alphabet encodings only; pick one of those, or an encoding without these characters (hex, base64url)",
                    ));
                }
                enc
            }
        };
        let count = match &rv.count {
            None => 1,
            Some(c) if (1..=MAX_COUNT).contains(c.get_ref()) => *c.get_ref() as usize,
            Some(c) => {
                return Err(self.error(
                    c.span(),
                    var,
                    format!(
                        "count must be between 1 and {MAX_COUNT}, not {}",
                        c.get_ref()
                    ),
                    "count is the number of values in the list",
                ));
            }
        };
        let separator = rv
            .separator
            .as_ref()
            .map(|s| s.get_ref().clone())
            .unwrap_or_default();
        if count > 1 {
            let span = rv
                .separator
                .as_ref()
                .map(|s| s.span())
                .unwrap_or_else(|| rv.count.as_ref().map(|c| c.span()).unwrap_or_default());
            let symbols = enc.symbols();
            if separator.is_empty()
                || separator.bytes().any(|b| symbols.contains(&b))
                || crate::render::check_value(&separator, false).is_err()
            {
                return Err(self.error(
                    span,
                    var,
                    "a list needs a non-empty separator that the encoding never produces".into(),
                    "e.g. separator = \",\" for base64 or hex items",
                ));
            }
        }
        let mut require = Vec::new();
        if let Some(list) = &rv.require {
            let symbols = enc.symbols();
            for class in list.get_ref() {
                let Some(c) = CharClass::from_name(class) else {
                    return Err(self.error(
                        list.span(),
                        var,
                        format!("unknown character class `{class}`"),
                        "require lists classes among: lower, upper, digit, symbol",
                    ));
                };
                if !symbols.iter().any(|&b| c.contains(b)) {
                    let why = if rv.exclude.is_some() {
                        " (after `exclude`)"
                    } else {
                        ""
                    };
                    return Err(self.error(
                        list.span(),
                        var,
                        format!(
                            "{} values never contain a `{class}` character{why}",
                            enc.name()
                        ),
                        "drop the class, exclude fewer characters, or choose an encoding that has it",
                    ));
                }
                require.push(c);
            }
            if require.len() > enc.item_len() {
                return Err(self.error(
                    list.span(),
                    var,
                    "more required classes than characters".into(),
                    "make the value longer",
                ));
            }
        }
        Ok(Generator {
            encoding: enc,
            count,
            separator: separator.into(),
            require: require.into(),
        })
    }
}

/// A TOML value as JSON (a claim); `None` for a date, which JSON has no type for.
fn toml_to_json(value: &toml::Value) -> Option<serde_json::Value> {
    Some(match value {
        toml::Value::String(s) => serde_json::Value::String(s.clone()),
        toml::Value::Integer(i) => (*i).into(),
        toml::Value::Float(f) => serde_json::Number::from_f64(*f)?.into(),
        toml::Value::Boolean(b) => (*b).into(),
        toml::Value::Datetime(_) => return None,
        toml::Value::Array(items) => {
            serde_json::Value::Array(items.iter().map(toml_to_json).collect::<Option<_>>()?)
        }
        toml::Value::Table(table) => serde_json::Value::Object(
            table
                .iter()
                .map(|(k, v)| Some((k.clone(), toml_to_json(v)?)))
                .collect::<Option<_>>()?,
        ),
    })
}
