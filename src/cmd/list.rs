//! `envgen list`: what the schema defines and when each value was made. Never a value.

use std::io::Write;
use std::time::SystemTime;

use super::check::{due, json_line};
use super::{Context, emit};
use crate::cli::ListArgs;
use crate::error::Result;
use crate::schema::{Kind, Schema, Variable};
use crate::vault::{Stamp, Vault};

const COLUMNS: [&str; 9] = [
    "NAME", "KIND", "FORMAT", "ROTATION", "CREATED", "ROTATED", "DUE", "SERVICES", "SOURCE",
];

pub(super) fn run(ctx: &Context, args: &ListArgs, out: &mut dyn Write) -> Result<()> {
    let vault = if ctx.exists() {
        Some(ctx.open()?.vault)
    } else {
        None
    };
    let schema = &ctx.schema;
    let now = SystemTime::now();
    let mut rows = vec![COLUMNS.map(String::from)];
    for (i, var) in schema.variables().iter().enumerate() {
        let when = vault.as_ref().map(|vault| dates(schema, vault, i));
        let nonconforming = vault
            .as_ref()
            .and_then(|v| v.variables.get(&var.name))
            .is_some_and(|e| e.nonconforming);
        let due = match (&vault, var.rotation.max_age) {
            _ if nonconforming => "NONCONFORMING: rotate".into(),
            (Some(_), Some(max_age)) => match when {
                Some(Some((_, rotated))) => due(max_age, rotated, now).to_string(),
                _ => "-".into(),
            },
            _ => "-".into(),
        };
        rows.push([
            var.name.clone(),
            var.kind.label().into(),
            describe(var),
            if var.kind.is_generated() {
                var.rotation.impact.name().into()
            } else {
                "-".into()
            },
            shown(when, |(created, _)| created),
            shown(when, |(_, rotated)| rotated),
            due,
            var.services.join(","),
            source(var),
        ]);
    }
    if args.json {
        let objects: Vec<serde_json::Value> = rows[1..]
            .iter()
            .map(|row| {
                let mut object = serde_json::Map::new();
                for (column, cell) in COLUMNS.iter().zip(row) {
                    let value = match *column {
                        "SERVICES" => serde_json::json!(cell.split(',').collect::<Vec<_>>()),
                        _ if cell == "-" => serde_json::Value::Null,
                        _ => serde_json::json!(cell),
                    };
                    object.insert(column.to_lowercase(), value);
                }
                serde_json::Value::Object(object)
            })
            .collect();
        // With a profile: {"profile": ..., "variables": [...]}; without, the list as before.
        let listing = match &schema.profile {
            Some(profile) => serde_json::json!({"profile": profile, "variables": objects}),
            None => serde_json::json!(objects),
        };
        return emit(out, json_line(&listing).as_bytes());
    }
    let mut text = format!(
        "# {} ({}): {}\n",
        schema.name,
        schema.path.display(),
        schema.description
    );
    if let Some(profile) = &schema.profile {
        text.push_str(&format!(
            "# profile {profile}: vault {}\n",
            ctx.files.vault.display()
        ));
    }
    if vault.is_none() {
        text.push_str(&format!(
            "# no vault at {} yet: run `envgen init`\n",
            ctx.files.vault.display()
        ));
    }
    text.push_str(&table(&rows));
    emit(out, text.as_bytes())
}

/// Left-aligned columns separated by two spaces.
pub(super) fn table<const N: usize>(rows: &[[String; N]]) -> String {
    let widths: Vec<usize> = (0..N)
        .map(|c| rows.iter().map(|r| r[c].chars().count()).max().unwrap_or(0))
        .collect();
    let mut text = String::new();
    for row in rows {
        let cells: Vec<String> = row
            .iter()
            .zip(&widths)
            .map(|(cell, w)| format!("{cell:<w$}"))
            .collect();
        text.push_str(cells.join("  ").trim_end());
        text.push('\n');
    }
    text
}

/// Where the format comes from: the schema's `source`, marked when it is an unverified guess.
fn source(var: &Variable) -> String {
    match (var.source.as_deref(), var.verified) {
        (Some(source), Some(false)) => format!("{source} (UNVERIFIED)"),
        (None, Some(false)) => "UNVERIFIED".into(),
        (Some(source), _) => source.into(),
        (None, _) => "-".into(),
    }
}

/// How the value is made, in a few words.
fn describe(var: &Variable) -> String {
    match &var.kind {
        Kind::Secret(generator) => generator.describe(),
        Kind::Hashed { plaintext, argon2 } => format!(
            "argon2id (m={},t={},p={}) of {}",
            argon2.m_cost,
            argon2.t_cost,
            argon2.p_cost,
            plaintext.describe()
        ),
        Kind::Fixed(fixed) => match fixed.rules.describe() {
            rules if rules.is_empty() => "fixed value".into(),
            rules => format!("fixed value: {rules}"),
        },
        Kind::Input(input) => {
            let what = if input.secret {
                "secret input"
            } else {
                "input"
            };
            match input.rules.describe() {
                rules if rules.is_empty() => what.into(),
                rules => format!("{what}: {rules}"),
            }
        }
        Kind::Jwt(jwt) => jwt.describe(),
        Kind::Keypair(pair) => pair.describe(),
        Kind::Derived(template) => {
            let mut refs: Vec<&str> = template.references().map(|r| r.name).collect();
            refs.dedup();
            format!("template over {}", refs.join(", "))
        }
    }
}

/// A date column: `-` without a vault, `missing` for a value the vault lacks.
fn shown(dates: Option<Option<(Stamp, Stamp)>>, pick: fn((Stamp, Stamp)) -> Stamp) -> String {
    match dates {
        None => "-".into(),
        Some(None) => "missing".into(),
        Some(Some(both)) => pick(both).to_string(),
    }
}

/// Created and rotated dates, `None` when the vault lacks the value; a derived value takes
/// the latest of its sources'.
fn dates(schema: &Schema, vault: &Vault, index: usize) -> Option<(Stamp, Stamp)> {
    let var = &schema.variables()[index];
    let sources = if var.kind.is_stored() {
        vec![index]
    } else {
        schema.sources(index)
    };
    let entries: Vec<_> = sources
        .iter()
        .filter_map(|&i| vault.variables.get(&schema.variables()[i].name))
        .collect();
    if entries.len() < sources.len() {
        return None;
    }
    let created = entries.iter().map(|e| e.created).max()?;
    let rotated = entries.iter().map(|e| e.rotated).max()?;
    Some((created, rotated))
}
