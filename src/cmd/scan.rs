//! `envgen scan [PATH...] [--git] [--staged] [--install-hook]`: where do the vault's values
//! appear outside it? The matcher is [`crate::scan`]; this command gathers the values, walks
//! the files, and drives git for the history and the staged files.

use std::io::Write;
use std::path::{Path, PathBuf};

use secrecy::ExposeSecret;
use zeroize::Zeroizing;

use super::{Context, Status, emit, git, note};
use crate::cli::ScanArgs;
use crate::error::{Error, Result};
use crate::files::{Existing, write_atomic};
use crate::scan::{Hit, Needle, Scanner, is_binary, walk};

pub(super) fn run(
    ctx: &Context,
    args: &ScanArgs,
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> Result<Status> {
    if args.install_hook {
        return install_hook(ctx, args.force, err).map(|()| Status::Ok);
    }
    let (scanner, short) = Scanner::new(needles(ctx)?);
    if !short.is_empty() {
        note(
            err,
            &format!(
                "not searched (shorter than {} bytes, they would match by chance): {}",
                crate::scan::MIN_LEN,
                short.join(", ")
            ),
        );
    }
    let mut report = String::new();
    let mut searched = 0usize;
    let here = Path::new(".");
    if args.staged {
        searched += staged(&scanner, here, &mut report)?;
    } else {
        let paths = if args.paths.is_empty() {
            vec![PathBuf::from(".")]
        } else {
            args.paths.clone()
        };
        let (files, problems) = walk(&paths);
        for problem in problems {
            note(err, &format!("warning: {problem}"));
        }
        for file in files {
            let content = match crate::files::read_capped(&file, git::MAX_BLOB) {
                Ok(content) => content,
                Err(e) => {
                    note(err, &format!("warning: skipped {}: {e}", file.display()));
                    continue;
                }
            };
            if is_binary(&content) {
                continue;
            }
            searched += 1;
            let shown = file
                .strip_prefix("./")
                .unwrap_or(&file)
                .display()
                .to_string();
            push_hits(&mut report, &shown, scanner.scan(&content));
        }
        if args.git {
            searched += history(&scanner, here, &mut report)?;
        }
    }
    emit(out, report.as_bytes())?;
    let (values, patterns) = scanner.counts();
    let found = report.lines().count();
    note(
        err,
        &format!(
            "searched {searched} file(s) for {values} value(s) in {patterns} form(s): {}",
            match found {
                0 => "none found".to_string(),
                n => format!(
                    "{n} found; rotate each value found, then remove it from the file (and from the history, if committed)"
                ),
            }
        ),
    );
    Ok(if found == 0 {
        Status::Ok
    } else {
        Status::Problem
    })
}

/// `where:line: NAME (what, form)` for each hit.
fn push_hits(report: &mut String, place: &str, hits: Vec<Hit>) {
    for hit in hits {
        let what = if hit.what == "value" {
            String::new()
        } else {
            format!("{}, ", hit.what)
        };
        report.push_str(&format!(
            "{}:{}: {} ({what}{})\n",
            super::printable(place),
            hit.line,
            hit.name,
            hit.form
        ));
    }
}

/// Every secret the vault holds and every value built from one: current and previous
/// values and hashes of the generated variables, and the current derived values that use
/// them. Fixed values are not secret and are not searched.
fn needles(ctx: &Context) -> Result<Vec<Needle>> {
    let vault = ctx.open()?.vault;
    let schema = &ctx.schema;
    let bytes = |s: &str| Zeroizing::new(s.as_bytes().to_vec());
    let mut needles = Vec::new();
    let mut push = |name: &str, what: &'static str, value: &str| {
        needles.push(Needle {
            name: name.into(),
            what,
            value: bytes(value),
        })
    };
    for var in schema.variables() {
        if var.kind.generator().is_none() {
            continue;
        }
        let Some(entry) = vault.variables.get(&var.name) else {
            continue;
        };
        push(&var.name, "value", entry.value.expose_secret());
        if let Some(hash) = &entry.hash {
            push(&var.name, "hash", hash.expose_secret());
        }
        for version in &entry.history {
            push(&var.name, "previous value", version.value.expose_secret());
            if let Some(hash) = &version.hash {
                push(&var.name, "previous hash", hash.expose_secret());
            }
        }
    }
    // Derived values that carry a secret; none when the vault lacks a value they need.
    let derived: Vec<usize> = (0..schema.variables().len())
        .filter(|&i| {
            !schema.variables()[i].kind.is_stored()
                && schema
                    .sources(i)
                    .iter()
                    .any(|&s| schema.variables()[s].kind.generator().is_some())
        })
        .collect();
    if let Ok(values) = crate::resolve::resolve(schema, &vault, &ctx.files.vault, &derived) {
        for &i in &derived {
            push(&schema.variables()[i].name, "derived value", values.get(i));
        }
    }
    Ok(needles)
}

