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
    s.write(".gitignore", "home*/\nid.txt\n*.txt\n*.log\n");
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

/// envgen run by another machine: the same identity, its own HOME (its own pins).
fn run_on(s: &Sandbox, home: &str, args: &[&str]) -> crate::testkit::Run {
    let out = s.command(args).env("HOME", s.path(home)).output().unwrap();
    crate::testkit::Run {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8(out.stdout).unwrap(),
        stderr: String::from_utf8(out.stderr).unwrap(),
    }
}

/// A repository set up with `envgen git setup`, the set-up committed, and a branch `a`.
fn team_repo() -> Sandbox {
    let s = repo();
    let setup = s.run(&["git", "setup"]).ok();
    assert!(
        setup.contains(".gitattributes: added `vault/*.age merge=envgen diff=envgen`"),
        "{setup}"
    );
    let again = s.run(&["git", "setup"]).ok();
    assert!(
        !again.contains("added"),
        "running it again changes nothing: {again}"
    );
    assert_eq!(
        git(&s, &["config", "merge.envgen.driver"]).trim(),
        "envgen merge-driver %O %A %B %P"
    );
    git(&s, &["add", ".gitattributes"]);
    git(&s, &["commit", "-qm", "envgen git setup"]);
    git(&s, &["branch", "a"]);
    s
}

/// Commits everything on the current branch.
fn commit(s: &Sandbox, message: &str) {
    git(s, &["add", "-A"]);
    git(s, &["commit", "-qm", message]);
}

/// Does `work` on branch `a` as machine `home-a`, then returns to main.
fn on_branch_a(s: &Sandbox, work: &[&[&str]]) {
    git(s, &["checkout", "-q", "a"]);
    for args in work {
        let run = run_on(s, "home-a", args);
        assert_eq!(run.code, 0, "{args:?}: {}", run.stderr);
    }
    commit(s, "on a");
    git(s, &["checkout", "-q", "main"]);
}

fn merge_a(s: &Sandbox) -> std::process::Output {
    git_command(s, &["merge", "--no-edit", "a"])
        .env("HOME", s.path("home-main"))
        .output()
        .unwrap()
}

