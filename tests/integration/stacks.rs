//! Real stacks (issue 10): the compose files and `.env` examples of upstream projects in
//! `tests/fixtures/stacks/` (each with a NOTICE naming its source, commit and license), run
//! through `schema from-compose` as a new user would. The inferred schema must cover every
//! variable (`check --compose` exits 0), `init` must succeed, every catalogue-verified value
//! must meet its upstream requirement (decoded and measured here), and PostgreSQL must accept
//! the generated passwords. Stacks whose schema uses kinds from branch `kinds` (input, jwt,
//! keypair) run in the ignored test until that branch is merged.

use std::path::{Path, PathBuf};

use base64::Engine;
use envgen::catalogue::{Catalogue, Encoding, EntryKind};

use crate::services::{Postgres, free_port, pg_tools, skip};
use crate::testkit::{Run, Sandbox, bundled_schema};

struct Stack {
    name: &'static str,
    files: &'static [&'static str],
    env: Option<&'static str>,
    /// Literal credentials of the upstream files that must never be printed or written.
    literals: &'static [&'static str],
}

const STACKS: &[Stack] = &[
    Stack {
        name: "immich",
        files: &["docker-compose.yml"],
        env: Some("example.env"),
        literals: &[],
    },
    Stack {
        name: "n8n",
        files: &["docker-compose.yml"],
        env: Some(".env.example"),
        literals: &["changePassword", "changeRunnerAuthToken"],
    },
    Stack {
        name: "umami",
        files: &["docker-compose.yml"],
        env: None,
        literals: &["umami:umami@"],
    },
    Stack {
        name: "paperless-ngx",
        files: &["docker-compose.yml"],
        env: Some(".env.example"),
        literals: &["POSTGRES_PASSWORD: paperless", "=change-me"],
    },
    Stack {
        name: "searxng",
        files: &["docker-compose.yml"],
        env: Some(".env.example"),
        literals: &[],
    },
    Stack {
        name: "listmonk",
        files: &["docker-compose.yml"],
        env: None,
        literals: &["password: listmonk", "&db-password listmonk"],
    },
    Stack {
        name: "docmost",
        files: &["docker-compose.yml"],
        env: Some(".env.example"),
        literals: &["STRONG_DB_PASSWORD", "REPLACE_WITH_LONG_SECRET"],
    },
    Stack {
        name: "plausible",
        files: &["compose.yml"],
        env: None,
        literals: &["POSTGRES_PASSWORD=postgres"],
    },
];

/// The stacks whose inferred schema asks the operator for no input (the others run in a test
/// of their own, so the two halves run in parallel).
const WITHOUT_INPUTS: [&str; 5] = ["immich", "n8n", "umami", "paperless-ngx", "searxng"];

fn dir(stack: &Stack) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/stacks")
        .join(stack.name)
}

/// A sandbox whose schema is inferred from the stack: the run of from-compose, and the sandbox.
fn infer(stack: &Stack) -> (Sandbox, Run) {
    let s = Sandbox::with_schema(&std::fs::read_to_string(bundled_schema()).unwrap());
    let d = dir(stack);
    let mut args: Vec<String> = vec!["schema".into(), "from-compose".into()];
    args.extend(stack.files.iter().map(|f| d.join(f).display().to_string()));
    if let Some(env) = stack.env {
        args.extend(["--env-file".into(), d.join(env).display().to_string()]);
    }
    args.extend([
        "--name".into(),
        "alecia".into(),
        "-o".into(),
        "schema/alecia.toml".into(),
        "--force".into(),
    ]);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let run = s.run(&args);
    (s, run)
}

/// `(variable, [(catalogue id, entry)])` for every catalogue-verified secret of the schema,
/// read from the comments from-compose writes above each variable.
fn verified(schema: &str) -> Vec<(String, Vec<(String, String)>)> {
    let mut out = Vec::new();
    let mut cites = Vec::new();
    let mut name = None;
    for line in schema.lines() {
        if let Some(rest) = line.strip_prefix("# catalogue catalogue/") {
            let (file, rest) = rest.split_once(".toml ").unwrap();
            let entry = rest.split_once(':').unwrap().0;
            cites.push((file.to_string(), entry.to_string()));
        } else if let Some(n) = line.strip_prefix("name = ") {
            name = Some(n.trim_matches('"').to_string());
        } else if line.starts_with("kind = ")
            && !line.contains("secret")
            && !line.contains("hashed")
        {
            name = None;
        } else if line == "verified = true" {
            if let Some(n) = name.take()
                && !cites.is_empty()
            {
                out.push((n, std::mem::take(&mut cites)));
            }
            cites.clear();
        } else if line == "verified = false" {
            cites.clear();
            name = None;
        }
    }
    out
}

