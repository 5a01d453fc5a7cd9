//! `envgen merge-driver BASE OURS THEIRS [PATH]`, the git merge driver for vaults, and
//! `envgen git setup`, which installs it. The merge itself is [`crate::vault::merge`].

use std::io::Write;
use std::path::{Path, PathBuf};

use super::env::ProcessEnv;
use super::{discover_identities, emit, git, note};
use crate::cli::MergeDriverArgs;
use crate::error::{Error, Result};
use crate::vault::Vault;
use crate::vault::keys::{Identities, read_recipients_file, recipients_file_text};
use crate::vault::merge::{Outcome, merge, merge_recipients};
use crate::vault::store::VaultFiles;

/// The `.gitattributes` attributes of vault files.
const ATTRIBUTES: &str = "merge=envgen diff=envgen";

pub(super) fn run(
    args: &MergeDriverArgs,
    identity_flags: &[PathBuf],
    env: &ProcessEnv,
    err: &mut dyn Write,
) -> Result<()> {
    let shown = args.path.clone().unwrap_or_else(|| args.ours.clone());
    if args.recipients {
        return recipients(args, &shown, err);
    }
    let identities = Identities::load(
        &discover_identities(env, identity_flags, None)?,
        super::prompt::terminal(),
    )?;
    let open = |path: &Path| -> Result<Vault> {
        let bytes = crate::files::read_capped(path, crate::files::limits::VAULT)
            .map_err(|e| Error::io("read", path, e))?;
        Vault::decrypt(&bytes, &identities.keys, &identities.describe(), &shown)
    };
    let (base, ours, theirs) = (open(&args.base)?, open(&args.ours)?, open(&args.theirs)?);
    match merge(&base, &ours, &theirs) {
        Outcome::Conflict { variables } => Err(Error::MergeConflict {
            path: shown,
            variables,
        }),
        Outcome::Unrelated { side } => Err(Error::MergeUnrelated { path: shown, side }),
        Outcome::TwoNewLineages => Err(Error::MergeTwoLineages { path: shown }),
        Outcome::Merged { mut vault, notes } => {
            let taken: Vec<&str> = vault
                .variables
                .iter()
                .filter(|(name, entry)| {
                    ours.variables.get(*name).is_none_or(|o| {
                        use secrecy::ExposeSecret;
                        o.value.expose_secret() != entry.value.expose_secret()
                    })
                })
                .map(|(name, _)| name.as_str())
                .collect();
            let from = if taken.is_empty() {
                "nothing changed on the other branch".to_string()
            } else {
                format!("from the other branch: {}", taken.join(", "))
            };
            vault.save(&VaultFiles::new(args.ours.clone()))?;
            note(
                err,
                &format!(
                    "envgen: merged {} per variable (generation {}); {from}",
                    shown.display(),
                    vault.generation
                ),
            );
            for text in notes {
                note(err, &format!("envgen: note: {text}"));
            }
            Ok(())
        }
    }
}

/// `merge-driver --recipients`: the public recipients file, merged like the vault's list.
fn recipients(args: &MergeDriverArgs, shown: &Path, err: &mut dyn Write) -> Result<()> {
    let read = |path: &Path| {
        read_recipients_file(path).or_else(|e| match e {
            Error::RecipientsEmpty { .. } => Ok(Vec::new()),
            e => Err(e),
        })
    };
    let (base, ours, theirs) = (read(&args.base)?, read(&args.ours)?, read(&args.theirs)?);
    let (merged, removed) = merge_recipients(&base, &ours, &theirs);
    let text = recipients_file_text(&merged);
    crate::files::write_atomic(
        &args.ours,
        text.as_bytes(),
        0o644,
        crate::files::Existing::Replace,
    )?;
    note(
        err,
        &format!(
            "envgen: merged {} ({} recipient(s))",
            shown.display(),
            merged.len()
        ),
    );
    for key in removed {
        note(
            err,
            &format!("envgen: note: {key} was removed on one side and stays removed"),
        );
    }
    Ok(())
}

/// `envgen git setup`: the attributes of the vault files and this repository's config.
pub(super) fn setup(vault: Option<&Path>, out: &mut dyn Write) -> Result<()> {
    let here = Path::new(".");
    let top = PathBuf::from(git::text(
        here,
        &["rev-parse", "--show-toplevel"],
        "find the git repository",
    )?);
    // The vault directory, relative to the top of the work tree.
    let dir = vault
        .and_then(Path::parent)
        .filter(|p| !p.as_os_str().is_empty())
        .map(Path::to_path_buf)
        .unwrap_or_else(|| PathBuf::from("vault"));
    let absolute = std::path::absolute(&dir).unwrap_or(dir.clone());
    let top_real = top.canonicalize().unwrap_or(top.clone());
    let absolute = absolute
        .parent()
        .and_then(|p| p.canonicalize().ok())
        .map(|p| p.join(absolute.file_name().unwrap_or_default()))
        .unwrap_or(absolute);
    let relative = absolute.strip_prefix(&top_real).unwrap_or(&dir);
    let lines = [
        format!("{}/*.age {ATTRIBUTES}", relative.display()),
        format!(
            "{}/*.recipients merge=envgen-recipients",
            relative.display()
        ),
    ];
    let mut report = String::new();

    let attributes = top.join(".gitattributes");
    let existing = match std::fs::read_to_string(&attributes) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => String::new(),
        Err(e) => return Err(Error::io("read", &attributes, e)),
    };
    let mut text = existing.clone();
    for line in &lines {
        if existing.lines().any(|l| l.trim() == line) {
            report.push_str(&format!("{} already has: {line}\n", attributes.display()));
            continue;
        }
        if !text.is_empty() && !text.ends_with('\n') {
            text.push('\n');
        }
        text.push_str(line);
        text.push('\n');
        report.push_str(&format!(
            "{}: added `{line}` (commit it, so the whole team merges vaults per variable)\n",
            attributes.display()
        ));
    }
    if text != existing {
        crate::files::write_atomic(
            &attributes,
            text.as_bytes(),
            0o644,
            crate::files::Existing::Replace,
        )?;
    }
    for (key, value) in [
        ("merge.envgen.name", "envgen: per-variable merge of vaults"),
        ("merge.envgen.driver", "envgen merge-driver %O %A %B %P"),
        (
            "merge.envgen-recipients.name",
            "envgen: merge of recipients files",
        ),
        (
            "merge.envgen-recipients.driver",
            "envgen merge-driver --recipients %O %A %B %P",
        ),
        ("diff.envgen.textconv", "envgen textconv"),
    ] {
        let current = git::output(
            here,
            &["config", "--local", "--get", key],
            "read the git config",
        )
        .map(|v| String::from_utf8_lossy(&v).trim_end().to_string())
        .unwrap_or_default();
        if current == value {
            report.push_str(&format!("git config {key} already set\n"));
            continue;
        }
        git::output(
            here,
            &["config", "--local", key, value],
            "write the git config",
        )?;
        report.push_str(&format!("git config {key} = {value}\n"));
    }
    report.push_str("every clone runs `envgen git setup` once (git config is not committed); envgen must be on PATH\n");
    emit(out, report.as_bytes())
}
