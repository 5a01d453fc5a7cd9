//! Validation of schema text into the model: every check that can be made before a value
//! exists, each error with the file, line and column, the variable, and what to do.

use std::collections::{BTreeMap, HashMap};
use std::ops::Range;
use std::path::Path;

use regex_lite::Regex;
use toml::Spanned;

use super::chunks::{self, Part};
use super::graph::Graph;
use super::raw::{RawHeader, RawSchema, RawVariable};
use super::rotation::{Impact, Rotation, Strategy};
use super::rules::{Rules, ValueType};
use super::template::{Template, is_variable_name};
use super::{
    DEFAULT_HISTORY, Fixed, Input, Kind, MAX_COUNT, MAX_HISTORY, MAX_LENGTH, Schema, Variable,
};
use crate::error::{Error, Result};
use crate::generate::{Alphabet, CharClass, Encoding, Generator};
use crate::hash::Argon2Params;
use crate::jwt::{self, Jwt};
use crate::keypair::{self, KeyPair};

/// The fields each kind takes (besides `name`, `kind`, `description`, `services` and
/// `allow_dangerous_name`, which every variable takes): the one table of the schema language.
const KINDS: [(&str, &[&str]); 7] = [
    (
        "secret",
        &[
            "encoding",
            "bytes",
            "chars",
            "alphabet",
            "exclude",
            "require",
            "count",
            "separator",
            "rotation",
        ],
    ),
    (
        "hashed",
        &[
            "encoding", "bytes", "chars", "alphabet", "exclude", "require", "argon2", "rotation",
        ],
    ),
    (
        "fixed",
        &[
            "default",
            "type",
            "values",
            "pattern",
            "min_chars",
            "max_chars",
            "multiline",
        ],
    ),
    (
        "input",
        &[
            "type",
            "values",
            "pattern",
            "min_chars",
            "max_chars",
            "multiline",
            "secret",
            "rotation",
        ],
    ),
    ("derived", &["template"]),
    ("jwt", &["secret", "algorithm", "claims", "expires"]),
    ("keypair", &["algorithm", "format", "rotation"]),
];

