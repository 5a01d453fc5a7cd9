//! Issue 13: a team in git. The leak scanner that knows the real values, its pre-commit
//! hook, the merge driver, and branches on one machine, all with the real git binary.

use std::process::Command;

use crate::testkit::Sandbox;

/// Runs git in the sandbox (a fixed author, no global configuration) and returns stdout.
#[track_caller]
pub fn git(s: &Sandbox, args: &[&str]) -> String {
    let out = git_command(s, args).output().expect("git is installed");
    assert!(
        out.status.success(),
        "git {args:?} failed: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// The git command, run in the sandbox with the envgen binary first on PATH.
pub fn git_command(s: &Sandbox, args: &[&str]) -> Command {
    let bin = std::path::Path::new(env!("CARGO_BIN_EXE_envgen"))
        .parent()
        .unwrap()
        .to_path_buf();
    let path = std::env::join_paths(
        std::iter::once(bin).chain(std::env::split_paths(&std::env::var_os("PATH").unwrap())),
    )
    .unwrap();
    let mut cmd = Command::new("git");
    cmd.args(args)
        .current_dir(s.dir.path())
        .env("PATH", path)
        .env("HOME", s.path("home"))
        .env("ENVGEN_IDENTITY", s.path("id.txt"))
        .env("ENVGEN_SYSLOG_SOCKET", "")
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env("GIT_AUTHOR_NAME", "t")
        .env("GIT_AUTHOR_EMAIL", "t@example.org")
        .env("GIT_COMMITTER_NAME", "t")
        .env("GIT_COMMITTER_EMAIL", "t@example.org")
        .env_remove("ENVGEN_SCHEMA");
    cmd
}

/// A sandbox with an initialized vault committed in a git repository on branch main.
pub fn repo() -> Sandbox {
    let s = Sandbox::new();
    s.run(&["init"]).ok();
    s.write(".gitignore", "home/\nid.txt\n*.txt\n*.log\n");
    git(&s, &["init", "-q", "-b", "main"]);
    git(&s, &["add", "-A"]);
    git(&s, &["commit", "-qm", "init"]);
    s
}

fn value(s: &Sandbox, name: &str) -> String {
    s.run(&["get", name]).ok().trim_end().to_string()
}

#[test]
fn scan_finds_every_form_of_the_real_values_and_never_prints_them() {
    let s = repo();
    let clean = s.run(&["scan"]);
    assert_eq!(clean.code, 0, "{}{}", clean.stdout, clean.stderr);
    assert!(clean.stderr.contains("none found"), "{}", clean.stderr);

    let redis = value(&s, "REDIS_PASSWORD");
    let searx = value(&s, "SEARXNG_SECRET");
    let url = value(&s, "DATABASE_URL");
    use base64::Engine;
    let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(&redis);
    std::fs::create_dir_all(s.path("docs")).unwrap();
    s.write("docs/notes.md", &format!("# notes\n\ntoken: {b64}\n"));
    s.write(
        ".env.backup",
        &format!("X=1\nSEARXNG={}\n", searx.to_uppercase()),
    );
    s.write("config.json", &serde_json::json!({ "db": url }).to_string());
    s.write("ignored.log", &redis); // .gitignore'd: not searched
    let run = s.run(&["scan"]);
    assert_eq!(run.code, 1, "{}", run.stderr);
    for line in [
        "docs/notes.md:3: REDIS_PASSWORD (base64",
        ".env.backup:2: SEARXNG_SECRET (as is)",
        "config.json:1: DATABASE_URL (derived value, as is)",
        "config.json:1: POSTGRES_PASSWORD (as is)",
    ] {
        assert!(
            run.stdout.contains(line),
            "missing {line:?} in\n{}",
            run.stdout
        );
    }
    assert!(!run.stdout.contains("ignored.log"), "{}", run.stdout);
    for secret in [&redis, &searx, &url] {
        assert!(!run.stdout.contains(secret.as_str()) && !run.stderr.contains(secret.as_str()));
    }
    // Explicit paths: only those.
    let one = s.run(&["scan", "docs"]);
    assert_eq!(one.code, 1);
    assert_eq!(one.stdout.lines().count(), 1, "{}", one.stdout);

    // A previous value is found too, and named as such.
    s.run(&["rotate", "REDIS_PASSWORD"]).ok();
    let run = s.run(&["scan", "docs"]);
    assert!(
        run.stdout
            .contains("REDIS_PASSWORD (previous value, base64"),
        "{}",
        run.stdout
    );
}

#[test]
fn scan_git_searches_every_blob_of_the_history() {
    let s = repo();
    let secret = value(&s, "STRAPI_JWT_SECRET");
    git(&s, &["checkout", "-qb", "feature"]);
    s.write("app.conf", &format!("a\nb\njwt = \"{secret}\"\n"));
    git(&s, &["add", "app.conf"]);
    git(&s, &["commit", "-qm", "oops"]);
    let leak = git(&s, &["rev-parse", "--short", "HEAD"]);
    git(&s, &["rm", "-q", "app.conf"]);
    git(&s, &["commit", "-qm", "remove it"]);
    git(&s, &["checkout", "-q", "main"]);
    assert_eq!(s.run(&["scan"]).code, 0, "the tree is clean");
    let run = s.run(&["scan", "--git"]);
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert_eq!(
        run.stdout,
        format!("{}:app.conf:3: STRAPI_JWT_SECRET (as is)\n", leak.trim())
    );
}

#[test]
fn the_pre_commit_hook_refuses_staged_values_and_keeps_other_hooks() {
    let s = repo();
    let run = s.run(&["scan", "--install-hook"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(run.stderr.contains("installed"), "{}", run.stderr);
    s.run(&["scan", "--install-hook"]).ok(); // again: harmless

    s.write("fine.md", "nothing here\n");
    git(&s, &["add", "fine.md"]);
    git(&s, &["commit", "-qm", "fine"]);

    // Staged content counts, not the file on disk.
    let secret = value(&s, "HOCUSPOCUS_SECRET");
    s.write(
        "deploy.sh",
        &format!("#!/bin/sh\nexport SECRET='{secret}'\n"),
    );
    git(&s, &["add", "deploy.sh"]);
    s.write("deploy.sh", "#!/bin/sh\n");
    let commit = git_command(&s, &["commit", "-qm", "leak"])
        .output()
        .unwrap();
    assert!(
        !commit.status.success(),
        "the hook refused the commit: {}{}",
        String::from_utf8_lossy(&commit.stdout),
        String::from_utf8_lossy(&commit.stderr)
    );
    // git sends a hook's output to its stderr.
    let stderr = String::from_utf8_lossy(&commit.stderr);
    assert!(
        stderr.contains("deploy.sh:2: HOCUSPOCUS_SECRET (as is)"),
        "{stderr}"
    );
    assert!(!stderr.contains(&secret));
    git(&s, &["add", "deploy.sh"]);
    git(&s, &["commit", "-qm", "clean now"]);

    // Another hook is not replaced without --force.
    let hook = s.path(".git/hooks/pre-commit");
    std::fs::write(&hook, "#!/bin/sh\necho mine\n").unwrap();
    let err = s.run(&["scan", "--install-hook"]).fails();
    assert!(
        err.contains("already exists and is not envgen's hook"),
        "{err}"
    );
    assert!(err.contains("--force"), "{err}");
    s.run(&["scan", "--install-hook", "--force"]).ok();
    assert!(
        std::fs::read_to_string(&hook)
            .unwrap()
            .contains("scan --staged")
    );
}
