//! `envgen import FILE`: adopt the values of a running stack's `.env` into a new vault.
//!
//! Values are read as docker compose reads them (`crate::dotenv`) and stored unchanged, so the
//! stack keeps its secrets; multi-line values (a PEM key in double quotes, over several lines
//! or with `\n` escapes) are adopted exactly where the schema allows them. A value that refers
//! to other variables, or holds a control character its variable cannot, cannot be adopted
//! exactly: the import is refused, naming them, and nothing is written. A token (`jwt`) is
//! kept if the imported secret verifies it, else signed again; inputs the file lacks are
//! named, to be given with `envgen set`. Values that break the schema's format are imported unchanged with a warning
//! (rotate them when the service allows). Variables the file lacks, or holds empty, are
//! generated. Lines the schema does not know are left out and named: the vault holds only
//! what the schema manages.

use std::collections::HashMap;
use std::io::Write;

use secrecy::{ExposeSecret, SecretString};

use super::{Context, creator, emit, generate_value, new_vault_recipients, note};
use crate::cli::ImportArgs;
use crate::dotenv::{Assignment, Value};
use crate::error::{Error, Result};
use crate::render::check_value;
use crate::resolve::resolve;
use crate::schema::Kind;
use crate::vault::{Entry, Provenance, Vault, write_recipients};

