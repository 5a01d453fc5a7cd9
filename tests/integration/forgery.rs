//! Forgery and replay: age authenticates nothing about the sender, so anyone holding the
//! public recipients file can write a valid vault, and an old vault can be put back. Both are
//! refused once this machine has seen the vault; `--accept-vault` accepts them deliberately.

use crate::testkit::Sandbox;

/// A vault written by someone who can read only the public recipients file: the format is
/// documented, the values are theirs, the lineage is one they made up.
pub(crate) fn forge(s: &Sandbox) -> Vec<u8> {
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
    // Never silently: the operator is told this machine just pinned what it was given.
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("note: first use of vault/alecia.age on this machine: its lineage"),
        "{stderr}"
    );
    let pins = std::fs::read_to_string(s.path("other-home/.local/state/envgen/pins.json")).unwrap();
    assert!(pins.contains("\"generation\": 1000000"), "{pins}");
    assert!(
        !pins.contains(&"00".repeat(32)),
        "the lineage is stored hashed"
    );
}

/// Issue 9, item 1: a member removed from the vault kept its plaintext (the lineage secret
/// among it) and writes a vault from it, with a higher generation and a value of their own,
/// encrypted to the owner and themselves, their key put back in the recipients file.
fn former_member_forgery(s: &Sandbox, kept: &serde_json::Value, member: &str) -> Vec<u8> {
    let mut json = kept.clone();
    let generation = json["generation"].as_u64().unwrap();
    json["generation"] = serde_json::json!(generation + 1000);
    json["variables"]["STRAPI_ADMIN_JWT_SECRET"]["value"] = serde_json::json!("ATTACKER");
    s.write("kept.json", &serde_json::to_string(&json).unwrap());
    let owner = s.public_key();
    s.age(&[
        "-e",
        "-r",
        &owner,
        "-r",
        member,
        "-o",
        "vault/alecia.age",
        "kept.json",
    ]);
    let mut recipients = String::from_utf8(s.read("vault/alecia.recipients")).unwrap();
    recipients.push_str(&format!("{member}\n"));
    s.write("vault/alecia.recipients", &recipients);
    s.read("vault/alecia.age")
}

fn member_key(s: &Sandbox) -> String {
    s.run(&["keygen", "-o", "m.txt"]).ok().trim().to_string()
}