/// Decodes and measures `value` against each upstream requirement of the catalogue.
fn measure(catalogue: &Catalogue, name: &str, value: &str, cites: &[(String, String)]) {
    for (id, entry) in cites {
        let e = catalogue.get(id).unwrap().entry(entry).unwrap();
        if !matches!(e.kind, EntryKind::Secret | EntryKind::Hashed) {
            continue;
        }
        let at = format!("{name} ({id} {entry})");
        let len = value.chars().count() as u32;
        if let Some(min) = e.min_chars {
            assert!(
                len >= min,
                "{at}: {len} characters, upstream needs at least {min}"
            );
        }
        if let Some(max) = e.max_chars {
            assert!(
                len <= max,
                "{at}: {len} characters, upstream takes at most {max}"
            );
        }
        let exclude = e.exclude.as_deref().unwrap_or_default();
        assert!(
            !value.chars().any(|c| exclude.contains(c)),
            "{at}: an excluded character"
        );
        if e.exact == Some(true) || e.count.is_none() && cites.len() == 1 {
            let bytes = e.bytes.unwrap_or(0) as usize;
            match e.encoding.unwrap() {
                Encoding::Hex => assert_eq!(hex::decode(value).unwrap().len(), bytes, "{at}"),
                Encoding::Base64 => assert_eq!(
                    base64::engine::general_purpose::STANDARD
                        .decode(value)
                        .unwrap()
                        .len(),
                    bytes,
                    "{at}"
                ),
                Encoding::Base64url => assert_eq!(
                    base64::engine::general_purpose::URL_SAFE_NO_PAD
                        .decode(value)
                        .unwrap()
                        .len(),
                    bytes,
                    "{at}"
                ),
                Encoding::Alnum => {
                    assert!(value.bytes().all(|b| b.is_ascii_alphanumeric()), "{at}");
                    assert_eq!(Some(len), e.chars, "{at}");
                }
                Encoding::Alphabet => {
                    let alphabet = e.alphabet.as_deref().unwrap();
                    assert!(value.chars().all(|c| alphabet.contains(c)), "{at}");
                }
                Encoding::Uuid => assert_eq!(len, 36, "{at}"),
            }
        }
    }
}

/// from-compose, check --compose, init, and the measure of every verified value.
fn exercise(stack: &Stack) -> Sandbox {
    let (s, run) = infer(stack);
    let stderr = run.stderr.clone();
    run.ok();
    let schema = String::from_utf8(s.read("schema/alecia.toml")).unwrap();
    // A literal credential is never printed nor kept as a value (a catalogue description may
    // name a public placeholder such as docmost's REPLACE_WITH_LONG_SECRET).
    let values: String = schema
        .lines()
        .filter(|l| l.starts_with("default") || l.starts_with("template"))
        .collect();
    for literal in stack.literals {
        assert!(
            !stderr.contains(literal) && !values.contains(literal),
            "{}: {literal} leaked",
            stack.name
        );
    }
    let d = dir(stack);
    let mut check: Vec<String> = vec!["check".into(), "--compose".into()];
    check.extend(stack.files.iter().map(|f| d.join(f).display().to_string()));
    let check: Vec<&str> = check.iter().map(String::as_str).collect();
    let report = s.run(&check).ok();
    assert!(report.contains("ok: "), "{}: {report}", stack.name);
    s.run(&["init"]).ok();
    let catalogue = Catalogue::load().unwrap();
    let list = verified(&schema);
    for (name, cites) in &list {
        let value = s.run(&["get", name]).ok();
        measure(&catalogue, name, value.trim_end_matches('\n'), cites);
    }
    eprintln!(
        "{}: {} catalogue-verified values measured",
        stack.name,
        list.len()
    );
    s
}

#[test]
fn issue_10_every_stack_is_inferred_and_the_schemas_needing_no_new_kind_load() {
    for stack in STACKS {
        let (s, run) = infer(stack);
        let stderr = run.stderr.clone();
        run.ok();
        assert!(stderr.contains("recognized services: "), "{stderr}");
        let loads = !stderr.contains("does not support yet");
        assert!(
            loads,
            "{}: every kind the catalogue uses is supported: {stderr}",
            stack.name
        );
        let again = s.run(&[
            "schema",
            "from-compose",
            &dir(stack).join(stack.files[0]).display().to_string(),
            "-o",
            "schema/alecia.toml",
        ]);
        assert!(
            again
                .fails()
                .contains("already exists; refusing to overwrite it")
        );
    }
}

