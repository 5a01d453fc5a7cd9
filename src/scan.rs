//! Looking for the vault's values where they must not be: files, staged changes, git history.
//!
//! A leak scanner built on regular expressions finds what looks like a secret; this one
//! looks for the **actual** values (current and previous, hashes, derived values) in the
//! forms they take when pasted around: as they are, base64 (standard and URL-safe, with and
//! without padding, and wrapped as `base64` and `openssl base64` wrap it), hex (either
//! case), percent-encoded as `${NAME|url}` writes them, and JSON-escaped. A value that
//! matches no pattern is still found; a value that merely looks random is never reported.
//!
//! Every form of every value goes into one Aho-Corasick automaton, so a file is read once
//! whatever the number of values. The automaton matches ASCII case-insensitively (hex is
//! case-insensitive) and every other form is then confirmed byte for byte. Values shorter
//! than [`MIN_LEN`] bytes would match by chance and are left out (the caller says so).
//!
//! The patterns are kept in buffers wiped on drop, but the automaton holds its own copy of
//! them, which cannot be wiped: the process must be trusted while it runs (SECURITY.md).
//! A hit names the file, the line, the variable and the form, never the value.
//!
//! Walking a tree ([`walk`]) follows ripgrep's rules through its `ignore` crate: `.gitignore`,
//! `.ignore` and git's exclude files are respected and `.git` is skipped; hidden files are
//! searched (a stray `.env` is the classic leak). Binary content (a NUL byte in its first
//! 8 KiB, git's own test) is skipped. This module spawns no process: the git plumbing lives
//! in the command.

use std::collections::BTreeMap;
use std::path::PathBuf;

use aho_corasick::{AhoCorasick, AhoCorasickBuilder, MatchKind};
use base64::Engine;
use base64::engine::general_purpose::{STANDARD, STANDARD_NO_PAD, URL_SAFE, URL_SAFE_NO_PAD};
use sha2::{Digest, Sha256};
use zeroize::Zeroizing;

/// Values shorter than this (in bytes) are not searched: they would match by chance.
pub const MIN_LEN: usize = 8;

/// How much of a file is looked at to decide that it is binary (as git does).
const BINARY_PROBE: usize = 8 << 10;

/// One value to look for. Its `Debug` shows its name and kind only.
pub struct Needle {
    /// The variable.
    pub name: String,
    /// Which of its values: `value`, `previous value`, `hash`, `derived value`.
    pub what: &'static str,
    /// The bytes, wiped on drop.
    pub value: Zeroizing<Vec<u8>>,
}

impl std::fmt::Debug for Needle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "Needle({} {}, {} bytes)",
            self.name,
            self.what,
            self.value.len()
        )
    }
}

/// One form of one value, in the automaton.
struct Pattern {
    needle: usize,
    form: &'static str,
    bytes: Zeroizing<Vec<u8>>,
    /// Hex matches in either case; every other form exactly.
    any_case: bool,
}

/// A value found in some content.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct Hit {
    /// 1-based line of the match's start.
    pub line: usize,
    /// The variable.
    pub name: String,
    /// Which of its values.
    pub what: &'static str,
    /// The form it was found in: `as is`, `base64`, `hex`...
    pub form: &'static str,
}

/// Every form of a set of values, ready to search content.
pub struct Scanner {
    needles: Vec<Needle>,
    patterns: Vec<Pattern>,
    automaton: Option<AhoCorasick>,
}

impl std::fmt::Debug for Scanner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "Scanner({} values, {} patterns)",
            self.needles.len(),
            self.patterns.len()
        )
    }
}

