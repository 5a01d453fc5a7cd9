//! Every failure the README promises: a clear message on stderr, exit code 2, nothing on
//! stdout, the vault untouched, and no secret in the message.

use crate::testkit::{Sandbox, rendered_values};

/// A sandbox with an initialized vault, and every rendered value (to scan messages for).
fn initialized() -> (Sandbox, Vec<String>) {
    let s = Sandbox::new();
    s.run(&["init"]).ok();
    let mut secrets: Vec<String> = rendered_values(&s).into_values().collect();
    secrets.push(
        s.run(&["get", "VAULTWARDEN_ADMIN_TOKEN", "--plaintext"])
            .ok()
            .trim_end()
            .into(),
    );
    secrets.retain(|v| v != "alecia" && v != "aleciaadmin");
    (s, secrets)
}

#[track_caller]
fn assert_no_secret(message: &str, secrets: &[String]) {
    for secret in secrets {
        assert!(
            !message.contains(secret.as_str()),
            "a secret leaked into: {message}"
        );
        // Nor a recognizable piece of one.
        assert!(
            !message.contains(&secret[..16]),
            "part of a secret leaked into: {message}"
        );
    }
}

/// Runs `args`, expects failure with `expected` in the message and the vault unchanged.
#[track_caller]
fn refused(s: &Sandbox, secrets: &[String], args: &[&str], expected: &[&str]) -> String {
    let vault = std::fs::read(s.path("vault/alecia.age")).ok();
    let err = s.run(args).fails();
    for part in expected {
        assert!(err.contains(part), "expected {part:?} in:\n{err}");
    }
    assert!(
        err.contains("\nhint: ") || err.contains("cannot "),
        "says what to do:\n{err}"
    );
    assert_no_secret(&err, secrets);
    assert_eq!(
        std::fs::read(s.path("vault/alecia.age")).ok(),
        vault,
        "vault untouched"
    );
    err
}

#[test]
fn a_wrong_identity_is_refused() {
    let (s, secrets) = initialized();
    s.run(&["keygen", "-o", "stranger.txt"]).ok();
    for cmd in [
        &["render"][..],
        &["get", "REDIS_PASSWORD"],
        &["list"],
        &["rotate", "REDIS_PASSWORD"],
        &["init"],
    ] {
        let mut args = vec!["--identity", "stranger.txt"];
        args.extend_from_slice(cmd);
        refused(
            &s,
            &secrets,
            &args,
            &[
                "none of the identities in stranger.txt can open vault/alecia.age",
                "hint: use an identity the vault was encrypted to",
            ],
        );
    }
}

#[test]
fn a_tampered_byte_anywhere_is_refused() {
    let (s, secrets) = initialized();
    let original = s.read("vault/alecia.age");
    let header_end = original.windows(4).position(|w| w == b"\n---").unwrap();
    // A byte of the recipient stanza, of the header MAC, of the payload nonce, of the body, the last.
    let positions = [
        header_end - 10,
        header_end + 10,
        header_end + 60,
        original.len() / 2,
        original.len() - 1,
    ];
    for &at in &positions {
        let mut bytes = original.clone();
        bytes[at] ^= 0x01;
        std::fs::write(s.path("vault/alecia.age"), &bytes).unwrap();
        let err = refused(&s, &secrets, &["render"], &["vault/alecia.age"]);
        assert!(
            err.contains("is damaged or was tampered with")
                || err.contains("none of the identities"),
            "byte {at}: {err}"
        );
        refused(
            &s,
            &secrets,
            &["rotate", "REDIS_PASSWORD"],
            &["vault/alecia.age"],
        );
    }
    std::fs::write(s.path("vault/alecia.age"), &original).unwrap();
    s.run(&["render"]).ok();
}

#[test]
fn a_truncated_vault_is_refused() {
    let (s, secrets) = initialized();
    let original = s.read("vault/alecia.age");
    for len in [
        0,
        10,
        original.len() / 2,
        original.len() - 17,
        original.len() - 1,
    ] {
        std::fs::write(s.path("vault/alecia.age"), &original[..len]).unwrap();
        refused(
            &s,
            &secrets,
            &["render"],
            &["vault/alecia.age is damaged or was tampered with"],
        );
        refused(
            &s,
            &secrets,
            &["get", "REDIS_URL"],
            &["is damaged or was tampered with"],
        );
    }
}

