//! `envgen diff FILE`: how a `.env` on disk, or another version of the vault, differs from
//! the vault: names and keyed fingerprints, never values.

use std::collections::{BTreeSet, HashMap};
use std::io::Write;
use std::path::Path;

use secrecy::ExposeSecret;
use serde_json::json;

use super::check::json_line;
use super::import::parse_env_bytes;
use super::{Context, Status, emit};
use crate::cli::DiffArgs;
use crate::dotenv::Value;
use crate::error::{Error, Result};
use crate::resolve::resolve;
use crate::vault::Entry;

/// The first bytes of every age v1 file.
const AGE_MAGIC: &[u8] = b"age-encryption.org/v1";

/// One difference, printed as a line or a JSON object.
struct Difference {
    kind: &'static str,
    name: String,
    line: Option<usize>,
    old: Option<String>,
    new: Option<String>,
}

impl Difference {
    fn new(kind: &'static str, name: &str) -> Self {
        Difference {
            kind,
            name: name.into(),
            line: None,
            old: None,
            new: None,
        }
    }

    fn text(&self) -> String {
        let at = self
            .line
            .map(|l| format!(" (line {l})"))
            .unwrap_or_default();
        match (self.kind, &self.old, &self.new) {
            ("changed", Some(old), Some(new)) => format!("changed {} {old} -> {new}", self.name),
            ("lineage", Some(old), Some(new)) => format!(
                "lineage {old} -> {new}: not one vault written after the other (a recipient was removed, rotate --all, or a vault made separately)"
            ),
            (kind, Some(fp), None) | (kind, None, Some(fp)) => format!("{kind} {} {fp}", self.name),
            ("missing", ..) => format!("missing {}: in the vault, not in the file", self.name),
            ("extra", ..) => format!("extra {}{at}: in the file, not in the schema", self.name),
            ("different", ..) => format!("different {}{at}", self.name),
            ("unverifiable", ..) => format!(
                "unverifiable {}{at}: the file builds it from other variables, which compose substitutes at deploy time",
                self.name
            ),
            (kind, ..) => format!("{kind} {}", self.name),
        }
    }
}

pub(super) fn run(ctx: &Context, args: &DiffArgs, out: &mut dyn Write) -> Result<Status> {
    // Read once: the file may be a pipe (`ssh host cat .env | envgen diff /dev/stdin`).
    let bytes = crate::files::read_capped(&args.other, crate::files::limits::VAULT)
        .map_err(|e| Error::io("read", &args.other, e))?;
    let differences = if bytes.starts_with(AGE_MAGIC) {
        vaults(ctx, &bytes, &args.other)?
    } else {
        env_file(ctx, &bytes, &args.other)?
    };
    let text = if args.json {
        let list: Vec<serde_json::Value> = differences
            .iter()
            .map(|d| json!({"kind": d.kind, "name": d.name, "line": d.line, "old": d.old, "new": d.new}))
            .collect();
        json_line(&json!({"equal": differences.is_empty(), "differences": list}))
    } else {
        differences.iter().map(|d| d.text() + "\n").collect()
    };
    emit(out, text.as_bytes())?;
    Ok(if differences.is_empty() {
        Status::Ok
    } else {
        Status::Problem
    })
}

