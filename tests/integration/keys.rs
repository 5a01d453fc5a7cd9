//! Keys and recipients: a team, a CI runner and a host key open the same vault; removal;
//! interrupted re-encryption; ssh keys (also passphrase-protected); passphrase vaults from a
//! file descriptor; permission checks; identity discovery; interop with the age CLI.

use std::os::unix::fs::PermissionsExt;
use std::process::{Command, Stdio};
use std::time::Duration;

use crate::testkit::Sandbox;

/// An ed25519 OpenSSH key pair made by ssh-keygen in the sandbox; returns the public line.
fn ssh_key(s: &Sandbox, name: &str, passphrase: &str) -> String {
    let status = Command::new("ssh-keygen")
        .args(["-q", "-t", "ed25519", "-C", name, "-N", passphrase, "-f"])
        .arg(s.path(name))
        .status()
        .expect("ssh-keygen (openssh-client) is installed; scripts/install-test-tools installs it");
    assert!(status.success());
    String::from_utf8(s.read(&format!("{name}.pub")))
        .unwrap()
        .trim()
        .to_string()
}

fn keygen(s: &Sandbox, name: &str) -> String {
    s.run(&["keygen", "-o", name]).ok().trim().to_string()
}

/// Runs `command` under a pseudo-terminal (`script`), typing `input` into it.
fn on_terminal(s: &Sandbox, command: &str, input: &str) -> (Option<i32>, String) {
    let mut child = Command::new("script")
        .args(["-qec", command, "/dev/null"])
        .current_dir(s.dir.path())
        .env("HOME", s.path("home"))
        .env_remove("ENVGEN_IDENTITY")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    use std::io::Write;
    let mut stdin = child.stdin.take().unwrap();
    // Give the program time to ask before typing, as a person would.
    std::thread::sleep(Duration::from_millis(300));
    stdin.write_all(input.as_bytes()).unwrap();
    drop(stdin);
    let out = child.wait_with_output().unwrap();
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
    )
}

#[test]
fn two_age_keys_and_an_ssh_key_open_the_same_vault_until_one_is_removed() {
    let s = Sandbox::new();
    let alice = keygen(&s, "alice.txt");
    let ci = keygen(&s, "ci.txt");
    let host = ssh_key(&s, "host_key", "");
    s.run(&["--identity", "alice.txt", "init", "-r", &alice])
        .ok();
    let added = s
        .run(&["--identity", "alice.txt", "recipients", "add", &ci, &host])
        .ok();
    assert_eq!(
        added,
        format!(
            "added {ci}\nadded {}\nre-encrypted vault/alecia.age to 3 recipient(s)\n",
            host.rsplit_once(' ').unwrap().0
        )
    );
    let listing = s.run(&["--identity", "ci.txt", "recipients", "list"]).ok();
    assert!(
        listing.contains(&format!("age (X25519)  {alice}"))
            && listing.contains("ssh-ed25519  ssh-ed25519 "),
        "{listing}"
    );

    let value = s
        .run(&["--identity", "alice.txt", "get", "REDIS_PASSWORD"])
        .ok();
    for id in ["alice.txt", "ci.txt", "host_key"] {
        assert_eq!(
            s.run(&["--identity", id, "get", "REDIS_PASSWORD"]).ok(),
            value,
            "{id}"
        );
        // The reference age CLI opens it with every kind of identity too.
        s.age(&["-d", "-i", id, "vault/alecia.age"]);
    }

    let removed = s.run(&["--identity", "alice.txt", "recipients", "remove", &ci]);
    assert_eq!(removed.code, 0, "{}", removed.stderr);
    assert!(
        removed.stderr.contains("removal is not revocation"),
        "{}",
        removed.stderr
    );
    let err = s
        .run(&["--identity", "ci.txt", "get", "REDIS_PASSWORD"])
        .fails();
    assert!(
        err.contains("none of the identities in ci.txt can open vault/alecia.age"),
        "{err}"
    );
    for id in ["alice.txt", "host_key"] {
        assert_eq!(
            s.run(&["--identity", id, "get", "REDIS_PASSWORD"]).ok(),
            value,
            "{id}"
        );
    }
    let recipients = String::from_utf8(s.read("vault/alecia.recipients")).unwrap();
    assert!(!recipients.contains(&ci) && recipients.contains(&alice));

    let err = s
        .run(&["--identity", "alice.txt", "recipients", "remove", &ci])
        .fails();
    assert!(
        err.contains("is not a recipient of vault/alecia.age"),
        "{err}"
    );
    let host_only = host.rsplit_once(' ').unwrap().0.to_string();
    s.run(&[
        "--identity",
        "alice.txt",
        "recipients",
        "remove",
        &host_only,
    ])
    .ok();
    let err = s
        .run(&["--identity", "alice.txt", "recipients", "remove", &alice])
        .fails();
    assert!(
        err.contains("would leave vault/alecia.age with no recipient"),
        "{err}"
    );
}

