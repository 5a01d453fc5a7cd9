//! `envgen compose secrets`: a compose override file that hands each service the schema
//! variables it uses as compose secrets (files under /run/secrets, from
//! `render --format files`), and takes them out of the environment where the image can read
//! them from a file instead.
//!
//! For a service whose image the catalogue knows, an `environment:` entry whose whole value is
//! one variable (`KEY: ${NAME}`) and whose catalogue entry has a `file` variable
//! (`POSTGRES_PASSWORD_FILE`) becomes `KEY_FILE: /run/secrets/NAME`, and `KEY` is removed with
//! compose's `!reset`, so the value is no longer in the container's environment (where
//! `docker inspect` and every child process see it). Other variables stay in the environment:
//! the image documents no other way to read them. The file holds names and paths only.

use std::collections::BTreeMap;
use std::io::Write;

use super::{Context, note};
use crate::catalogue::Catalogue;
use crate::cli::{ComposeCommand, ComposeSecretsArgs};
use crate::compose::{read_tree, services, sole_reference};
use crate::error::{Error, Result};
use crate::files::{Existing, write_atomic};

pub(super) fn run(ctx: &Context, command: &ComposeCommand, err: &mut dyn Write) -> Result<()> {
    match command {
        ComposeCommand::Secrets(args) => secrets(ctx, args, err),
    }
}

#[derive(Default)]
struct Plan {
    /// The variables mounted as secrets.
    secrets: Vec<String>,
    /// `(KEY, KEY_FILE, NAME)`: KEY is removed, KEY_FILE points at NAME's file.
    files: Vec<(String, String, String)>,
}

fn q(text: &str) -> String {
    serde_json::to_string(text).expect("a string serializes")
}

fn secrets(ctx: &Context, args: &ComposeSecretsArgs, err: &mut dyn Write) -> Result<()> {
    let catalogue = Catalogue::load().map_err(|e| Error::Catalogue {
        id: e.id,
        message: e.message,
    })?;
    let mut plans: BTreeMap<String, Plan> = BTreeMap::new();
    let mut order: Vec<String> = Vec::new();
    for file in &args.compose {
        let root = read_tree(file)?;
        for service in services(&root) {
            let known: Vec<&String> = service
                .references
                .iter()
                .filter(|r| ctx.schema.position(r).is_some())
                .collect();
            if known.is_empty() {
                continue;
            }
            if !order.contains(&service.name) {
                order.push(service.name.clone());
            }
            let plan = plans.entry(service.name.clone()).or_default();
            for name in known {
                if !plan.secrets.contains(name) {
                    plan.secrets.push(name.clone());
                }
            }
            let image = service.image.as_deref().unwrap_or_default();
            let Some(entry_of) = catalogue.match_image(image) else {
                continue;
            };
            for (key, value) in &service.environment {
                let Some(name) = sole_reference(value) else {
                    continue;
                };
                let file_var = entry_of.entry(key).and_then(|e| e.file.clone());
                if let Some(file_var) = file_var
                    && ctx.schema.position(name).is_some()
                    && !plan.files.iter().any(|f| &f.0 == key)
                {
                    plan.files.push((key.clone(), file_var, name.to_string()));
                }
            }
        }
    }
    let mut text = format!(
        "# Written by `envgen compose secrets` from {}: names and paths only, no value.\n\
         # Use it as the last -f, after `envgen render --format files --output {}`.\n",
        args.compose
            .iter()
            .map(|f| f.display().to_string())
            .collect::<Vec<_>>()
            .join(", "),
        args.files.display()
    );
    let mut all: Vec<&String> = Vec::new();
    text.push_str("services:\n");
    if order.is_empty() {
        text.truncate(text.len() - 1);
        text.push_str(" {}\n");
    }
    for name in &order {
        let plan = &plans[name];
        text.push_str(&format!("  {}:\n    secrets:\n", q(name)));
        for secret in &plan.secrets {
            text.push_str(&format!("      - {}\n", q(secret)));
            if !all.contains(&secret) {
                all.push(secret);
            }
        }
        if !plan.files.is_empty() {
            text.push_str("    environment:\n");
            for (key, file_var, secret) in &plan.files {
                text.push_str(&format!(
                    "      {}: {}\n      {}: !reset null\n",
                    q(file_var),
                    q(&format!("/run/secrets/{secret}")),
                    q(key)
                ));
            }
        }
    }
    if !all.is_empty() {
        text.push_str("secrets:\n");
        for secret in &all {
            let path = args.files.join(secret.as_str());
            text.push_str(&format!(
                "  {}:\n    file: {}\n",
                q(secret),
                q(&path.to_string_lossy())
            ));
        }
    }
    let existing = match args.force {
        true => Existing::Replace,
        false => Existing::Keep,
    };
    write_atomic(&args.output, text.as_bytes(), 0o644, existing)?;
    let moved: Vec<String> = order
        .iter()
        .flat_map(|s| {
            plans[s]
                .files
                .iter()
                .map(move |(k, f, _)| format!("{s}: {k} -> {f}"))
        })
        .collect();
    note(
        err,
        &format!(
            "wrote {}: {} secrets for {} services",
            args.output.display(),
            all.len(),
            order.len()
        ),
    );
    if !moved.is_empty() {
        note(
            err,
            &format!(
                "read from files instead of the environment: {}",
                moved.join(", ")
            ),
        );
    }
    let only: Vec<&str> = all.iter().map(|s| s.as_str()).collect();
    note(
        err,
        &format!(
            "next: envgen render --format files --output {} --only {}",
            args.files.display(),
            only.join(",")
        ),
    );
    Ok(())
}
