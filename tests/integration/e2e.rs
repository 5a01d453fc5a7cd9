//! init -> render -> rotate -> render on the bundled schema, and the other commands.

use std::collections::BTreeMap;
use std::os::unix::fs::PermissionsExt;

use argon2::password_hash::{PasswordHash, PasswordVerifier};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;

use crate::testkit::{Sandbox, rendered_values};

fn is_hex(s: &str, chars: usize) -> bool {
    s.len() == chars
        && s.bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

fn base64_bytes(s: &str) -> usize {
    STANDARD.decode(s).map(|b| b.len()).unwrap_or(usize::MAX)
}

/// Checks the format of every one of the 28 variables against what its service requires.
fn assert_formats(v: &BTreeMap<String, String>, admin_plaintext: &str) {
    assert_eq!(v.len(), 28, "{:?}", v.keys());
    for name in [
        "POSTGRES_PASSWORD",
        "REDIS_PASSWORD",
        "MINIO_ROOT_PASSWORD",
        "CLICKHOUSE_PASSWORD",
        "BETTER_AUTH_SECRET",
        "TOKEN_ENCRYPTION_KEY",
        "AP_JWT_SECRET",
        "AP_POSTGRES_PASSWORD",
        "SEARXNG_SECRET",
        "HOCUSPOCUS_SECRET",
    ] {
        assert!(is_hex(&v[name], 64), "{name} is 64 hex");
    }
    assert!(
        is_hex(&v["AP_ENCRYPTION_KEY"], 32),
        "Activepieces needs exactly 32 hex"
    );
    assert!(is_hex(&v["DOCUSEAL_SECRET_KEY_BASE"], 128));
    assert!(is_hex(&v["MINIFLUX_ADMIN_PASSWORD"], 32));
    assert!(is_hex(&v["STIRLING_PASSWORD"], 32));
    assert_eq!(v["PLAUSIBLE_TOTP_VAULT_KEY"].len(), 44);
    assert_eq!(base64_bytes(&v["PLAUSIBLE_TOTP_VAULT_KEY"]), 32);
    assert_eq!(base64_bytes(&v["PLAUSIBLE_SECRET_KEY_BASE"]), 64);
    for name in ["STRAPI_API_TOKEN_SALT", "STRAPI_TRANSFER_TOKEN_SALT"] {
        assert_eq!(base64_bytes(&v[name]), 16, "{name}");
    }
    for name in [
        "STRAPI_ADMIN_JWT_SECRET",
        "STRAPI_JWT_SECRET",
        "STRAPI_ENCRYPTION_KEY",
    ] {
        assert_eq!(base64_bytes(&v[name]), 32, "{name}");
    }
    let app_keys: Vec<&str> = v["STRAPI_APP_KEYS"].split(',').collect();
    assert_eq!(app_keys.len(), 4);
    assert!(app_keys.iter().all(|k| base64_bytes(k) == 16));
    assert_eq!(v["POSTGRES_USER"], "alecia");
    assert_eq!(v["MINIO_ROOT_USER"], "aleciaadmin");
    assert_eq!(
        v["DATABASE_URL"],
        format!(
            "postgresql://alecia:{}@postgres:5432/alecia",
            v["POSTGRES_PASSWORD"]
        )
    );
    assert_eq!(
        v["REDIS_URL"],
        format!("redis://default:{}@redis:6379/0", v["REDIS_PASSWORD"])
    );
    assert_eq!(
        v["CLICKHOUSE_DATABASE_URL"],
        format!(
            "http://default:{}@clickhouse:8123/plausible_events_db",
            v["CLICKHOUSE_PASSWORD"]
        )
    );
    let token = &v["VAULTWARDEN_ADMIN_TOKEN"];
    assert!(
        token.starts_with("$argon2id$v=19$m=65540,t=3,p=4$"),
        "Vaultwarden's defaults"
    );
    assert!(is_hex(admin_plaintext, 64));
    let phc = PasswordHash::new(token).unwrap();
    assert!(
        argon2::Argon2::default()
            .verify_password(admin_plaintext.as_bytes(), &phc)
            .is_ok()
    );
    let distinct: std::collections::BTreeSet<&String> = v.values().collect();
    assert_eq!(distinct.len(), 28, "no two variables share a value");
}

fn changed(a: &BTreeMap<String, String>, b: &BTreeMap<String, String>) -> Vec<String> {
    a.keys().filter(|k| a[*k] != b[*k]).cloned().collect()
}

#[test]
fn init_render_rotate_render_on_the_bundled_schema() {
    let s = Sandbox::new();
    let out = s.run(&["init"]).ok();
    assert_eq!(
        out.lines().filter(|l| l.starts_with("generated ")).count(),
        23
    );
    assert_eq!(out.lines().filter(|l| l.starts_with("stored ")).count(), 2);

    let plaintext = s
        .run(&["get", "VAULTWARDEN_ADMIN_TOKEN", "--plaintext"])
        .ok();
    let before = rendered_values(&s);
    assert_formats(&before, plaintext.trim_end());
    let text = String::from_utf8(s.read(".env")).unwrap();
    let names: Vec<&str> = text
        .lines()
        .filter(|l| !l.starts_with('#'))
        .map(|l| l.split('=').next().unwrap())
        .collect();
    assert_eq!(
        names[..3],
        ["POSTGRES_USER", "POSTGRES_PASSWORD", "DATABASE_URL"],
        "schema order"
    );
    assert!(text.starts_with("# Rendered by envgen"));

    let out = s.run(&["rotate", "REDIS_PASSWORD"]).ok();
    assert_eq!(out, "rotated REDIS_PASSWORD\nre-derived REDIS_URL\n");
    let after = rendered_values(&s);
    assert_eq!(changed(&before, &after), ["REDIS_PASSWORD", "REDIS_URL"]);
    assert_formats(&after, plaintext.trim_end());

    let out = s
        .run(&[
            "rotate",
            "--force",
            "POSTGRES_PASSWORD",
            "VAULTWARDEN_ADMIN_TOKEN",
        ])
        .ok();
    assert_eq!(
        out,
        "rotated POSTGRES_PASSWORD\nrotated VAULTWARDEN_ADMIN_TOKEN\nre-derived DATABASE_URL\n"
    );
    let third = rendered_values(&s);
    assert_eq!(
        changed(&after, &third),
        [
            "DATABASE_URL",
            "POSTGRES_PASSWORD",
            "VAULTWARDEN_ADMIN_TOKEN"
        ]
    );
    let new_plaintext = s
        .run(&["get", "VAULTWARDEN_ADMIN_TOKEN", "--plaintext"])
        .ok();
    assert_ne!(new_plaintext, plaintext);
    assert_formats(&third, new_plaintext.trim_end());
}

#[test]
fn the_age_cli_decrypts_the_vault_to_the_stored_values() {
    let s = Sandbox::new();
    s.run(&["init"]).ok();
    let json = s.age_decrypt();
    assert_eq!(json["format"], "envgen-vault/1");
    assert_eq!(json["schema"], "alecia");
    let variables = json["variables"].as_object().unwrap();
    assert_eq!(
        variables.len(),
        25,
        "the 25 stored variables; 3 are derived at render"
    );
    for name in ["REDIS_PASSWORD", "STRAPI_APP_KEYS", "POSTGRES_USER"] {
        let got = s.run(&["get", name]).ok();
        assert_eq!(variables[name]["value"].as_str().unwrap(), got.trim_end());
        assert!(variables[name]["created"].as_str().unwrap().ends_with('Z'));
    }
    let token = &variables["VAULTWARDEN_ADMIN_TOKEN"];
    assert_eq!(
        token["hash"].as_str().unwrap(),
        s.run(&["get", "VAULTWARDEN_ADMIN_TOKEN"]).ok().trim_end()
    );
}

#[test]
fn init_again_changes_nothing_and_adds_only_new_variables() {
    let s = Sandbox::new();
    s.run(&["init"]).ok();
    let vault = s.read("vault/alecia.age");
    let before = rendered_values(&s);

    let again = s.run(&["init"]);
    assert_eq!(again.code, 0);
    assert_eq!(again.stdout, "");
    assert!(again.stderr.contains("nothing changed"), "{}", again.stderr);
    assert_eq!(
        s.read("vault/alecia.age"),
        vault,
        "the vault is not rewritten"
    );

    let mut schema = String::from_utf8(s.read("schema/alecia.toml")).unwrap();
    schema.push_str(
        "\n[[variable]]\nname = \"NEW_TOKEN\"\nkind = \"secret\"\nencoding = \"base64url\"\nbytes = 24\ndescription = \"d\"\nservices = [\"x\"]\n",
    );
    s.write("schema/alecia.toml", &schema);
    assert_eq!(s.run(&["init"]).ok(), "generated NEW_TOKEN\n");
    let after = rendered_values(&s);
    assert_eq!(after["NEW_TOKEN"].len(), 32);
    assert!(
        after["NEW_TOKEN"]
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
    );
    let mut without_new = after.clone();
    without_new.remove("NEW_TOKEN");
    assert_eq!(without_new, before, "existing values never change");
}

#[test]
fn set_overrides_fixed_values_only() {
    let s = Sandbox::new();
    s.run(&[
        "init",
        "--set",
        "POSTGRES_USER=stack_owner",
        "--set",
        "MINIO_ROOT_USER=s3root",
    ])
    .ok();
    let v = rendered_values(&s);
    assert_eq!(v["POSTGRES_USER"], "stack_owner");
    assert_eq!(v["MINIO_ROOT_USER"], "s3root");
    assert!(v["DATABASE_URL"].starts_with("postgresql://stack_owner:"));
}

#[test]
fn keygen_writes_a_private_file_and_prints_the_recipient() {
    let s = Sandbox::new();
    let recipient = s.run(&["keygen", "-o", "k.txt"]).ok();
    assert!(recipient.starts_with("age1") && recipient.ends_with('\n'));
    let mode = std::fs::metadata(s.path("k.txt"))
        .unwrap()
        .permissions()
        .mode()
        & 0o777;
    assert_eq!(mode, 0o600);
    let text = String::from_utf8(s.read("k.txt")).unwrap();
    assert!(text.contains(&format!("# public key: {}", recipient.trim_end())));
    let again = s.run(&["keygen", "-o", "k.txt"]).fails();
    assert!(
        again.contains("already exists; refusing to overwrite it"),
        "{again}"
    );
    assert_eq!(s.read("k.txt"), text.as_bytes());
}

#[test]
fn init_creates_the_default_identity_when_there_is_none() {
    let s = Sandbox::new();
    let run = s
        .command(&["init"])
        .env_remove("ENVGEN_IDENTITY")
        .output()
        .unwrap();
    assert!(run.status.success());
    let stderr = String::from_utf8(run.stderr).unwrap();
    let identity = s.path("home/.config/envgen/identity.txt");
    assert!(
        stderr.contains(&format!("created your identity {}", identity.display())),
        "{stderr}"
    );
    assert!(stderr.contains("back it up"));
    assert_eq!(
        std::fs::metadata(&identity).unwrap().permissions().mode() & 0o777,
        0o600
    );
    let render = s
        .command(&["render"])
        .env_remove("ENVGEN_IDENTITY")
        .output()
        .unwrap();
    assert!(render.status.success());
}

#[test]
fn secret_files_are_private_and_recipients_public() {
    let s = Sandbox::new();
    s.run(&["init"]).ok();
    let mode = |p: &str| std::fs::metadata(s.path(p)).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode("vault/alecia.age"), 0o600);
    assert_eq!(mode("vault/.alecia.age.lock"), 0o600);
    assert_eq!(mode("vault/alecia.recipients"), 0o644);
    let recipients = String::from_utf8(s.read("vault/alecia.recipients")).unwrap();
    assert!(recipients.lines().any(|l| l == s.public_key()));
    let leftovers: Vec<_> = std::fs::read_dir(s.path("vault"))
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(
        leftovers.len(),
        3,
        "vault, recipients, lock; no temporary file: {leftovers:?}"
    );
}

