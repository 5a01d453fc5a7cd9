//! Profiles (issue 10, section 4): one schema, several environments, each with its own vault
//! and recipients and the schema's `[profile.NAME]` defaults; nothing shared between them.

use crate::testkit::Sandbox;

const SCHEMA: &str = r#"[schema]
name = "alecia"

[[variable]]
name = "DOMAIN"
kind = "fixed"
type = "hostname"
default = "example.com"
description = "d"
services = ["s"]

[[variable]]
name = "REDIS_PASSWORD"
kind = "secret"
encoding = "hex"
bytes = 16
description = "d"
services = ["s"]

[profile.staging]
DOMAIN = "staging.example.com"

[profile.production]
"#;

fn get(s: &Sandbox, args: &[&str]) -> String {
    s.run(args).ok().trim_end().to_string()
}

#[test]
fn each_profile_has_its_own_vault_defaults_and_values() {
    let s = Sandbox::with_schema(SCHEMA);
    s.run(&["init"]).ok();
    let staging = s.run(&["init", "--profile", "staging"]);
    assert_eq!(staging.code, 0, "{}", staging.stderr);
    assert!(
        staging.stderr.contains("created vault/alecia.staging.age"),
        "{}",
        staging.stderr
    );
    assert!(s.path("vault/alecia.staging.recipients").exists());
    assert_eq!(get(&s, &["get", "DOMAIN"]), "example.com");
    assert_eq!(
        get(&s, &["get", "DOMAIN", "--profile", "staging"]),
        "staging.example.com"
    );
    let default_password = get(&s, &["get", "REDIS_PASSWORD"]);
    let staging_password = get(&s, &["get", "REDIS_PASSWORD", "--profile", "staging"]);
    assert_ne!(default_password, staging_password, "never shared");
    // `exec --only` (a slice of the schema) sees the profile's defaults and vault too.
    let env = s
        .run(&[
            "exec",
            "--profile",
            "staging",
            "--only",
            "DOMAIN,REDIS_PASSWORD",
            "--",
            "env",
        ])
        .ok();
    let env = format!("\n{env}");
    assert!(env.contains("\nDOMAIN=staging.example.com\n"), "DOMAIN");
    assert!(
        env.contains(&format!("\nREDIS_PASSWORD={staging_password}\n")),
        "REDIS_PASSWORD"
    );

    // ENVGEN_PROFILE, read like every other environment variable.
    let out = s
        .command(&["get", "REDIS_PASSWORD"])
        .env("ENVGEN_PROFILE", "staging")
        .output()
        .unwrap();
    assert_eq!(
        String::from_utf8(out.stdout).unwrap().trim_end(),
        staging_password
    );
    // The flag wins over the variable.
    let out = s
        .command(&["get", "DOMAIN", "--profile", "production"])
        .env("ENVGEN_PROFILE", "staging")
        .output()
        .unwrap();
    assert!(
        String::from_utf8(out.stderr)
            .unwrap()
            .contains("no vault at vault/alecia.production.age")
    );

    let list = s.run(&["list", "--profile", "staging"]).ok();
    assert!(
        list.contains("# profile staging: vault vault/alecia.staging.age"),
        "{list}"
    );
    let json: serde_json::Value =
        serde_json::from_str(&s.run(&["list", "--json", "--profile", "staging"]).ok()).unwrap();
    assert_eq!(json["profile"], "staging");
    let check = s.run(&["check", "--profile", "staging"]).ok();
    assert!(check.contains("(profile staging)"), "{check}");
    let check: serde_json::Value =
        serde_json::from_str(&s.run(&["check", "--json", "--profile", "staging"]).ok()).unwrap();
    assert_eq!(check["profile"], "staging");
    let rotated = s
        .run(&["rotate", "REDIS_PASSWORD", "--profile", "staging"])
        .ok();
    assert_eq!(rotated, "rotated REDIS_PASSWORD\n");
    assert_eq!(get(&s, &["get", "REDIS_PASSWORD"]), default_password);
}

#[test]
fn an_undeclared_profile_is_refused_with_the_declared_ones() {
    let s = Sandbox::with_schema(SCHEMA);
    let e = s.run(&["init", "--profile", "stagign"]).fails();
    assert!(e.contains("declares no profile \"stagign\""), "{e}");
    assert!(
        e.contains("profiles in the schema: production, staging"),
        "{e}"
    );
    assert!(!s.path("vault/alecia.stagign.age").exists());
    let bare = Sandbox::new();
    let e = bare.run(&["list", "--profile", "staging"]).fails();
    assert!(e.contains("add a `[profile.NAME]` table"), "{e}");
}
