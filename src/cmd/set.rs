//! `envgen set NAME=VALUE... | NAME`: change fixed values, provide inputs, after `init`.
//!
//! `NAME=VALUE` takes the value from argv, so only for values that are not secret: fixed
//! values and inputs with `secret = false`. `NAME` alone reads the value from stdin when it
//! is not a terminal (a pipe from a password manager; one final newline is dropped), else
//! asks on the terminal without echo: the way to give a secret input (a provider's
//! credential) or an existing private key of a keypair variable. Every value is checked
//! against the schema (type, pattern, lengths, key format) before anything is written.
//!
//! The change is recorded in the value's history like a rotation (`envgen history`,
//! `envgen rollback`), every token signed with it is signed again, and every derived value
//! built from it follows at the next render. Generated secrets are refused: `rotate` renews
//! them.

use std::collections::HashMap;
use std::io::{IsTerminal, Read, Write};

use secrecy::{ExposeSecret, SecretString};
use zeroize::Zeroizing;

use super::{Context, apply, emit, resign_tokens};
use crate::cli::SetArgs;
use crate::error::{Error, Result};
use crate::render::MAX_VALUE;
use crate::schema::Kind;
use crate::secret::WipingWriter;
use crate::vault::{Entry, Provenance};

pub(super) fn run(
    ctx: &Context,
    args: &SetArgs,
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> Result<()> {
    let sets = parse_assignments(ctx, &args.assignments, "")?;
    let schema = &ctx.schema;
    let mut targets: Vec<usize> = sets
        .keys()
        .map(|name| schema.position(name).expect("validated"))
        .collect();
    targets.sort_unstable();
    let names: Vec<&str> = targets
        .iter()
        .map(|&i| schema.variables()[i].name.as_str())
        .collect();
    let without_apply = format!("envgen{} set {}", ctx.profile_flag(), names.join(" "));
    let restart = apply::prepare(ctx, &args.apply, &targets, &without_apply)?;

    let _lock = ctx.lock()?;
    let mut opened = ctx.open()?;
    ctx.reconcile_recipients(&mut opened.vault, args.update_recipients)?;
    let actor = ctx.actor(&opened.actor)?;
    let vault = &mut opened.vault;
    let mut report = String::new();
    let mut changed = Vec::new();
    for &i in &targets {
        let var = &schema.variables()[i];
        let value = sets[&var.name].clone();
        let set_by = Provenance::new("set", &actor);
        match vault.variables.get_mut(&var.name) {
            Some(entry) if entry.value.expose_secret() == value.expose_secret() => {
                report.push_str(&format!("unchanged {}\n", var.name));
                continue;
            }
            Some(entry) => entry.replace(value, None, set_by, var.rotation.history),
            None => {
                vault
                    .variables
                    .insert(var.name.clone(), Entry::new(value, None, set_by));
            }
        }
        report.push_str(&format!("set {}\n", var.name));
        changed.push(i);
    }
    if !changed.is_empty() {
        resign_tokens(schema, vault, &changed, &actor);
        ctx.save(vault)?;
        let names: Vec<&str> = changed
            .iter()
            .map(|&i| schema.variables()[i].name.as_str())
            .collect();
        ctx.journal(err, "set", &names, &opened.actor);
        for i in schema.dependents(&changed) {
            report.push_str(&format!("re-derived {}\n", schema.variables()[i].name));
        }
    }
    emit(out, report.as_bytes())?;
    match &restart {
        // Only what changed restarts; nothing changed, nothing restarts.
        Some(restart) if !changed.is_empty() => {
            let changed_names: Vec<&str> = changed
                .iter()
                .map(|&i| schema.variables()[i].name.as_str())
                .collect();
            match changed.len() == targets.len() {
                true => apply::run(ctx, restart, vault, &changed_names, err),
                false => match apply::prepare(ctx, &args.apply, &changed, &without_apply)? {
                    Some(restart) => apply::run(ctx, &restart, vault, &changed_names, err),
                    None => Ok(()),
                },
            }
        }
        Some(_) => {
            super::note(err, "nothing changed: nothing was restarted");
            Ok(())
        }
        None => Ok(()),
    }
}

/// Validates `NAME=VALUE` arguments, and for `set` a bare `NAME` whose value is read from
/// stdin or the terminal (`flag` prefixes the name in errors, e.g. `--set `, which takes
/// `NAME=VALUE` only): values that pass their rules, secrets never from argv, each name once.
pub(super) fn parse_assignments(
    ctx: &Context,
    assignments: &[String],
    flag: &'static str,
) -> Result<HashMap<String, SecretString>> {
    let mut parsed = HashMap::new();
    let bare: Vec<&String> = assignments.iter().filter(|a| !a.contains('=')).collect();
    if flag.is_empty() && bare.len() > 1 {
        return Err(Error::SetInvalid {
            flag,
            name: bare[1].clone(),
            reason: "only one NAME without =VALUE per command: its value comes from stdin".into(),
        });
    }
    for (i, arg) in assignments.iter().enumerate() {
        let (name, from_argv) = match arg.split_once('=') {
            Some((name, value)) => (name, Some(value)),
            None if flag.is_empty() => (arg.as_str(), None),
            None => {
                return Err(Error::SetInvalid {
                    flag,
                    name: format!("argument {}", i + 1),
                    reason: "expected NAME=VALUE".into(),
                });
            }
        };
        let index = ctx.schema.require(name)?;
        let var = &ctx.schema.variables()[index];
        let invalid = |reason: String| Error::SetInvalid {
            flag,
            name: name.to_string(),
            reason,
        };
        let secret_input = || Error::SetSecretInput {
            flag,
            name: name.to_string(),
        };
        match (&var.kind, from_argv) {
            (Kind::Secret(_) | Kind::Hashed { .. }, _) => {
                return Err(Error::SetSecret {
                    flag,
                    name: name.to_string(),
                });
            }
            (Kind::Input(input), Some(_)) if input.secret => return Err(secret_input()),
            (Kind::Keypair(_), Some(_)) => return Err(secret_input()),
            (Kind::Jwt(jwt), _) => {
                return Err(Error::NotRotatable {
                    name: name.into(),
                    kind: format!("a token signed with {}", jwt.secret),
                    consequence: "envgen makes its value",
                    hint: format!(
                        "`envgen rotate {name}` signs a new one; `envgen set {}` or `envgen rotate {}` changes the key and signs it again",
                        jwt.secret, jwt.secret
                    ),
                });
            }
            (Kind::Derived(_), _) => {
                ctx.stored(name, "set")?;
            }
            _ => {}
        }
        let value = match from_argv {
            Some(value) => SecretString::from(value),
            None => read_value(name)?,
        };
        let checked = match &var.kind {
            Kind::Fixed(fixed) => fixed.check(value.expose_secret()),
            Kind::Input(input) => input.rules.check(value.expose_secret()),
            Kind::Keypair(pair) => pair.check(value.expose_secret()),
            _ => unreachable!("other kinds were refused above"),
        };
        checked.map_err(invalid)?;
        if parsed.insert(name.to_string(), value).is_some() {
            return Err(invalid("given twice".into()));
        }
    }
    Ok(parsed)
}

/// The value of `name` from stdin when it is not a terminal (one final newline dropped),
/// else typed on the terminal without echo.
fn read_value(name: &str) -> Result<SecretString> {
    let stdin = std::io::stdin();
    if stdin.is_terminal() {
        let typed = rpassword::prompt_password(format!("Value of {name} (not echoed): "))
            .map(Zeroizing::new)
            .map_err(|e| Error::io("read a value from", "the terminal", e))?;
        return Ok(SecretString::from(typed.as_str()));
    }
    let mut sink = WipingWriter::with_capacity(4096);
    std::io::copy(&mut stdin.lock().take(MAX_VALUE as u64 + 2), &mut sink)
        .map_err(|e| Error::io("read a value from", "stdin", e))?;
    let bytes = sink.into_inner();
    let invalid = |reason: &str| Error::SetInvalid {
        flag: "",
        name: name.to_string(),
        reason: reason.into(),
    };
    let text = std::str::from_utf8(&bytes).map_err(|_| invalid("stdin is not UTF-8 text"))?;
    let text = text.strip_suffix('\n').unwrap_or(text);
    let text = text.strip_suffix('\r').unwrap_or(text);
    if text.len() > MAX_VALUE {
        return Err(invalid("the value on stdin is longer than 64 KiB"));
    }
    Ok(SecretString::from(text))
}