#[test]
fn issue_10_stacks_check_init_and_measure() {
    for stack in STACKS.iter().filter(|s| WITHOUT_INPUTS.contains(&s.name)) {
        exercise(stack);
    }
}

#[test]
fn issue_10_stacks_with_inputs_check_init_and_measure() {
    for stack in STACKS.iter().filter(|s| !WITHOUT_INPUTS.contains(&s.name)) {
        exercise(stack);
    }
}

#[test]
fn issue_10_postgres_accepts_the_generated_passwords() {
    let Some(tools) = pg_tools() else {
        return skip("PostgreSQL (initdb, postgres, psql)");
    };
    // umami: POSTGRES_PASSWORD and the DATABASE_URL derived from the literal URL
    let umami = exercise(&STACKS[2]);
    let password = umami.run(&["get", "POSTGRES_PASSWORD"]).ok();
    let port = free_port();
    let pg = Postgres::start(&tools, port, "umami", password.trim_end_matches('\n'));
    let url = umami.run(&["get", "DATABASE_URL"]).ok();
    let url = url
        .trim_end()
        .replace("@db:5432/", &format!("@127.0.0.1:{port}/"));
    assert_eq!(pg.connect(&url).unwrap(), "umami|umami");
    drop(pg);
    // n8n: its non-root password through the user and database of the example
    let n8n = exercise(&STACKS[1]);
    let user = n8n.run(&["get", "POSTGRES_USER"]).ok();
    let password = n8n.run(&["get", "POSTGRES_PASSWORD"]).ok();
    let (user, password) = (user.trim_end(), password.trim_end());
    let port = free_port();
    let pg = Postgres::start(&tools, port, user, password);
    let encode = |s: &str| {
        percent_encoding::utf8_percent_encode(s, percent_encoding::NON_ALPHANUMERIC).to_string()
    };
    let url = format!(
        "postgresql://{}:{}@127.0.0.1:{port}/{user}",
        encode(user),
        encode(password)
    );
    assert_eq!(pg.connect(&url).unwrap(), format!("{user}|{user}"));
}

#[test]
fn issue_10_from_compose_failures_name_the_file_and_change_nothing() {
    let s = Sandbox::new();
    // unreadable compose file
    let err = s
        .run(&[
            "schema",
            "from-compose",
            "missing.yml",
            "-o",
            "schema/x.toml",
        ])
        .fails();
    assert!(
        err.contains("cannot read compose file missing.yml") && err.contains("hint: "),
        "{err}"
    );
    // a conflict between two services' exact formats names both sources
    s.write(
        "c.yml",
        "services:\n  a:\n    image: ghcr.io/plausible/community-edition:v2\n    environment:\n      TOTP_VAULT_KEY: ${KEY}\n  b:\n    image: supabase/supavisor:1\n    environment:\n      VAULT_ENC_KEY: ${KEY}\n",
    );
    let err = s
        .run(&["schema", "from-compose", "c.yml", "-o", "schema/x.toml"])
        .fails();
    assert!(
        err.contains("variable KEY")
            && err.contains("plausible.toml TOTP_VAULT_KEY")
            && err.contains("supabase.toml VAULT_ENC_KEY"),
        "{err}"
    );
    assert!(!s.path("schema/x.toml").exists());
    // not YAML
    s.write("bad.yml", "services: [\n");
    let err = s
        .run(&["schema", "from-compose", "bad.yml", "-o", "schema/x.toml"])
        .fails();
    assert!(
        err.contains("bad.yml:") && err.contains("not a valid compose file"),
        "{err}"
    );
    // an existing output is kept without --force
    s.write("ok.yml", "services:\n  r:\n    image: redis:7\n    command: redis-server --requirepass ${REDIS_PASSWORD}\n");
    s.write("schema/x.toml", "keep me");
    let err = s
        .run(&["schema", "from-compose", "ok.yml", "-o", "schema/x.toml"])
        .fails();
    assert!(
        err.contains("already exists") && err.contains("--force"),
        "{err}"
    );
    assert_eq!(s.read("schema/x.toml"), b"keep me");
    s.run(&[
        "schema",
        "from-compose",
        "ok.yml",
        "-o",
        "schema/x.toml",
        "--force",
    ])
    .ok();
    let listed = s.run(&["--schema", "schema/x.toml", "list"]).ok();
    assert!(
        listed.contains("REDIS_PASSWORD") && listed.contains("catalogue:redis"),
        "{listed}"
    );
}