pub(super) fn run(
    ctx: &Context,
    args: &ImportArgs,
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> Result<()> {
    let path = &args.file;
    let assignments = read_env_file(path)?;
    let shown = path.display();
    let mut latest: HashMap<&str, &Assignment> = HashMap::new();
    let mut warnings = Vec::new();
    for a in &assignments {
        if let Some(earlier) = latest.insert(a.name.as_str(), a) {
            warnings.push(format!(
                "{} is set on lines {} and {}; the last one wins, as in compose",
                a.name, earlier.line, a.line
            ));
        }
    }

    let schema = &ctx.schema;
    let mut refused = Vec::new();
    for var in schema.variables().iter().filter(|v| v.kind.is_stored()) {
        match latest.get(var.name.as_str()).map(|a| (a.line, &a.value)) {
            Some((line, Value::Reference)) => refused.push((
                var.name.clone(),
                line,
                "its value refers to other variables, which compose substitutes at deploy time from an environment envgen cannot see",
            )),
            Some((line, Value::Literal(v))) if !v.expose_secret().is_empty() && check_value(v.expose_secret(), var.multiline).is_err() => {
                refused.push((var.name.clone(), line, if var.multiline {
                    "its value holds a control character other than a newline"
                } else {
                    "its value holds a newline or another control character, and the schema does not make it multi-line"
                }))
            }
            _ => {}
        }
    }
    if !refused.is_empty() {
        return Err(Error::ImportRefused {
            path: path.clone(),
            items: refused,
        });
    }
    // An empty or unrelated file would make a vault of fresh values, and deploying it would
    // replace every password of the running stack: import only what looks like this stack.
    let generated: Vec<&str> = schema
        .variables()
        .iter()
        .filter(|v| v.kind.generator().is_some())
        .map(|v| v.name.as_str())
        .collect();
    let found = generated
        .iter()
        .filter(|n| {
            matches!(latest.get(*n).map(|a| &a.value), Some(Value::Literal(v)) if !v.expose_secret().is_empty())
        })
        .count();
    if found * 2 < generated.len() && !args.allow_partial {
        return Err(Error::ImportPartial {
            path: path.clone(),
            found,
            total: generated.len(),
        });
    }

    let _lock = ctx.files.lock()?;
    if ctx.files.vault.exists() {
        return Err(Error::ImportOverVault {
            path: ctx.files.vault.clone(),
        });
    }
    let recipients = new_vault_recipients(ctx, &args.recipients, &[], err)?;
    let actor = creator(ctx);
    let by = ctx.actor(&actor)?;
    let mut vault = Vault::new(&schema.name, recipients);
    let mut report = String::new();
    let mut inputs_missing = Vec::new();
    // In evaluation order: a token is checked against the secret imported before it.
    for &i in schema.evaluation_order() {
        let var = &schema.variables()[i];
        if !var.kind.is_stored() {
            continue;
        }
        let name = var.name.as_str();
        let found = latest.get(name).map(|a| (a.line, &a.value));
        let literal = match found {
            Some((line, Value::Literal(v))) if !v.expose_secret().is_empty() => Some((line, v)),
            Some((line, Value::Literal(_))) => {
                warnings.push(format!(
                    "{name} (line {line}) is empty in {shown}: a new value was generated"
                ));
                None
            }
            Some((line, Value::Inherited)) => {
                warnings.push(format!("{name} (line {line}) takes its value from the shell in {shown}: a new value was generated"));
                None
            }
            _ => None,
        };
        let how = Provenance::new("import", &by);
        let entry = match (&var.kind, literal) {
            (Kind::Fixed(fixed), None) => {
                report.push_str(&format!("stored {name} (its default; not in {shown})\n"));
                Entry::new(SecretString::from(fixed.default.as_str()), None, how)
            }
            (Kind::Input(_), None) => {
                inputs_missing.push(name);
                continue;
            }
            (Kind::Jwt(jwt), literal) => {
                let key = vault.variables.get(&jwt.secret).map(|e| e.value.clone());
                let Some(key) = key else {
                    inputs_missing.push(name);
                    continue;
                };
                match literal {
                    Some((line, v)) if jwt.verifies(v.expose_secret(), key.expose_secret()) => {
                        report.push_str(&format!("imported {name} (line {line})\n"));
                        Entry::new(v.clone(), None, how)
                    }
                    found => {
                        if let Some((line, _)) = found {
                            warnings.push(format!(
                                "{name} (line {line}) is not signed with the imported {}: a new token was signed; give it to the clients that use it",
                                jwt.secret
                            ));
                        } else {
                            report.push_str(&format!("signed {name} (not in {shown})\n"));
                        }
                        let token = super::sign_token(var, &vault).expect("its secret is stored");
                        Entry::new(token, None, how)
                    }
                }
            }
            (Kind::Hashed { .. }, Some((line, v))) if v.expose_secret().starts_with("$argon2") => {
                warnings.push(format!(
                    "{name} (line {line}) holds only a hash, whose plaintext nobody can recover: a new token was generated; \
                     after deploying, log in with `envgen get {name} --plaintext`"
                ));
                let (value, hash) = generate_value(var)?;
                Entry::new(value, hash, how)
            }
            (_, None) => {
                report.push_str(&format!("generated {name} (not in {shown})\n"));
                let (value, hash) = generate_value(var)?;
                Entry::new(value, hash, how)
            }
            (kind, Some((line, v))) => {
                let conforms = match kind {
                    Kind::Fixed(fixed) => fixed.check(v.expose_secret()),
                    Kind::Input(input) => input.rules.check(v.expose_secret()),
                    Kind::Keypair(pair) => pair.check(v.expose_secret()),
                    _ => kind
                        .generator()
                        .expect("generated kind")
                        .check(v.expose_secret()),
                };
                let nonconforming = conforms.is_err();
                if let Err(reason) = conforms {
                    warnings.push(format!(
                        "{name} (line {line}) does not match the schema ({reason}); it was imported unchanged and `envgen check` reports it until you rotate it (when the service allows)"
                    ));
                }
                let hash = match kind {
                    Kind::Hashed { argon2, .. } => {
                        Some(argon2.hash(v, &mut rand::rngs::OsRng).map_err(|detail| {
                            Error::Generate {
                                name: name.into(),
                                detail,
                            }
                        })?)
                    }
                    _ => None,
                };
                report.push_str(&format!("imported {name} (line {line})\n"));
                if hash.is_some() {
                    warnings.push(format!(
                        "{name} (line {line}) was a plain token; it is now rendered as its Argon2id hash, and \
                         `envgen get {name} --plaintext` shows the token to type"
                    ));
                }
                let mut entry = Entry::new(v.clone(), hash, how);
                entry.nonconforming = nonconforming;
                entry
            }
        };
        vault.variables.insert(var.name.clone(), entry);
    }

    for (i, var) in schema
        .variables()
        .iter()
        .enumerate()
        .filter(|(_, v)| !v.kind.is_stored())
    {
        let name = var.name.as_str();
        let values = match resolve(schema, &vault, &ctx.files.vault, &[i]) {
            Ok(values) => values,
            Err(Error::MissingValues { .. }) => {
                report.push_str(&format!(
                    "derived {name} (once the inputs it is built from are set)\n"
                ));
                continue;
            }
            Err(e) => return Err(e),
        };
        match latest.get(name).map(|a| (a.line, &a.value)) {
            Some((line, Value::Literal(v))) if v.expose_secret() != values.get(i) => warnings.push(format!(
                "derived {name} (line {line}) differs from what the schema derives from the imported values; the schema's template wins"
            )),
            Some((_, Value::Literal(_))) => report.push_str(&format!("derived {name} (same as in {shown})\n")),
            Some(_) => report.push_str(&format!(
                "derived {name} ({shown} builds it from other variables; the schema's template is used)\n"
            )),
            None => report.push_str(&format!("derived {name}\n")),
        }
    }
    let mut ignored: Vec<&Assignment> = latest
        .values()
        .copied()
        .filter(|a| schema.position(&a.name).is_none())
        .collect();
    ignored.sort_by_key(|a| a.line);
    for a in ignored {
        report.push_str(&format!(
            "ignored {} (line {}): not in the schema, so envgen does not manage it; add it to the schema to import it\n",
            a.name, a.line
        ));
    }

    write_recipients(&ctx.files, &vault.recipients)?;
    ctx.save(&mut vault)?;
    let names: Vec<&str> = vault.variables.keys().map(String::as_str).collect();
    ctx.journal(err, "import", &names, &actor);
    for warning in &warnings {
        note(err, &format!("warning: {warning}"));
    }
    super::note_missing_inputs(ctx, err, &inputs_missing);
    note(
        err,
        &format!(
            "created {} from {shown}; the file is still plaintext: delete it (e.g. shred -u)",
            ctx.files.vault.display()
        ),
    );
    emit(out, report.as_bytes())
}

/// Reads and parses a `.env` file (within the size limit), keeping its bytes in a buffer
/// that is wiped afterwards.
pub(super) fn read_env_file(path: &std::path::Path) -> Result<Vec<Assignment>> {
    let bytes = crate::files::read_capped(path, crate::files::limits::DOTENV)
        .map_err(|e| Error::io("read", path, e))?;
    parse_env_bytes(&bytes, path)
}

/// Parses the bytes of a `.env` file read from `path` (named in errors).
pub(super) fn parse_env_bytes(bytes: &[u8], path: &std::path::Path) -> Result<Vec<Assignment>> {
    let syntax = |line, message: &str| Error::EnvSyntax {
        path: path.to_path_buf(),
        line,
        message: message.into(),
    };
    let text = std::str::from_utf8(bytes).map_err(|_| syntax(1, "not UTF-8 text"))?;
    crate::dotenv::parse(text).map_err(|e| syntax(e.line, &e.message))
}
