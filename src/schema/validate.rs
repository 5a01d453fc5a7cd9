//! Validation of schema text into the model: every check that can be made before a value
//! exists, each error with the file, line and column, the variable, and what to do.

use std::collections::HashMap;
use std::ops::Range;
use std::path::Path;

use regex_lite::Regex;
use toml::Spanned;

use super::graph::Graph;
use super::raw::{RawSchema, RawVariable};
use super::rotation::{Impact, Rotation, Strategy};
use super::template::{Template, is_variable_name};
use super::{DEFAULT_HISTORY, Fixed, Kind, MAX_COUNT, MAX_HISTORY, MAX_LENGTH, Schema, Variable};
use crate::error::{Error, Result};
use crate::generate::{Alphabet, CharClass, Encoding, Generator};
use crate::hash::Argon2Params;

/// Parses and validates schema text; `path` names the file in errors.
pub(super) fn parse(text: &str, path: &Path) -> Result<Schema> {
    let line_starts = std::iter::once(0)
        .chain(text.match_indices('\n').map(|(i, _)| i + 1))
        .collect();
    let ctx = Ctx {
        text,
        path,
        line_starts,
    };
    let raw: RawSchema = toml::from_str(text).map_err(|e| {
            let span = e.span().unwrap_or(0..0);
            ctx.error(span, None, e.message().to_string(), "fix the TOML; `[schema]` needs `name`, each `[[variable]]` needs `name`, `kind`, `description` and `services`")
        })?;
    let name = raw.schema.name;
    if name.get_ref().is_empty()
        || !name
            .get_ref()
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'_')
    {
        return Err(ctx.error(
            name.span(),
            None,
            "the schema name must be lowercase letters, digits, `-` or `_`".into(),
            "it names the vault file (vault/<name>.age); pick e.g. `alecia`",
        ));
    }

    let history = match &raw.schema.history {
        None => DEFAULT_HISTORY,
        Some(h) => ctx.history_bound(h)?,
    };
    let mut variables = Vec::with_capacity(raw.variable.len());
    let mut index = HashMap::with_capacity(raw.variable.len());
    let mut templates = Vec::with_capacity(raw.variable.len());
    for rv in raw.variable {
        let (variable, template_span) = ctx.variable(rv, history)?;
        if let Some(&first) = index.get(&variable.name) {
            let first: &Variable = &variables[first];
            return Err(ctx.error_at_line(
                variable.line,
                Some(&variable.name),
                format!("defined twice (first at line {})", first.line),
                "remove or rename one of the two definitions",
            ));
        }
        index.insert(variable.name.clone(), variables.len());
        variables.push(variable);
        templates.push(template_span);
    }

    let mut deps = Vec::with_capacity(variables.len());
    for (variable, span) in variables.iter().zip(&templates) {
        let mut ds = Vec::new();
        if let Kind::Derived(template) = &variable.kind {
            for reference in template.references() {
                let Some(&d) = index.get(reference.name) else {
                    let at = ctx.in_string(span, template.source(), reference.offset);
                    return Err(ctx.error(
                        at..at,
                        Some(&variable.name),
                        format!(
                            "the template refers to {}, which the schema does not define",
                            reference.name
                        ),
                        "define that variable, or correct the name in the template",
                    ));
                };
                ds.push(d);
            }
        }
        deps.push(ds);
    }
    let graph = Graph::new(deps).map_err(|cycle| {
            let names: Vec<&str> = cycle.iter().map(|&i| variables[i].name.as_str()).collect();
            let first = cycle[0];
            ctx.error(
                templates[first].clone(),
                Some(&variables[first].name),
                format!("derived values form a cycle: {}", names.join(" -> ")),
                "a derived value cannot depend on itself; break the cycle by making one of them a secret or fixed value",
            )
        })?;
    Ok(Schema {
        name: name.into_inner(),
        description: raw.schema.description,
        host_identity: raw.schema.host_identity,
        path: path.to_path_buf(),
        variables,
        index,
        graph,
    })
}

/// The schema text being validated, for positions in error messages.
struct Ctx<'a> {
    text: &'a str,
    path: &'a Path,
    /// Byte offset where each line starts, so positions cost a binary search, not a scan
    /// from the top (which made a 10,000-variable schema quadratic).
    line_starts: Vec<usize>,
}

