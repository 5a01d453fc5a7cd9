//! Running the git binary: the plumbing `scan`, `git setup`, the merge driver and the pin
//! check of checked-out vaults need. Only commands spawn processes; library modules are
//! given what git printed.

use std::io::{BufRead, BufReader, Read, Write};
use std::path::Path;
use std::process::{Command, Stdio};

use crate::error::{Error, Result};

/// The largest blob read whole; bigger ones are skipped.
pub(super) const MAX_BLOB: u64 = 64 << 20;

/// A git command in `dir`, with a stable, English, colourless output.
fn git(dir: &Path) -> Command {
    let mut command = Command::new("git");
    command
        .arg("-C")
        .arg(dir)
        .env("LC_ALL", "C")
        .env("GIT_TERMINAL_PROMPT", "0");
    command
}

fn failure(action: &'static str, args: &[&str], dir: &Path, detail: String) -> Error {
    Error::Git {
        action,
        args: args.join(" "),
        dir: dir.to_path_buf(),
        detail,
    }
}

/// Runs `git args` in `dir` and returns its standard output; a failure names the command
/// and git's first line of error output.
pub(super) fn output(dir: &Path, args: &[&str], action: &'static str) -> Result<Vec<u8>> {
    let out = git(dir)
        .args(args)
        .stdin(Stdio::null())
        .output()
        .map_err(|e| failure(action, args, dir, e.to_string()))?;
    if !out.status.success() {
        let stderr = String::from_utf8_lossy(&out.stderr);
        let detail = stderr
            .lines()
            .find(|l| !l.trim().is_empty())
            .map(|l| l.trim().to_string())
            .unwrap_or_else(|| out.status.to_string());
        return Err(failure(action, args, dir, detail));
    }
    Ok(out.stdout)
}

/// Like [`output`], as text without the final newline.
pub(super) fn text(dir: &Path, args: &[&str], action: &'static str) -> Result<String> {
    let out = output(dir, args, action)?;
    Ok(String::from_utf8_lossy(&out).trim_end_matches('\n').into())
}

/// Reads objects through one `git cat-file --batch`: each of `specs` (an object name or
/// `:path` for the staged version) is handed to `each` with its index and content; missing
/// objects, non-blobs and blobs above [`MAX_BLOB`] are skipped.
pub(super) fn cat_blobs(
    dir: &Path,
    specs: &[Vec<u8>],
    mut each: impl FnMut(usize, &[u8]),
) -> Result<()> {
    const ARGS: &[&str] = &["cat-file", "--batch"];
    let action = "read objects from the repository";
    let mut child = git(dir)
        .args(ARGS)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| failure(action, ARGS, dir, e.to_string()))?;
    let mut stdin = child.stdin.take().expect("piped");
    let input: Vec<u8> = specs
        .iter()
        .flat_map(|s| s.iter().chain(b"\n"))
        .copied()
        .collect();
    // Written from another thread: git answers while it reads, and both pipes are bounded.
    let writer = std::thread::spawn(move || {
        let _ = stdin.write_all(&input);
    });
    let mut reader = BufReader::with_capacity(1 << 16, child.stdout.take().expect("piped"));
    let mut header = Vec::new();
    let mut content = Vec::new();
    let broken = |e: std::io::Error| failure(action, ARGS, dir, e.to_string());
    for index in 0..specs.len() {
        header.clear();
        if reader.read_until(b'\n', &mut header).map_err(broken)? == 0 {
            break;
        }
        let line = String::from_utf8_lossy(&header);
        let fields: Vec<&str> = line.split_whitespace().collect();
        // "<name> missing" (or "ambiguous"), else "<oid> <type> <size>".
        let [_, kind, size] = fields[..] else {
            continue;
        };
        let size: u64 = size
            .parse()
            .map_err(|_| failure(action, ARGS, dir, format!("unexpected output {line:?}")))?;
        if kind == "blob" && size <= MAX_BLOB {
            content.clear();
            content.reserve(size as usize);
            (&mut reader)
                .take(size)
                .read_to_end(&mut content)
                .map_err(broken)?;
            each(index, &content);
        } else {
            std::io::copy(&mut (&mut reader).take(size), &mut std::io::sink()).map_err(broken)?;
        }
        let mut newline = [0u8; 1];
        reader.read_exact(&mut newline).map_err(broken)?;
    }
    let _ = writer.join();
    let status = child.wait().map_err(broken)?;
    if !status.success() {
        let mut stderr = String::new();
        if let Some(mut e) = child.stderr.take() {
            let _ = e.read_to_string(&mut stderr);
        }
        let detail = stderr.lines().next().unwrap_or("failed").to_string();
        return Err(failure(action, ARGS, dir, detail));
    }
    Ok(())
}
