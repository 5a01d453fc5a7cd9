//! What each fuzz target checks on one input, as plain functions of the input bytes.
//!
//! `fuzz_targets/*.rs` hand libFuzzer's inputs to these; the stable test suite includes this
//! file (`tests/integration/fuzz_corpus.rs`) and runs every committed corpus file through the
//! same functions, so a toolchain without libFuzzer still exercises the seeds and every
//! minimized crash kept there.
//!
//! Each parser must return, never panic, on any input, and its result must keep the
//! promises its callers rely on: lines are 1-based and inside the file, error messages can be
//! formatted. The parsers take text; inputs that are not UTF-8 are refused by their callers
//! before the parser runs (`read_to_string`, `from_utf8`), so they are skipped here, except for
//! the vault plaintext, which is parsed from bytes.

use std::path::Path;

use envgen::error::Error;

/// Lines of `text` as a parser that accepts `\n`, `\r\n` and a lone `\r` could count them.
fn max_lines(text: &str) -> usize {
    1 + text.matches(['\n', '\r']).count()
}

/// The schema TOML: `Schema::parse`, and the message of any error.
///
/// Then the slice `get` and `exec --only` read, for the first one or two names the text
/// spells `name = "..."`: whenever the full parse succeeds, it succeeds too and holds each of
/// its variables as the full parse does.
pub fn schema(data: &[u8]) {
    use envgen::schema::Schema;
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let path = Path::new("fuzz.toml");
    let full = Schema::parse(text, path);
    if let Err(e) = &full {
        let _ = e.to_string();
    }
    // The first one or two names the text gives (two when its length is even).
    let mut wanted: Vec<&str> = (text.split("name = \"").skip(1))
        .filter_map(|rest| rest.split('"').next())
        .take(1 + usize::from(text.len() % 2 == 0))
        .collect();
    if wanted.is_empty() {
        wanted.push("A");
    }
    let sliced = Schema::parse_slice(text, path, &wanted);
    match (&full, &sliced) {
        (Ok(full), Ok(sliced)) => {
            for v in sliced.variables() {
                let same = full.position(&v.name).map(|i| &full.variables()[i]);
                assert_eq!(same.map(|f| format!("{f:?}")), Some(format!("{v:?}")));
            }
            // Nothing the wanted names read is missing from the slice.
            let found: Option<Vec<usize>> = wanted.iter().map(|n| full.position(n)).collect();
            if let Some(indices) = found {
                let needed = full.closure(&indices);
                for (v, _) in full.variables().iter().zip(needed).filter(|(_, n)| *n) {
                    assert!(sliced.position(&v.name).is_some(), "{} left out", v.name);
                }
            }
        }
        (Ok(_), Err(e)) => panic!("the full parse succeeds, the slice fails: {e}"),
        (Err(_), Err(e)) => {
            let _ = e.to_string();
        }
        (Err(_), Ok(_)) => {}
    }
}

/// The `.env` reader of `import` and `diff`: every line it reports is in the file.
pub fn dotenv(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let lines = text.split('\n').count();
    match envgen::dotenv::parse(text) {
        Ok(assignments) => {
            for a in &assignments {
                assert!(
                    (1..=lines).contains(&a.line),
                    "assignment at line {} of {lines}",
                    a.line
                );
            }
        }
        Err(e) => assert!(
            (1..=lines).contains(&e.line),
            "error at line {} of {lines}",
            e.line
        ),
    }
}

/// The decrypted vault: `Vault::from_plaintext`, its `Debug`, and the message of any error.
pub fn vault_plaintext(data: &[u8]) {
    match envgen::vault::Vault::from_plaintext(data, Path::new("fuzz.age")) {
        Ok(vault) => {
            let _ = format!("{vault:?}");
        }
        Err(e) => {
            let _ = e.to_string();
        }
    }
}

/// The recipients file: a list that is never empty, each key parsing again as written, or
/// an error naming `file:line`.
pub fn recipients(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let path = Path::new("fuzz.recipients");
    match envgen::vault::keys::parse_recipients(text, path) {
        Ok(list) => {
            assert!(!list.is_empty(), "an empty list was accepted");
            envgen::vault::keys::to_age_recipients(&list)
                .expect("every recipient the file gave parses again");
        }
        Err(Error::RecipientInvalid { origin }) => {
            assert!(origin.starts_with("fuzz.recipients:"), "origin {origin:?}");
        }
        Err(Error::RecipientsEmpty { .. }) => {}
        Err(other) => panic!("unexpected error: {other}"),
    }
}

/// The compose file: every reference names a variable, on a line of the file; the same for
/// the interpolation scanner run over the whole text.
pub fn compose(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let lines = max_lines(text);
    let is_name = |name: &str| {
        name.starts_with(|c: char| c.is_ascii_alphabetic() || c == '_')
            && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
    };
    match envgen::compose::scan_text(text, Path::new("compose.yml")) {
        Ok(references) => {
            for r in &references {
                assert!(is_name(&r.name), "reference to {:?}", r.name);
                assert!(
                    (1..=lines).contains(&r.line),
                    "reference at line {} of {lines}",
                    r.line
                );
            }
        }
        Err(e) => {
            let _ = e.to_string();
        }
    }
    for (name, offset, _) in envgen::compose::references(text) {
        assert!(is_name(&name), "reference to {name:?}");
        assert!(
            text[offset..].starts_with('$'),
            "offset {offset} is not a `$`"
        );
    }
}
