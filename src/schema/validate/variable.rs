//! Validation of one `[[variable]]` table into a [`Variable`]: its name, kind and the fields
//! that kind takes (checked in [`super::fields`]), description, services and rotation.

use std::collections::HashSet;
use std::ops::Range;
use std::sync::Arc;

use toml::Spanned;

use super::Ctx;
use crate::error::Result;
use crate::hash::Argon2Params;
use crate::schema::raw::RawVariable;
use crate::schema::template::{Template, is_variable_name};
use crate::schema::{Fixed, Input, Kind, Variable};

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

impl Ctx<'_> {
    /// Validates one `[[variable]]` table; returns it and the span of its template (or name).
    pub(super) fn variable(
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
        let dangerous = crate::schema::names::danger(&name);
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
    pub(super) fn duration(
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
