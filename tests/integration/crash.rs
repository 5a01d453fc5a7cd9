//! Crash safety: a write interrupted at any step leaves the old vault or the new one,
//! whole. Deterministic crash points (debug builds only, `ENVGEN_FAULT=STEP@FILE`) at each
//! step of a write, and SIGKILL at varying moments. `ENVGEN_FULL_TESTS=1` runs the long
//! loops (500 kills instead of 60).

use std::collections::BTreeMap;
use std::os::unix::process::ExitStatusExt;
use std::process::Stdio;
use std::time::Duration;

use crate::testkit::Sandbox;

const STEPS: [&str; 4] = [
    "before-write",
    "before-fsync",
    "before-rename",
    "after-rename",
];

fn full() -> bool {
    std::env::var_os("ENVGEN_FULL_TESTS").is_some()
}

/// Every stored value, through the age CLI (the vault must be a whole age file).
fn stored(s: &Sandbox) -> BTreeMap<String, String> {
    let json = s.age_decrypt();
    json["variables"]
        .as_object()
        .unwrap()
        .iter()
        .map(|(k, v)| (k.clone(), v["value"].as_str().unwrap().to_string()))
        .collect()
}

/// Runs `args` with a crash at `step` of the vault's write; returns whether it crashed.
fn crash_at(s: &Sandbox, step: &str, args: &[&str]) -> bool {
    let status = s
        .command(args)
        .env("ENVGEN_FAULT", format!("{step}@alecia.age"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .unwrap();
    status.signal() == Some(6)
}

#[test]
#[cfg_attr(
    not(debug_assertions),
    ignore = "crash points are compiled into debug builds only"
)]
fn a_crash_at_each_step_of_a_write_leaves_the_old_or_the_new_vault() {
    let mut checked = 0;
    for step in STEPS {
        let s = Sandbox::new();
        s.run(&["init"]).ok();
        // A previous value, so that rollback has something to restore.
        s.run(&["rotate", "REDIS_PASSWORD"]).ok();
        let other = s.run(&["keygen", "-o", "other.txt"]).ok();
        let commands: [&[&str]; 3] = [
            &["rotate", "REDIS_PASSWORD"],
            &["rollback", "REDIS_PASSWORD"],
            &["recipients", "add", other.trim()],
        ];
        for args in commands {
            let before = stored(&s);
            let vault_before = s.read("vault/alecia.age");
            assert!(crash_at(&s, step, args), "{step} {args:?} crashed");
            let after = stored(&s);
            if step == "after-rename" {
                assert_ne!(
                    s.read("vault/alecia.age"),
                    vault_before,
                    "{step} {args:?}: the new vault is in place"
                );
            } else {
                assert_eq!(
                    s.read("vault/alecia.age"),
                    vault_before,
                    "{step} {args:?}: the old vault is untouched"
                );
                assert_eq!(after, before);
            }
            // A recipients change caught between the file and the vault is completed by
            // running it again (until then, writes are refused: the file differs).
            if args[0] == "recipients" {
                s.run(args).ok();
            }
            // The next command works, and cleans what the crash left.
            s.run(&["rotate", "SEARXNG_SECRET"]).ok();
            let leftovers: Vec<String> = std::fs::read_dir(s.path("vault"))
                .unwrap()
                .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
                .filter(|n| n.ends_with(".tmp"))
                .collect();
            assert!(leftovers.is_empty(), "{leftovers:?}");
            checked += 1;
        }
        // A crash while creating a vault leaves no vault or a whole one.
        let fresh = Sandbox::new();
        assert!(crash_at(&fresh, step, &["init"]));
        if fresh.path("vault/alecia.age").exists() {
            assert_eq!(stored(&fresh).len(), 25, "{step}");
        } else {
            assert_ne!(step, "after-rename");
        }
        fresh.run(&["init"]).ok();
        checked += 1;
    }
    eprintln!("crash points: {checked}/{checked} interrupted writes left a whole vault");
}