/// A `.env` on disk against the values the vault renders.
fn env_file(ctx: &Context, bytes: &[u8], path: &Path) -> Result<Vec<Difference>> {
    let assignments = parse_env_bytes(bytes, path)?;
    let latest: HashMap<&str, _> = assignments.iter().map(|a| (a.name.as_str(), a)).collect();
    let vault = ctx.open()?.vault;
    let all: Vec<usize> = (0..ctx.schema.variables().len()).collect();
    let values = resolve(&ctx.schema, &vault, &ctx.files.vault, &all)?;
    let mut differences = Vec::new();
    for (i, var) in ctx.schema.variables().iter().enumerate() {
        let value = values.get(i);
        let kind = match latest.get(var.name.as_str()).map(|a| (a.line, &a.value)) {
            None | Some((_, Value::Inherited)) => Some(("missing", None)),
            Some((line, Value::Reference)) => Some(("unverifiable", Some(line))),
            Some((line, Value::Literal(v))) if v.expose_secret() != value => {
                Some(("different", Some(line)))
            }
            Some(_) => None,
        };
        if let Some((kind, line)) = kind {
            differences.push(Difference {
                line,
                ..Difference::new(kind, &var.name)
            });
        }
    }
    let mut extra: Vec<_> = latest
        .values()
        .filter(|a| ctx.schema.position(&a.name).is_none())
        .collect();
    extra.sort_by_key(|a| a.line);
    for a in extra {
        differences.push(Difference {
            line: Some(a.line),
            ..Difference::new("extra", &a.name)
        });
    }
    Ok(differences)
}

/// Another version of the vault against this one.
fn vaults(ctx: &Context, bytes: &[u8], path: &Path) -> Result<Vec<Difference>> {
    let other = ctx.decrypt(bytes, path)?.vault;
    other.check_schema(&ctx.schema.name, path)?;
    let current = ctx.open()?.vault;
    let schema = &ctx.schema;
    // Names in schema order, then any the schema no longer lists.
    let mut names: Vec<&str> = schema
        .variables()
        .iter()
        .filter(|v| v.kind.is_stored())
        .map(|v| v.name.as_str())
        .collect();
    let unlisted = current
        .variables
        .keys()
        .chain(other.variables.keys())
        .filter(|n| schema.position(n).is_none());
    names.extend(unlisted.map(String::as_str).collect::<BTreeSet<_>>());

    let fp = |name: &str, e: &Entry| current.fingerprint(name, e.value.expose_secret());
    let mut differences = Vec::new();
    // A vault kept in OpenBao has no lineage: the server is the trust anchor.
    let server = matches!(ctx.backend, super::Backend::OpenBao(_));
    if !server && other.lineage_hash() != current.lineage_hash() {
        // A reviewer must see that the two were not written one after the other.
        differences.push(Difference {
            old: Some(format!(
                "{} (generation {})",
                other.lineage_id(),
                other.generation
            )),
            new: Some(format!(
                "{} (generation {})",
                current.lineage_id(),
                current.generation
            )),
            ..Difference::new("lineage", "")
        });
    }
    let mut changed = Vec::new();
    for name in names {
        let (kind, old, new) = match (other.variables.get(name), current.variables.get(name)) {
            (Some(old), Some(new)) if !same(old, new) => {
                ("changed", Some(fp(name, old)), Some(fp(name, new)))
            }
            (None, Some(new)) => ("added", None, Some(fp(name, new))),
            (Some(old), None) => ("removed", Some(fp(name, old)), None),
            _ => continue,
        };
        if kind != "removed" {
            changed.extend(schema.position(name));
        }
        differences.push(Difference {
            old,
            new,
            ..Difference::new(kind, name)
        });
    }
    for i in schema.dependents(&changed) {
        differences.push(Difference::new("re-derived", &schema.variables()[i].name));
    }
    for r in current
        .recipients
        .iter()
        .filter(|r| !server && !other.recipients.contains(r))
    {
        differences.push(Difference::new("recipient-added", r));
    }
    for r in other
        .recipients
        .iter()
        .filter(|r| !server && !current.recipients.contains(r))
    {
        differences.push(Difference::new("recipient-removed", r));
    }
    Ok(differences)
}

fn same(a: &Entry, b: &Entry) -> bool {
    let hashes_equal = match (&a.hash, &b.hash) {
        (Some(x), Some(y)) => x.expose_secret() == y.expose_secret(),
        (x, y) => x.is_none() && y.is_none(),
    };
    a.value.expose_secret() == b.value.expose_secret() && hashes_equal
}
