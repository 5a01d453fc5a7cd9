//! Branches on one machine: a vault older than the newest one seen here is accepted when git
//! itself checked it out.
//!
//! The rule: the file's bytes are exactly the blob committed at `HEAD` for its path in the
//! enclosing repository (`git hash-object` equals `git rev-parse HEAD:path`), **and** the
//! newest version seen here (its lineage, at the pinned generation or later) is in that
//! path's history on some ref. A file swapped in behind git's back differs from `HEAD`'s
//! blob; a repository that never held the newest version (an old clone, a copied
//! directory) does not pass the second test, **and** that newer version is not an ancestor
//! of `HEAD`: an old vault committed on top of the newer one (then pulled) is a rollback,
//! not a branch, and stays refused. What it cannot tell apart: someone who can move `HEAD`
//! itself (`git reset --hard` to an old commit) rolls back as easily as git does.
//! SECURITY.md weighs this.

use std::path::Path;

use super::{Context, git};

/// Whether `path` (whose bytes are `ciphertext`) is the version committed at `HEAD` and the
/// history of its path holds a vault of `lineage` at generation `seen` or later.
pub(super) fn committed_in_history(
    ctx: &Context,
    path: &Path,
    ciphertext: &[u8],
    lineage: &str,
    seen: u64,
) -> bool {
    let dir = crate::files::parent_dir(path);
    let Some(name) = path.file_name().and_then(|n| n.to_str()) else {
        return false;
    };
    let Ok(full) = git::text(
        dir,
        &["ls-files", "--full-name", "--", name],
        "find the vault in git",
    ) else {
        return false;
    };
    let Some(full) = full.lines().next().filter(|l| !l.is_empty()) else {
        return false; // not tracked
    };
    let head = format!("HEAD:{full}");
    let Ok(committed) = git::text(
        dir,
        &["rev-parse", "--verify", "--quiet", &head],
        "read HEAD",
    ) else {
        return false;
    };
    // The bytes read and checked are the ones compared: hash them, not the file again.
    let Ok(on_disk) = hash_object(dir, ciphertext) else {
        return false;
    };
    if committed != on_disk {
        return false;
    }
    let Ok(commits) = git::text(
        dir,
        &["log", "--all", "--format=%H", "--", name],
        "list the vault's history",
    ) else {
        return false;
    };
    let specs: Vec<Vec<u8>> = commits
        .lines()
        .map(|c| format!("{c}:{full}").into_bytes())
        .collect();
    let commits: Vec<&str> = commits.lines().collect();
    let mut found = None;
    let result = git::cat_blobs(dir, &specs, |i, blob| {
        if found.is_some() {
            return;
        }
        if let Ok(opened) = ctx.decrypt(blob, path)
            && opened.vault.lineage_hash() == lineage
            && opened.vault.generation >= seen
        {
            found = Some(commits[i]);
        }
    });
    let Some(newer) = found.filter(|_| result.is_ok()) else {
        return false;
    };
    // The newer version must be on another line of history, not behind HEAD: committing an
    // old vault on top of the newer one (and pulling it) is a rollback, not a branch.
    let behind_head = git::output(
        dir,
        &["merge-base", "--is-ancestor", newer, "HEAD"],
        "compare the vault's history with HEAD",
    )
    .is_ok();
    !behind_head
}

/// `git hash-object --stdin` of `bytes`.
fn hash_object(dir: &Path, bytes: &[u8]) -> std::io::Result<String> {
    use std::io::Write;
    let mut child = std::process::Command::new("git")
        .arg("-C")
        .arg(dir)
        .args(["hash-object", "--stdin"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()?;
    let mut stdin = child.stdin.take().expect("piped");
    let input = bytes.to_vec();
    let writer = std::thread::spawn(move || stdin.write_all(&input));
    let out = child.wait_with_output()?;
    let _ = writer.join();
    Ok(String::from_utf8_lossy(&out.stdout).trim().to_string())
}
