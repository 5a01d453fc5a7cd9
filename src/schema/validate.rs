//! Validation of schema text into the model: every check that can be made before a value
//! exists, each error with the file, line and column, the variable, and what to do.

mod fields;
mod position;
mod slice;
mod variable;

pub(super) use slice::parse_slice;

use std::cell::Cell;
use std::collections::HashSet;
use std::ops::Range;
use std::path::Path;

use super::chunks::{self, Chunk, Part};
use super::graph::Graph;
use super::raw::{RawHeader, RawProfiles, RawVariable};
use super::template::is_variable_name;
use super::{ByName, DEFAULT_HISTORY, Detail, Kind, Schema, Variable};
use crate::error::Result;
use position::{Ctx, TOML_HINT};

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
