//! Bundles the service catalogue: writes `catalogue.rs` into OUT_DIR, a list of every
//! `catalogue/*.toml` as `(id, include_str!(...))`, sorted by file name. On glibc targets it
//! also links GCC's unwinder statically (see [`static_unwinder`]) and orders the functions
//! of release builds for start-up (see [`hot_functions_first`]).
//!
//! A generated list rather than a hand-kept one: a catalogue file is data, and adding one must
//! not need a code change that could be forgotten (a forgotten line would silently leave a
//! service out of the binary). Cargo reruns this script when the directory or a file changes.

use std::fs;
use std::path::Path;
use std::process::Command;

fn main() {
    static_unwinder();
    hot_functions_first();
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

/// Links GCC's unwinder (`libgcc_eh.a`) into the binary instead of loading `libgcc_s.so.1`.
///
/// Rust's standard library asks the linker for `-lgcc_s` on glibc targets (unless the whole
/// C library is linked statically, which breaks the password-database lookup of the home
/// directory). Loading that library costs every run an open, five mappings, relocations and
/// symbol lookups, and its constructor asks the CPU for its features with 12 `cpuid`
/// instructions, each a trap to the hypervisor in a virtual machine (about 4 us here): about
/// a twentieth of a `render`. The linker takes the first `libgcc_s` it finds on its search
/// path, so a directory holding `libgcc_s.a`, a copy of the compiler's `libgcc_eh.a` (the
/// same unwinder, built for static linking), put ahead of the system's, makes the binary
/// carry its unwinder. Panics still unwind (dropping, and so wiping, what they pass through).
///
/// Only the `envgen` binary is linked so (not the library's other users, such as the fuzz
/// targets). When the compiler has no `libgcc_eh.a`, or the build is a cross build, nothing
/// changes; `ENVGEN_SHARED_UNWINDER=1` keeps the shared library. A binary linked with GCC 12's
/// `libgcc_eh.a` needs glibc 2.35 (for `_dl_find_object`) where it needed 2.34: set that
/// variable to build a binary for an older system than the one building it.
fn static_unwinder() {
    let var = |name: &str| std::env::var(name).unwrap_or_default();
    println!("cargo::rerun-if-env-changed=CC");
    println!("cargo::rerun-if-env-changed=ENVGEN_SHARED_UNWINDER");
    // The host's compiler knows only its own target's archive.
    if var("ENVGEN_SHARED_UNWINDER") == "1"
        || var("HOST") != var("TARGET")
        || var("CARGO_CFG_TARGET_OS") != "linux"
        || var("CARGO_CFG_TARGET_ENV") != "gnu"
        || var("CARGO_CFG_TARGET_FEATURE")
            .split(',')
            .any(|f| f == "crt-static")
    {
        return;
    }
    let cc = std::env::var("CC").unwrap_or_else(|_| "cc".into());
    let Ok(out) = Command::new(cc)
        .arg("-print-file-name=libgcc_eh.a")
        .output()
    else {
        return;
    };
    let found = String::from_utf8_lossy(&out.stdout).trim().to_string();
    let archive = Path::new(&found);
    // Without the archive the compiler prints the bare name back.
    if !out.status.success() || !archive.is_absolute() || !archive.is_file() {
        return;
    }
    let dir = Path::new(&var("OUT_DIR")).join("static-unwinder");
    fs::create_dir_all(&dir).expect("create OUT_DIR/static-unwinder");
    fs::copy(archive, dir.join("libgcc_s.a")).expect("copy libgcc_eh.a");
    println!("cargo::rerun-if-changed={}", archive.display());
    // A linker search directory for the binary alone; the linker searches its -L
    // directories, whatever their place on the command line, before the compiler's own.
    println!("cargo::rustc-link-arg-bins=-L{}", dir.display());
}

/// Places the functions the everyday commands run (`link/hot-functions.txt`, written by
/// `scripts/hot-functions`) together at the start of the code, through rust-lld's
/// `--symbol-ordering-file`. Scattered over 6 MB of code they cost a `render` about 25 page
/// faults more, a tenth of its time. Only release builds of the binary, on x86_64 Linux
/// with rustc 1.90 or later and its default linker, and only when a test link with the
/// option succeeds (a rustc built to link with GNU ld would refuse it); a name the binary
/// lacks is skipped by the linker, so a stale list only orders less.
fn hot_functions_first() {
    let var = |name: &str| std::env::var(name).unwrap_or_default();
    let manifest = var("CARGO_MANIFEST_DIR");
    let list = Path::new(&manifest).join("link").join("hot-functions.txt");
    println!("cargo::rerun-if-changed={}", list.display());
    println!("cargo::rerun-if-env-changed=RUSTC_LINKER");
    let flags = var("CARGO_ENCODED_RUSTFLAGS");
    let default_linker = var("RUSTC_LINKER").is_empty()
        && !["linker", "link-self-contained", "fuse-ld"]
            .iter()
            .any(|f| flags.contains(f));
    if var("PROFILE") != "release"
        || var("TARGET") != "x86_64-unknown-linux-gnu"
        || var("HOST") != var("TARGET")
        || !default_linker
        || rustc_minor().is_none_or(|minor| minor < 90)
        || !list.is_file()
    {
        return;
    }
    let option = format!("--symbol-ordering-file={}", list.display());
    if !links_with(&option) {
        return;
    }
    println!("cargo::rustc-link-arg-bins=-Xlinker");
    println!("cargo::rustc-link-arg-bins={option}");
    println!("cargo::rustc-link-arg-bins=-Xlinker");
    println!("cargo::rustc-link-arg-bins=--no-warn-symbol-ordering");
}

/// Whether the compiler links an empty program with `option` given to the linker.
fn links_with(option: &str) -> bool {
    let out = Path::new(&std::env::var("OUT_DIR").unwrap_or_default()).join("link-probe");
    if fs::create_dir_all(&out).is_err()
        || fs::write(out.join("probe.rs"), "fn main() {}\n").is_err()
    {
        return false;
    }
    let rustc = std::env::var("RUSTC").unwrap_or_else(|_| "rustc".into());
    Command::new(rustc)
        .current_dir(&out)
        .args([
            "--edition",
            "2021",
            "--crate-type",
            "bin",
            "-o",
            "probe",
            "probe.rs",
        ])
        .args(["-C", "link-arg=-Xlinker", "-C"])
        .arg(format!("link-arg={option}"))
        .args([
            "-C",
            "link-arg=-Xlinker",
            "-C",
            "link-arg=--no-warn-symbol-ordering",
        ])
        .output()
        .is_ok_and(|o| o.status.success())
}

/// The minor version of the compiler building the crate (`rustc 1.95.0 (...)` gives 95).
fn rustc_minor() -> Option<u32> {
    let rustc = std::env::var("RUSTC").unwrap_or_else(|_| "rustc".into());
    let out = Command::new(rustc).arg("--version").output().ok()?;
    let text = String::from_utf8(out.stdout).ok()?;
    let version = text.split_whitespace().nth(1)?;
    let mut parts = version.split('.');
    (parts.next()? == "1").then_some(())?;
    parts.next()?.parse().ok()
}