#[test]
fn init_encrypts_to_the_given_recipients() {
    let s = Sandbox::new();
    let other = s.run(&["keygen", "-o", "other.txt"]).ok();
    let mine = s.run(&["keygen", "-o", "mine2.txt"]).ok();
    s.write("team.recipients", &format!("# team\n{mine}"));
    s.run(&["init", "-r", other.trim_end(), "-R", "team.recipients"])
        .ok();
    for id in ["other.txt", "mine2.txt"] {
        s.run(&["--identity", id, "get", "REDIS_PASSWORD"]).ok();
    }
    let err = s.run(&["render"]).fails();
    assert!(err.contains("none of the identities in"), "{err}");
}

#[test]
fn list_shows_kinds_formats_and_dates_but_never_values() {
    let s = Sandbox::new();
    let before = s.run(&["list"]).ok();
    assert!(before.contains("no vault at vault/alecia.age yet"));
    s.run(&["init"]).ok();
    let listing = s.run(&["list"]).ok();
    assert_eq!(
        listing.lines().filter(|l| !l.starts_with('#')).count(),
        29,
        "header + 28 rows"
    );
    assert!(
        listing.contains("AP_ENCRYPTION_KEY           secret   hex 16 bytes"),
        "{listing}"
    );
    assert!(listing.contains("4 x base64 16 bytes, joined by \",\""));
    assert!(listing.contains("argon2id (m=65540,t=3,p=4) of hex 32 bytes"));
    let values = rendered_values(&s);
    for (name, value) in &values {
        if !["POSTGRES_USER", "MINIO_ROOT_USER"].contains(&name.as_str()) {
            assert!(
                !listing.contains(value.as_str()),
                "list shows the value of {name}"
            );
        }
    }
}

