//! The deployment pipeline: exec without a file, render formats and outputs, compose checks,
//! import of a running stack's .env, and diff against a host's .env.

use std::collections::BTreeMap;
use std::os::unix::fs::PermissionsExt;
use std::os::unix::process::ExitStatusExt;
use std::path::PathBuf;
use std::process::{Command, Stdio};

use crate::testkit::{Sandbox, compose_env, hard_sandbox, stored_values};

fn fixture() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/docker-compose.yml")
}

fn schema_names(s: &Sandbox) -> Vec<String> {
    String::from_utf8(s.read("schema/alecia.toml"))
        .unwrap()
        .lines()
        .filter_map(|l| l.strip_prefix("name = \""))
        .map(|n| n.trim_end_matches('"').to_string())
        .filter(|n| n != "alecia")
        .collect()
}

/// `docker compose config --format json` run through `envgen exec`: what each service sees.
fn compose_through_exec(s: &Sandbox) -> serde_json::Value {
    let binary = crate::testkit::compose_binary();
    let out = s
        .command(&["exec", "--"])
        .arg(binary)
        .args(["-f"])
        .arg(fixture())
        .args(["config", "--format", "json"])
        .env_remove("POSTGRES_PASSWORD")
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert!(
        !stderr.contains("is not set"),
        "compose saw an unset variable: {stderr}"
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

#[test]
fn exec_gives_compose_every_value_without_writing_a_file() {
    let s = Sandbox::new();
    s.run(&["init"]).ok();
    let before: Vec<_> = std::fs::read_dir(s.dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    let config = compose_through_exec(&s);
    let after: Vec<_> = std::fs::read_dir(s.dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(before, after, "no file written");
    let values = stored_values(&s, &schema_names(&s));
    // `config` re-escapes `$` as `$$` in its output.
    let env = |service: &str, key: &str| {
        config["services"][service]["environment"][key]
            .as_str()
            .unwrap()
            .replace("$$", "$")
    };
    assert_eq!(
        env("postgres", "POSTGRES_PASSWORD"),
        values["POSTGRES_PASSWORD"]
    );
    assert_eq!(
        env("vaultwarden", "ADMIN_TOKEN"),
        values["VAULTWARDEN_ADMIN_TOKEN"]
    );
    assert_eq!(env("cms", "APP_KEYS"), values["STRAPI_APP_KEYS"]);
    assert_eq!(
        env("plausible", "CLICKHOUSE_DATABASE_URL"),
        values["CLICKHOUSE_DATABASE_URL"]
    );
    assert_eq!(
        env("flows", "AP_ENCRYPTION_KEY"),
        values["AP_ENCRYPTION_KEY"]
    );
    assert_eq!(
        env("docuseal", "DATABASE_URL"),
        format!(
            "postgresql://alecia:{}@postgres:5432/docuseal",
            values["POSTGRES_PASSWORD"]
        )
    );
    let redis = config["services"]["redis"]["command"].as_array().unwrap();
    assert_eq!(
        redis.last().unwrap().as_str().unwrap(),
        values["REDIS_PASSWORD"]
    );
    let entrypoint = config["services"]["minio-init"]["entrypoint"].to_string();
    assert!(
        entrypoint.contains("$$MINIO_ROOT_USER"),
        "$$ stays for the container: {entrypoint}"
    );
}

#[test]
fn exec_passes_exit_code_stdin_and_signals_through() {
    let s = Sandbox::new();
    s.run(&["init"]).ok();
    let code = s
        .command(&["exec", "--", "sh", "-c", "exit 7"])
        .status()
        .unwrap();
    assert_eq!(code.code(), Some(7));
    let mut child = s
        .command(&["exec", "--", "sh", "-c", "read line; echo \"got $line\""])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    use std::io::Write;
    child.stdin.take().unwrap().write_all(b"hello\n").unwrap();
    assert_eq!(child.wait_with_output().unwrap().stdout, b"got hello\n");
    let signalled = s
        .command(&["exec", "--", "sh", "-c", "kill -TERM $$"])
        .status()
        .unwrap();
    assert_eq!(
        signalled.signal(),
        Some(15),
        "killed by SIGTERM, as the command was"
    );

    // The vault wins over a stale value in the caller's environment; --service selects.
    let out = s
        .command(&["exec", "--service", "vaultwarden", "--", "env"])
        .env("REDIS_PASSWORD", "stale")
        .env("VAULTWARDEN_ADMIN_TOKEN", "stale")
        .output()
        .unwrap();
    let env = String::from_utf8(out.stdout).unwrap();
    assert!(
        env.lines()
            .any(|l| l.starts_with("VAULTWARDEN_ADMIN_TOKEN=$argon2id$")),
        "{env}"
    );
    assert!(
        env.lines().any(|l| l == "REDIS_PASSWORD=stale"),
        "not selected, left alone"
    );

    // As in a shell: 127 for a command that does not exist, 126 for one that cannot run.
    let missing = s.run(&["exec", "--", "/no/such/program"]);
    assert_eq!((missing.code, missing.stdout.as_str()), (127, ""));
    assert!(
        missing.stderr.contains("cannot run /no/such/program"),
        "{}",
        missing.stderr
    );
    let missing = s.run(&["exec", "--", "no-such-program-on-path"]);
    assert_eq!(missing.code, 127, "{}", missing.stderr);
    s.write("not-executable", "#!/bin/sh\n");
    let denied = s.run(&["exec", "--", "./not-executable"]);
    assert_eq!(denied.code, 126, "{}", denied.stderr);
    // Like env(1), the command may follow envgen's options without `--`.
    let out = s.run(&[
        "exec",
        "--only",
        "REDIS_PASSWORD",
        "sh",
        "-c",
        "echo ${#REDIS_PASSWORD}",
    ]);
    assert_eq!(out.ok(), "64\n");
}

#[test]
fn shell_output_evals_to_the_exact_values_in_sh_and_bash() {
    let (s, names) = hard_sandbox();
    let expected = stored_values(&s, &names);
    s.write("env.sh", &s.run(&["render", "--format", "shell"]).ok());
    for shell in ["sh", "bash"] {
        let out = Command::new(shell)
            .args(["-c", "eval \"$(cat env.sh)\" && env -0"])
            .current_dir(s.dir.path())
            .env_clear()
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{shell}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let seen: BTreeMap<String, String> = String::from_utf8(out.stdout)
            .unwrap()
            .split('\0')
            .filter_map(|kv| kv.split_once('='))
            .filter(|(k, _)| expected.contains_key(*k))
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        assert_eq!(seen, expected, "{shell}");
    }
}

#[test]
fn json_and_files_hold_the_exact_values() {
    let (s, names) = hard_sandbox();
    let expected = stored_values(&s, &names);
    s.write("values.json", &s.run(&["render", "--format", "json"]).ok());
    let out = Command::new("python3")
        .args([
            "-c",
            "import json,sys; json.dump(json.load(open('values.json')), sys.stdout)",
        ])
        .current_dir(s.dir.path())
        .output()
        .unwrap();
    let parsed: BTreeMap<String, String> = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(parsed, expected, "as Python's json reads it");

    let run = s.run(&["render", "--format", "files", "--output", "secrets"]);
    assert_eq!((run.code, run.stdout.as_str()), (0, ""), "{}", run.stderr);
    assert_eq!(
        std::fs::metadata(s.path("secrets"))
            .unwrap()
            .permissions()
            .mode()
            & 0o777,
        0o700
    );
    for (name, value) in &expected {
        let path = s.path(&format!("secrets/{name}"));
        assert_eq!(std::fs::read(&path).unwrap(), value.as_bytes(), "{name}");
        assert_eq!(
            std::fs::metadata(&path).unwrap().permissions().mode() & 0o777,
            0o400,
            "read-only by default since issue 14"
        );
    }
    let err = s.run(&["render", "--format", "files"]).stderr;
    assert!(err.contains("--output"), "files needs a directory: {err}");
}

#[test]
fn output_files_are_private_atomic_and_never_followed_through_a_link() {
    let s = Sandbox::new();
    s.run(&["init"]).ok();
    let run = s.run(&["render", "--output", "deploy.env"]);
    assert_eq!((run.code, run.stdout.as_str()), (0, ""));
    assert_eq!(
        std::fs::metadata(s.path("deploy.env"))
            .unwrap()
            .permissions()
            .mode()
            & 0o777,
        0o600
    );
    assert_eq!(
        String::from_utf8(s.read("deploy.env")).unwrap(),
        s.run(&["render"]).ok()
    );

    s.write("elsewhere", "untouched\n");
    std::os::unix::fs::symlink(s.path("elsewhere"), s.path("link.env")).unwrap();
    let err = s.run(&["render", "--output", "link.env"]).fails();
    assert!(
        err.contains("link.env is a symbolic link; refusing to write through it"),
        "{err}"
    );
    assert_eq!(s.read("elsewhere"), b"untouched\n");
}

#[test]
fn render_refuses_a_terminal_unless_forced() {
    let s = Sandbox::new();
    s.run(&["init"]).ok();
    let envgen = assert_cmd::cargo::cargo_bin("envgen");
    let on_tty = |args: &str| {
        // `script` gives the command a pseudo-terminal as stdout.
        Command::new("script")
            .args(["-qec", &format!("{} {args}", envgen.display()), "/dev/null"])
            .current_dir(s.dir.path())
            .env("ENVGEN_IDENTITY", s.path("id.txt"))
            .env("HOME", s.path("home"))
            .output()
            .unwrap()
    };
    let refused = on_tty("render");
    let screen = String::from_utf8_lossy(&refused.stdout);
    assert_eq!(refused.status.code(), Some(2), "{screen}");
    assert!(
        screen.contains("refusing to print secrets to a terminal"),
        "{screen}"
    );
    assert!(!screen.contains("REDIS_PASSWORD="), "{screen}");
    let forced = on_tty("render --force");
    assert_eq!(forced.status.code(), Some(0));
    assert!(String::from_utf8_lossy(&forced.stdout).contains("REDIS_PASSWORD="));
}

#[test]
fn only_and_service_render_subsets() {
    let s = Sandbox::new();
    s.run(&["init"]).ok();
    let names = |out: String| -> Vec<String> {
        out.lines()
            .filter(|l| !l.starts_with('#'))
            .map(|l| l.split('=').next().unwrap().to_string())
            .collect()
    };
    assert_eq!(
        names(s.run(&["render", "--only", "REDIS_URL,DATABASE_URL"]).ok()),
        ["DATABASE_URL", "REDIS_URL"]
    );
    assert_eq!(
        names(s.run(&["render", "--service", "plausible"]).ok()),
        [
            "POSTGRES_PASSWORD",
            "CLICKHOUSE_DATABASE_URL",
            "PLAUSIBLE_SECRET_KEY_BASE",
            "PLAUSIBLE_TOTP_VAULT_KEY"
        ]
    );
    let err = s.run(&["render", "--service", "plausibel"]).fails();
    assert!(
        err.contains("no variable of schema schema/alecia.toml is read by service plausibel"),
        "{err}"
    );
    assert!(
        err.contains("services in the schema:") && err.contains("plausible"),
        "{err}"
    );
    s.run(&["render", "--only", "NOPE"]).fails();
}

#[test]
fn check_compose_passes_on_the_stack_and_names_what_the_schema_lacks() {
    let s = Sandbox::new();
    let fixture = fixture();
    let file = fixture.to_str().unwrap();
    let ok = s.run(&["check", "--compose", file]);
    assert_eq!(ok.code, 0, "{}\n{}", ok.stdout, ok.stderr);
    assert!(
        !ok.stdout.contains("unused "),
        "all 28 variables are used: {}",
        ok.stdout
    );
    assert!(
        ok.stdout.contains(&format!(
            "defaulted DOMAIN: {file}:94 uses it with a default"
        )),
        "{}",
        ok.stdout
    );
    assert!(
        ok.stdout
            .contains("ok: schema/alecia.toml provides every variable"),
        "{}",
        ok.stdout
    );

    // The original bug: a secret compose needs that nothing provides.
    let schema = String::from_utf8(s.read("schema/alecia.toml")).unwrap();
    let start = schema
        .find("[[variable]]\nname = \"SEARXNG_SECRET\"")
        .unwrap();
    let end = start + schema[start..].find("\n[[variable]]").unwrap();
    s.write(
        "schema/alecia.toml",
        &format!("{}{}", &schema[..start], &schema[end + 1..]),
    );
    let missing = s.run(&["check", "--compose", file]);
    assert_eq!(missing.code, 1);
    assert!(
        missing
            .stdout
            .contains(&format!("missing SEARXNG_SECRET: {file}:114 uses it")),
        "{}",
        missing.stdout
    );

    let json = s.run(&["check", "--compose", file, "--json"]);
    let parsed: serde_json::Value = serde_json::from_str(&json.stdout).unwrap();
    assert_eq!(parsed["ok"], false);
    assert_eq!(parsed["missing"][0]["name"], "SEARXNG_SECRET");
    assert_eq!(parsed["missing"][0]["line"], 114);
    assert_eq!(parsed["defaulted"][0]["name"], "DOMAIN");

    s.write("broken.yml", "services: [\n");
    let err = s.run(&["check", "--compose", "broken.yml"]).fails();
    assert!(
        err.contains("broken.yml:2: not a valid compose file"),
        "{err}"
    );
}

/// A running stack's .env, full of what compose accepts: quotes, `#`, `$$`, `export `,
/// CRLF line ends, a duplicate, a key the schema does not know, a derived URL built by
/// interpolation, a value of the wrong length, and Vaultwarden's hash without its plaintext.
const RUNNING_ENV: &str = "\u{feff}# production .env, hand-made\r\n\
export POSTGRES_USER=alecia\r\n\
POSTGRES_PASSWORD='p@ss # word with \\'quotes\\' and $HOME'\r\n\
DATABASE_URL=postgresql://${POSTGRES_USER}:${POSTGRES_PASSWORD}@postgres:5432/alecia\r\n\
REDIS_PASSWORD=\"dq \\\"quoted\\\" \\\\ back \\$ dollar\"\r\n\
MINIO_ROOT_PASSWORD=a$$b#c # trailing comment\r\n\
CLICKHOUSE_PASSWORD=first\r\n\
CLICKHOUSE_PASSWORD=second-wins\r\n\
AP_ENCRYPTION_KEY=0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef\r\n\
VAULTWARDEN_ADMIN_TOKEN='$argon2id$v=19$m=65540,t=3,p=4$c2FsdHNhbHQ$aGFzaGhhc2g'\r\n\
SEARXNG_SECRET=\r\n\
LEGACY_FLAG=1\r\n\
BETTER_AUTH_SECRET:   yaml-style-secret   \r\n";

#[test]
fn import_adopts_a_running_env_exactly_as_compose_reads_it() {
    let s = Sandbox::new();
    std::fs::create_dir(s.path("running")).unwrap();
    s.write("running/.env", RUNNING_ENV);
    // The file holds 7 of the 23 generated secrets: refused unless asked for.
    let err = s.run(&["import", "running/.env"]).fails();
    assert!(
        err.contains("running/.env holds 7 of the schema's 23 generated secrets"),
        "{err}"
    );
    assert!(err.contains("--allow-partial"), "{err}");
    assert!(!s.path("vault/alecia.age").exists(), "nothing written");
    let run = s.run(&["import", "--allow-partial", "running/.env"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let in_file = [
        "POSTGRES_USER",
        "POSTGRES_PASSWORD",
        "REDIS_PASSWORD",
        "MINIO_ROOT_PASSWORD",
        "CLICKHOUSE_PASSWORD",
        "AP_ENCRYPTION_KEY",
        "BETTER_AUTH_SECRET",
    ];
    let compose = compose_env(&s.path("running"), &in_file.map(String::from));
    for name in in_file {
        assert_eq!(
            s.run(&["get", name]).ok().trim_end_matches('\n'),
            compose[name],
            "{name}"
        );
    }
    assert_eq!(
        compose["POSTGRES_PASSWORD"],
        "p@ss # word with 'quotes' and $HOME"
    );
    assert_eq!(compose["CLICKHOUSE_PASSWORD"], "second-wins");
    // The file built DATABASE_URL by raw interpolation; the schema percent-encodes it.
    assert_eq!(
        s.run(&["get", "DATABASE_URL"]).ok(),
        "postgresql://alecia:p%40ss%20%23%20word%20with%20%27quotes%27%20and%20%24HOME@postgres:5432/alecia\n"
    );

    let out = &run.stdout;
    assert!(
        out.contains("imported POSTGRES_PASSWORD (line 3)\n"),
        "{out}"
    );
    assert!(
        out.contains("generated TOKEN_ENCRYPTION_KEY (not in running/.env)\n"),
        "{out}"
    );
    assert!(
        out.contains("ignored LEGACY_FLAG (line 12): not in the schema"),
        "{out}"
    );
    assert!(
        out.contains("derived DATABASE_URL (running/.env builds it from other variables; the schema's template is used)"),
        "{out}"
    );
    let err = &run.stderr;
    assert!(
        err.contains("warning: CLICKHOUSE_PASSWORD is set on lines 7 and 8; the last one wins"),
        "{err}"
    );
    assert!(err.contains("warning: AP_ENCRYPTION_KEY (line 9) does not match the schema (64 characters, the schema says hex of 16 bytes (32 characters))"), "{err}");
    assert!(
        err.contains("warning: VAULTWARDEN_ADMIN_TOKEN (line 10) holds only a hash"),
        "{err}"
    );
    assert!(
        err.contains("warning: SEARXNG_SECRET (line 11) is empty"),
        "{err}"
    );
    assert!(err.contains("delete it"), "{err}");
    for secret in ["p@ss", "quoted", "second-wins", "yaml-style"] {
        assert!(
            !out.contains(secret) && !err.contains(secret),
            "a value was printed"
        );
    }
    let token = s
        .run(&["get", "VAULTWARDEN_ADMIN_TOKEN", "--plaintext"])
        .ok();
    assert_eq!(token.trim_end().len(), 64, "a fresh token");
    assert_eq!(s.run(&["get", "SEARXNG_SECRET"]).ok().trim_end().len(), 64);

    let again = s
        .run(&["import", "--allow-partial", "running/.env"])
        .fails();
    assert!(
        again.contains("already exists; import only creates a new vault"),
        "{again}"
    );

    // The value that broke the schema's format stays marked until it is rotated.
    let check = s.run(&["check"]);
    assert_eq!(check.code, 1, "{}", check.stdout);
    assert!(
        check
            .stdout
            .contains("nonconforming AP_ENCRYPTION_KEY: the imported value does not match"),
        "{}",
        check.stdout
    );
    assert!(
        s.run(&["list"])
            .ok()
            .lines()
            .any(|l| l.starts_with("AP_ENCRYPTION_KEY") && l.contains("NONCONFORMING")),
    );
    s.run(&["rotate", "--force", "AP_ENCRYPTION_KEY"]).ok();
    let check = s.run(&["check"]);
    assert!(
        !check.stdout.contains("AP_ENCRYPTION_KEY"),
        "{}",
        check.stdout
    );
}

/// Issue 9: an empty file made a vault of fresh values (exit 0); deploying it would have
/// replaced every password of the running stack.
#[test]
fn import_of_an_empty_or_unrelated_file_is_refused() {
    let s = Sandbox::new();
    s.write("empty.env", "");
    s.write("other.env", "UNRELATED=1\nREDIS_PASSWORD=kept\n");
    for file in ["empty.env", "other.env"] {
        let err = s.run(&["import", file]).fails();
        assert!(
            err.contains("generated secrets: importing it would generate the others"),
            "{err}"
        );
        assert!(!s.path("vault/alecia.age").exists());
    }
    let help = s.run(&["import", "--help"]).ok();
    assert!(
        help.contains("ssh server cat /srv/alecia/.env | envgen import /dev/stdin"),
        "{help}"
    );
    assert!(!help.contains("scp"), "{help}");
}

#[test]
fn import_refuses_values_it_cannot_adopt_exactly() {
    let s = Sandbox::new();
    s.write(
        "ref.env",
        "REDIS_PASSWORD=${SHELL_SECRET}\nSEARXNG_SECRET=\"two\\nlines\"\nHOCUSPOCUS_SECRET=fine\n",
    );
    let err = s.run(&["import", "ref.env"]).fails();
    assert!(
        err.contains(
            "cannot import ref.env:\n  REDIS_PASSWORD (line 1): its value refers to other variables"
        ),
        "{err}"
    );
    assert!(
        err.contains("  SEARXNG_SECRET (line 2): its value holds a newline"),
        "{err}"
    );
    assert!(!s.path("vault/alecia.age").exists(), "nothing written");
    s.write("bad.env", "GOOD=1\nBAD KEY=2\n");
    let err = s.run(&["import", "bad.env"]).fails();
    assert!(
        err.contains("bad.env:2: a key cannot contain a space"),
        "{err}"
    );
}

#[test]
fn diff_compares_a_hosts_env_with_the_vault_by_name() {
    let s = Sandbox::new();
    s.run(&["init"]).ok();
    s.render_to("host.env");
    let same = s.run(&["diff", "host.env"]);
    assert_eq!(
        (same.code, same.stdout.as_str()),
        (0, ""),
        "{}",
        same.stderr
    );

    let text = String::from_utf8(s.read("host.env")).unwrap();
    let edited: String = text
        .lines()
        .filter(|l| !l.starts_with("SEARXNG_SECRET="))
        .map(|l| {
            if l.starts_with("REDIS_PASSWORD=") {
                "REDIS_PASSWORD=stale".to_string()
            } else {
                l.to_string()
            }
        })
        .chain(["EXTRA=1".to_string()])
        .collect::<Vec<_>>()
        .join("\n");
    s.write("host.env", &edited);
    let diff = s.run(&["diff", "host.env"]);
    assert_eq!(diff.code, 1);
    assert_eq!(
        diff.stdout,
        "different REDIS_PASSWORD (line 6)\nmissing SEARXNG_SECRET: in the vault, not in the file\nextra EXTRA (line 30): in the file, not in the schema\n"
    );
    // Through a pipe, as the README shows (`ssh host cat .env | envgen diff /dev/stdin`),
    // with or without the rendered header: the input is read once.
    for text in [
        edited.clone(),
        edited
            .lines()
            .filter(|l| !l.starts_with('#'))
            .collect::<Vec<_>>()
            .join("\n"),
    ] {
        let mut child = s
            .command(&["diff", "/dev/stdin"])
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        use std::io::Write as _;
        child
            .stdin
            .take()
            .unwrap()
            .write_all(text.as_bytes())
            .unwrap();
        let out = child.wait_with_output().unwrap();
        let stdout = String::from_utf8(out.stdout).unwrap();
        assert!(stdout.starts_with("different REDIS_PASSWORD ("), "{stdout}");
        assert!(
            stdout.contains("missing SEARXNG_SECRET") && !stdout.contains("POSTGRES_USER"),
            "{stdout}"
        );
    }
    let json: serde_json::Value =
        serde_json::from_str(&s.run(&["diff", "host.env", "--json"]).stdout).unwrap();
    assert_eq!(json["equal"], false);
    assert_eq!(
        json["differences"][0],
        serde_json::json!({"kind": "different", "name": "REDIS_PASSWORD", "line": 6, "old": null, "new": null})
    );
}

#[test]
fn list_and_check_speak_json() {
    let s = Sandbox::new();
    s.run(&["init"]).ok();
    let list: serde_json::Value = serde_json::from_str(&s.run(&["list", "--json"]).ok()).unwrap();
    let rows = list.as_array().unwrap();
    assert_eq!(rows.len(), 28);
    assert_eq!(rows[1]["name"], "POSTGRES_PASSWORD");
    assert_eq!(rows[1]["rotation"], "op");
    assert_eq!(rows[1]["format"], "hex 32 bytes");
    assert_eq!(rows[1]["services"][0], "postgres");
    assert_eq!(rows[0]["due"], serde_json::Value::Null);
    let check: serde_json::Value = serde_json::from_str(&s.run(&["check", "--json"]).ok()).unwrap();
    assert_eq!(
        check,
        serde_json::json!({"ok": true, "missing": [], "overdue": [], "nonconforming": [], "exposed": []})
    );
}
