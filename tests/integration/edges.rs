//! Issue 9: the edges of the trust model a red team found, each with the test that failed on
//! the code before the fix. Dangerous names and `exec`, outputs that are not regular files,
//! symlinks at the lock and journal, no HOME, limits, panics, loose directories.

use std::os::unix::fs::PermissionsExt;
use std::process::Stdio;

use crate::testkit::{Sandbox, bundled_schema};

/// The bundled schema plus a variable named `name` (fixed, value `value`), allowed or not.
fn schema_with(name: &str, value: &str, allowed: bool) -> String {
    let mut schema = std::fs::read_to_string(bundled_schema()).unwrap();
    schema.push_str(&format!(
        "\n[[variable]]\nname = \"{name}\"\nkind = \"fixed\"\ndefault = \"{value}\"\ndescription = \"d\"\nservices = [\"s\"]\n"
    ));
    if allowed {
        schema.push_str("allow_dangerous_name = true\n");
    }
    schema
}

#[test]
fn a_schema_naming_ld_preload_or_path_is_refused_with_its_line() {
    for name in [
        "LD_PRELOAD",
        "PATH",
        "BASH_ENV",
        "NODE_OPTIONS",
        "GIT_SSH_COMMAND",
    ] {
        let s = Sandbox::with_schema(&schema_with(name, "x", false));
        let err = s.run(&["init"]).fails();
        let line = String::from_utf8(s.read("schema/alecia.toml"))
            .unwrap()
            .lines()
            .position(|l| l == format!("name = \"{name}\""))
            .unwrap()
            + 1;
        assert!(
            err.contains(&format!(
                "schema/alecia.toml:{line}:8: variable {name}: the name is refused"
            )),
            "{err}"
        );
        assert!(err.contains("allow_dangerous_name = true"), "{err}");
        assert!(!s.path("vault/alecia.age").exists());
    }
}

/// A schema commit put `PATH` in the vault, pointing at a directory with its own `docker`:
/// `exec -- docker` must still run the caller's docker, and every command warns.
#[test]
fn exec_looks_the_command_up_on_the_callers_path_never_the_vaults() {
    let s = Sandbox::new();
    std::fs::create_dir(s.path("evil")).unwrap();
    std::fs::create_dir(s.path("good")).unwrap();
    for (dir, says) in [("evil", "attacker"), ("good", "caller")] {
        let tool = s.path(&format!("{dir}/tool"));
        std::fs::write(&tool, format!("#!/bin/sh\necho {says}\n")).unwrap();
        std::fs::set_permissions(&tool, std::fs::Permissions::from_mode(0o755)).unwrap();
    }
    let evil = s.path("evil").display().to_string();
    s.write("schema/alecia.toml", &schema_with("PATH", &evil, true));
    let init = s.run(&["init"]);
    assert_eq!(init.code, 0, "{}", init.stderr);
    assert!(
        init.stderr.contains("warning: schema/alecia.toml:"),
        "{}",
        init.stderr
    );
    assert!(
        init.stderr
            .contains("variable PATH has a name that changes how programs run"),
        "{}",
        init.stderr
    );
    let path = format!("{}:/usr/bin:/bin", s.path("good").display());
    let out = s
        .command(&["exec", "--", "tool"])
        .env("PATH", &path)
        .output()
        .unwrap();
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        "caller\n",
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stderr).contains("variable PATH has a name"));
}

#[test]
fn render_output_writes_into_a_fifo_or_device_and_never_replaces_it() {
    let s = Sandbox::new();
    s.run(&["init"]).ok();
    let fifo = s.path("pipe");
    nix::unistd::mkfifo(&fifo, nix::sys::stat::Mode::from_bits_truncate(0o600)).unwrap();
    let reader = std::thread::spawn({
        let fifo = fifo.clone();
        move || std::fs::read_to_string(fifo).unwrap()
    });
    s.run(&["render", "--output", "pipe"]).ok();
    let text = reader.join().unwrap();
    assert_eq!(text.lines().filter(|l| l.contains('=')).count(), 28);
    let kind = std::fs::symlink_metadata(&fifo).unwrap().file_type();
    use std::os::unix::fs::FileTypeExt;
    assert!(kind.is_fifo(), "the FIFO is still a FIFO");
    s.run(&["render", "--output", "/dev/null"]).ok();
    assert!(
        std::fs::symlink_metadata("/dev/null")
            .unwrap()
            .file_type()
            .is_char_device()
    );
    // A directory and a symlink are refused, as before, with nothing written.
    std::fs::create_dir(s.path("dir")).unwrap();
    let err = s.run(&["render", "--output", "dir"]).fails();
    assert!(
        err.contains("dir is a directory; refusing to write through it"),
        "{err}"
    );
    std::os::unix::fs::symlink(s.path("target"), s.path("link")).unwrap();
    let err = s.run(&["render", "--output", "link"]).fails();
    assert!(err.contains("link is a symbolic link"), "{err}");
    assert!(!s.path("target").exists());
}