#[test]
fn concurrent_rotates_of_different_variables_both_survive() {
    let s = Sandbox::new();
    s.run(&["init"]).ok();
    for _ in 0..5 {
        let before = rendered_values(&s);
        let a = s.command(&["rotate", "SEARXNG_SECRET"]).spawn().unwrap();
        let b = s.command(&["rotate", "HOCUSPOCUS_SECRET"]).spawn().unwrap();
        assert!(a.wait_with_output().unwrap().status.success());
        assert!(b.wait_with_output().unwrap().status.success());
        let after = rendered_values(&s);
        assert_eq!(
            changed(&before, &after),
            ["HOCUSPOCUS_SECRET", "SEARXNG_SECRET"]
        );
    }
}

#[test]
fn a_changed_recipients_file_is_refused_until_accepted() {
    let s = Sandbox::new();
    s.run(&["init"]).ok();
    let intruder = s.run(&["keygen", "-o", "intruder.txt"]).ok();
    let original = s.read("vault/alecia.recipients");
    let vault = s.read("vault/alecia.age");
    s.write(
        "vault/alecia.recipients",
        &format!("{}{intruder}", String::from_utf8(original).unwrap()),
    );
    let err = s.run(&["rotate", "REDIS_PASSWORD"]).fails();
    assert!(
        err.contains("differs from the recipients recorded inside the vault"),
        "{err}"
    );
    assert!(
        err.contains(&format!("added: {}", intruder.trim_end())),
        "{err}"
    );
    assert!(err.contains("--update-recipients"), "{err}");
    assert_eq!(s.read("vault/alecia.age"), vault, "the vault is untouched");
    assert!(
        s.run(&["--identity", "intruder.txt", "get", "REDIS_PASSWORD"])
            .code
            != 0
    );

    let out = s
        .run(&["rotate", "REDIS_PASSWORD", "--update-recipients"])
        .ok();
    assert!(
        out.starts_with(&format!(
            "recipient added from the recipients file: {}\n",
            intruder.trim_end()
        )),
        "the key accepted is named: {out}"
    );
    s.run(&["--identity", "intruder.txt", "get", "REDIS_PASSWORD"])
        .ok();

    // Dropping a key from the file and accepting it is a removal like `recipients remove`:
    // a new lineage, and what the key could read is reported as exposed.
    let lineage = |s: &Sandbox| {
        s.run(&["textconv", "vault/alecia.age"])
            .ok()
            .lines()
            .next()
            .unwrap()
            .split(", generation")
            .next()
            .unwrap()
            .to_string()
    };
    let before = lineage(&s);
    s.write(
        "vault/alecia.recipients",
        &String::from_utf8(s.read("vault/alecia.recipients"))
            .unwrap()
            .replace(intruder.as_str(), ""),
    );
    let out = s
        .run(&["rotate", "SEARXNG_SECRET", "--update-recipients"])
        .ok();
    assert!(
        out.contains(&format!(
            "recipient removed from the recipients file: {}",
            intruder.trim_end()
        )),
        "{out}"
    );
    assert_ne!(lineage(&s), before, "a new lineage");
    let check = s.run(&["check"]);
    assert_eq!(check.code, 1);
    assert!(
        check.stdout.contains("exposed REDIS_PASSWORD"),
        "{}",
        check.stdout
    );
    assert!(
        !check.stdout.contains("exposed SEARXNG_SECRET"),
        "rotated in the same command: {}",
        check.stdout
    );
}

#[test]
fn two_inits_never_share_a_value() {
    let (a, b) = (Sandbox::new(), Sandbox::new());
    a.run(&["init"]).ok();
    b.run(&["init"]).ok();
    let values = |s: &Sandbox| -> Vec<String> {
        let json = s.age_decrypt();
        json["variables"]
            .as_object()
            .unwrap()
            .iter()
            .filter(|(name, _)| !name.ends_with("_USER"))
            .map(|(_, v)| v["value"].as_str().unwrap().to_string())
            .collect()
    };
    let (va, vb) = (values(&a), values(&b));
    assert_eq!(va.len(), 23);
    for value in &va {
        assert!(!vb.contains(value), "two vaults share a value");
    }
    let all: std::collections::BTreeSet<&String> = va.iter().chain(&vb).collect();
    assert_eq!(all.len(), 46, "46 distinct values");
}
