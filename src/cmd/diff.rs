//! `envgen diff FILE`: what changed between another version of the vault and this one,
//! as names and keyed fingerprints, never values.

use std::io::Write;

use secrecy::ExposeSecret;

use super::{Context, Status, emit};
use crate::cli::DiffArgs;
use crate::error::{Error, Result};
use crate::vault::{Entry, Vault};

/// The first bytes of every age v1 file.
const AGE_MAGIC: &[u8] = b"age-encryption.org/v1";

pub(super) fn run(ctx: &Context, args: &DiffArgs, out: &mut dyn Write) -> Result<Status> {
    let bytes = std::fs::read(&args.other).map_err(|e| Error::io("read", &args.other, e))?;
    if !bytes.starts_with(AGE_MAGIC) {
        return Err(Error::NotAVault {
            path: args.other.clone(),
        });
    }
    let identities = ctx.identities()?;
    let other = Vault::decrypt(&bytes, &identities, &args.other)?;
    if other.schema != ctx.schema.name {
        return Err(Error::VaultSchemaMismatch {
            path: args.other.clone(),
            found: other.schema,
            expected: ctx.schema.name.clone(),
        });
    }
    let current = Vault::open(&ctx.files, &identities, &ctx.schema.name)?;

    // Names in schema order, then any the schema no longer lists.
    let schema = &ctx.schema;
    let mut names: Vec<&str> = schema
        .variables()
        .iter()
        .filter(|v| v.kind.is_stored())
        .map(|v| v.name.as_str())
        .collect();
    for name in current.variables.keys().chain(other.variables.keys()) {
        if !names.contains(&name.as_str()) {
            names.push(name);
        }
    }
    let fp = |name: &str, e: &Entry| current.fingerprint(name, e.value.expose_secret());
    let mut report = String::new();
    let mut changed = Vec::new();
    for name in names {
        match (other.variables.get(name), current.variables.get(name)) {
            (Some(old), Some(new)) if !same(old, new) => {
                report.push_str(&format!(
                    "changed {name} {} -> {}\n",
                    fp(name, old),
                    fp(name, new)
                ));
                changed.extend(schema.position(name));
            }
            (None, Some(new)) => {
                report.push_str(&format!("added {name} {}\n", fp(name, new)));
                changed.extend(schema.position(name));
            }
            (Some(old), None) => report.push_str(&format!("removed {name} {}\n", fp(name, old))),
            _ => {}
        }
    }
    for i in schema.dependents(&changed) {
        report.push_str(&format!("re-derived {}\n", schema.variables()[i].name));
    }
    for r in current
        .recipients
        .iter()
        .filter(|r| !other.recipients.contains(r))
    {
        report.push_str(&format!("recipient added {r}\n"));
    }
    for r in other
        .recipients
        .iter()
        .filter(|r| !current.recipients.contains(r))
    {
        report.push_str(&format!("recipient removed {r}\n"));
    }
    let status = if report.is_empty() {
        Status::Ok
    } else {
        Status::Problem
    };
    emit(out, report.as_bytes())?;
    Ok(status)
}

fn same(a: &Entry, b: &Entry) -> bool {
    let hash = |e: &Entry| e.hash.as_ref().map(|h| h.expose_secret().to_owned());
    a.value.expose_secret() == b.value.expose_secret() && hash(a) == hash(b)
}
