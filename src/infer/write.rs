//! Writing the inferred schema as TOML: each variable with its format, its source and, for a
//! guess, `verified = false`; values of the compose files become templates or defaults, and a
//! literal credential is never copied.

use super::*;

pub(super) fn literal(value: &dotenv::Value) -> Option<Zeroizing<String>> {
    match value {
        dotenv::Value::Literal(v) => Some(Zeroizing::new(v.expose_secret().to_string())),
        _ => None,
    }
}

pub(super) fn service_prefixed(service: &str, key: &str) -> String {
    let prefix: String = service
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_uppercase()
            } else {
                '_'
            }
        })
        .collect();
    let name = format!("{prefix}_{key}");
    if name.starts_with(|c: char| c.is_ascii_digit()) {
        format!("S_{name}")
    } else {
        name
    }
}

/// Literal text as an envgen template: `$` doubled.
pub(super) fn escape_template(text: &str) -> String {
    text.replace('$', "$$")
}

/// A compose value with interpolations as an envgen template: `${NAME}`, percent-encoded
/// (`|url`) inside the URL's userinfo; defaults dropped (the schema provides the variable).
pub(super) fn to_template(text: &str, userinfo: &std::ops::Range<usize>) -> String {
    let mut out = String::new();
    let mut at = 0;
    let user_start = text.find("://").map_or(0, |i| i + 3);
    for i in interpolations(text) {
        out.push_str(&escape_literal_dollars(&text[at..i.range.start]));
        let encode = i.range.start >= user_start && i.range.end <= userinfo.end;
        out.push_str(&format!(
            "${{{}{}}}",
            i.name,
            if encode { "|url" } else { "" }
        ));
        at = i.range.end;
    }
    out.push_str(&escape_literal_dollars(&text[at..]));
    out
}

/// compose's `$$` stays `$$`; a lone `$` becomes `$$`.
pub(super) fn escape_literal_dollars(text: &str) -> String {
    let mut out = String::new();
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '$' {
            if chars.peek() == Some(&'$') {
                chars.next();
            }
            out.push_str("$$");
        } else {
            out.push(c);
        }
    }
    out
}

