//! Rotation a production operator can trust: history, rollback, guards, dry runs, due dates,
//! the audit trail, and reviewable diffs, through the real binary.

use std::collections::BTreeMap;
use std::process::Command;

use crate::testkit::{Sandbox, python_dotenv, rendered_values};

fn initialized() -> Sandbox {
    let s = Sandbox::new();
    s.run(&["init"]).ok();
    s
}

/// Every value the vault holds, current and previous, as the age CLI decrypts it.
fn every_stored_value(s: &Sandbox) -> Vec<String> {
    let json = s.age_decrypt();
    let mut values = Vec::new();
    for entry in json["variables"].as_object().unwrap().values() {
        values.push(entry["value"].as_str().unwrap().to_string());
        values.extend(entry["hash"].as_str().map(String::from));
        for v in entry["history"].as_array().into_iter().flatten() {
            values.push(v["value"].as_str().unwrap().to_string());
            values.extend(v["hash"].as_str().map(String::from));
        }
    }
    values.retain(|v| v != "alecia" && v != "aleciaadmin");
    values
}

#[test]
fn rotate_then_rollback_restores_the_exact_old_value_and_its_dependents() {
    let s = initialized();
    let original = rendered_values(&s);
    s.run(&["rotate", "REDIS_PASSWORD"]).ok();
    s.run(&["rotate", "REDIS_PASSWORD"]).ok();
    let rotated = rendered_values(&s);
    assert_ne!(rotated["REDIS_PASSWORD"], original["REDIS_PASSWORD"]);

    let history = s.run(&["history", "REDIS_PASSWORD"]).ok();
    let rows: Vec<&str> = history.lines().filter(|l| !l.starts_with('#')).collect();
    assert!(rows[0].starts_with("VERSION"));
    assert!(
        rows[1].starts_with("current") && rows[1].contains(" rotate "),
        "{history}"
    );
    assert!(
        rows[2].starts_with("1 ") && rows[2].contains(" rotate "),
        "{history}"
    );
    assert!(
        rows[3].starts_with("2 ") && rows[3].contains(" init "),
        "{history}"
    );
    assert_eq!(rows.len(), 4);

    let out = s.run(&["rollback", "REDIS_PASSWORD", "--to", "2"]).ok();
    assert!(
        out.starts_with("rolled back REDIS_PASSWORD to version 2 (set "),
        "{out}"
    );
    assert!(out.ends_with("re-derived REDIS_URL\n"), "{out}");
    // Read back through the real python-dotenv: every variable is exactly as at init.
    assert_eq!(rendered_values(&s), original);

    // The rollback itself went into history and can be undone.
    s.run(&["rollback", "REDIS_PASSWORD"]).ok();
    assert_eq!(
        rendered_values(&s)["REDIS_PASSWORD"],
        rotated["REDIS_PASSWORD"]
    );

    let err = s.run(&["rollback", "REDIS_PASSWORD", "--to", "9"]).fails();
    assert!(
        err.contains("REDIS_PASSWORD has 2 previous version(s); there is no version 9"),
        "{err}"
    );
    let err = s.run(&["rollback", "REDIS_URL"]).fails();
    assert!(
        err.contains("REDIS_URL is derived from REDIS_PASSWORD"),
        "{err}"
    );
}