fn get_on(s: &Sandbox, home: &str, name: &str) -> String {
    let run = run_on(s, home, &["get", name]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    run.stdout
}

#[test]
fn a_real_git_merge_of_different_variables_is_accepted_by_both_machines() {
    let s = team_repo();
    // Machine "a" has seen branch a only; machine "main" (which merges) main only.
    let old_redis = get_on(&s, "home-main", "REDIS_PASSWORD");
    on_branch_a(
        &s,
        &[&["rotate", "REDIS_PASSWORD"], &["rotate", "REDIS_PASSWORD"]],
    );
    let redis_a = {
        git(&s, &["checkout", "-q", "a"]);
        let v = get_on(&s, "home-a", "REDIS_PASSWORD");
        git(&s, &["checkout", "-q", "main"]);
        v
    };
    let run = run_on(&s, "home-main", &["rotate", "SEARXNG_SECRET"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let searx_main = get_on(&s, "home-main", "SEARXNG_SECRET");
    commit(&s, "on main");

    let merged = merge_a(&s);
    let stderr = String::from_utf8_lossy(&merged.stderr).into_owned()
        + &String::from_utf8_lossy(&merged.stdout);
    assert!(merged.status.success(), "{stderr}");
    assert!(
        stderr.contains("envgen: merged vault/alecia.age per variable")
            && stderr.contains("from the other branch: REDIS_PASSWORD, REDIS_URL")
                | stderr.contains("from the other branch: REDIS_PASSWORD"),
        "{stderr}"
    );
    assert!(git(&s, &["status", "--porcelain"]).trim().is_empty());

    // Both machines accept the merge; each value comes from the branch that changed it.
    for home in ["home-main", "home-a"] {
        assert_eq!(get_on(&s, home, "REDIS_PASSWORD"), redis_a, "{home}");
        assert_eq!(get_on(&s, home, "SEARXNG_SECRET"), searx_main, "{home}");
    }
    // REDIS_PASSWORD's history holds both of branch a's previous values.
    let history = s.run(&["history", "REDIS_PASSWORD"]).ok();
    assert!(history.lines().count() >= 3, "{history}");
    assert_ne!(old_redis, redis_a);
    let text = s.run(&["textconv", "vault/alecia.age"]).ok();
    assert!(
        text.contains("generation 4"),
        "max(2 on main, 3 on a) + 1: {text}"
    );
}

#[test]
fn the_same_variable_changed_on_both_branches_is_a_conflict_that_names_it() {
    let s = team_repo();
    on_branch_a(
        &s,
        &[
            &["rotate", "REDIS_PASSWORD"],
            &["rotate", "HOCUSPOCUS_SECRET"],
        ],
    );
    run_on(&s, "home-main", &["rotate", "REDIS_PASSWORD"]);
    commit(&s, "on main");
    let ours = s.read("vault/alecia.age");
    let merged = merge_a(&s);
    assert!(!merged.status.success());
    let stderr = String::from_utf8_lossy(&merged.stderr);
    let stdout = String::from_utf8_lossy(&merged.stdout);
    assert!(
        stderr.contains(
            "error: cannot merge vault/alecia.age: REDIS_PASSWORD changed differently on both sides"
        ),
        "{stderr}"
    );
    assert!(!stderr.contains("HOCUSPOCUS_SECRET changed"), "{stderr}");
    assert!(
        stdout.contains("CONFLICT") && stdout.contains("vault/alecia.age"),
        "{stdout}"
    );
    assert_eq!(
        s.read("vault/alecia.age"),
        ours,
        "the file is left as it was"
    );
    git(&s, &["merge", "--abort"]);
}

#[test]
fn recipients_added_on_one_branch_and_a_rotation_on_the_other_merge() {
    let s = team_repo();
    let bob = {
        s.run(&["keygen", "-o", "bob.txt"]).ok();
        let text = String::from_utf8(s.read("bob.txt")).unwrap();
        text.lines()
            .find_map(|l| l.strip_prefix("# public key: "))
            .unwrap()
            .to_string()
    };
    on_branch_a(&s, &[&["recipients", "add", &bob]]);
    run_on(&s, "home-main", &["rotate", "REDIS_PASSWORD"]);
    let redis = get_on(&s, "home-main", "REDIS_PASSWORD");
    commit(&s, "rotation on main");
    let merged = merge_a(&s);
    assert!(
        merged.status.success(),
        "{}",
        String::from_utf8_lossy(&merged.stderr)
    );
    // Bob can read the merged vault, with main's rotation in it.
    let as_bob = s
        .command(&["get", "REDIS_PASSWORD"])
        .env("HOME", s.path("home-bob"))
        .env("ENVGEN_IDENTITY", s.path("bob.txt"))
        .output()
        .unwrap();
    assert_eq!(String::from_utf8_lossy(&as_bob.stdout), redis);
    let listed = s.run(&["recipients", "list"]).ok();
    assert!(listed.contains(&bob), "{listed}");
    // The recipients file agrees with the vault: the next write needs no --update-recipients.
    run_on(&s, "home-a", &["rotate", "SEARXNG_SECRET"]);
    s.run(&["rotate", "SEARXNG_SECRET"]).ok();
}

#[test]
fn a_removal_on_one_branch_wins_and_exposes_what_the_other_branch_changed() {
    let s = team_repo();
    s.run(&["keygen", "-o", "bob.txt"]).ok();
    let bob = String::from_utf8(s.read("bob.txt"))
        .unwrap()
        .lines()
        .find_map(|l| l.strip_prefix("# public key: "))
        .unwrap()
        .to_string();
    run_on(&s, "home-main", &["recipients", "add", &bob]);
    commit(&s, "bob joins");
    git(&s, &["branch", "-f", "a"]);
    // Branch a removes Bob (a new lineage) and rotates one secret; main rotates another,
    // which Bob can still read there.
    on_branch_a(
        &s,
        &[
            &["recipients", "remove", &bob],
            &["rotate", "REDIS_PASSWORD"],
        ],
    );
    run_on(&s, "home-main", &["rotate", "HOCUSPOCUS_SECRET"]);
    commit(&s, "rotation on main");
    let merged = merge_a(&s);
    let stderr = String::from_utf8_lossy(&merged.stderr);
    assert!(merged.status.success(), "{stderr}");
    assert!(
        stderr.contains("stays removed; rotation is due"),
        "{stderr}"
    );
    assert!(!s.run(&["recipients", "list"]).ok().contains(&bob));
    // Machines pinned to either lineage follow the merge.
    for home in ["home-main", "home-a"] {
        let check = run_on(&s, home, &["check"]);
        assert!(
            check
                .stdout
                .contains("exposed HOCUSPOCUS_SECRET: readable by"),
            "{home}: {}{}",
            check.stdout,
            check.stderr
        );
    }
    let check = s.run(&["check"]).stdout;
    assert!(!check.contains("exposed REDIS_PASSWORD"), "{check}");
}

#[test]
fn a_forged_vault_on_a_branch_is_not_merged() {
    let s = team_repo();
    git(&s, &["checkout", "-q", "a"]);
    std::fs::remove_file(s.path("vault/alecia.age")).unwrap();
    std::fs::remove_file(s.path("vault/alecia.recipients")).unwrap();
    // A new vault with the same recipients: valid age, unknown lineage.
    let other = run_on(&s, "home-forger", &["init"]);
    assert_eq!(other.code, 0, "{}", other.stderr);
    commit(&s, "forged");
    git(&s, &["checkout", "-q", "main"]);
    run_on(&s, "home-main", &["rotate", "REDIS_PASSWORD"]);
    commit(&s, "on main");
    let merged = merge_a(&s);
    assert!(!merged.status.success());
    let stderr = String::from_utf8_lossy(&merged.stderr);
    assert!(
        stderr.contains("theirs is not a version of this vault"),
        "{stderr}"
    );
    git(&s, &["merge", "--abort"]);
}

#[test]
fn git_checkout_of_an_older_branch_works_and_a_file_swapped_behind_gits_back_does_not() {
    let s = repo();
    git(&s, &["checkout", "-qb", "feature"]);
    s.run(&["rotate", "REDIS_PASSWORD"]).ok();
    s.run(&["rotate", "REDIS_PASSWORD"]).ok();
    commit(&s, "two rotations on feature"); // generation 3
    git(&s, &["checkout", "-q", "main"]); // generation 1, older than what was seen
    let main_value = s.run(&["get", "REDIS_PASSWORD"]).ok();
    // A write here goes above everything seen, so the other branch is older in turn.
    s.run(&["rotate", "SEARXNG_SECRET"]).ok();
    commit(&s, "rotation on main");
    git(&s, &["checkout", "-q", "feature"]);
    assert_ne!(s.run(&["get", "REDIS_PASSWORD"]).ok(), main_value);
    git(&s, &["checkout", "-q", "main"]);
    s.run(&["list"]).ok();

    // The first version, copied over the file behind git's back: refused.
    let first = git_command(&s, &["show", "main~1:vault/alecia.age"])
        .output()
        .unwrap()
        .stdout;
    let current = s.read("vault/alecia.age");
    std::fs::write(s.path("vault/alecia.age"), &first).unwrap();
    let err = s.run(&["get", "REDIS_PASSWORD"]).fails();
    assert!(err.contains("it was rolled back"), "{err}");
    std::fs::write(s.path("vault/alecia.age"), &current).unwrap();
    s.run(&["get", "REDIS_PASSWORD"]).ok();

    // A newer version seen here but discarded (never committed): the branch is refused,
    // since the repository does not hold what this machine saw.
    s.run(&["rotate", "REDIS_PASSWORD"]).ok();
    git(&s, &["checkout", "-q", "--", "vault/alecia.age"]);
    let err = s.run(&["get", "REDIS_PASSWORD"]).fails();
    assert!(err.contains("it was rolled back"), "{err}");
    assert!(err.contains("--accept-vault"), "{err}");
}

/// Security review: an old vault committed on top of the newer one (and pulled) passes both
/// "the file is HEAD's blob" and "the history holds the newer version"; it is a rollback
/// made with an ordinary commit, not a branch, and is refused.
#[test]
fn an_old_vault_committed_on_top_of_the_newer_one_is_refused() {
    let s = repo();
    let old = s.read("vault/alecia.age");
    s.run(&["rotate", "REDIS_PASSWORD"]).ok();
    commit(&s, "rotate after a leak");
    s.run(&["get", "REDIS_PASSWORD"]).ok();
    std::fs::write(s.path("vault/alecia.age"), &old).unwrap();
    commit(
        &s,
        "an ordinary-looking commit that puts the leaked value back",
    );
    let err = s.run(&["get", "REDIS_PASSWORD"]).fails();
    assert!(err.contains("it was rolled back"), "{err}");
}