impl Ctx<'_> {
    fn error(
        &self,
        span: Range<usize>,
        variable: Option<&str>,
        message: String,
        hint: &str,
    ) -> Error {
        let mut offset = span.start.min(self.text.len());
        while !self.text.is_char_boundary(offset) {
            offset -= 1;
        }
        let line = self.line_of(&span);
        let start = self.line_starts[line - 1];
        let column = self.text[start..offset].chars().count() + 1;
        self.error_with(line, column, variable, message, hint)
    }

    /// The position in the file of byte `offset` of a parsed TOML string whose token spans
    /// `span`. The parsed text and the file agree only where nothing before the offset was
    /// escaped (`\t`, `\u00e9`) or folded (`"""` strings): there the exact position, elsewhere
    /// the start of the string.
    fn in_string(&self, span: &Range<usize>, parsed: &str, offset: usize) -> usize {
        let raw = self.text.get(span.clone()).unwrap_or_default();
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

    fn error_at_line(
        &self,
        line: usize,
        variable: Option<&str>,
        message: String,
        hint: &str,
    ) -> Error {
        self.error_with(line, 1, variable, message, hint)
    }

    fn error_with(
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
    fn line_of(&self, span: &Range<usize>) -> usize {
        self.line_starts
            .partition_point(|&start| start <= span.start)
    }

    /// Validates one `[[variable]]` table; returns it and the span of its template (or name).
    fn variable(&self, rv: RawVariable, history: usize) -> Result<(Variable, Range<usize>)> {
        let name = rv.name.get_ref().clone();
        if !is_variable_name(&name) {
            return Err(self.error(
                rv.name.span(),
                None,
                format!("{name:?} is not a valid variable name"),
                "use letters, digits and `_`, not starting with a digit (e.g. POSTGRES_PASSWORD)",
            ));
        }
        let var = Some(name.as_str());
        let dangerous = super::names::danger(&name);
        if let Some(why) = dangerous
            && !rv.allow_dangerous_name.unwrap_or(false)
        {
            return Err(self.error(
                rv.name.span(),
                var,
                format!("the name is refused: {why}; `envgen exec` would put it in the command's environment"),
                &format!("rename it (say STACK_{name}) and map it in the compose file, `environment: {{ {name}: ${{STACK_{name}}} }}`, so only the container sees that name; only if the command run by exec truly needs it, add `allow_dangerous_name = true` to this variable"),
            ));
        }
        let kind_name = rv.kind.get_ref().as_str();
        let allowed: &[&str] = match kind_name {
            "secret" => &[
                "encoding",
                "bytes",
                "chars",
                "alphabet",
                "require",
                "count",
                "separator",
                "rotation",
            ],
            "hashed" => &[
                "encoding", "bytes", "chars", "alphabet", "require", "argon2", "rotation",
            ],
            "fixed" => &["default", "pattern"],
            "derived" => &["template"],
            other => {
                return Err(self.error(
                    rv.kind.span(),
                    var,
                    format!("unknown kind `{other}`"),
                    "kind is one of: secret, hashed, fixed, derived",
                ));
            }
        };
        for (field, span) in rv.kind_fields() {
            if let Some(span) = span.filter(|_| !allowed.contains(&field)) {
                return Err(self.error(
                    span,
                    var,
                    format!("`{field}` does not apply to a {kind_name} variable"),
                    &format!("a {kind_name} variable takes: {}", allowed.join(", ")),
                ));
            }
        }
        let description = rv
            .description
            .as_ref()
            .map(|d| d.get_ref().trim().to_string())
            .unwrap_or_default();
        if description.is_empty() {
            return Err(self.error(
                rv.name.span(),
                var,
                "has no description".into(),
                "add `description = \"...\"` saying what the value is for",
            ));
        }
        let services = rv
            .services
            .as_ref()
            .map(|s| s.get_ref().clone())
            .unwrap_or_default();
        if services.is_empty() {
            return Err(self.error(
                rv.name.span(),
                var,
                "lists no service".into(),
                "add `services = [\"...\"]` naming the services that read it",
            ));
        }
        let mut span = rv.name.span();
        let kind = match kind_name {
            "secret" => Kind::Secret(self.generator(&rv, var)?),
            "hashed" => {
                let argon2 = match &rv.argon2 {
                    None => Argon2Params::VAULTWARDEN,
                    Some(a) => {
                        let d = Argon2Params::VAULTWARDEN;
                        let p = Argon2Params {
                            m_cost: a.get_ref().m_cost.unwrap_or(d.m_cost),
                            t_cost: a.get_ref().t_cost.unwrap_or(d.t_cost),
                            p_cost: a.get_ref().p_cost.unwrap_or(d.p_cost),
                        };
                        p.validate().map_err(|e| {
                            self.error(a.span(), var, format!("invalid Argon2 parameters: {e}"), "use m_cost >= 8 * p_cost KiB, t_cost >= 1, p_cost >= 1 (Vaultwarden's defaults: 65540, 3, 4)")
                        })?;
                        p
                    }
                };
                Kind::Hashed {
                    plaintext: self.generator(&rv, var)?,
                    argon2,
                }
            }
            "fixed" => {
                let Some(default) = &rv.default else {
                    return Err(self.error(
                        rv.name.span(),
                        var,
                        "has no default".into(),
                        "add `default = \"...\"`; `envgen init --set NAME=VALUE` can override it",
                    ));
                };
                let pattern = match &rv.pattern {
                    None => None,
                    Some(p) => Some(Regex::new(p.get_ref()).map_err(|e| {
                        self.error(
                            p.span(),
                            var,
                            format!("invalid pattern: {e}"),
                            "write a regular expression, e.g. \"^[a-z_][a-z0-9_]*$\"",
                        )
                    })?),
                };
                let fixed = Fixed {
                    default: default.get_ref().clone(),
                    pattern,
                };
                fixed.check(&fixed.default).map_err(|reason| {
                    self.error(
                        default.span(),
                        var,
                        format!("the default is refused: {reason}"),
                        "make the default satisfy the variable's pattern",
                    )
                })?;
                Kind::Fixed(fixed)
            }
            _ => {
                let Some(text) = &rv.template else {
                    return Err(self.error(rv.name.span(), var, "has no template".into(), "add e.g. `template = \"redis://default:${REDIS_PASSWORD|url}@redis:6379/0\"`"));
                };
                span = text.span();
                let template = Template::parse(text.get_ref()).map_err(|e| {
                    let at = self.in_string(&text.span(), text.get_ref(), e.offset);
                    self.error(
                        at..at,
                        var,
                        format!("bad template: {}", e.message),
                        "write ${NAME} or ${NAME|url} to insert a variable, $$ for a literal $",
                    )
                })?;
                Kind::Derived(template)
            }
        };
        let rotation = self.rotation(&rv, var, &kind, history)?;
        let line = self.line_of(&rv.name.span());
        let source = match &rv.source {
            Some(s) if s.get_ref().trim().is_empty() => {
                return Err(self.error(
                    s.span(),
                    var,
                    "`source` is empty".into(),
                    "say where the format comes from (`catalogue:ID`, a URL), or drop it",
                ));
            }
            s => s.as_ref().map(|s| s.get_ref().trim().to_string()),
        };
        Ok((
            Variable {
                name,
                description,
                services,
                kind,
                rotation,
                line,
                dangerous: dangerous.is_some(),
                source,
                verified: rv.verified,
            },
            span,
        ))
    }

    fn history_bound(&self, h: &Spanned<i64>) -> Result<usize> {
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
    fn rotation(
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
            .map(String::from);
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
            let parsed = humantime::parse_duration(age.get_ref()).map_err(|e| {
                self.error(
                    age.span(),
                    var,
                    format!("max_age: {e}"),
                    "write a duration such as \"90d\", \"26w\" or \"12h\"",
                )
            })?;
            if parsed.is_zero() {
                return Err(self.error(
                    age.span(),
                    var,
                    "max_age must be longer than zero".into(),
                    "write a duration such as \"90d\"",
                ));
            }
            rotation.max_age = Some(parsed);
        }
        if let Some(h) = &r.history {
            rotation.history = self.history_bound(h)?;
        }
        Ok(rotation)
    }

    fn generator(&self, rv: &RawVariable, var: Option<&str>) -> Result<Generator> {
        let Some(encoding) = &rv.encoding else {
            return Err(self.error(
                rv.name.span(),
                var,
                "has no encoding".into(),
                "add `encoding = ...`: hex, base64, base64url, alnum or alphabet",
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
            "alnum" => Encoding::Chars {
                alphabet: Alphabet::alnum(),
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
                    alphabet,
                    chars: length(&rv.chars, "chars", "characters")?,
                }
            }
            other => {
                return Err(self.error(
                    encoding.span(),
                    var,
                    format!("unknown encoding `{other}`"),
                    "encoding is one of: hex, base64, base64url, alnum, alphabet",
                ));
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
                || crate::render::check_value(&separator).is_err()
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
                    return Err(self.error(
                        list.span(),
                        var,
                        format!("{} values never contain a `{class}` character", enc.name()),
                        "drop the class or choose an encoding that has it",
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
            separator,
            require,
        })
    }
}