#[test]
fn remove_with_rotate_renews_the_free_secrets() {
    let s = Sandbox::new();
    let me = s.public_key();
    let gone = keygen(&s, "gone.txt");
    s.run(&["init", "-r", &me, "-r", &gone]).ok();
    let before = s.run(&["get", "REDIS_PASSWORD"]).ok();
    let guarded = s.run(&["get", "AP_ENCRYPTION_KEY"]).ok();
    let run = s.run(&["recipients", "remove", "--rotate", &gone]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(
        run.stdout.contains("rotated REDIS_PASSWORD"),
        "{}",
        run.stdout
    );
    assert!(
        run.stdout.contains("the removed key could read")
            && run.stdout.contains("REDIS_PASSWORD, ")
            && run.stdout.contains("AP_ENCRYPTION_KEY"),
        "every secret it could read is listed: {}",
        run.stdout
    );
    assert!(
        run.stderr.contains("still exposed to the removed key")
            && run.stderr.contains("AP_ENCRYPTION_KEY (impact data")
            && run
                .stderr
                .contains("envgen rotate --force AP_ENCRYPTION_KEY"),
        "{}",
        run.stderr
    );
    assert_ne!(s.run(&["get", "REDIS_PASSWORD"]).ok(), before);
    assert_eq!(
        s.run(&["get", "AP_ENCRYPTION_KEY"]).ok(),
        guarded,
        "data keys need --force"
    );

    // Issue 13: check reports what the removed key can still use, until it is rotated.
    let check = s.run(&["check"]);
    assert_eq!(check.code, 1, "{}", check.stdout);
    let line = format!("exposed AP_ENCRYPTION_KEY: readable by {gone}, removed ");
    assert!(check.stdout.contains(&line), "{}", check.stdout);
    assert!(
        !check.stdout.contains("exposed REDIS_PASSWORD"),
        "{}",
        check.stdout
    );
    let json = s.run(&["check", "--json"]).stdout;
    let json: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert_eq!(json["exposed"][0]["recipient"], gone.as_str());
    let names: Vec<String> = check
        .stdout
        .lines()
        .filter_map(|l| l.strip_prefix("exposed "))
        .map(|l| l.split(':').next().unwrap().to_string())
        .collect();
    for name in &names {
        s.run(&["rotate", "--force", name]).ok();
    }
    s.run(&["check"]).ok();
    // Putting back a value the removed key could read exposes it again.
    s.run(&["rollback", "--force", &names[0]]).ok();
    let check = s.run(&["check"]);
    assert_eq!(check.code, 1);
    assert!(
        check.stdout.contains(&format!("exposed {}", names[0])),
        "{}",
        check.stdout
    );
}

#[test]
fn remove_without_rotate_leaves_every_secret_reported_by_check() {
    let s = Sandbox::new();
    let me = s.public_key();
    let gone = keygen(&s, "gone.txt");
    s.run(&["init", "-r", &me, "-r", &gone]).ok();
    let run = s.run(&["recipients", "remove", &gone]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(
        run.stderr.contains("removal is not revocation"),
        "{}",
        run.stderr
    );
    let check = s.run(&["check"]);
    assert_eq!(check.code, 1);
    assert!(
        check.stdout.contains("exposed REDIS_PASSWORD: readable by"),
        "{}",
        check.stdout
    );
    s.run(&["rotate", "--all"]).ok();
    let check = s.run(&["check"]).stdout;
    assert!(!check.contains("exposed REDIS_PASSWORD"), "{check}");
    assert!(
        check.contains("`envgen rotate --force AP_ENCRYPTION_KEY`"),
        "{check}"
    );
}

#[test]
fn an_interrupted_recipients_change_leaves_a_whole_vault() {
    let s = Sandbox::new();
    let me = s.public_key();
    let other = keygen(&s, "other.txt");
    s.run(&["init", "-r", &me]).ok();
    let value = s.run(&["get", "REDIS_PASSWORD"]).ok();
    let (mut killed, mut finished, mut repaired) = (0, 0, 0);
    let in_vault = |s: &Sandbox| s.run(&["recipients", "list"]).ok().contains(&other);
    let in_file = |s: &Sandbox| {
        String::from_utf8(s.read("vault/alecia.recipients"))
            .unwrap()
            .contains(&other)
    };
    for round in 0..40u64 {
        let before = in_vault(&s);
        let verb = if before { "remove" } else { "add" };
        let mut child = s
            .command(&["recipients", verb, &other])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        std::thread::sleep(Duration::from_micros(500 + (round * 7919) % 12_000));
        let _ = child.kill();
        if child.wait().unwrap().success() {
            finished += 1
        } else {
            killed += 1
        }
        // Whatever the moment of the kill: the vault opens, whole, with the old or new set.
        assert_eq!(
            s.run(&["get", "REDIS_PASSWORD"]).ok(),
            value,
            "round {round}"
        );
        assert!(s.run(&["recipients", "list"]).ok().contains(&me));
        // Killed between the file and the vault: running the command again completes it.
        if in_file(&s) != in_vault(&s) {
            repaired += 1;
            s.run(&["recipients", verb, &other]).ok();
            assert_eq!(in_file(&s), in_vault(&s), "round {round}");
            assert_eq!(in_vault(&s), !before, "round {round}");
        }
    }
    eprintln!(
        "recipients add/remove: {killed} killed, {finished} finished, {repaired} repaired; every vault whole"
    );
    assert!(killed > 0, "some rounds must really be interrupted");
}

#[test]
fn a_passphrase_vault_takes_its_passphrase_from_a_descriptor_or_a_file_never_argv() {
    let s = Sandbox::new();
    s.write("pass.txt", "correct horse battery staple\n");
    std::fs::set_permissions(s.path("pass.txt"), std::fs::Permissions::from_mode(0o600)).unwrap();
    s.write("wrong.txt", "wrong\n");
    std::fs::set_permissions(s.path("wrong.txt"), std::fs::Permissions::from_mode(0o600)).unwrap();
    let envgen = assert_cmd::cargo::cargo_bin("envgen");
    let sh = |script: &str| {
        Command::new("sh")
            .args(["-c", script])
            .current_dir(s.dir.path())
            .env("HOME", s.path("home"))
            .env("ENVGEN", &envgen)
            .env_remove("ENVGEN_IDENTITY")
            .output()
            .unwrap()
    };
    let init = sh("\"$ENVGEN\" init --passphrase --work-factor 10 --passphrase-fd 3 3<pass.txt");
    assert!(
        init.status.success(),
        "{}",
        String::from_utf8_lossy(&init.stderr)
    );
    assert!(
        String::from_utf8_lossy(&init.stderr)
            .contains("encrypted with a passphrase (scrypt work factor 10)")
    );
    assert!(
        !s.path("vault/alecia.recipients").exists(),
        "a passphrase vault has no recipients"
    );
    assert!(
        !s.path("home/.config/envgen/identity.txt").exists(),
        "and needs no identity"
    );
    let by_fd = sh("\"$ENVGEN\" get REDIS_PASSWORD --passphrase-fd 3 3<pass.txt");
    assert!(by_fd.status.success());
    let by_file = s
        .command(&["get", "REDIS_PASSWORD"])
        .env("ENVGEN_PASSPHRASE_FILE", "pass.txt")
        .env_remove("ENVGEN_IDENTITY")
        .output()
        .unwrap();
    assert_eq!(by_file.stdout, by_fd.stdout);
    let rotate = s
        .command(&["rotate", "REDIS_PASSWORD"])
        .env("ENVGEN_PASSPHRASE_FILE", "pass.txt")
        .output()
        .unwrap();
    assert!(
        rotate.status.success(),
        "writes re-encrypt with the same passphrase"
    );
    // Two vaults opened by one command read the descriptor (here a pipe) once.
    std::fs::copy(s.path("vault/alecia.age"), s.path("old.age")).unwrap();
    let rotate = s
        .command(&["rotate", "SEARXNG_SECRET"])
        .env("ENVGEN_PASSPHRASE_FILE", "pass.txt")
        .output()
        .unwrap();
    assert!(rotate.status.success());
    let diff = sh("cat pass.txt | \"$ENVGEN\" diff old.age --passphrase-fd 0");
    assert_eq!(
        diff.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&diff.stderr)
    );
    assert!(String::from_utf8_lossy(&diff.stdout).starts_with("changed SEARXNG_SECRET "));

    let wrong = s
        .command(&["get", "REDIS_PASSWORD"])
        .env("ENVGEN_PASSPHRASE_FILE", "wrong.txt")
        .output()
        .unwrap();
    assert_eq!(wrong.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&wrong.stderr)
            .contains("the passphrase does not open vault/alecia.age")
    );
    assert!(wrong.stdout.is_empty());
    std::fs::set_permissions(s.path("pass.txt"), std::fs::Permissions::from_mode(0o644)).unwrap();
    let open = s
        .command(&["get", "REDIS_PASSWORD"])
        .env("ENVGEN_PASSPHRASE_FILE", "pass.txt")
        .output()
        .unwrap();
    assert!(
        String::from_utf8_lossy(&open.stderr)
            .contains("pass.txt is readable by other users (mode 644)")
    );

    // The reference age CLI asks for the passphrase on its terminal, and opens the vault.
    let (code, screen) = on_terminal(
        &s,
        "age -d -o out.json vault/alecia.age",
        "correct horse battery staple\n",
    );
    assert_eq!(code, Some(0), "{screen}");
    assert!(
        String::from_utf8(s.read("out.json"))
            .unwrap()
            .contains("\"envgen-vault/1\"")
    );
}