#[test]
fn unknown_names_are_refused() {
    let (s, secrets) = initialized();
    refused(
        &s,
        &secrets,
        &["rotate", "REDIS_PASWORD"],
        &[
            "no variable REDIS_PASWORD in schema schema/alecia.toml",
            "hint: `envgen list`",
        ],
    );
    refused(
        &s,
        &secrets,
        &["get", "NOPE"],
        &["no variable NOPE in schema"],
    );
    refused(
        &s,
        &secrets,
        &["init", "--set", "NOPE=1"],
        &["no variable NOPE"],
    );
}

#[test]
fn derived_and_fixed_values_cannot_be_rotated() {
    let (s, secrets) = initialized();
    refused(
        &s,
        &secrets,
        &["rotate", "DATABASE_URL"],
        &[
            "DATABASE_URL is derived from POSTGRES_USER, POSTGRES_PASSWORD: it has no value or versions of its own",
            "rotate the secret it is built from",
        ],
    );
    refused(
        &s,
        &secrets,
        &["rotate", "POSTGRES_USER"],
        &["POSTGRES_USER is a fixed value"],
    );
    refused(
        &s,
        &secrets,
        &["get", "REDIS_PASSWORD", "--plaintext"],
        &["REDIS_PASSWORD is not a hashed variable"],
    );
}

#[test]
fn secrets_never_go_through_argv() {
    let s = Sandbox::new();
    let err = s
        .run(&["init", "--set", "REDIS_PASSWORD=hunter2hunter2"])
        .fails();
    assert!(err.contains("--set REDIS_PASSWORD: REDIS_PASSWORD is a generated secret, and secrets never go through argv"), "{err}");
    assert!(!err.contains("hunter2"));
    assert!(!s.path("vault/alecia.age").exists(), "nothing written");
    let err = s.run(&["init", "--set", "POSTGRES_USER=Bad-Name"]).fails();
    assert!(
        err.contains(
            "--set POSTGRES_USER: the value does not match the pattern ^[a-z_][a-z0-9_]*$"
        ),
        "{err}"
    );
    let err = s.run(&["init", "--set", "POSTGRES_USER"]).fails();
    assert!(err.contains("expected NAME=VALUE"), "{err}");
    s.run(&["init"]).ok();
    let err = s.run(&["init", "--set", "POSTGRES_USER=other"]).fails();
    assert!(err.contains("already has a value"), "{err}");
}

#[test]
fn render_names_every_variable_missing_from_the_vault() {
    let (s, secrets) = initialized();
    let mut schema = String::from_utf8(s.read("schema/alecia.toml")).unwrap();
    for name in ["EXTRA_ONE", "EXTRA_TWO"] {
        schema.push_str(&format!(
            "\n[[variable]]\nname = \"{name}\"\nkind = \"secret\"\nencoding = \"hex\"\nbytes = 8\ndescription = \"d\"\nservices = [\"x\"]\n"
        ));
    }
    s.write("schema/alecia.toml", &schema);
    refused(
        &s,
        &secrets,
        &["render"],
        &[
            "vault/alecia.age lacks EXTRA_ONE, EXTRA_TWO: rendering would leave them empty",
            "hint: run `envgen init`",
        ],
    );
    refused(&s, &secrets, &["rotate", "EXTRA_ONE"], &["lacks EXTRA_ONE"]);
}

#[test]
fn a_missing_vault_or_identity_is_explained() {
    let s = Sandbox::new();
    let err = s.run(&["render"]).fails();
    assert!(
        err.contains("no vault at vault/alecia.age") && err.contains("run `envgen init`"),
        "{err}"
    );
    s.run(&["init"]).ok();
    let err = s.run(&["--identity", "missing.txt", "render"]).fails();
    assert!(
        err.contains("no identity file at missing.txt (given by --identity)"),
        "{err}"
    );
    assert!(err.contains("envgen keygen -o missing.txt"), "{err}");
    let err = s
        .command(&["render"])
        .env("ENVGEN_IDENTITY", "nowhere.txt")
        .output()
        .unwrap();
    let stderr = String::from_utf8(err.stderr).unwrap();
    assert!(
        stderr.contains("no identity file at nowhere.txt (given by ENVGEN_IDENTITY)"),
        "{stderr}"
    );
    assert!(err.stdout.is_empty());
    let err = s.run(&["--schema", "nope.toml", "render"]).fails();
    assert!(err.contains("cannot read schema nope.toml"), "{err}");
}