/// Parses and validates schema text; `path` names the file in errors.
///
/// The text is parsed one `[[variable]]` at a time (see [`super::chunks`]), each piece
/// validated as soon as it is read, so memory does not grow with the parser's intermediate
/// tables of the whole file.
pub(super) fn parse(text: &str, path: &Path) -> Result<Schema> {
    let line_starts: Vec<usize> = std::iter::once(0)
        .chain(text.match_indices('\n').map(|(i, _)| i + 1))
        .collect();
    let ctx = Ctx {
        text,
        path,
        line_starts: &line_starts,
        base: 0,
    };
    let chunks = chunks::split(text);
    // The tables other than variables first: `[schema]` sets what variables need (history).
    let mut header: Option<(Ctx, RawHeader)> = None;
    let mut inline = Vec::new();
    let mut profile_tables = Vec::new();
    for chunk in chunks.iter().filter(|c| c.part == Part::Other) {
        let at = ctx.at(chunk.range.start);
        let raw = at.toml(&text[chunk.range.clone()])?;
        if let Some(h) = raw.schema {
            if header.is_some() {
                return Err(at.error(
                    0..0,
                    None,
                    "`[schema]` is defined twice".into(),
                    "keep one `[schema]` table",
                ));
            }
            header = Some((at, h));
        }
        inline.extend(raw.variable.into_iter().map(|v| (at, v)));
        if !raw.profile.is_empty() {
            profile_tables.push((at, raw.profile));
        }
    }
    let Some((header_ctx, header)) = header else {
        return Err(ctx.error(0..0, None, "missing field `schema`".into(), TOML_HINT));
    };
    let name = header.name;
    if name.get_ref().is_empty()
        || !name
            .get_ref()
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'_')
    {
        return Err(header_ctx.error(
            name.span(),
            None,
            "the schema name must be lowercase letters, digits, `-` or `_`".into(),
            "it names the vault file (vault/<name>.age); pick e.g. `alecia`",
        ));
    }

    let history = match &header.history {
        None => DEFAULT_HISTORY,
        Some(h) => header_ctx.history_bound(h)?,
    };
    let count = chunks.iter().filter(|c| c.part == Part::Variable).count() + inline.len();
    let mut variables = Vec::with_capacity(count);
    let mut index = HashMap::with_capacity(count);
    let mut templates = Vec::with_capacity(count);
    let pieces = chunks.iter().filter(|c| c.part == Part::Variable).map(|c| {
        let at = ctx.at(c.range.start);
        at.toml(&text[c.range.clone()])
            .map(|raw| (at, raw.variable))
    });
    let inline = std::iter::once(Ok((ctx, Vec::new())))
        .chain(inline.into_iter().map(|(at, v)| Ok((at, vec![v]))));
    for piece in inline.chain(pieces) {
        let (at, raw_variables) = piece?;
        for rv in raw_variables {
            let (variable, template_span) = at.variable(rv, history)?;
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
    }

    let mut deps = Vec::with_capacity(variables.len());
    for (variable, span) in variables.iter().zip(&templates) {
        let mut ds = Vec::new();
        match &variable.kind {
            Kind::Derived(template) => {
                for reference in template.references() {
                    let at = ctx.in_string(span, template.source(), reference.offset);
                    let Some(&d) = index.get(reference.name) else {
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
                    if reference.public && !matches!(variables[d].kind, Kind::Keypair(_)) {
                        return Err(ctx.error(
                            at..at,
                            Some(&variable.name),
                            format!(
                                "the template asks for {}.public, but {} is a {} variable, not a keypair",
                                reference.name,
                                reference.name,
                                variables[d].kind.label()
                            ),
                            "only keypair variables have a public part; write ${NAME} for the value itself",
                        ));
                    }
                    ds.push(d);
                }
            }
            Kind::Jwt(token) => {
                let signer = index.get(&token.secret).map(|&d| (d, &variables[d].kind));
                match signer {
                    Some((d, Kind::Secret(_) | Kind::Input(_))) => ds.push(d),
                    Some((_, other)) => {
                        return Err(ctx.error(
                            span.clone(),
                            Some(&variable.name),
                            format!(
                                "the token is signed with {}, a {} variable",
                                token.secret,
                                other.label()
                            ),
                            "sign it with a secret (e.g. JWT_SECRET, kind = \"secret\") or an input",
                        ));
                    }
                    None => {
                        return Err(ctx.error(
                            span.clone(),
                            Some(&variable.name),
                            format!(
                                "the token is signed with {}, which the schema does not define",
                                token.secret
                            ),
                            "define that variable, or correct `secret`",
                        ));
                    }
                }
            }
            _ => {}
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
    // Which values may span lines: a template that inserts a multi-line value makes one.
    for &i in graph.order() {
        if let Kind::Derived(template) = &variables[i].kind {
            let multiline = template.references().any(|r| {
                let d = index[r.name];
                match (&variables[d].kind, r.public) {
                    (Kind::Keypair(pair), true) => pair.format.is_multiline(),
                    _ => variables[d].multiline,
                }
            });
            variables[i].multiline = multiline;
        }
    }
    let mut profiles = std::collections::BTreeMap::new();
    for (at, tables) in profile_tables {
        for (name, defaults) in at.profiles(tables, &variables, &index)? {
            if profiles.insert(name.clone(), defaults).is_some() {
                return Err(at.error(
                    0..0,
                    None,
                    format!("profile {name:?} is defined twice"),
                    "keep one `[profile.NAME]` table per profile",
                ));
            }
        }
    }
    Ok(Schema {
        name: name.into_inner(),
        description: header.description,
        host_identity: header.host_identity,
        path: path.to_path_buf(),
        profile: None,
        variables,
        index,
        graph,
        profiles,
    })
}

/// Whether `name` can name a profile (it becomes part of the vault's file name).
pub(crate) fn is_profile_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 64
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'_')
}

/// What to do about a TOML error.
const TOML_HINT: &str = "fix the TOML; `[schema]` needs `name`, each `[[variable]]` needs `name`, `kind`, `description` and `services`";

/// The schema text being validated, for positions in error messages. Spans given to it are
/// relative to `base`, where the piece of text being validated starts in the file.
#[derive(Clone, Copy)]
struct Ctx<'a> {
    text: &'a str,
    path: &'a Path,
    /// Byte offset where each line starts, so positions cost a binary search, not a scan
    /// from the top (which made a 10,000-variable schema quadratic).
    line_starts: &'a [usize],
    base: usize,
}

