//! Bundles the service catalogue: writes `catalogue.rs` into OUT_DIR, a list of every
//! `catalogue/*.toml` as `(id, include_str!(...))`, sorted by file name.
//!
//! A generated list rather than a hand-kept one: a catalogue file is data, and adding one must
//! not need a code change that could be forgotten (a forgotten line would silently leave a
//! service out of the binary). Cargo reruns this script when the directory or a file changes.

use std::fs;
use std::path::Path;

fn main() {
    // Read at run time, not baked in with env!(): the compiled script is reused when the same
    // sources are built from another directory with a shared target dir (as .ci/run does).
    let manifest = std::env::var("CARGO_MANIFEST_DIR").expect("cargo sets CARGO_MANIFEST_DIR");
    let dir = Path::new(&manifest).join("catalogue");
    println!("cargo::rerun-if-changed={}", dir.display());
    let mut files: Vec<_> = fs::read_dir(&dir)
        .expect("the catalogue/ directory")
        .map(|e| e.expect("a catalogue entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "toml"))
        .collect();
    files.sort();
    let mut code = String::from(
        "/// Every bundled catalogue file: its id (the file name) and its text.\npub const FILES: &[(&str, &str)] = &[\n",
    );
    for path in &files {
        println!("cargo::rerun-if-changed={}", path.display());
        let id = path
            .file_stem()
            .and_then(|s| s.to_str())
            .expect("a UTF-8 file name");
        code.push_str(&format!(
            "    ({id:?}, include_str!({:?})),\n",
            path.display().to_string()
        ));
    }
    code.push_str("];\n");
    let out = Path::new(&std::env::var("OUT_DIR").expect("OUT_DIR")).join("catalogue.rs");
    fs::write(out, code).expect("write OUT_DIR/catalogue.rs");
}