/// Writes the schema text and fills the report.
pub(super) fn write(st: &mut State, request: &Request, catalogue: &Catalogue) -> Result<String> {
    let mut order: Vec<usize> = (0..st.vars.len()).collect();
    order.sort_by_key(|&i| (st.vars[i].group, st.vars[i].order));
    let sources: Vec<String> = request
        .compose
        .iter()
        .map(|i| display(&i.path))
        .chain(request.env_example.iter().map(|i| display(&i.path)))
        .collect();
    let mut text = format!(
        "# Written by `envgen schema from-compose` from {}.\n#\n# Review it before `envgen init`: every entry marked UNVERIFIED has a format guessed from its\n# name or example value; check it against the service's documentation, then set\n# verified = true. Catalogue entries cite the upstream source of each requirement.\n\n[schema]\nname = {}\ndescription = {}\n",
        sources.join(", "),
        q(&request.name),
        q(&format!(
            "The stack of {}",
            sources.first().cloned().unwrap_or_default()
        )),
    );
    let mut last_group = None;
    let names: Vec<String> = st.vars.iter().map(|v| v.name.clone()).collect();
    for &i in &order {
        let var = st.vars[i].clone();
        if let Some(why) = crate::schema::names::danger(&var.name) {
            st.report.notes.push(format!(
                "{} ({}) is left out: {why}; it configures the tools, not a service (add it by hand with allow_dangerous_name = true if `envgen exec` must set it)",
                var.name,
                var.origins.first().cloned().unwrap_or_default()
            ));
            continue;
        }
        if last_group != Some(var.group) {
            last_group = Some(var.group);
            let title = match var.services.first() {
                Some(s) if var.group != NO_SERVICE => {
                    let id = st.report.services.iter().find(|(n, _, _)| n == s).and_then(|(_, _, id)| id.clone());
                    match id.and_then(|id| catalogue.get(&id)) {
                        Some(c) => format!("service {s} ({}, catalogue/{}.toml)", c.service.name, c.service.id),
                        None => format!("service {s} (not in the catalogue)"),
                    }
                }
                _ => "variables no service refers to (from the env example or the top of the compose file)".into(),
            };
            let _ = write!(
                text,
                "\n# ---- {title} {}\n",
                "-".repeat(70usize.saturating_sub(title.len()))
            );
        }
        text.push('\n');
        let services = if var.services.is_empty() {
            vec!["stack".to_string()]
        } else {
            var.services.clone()
        };
        for o in var.origins.iter().take(6) {
            let _ = writeln!(text, "# from {o}");
        }
        if var.origins.len() > 6 {
            let _ = writeln!(text, "# and {} more places", var.origins.len() - 6);
        }
        let mut reqs = var.reqs.clone();
        reqs.sort_by_key(|r| {
            std::cmp::Reverse(
                r.entry.kind == EntryKind::Secret || r.entry.kind == EntryKind::Hashed,
            )
        });
        for r in &reqs {
            let _ = writeln!(text, "# catalogue {}: {}", r.at, r.entry.source);
        }
        for n in &var.notes {
            let _ = writeln!(text, "# note: {n}");
        }
        let example = var.example.as_ref().map(|v| v.as_str().to_string());
        let example = Zeroizing::new(example);
        let (out, verified, source, why): (Out, bool, String, Option<String>) = if let Some(t) =
            &var.derived
        {
            (Out::Derived(t.clone()), true, "compose".into(), None)
        } else if !reqs.is_empty() {
            let out = combine(&var.name, &reqs)?;
            let mut ids: Vec<String> = reqs.iter().map(|r| r.id.clone()).collect();
            ids.dedup();
            (out, true, format!("catalogue:{}", ids.join("+")), None)
        } else {
            match classify(&var.name, example.as_deref()) {
                Guess::Secret(why) => (
                    Out::Secret {
                        hashed: None,
                        spec: Spec {
                            encoding: Encoding::Alnum,
                            bytes: None,
                            chars: Some(32),
                            alphabet: None,
                            count: None,
                            separator: None,
                            exclude: String::new(),
                        },
                    },
                    false,
                    "guess".into(),
                    Some(format!(
                        "a secret because {why}; alnum 32 is envgen's default, not the service's documented requirement"
                    )),
                ),
                Guess::Input(why) => (
                    Out::Input(None),
                    false,
                    "guess".into(),
                    Some(format!("an input because it looks like {why}")),
                ),
                Guess::Setting => (
                    Out::Fixed(String::new()),
                    false,
                    "guess".into(),
                    Some("a setting because its name and value do not look secret".into()),
                ),
            }
        };
        if let Some(why) = &why {
            let _ = writeln!(
                text,
                "# UNVERIFIED: guessed {why}. Check the service's documentation for what it requires, then set verified = true."
            );
        }
        let description = match reqs.first() {
            Some(r) => {
                let c = catalogue
                    .get(&r.id)
                    .map(|c| c.service.name.clone())
                    .unwrap_or_default();
                format!("{c}: {}", first_sentence(&r.entry.requirement))
            }
            None if var.derived.is_some() => format!(
                "A URL with its password percent-encoded, for {}",
                services.join(", ")
            ),
            None => format!(
                "Used by {} (format guessed, not verified)",
                services.join(", ")
            ),
        };
        let _ = write!(text, "[[variable]]\nname = {}\n", q(&var.name));
        let mut kind_lines = String::new();
        let mut rotation = false;
        match &out {
            Out::Fixed(catalogue_default) => {
                let value = example
                    .as_deref()
                    .map(String::from)
                    .or_else(|| (!catalogue_default.is_empty()).then(|| catalogue_default.clone()))
                    .or_else(|| var.compose_default.clone())
                    .filter(|v| crate::render::check_value(v, false).is_ok() && !v.contains('$'))
                    .unwrap_or_default();
                if value.is_empty() {
                    // No value anywhere: the operator provides it (a placeholder would be
                    // deployed as if it were one).
                    let _ = writeln!(
                        text,
                        "# no value in the example or the compose file: the operator provides it"
                    );
                    st.report.unset.push(var.name.clone());
                    kind_lines.push_str("kind = \"input\"\n");
                } else {
                    let _ = write!(kind_lines, "kind = \"fixed\"\ndefault = {}\n", q(&value));
                }
            }
            Out::Secret { hashed, spec } => {
                let kind = if hashed.is_some() { "hashed" } else { "secret" };
                let _ = write!(
                    kind_lines,
                    "kind = \"{kind}\"\nencoding = \"{}\"\n",
                    spec.encoding.name()
                );
                if let Some(b) = spec.bytes.filter(|_| {
                    matches!(
                        spec.encoding,
                        Encoding::Hex | Encoding::Base64 | Encoding::Base64url
                    )
                }) {
                    let _ = writeln!(kind_lines, "bytes = {b}");
                }
                if let Some(c) = spec
                    .chars
                    .filter(|_| matches!(spec.encoding, Encoding::Alnum | Encoding::Alphabet))
                {
                    let _ = writeln!(kind_lines, "chars = {c}");
                }
                if let Some(a) = &spec.alphabet {
                    let _ = writeln!(kind_lines, "alphabet = {}", q(a));
                }
                if let (Some(c), Some(s)) = (spec.count.filter(|c| *c > 1), &spec.separator) {
                    let _ = writeln!(kind_lines, "count = {c}\nseparator = {}", q(s));
                }
                if !spec.exclude.is_empty() {
                    let _ = writeln!(kind_lines, "exclude = {}", q(&spec.exclude));
                }
                if let Some(a) = hashed {
                    let _ = writeln!(
                        kind_lines,
                        "argon2 = {{ m_cost = {}, t_cost = {}, p_cost = {} }}",
                        a.m_cost, a.t_cost, a.p_cost
                    );
                }
                rotation = true;
                if verified {
                    st.report.generated.push(var.name.clone());
                }
            }
            Out::Input(value_type) => {
                let _ = writeln!(kind_lines, "kind = \"input\"");
                if let Some(t) = value_type {
                    let _ = writeln!(kind_lines, "type = \"{t}\"");
                }
                st.report.inputs.push(var.name.clone());
            }
            Out::Jwt(e) => {
                let _ = writeln!(kind_lines, "kind = \"jwt\"");
                for (k, v) in [
                    ("secret", &e.secret),
                    ("algorithm", &e.algorithm),
                    ("expires", &e.expires),
                ] {
                    if let Some(v) = v {
                        let _ = writeln!(kind_lines, "{k} = {}", q(v));
                    }
                }
                if let Some(c) = &e.claims {
                    let inline: Vec<String> = c.iter().map(|(k, v)| format!("{k} = {v}")).collect();
                    let _ = writeln!(kind_lines, "claims = {{ {} }}", inline.join(", "));
                }
                st.report.generated.push(var.name.clone());
            }
            Out::Keypair(e) => {
                let private = names.iter().find(|n| {
                    n.contains("PRIVATE")
                        && *n != &var.name
                        && var.name.contains("PUBLIC")
                        && n.replace("PRIVATE", "PUBLIC") == var.name
                });
                match private {
                    Some(p) => {
                        let _ = write!(
                            kind_lines,
                            "kind = \"derived\"\ntemplate = {}\n",
                            q(&format!("${{{p}.public}}"))
                        );
                    }
                    None => {
                        let _ = writeln!(kind_lines, "kind = \"keypair\"");
                        for (k, v) in [("algorithm", &e.algorithm), ("format", &e.format)] {
                            if let Some(v) = v {
                                let _ = writeln!(kind_lines, "{k} = {}", q(v));
                            }
                        }
                        st.report.generated.push(var.name.clone());
                    }
                }
            }
            Out::Derived(t) => {
                let _ = write!(kind_lines, "kind = \"derived\"\ntemplate = {}\n", q(t));
                st.report.derived.push(var.name.clone());
            }
        }
        if !verified {
            st.report.unverified.push(var.name.clone());
        }
        let _ = write!(
            text,
            "{kind_lines}description = {}\nservices = [{}]\nsource = {}\nverified = {verified}\n",
            q(&description),
            services.iter().map(|s| q(s)).collect::<Vec<_>>().join(", "),
            q(&source),
        );
        if rotation
            && let Some(r) = reqs
                .iter()
                .filter_map(|r| r.entry.rotation.as_ref())
                .max_by_key(|r| match r.impact {
                    Impact::Free => 0,
                    Impact::Operation => 1,
                    Impact::Data => 2,
                })
        {
            let _ = write!(
                text,
                "\n[variable.rotation]\nimpact = \"{}\"\n",
                r.impact.name()
            );
            if let Some(b) = &r.breaks {
                let _ = writeln!(text, "breaks = {}", q(b));
            }
            if let Some(m) = &r.max_age {
                let _ = writeln!(text, "max_age = {}", q(m));
            }
            if !r.steps.is_empty() {
                let steps: Vec<String> = r.steps.iter().map(|s| q(s)).collect();
                let _ = writeln!(text, "steps = [\n  {},\n]", steps.join(",\n  "));
            }
        }
    }
    st.report.variables = text.matches("\n[[variable]]\n").count();
    if !text.ends_with('\n') {
        text.push('\n');
    }
    Ok(text)
}

/// The first sentence of a requirement, at most about 200 characters.
pub(super) fn first_sentence(text: &str) -> String {
    let end = text.find(". ").map_or(text.len(), |i| i + 1);
    let s = &text[..end];
    if s.chars().count() <= 200 {
        return s.trim().to_string();
    }
    let cut: String = s.chars().take(197).collect();
    format!("{}...", cut.trim_end())
}