#[test]
fn an_encrypted_ssh_key_asks_for_its_passphrase_on_the_terminal() {
    let s = Sandbox::new();
    let key = ssh_key(&s, "locked", "key passphrase");
    s.run(&["init", "-r", &key]).ok();
    let envgen = assert_cmd::cargo::cargo_bin("envgen");
    let (code, screen) = on_terminal(
        &s,
        &format!(
            "{} --identity locked get --force SEARXNG_SECRET",
            envgen.display()
        ),
        "key passphrase\n",
    );
    assert_eq!(code, Some(0), "{screen}");
    assert!(screen.contains("passphrase"), "it asked: {screen}");
    let secret = screen.lines().last().unwrap().trim();
    assert_eq!(secret.len(), 64, "{screen}");
    assert!(!screen.contains("key passphrase"), "no echo: {screen}");
}

#[test]
fn identity_files_readable_by_others_are_refused() {
    let s = Sandbox::new();
    s.run(&["init"]).ok();
    std::fs::set_permissions(s.path("id.txt"), std::fs::Permissions::from_mode(0o640)).unwrap();
    let err = s.run(&["render"]).fails();
    assert!(
        err.contains("id.txt is readable by other users (mode 640)"),
        "{err}"
    );
    assert!(
        err.contains(&format!("hint: chmod 600 {}", s.path("id.txt").display())),
        "{err}"
    );
}