/// A bad schema given with --schema: the message has file:line:column and the variable.
#[track_caller]
fn bad_schema(body: &str, expected: &str) {
    let s = Sandbox::new();
    s.write("bad.toml", &format!("[schema]\nname = \"bad\"\n{body}"));
    let err = s.run(&["--schema", "bad.toml", "init"]).fails();
    assert!(err.contains(expected), "expected {expected:?} in:\n{err}");
    assert!(err.contains("\nhint: "), "{err}");
    assert!(
        !s.path("vault").exists(),
        "nothing written for a bad schema"
    );
}

fn var(body: &str) -> String {
    format!("\n[[variable]]\n{body}\ndescription = \"d\"\nservices = [\"s\"]\n")
}

#[test]
fn bad_schemas_are_refused_with_file_line_and_variable() {
    bad_schema(
        &format!(
            "{}{}",
            var("name = \"A\"\nkind = \"derived\"\ntemplate = \"${B}\""),
            var("name = \"B\"\nkind = \"derived\"\ntemplate = \"${A}\"")
        ),
        "error: bad.toml:7:12: variable A: derived values form a cycle: A -> B -> A",
    );
    bad_schema(
        &var("name = \"URL\"\nkind = \"derived\"\ntemplate = \"redis://${MISSING|url}\""),
        "error: bad.toml:7:21: variable URL: the template refers to MISSING, which the schema does not define",
    );
    bad_schema(
        &var("name = \"K\"\nkind = \"secret\"\nencoding = \"hexadecimal\"\nbytes = 4"),
        "error: bad.toml:7:12: variable K: unknown encoding `hexadecimal`",
    );
    bad_schema(
        &var("name = \"K\"\nkind = \"secret\"\nencoding = \"alnum\"\nchars = 0"),
        "error: bad.toml:8:9: variable K: chars must be between 1 and 4096, not 0",
    );
}

#[test]
fn every_byte_flip_and_every_truncation_of_a_small_vault_is_refused() {
    let s = Sandbox::with_schema(
        "[schema]\nname = \"alecia\"\n\n[[variable]]\nname = \"K\"\nkind = \"secret\"\nencoding = \"hex\"\nbytes = 16\ndescription = \"d\"\nservices = [\"s\"]\n",
    );
    s.run(&["init"]).ok();
    let value = s.run(&["get", "K"]).ok();
    let original = s.read("vault/alecia.age");
    let mut tried = 0;
    let mut check = |bytes: &[u8], what: &str| {
        std::fs::write(s.path("vault/alecia.age"), bytes).unwrap();
        let run = s.run(&["get", "K"]);
        assert_eq!(run.code, 2, "{what}: {}", run.stderr);
        assert_eq!(run.stdout, "", "{what}");
        assert!(
            run.stderr.starts_with("error: ") && run.stderr.contains("vault/alecia.age"),
            "{what}: {}",
            run.stderr
        );
        assert!(!run.stderr.contains(value.trim()), "{what}");
        tried += 1;
    };
    for i in 0..original.len() {
        for mask in [0x01u8, 0xff] {
            let mut flipped = original.clone();
            flipped[i] ^= mask;
            check(&flipped, &format!("byte {i} xor {mask:#04x}"));
        }
    }
    for len in 0..original.len() {
        check(&original[..len], &format!("truncated to {len} bytes"));
    }
    std::fs::write(s.path("vault/alecia.age"), &original).unwrap();
    assert_eq!(s.run(&["get", "K"]).ok(), value);
    eprintln!(
        "tamper: {tried}/{tried} flipped or truncated copies of a {}-byte vault refused",
        original.len()
    );
}