#[test]
fn rotate_killed_at_random_moments_never_tears_the_vault() {
    let rounds = if full() { 500 } else { 60 };
    let s = Sandbox::new();
    s.run(&["init"]).ok();
    // Kills fall within the time a whole rotate takes here, the fastest of five (a debug
    // build takes ten times a release one, the first run reads the binary from disk), so
    // most of them interrupt it.
    let fastest = (0..5)
        .map(|_| {
            let started = std::time::Instant::now();
            s.run(&["rotate", "HOCUSPOCUS_SECRET"]).ok();
            started.elapsed().as_micros() as u64
        })
        .min()
        .unwrap();
    let window = fastest.clamp(1_000, 25_000);
    let mut expected = stored(&s);
    let (mut killed, mut whole) = (0, 0);
    for round in 0..rounds {
        let mut child = s
            .command(&["rotate", "HOCUSPOCUS_SECRET"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        std::thread::sleep(Duration::from_micros((round as u64 * 7_919) % window));
        let _ = child.kill();
        if !child.wait().unwrap().success() {
            killed += 1;
        }
        let now = stored(&s);
        for (name, value) in &expected {
            if name != "HOCUSPOCUS_SECRET" {
                assert_eq!(&now[name], value, "round {round}: {name} changed");
            }
        }
        assert_eq!(now["HOCUSPOCUS_SECRET"].len(), 64, "round {round}");
        expected = now;
        whole += 1;
    }
    eprintln!("kill -9 during rotate: {whole}/{rounds} vaults whole ({killed} runs really killed)");
    assert!(
        killed > rounds / 4,
        "the loop must really interrupt rotations: {killed}"
    );
}

#[test]
fn init_killed_at_random_moments_leaves_no_vault_or_a_whole_one() {
    let rounds = if full() { 200 } else { 20 };
    let (mut absent, mut complete) = (0, 0);
    for round in 0..rounds {
        let s = Sandbox::new();
        let mut child = s
            .command(&["init"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        std::thread::sleep(Duration::from_micros((round as u64 * 15_485) % 300_000));
        let _ = child.kill();
        child.wait().unwrap();
        if s.path("vault/alecia.age").exists() {
            assert_eq!(stored(&s).len(), 25, "round {round}");
            complete += 1;
        } else {
            absent += 1;
        }
        s.run(&["init"]).ok();
        assert_eq!(stored(&s).len(), 25);
    }
    eprintln!(
        "kill -9 during init: {rounds}/{rounds} left no vault ({absent}) or a whole one ({complete})"
    );
}

/// A removal interrupted at any step of the vault's write: the recipients file already
/// names the remaining keys, so what every later write advises (`--update-recipients`)
/// finishes the removal, and the removed key cannot open the vault.
#[test]
#[cfg_attr(
    not(debug_assertions),
    ignore = "crash points are compiled into debug builds only"
)]
fn an_interrupted_removal_is_finished_by_the_advice_it_leaves() {
    for step in STEPS {
        let (s, other) = with_a_second_recipient();
        assert!(crash_at(&s, step, &["recipients", "remove", other.trim()]));
        let recipients = String::from_utf8(s.read("vault/alecia.recipients")).unwrap();
        assert!(!recipients.contains(other.trim()), "{step}: {recipients}");
        if step != "after-rename" {
            let err = s.run(&["rotate", "SEARXNG_SECRET"]).fails();
            assert!(err.contains("--update-recipients"), "{step}: {err}");
        }
        s.run(&["rotate", "SEARXNG_SECRET", "--update-recipients"])
            .ok();
        assert!(
            !second_key_opens(&s),
            "{step}: the removed key still opens the vault"
        );
        s.run(&["render"]).ok();
    }
}

/// A removal whose save fails after the vault was replaced (here: the pins cannot be
/// locked) leaves the file naming the new set, so following the advice keeps the removed
/// key out.
#[test]
fn a_removal_whose_pin_update_fails_keeps_the_key_out() {
    let (s, other) = with_a_second_recipient();
    s.run(&["render"]).ok();
    let lock = s.path("home/.local/state/envgen/.pins.json.lock");
    let _ = std::fs::remove_file(&lock);
    std::fs::create_dir(&lock).unwrap();
    s.run(&["recipients", "remove", other.trim()]).fails();
    std::fs::remove_dir(&lock).unwrap();
    s.run(&["rotate", "SEARXNG_SECRET", "--update-recipients"])
        .ok();
    assert!(
        !second_key_opens(&s),
        "the removed key opens the vault again"
    );
}

/// A vault of two recipients: the sandbox's identity and `other.txt`'s (returned).
fn with_a_second_recipient() -> (Sandbox, String) {
    let s = Sandbox::new();
    s.run(&["init"]).ok();
    let other = s
        .run(&["keygen", "-o", "other.txt"])
        .ok()
        .trim()
        .to_string();
    s.run(&["recipients", "add", &other]).ok();
    (s, other)
}

/// Whether the age CLI opens the vault with `other.txt`.
fn second_key_opens(s: &Sandbox) -> bool {
    std::process::Command::new("age")
        .args(["-d", "-i", "other.txt", "vault/alecia.age"])
        .current_dir(s.dir.path())
        .output()
        .unwrap()
        .status
        .success()
}