#[test]
fn a_removed_member_cannot_forge_a_vault_that_is_accepted() {
    let s = Sandbox::new();
    s.run(&["init"]).ok();
    let member = member_key(&s);
    s.run(&["recipients", "add", &member]).ok();
    // A second machine of the team opens the vault while the member still belongs to it.
    let other = |args: &[&str]| {
        s.command(args)
            .env("HOME", s.path("other-home"))
            .output()
            .unwrap()
    };
    assert!(other(&["list"]).status.success());
    let kept: serde_json::Value =
        serde_json::from_slice(&s.age(&["-d", "-i", "m.txt", "vault/alecia.age"])).unwrap();

    let removed = s.run(&["recipients", "remove", "--rotate", &member]).ok();
    assert!(removed.contains(&format!("removed {member}")), "{removed}");
    // The other machine follows the vault to its new lineage.
    let out = other(&["get", "REDIS_PASSWORD"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );

    let forged = former_member_forgery(&s, &kept, &member);
    for args in [
        &["get", "STRAPI_ADMIN_JWT_SECRET"][..],
        &["render"],
        &["list"],
        &["rotate", "SEARXNG_SECRET"],
        &["exec", "--", "true"],
    ] {
        let err = s.run(args).fails();
        assert!(
            err.contains(
                "belongs to a lineage this vault left behind when a recipient was removed"
            ),
            "{args:?}: {err}"
        );
        assert!(!err.contains("ATTACKER"), "{err}");
        let out = other(args);
        assert_eq!(out.status.code(), Some(2), "{args:?} on the other machine");
        assert!(out.stdout.is_empty());
    }
    assert_eq!(
        s.read("vault/alecia.age"),
        forged,
        "nothing was written over it"
    );
}

#[test]
fn removing_a_recipient_and_rotating_all_start_new_lineages() {
    let s = Sandbox::new();
    s.run(&["init"]).ok();
    let lineage = |s: &Sandbox| {
        let text = s.run(&["textconv", "vault/alecia.age"]).ok();
        let header = text.lines().next().unwrap().to_string();
        assert!(header.contains("generation"), "{header}");
        header.split("lineage ").nth(1).unwrap()[..8].to_string()
    };
    let first = lineage(&s);
    s.run(&["rotate", "REDIS_PASSWORD"]).ok();
    assert_eq!(lineage(&s), first, "an ordinary rotation keeps the lineage");
    s.run(&["rotate", "--all"]).ok();
    let second = lineage(&s);
    assert_ne!(second, first);
    let member = member_key(&s);
    s.run(&["recipients", "add", &member]).ok();
    assert_eq!(lineage(&s), second, "adding a recipient keeps it");
    s.run(&["recipients", "remove", &member]).ok();
    assert_ne!(lineage(&s), second);
    // This machine followed every change.
    s.run(&["render"]).ok();
}

/// Security review: a successor is followed only when it shows the old lineage's secret;
/// the hash in a pin file (a backup, a support bundle) is not enough to forge one.
#[test]
fn a_pin_files_hash_does_not_make_a_successor() {
    let s = Sandbox::new();
    s.run(&["init"]).ok();
    s.run(&["get", "REDIS_PASSWORD"]).ok();
    let pins: serde_json::Value =
        serde_json::from_slice(&s.read("home/.local/state/envgen/pins.json")).unwrap();
    let pinned = pins.as_object().unwrap().values().next().unwrap()["lineage"].clone();
    let mut json = s.age_decrypt();
    json["lineage"] = serde_json::json!("11".repeat(32));
    json["predecessors"] = serde_json::json!([pinned]);
    json["generation"] = serde_json::json!(1_000_000);
    json["variables"]["REDIS_PASSWORD"]["value"] = serde_json::json!("attacker-chosen-password");
    s.write("forged.json", &serde_json::to_string(&json).unwrap());
    s.age(&[
        "-e",
        "-R",
        "vault/alecia.recipients",
        "-o",
        "vault/alecia.age",
        "forged.json",
    ]);
    let err = s.run(&["get", "REDIS_PASSWORD"]).fails();
    assert!(err.contains("is not the vault this machine knew"), "{err}");
}

/// Commands on other stacks of the same machine run at the same time (a deploy script
/// rendering several stacks): each records its own pin, and none may drop another's, or
/// that stack's next rollback would pass as a first use.
#[test]
fn concurrent_commands_on_other_stacks_keep_every_pin() {
    let s = Sandbox::new();
    s.run(&["init"]).ok();
    let stacks = 12;
    for i in 0..stacks {
        for file in [
            "schema/alecia.toml",
            "vault/alecia.age",
            "vault/alecia.recipients",
        ] {
            let to = s.path(&format!("stack{i}/{file}"));
            std::fs::create_dir_all(to.parent().unwrap()).unwrap();
            std::fs::copy(s.path(file), to).unwrap();
        }
    }
    let children: Vec<_> = (0..stacks)
        .map(|i| {
            s.command(&["render", "-o", ".env"])
                .current_dir(s.path(&format!("stack{i}")))
                .stdout(std::process::Stdio::null())
                .stderr(std::process::Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    for child in children {
        let output = child.wait_with_output().unwrap();
        assert!(
            output.status.success(),
            "{}",
            String::from_utf8_lossy(&output.stderr)
        );
    }
    let pins: serde_json::Value =
        serde_json::from_slice(&s.read("home/.local/state/envgen/pins.json")).unwrap();
    assert_eq!(pins.as_object().unwrap().len(), stacks + 1, "{pins}");
}