impl<'a> Ctx<'a> {
    /// The same file, for a piece starting at byte `base`.
    fn at(&self, base: usize) -> Ctx<'a> {
        Ctx { base, ..*self }
    }

    /// A span of the piece as a span of the file.
    fn absolute(&self, span: &Range<usize>) -> Range<usize> {
        span.start + self.base..span.end + self.base
    }

    /// Parses one piece of the schema with `toml`, errors placed in the file.
    fn toml(&self, piece: &str) -> Result<RawSchema> {
        toml::from_str(piece).map_err(|e| {
            let span = e.span().unwrap_or(0..0);
            self.error(span, None, e.message().to_string(), TOML_HINT)
        })
    }

    fn error(
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
        let start = self.line_starts[line - 1];
        let column = self.text[start..offset].chars().count() + 1;
        self.error_with(line, column, variable, message, hint)
    }

    /// The position in the file of byte `offset` of a parsed TOML string whose token spans
    /// `span`. The parsed text and the file agree only where nothing before the offset was
    /// escaped (`\t`, `\u00e9`) or folded (`"""` strings): there the exact position, elsewhere
    /// the start of the string.
    fn in_string(&self, span: &Range<usize>, parsed: &str, offset: usize) -> usize {
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
        let Some(&(_, allowed)) = KINDS.iter().find(|(k, _)| *k == kind_name) else {
            let kinds: Vec<&str> = KINDS.iter().map(|(k, _)| *k).collect();
            return Err(self.error(
                rv.kind.span(),
                var,
                format!("unknown kind `{kind_name}`"),
                &format!("kind is one of: {}", kinds.join(", ")),
            ));
        };
        let article = if kind_name == "input" { "an" } else { "a" };
        for (field, span) in rv.kind_fields() {
            if let Some(span) = span.filter(|_| !allowed.contains(&field)) {
                return Err(self.error(
                    span,
                    var,
                    format!("`{field}` does not apply to {article} {kind_name} variable"),
                    &format!(
                        "{article} {kind_name} variable takes: {}",
                        allowed.join(", ")
                    ),
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
                let fixed = Fixed {
                    default: default.get_ref().clone(),
                    rules: self.rules(&rv, var)?,
                };
                fixed.check(&fixed.default).map_err(|reason| {
                    self.error(
                        default.span(),
                        var,
                        format!("the default is refused: {reason}"),
                        "make the default satisfy the variable's type, pattern and lengths",
                    )
                })?;
                Kind::Fixed(fixed)
            }
            "input" => {
                let secret = match &rv.secret {
                    None => true,
                    Some(s) => s.get_ref().as_bool().ok_or_else(|| {
                        self.error(
                            s.span(),
                            var,
                            "`secret` of an input is true or false".into(),
                            "true (the default): a credential, never taken from argv; false: a setting such as SMTP_HOST",
                        )
                    })?,
                };
                Kind::Input(Input {
                    rules: self.rules(&rv, var)?,
                    secret,
                })
            }
            "jwt" => {
                if let Some(secret) = &rv.secret {
                    span = secret.span();
                }
                Kind::Jwt(self.jwt(&rv, var)?)
            }
            "keypair" => Kind::Keypair(self.keypair(&rv, var)?),
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
        let line = self.line_of(&self.absolute(&rv.name.span()));
        let multiline = match &kind {
            Kind::Fixed(f) => f.rules.multiline,
            Kind::Input(i) => i.rules.multiline,
            Kind::Keypair(pair) => pair.format.is_multiline(),
            _ => false,
        };
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
                multiline,
                source,
                verified: rv.verified,
            },
            self.absolute(&span),
        ))
    }

    /// A positive duration (`90d`) in field `field`; `examples` for the hint.
    fn duration(
        &self,
        text: &Spanned<String>,
        var: Option<&str>,
        field: &str,
        examples: &str,
    ) -> Result<std::time::Duration> {
        let hint = format!("write a duration such as {examples}");
        let parsed = humantime::parse_duration(text.get_ref())
            .map_err(|e| self.error(text.span(), var, format!("{field}: {e}"), &hint))?;
        if parsed.is_zero() {
            return Err(self.error(
                text.span(),
                var,
                format!("{field} must be longer than zero"),
                &hint,
            ));
        }
        Ok(parsed)
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
            rotation.max_age =
                Some(self.duration(age, var, "max_age", "\"90d\", \"26w\" or \"12h\"")?);
        }
        if let Some(h) = &r.history {
            rotation.history = self.history_bound(h)?;
        }
        Ok(rotation)
    }

    /// The rules of a fixed value or an input: type, values, pattern, lengths, multiline.
    fn rules(&self, rv: &RawVariable, var: Option<&str>) -> Result<Rules> {
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
    fn jwt(&self, rv: &RawVariable, var: Option<&str>) -> Result<Jwt> {
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
    fn keypair(&self, rv: &RawVariable, var: Option<&str>) -> Result<KeyPair> {
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
    fn profiles(
        &self,
        raw: BTreeMap<String, Spanned<BTreeMap<String, Spanned<String>>>>,
        variables: &[Variable],
        index: &HashMap<String, usize>,
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
                let fixed = index.get(&name).and_then(|&i| match &variables[i].kind {
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

    fn generator(&self, rv: &RawVariable, var: Option<&str>) -> Result<Generator> {
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
                    "encoding is one of: hex, base64, base64url, alnum, alphabet, uuid",
                ));
            }
        };
        let enc = match (&rv.exclude, enc) {
            (None, enc) => enc,
            (Some(exclude), Encoding::Chars { alphabet, chars }) => Encoding::Chars {
                alphabet: alphabet
                    .without(exclude.get_ref())
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
            separator,
            require,
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