#[test]
fn guarded_variables_are_refused_without_force_and_the_vault_is_untouched() {
    let s = initialized();
    let vault = s.read("vault/alecia.age");
    let journal = s.journal();
    for (name, impact, breaks) in [
        ("AP_ENCRYPTION_KEY", "data", "saved connections"),
        ("POSTGRES_PASSWORD", "op", "ALTER ROLE"),
        ("PLAUSIBLE_TOTP_VAULT_KEY", "data", "2FA"),
    ] {
        let err = s.run(&["rotate", name]).fails();
        assert!(
            err.contains(&format!("refusing to change {name}:")),
            "{err}"
        );
        assert!(
            err.contains(&format!("{name} (impact: {impact}):")),
            "{err}"
        );
        assert!(err.contains(breaks) || name == "POSTGRES_PASSWORD", "{err}");
        assert!(err.contains("--force"), "{err}");
        assert_eq!(s.read("vault/alecia.age"), vault, "byte-for-byte unchanged");
        assert_eq!(s.journal(), journal, "nothing happened, nothing logged");
    }
    // Mixed with a free one, nothing at all is rotated.
    s.run(&["rotate", "REDIS_PASSWORD", "AP_ENCRYPTION_KEY"])
        .fails();
    assert_eq!(s.read("vault/alecia.age"), vault);

    let before = rendered_values(&s);
    let forced = s.run(&["rotate", "--force", "POSTGRES_PASSWORD"]);
    assert_eq!(forced.code, 0, "{}", forced.stderr);
    assert_eq!(
        forced.stdout,
        "rotated POSTGRES_PASSWORD\nre-derived DATABASE_URL\n"
    );
    assert!(
        forced.stderr.contains(
            "next steps for POSTGRES_PASSWORD:\n  1. Before deploying, change it inside PostgreSQL"
        ),
        "{}",
        forced.stderr
    );
    assert!(forced.stderr.contains("ALTER ROLE"));
    let after = rendered_values(&s);
    let changed: Vec<&String> = before.keys().filter(|k| before[*k] != after[*k]).collect();
    assert_eq!(changed, ["DATABASE_URL", "POSTGRES_PASSWORD"]);
}

