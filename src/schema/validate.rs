//! Validation of schema text into the model: every check that can be made before a value
//! exists, each error with the file, line and column, the variable, and what to do.

mod fields;
mod position;
mod slice;

pub(super) use slice::parse_slice;

use std::cell::Cell;
use std::collections::HashSet;
use std::ops::Range;
use std::path::Path;
use std::sync::Arc;

use toml::Spanned;

use super::chunks::{self, Chunk, Part};
use super::graph::Graph;
use super::raw::{RawHeader, RawProfiles, RawVariable};
use super::template::{Template, is_variable_name};
use super::{ByName, DEFAULT_HISTORY, Detail, Fixed, Input, Kind, Schema, Variable};
use crate::error::Result;
use crate::hash::Argon2Params;
use position::{Ctx, TOML_HINT};

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
/// tables of the whole file. The pieces come from a scan of line starts; on any error the
/// text is split again by the TOML lexer and parsed again, and that result stands (see
/// [`chunks::split_lines`]).
pub(super) fn parse(text: &str, path: &Path, detail: Detail) -> Result<Schema> {
    if let Some(chunks) = chunks::split_lines(text)
        && let Ok(schema) = parse_chunks(text, path, detail, chunks)
    {
        return Ok(schema);
    }
    parse_chunks(text, path, detail, chunks::split(text))
}

fn parse_chunks(text: &str, path: &Path, detail: Detail, chunks: Vec<Chunk>) -> Result<Schema> {
    let cursor = Cell::new((0, 1));
    let ctx = Ctx::new(text, path, &cursor);
    let mut others = Others::read(&ctx, text, &chunks)?;
    let inline = std::mem::take(&mut others.inline);
    let count = chunks.iter().filter(|c| c.part == Part::Variable).count() + inline.len();
    let mut variables = Vec::with_capacity(count);
    let mut templates = Vec::with_capacity(count);
    let pieces = chunks.iter().filter(|c| c.part == Part::Variable).map(|c| {
        let at = ctx.at(c.range.start);
        at.toml(&text[c.range.clone()])
            .map(|raw| (at, raw.variable))
    });
    let inline = std::iter::once(Ok((ctx, Vec::new())))
        .chain(inline.into_iter().map(|(at, v)| Ok((at, vec![v]))));
    // Variables read by the same services share one list.
    let mut service_lists = HashSet::new();
    for piece in inline.chain(pieces) {
        let (at, raw_variables) = piece?;
        for rv in raw_variables {
            let (mut variable, template_span) =
                at.variable(rv, others.history, &mut service_lists)?;
            if detail == Detail::Values {
                variable.rotation.forget_texts();
            }
            variables.push(variable);
            templates.push(template_span);
        }
    }
    // Every piece is read: the piece list (24 bytes a variable) goes before the index and
    // the graph are built, when a large schema's memory peaks.
    drop(chunks);
    drop(service_lists);
    assemble(&ctx, path, others, variables, templates)
}

/// The tables other than variables: `[schema]`, `[profile.*]`, and variables written as an
/// inline array (`variable = [...]`).
struct Others<'a> {
    header: Header,
    /// `[schema] history`, or the default: what each variable keeps unless it says.
    history: usize,
    inline: Vec<(Ctx<'a>, RawVariable)>,
    profiles: Vec<(Ctx<'a>, RawProfiles)>,
}

/// The `[schema]` table, validated.
struct Header {
    name: String,
    description: String,
    host_identity: Option<std::path::PathBuf>,
}

impl<'a> Others<'a> {
    /// Reads and checks the pieces of `chunks` that are not variables. They come first: the
    /// `[schema]` table sets what variables need (their history).
    fn read(ctx: &Ctx<'a>, text: &str, chunks: &[Chunk]) -> Result<Others<'a>> {
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
        // `variable = [...]` and `[[variable]]` tables cannot both define the array: TOML refuses
        // to extend an inline array, and so does a parse of the whole file.
        if !inline.is_empty()
            && let Some(table) = chunks.iter().find(|c| c.part == Part::Variable)
        {
            return Err(ctx.at(table.range.start).error(
                0..0,
                None,
                "`[[variable]]` after `variable = [...]`: an inline array cannot be extended"
                    .into(),
                "write every variable as a `[[variable]]` table",
            ));
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
        Ok(Others {
            header: Header {
                name: name.into_inner(),
                description: header.description,
                host_identity: header.host_identity,
            },
            history,
            inline,
            profiles: profile_tables,
        })
    }
}

/// Builds the schema from its validated variables (with the span of each one's template) and
/// the other tables: the index by name, references between variables and their order, and the
/// profiles.
fn assemble(
    ctx: &Ctx,
    path: &Path,
    others: Others,
    mut variables: Vec<Variable>,
    templates: Vec<Range<usize>>,
) -> Result<Schema> {
    let Others {
        header,
        profiles: profile_tables,
        ..
    } = others;
    let index = ByName::new(&variables).map_err(|(first, second)| {
        let (first, second) = (&variables[first], &variables[second]);
        ctx.error_at_line(
            second.line,
            Some(&second.name),
            format!("defined twice (first at line {})", first.line),
            "remove or rename one of the two definitions",
        )
    })?;
    let find = |name: &str| index.find(&variables, name);

    let mut deps = Vec::with_capacity(variables.len());
    for (variable, span) in variables.iter().zip(&templates) {
        let mut ds = Vec::new();
        match &variable.kind {
            Kind::Derived(template) => {
                for reference in template.references() {
                    let at = ctx.in_string(span, template.source(), reference.offset);
                    let Some(d) = find(reference.name) else {
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
                let signer = find(&token.secret).map(|d| (d, &variables[d].kind));
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
                let d = index
                    .find(&variables, r.name)
                    .expect("every reference was found above");
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
        name: header.name,
        description: header.description,
        host_identity: header.host_identity,
        path: path.to_path_buf(),
        profile: None,
        by_name: index,
        variables,
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

impl Ctx<'_> {
    /// Validates one `[[variable]]` table; returns it and the span of its template (or name).
    fn variable(
        &self,
        mut rv: RawVariable,
        history: usize,
        service_lists: &mut HashSet<Arc<[String]>>,
    ) -> Result<(Variable, Range<usize>)> {
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
        // Required, for whoever reads the schema; envgen itself never shows it.
        let described = (rv.description.as_ref()).is_some_and(|d| !d.get_ref().trim().is_empty());
        if !described {
            return Err(self.error(
                rv.name.span(),
                var,
                "has no description".into(),
                "add `description = \"...\"` saying what the value is for",
            ));
        }
        let services: Vec<String> = (rv.services.take())
            .map(Spanned::into_inner)
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
                    rules: Box::new(self.rules(&rv, var)?),
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
                    rules: Box::new(self.rules(&rv, var)?),
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
            s => s.as_ref().map(|s| Box::from(s.get_ref().trim())),
        };
        let services = match service_lists.get(&services[..]) {
            Some(shared) => Arc::clone(shared),
            None => {
                let shared: Arc<[String]> = services.into();
                service_lists.insert(Arc::clone(&shared));
                shared
            }
        };
        Ok((
            Variable {
                name,
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
}