/// The forms of `value` worth looking for, without duplicates: (form, bytes, any case).
fn forms(value: &[u8]) -> Vec<(&'static str, Zeroizing<Vec<u8>>, bool)> {
    let encode = |engine: &base64::engine::GeneralPurpose| {
        let mut out = Zeroizing::new(vec![0u8; value.len().div_ceil(3) * 4 + 4]);
        let n = engine
            .encode_slice(value, &mut out[..])
            .expect("the buffer fits the encoding");
        out.truncate(n);
        out
    };
    // `base64` (76 columns) and `openssl base64` (64) wrap their output: the value's
    // encoding at the start of such output has a newline every 76 or 64 characters.
    let wrapped = |encoded: &[u8], columns: usize| {
        let mut out = Zeroizing::new(Vec::with_capacity(encoded.len() + encoded.len() / columns));
        for (i, chunk) in encoded.chunks(columns).enumerate() {
            if i > 0 {
                out.push(b'\n');
            }
            out.extend_from_slice(chunk);
        }
        out
    };
    let padded = encode(&STANDARD);
    let mut hex = Zeroizing::new(vec![0u8; value.len() * 2]);
    hex::encode_to_slice(value, &mut hex[..]).expect("the buffer fits the encoding");
    let mut all = vec![
        // A value written in hex digits is the same secret in either case.
        (
            "as is",
            Zeroizing::new(value.to_vec()),
            value.iter().all(u8::is_ascii_hexdigit),
        ),
        ("base64", Zeroizing::new(padded.to_vec()), false),
        ("base64 without padding", encode(&STANDARD_NO_PAD), false),
        ("base64url", encode(&URL_SAFE), false),
        ("base64url without padding", encode(&URL_SAFE_NO_PAD), false),
        ("hex", hex, true),
        ("base64 wrapped at 76 columns", wrapped(&padded, 76), false),
        ("base64 wrapped at 64 columns", wrapped(&padded, 64), false),
    ];
    if let Ok(text) = std::str::from_utf8(value) {
        let url = crate::schema::template::url_encoded(text);
        all.push((
            "URL-encoded",
            Zeroizing::new(url.as_str().as_bytes().to_vec()),
            false,
        ));
        let mut json = crate::secret::SecretBuf::with_capacity(value.len() + 8);
        json.push_json_string(text);
        let quoted = json.as_str().as_bytes();
        let inner = Zeroizing::new(quoted[1..quoted.len() - 1].to_vec());
        all.push(("JSON-escaped", inner, false));
    }
    let mut kept: Vec<(&'static str, Zeroizing<Vec<u8>>, bool)> = Vec::with_capacity(all.len());
    for (form, bytes, any_case) in all {
        let seen = kept.iter().any(|(_, k, _)| {
            if any_case {
                k.eq_ignore_ascii_case(&bytes)
            } else {
                **k == *bytes
            }
        });
        if !seen {
            kept.push((form, bytes, any_case));
        }
    }
    kept
}

impl Scanner {
    /// A scanner for `needles`; returns it and the names of the values too short to search
    /// (deduplicated, in order).
    pub fn new(needles: Vec<Needle>) -> (Scanner, Vec<String>) {
        let mut short: Vec<String> = Vec::new();
        let mut patterns: Vec<Pattern> = Vec::new();
        // Digests of the patterns' lower-case bytes, to drop duplicates.
        let mut seen: std::collections::HashSet<[u8; 32]> = Default::default();
        for (i, needle) in needles.iter().enumerate() {
            if needle.value.len() < MIN_LEN {
                if !short.contains(&needle.name) {
                    short.push(needle.name.clone());
                }
                continue;
            }
            for (form, bytes, any_case) in forms(&needle.value) {
                // The same bytes twice (a value rolled back into its history, or equal to
                // another) are one pattern, reported under the first needle.
                let lower = Zeroizing::new(bytes.to_ascii_lowercase());
                if !seen.insert(Sha256::digest(&lower[..]).into()) {
                    continue;
                }
                patterns.push(Pattern {
                    needle: i,
                    form,
                    bytes,
                    any_case,
                });
            }
        }
        let automaton = (!patterns.is_empty()).then(|| {
            AhoCorasickBuilder::new()
                .match_kind(MatchKind::Standard)
                .ascii_case_insensitive(true)
                .build(patterns.iter().map(|p| &p.bytes[..]))
                .expect("patterns of bounded size always build")
        });
        (
            Scanner {
                needles,
                patterns,
                automaton,
            },
            short,
        )
    }

    /// How many forms of how many values are searched.
    pub fn counts(&self) -> (usize, usize) {
        let values = self
            .patterns
            .iter()
            .map(|p| p.needle)
            .collect::<std::collections::BTreeSet<_>>()
            .len();
        (values, self.patterns.len())
    }

    /// The values found in `content`: one hit per line, variable and value (the longest
    /// form found there), in line order.
    pub fn scan(&self, content: &[u8]) -> Vec<Hit> {
        let Some(automaton) = &self.automaton else {
            return Vec::new();
        };
        // (start, pattern, length), confirmed byte for byte unless the form is hex.
        let mut found: Vec<(usize, usize, usize)> = Vec::new();
        for m in automaton.find_overlapping_iter(content) {
            let pattern = &self.patterns[m.pattern().as_usize()];
            if pattern.any_case || content[m.range()] == pattern.bytes[..] {
                found.push((m.start(), m.pattern().as_usize(), m.len()));
            }
        }
        if found.is_empty() {
            return Vec::new();
        }
        found.sort_unstable();
        let mut best: BTreeMap<(usize, usize, &'static str), (&'static str, usize)> =
            BTreeMap::new();
        let (mut line, mut counted) = (1, 0);
        for (start, p, len) in found {
            line += content[counted..start]
                .iter()
                .filter(|&&b| b == b'\n')
                .count();
            counted = start;
            let pattern = &self.patterns[p];
            let needle = &self.needles[pattern.needle];
            let slot = best
                .entry((line, pattern.needle, needle.what))
                .or_insert((pattern.form, len));
            if len > slot.1 {
                *slot = (pattern.form, len);
            }
        }
        best.into_iter()
            .map(|((line, needle, what), (form, _))| Hit {
                line,
                name: self.needles[needle].name.clone(),
                what,
                form,
            })
            .collect()
    }
}

/// Whether content looks binary: a NUL byte in its first 8 KiB, as git decides.
pub fn is_binary(content: &[u8]) -> bool {
    content[..content.len().min(BINARY_PROBE)].contains(&0)
}

/// The files under `paths`, walked as ripgrep walks them (see the module documentation);
/// a path named explicitly is searched even when ignored. Problems met on the way
/// (unreadable directories, broken links) are returned as text, to print as warnings.
pub fn walk(paths: &[PathBuf]) -> (Vec<PathBuf>, Vec<String>) {
    let mut files = Vec::new();
    let mut problems = Vec::new();
    let Some((first, rest)) = paths.split_first() else {
        return (files, problems);
    };
    let mut builder = ignore::WalkBuilder::new(first);
    for path in rest {
        builder.add(path);
    }
    builder
        .hidden(false)
        .require_git(false)
        .filter_entry(|entry| entry.file_name() != ".git");
    for entry in builder.build() {
        match entry {
            Ok(entry) if entry.file_type().is_some_and(|t| t.is_file()) => {
                files.push(entry.into_path());
            }
            Ok(_) => {}
            Err(e) => problems.push(e.to_string()),
        }
    }
    (files, problems)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn needle(name: &str, what: &'static str, value: &str) -> Needle {
        Needle {
            name: name.into(),
            what,
            value: Zeroizing::new(value.as_bytes().to_vec()),
        }
    }

    #[test]
    fn every_form_is_found_on_its_line_and_nothing_else() {
        let value = "p@ss/w+rd~with:stuff?";
        let (scanner, short) = Scanner::new(vec![
            needle("PASSWORD", "value", value),
            needle("PIN", "value", "1234"),
        ]);
        assert_eq!(short, ["PIN"]);
        let b64 = STANDARD.encode(value);
        let b64url = URL_SAFE_NO_PAD.encode(value);
        let hex_upper = hex::encode_upper(value);
        let url = crate::schema::template::url_encoded(value)
            .as_str()
            .to_string();
        let content = format!(
            "clean\nA={value}\nB={b64}\nC={b64url}\nD={hex_upper}\nE={url}\nF=\"p@ss\\/w+rd~with:stuff?\" no\n1234 P@SS/W+RD~WITH:STUFF?\n"
        );
        let hits = scanner.scan(content.as_bytes());
        let got: Vec<(usize, &str)> = hits.iter().map(|h| (h.line, h.form)).collect();
        assert_eq!(
            got,
            [
                (2, "as is"),
                (3, "base64"),
                (4, "base64url"),
                (5, "hex"),
                (6, "URL-encoded"),
            ],
            "21 bytes need no padding; the JSON form equals the plain one; other case is not the value"
        );
        assert!(format!("{hits:?}").find(value).is_none());
        assert!(format!("{scanner:?}").find(value).is_none());
    }

    #[test]
    fn json_escaped_values_and_binary_content() {
        let value = "quote\"back\\slash";
        let (scanner, _) = Scanner::new(vec![needle("S", "previous value", value)]);
        let hits = scanner.scan(br#"{"s": "quote\"back\\slash"}"#);
        assert_eq!(hits.len(), 1);
        assert_eq!(
            (hits[0].form, hits[0].what),
            ("JSON-escaped", "previous value")
        );
        let long = "0123456789abcdef".repeat(4);
        let (scanner, _) = Scanner::new(vec![needle("L", "value", &long)]);
        let encoded = STANDARD.encode(&long);
        let cli = format!("{}\n{}\n", &encoded[..76], &encoded[76..]);
        let hits = scanner.scan(cli.as_bytes());
        assert_eq!(hits[0].form, "base64 wrapped at 76 columns");
        assert!(is_binary(b"abc\0def"));
        assert!(!is_binary(b"abc def"));
    }

    #[test]
    fn the_walk_respects_gitignore_and_skips_dot_git() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        std::fs::create_dir_all(root.join(".git")).unwrap();
        std::fs::create_dir_all(root.join("sub")).unwrap();
        for file in [
            ".git/config",
            ".gitignore",
            ".env",
            "sub/a.txt",
            "ignored.log",
        ] {
            std::fs::write(root.join(file), "x").unwrap();
        }
        std::fs::write(root.join(".gitignore"), "*.log\n").unwrap();
        let (mut files, problems) = walk(&[root.to_path_buf()]);
        files.sort();
        let names: Vec<_> = files
            .iter()
            .map(|f| f.strip_prefix(root).unwrap().to_str().unwrap())
            .collect();
        assert_eq!(names, [".env", ".gitignore", "sub/a.txt"]);
        assert!(problems.is_empty());
    }
}