#[test]
fn dry_run_changes_nothing() {
    let s = initialized();
    let vault = s.read("vault/alecia.age");
    let journal = s.journal();
    let out = s.run(&[
        "rotate",
        "--dry-run",
        "POSTGRES_PASSWORD",
        "CLICKHOUSE_PASSWORD",
    ]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_eq!(
        out.stdout,
        "would rotate POSTGRES_PASSWORD (impact op: needs --force)\nwould rotate CLICKHOUSE_PASSWORD\n\
         would re-derive DATABASE_URL\nwould re-derive CLICKHOUSE_DATABASE_URL\n"
    );
    assert!(out.stderr.contains("dry run: nothing was changed"));
    assert_eq!(s.read("vault/alecia.age"), vault);
    assert_eq!(s.journal(), journal);
}

#[test]
fn rotate_all_renews_exactly_the_free_secrets() {
    let s = initialized();
    let before = rendered_values(&s);
    let run = s.run(&["rotate", "--all"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(run.stderr.contains("not rotated by --all (guarded; rotate each with --force when ready): POSTGRES_PASSWORD, MINIO_ROOT_PASSWORD"), "{}", run.stderr);
    let after = rendered_values(&s);
    let changed: Vec<&str> = before
        .keys()
        .filter(|k| before[*k] != after[*k])
        .map(String::as_str)
        .collect();
    let expected = [
        "AP_JWT_SECRET",
        "CLICKHOUSE_DATABASE_URL",
        "CLICKHOUSE_PASSWORD",
        "HOCUSPOCUS_SECRET",
        "REDIS_PASSWORD",
        "REDIS_URL",
        "SEARXNG_SECRET",
        "STRAPI_ADMIN_JWT_SECRET",
        "STRAPI_APP_KEYS",
        "STRAPI_JWT_SECRET",
        "STRAPI_TRANSFER_TOKEN_SALT",
        "VAULTWARDEN_ADMIN_TOKEN",
    ];
    assert_eq!(changed, expected);
}

#[test]
fn strapi_app_keys_rotate_by_putting_a_new_key_first() {
    let s = initialized();
    let old: Vec<String> = rendered_values(&s)["STRAPI_APP_KEYS"]
        .split(',')
        .map(String::from)
        .collect();
    s.run(&["rotate", "STRAPI_APP_KEYS"]).ok();
    let new: Vec<String> = rendered_values(&s)["STRAPI_APP_KEYS"]
        .split(',')
        .map(String::from)
        .collect();
    assert_eq!(new.len(), 4);
    assert!(!old.contains(&new[0]), "a fresh key signs");
    assert_eq!(
        new[1..],
        old[..3],
        "the previous keys still verify; the oldest is dropped"
    );
}

#[test]
fn the_history_bound_holds() {
    let s = initialized();
    for _ in 0..8 {
        s.run(&["rotate", "SEARXNG_SECRET"]).ok();
    }
    let json = s.age_decrypt();
    assert_eq!(
        json["variables"]["SEARXNG_SECRET"]["history"]
            .as_array()
            .unwrap()
            .len(),
        5
    );
    let history = s.run(&["history", "SEARXNG_SECRET"]).ok();
    assert!(
        history.starts_with("# SEARXNG_SECRET: 5 previous version(s) kept of at most 5\n"),
        "{history}"
    );
    assert_eq!(history.lines().count(), 2 + 6);
}

#[test]
fn no_command_but_render_and_get_prints_a_value() {
    let s = initialized();
    for name in [
        "REDIS_PASSWORD",
        "STRAPI_APP_KEYS",
        "VAULTWARDEN_ADMIN_TOKEN",
    ] {
        s.run(&["rotate", name]).ok();
    }
    s.run(&["rotate", "--force", "AP_ENCRYPTION_KEY"]).ok();
    s.run(&["rollback", "REDIS_PASSWORD"]).ok();
    std::fs::copy(s.path("vault/alecia.age"), s.path("old.age")).unwrap();
    s.run(&["rotate", "HOCUSPOCUS_SECRET"]).ok();
    let secrets = every_stored_value(&s);
    assert!(
        secrets.len() >= 30,
        "current and previous values: {}",
        secrets.len()
    );

    let mut runs = vec![
        s.run(&["list"]),
        s.run(&["check"]),
        s.run(&["diff", "old.age"]),
        s.run(&["textconv", "vault/alecia.age"]),
        s.run(&["rotate", "--dry-run", "--all"]),
        s.run(&["rotate", "--all"]),
        s.run(&["rotate", "AP_ENCRYPTION_KEY"]),
        s.run(&["rollback", "SEARXNG_SECRET"]),
        s.run(&["init"]),
        s.run(&["--help"]),
        s.run(&["rotate", "--help"]),
    ];
    let schema = String::from_utf8(s.read("schema/alecia.toml")).unwrap();
    for line in schema.lines().filter_map(|l| l.strip_prefix("name = \"")) {
        runs.push(s.run(&["history", line.trim_end_matches('"')]));
    }
    let audit = s.journal();
    for run in &runs {
        for secret in &secrets {
            for text in [&run.stdout, &run.stderr, &audit] {
                assert!(
                    !text.contains(secret.as_str()),
                    "a value was printed: {text}"
                );
                assert!(
                    !text.contains(&secret[..16]),
                    "part of a value was printed: {text}"
                );
            }
        }
    }
}

#[test]
fn check_reports_overdue_and_missing_values() {
    let s = initialized();
    let ok = s.run(&["check"]);
    assert_eq!(
        (
            ok.code,
            ok.stdout
                .starts_with("ok: vault/alecia.age holds every variable")
        ),
        (0, true),
        "{}",
        ok.stdout
    );

    let schema = String::from_utf8(s.read("schema/alecia.toml")).unwrap();
    let short = schema.replacen("max_age = \"180d\"", "max_age = \"2s\"", 1);
    s.write("schema/alecia.toml", &short);
    // Dates have whole seconds: 3.1 s later the value is surely older than 2 s.
    std::thread::sleep(std::time::Duration::from_millis(3100));
    let overdue = s.run(&["check"]);
    assert_eq!(overdue.code, 1, "{}", overdue.stderr);
    assert!(
        overdue
            .stdout
            .starts_with("overdue REDIS_PASSWORD: rotated "),
        "{}",
        overdue.stdout
    );
    assert!(overdue.stdout.contains("max age 2s"), "{}", overdue.stdout);
    assert!(
        s.run(&["list"])
            .ok()
            .lines()
            .any(|l| l.starts_with("REDIS_PASSWORD") && l.contains("OVERDUE"))
    );
    s.run(&["rotate", "REDIS_PASSWORD"]).ok();
    assert_eq!(s.run(&["check"]).code, 0);

    let extra = format!(
        "{short}\n[[variable]]\nname = \"LATE\"\nkind = \"secret\"\nencoding = \"hex\"\nbytes = 8\ndescription = \"d\"\nservices = [\"x\"]\n"
    );
    s.write("schema/alecia.toml", &extra);
    let missing = s.run(&["check"]);
    assert_eq!(missing.code, 1);
    assert!(
        missing.stdout.contains("missing LATE: run `envgen init`"),
        "{}",
        missing.stdout
    );
}

#[test]
fn the_journal_records_operations_names_and_actor_only_outside_the_repository() {
    let s = initialized();
    s.run(&["rotate", "REDIS_PASSWORD"]).ok();
    s.run(&["rollback", "REDIS_PASSWORD"]).ok();
    s.run(&["render"]).ok();
    s.run(&["rotate", "AP_ENCRYPTION_KEY"]).fails();
    let me = s.public_key();
    let identity = s.path("id.txt").display().to_string();
    let lines: Vec<serde_json::Value> = s
        .journal()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let ops: Vec<&str> = lines.iter().map(|l| l["op"].as_str().unwrap()).collect();
    assert_eq!(
        ops,
        ["init", "rotate", "rollback", "render"],
        "a refused rotation is not logged"
    );
    assert!(
        lines
            .iter()
            .all(|l| l["by"] == identity.as_str() && l["time"].as_str().unwrap().ends_with('Z')),
        "the journal names the identity file that opened the vault"
    );
    // The vault's own history names the public key of who made each change.
    let history = s.run(&["history", "REDIS_PASSWORD"]).ok();
    let shown = format!("{}…{}", &me[..12], &me[me.len() - 4..]);
    assert!(history.contains(&format!("rollback  {shown}")), "{history}");
    assert_eq!(lines[1]["names"], serde_json::json!(["REDIS_PASSWORD"]));
    assert_eq!(lines[0]["names"].as_array().unwrap().len(), 25);
}

/// Issue 11: reads leave the vault's directory byte for byte as it was (no audit line, no
/// lock file, no timestamp change), so deploys on many hosts make no git change.
#[test]
fn reads_leave_the_vault_directory_untouched() {
    let s = initialized();
    std::fs::copy(s.path("vault/alecia.age"), s.path("old.age")).unwrap();
    let snapshot = |s: &Sandbox| {
        let mut entries: Vec<(String, Vec<u8>, std::time::SystemTime)> =
            std::fs::read_dir(s.path("vault"))
                .unwrap()
                .map(|e| {
                    let e = e.unwrap();
                    let meta = std::fs::symlink_metadata(e.path()).unwrap();
                    (
                        e.file_name().to_string_lossy().into_owned(),
                        std::fs::read(e.path()).unwrap(),
                        meta.modified().unwrap(),
                    )
                })
                .collect();
        entries.sort();
        entries
    };
    let before = snapshot(&s);
    let journal = s.journal();
    s.render_to(".env");
    for args in [
        &["render", "--format", "json"][..],
        &["exec", "--", "true"],
        &["get", "REDIS_PASSWORD"],
        &["list"],
        &["history", "REDIS_PASSWORD"],
        &["check"],
        &["textconv", "vault/alecia.age"],
        &["whoami"],
    ] {
        s.run(args).ok();
    }
    assert_eq!(s.run(&["diff", "old.age"]).code, 0);
    assert_eq!(s.run(&["diff", ".env"]).code, 0);
    assert_eq!(snapshot(&s), before, "the vault directory did not change");
    let ops: Vec<String> = s.journal()[journal.len()..]
        .lines()
        .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap()["op"].to_string())
        .collect();
    assert_eq!(
        ops,
        ["\"render\"", "\"render\"", "\"exec\"", "\"get\""],
        "reads are journaled on the machine"
    );
}

#[test]
fn diff_names_what_changed_between_two_versions_of_the_vault() {
    let s = initialized();
    std::fs::copy(s.path("vault/alecia.age"), s.path("old.age")).unwrap();
    let same = s.run(&["diff", "old.age"]);
    assert_eq!((same.code, same.stdout.as_str()), (0, ""));

    s.run(&["rotate", "REDIS_PASSWORD"]).ok();
    let diff = s.run(&["diff", "old.age"]);
    assert_eq!(diff.code, 1, "{}", diff.stderr);
    let lines: Vec<&str> = diff.stdout.lines().collect();
    assert_eq!(lines.len(), 2, "{}", diff.stdout);
    let parts: Vec<&str> = lines[0].split(' ').collect();
    assert_eq!(parts[..2], ["changed", "REDIS_PASSWORD"]);
    assert_eq!((parts[2].len(), parts[3], parts[4].len()), (8, "->", 8));
    assert_ne!(parts[2], parts[4]);
    assert_eq!(lines[1], "re-derived REDIS_URL");
}

fn git(s: &Sandbox, args: &[&str]) -> String {
    let out = Command::new("git")
        .args(args)
        .current_dir(s.dir.path())
        .env("HOME", s.path("home"))
        .env("ENVGEN_IDENTITY", s.path("id.txt"))
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .output()
        .expect("git runs");
    assert!(
        out.status.success(),
        "git {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

#[test]
fn git_diff_shows_which_variables_changed_through_textconv() {
    let s = initialized();
    let envgen = assert_cmd::cargo::cargo_bin("envgen");
    git(&s, &["init", "-q"]);
    git(&s, &["config", "user.email", "t@example.invalid"]);
    git(&s, &["config", "user.name", "t"]);
    git(
        &s,
        &[
            "config",
            "diff.envgen.textconv",
            &format!("{} textconv", envgen.display()),
        ],
    );
    s.write(".gitattributes", "vault/*.age diff=envgen\n");
    git(
        &s,
        &[
            "add",
            ".gitattributes",
            "vault/alecia.age",
            "vault/alecia.recipients",
        ],
    );
    git(&s, &["commit", "-qm", "init"]);
    s.run(&["rotate", "REDIS_PASSWORD"]).ok();
    let diff = git(&s, &["diff", "vault/alecia.age"]);
    let removed: Vec<&str> = diff
        .lines()
        .filter(|l| l.starts_with('-') && !l.starts_with("---"))
        .collect();
    let added: Vec<&str> = diff
        .lines()
        .filter(|l| l.starts_with('+') && !l.starts_with("+++"))
        .collect();
    assert_eq!(removed.len(), 2, "{diff}");
    assert_eq!(added.len(), 2, "{diff}");
    // The header shows the reviewer the lineage (unchanged) and the new generation.
    let header = |line: &str| {
        line[1..]
            .rsplit_once(", generation ")
            .unwrap()
            .0
            .to_string()
    };
    assert_eq!(header(removed[0]), header(added[0]), "{diff}");
    assert!(
        removed[0].ends_with("generation 1") && added[0].ends_with("generation 2"),
        "{diff}"
    );
    let (removed, added) = (&removed[1..], &added[1..]);
    assert!(
        removed[0].starts_with("-REDIS_PASSWORD ") && added[0].starts_with("+REDIS_PASSWORD "),
        "{diff}"
    );
    assert!(added[0].contains("(rotate)"), "{diff}");
    let values: BTreeMap<String, String> = python_dotenv(&{
        s.render_to(".env");
        s.path(".env")
    });
    for value in values.values().filter(|v| v.len() > 16) {
        assert!(
            !diff.contains(&value[..16]),
            "git diff shows a value: {diff}"
        );
    }
}

/// Issue 9: a fixed value could not be changed after init.
#[test]
fn set_changes_fixed_values_with_history_and_derived_values_follow() {
    let s = initialized();
    let out = s.run(&["set", "POSTGRES_USER=stack"]).ok();
    assert_eq!(out, "set POSTGRES_USER\nre-derived DATABASE_URL\n");
    assert_eq!(s.run(&["get", "POSTGRES_USER"]).ok(), "stack\n");
    assert!(
        s.run(&["get", "DATABASE_URL"])
            .ok()
            .starts_with("postgresql://stack:")
    );
    let history = s.run(&["history", "POSTGRES_USER"]).ok();
    assert!(
        history.lines().nth(2).unwrap().contains(" set "),
        "{history}"
    );
    assert_eq!(
        s.run(&["set", "POSTGRES_USER=stack"]).ok(),
        "unchanged POSTGRES_USER\n"
    );
    s.run(&["rollback", "POSTGRES_USER"]).ok();
    assert_eq!(s.run(&["get", "POSTGRES_USER"]).ok(), "alecia\n");

    let err = s.run(&["set", "REDIS_PASSWORD=chosen"]).fails();
    assert!(
        err.contains("REDIS_PASSWORD is a generated secret, and secrets never go through argv"),
        "{err}"
    );
    let err = s.run(&["set", "POSTGRES_USER=Bad Name"]).fails();
    assert!(
        err.contains("POSTGRES_USER: the value does not match the pattern"),
        "{err}"
    );
    assert!(!err.contains("Bad Name"), "{err}");
    for args in [
        &["set", "REDIS_URL=x"][..],
        &["history", "REDIS_URL"],
        &["rollback", "REDIS_URL"],
    ] {
        let err = s.run(args).fails();
        assert!(
            err.contains(
                "REDIS_URL is derived from REDIS_PASSWORD: it has no value or versions of its own"
            ),
            "{args:?}: {err}"
        );
        assert!(!err.contains("cannot be rotated"), "{err}");
    }
    let err = s.run(&["rotate", "POSTGRES_USER"]).fails();
    assert!(err.contains("envgen set POSTGRES_USER=VALUE"), "{err}");
}

/// The rotation steps of the bundled schema, as (variable, step) pairs.
fn bundled_steps() -> Vec<(String, String)> {
    let schema: toml::Value =
        toml::from_str(&std::fs::read_to_string(crate::testkit::bundled_schema()).unwrap())
            .unwrap();
    let mut steps = Vec::new();
    for var in schema["variable"].as_array().unwrap() {
        let Some(rotation) = var.get("rotation") else {
            continue;
        };
        for step in rotation["steps"].as_array().into_iter().flatten() {
            steps.push((
                var["name"].as_str().unwrap().to_string(),
                step.as_str().unwrap().to_string(),
            ));
        }
    }
    steps
}

#[test]
fn issue_9_every_step_that_runs_compose_goes_through_envgen_exec() {
    // With the README's `envgen exec` workflow no .env exists: a bare `docker compose up`
    // gives every service empty values, the original failure.
    let steps = bundled_steps();
    assert!(steps.len() > 30, "{}", steps.len());
    for (name, step) in &steps {
        let compose_runs = step.matches("docker compose").count();
        assert_eq!(
            step.matches("envgen exec -- docker compose").count(),
            compose_runs,
            "{name}: {step}"
        );
        // Written `what to do: command`, the command running to the end of the step: it
        // must at least be valid sh.
        let command = step.split_once(": ").map_or("", |(_, c)| c);
        if command.starts_with("envgen ") || command.contains("docker compose") {
            let syntax = Command::new("sh")
                .args(["-n", "-c", command])
                .output()
                .unwrap();
            assert!(syntax.status.success(), "{name}: not valid sh: {command}");
        } else {
            assert!(!step.contains("docker compose"), "{name}: {step}");
        }
        assert!(!step.contains("-d alecia"), "{name}: {step}");
    }
}

#[test]
fn issue_9_postgresql_steps_send_a_verifier_never_the_password() {
    for (name, step) in bundled_steps() {
        if !step.contains("ALTER ROLE") {
            continue;
        }
        assert!(
            step.contains(&format!("envgen get --scram-sha-256 {name})")),
            "{name}: {step}"
        );
        assert!(
            !step.contains(&format!("envgen get {name})")),
            "{name}: {step}"
        );
        assert!(
            step.contains("ALTER ROLE \\\""),
            "the role is quoted: {step}"
        );
    }
}

#[test]
fn issue_9_database_url_names_the_database_after_postgres_user() {
    let s = Sandbox::new();
    s.run(&["init", "--set", "POSTGRES_USER=stack"]).ok();
    let url = s.run(&["get", "DATABASE_URL"]).ok();
    assert!(url.starts_with("postgresql://stack:"), "{url}");
    assert!(url.ends_with("@postgres:5432/stack\n"), "{url}");
    // The stack's compose file agrees: its postgres service names the database the same way.
    let compose = std::fs::read_to_string(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/docker-compose.yml"),
    )
    .unwrap();
    let postgres = &compose[compose.find("\n  postgres:\n").unwrap()..];
    let postgres = &postgres[..postgres[1..].find("\n  redis:\n").unwrap()];
    assert!(
        !postgres.contains("POSTGRES_DB") || postgres.contains("POSTGRES_DB: ${POSTGRES_USER}"),
        "{postgres}"
    );
}

#[test]
fn issue_9_get_scram_sha_256_prints_a_verifier_of_the_value() {
    use base64::Engine as _;
    use secrecy::ExposeSecret as _;
    let s = initialized();
    let password = s.run(&["get", "POSTGRES_PASSWORD"]).ok();
    let password = password.trim_end();
    let first = s.run(&["get", "--scram-sha-256", "POSTGRES_PASSWORD"]).ok();
    let second = s.run(&["get", "--scram-sha-256", "POSTGRES_PASSWORD"]).ok();
    assert_ne!(first, second, "a fresh salt each time");
    for verifier in [first, second] {
        let verifier = verifier.strip_suffix('\n').unwrap();
        assert!(!verifier.contains(password));
        let salt = verifier
            .strip_prefix("SCRAM-SHA-256$4096:")
            .and_then(|rest| rest.split('$').next())
            .unwrap();
        let salt = base64::engine::general_purpose::STANDARD
            .decode(salt)
            .unwrap();
        assert_eq!(salt.len(), 16);
        let again = envgen::scram::verifier_with(password, &salt, 4096).unwrap();
        assert_eq!(again.expose_secret(), verifier);
    }

    let both = s.command(&[
        "get",
        "--scram-sha-256",
        "--plaintext",
        "VAULTWARDEN_ADMIN_TOKEN",
    ]);
    let out = { both }.output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(out.stdout.is_empty());
    let err = String::from_utf8(out.stderr).unwrap();
    assert!(
        err.contains("'--scram-sha-256' cannot be used with '--plaintext'"),
        "{err}"
    );
}

#[test]
fn issue_9_get_scram_sha_256_refuses_a_non_ascii_value_without_quoting_it() {
    let s = Sandbox::with_schema(
        "[schema]\nname = \"alecia\"\n\n[[variable]]\nname = \"PG_PASS\"\nkind = \"fixed\"\n\
         default = \"x\"\ndescription = \"d\"\nservices = [\"s\"]\n",
    );
    s.run(&["init", "--set", "PG_PASS=pässwörd"]).ok();
    let err = s.run(&["get", "--scram-sha-256", "PG_PASS"]).fails();
    assert!(err.contains("PG_PASS holds a non-ASCII character"), "{err}");
    assert!(err.contains("SASLprep"), "{err}");
    assert!(err.contains("hint: "), "{err}");
    assert!(!err.contains("pässwörd") && !err.contains("sswö"), "{err}");
}

/// Every change records the public key of who made it (computed when the change is made,
/// never for a read): init, set, rotate and rollback, in each variable's history.
#[test]
fn every_change_records_the_public_key_of_who_made_it() {
    let s = initialized();
    s.run(&["set", "POSTGRES_USER=stack"]).ok();
    s.run(&["rotate", "REDIS_PASSWORD"]).ok();
    s.run(&["rotate", "REDIS_PASSWORD"]).ok();
    s.run(&["rollback", "REDIS_PASSWORD"]).ok();
    let me = s.public_key();
    let shown = format!("{}…{}", &me[..12], &me[me.len() - 4..]);
    // Rows: VERSION SET RETIRED HOW BY FINGERPRINT.
    let rows = |name: &str| -> Vec<(String, String)> {
        let out = s.run(&["history", name]).ok();
        out.lines()
            .filter(|l| l.starts_with("current") || l.starts_with(|c: char| c.is_ascii_digit()))
            .map(|l| {
                let f: Vec<&str> = l.split_whitespace().collect();
                (f[3].to_string(), f[4].to_string())
            })
            .collect()
    };
    let user = rows("POSTGRES_USER");
    let redis = rows("REDIS_PASSWORD");
    let hows =
        |rows: &[(String, String)]| -> Vec<String> { rows.iter().map(|r| r.0.clone()).collect() };
    assert_eq!(hows(&user), ["set", "init"]);
    assert_eq!(hows(&redis), ["rollback", "rotate", "init"]);
    assert!(
        user.iter().chain(&redis).all(|(_, by)| *by == shown),
        "{user:?} {redis:?}"
    );
}

/// Issue 11: `get` and `exec --only` validate the part of the schema their values need (the
/// `[schema]` table, the variables and what they are computed from) and find the others by
/// name only. A fault in another variable is left to the commands that read it; names that
/// change how programs run are still warned about, as by every command.
#[test]
fn get_and_exec_only_read_the_part_of_the_schema_their_values_need() {
    let s = initialized();
    let password = s.run(&["get", "REDIS_PASSWORD"]).ok();
    let url = s.run(&["get", "REDIS_URL"]).ok();
    let schema = String::from_utf8(s.read("schema/alecia.toml")).unwrap();
    s.write(
        "schema/alecia.toml",
        &format!(
            "{schema}\n[[variable]]\nname = \"EXTRA\"\nkind = \"secret\"\nencoding = \"hax\"\nbytes = 32\ndescription = \"d\"\nservices = [\"s\"]\n"
        ),
    );
    assert_eq!(s.run(&["get", "REDIS_PASSWORD"]).ok(), password);
    assert_eq!(s.run(&["get", "REDIS_URL"]).ok(), url);
    // `exec --only` reads the same part for the names it is given.
    let env = s
        .run(&["exec", "--only", "REDIS_URL, POSTGRES_USER", "--", "env"])
        .ok();
    assert!(
        env.contains(&format!("REDIS_URL={url}")),
        "REDIS_URL missing"
    );
    assert!(env.contains("POSTGRES_USER="), "POSTGRES_USER missing");
    assert!(!env.contains("REDIS_PASSWORD="), "REDIS_PASSWORD not asked");
    let render = s.run(&["render"]).fails();
    assert!(render.contains("variable EXTRA"), "{render}");
    assert_eq!(s.run(&["get", "EXTRA"]).fails(), render);
    assert_eq!(s.run(&["exec", "--", "true"]).fails(), render);
    assert_eq!(
        s.run(&["exec", "--only", "REDIS_URL,EXTRA", "--", "true"])
            .fails(),
        render
    );
    // A fault in the variable itself, or in what it reads, is the full parse's error.
    let broken = schema.replacen(
        "name = \"REDIS_PASSWORD\"\nkind = \"secret\"\nencoding = \"hex\"",
        "name = \"REDIS_PASSWORD\"\nkind = \"secret\"\nencoding = \"hax\"",
        1,
    );
    assert_ne!(broken, schema);
    s.write("schema/alecia.toml", &broken);
    let render = s.run(&["render"]).fails();
    assert!(render.contains("variable REDIS_PASSWORD"), "{render}");
    assert_eq!(s.run(&["get", "REDIS_URL"]).fails(), render);
    let exec = s
        .run(&["exec", "--only", "REDIS_URL", "--", "true"])
        .fails();
    assert_eq!(exec, render);
    // A dangerous name anywhere: the same warning as `render` gives.
    s.write(
        "schema/alecia.toml",
        &format!(
            "{schema}\n[[variable]]\nname = \"LD_PRELOAD\"\nkind = \"fixed\"\ndefault = \"x\"\nallow_dangerous_name = true\ndescription = \"d\"\nservices = [\"s\"]\n"
        ),
    );
    let out = s.run(&["get", "REDIS_PASSWORD"]);
    assert_eq!(out.code, 0);
    assert!(
        out.stderr
            .contains("variable LD_PRELOAD has a name that changes how programs run"),
        "{}",
        out.stderr
    );
}