/// Every blob in the history of the repository at `dir` (all refs), each reported under the
/// commit that first added it and its path there. Returns how many were searched.
fn history(scanner: &Scanner, dir: &Path, report: &mut String) -> Result<usize> {
    let listing = git::output(
        dir,
        &[
            "rev-list",
            "--all",
            "--objects",
            "--filter=object:type=blob",
        ],
        "list the blobs of the history",
    )?;
    let mut oids: Vec<Vec<u8>> = Vec::new();
    let mut paths: Vec<String> = Vec::new();
    for line in listing.split(|&b| b == b'\n').filter(|l| !l.is_empty()) {
        let (oid, path) = match line.iter().position(|&b| b == b' ') {
            Some(space) => (&line[..space], &line[space + 1..]),
            None => continue, // a commit (or a blob without a path)
        };
        oids.push(oid.to_vec());
        paths.push(String::from_utf8_lossy(path).into_owned());
    }
    let mut searched = 0;
    let mut found: Vec<(usize, Vec<Hit>)> = Vec::new();
    git::cat_blobs(dir, &oids, |i, content| {
        if is_binary(content) {
            return;
        }
        searched += 1;
        let hits = scanner.scan(content);
        if !hits.is_empty() {
            found.push((i, hits));
        }
    })?;
    for (i, hits) in found {
        let oid = String::from_utf8_lossy(&oids[i]).into_owned();
        let find = format!("--find-object={oid}");
        let commits = git::text(
            dir,
            &["log", "--all", "--reverse", "--format=%h", &find],
            "find the commit that added a blob",
        )?;
        let commit = commits.lines().next().unwrap_or(&oid[..12.min(oid.len())]);
        push_hits(report, &format!("{commit}:{}", paths[i]), hits);
    }
    Ok(searched)
}

/// The staged version of every staged file (added, copied, modified or renamed).
fn staged(scanner: &Scanner, dir: &Path, report: &mut String) -> Result<usize> {
    let listing = git::output(
        dir,
        &[
            "diff",
            "--cached",
            "--name-only",
            "-z",
            "--diff-filter=ACMR",
        ],
        "list the staged files",
    )?;
    let names: Vec<&[u8]> = listing
        .split(|&b| b == 0)
        .filter(|n| !n.is_empty())
        .collect();
    // `git cat-file --batch` reads one name per line: a name holding a newline goes through
    // `git show` on its own.
    let (batch, odd): (Vec<&[u8]>, Vec<&[u8]>) = names.iter().partition(|n| !n.contains(&b'\n'));
    let specs: Vec<Vec<u8>> = batch.iter().map(|n| [b":", *n].concat()).collect();
    let mut searched = 0;
    git::cat_blobs(dir, &specs, |i, content| {
        if is_binary(content) {
            return;
        }
        searched += 1;
        push_hits(
            report,
            &String::from_utf8_lossy(batch[i]),
            scanner.scan(content),
        );
    })?;
    for name in odd {
        let name = String::from_utf8_lossy(name).into_owned();
        let spec = format!(":{name}");
        let content = git::output(dir, &["show", &spec], "read a staged file")?;
        if !is_binary(&content) {
            searched += 1;
            push_hits(report, &name, scanner.scan(&content));
        }
    }
    Ok(searched)
}

/// The pre-commit hook's text: `envgen scan --staged` with this schema and vault.
fn hook_text(ctx: &Context) -> String {
    let quote = |s: &str| format!("'{}'", s.replace('\'', "'\\''"));
    let program = std::env::current_exe()
        .ok()
        .filter(|p| p.is_absolute())
        .map(|p| p.to_string_lossy().into_owned())
        .unwrap_or_else(|| "envgen".into());
    format!(
        "#!/bin/sh\n\
         # envgen pre-commit hook (installed by `envgen scan --install-hook`): refuses a commit\n\
         # whose staged files hold a value of the vault, in any form envgen knows.\n\
         # Skip it once with `git commit --no-verify`.\n\
         exec {} --schema {} --vault {} scan --staged\n",
        quote(&program),
        quote(&ctx.schema.path.to_string_lossy()),
        quote(&ctx.files.vault.to_string_lossy()),
    )
}

/// Writes the repository's pre-commit hook (mode 0755); another hook is kept unless forced.
fn install_hook(ctx: &Context, force: bool, err: &mut dyn Write) -> Result<()> {
    let here = Path::new(".");
    let hooks = PathBuf::from(git::text(
        here,
        &["rev-parse", "--git-path", "hooks"],
        "find the hooks directory",
    )?);
    let path = hooks.join("pre-commit");
    let text = hook_text(ctx);
    match std::fs::read(&path) {
        Ok(existing) if existing == text.as_bytes() => {
            note(err, &format!("{} is already installed", path.display()));
            return Ok(());
        }
        Ok(existing) if !force && !is_ours(&existing) => {
            return Err(Error::HookExists { path });
        }
        _ => {}
    }
    write_atomic(&path, text.as_bytes(), 0o755, Existing::Replace)?;
    note(
        err,
        &format!(
            "installed {}: every commit's staged files are searched for the vault's values (skip once with git commit --no-verify)",
            path.display()
        ),
    );
    Ok(())
}

/// Whether a hook file is one envgen wrote (an older version of it, say).
fn is_ours(hook: &[u8]) -> bool {
    hook.starts_with(b"#!/bin/sh\n# envgen pre-commit hook")
}
