//! Every committed fuzz seed, and every minimized crash kept with them, through the checks
//! of its fuzz target (`fuzz/src/lib.rs`, included here as it is), so a stable toolchain
//! without libFuzzer exercises them too. `scripts/fuzz` runs the targets themselves.

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::{Path, PathBuf};

#[path = "../../fuzz/src/lib.rs"]
mod checks;

fn files(dir: &Path) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|entry| entry.unwrap().path())
        .filter(|path| path.is_file())
        .collect();
    files.sort();
    files
}

/// Runs `check` on every file of `fuzz/<dir>/<target>/`, naming the ones that panic.
fn replay(dir: &str, target: &str, check: fn(&[u8])) -> usize {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz").join(dir);
    let files = files(&root.join(target));
    let failed: Vec<String> = files
        .iter()
        .filter(|path| {
            let bytes = std::fs::read(path).unwrap();
            catch_unwind(AssertUnwindSafe(|| check(&bytes))).is_err()
        })
        .map(|path| path.display().to_string())
        .collect();
    assert!(failed.is_empty(), "{target} panics on {failed:#?}");
    files.len()
}

fn seeds(target: &str, check: fn(&[u8])) {
    let count = replay("corpus", target, check);
    assert!(count >= 5, "fuzz/corpus/{target} has only {count} files");
}

#[test]
fn schema_corpus() {
    seeds("schema", checks::schema);
}

#[test]
fn dotenv_corpus() {
    seeds("dotenv", checks::dotenv);
}

#[test]
fn vault_plaintext_corpus() {
    seeds("vault_plaintext", checks::vault_plaintext);
}

#[test]
fn recipients_corpus() {
    seeds("recipients", checks::recipients);
}

#[test]
fn compose_corpus() {
    seeds("compose", checks::compose);
}
