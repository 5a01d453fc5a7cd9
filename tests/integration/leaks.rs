//! Leaks and concurrency: every command is run with known secret values, and nothing that
//! is not meant to print a value shows one, or a recognizable piece of one, anywhere; parallel
//! writers and readers never lose a change or see an error.

use std::path::{Path, PathBuf};
use std::process::Stdio;

use crate::testkit::Sandbox;

/// Known, recognizable values for every generated variable, imported from a .env.
fn known_values(s: &Sandbox) -> Vec<String> {
    let names: Vec<String> = String::from_utf8(s.read("schema/alecia.toml"))
        .unwrap()
        .split("[[variable]]")
        .skip(1)
        .filter(|block| block.contains("kind = \"secret\"") || block.contains("kind = \"hashed\""))
        .map(|block| block.split('"').nth(1).unwrap().to_string())
        .collect();
    assert_eq!(names.len(), 23);
    let values: Vec<String> = names
        .iter()
        .enumerate()
        .map(|(i, _)| format!("canary{i:02}q{}", "7x".repeat(16)))
        .collect();
    let env: String = names
        .iter()
        .zip(&values)
        .map(|(n, v)| format!("{n}={v}\n"))
        .collect();
    s.write("known.env", &env);
    let run = s.run(&["import", "known.env"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    std::fs::remove_file(s.path("known.env")).unwrap();
    values
}

/// Every file under `dir`, recursively, except the paths in `skip`.
fn files(dir: &Path, skip: &[PathBuf], out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap().flatten() {
        let path = entry.path();
        if skip.contains(&path) {
            continue;
        }
        if path.is_dir() {
            files(&path, skip, out);
        } else {
            out.push(path);
        }
    }
}

#[test]
fn no_value_appears_where_it_is_not_asked_for() {
    let s = Sandbox::new();
    std::fs::create_dir(s.path("tmp")).unwrap();
    let values = known_values(&s);
    let pieces: Vec<&str> = values
        .iter()
        .flat_map(|v| [&v[..12], &v[v.len() - 12..]])
        .collect();
    let fixture =
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/docker-compose.yml");
    let other = s.run(&["keygen", "-o", "other.txt"]).ok();
    std::fs::copy(s.path("vault/alecia.age"), s.path("old.age")).unwrap();

    // Commands whose stdout may not hold a value, and those whose stdout is the values.
    let mut quiet: Vec<Vec<String>> = vec![
        vec!["init".into()],
        vec!["list".into()],
        vec!["list".into(), "--json".into()],
        vec!["check".into()],
        vec!["check".into(), "--json".into()],
        vec![
            "check".into(),
            "--compose".into(),
            fixture.display().to_string(),
        ],
        vec!["rotate".into(), "--dry-run".into(), "--all".into()],
        vec!["rotate".into(), "REDIS_PASSWORD".into()],
        vec!["rotate".into(), "AP_ENCRYPTION_KEY".into()],
        vec!["rollback".into(), "REDIS_PASSWORD".into()],
        vec!["diff".into(), "old.age".into()],
        vec!["textconv".into(), "vault/alecia.age".into()],
        vec!["recipients".into(), "add".into(), other.trim().into()],
        vec!["recipients".into(), "list".into()],
        vec!["recipients".into(), "remove".into(), other.trim().into()],
        vec!["whoami".into()],
        vec!["keygen".into(), "-o".into(), "third.txt".into()],
        vec!["render".into(), "--output".into(), "out.env".into()],
        vec![
            "render".into(),
            "--format".into(),
            "files".into(),
            "--output".into(),
            "secrets".into(),
        ],
        vec!["diff".into(), "out.env".into()],
        vec!["exec".into(), "--".into(), "true".into()],
        vec!["get".into(), "NOPE".into()],
        vec!["import".into(), "out.env".into()],
        vec!["--help".into()],
    ];
    for sub in [
        "init",
        "render",
        "exec",
        "import",
        "rotate",
        "rollback",
        "history",
        "check",
        "diff",
        "textconv",
        "get",
        "list",
        "recipients",
        "whoami",
        "keygen",
    ] {
        quiet.push(vec![sub.into(), "--help".into()]);
    }
    for name in [
        "REDIS_PASSWORD",
        "STRAPI_APP_KEYS",
        "VAULTWARDEN_ADMIN_TOKEN",
        "POSTGRES_USER",
        "DATABASE_URL",
    ] {
        quiet.push(vec!["history".into(), name.into()]);
    }
    let loud: Vec<Vec<String>> = vec![
        vec!["render".into()],
        vec!["render".into(), "--format".into(), "json".into()],
        vec!["render".into(), "--format".into(), "shell".into()],
        vec!["get".into(), "REDIS_PASSWORD".into()],
        vec![
            "get".into(),
            "VAULTWARDEN_ADMIN_TOKEN".into(),
            "--plaintext".into(),
        ],
        vec!["exec".into(), "--".into(), "env".into()],
    ];
    let scan = |what: &str, text: &str| {
        for piece in &pieces {
            assert!(
                !text.contains(piece),
                "{what} shows part of a value ({piece}):\n{text}"
            );
        }
    };
    for args in quiet.iter().chain(&loud) {
        let argv: Vec<&str> = args.iter().map(String::as_str).collect();
        scan(&format!("argv {argv:?}"), &argv.join(" "));
        let out = s
            .command(&argv)
            .env("TMPDIR", s.path("tmp"))
            .output()
            .unwrap();
        scan(
            &format!("stderr of {argv:?}"),
            &String::from_utf8_lossy(&out.stderr),
        );
        if quiet.contains(args) {
            scan(
                &format!("stdout of {argv:?}"),
                &String::from_utf8_lossy(&out.stdout),
            );
        }
    }
    // The loud ones did print values: the scan can see them.
    let rendered = s.run(&["render"]).ok();
    assert!(
        pieces.iter().any(|p| rendered.contains(p)),
        "the canaries are in the vault"
    );

    // Every file left behind, but the outputs asked for, and the temp directory.
    let mut left = Vec::new();
    files(
        s.dir.path(),
        &[s.path("out.env"), s.path("secrets")],
        &mut left,
    );
    assert!(
        left.iter()
            .any(|p| p.ends_with("home/.local/state/envgen/journal.log"))
    );
    for path in &left {
        let bytes = std::fs::read(path).unwrap();
        scan(
            &format!("file {}", path.display()),
            &String::from_utf8_lossy(&bytes),
        );
    }
    assert_eq!(
        std::fs::read_dir(s.path("tmp")).unwrap().count(),
        0,
        "nothing in the temp directory"
    );
    eprintln!(
        "leaks: {} commands, {} files scanned for {} values: none found",
        quiet.len() + loud.len(),
        left.len(),
        values.len()
    );
}

#[test]
fn parallel_writers_and_readers_lose_nothing_and_see_no_error() {
    let s = Sandbox::new();
    s.run(&["init"]).ok();
    let names = [
        "SEARXNG_SECRET",
        "HOCUSPOCUS_SECRET",
        "AP_JWT_SECRET",
        "STRAPI_JWT_SECRET",
    ];
    let before: Vec<String> = names.iter().map(|n| s.run(&["get", n]).ok()).collect();
    let writers: Vec<_> = names
        .iter()
        .map(|n| {
            s.command(&["rotate", n])
                .stdout(Stdio::null())
                .stderr(Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    // Readers while the writers run: old or new values, never an error.
    let mut reads = 0;
    for _ in 0..20 {
        let out = s.command(&["get", "REDIS_URL"]).output().unwrap();
        assert!(
            out.status.success(),
            "a reader failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(String::from_utf8_lossy(&out.stdout).starts_with("redis://default:"));
        reads += 1;
    }
    for writer in writers {
        let out = writer.wait_with_output().unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    for (name, old) in names.iter().zip(&before) {
        assert_ne!(
            &s.run(&["get", name]).ok(),
            old,
            "{name}'s rotation survived"
        );
    }
    let json = s.age_decrypt();
    assert_eq!(json["generation"], 5, "one generation per write, none lost");

    // Readers during a run of rotations of the very value they read.
    let mut rotations = s.command(&["rotate", "REDIS_PASSWORD"]);
    let writer = std::thread::spawn(move || {
        for _ in 0..10 {
            let out = rotations.output().unwrap();
            assert!(
                out.status.success(),
                "{}",
                String::from_utf8_lossy(&out.stderr)
            );
        }
    });
    while !writer.is_finished() {
        let out = s.command(&["get", "REDIS_URL"]).output().unwrap();
        assert!(
            out.status.success(),
            "a reader failed during rotations: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        reads += 1;
    }
    writer.join().unwrap();
    eprintln!(
        "concurrency: 4 parallel rotations all kept, {reads} reads during writes, none failed"
    );
}

/// Wraps a command so it runs as the unprivileged user `nobody` when the tests run as root
/// (root may read any process, so the check must be made by an ordinary user).
fn as_user(program: &str, root: bool) -> std::process::Command {
    if root {
        let mut cmd = std::process::Command::new("setpriv");
        cmd.args([
            "--reuid=65534",
            "--regid=65534",
            "--clear-groups",
            "--",
            program,
        ]);
        cmd
    } else {
        std::process::Command::new(program)
    }
}

/// Tries, as `nobody`, to read 16 bytes of a process's memory; returns whether it could.
fn read_memory(pid: u32, root: bool) -> bool {
    let maps = std::fs::read_to_string(format!("/proc/{pid}/maps")).unwrap();
    let start = maps
        .lines()
        .find(|l| l.contains(" rw-p ") || l.contains(" r--p "))
        .and_then(|l| l.split('-').next())
        .map(|a| u64::from_str_radix(a, 16).unwrap())
        .unwrap();
    let out = as_user("dd", root)
        .args([
            format!("if=/proc/{pid}/mem"),
            "bs=16".into(),
            "count=1".into(),
            format!("skip={start}"),
            "iflag=skip_bytes".into(),
            "status=none".into(),
        ])
        .output()
        .unwrap();
    out.status.success() && out.stdout.len() == 16
}

#[test]
fn another_process_of_the_user_cannot_read_envgens_memory() {
    let root = String::from_utf8(
        std::process::Command::new("id")
            .arg("-u")
            .output()
            .unwrap()
            .stdout,
    )
    .unwrap()
    .trim()
        == "0";
    // Enough variables that render blocks on a full pipe, with every value in memory.
    let schema: String = std::iter::once("[schema]\nname = \"alecia\"\n".to_string())
        .chain((0..3000).map(|i| format!("\n[[variable]]\nname = \"V{i}\"\nkind = \"secret\"\nencoding = \"hex\"\nbytes = 32\ndescription = \"d\"\nservices = [\"s\"]\n")))
        .collect();
    let s = Sandbox::with_schema(&schema);
    s.run(&["init"]).ok();
    if root {
        let dir = s.dir.path();
        std::fs::set_permissions(dir, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
        assert!(
            std::process::Command::new("chown")
                .args(["-R", "65534:65534"])
                .arg(dir)
                .status()
                .unwrap()
                .success()
        );
    }
    let mut envgen = as_user(
        assert_cmd::cargo::cargo_bin("envgen").to_str().unwrap(),
        root,
    )
    .arg("render")
    .current_dir(s.dir.path())
    .env("HOME", s.path("home"))
    .env("ENVGEN_IDENTITY", s.path("id.txt"))
    .stdout(Stdio::piped())
    .stderr(Stdio::piped())
    .spawn()
    .unwrap();
    let mut control = as_user("sleep", root).arg("30").spawn().unwrap();
    std::thread::sleep(std::time::Duration::from_millis(1500));
    assert!(
        envgen.try_wait().unwrap().is_none(),
        "render is blocked writing, secrets in memory"
    );

    let readable_control = read_memory(control.id(), root);
    let readable_envgen = read_memory(envgen.id(), root);
    let limits = std::fs::read_to_string(format!("/proc/{}/limits", envgen.id())).unwrap();
    let _ = control.kill();
    let _ = envgen.kill();
    let _ = control.wait();
    let _ = envgen.wait();
    assert!(
        readable_control,
        "a sibling can read an ordinary process of its user (the check works)"
    );
    assert!(!readable_envgen, "a sibling cannot read envgen's memory");
    assert!(
        limits.lines().any(|l| l.starts_with("Max core file size")
            && l.split_whitespace().skip(4).take(2).all(|v| v == "0")),
        "{limits}"
    );
    eprintln!(
        "hardening: sibling read of an ordinary process: yes; of envgen: no; core dumps: 0 bytes"
    );
}