#[test]
fn symlinks_at_the_lock_and_journal_are_refused_and_never_followed() {
    let s = Sandbox::new();
    s.run(&["init"]).ok();
    let vault = s.read("vault/alecia.age");
    std::fs::remove_file(s.path("vault/.alecia.age.lock")).unwrap();
    std::os::unix::fs::symlink(s.path("planted"), s.path("vault/.alecia.age.lock")).unwrap();
    let err = s.run(&["rotate", "REDIS_PASSWORD"]).fails();
    assert!(
        err.contains("symbolic link; refusing to follow it"),
        "{err}"
    );
    assert!(
        !s.path("planted").exists(),
        "the link's target was not created"
    );
    assert_eq!(s.read("vault/alecia.age"), vault);
    std::fs::remove_file(s.path("vault/.alecia.age.lock")).unwrap();

    // The journal: a symlink to a file the user can write gets no line; a FIFO does not hang.
    let journal = s.path("home/.local/state/envgen/journal.log");
    std::fs::remove_file(&journal).unwrap();
    s.write("victim", "keep\n");
    std::os::unix::fs::symlink(s.path("victim"), &journal).unwrap();
    let out = s.run(&["get", "REDIS_PASSWORD"]);
    assert_eq!(out.code, 0);
    assert!(
        out.stderr.contains("warning: the journal was not updated"),
        "{}",
        out.stderr
    );
    assert_eq!(s.read("victim"), b"keep\n");
    std::fs::remove_file(&journal).unwrap();
    nix::unistd::mkfifo(&journal, nix::sys::stat::Mode::from_bits_truncate(0o600)).unwrap();
    let mut child = s
        .command(&["exec", "--", "true"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let started = std::time::Instant::now();
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            assert!(status.success());
            break;
        }
        assert!(
            started.elapsed().as_secs() < 20,
            "exec hung on a FIFO journal"
        );
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
}

/// Issue 9, item 5: systemd units and cron jobs run without HOME; the pin check was off.
#[test]
fn without_home_the_pin_check_still_runs() {
    let s = Sandbox::new();
    s.run(&["init"]).ok();
    let state = s.path("state");
    let run = |args: &[&str]| {
        s.command(args)
            .env_remove("HOME")
            .env("XDG_STATE_HOME", &state)
            .output()
            .unwrap()
    };
    assert!(run(&["get", "REDIS_PASSWORD"]).status.success());
    assert!(
        state.join("envgen/pins.json").exists(),
        "pinned without HOME"
    );
    // An older copy put back is refused without HOME too.
    let old = s.read("vault/alecia.age");
    assert!(run(&["rotate", "REDIS_PASSWORD"]).status.success());
    std::fs::write(s.path("vault/alecia.age"), old).unwrap();
    let out = run(&["render"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("rolled back"));
    assert!(out.stdout.is_empty());
}

#[test]
fn oversized_and_endless_inputs_end_in_clear_errors() {
    let s = Sandbox::new();
    s.run(&["init"]).ok();
    // A recipients file at /dev/zero read until memory ran out.
    let err = s
        .run(&["--vault", "new.age", "init", "-R", "/dev/zero"])
        .fails();
    assert!(
        err.contains("/dev/zero") && err.contains("larger than the limit of 1 MiB"),
        "{err}"
    );
    // A 100 MB value in an import used ~1 GB.
    let big = format!("REDIS_PASSWORD={}\n", "a".repeat(20 << 20));
    s.write("big.env", &big);
    let err = s
        .run(&["--vault", "other.age", "import", "big.env"])
        .fails();
    assert!(err.contains("larger than the limit of 16 MiB"), "{err}");
    // A template that doubles itself: 40 levels would be a terabyte.
    let mut schema = String::from(
        "[schema]\nname = \"alecia\"\n\n[[variable]]\nname = \"D0\"\nkind = \"fixed\"\ndefault = \"xx\"\ndescription = \"d\"\nservices = [\"s\"]\n",
    );
    for i in 1..=40 {
        schema.push_str(&format!(
            "\n[[variable]]\nname = \"D{i}\"\nkind = \"derived\"\ntemplate = \"${{D{p}}}${{D{p}}}\"\ndescription = \"d\"\nservices = [\"s\"]\n",
            p = i - 1
        ));
    }
    let doubling = Sandbox::with_schema(&schema);
    doubling.run(&["init"]).ok();
    let err = doubling.run(&["render"]).fails();
    assert!(
        err.contains("derived variable D16 would be longer than 64 KiB"),
        "{err}"
    );
    assert!(err.contains("shorten them in the schema"), "{err}");
}

#[test]
#[cfg_attr(
    not(debug_assertions),
    ignore = "crash points are compiled into debug builds only"
)]
fn a_panic_prints_where_never_its_message() {
    let s = Sandbox::new();
    s.run(&["init"]).ok();
    let out = s
        .command(&["rotate", "REDIS_PASSWORD"])
        .env("ENVGEN_FAULT", "panic:before-write@alecia.age")
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(101), "{stderr}");
    assert!(
        stderr.contains("envgen stopped on an internal error at src/files.rs:"),
        "{stderr}"
    );
    assert!(!stderr.contains("PANIC-PAYLOAD-CANARY"), "{stderr}");
    assert!(out.stdout.is_empty());
    s.run(&["render"]).ok();
}