#[test]
fn whoami_follows_the_discovery_order_and_a_host_key_serves_a_server() {
    let s = Sandbox::new();
    let me = s.public_key();
    let other = keygen(&s, "other.txt");
    s.run(&["init"]).ok();
    let env = s.run(&["whoami"]).ok();
    assert_eq!(
        env,
        format!(
            "identity {} (given by ENVGEN_IDENTITY)\nrecipient {me} (listed in vault/alecia.recipients)\n",
            s.path("id.txt").display()
        )
    );
    let flags = s.run(&["--identity", "other.txt", "whoami"]).ok();
    assert_eq!(
        flags,
        format!(
            "identity other.txt (given by --identity)\nrecipient {other} (not listed in vault/alecia.recipients)\n"
        )
    );
    for line in env.lines().chain(flags.lines()) {
        assert!(!line.contains("AGE-SECRET-KEY"));
    }

    // A deploy host: no personal identity, the schema allows the host key.
    let host = ssh_key(&s, "ssh_host_ed25519_key", "");
    s.run(&["recipients", "add", &host]).ok();
    let schema = String::from_utf8(s.read("schema/alecia.toml")).unwrap();
    s.write(
        "schema/alecia.toml",
        &schema.replacen(
            "history = 5\n",
            &format!(
                "history = 5\nhost_identity = \"{}\"\n",
                s.path("ssh_host_ed25519_key").display()
            ),
            1,
        ),
    );
    let on_host = |args: &[&str]| {
        s.command(args)
            .env_remove("ENVGEN_IDENTITY")
            .output()
            .unwrap()
    };
    let who = on_host(&["whoami"]);
    assert!(String::from_utf8_lossy(&who.stdout).starts_with(&format!(
        "identity {} (the host key the schema allows)",
        s.path("ssh_host_ed25519_key").display()
    )));
    let render = on_host(&["render"]);
    assert!(
        render.status.success(),
        "{}",
        String::from_utf8_lossy(&render.stderr)
    );
    assert!(String::from_utf8_lossy(&render.stdout).contains("REDIS_PASSWORD="));
}

