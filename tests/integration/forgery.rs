//! Forgery and replay: age authenticates nothing about the sender, so anyone holding the
//! public recipients file can write a valid vault, and an old vault can be put back. Both are
//! refused once this machine has seen the vault; `--accept-vault` accepts them deliberately.

use crate::testkit::Sandbox;

/// A vault written by someone who can read only the public recipients file: the format is
/// documented, the values are theirs, the lineage is one they made up.
fn forge(s: &Sandbox) -> Vec<u8> {
    let mut json = s.age_decrypt(); // the attacker knows the documented format, not the values
    json["lineage"] = serde_json::json!("00".repeat(32));
    json["generation"] = serde_json::json!(1_000_000);
    json["variables"]["REDIS_PASSWORD"]["value"] = serde_json::json!("attacker-chosen-password");
    s.write("forged.json", &serde_json::to_string(&json).unwrap());
    s.age(&[
        "-e",
        "-R",
        "vault/alecia.recipients",
        "-o",
        "forged.age",
        "forged.json",
    ]);
    s.read("forged.age")
}

#[test]
fn a_forged_vault_is_refused_once_the_real_one_was_seen() {
    let s = Sandbox::new();
    s.run(&["init"]).ok();
    s.run(&["get", "REDIS_PASSWORD"]).ok();
    let forged = forge(&s);
    std::fs::write(s.path("vault/alecia.age"), &forged).unwrap();
    for args in [
        &["render"][..],
        &["get", "REDIS_PASSWORD"],
        &["rotate", "SEARXNG_SECRET"],
        &["list"],
    ] {
        let err = s.run(args).fails();
        assert!(
            err.contains("vault/alecia.age is not the vault this machine knew at this path"),
            "{err}"
        );
        assert!(err.contains("--accept-vault"), "{err}");
        assert!(!err.contains("attacker-chosen"), "{err}");
    }
    assert_eq!(
        s.read("vault/alecia.age"),
        forged,
        "nothing was written over it"
    );

    // Deliberately accepted (say, the vault was really replaced), it is used and remembered.
    assert_eq!(
        s.run(&["--accept-vault", "get", "REDIS_PASSWORD"]).ok(),
        "attacker-chosen-password\n"
    );
    assert_eq!(
        s.run(&["get", "REDIS_PASSWORD"]).ok(),
        "attacker-chosen-password\n"
    );
}

#[test]
fn an_older_copy_put_back_is_refused_as_a_rollback() {
    let s = Sandbox::new();
    s.run(&["init"]).ok();
    let old = s.read("vault/alecia.age");
    let old_value = s.run(&["get", "REDIS_PASSWORD"]).ok();
    s.run(&["rotate", "REDIS_PASSWORD"]).ok();
    // A rollback of one value is a new generation, not a replay.
    s.run(&["rotate", "REDIS_PASSWORD"]).ok();
    s.run(&["rollback", "REDIS_PASSWORD", "--to", "2"]).ok();
    assert_eq!(s.run(&["get", "REDIS_PASSWORD"]).ok(), old_value);

    std::fs::write(s.path("vault/alecia.age"), &old).unwrap();
    let err = s.run(&["render"]).fails();
    assert!(err.contains("vault/alecia.age is older than the version this machine has seen (generation 1, seen 4): it was rolled back"), "{err}");
    let err = s.run(&["rotate", "REDIS_PASSWORD"]).fails();
    assert!(err.contains("rolled back"), "{err}");
    assert_eq!(s.read("vault/alecia.age"), old);

    // An operator restoring a backup on purpose accepts it once.
    s.run(&["--accept-vault", "render"]).ok();
    s.run(&["render"]).ok();
}

#[test]
fn a_machine_that_never_saw_the_vault_trusts_it_on_first_use() {
    let s = Sandbox::new();
    s.run(&["init"]).ok();
    let forged = forge(&s);
    std::fs::write(s.path("vault/alecia.age"), &forged).unwrap();
    // Another machine (another HOME) has no pin: first use is trusted, like ssh's known_hosts.
    let out = s
        .command(&["get", "REDIS_PASSWORD"])
        .env("HOME", s.path("other-home"))
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let pins = std::fs::read_to_string(s.path("other-home/.local/state/envgen/pins.json")).unwrap();
    assert!(pins.contains("\"generation\": 1000000"), "{pins}");
    assert!(
        !pins.contains(&"00".repeat(32)),
        "the lineage is stored hashed"
    );
}