#[test]
fn secret_files_are_not_written_into_loose_directories_or_half_way() {
    let s = Sandbox::new();
    s.run(&["init"]).ok();
    std::fs::create_dir(s.path("open")).unwrap();
    std::fs::set_permissions(s.path("open"), std::fs::Permissions::from_mode(0o777)).unwrap();
    let err = s
        .run(&["render", "--format", "files", "--output", "open"])
        .fails();
    assert!(
        err.contains("open is writable by other users (mode 777)"),
        "{err}"
    );
    assert_eq!(std::fs::read_dir(s.path("open")).unwrap().count(), 0);
    // A symlink planted at one of the names: refused before any file is written.
    std::fs::create_dir(s.path("secrets")).unwrap();
    std::fs::set_permissions(s.path("secrets"), std::fs::Permissions::from_mode(0o700)).unwrap();
    std::os::unix::fs::symlink("/tmp/elsewhere", s.path("secrets/SEARXNG_SECRET")).unwrap();
    let err = s
        .run(&["render", "--format", "files", "--output", "secrets"])
        .fails();
    assert!(err.contains("SEARXNG_SECRET is a symbolic link"), "{err}");
    assert_eq!(
        std::fs::read_dir(s.path("secrets")).unwrap().count(),
        1,
        "no plaintext file left"
    );
}

#[test]
fn recipients_remove_of_a_stranger_or_the_last_key_is_an_error() {
    let s = Sandbox::new();
    s.run(&["init"]).ok();
    let stranger = s
        .run(&["keygen", "-o", "stranger.txt"])
        .ok()
        .trim()
        .to_string();
    let err = s.run(&["recipients", "remove", &stranger]).fails();
    assert!(
        err.contains("is not a recipient of vault/alecia.age"),
        "{err}"
    );
    let err = s.run(&["recipients", "remove", &s.public_key()]).fails();
    assert!(
        err.contains("would leave vault/alecia.age with no recipient"),
        "{err}"
    );
}

#[test]
fn a_new_passphrase_of_white_space_is_refused() {
    let s = Sandbox::new();
    s.write("pass.txt", "   \n");
    std::fs::set_permissions(s.path("pass.txt"), std::fs::Permissions::from_mode(0o600)).unwrap();
    let err = s
        .command(&["init", "--passphrase", "--work-factor", "10"])
        .env("ENVGEN_PASSPHRASE_FILE", s.path("pass.txt"))
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&err.stderr);
    assert_eq!(err.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("the passphrase is only white space"),
        "{stderr}"
    );
}

#[test]
fn a_vault_directory_others_can_write_is_reported() {
    let s = Sandbox::new();
    s.run(&["init"]).ok();
    std::fs::set_permissions(s.path("vault"), std::fs::Permissions::from_mode(0o775)).unwrap();
    let out = s.run(&["list"]);
    assert_eq!(out.code, 0);
    assert!(
        out.stderr
            .contains("warning: vault is writable by other users (mode 775)"),
        "{}",
        out.stderr
    );
    assert!(out.stderr.contains("chmod go-w vault"), "{}", out.stderr);
}

#[test]
fn check_compose_tells_a_mandatory_reference_from_one_compose_would_leave_empty() {
    let s = Sandbox::new();
    s.write(
        "compose.yml",
        "services:\n  app:\n    image: x\n    environment:\n      A: ${MUST_BE_SET:?set it first}\n      B: ${QUIETLY_EMPTY}\n",
    );
    let out = s.run(&["check", "--compose", "compose.yml"]);
    assert_eq!(out.code, 1);
    assert!(out.stdout.contains("missing MUST_BE_SET: compose.yml:5 uses it and the schema does not provide it; compose would stop with its error message"), "{}", out.stdout);
    assert!(out.stdout.contains("missing QUIETLY_EMPTY: compose.yml:6 uses it and the schema does not provide it; compose would substitute an empty string"), "{}", out.stdout);
}