#[test]
fn an_ssh_rsa_key_is_a_recipient_too() {
    let s = Sandbox::new();
    let status = Command::new("ssh-keygen")
        .args(["-q", "-t", "rsa", "-b", "2048", "-N", "", "-C", "rsa", "-f"])
        .arg(s.path("rsa_key"))
        .status()
        .unwrap();
    assert!(status.success());
    let public = String::from_utf8(s.read("rsa_key.pub")).unwrap();
    s.run(&["init", "-r", public.trim()]).ok();
    assert!(
        s.run(&["--identity", "rsa_key", "recipients", "list"])
            .ok()
            .starts_with("ssh-rsa  ssh-rsa ")
    );
    let value = s
        .run(&["--identity", "rsa_key", "get", "HOCUSPOCUS_SECRET"])
        .ok();
    let out = s.age(&["-d", "-i", "rsa_key", "vault/alecia.age"]);
    assert!(String::from_utf8(out).unwrap().contains(value.trim()));
}

#[test]
fn a_new_passphrase_is_asked_twice_on_the_terminal() {
    let s = Sandbox::new();
    let envgen = assert_cmd::cargo::cargo_bin("envgen");
    let init = format!("{} init --passphrase --work-factor 10", envgen.display());
    let (code, screen) = on_terminal(&s, &init, "one passphrase\nanother one\n");
    assert_eq!(code, Some(2), "{screen}");
    assert!(
        screen.contains("passphrase: the two passphrases differ"),
        "{screen}"
    );
    assert!(!s.path("vault/alecia.age").exists());
    let (code, screen) = on_terminal(&s, &init, "same passphrase\nsame passphrase\n");
    assert_eq!(code, Some(0), "{screen}");
    assert!(!screen.contains("same passphrase"), "no echo: {screen}");
    let get = format!("{} get SEARXNG_SECRET", envgen.display());
    let (code, screen) = on_terminal(&s, &get, "");
    assert_eq!(
        code,
        Some(2),
        "like render, get prints no secret on a terminal: {screen}"
    );
    assert!(
        screen.contains("refusing to print secrets to a terminal"),
        "{screen}"
    );
    let get = format!("{} get --force SEARXNG_SECRET", envgen.display());
    let (code, screen) = on_terminal(&s, &get, "same passphrase\n");
    assert_eq!(code, Some(0), "{screen}");
    assert_eq!(screen.lines().last().unwrap().trim().len(), 64, "{screen}");
}
