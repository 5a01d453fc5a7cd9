//! Real services (issue 9): a throwaway PostgreSQL cluster and a Redis server on loopback.
//! The rendered `DATABASE_URL` and `REDIS_URL` connect through the real clients (psql,
//! redis-cli), and the steps `rotate` and `rollback` print are run verbatim through `sh`,
//! with a `docker` shim first on PATH standing for the compose stack:
//!
//! - `docker compose exec -T postgres psql ARGS` runs the local psql on the cluster's Unix
//!   socket, trusted as in the postgres image (`local all all trust`);
//! - `docker compose up -d SERVICES` records the environment the services would be recreated
//!   with, and for `redis` sets the new `requirepass` on the running server, as recreating
//!   the container with `--requirepass ${REDIS_PASSWORD}` would;
//! - like compose on the stack's file (`${POSTGRES_PASSWORD:?...}`), it refuses to run when
//!   the vault's values are not in its environment: a step that forgot `envgen exec` fails.
//!
//! Host connections to PostgreSQL require `scram-sha-256`, and the server logs every
//! statement, so the test also shows that no password reaches its log. Servers are stopped by
//! PID (SIGINT, wait) by a guard, also when an assertion fails. The tests skip, saying so,
//! only when the server binaries are not installed (scripts/install-test-tools installs them).

use std::fs::{self, OpenOptions};
use std::io::Write;
use std::net::TcpListener;
use std::os::unix::fs::{MetadataExt, OpenOptionsExt, PermissionsExt};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::testkit::{Sandbox, bundled_schema};

// --- tools -----------------------------------------------------------------------------------

/// `name` on PATH, else in `extra` directories.
pub(crate) fn find(name: &str, extra: &[PathBuf]) -> Option<PathBuf> {
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .chain(extra.iter().cloned())
        .map(|dir| dir.join(name))
        .find(|p| p.is_file())
}

/// Debian keeps the server binaries in /usr/lib/postgresql/<version>/bin, off PATH; the
/// newest version first.
fn postgres_dirs() -> Vec<PathBuf> {
    let mut dirs: Vec<(u32, PathBuf)> = fs::read_dir("/usr/lib/postgresql")
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| {
            let version = e.file_name().to_str()?.parse().ok()?;
            Some((version, e.path().join("bin")))
        })
        .collect();
    dirs.sort();
    dirs.into_iter().rev().map(|(_, dir)| dir).collect()
}

pub(crate) struct PgTools {
    initdb: PathBuf,
    postgres: PathBuf,
    psql: PathBuf,
}

pub(crate) fn pg_tools() -> Option<PgTools> {
    let dirs = postgres_dirs();
    let tools = PgTools {
        initdb: find("initdb", &dirs)?,
        postgres: find("postgres", &dirs)?,
        psql: find("psql", &dirs)?,
    };
    Some(tools)
}

/// Says why a test is skipped; only for binaries that are really not installed.
pub(crate) fn skip(what: &str) {
    eprintln!(
        "SKIPPED: {what} is not installed; scripts/install-test-tools installs it (CI runs it)"
    );
}

/// A free TCP port on loopback (closed again, so the server can bind it).
pub(crate) fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Whether the tests run as root, which initdb and postgres refuse.
fn is_root() -> bool {
    fs::metadata("/proc/self").unwrap().uid() == 0
}

/// The uid and gid of an unprivileged system user to run PostgreSQL as: `postgres` (the
/// Debian package creates it), else `nobody`.
fn unprivileged_user() -> (u32, u32) {
    let passwd = fs::read_to_string("/etc/passwd").unwrap();
    for wanted in ["postgres", "nobody"] {
        for line in passwd.lines() {
            let fields: Vec<&str> = line.split(':').collect();
            if fields.len() > 3 && fields[0] == wanted {
                return (fields[2].parse().unwrap(), fields[3].parse().unwrap());
            }
        }
    }
    panic!("running as root, and neither a postgres nor a nobody user exists");
}

/// Writes a file readable only by its owner.
fn write_private(path: &Path, text: &str) {
    let mut file = OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
        .unwrap();
    file.write_all(text.as_bytes()).unwrap();
}

// --- servers ---------------------------------------------------------------------------------

/// A server process, stopped by PID (SIGINT, then wait; SIGKILL after 10 s) when dropped,
/// also when the test fails.
struct Server {
    name: &'static str,
    child: Child,
}

impl Drop for Server {
    fn drop(&mut self) {
        let pid = self.child.id().to_string();
        // SIGINT: PostgreSQL's fast shutdown; Redis exits on it too.
        let _ = Command::new("kill").args(["-INT", &pid]).status();
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        eprintln!("{} (pid {pid}) ignored SIGINT; killing it", self.name);
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Polls `ready` every 50 ms for up to 20 s.
fn wait_until(what: &str, mut ready: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(20);
    while !ready() {
        assert!(Instant::now() < deadline, "{what} did not become ready");
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// A throwaway PostgreSQL cluster: superuser `user` with `password` (as the postgres image
/// creates it), a database named after the user, `scram-sha-256` required on 127.0.0.1,
/// trust on its private Unix socket (as inside the container), every statement logged.
pub(crate) struct Postgres {
    // Fields drop in order: the server stops before its directory is removed.
    _server: Server,
    dir: tempfile::TempDir,
    port: u16,
    user: String,
    psql: PathBuf,
}

impl Postgres {
    pub(crate) fn start(tools: &PgTools, port: u16, user: &str, password: &str) -> Postgres {
        let dir = tempfile::tempdir().unwrap();
        let owner = is_root().then(unprivileged_user);
        let as_owner = |cmd: &mut Command| {
            if let Some((uid, gid)) = owner {
                cmd.uid(uid).gid(gid);
            }
        };
        if let Some((uid, gid)) = owner {
            std::os::unix::fs::chown(dir.path(), Some(uid), Some(gid)).unwrap();
        }
        let data = dir.path().join("data");
        let pwfile = dir.path().join("pw");
        write_private(&pwfile, &format!("{password}\n"));
        if let Some((uid, gid)) = owner {
            std::os::unix::fs::chown(&pwfile, Some(uid), Some(gid)).unwrap();
        }
        let mut initdb = Command::new(&tools.initdb);
        initdb
            .arg("-D")
            .arg(&data)
            .args([
                "-U",
                user,
                "--auth-local=trust",
                "--auth-host=scram-sha-256",
            ])
            .arg(format!("--pwfile={}", pwfile.display()))
            .args(["-E", "UTF8", "--no-sync", "--no-instructions"])
            .env("LC_ALL", "C")
            .current_dir(dir.path());
        as_owner(&mut initdb);
        let out = initdb.output().unwrap();
        assert!(
            out.status.success(),
            "initdb failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        fs::remove_file(&pwfile).unwrap();

        let mut conf = OpenOptions::new()
            .append(true)
            .open(data.join("postgresql.conf"))
            .unwrap();
        write!(
            conf,
            "\nlisten_addresses = '127.0.0.1'\nport = {port}\nunix_socket_directories = '{}'\n\
             password_encryption = 'scram-sha-256'\nlog_statement = 'all'\n\
             logging_collector = off\nfsync = off\nmax_connections = 20\nshared_buffers = 16MB\n",
            dir.path().display()
        )
        .unwrap();
        fs::write(
            data.join("pg_hba.conf"),
            "local all all trust\nhost all all 127.0.0.1/32 scram-sha-256\n",
        )
        .unwrap();

        let log = fs::File::create(dir.path().join("server.log")).unwrap();
        let mut postgres = Command::new(&tools.postgres);
        postgres
            .arg("-D")
            .arg(&data)
            .env("LC_ALL", "C")
            .stdin(Stdio::null())
            .stdout(log.try_clone().unwrap())
            .stderr(log);
        as_owner(&mut postgres);
        let server = Server {
            name: "postgres",
            child: postgres.spawn().unwrap(),
        };
        let pg = Postgres {
            dir,
            port,
            user: user.to_string(),
            psql: tools.psql.clone(),
            _server: server,
        };
        wait_until("postgres", || pg.trusted("SELECT 1").is_ok());
        // The postgres image creates a database named after POSTGRES_USER when POSTGRES_DB
        // is unset.
        pg.trusted(&format!("CREATE DATABASE \"{user}\"")).unwrap();
        pg
    }

    /// Runs `sql` as the superuser over the trusted Unix socket; stdout, or stderr on failure.
    fn trusted(&self, sql: &str) -> Result<String, String> {
        self.psql_stdin(&["-d", "postgres"], sql)
    }

    /// psql on the socket as the superuser with `args`, `input` on stdin.
    fn psql_stdin(&self, args: &[&str], input: &str) -> Result<String, String> {
        let mut child = Command::new(&self.psql)
            .args(["-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1", "-h"])
            .arg(self.dir.path())
            .args(["-p", &self.port.to_string(), "-U", &self.user])
            .args(args)
            .env_clear()
            .env("LC_ALL", "C")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        child
            .stdin
            .take()
            .unwrap()
            .write_all(input.as_bytes())
            .unwrap();
        let out = child.wait_with_output().unwrap();
        if out.status.success() {
            Ok(String::from_utf8(out.stdout).unwrap())
        } else {
            Err(String::from_utf8_lossy(&out.stderr).into_owned())
        }
    }

    /// Connects with `url` through psql (`\connect URL`, on stdin, so the password is not in
    /// argv) and returns `current_user|current_database`, or psql's error.
    pub(crate) fn connect(&self, url: &str) -> Result<String, String> {
        self.psql_stdin(
            &["-d", "postgres"],
            &format!("\\connect {url}\nSELECT current_user || '|' || current_database();\n"),
        )
        .map(|out| out.lines().last().unwrap_or_default().to_string())
    }

    /// The role's stored password verifier.
    fn stored_verifier(&self) -> String {
        self.trusted("SELECT rolpassword FROM pg_authid WHERE rolname = current_user")
            .unwrap()
            .trim()
            .to_string()
    }

    fn log(&self) -> String {
        String::from_utf8_lossy(&fs::read(self.dir.path().join("server.log")).unwrap()).into_owned()
    }
}

/// A Redis server on loopback with `requirepass` from a 0600 config file, and an ACL user
/// `envgen-test-admin` that stands for compose recreating the container.
struct Redis {
    // Fields drop in order: the server stops before its directory is removed.
    _server: Server,
    dir: tempfile::TempDir,
    port: u16,
    cli: PathBuf,
}

/// The shim's way in: a fixed test password, not a vault value.
const REDIS_ADMIN_PASSWORD: &str = "shim-admin-0f3c";

impl Redis {
    fn start(server: &Path, cli: &Path, port: u16, password: &str) -> Redis {
        let dir = tempfile::tempdir().unwrap();
        let conf = dir.path().join("redis.conf");
        write_private(
            &conf,
            &format!(
                "port {port}\nbind 127.0.0.1\nrequirepass {password}\n\
                 user envgen-test-admin on >{REDIS_ADMIN_PASSWORD} ~* &* +@all\n\
                 save \"\"\nappendonly no\ndir {dir}\nlogfile {dir}/redis.log\n",
                dir = dir.path().display()
            ),
        );
        assert_eq!(
            fs::metadata(&conf).unwrap().permissions().mode() & 0o777,
            0o600
        );
        let child = Command::new(server)
            .arg(&conf)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let redis = Redis {
            dir,
            port,
            cli: cli.to_path_buf(),
            _server: Server {
                name: "redis-server",
                child,
            },
        };
        wait_until("redis-server", || {
            redis.ping("envgen-test-admin", REDIS_ADMIN_PASSWORD, port, 0) == "PONG"
        });
        redis
    }

    /// PING as `user`; the password goes in REDISCLI_AUTH, not argv. What redis-cli printed.
    fn ping(&self, user: &str, password: &str, port: u16, db: u32) -> String {
        let out = Command::new(&self.cli)
            .args(["--user", user, "-h", "127.0.0.1", "-p", &port.to_string()])
            .args(["-n", &db.to_string(), "PING"])
            .env_clear()
            .env("REDISCLI_AUTH", password)
            .stdin(Stdio::null())
            .output()
            .unwrap();
        String::from_utf8_lossy(&out.stdout).trim().to_string()
    }

    /// Connects with a `redis://user:password@host:port/db` URL through redis-cli: its
    /// parts, percent-decoded, go to `--user`, REDISCLI_AUTH, `-p` and `-n`.
    fn connect(&self, url: &str) -> Result<(), String> {
        let rest = url.strip_prefix("redis://").expect("a redis:// URL");
        let (userinfo, hostpart) = rest.rsplit_once('@').unwrap();
        let (user, password) = userinfo.split_once(':').unwrap();
        let decode = |s: &str| {
            percent_encoding::percent_decode_str(s)
                .decode_utf8()
                .unwrap()
                .into_owned()
        };
        let (host_port, db) = hostpart.split_once('/').unwrap();
        let (host, port) = host_port.rsplit_once(':').unwrap();
        assert_eq!(host, "127.0.0.1");
        let reply = self.ping(
            &decode(user),
            &decode(password),
            port.parse().unwrap(),
            db.parse().unwrap(),
        );
        if reply == "PONG" { Ok(()) } else { Err(reply) }
    }
}

// --- the sandbox, the shim, the steps --------------------------------------------------------

/// The bundled schema with the URLs pointing at the local servers.
fn schema_for(pg_port: u16, redis_port: u16) -> String {
    let schema = fs::read_to_string(bundled_schema()).unwrap();
    assert!(schema.contains("@postgres:5432/${POSTGRES_USER|url}\""));
    assert!(schema.contains("@redis:6379/0\""));
    schema
        .replace("@postgres:5432/", &format!("@127.0.0.1:{pg_port}/"))
        .replace("@redis:6379/", &format!("@127.0.0.1:{redis_port}/"))
}

const DOCKER_SHIM: &str = r#"#!/bin/sh
# docker shim of tests/integration/services.rs: `docker compose` of the alecia stack, mapped
# onto the local PostgreSQL and Redis.
set -eu
[ "${1-}" = compose ] || { echo "docker shim: only 'docker compose' is mapped" >&2; exit 90; }
shift
# compose interpolates ${POSTGRES_PASSWORD:?...} in the stack's file and stops without it.
: "${POSTGRES_PASSWORD:?docker shim: the vault's values are not in the environment (envgen exec missing?)}"
echo "docker compose $*" >> "$SHIM_STATE/calls"
case "$1" in
exec)
  shift
  [ "$1" = -T ] && shift
  [ "$1" = postgres ] && [ "$2" = psql ] || { echo "docker shim: cannot exec $*" >&2; exit 91; }
  shift 2
  exec psql -X -h "$SHIM_PG_SOCKET" -p "$SHIM_PG_PORT" "$@"
  ;;
up)
  shift
  [ "$1" = -d ] && shift
  umask 077
  for service in "$@"; do
    # What the recreated container would get.
    printf 'DATABASE_URL=%s\nREDIS_URL=%s\n' "$DATABASE_URL" "$REDIS_URL" > "$SHIM_STATE/$service.env"
    case "$service" in
    redis)
      # Recreating redis applies --requirepass ${REDIS_PASSWORD}: set it on the running server.
      printf 'CONFIG SET requirepass %s\n' "$REDIS_PASSWORD" \
        | REDISCLI_AUTH="$SHIM_REDIS_ADMIN_PASSWORD" redis-cli --user envgen-test-admin \
            -h 127.0.0.1 -p "$SHIM_REDIS_PORT" | grep -qx OK
      ;;
    postgres) ;; # the image ignores POSTGRES_PASSWORD once its data directory exists
    esac
  done
  ;;
*) echo "docker shim: cannot map compose $1" >&2; exit 92 ;;
esac
"#;

/// The environment the operator's shell has: the shim first on PATH, then envgen and the
/// real clients; the sandbox's HOME and identity; nothing from the vault.
struct Shell {
    bin: tempfile::TempDir,
    state: tempfile::TempDir,
    vars: Vec<(String, String)>,
}

impl Shell {
    fn new(psql: Option<&Path>, redis_cli: Option<&Path>) -> Shell {
        let bin = tempfile::tempdir().unwrap();
        let shim = bin.path().join("docker");
        fs::write(&shim, DOCKER_SHIM).unwrap();
        fs::set_permissions(&shim, fs::Permissions::from_mode(0o755)).unwrap();
        let envgen = assert_cmd::cargo::cargo_bin("envgen");
        std::os::unix::fs::symlink(&envgen, bin.path().join("envgen")).unwrap();
        for tool in [psql, redis_cli].into_iter().flatten() {
            std::os::unix::fs::symlink(tool, bin.path().join(tool.file_name().unwrap())).unwrap();
        }
        Shell {
            bin,
            state: tempfile::tempdir().unwrap(),
            vars: Vec::new(),
        }
    }

    fn set(&mut self, name: &str, value: impl ToString) {
        self.vars.push((name.to_string(), value.to_string()));
    }

    /// Runs `command` with `sh -c` in the sandbox; asserts success.
    #[track_caller]
    fn run(&self, s: &Sandbox, command: &str) {
        let path = format!("{}:/usr/bin:/bin", self.bin.path().display());
        let out = Command::new("sh")
            .args(["-c", command])
            .current_dir(s.dir.path())
            .env_clear()
            .env("PATH", path)
            .env("HOME", s.path("home"))
            .env("ENVGEN_IDENTITY", s.path("id.txt"))
            .env("SHIM_STATE", self.state.path())
            .envs(self.vars.iter().map(|(k, v)| (k, v)))
            .stdin(Stdio::null())
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "the step failed: {command}\nstdout: {}\nstderr: {}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }

    /// What `docker compose up -d` gave `service`, as `NAME=value` lines.
    fn deployed(&self, service: &str, name: &str) -> String {
        let text = fs::read_to_string(self.state.path().join(format!("{service}.env")))
            .unwrap_or_else(|_| panic!("{service} was not redeployed"));
        text.lines()
            .find_map(|l| l.strip_prefix(&format!("{name}=")))
            .unwrap()
            .to_string()
    }

    fn calls(&self) -> String {
        fs::read_to_string(self.state.path().join("calls")).unwrap_or_default()
    }
}

/// The steps printed for `name` on stderr, each split at its first ": " into what it says
/// and the command, which runs to the end of the step.
fn steps(stderr: &str, name: &str) -> Vec<(String, String)> {
    let header = format!("next steps for {name}:\n");
    let start = stderr.find(&header).unwrap_or_else(|| panic!("{stderr}")) + header.len();
    stderr[start..]
        .lines()
        .map_while(|l| l.strip_prefix("  "))
        .enumerate()
        .map(|(i, l)| {
            let text = l
                .strip_prefix(&format!("{}. ", i + 1))
                .unwrap_or_else(|| panic!("step {}: {l}", i + 1));
            let (what, command) = text.split_once(": ").unwrap_or((text, ""));
            (what.to_string(), command.to_string())
        })
        .collect()
}

/// Asserts that two values are equal without printing them (a failing test must not put
/// even throwaway passwords in the CI log).
#[track_caller]
fn same(actual: &str, expected: &str, what: &str) {
    assert!(actual == expected, "{what} is not the expected value");
}

fn get(s: &Sandbox, name: &str) -> String {
    s.run(&["get", name])
        .ok()
        .trim_end_matches('\n')
        .to_string()
}

// --- the tests -------------------------------------------------------------------------------

#[test]
fn issue_9_postgres_rotation_and_rollback_run_verbatim_against_a_real_server() {
    let Some(tools) = pg_tools() else {
        return skip("PostgreSQL (initdb, postgres, psql)");
    };
    let port = free_port();
    let s = Sandbox::with_schema(&schema_for(port, free_port()));
    // The README's own example: a user other than the default, which names the database too.
    s.run(&["init", "--set", "POSTGRES_USER=stack"]).ok();
    let first_password = get(&s, "POSTGRES_PASSWORD");
    let pg = Postgres::start(&tools, port, "stack", &first_password);

    // initdb (the server) made the first verifier; ours, under its salt, is the same string.
    let server_made = pg.stored_verifier();
    let salt = server_made
        .strip_prefix("SCRAM-SHA-256$4096:")
        .and_then(|rest| rest.split('$').next())
        .unwrap_or_else(|| panic!("not a SCRAM verifier: {server_made}"));
    let salt = base64_decode(salt);
    let ours = envgen::scram::verifier_with(&first_password, &salt, 4096).unwrap();
    assert_eq!(secrecy::ExposeSecret::expose_secret(&ours), server_made);

    let first_url = get(&s, "DATABASE_URL");
    assert!(first_url.ends_with(&format!("@127.0.0.1:{}/stack", pg.port)));
    assert_eq!(pg.connect(&first_url).unwrap(), "stack|stack");
    let wrong = first_url.replacen(&first_password, &"0".repeat(64), 1);
    let refused = pg.connect(&wrong).unwrap_err();
    assert!(
        refused.contains("password authentication failed"),
        "{refused}"
    );

    let mut shell = Shell::new(Some(&tools.psql), None);
    shell.set("SHIM_PG_SOCKET", pg.dir.path().display());
    shell.set("SHIM_PG_PORT", pg.port);

    // Rotate, then run steps 1 and 2 as printed.
    let rotated = s.run(&["rotate", "--force", "POSTGRES_PASSWORD"]);
    assert_eq!(rotated.code, 0, "{}", rotated.stderr);
    let printed = steps(&rotated.stderr, "POSTGRES_PASSWORD");
    assert_eq!(printed.len(), 3, "{printed:?}");
    for (_, command) in &printed[..2] {
        shell.run(&s, command);
    }
    let second_password = get(&s, "POSTGRES_PASSWORD");
    let second_url = get(&s, "DATABASE_URL");
    assert!(second_url != first_url, "DATABASE_URL did not change");
    same(
        &shell.deployed("website", "DATABASE_URL"),
        &second_url,
        "the clients' URL",
    );
    assert_eq!(pg.connect(&second_url).unwrap(), "stack|stack");
    let refused = pg.connect(&first_url).unwrap_err();
    assert!(
        refused.contains("password authentication failed"),
        "{refused}"
    );
    let second_verifier = pg.stored_verifier();
    assert!(second_verifier.starts_with("SCRAM-SHA-256$4096:"));
    assert_ne!(second_verifier, server_made);

    // Step 3 is the way back: rollback, then steps 1 and 2 again, as rollback prints them.
    assert_eq!(printed[2].1, "envgen rollback --force POSTGRES_PASSWORD");
    let rolled = s.run(&["rollback", "--force", "POSTGRES_PASSWORD"]);
    assert_eq!(rolled.code, 0, "{}", rolled.stderr);
    assert_eq!(steps(&rolled.stderr, "POSTGRES_PASSWORD"), printed);
    for (_, command) in &printed[..2] {
        shell.run(&s, command);
    }
    same(
        &get(&s, "DATABASE_URL"),
        &first_url,
        "DATABASE_URL after the rollback",
    );
    same(
        &shell.deployed("colab", "DATABASE_URL"),
        &first_url,
        "the clients' URL",
    );
    assert_eq!(pg.connect(&first_url).unwrap(), "stack|stack");
    let refused = pg.connect(&second_url).unwrap_err();
    assert!(
        refused.contains("password authentication failed"),
        "{refused}"
    );

    // The server logged both ALTER ROLE statements, with verifiers; never a password. (The
    // log is not printed on failure: it would hold the password the test looks for.)
    let log = pg.log();
    for password in [&first_password, &second_password] {
        assert!(
            !log.contains(password.as_str()),
            "a password is in the server log"
        );
    }
    let altered = log
        .matches("ALTER ROLE \"stack\" PASSWORD 'SCRAM-SHA-256$4096:")
        .count();
    assert_eq!(altered, 2, "the log should show both ALTER ROLE statements");
    let calls = shell.calls();
    assert!(
        calls.contains("docker compose exec -T postgres psql -U stack -d postgres"),
        "{calls}"
    );
}

#[test]
fn issue_9_redis_rotation_and_rollback_run_verbatim_against_a_real_server() {
    let (Some(server), Some(cli)) = (find("redis-server", &[]), find("redis-cli", &[])) else {
        return skip("Redis (redis-server, redis-cli)");
    };
    let port = free_port();
    let s = Sandbox::with_schema(&schema_for(free_port(), port));
    s.run(&["init"]).ok();
    let redis = Redis::start(&server, &cli, port, &get(&s, "REDIS_PASSWORD"));
    let first_url = get(&s, "REDIS_URL");
    redis.connect(&first_url).unwrap();
    let wrong = first_url.replacen(&get(&s, "REDIS_PASSWORD"), &"0".repeat(64), 1);
    assert!(redis.connect(&wrong).is_err());

    let mut shell = Shell::new(None, Some(&cli));
    shell.set("SHIM_REDIS_PORT", redis.port);
    shell.set("SHIM_REDIS_ADMIN_PASSWORD", REDIS_ADMIN_PASSWORD);

    // A free rotation: no --force, one step.
    let rotated = s.run(&["rotate", "REDIS_PASSWORD"]);
    assert_eq!(rotated.code, 0, "{}", rotated.stderr);
    let printed = steps(&rotated.stderr, "REDIS_PASSWORD");
    assert_eq!(printed.len(), 1, "{printed:?}");
    shell.run(&s, &printed[0].1);
    let second_url = get(&s, "REDIS_URL");
    assert!(second_url != first_url, "REDIS_URL did not change");
    same(
        &shell.deployed("hocuspocus", "REDIS_URL"),
        &second_url,
        "the clients' URL",
    );
    redis.connect(&second_url).unwrap();
    let refused = redis.connect(&first_url).unwrap_err();
    assert!(refused.contains("NOAUTH"), "{refused}");

    let rolled = s.run(&["rollback", "--force", "REDIS_PASSWORD"]);
    assert_eq!(rolled.code, 0, "{}", rolled.stderr);
    assert_eq!(steps(&rolled.stderr, "REDIS_PASSWORD"), printed);
    shell.run(&s, &printed[0].1);
    same(
        &get(&s, "REDIS_URL"),
        &first_url,
        "REDIS_URL after the rollback",
    );
    redis.connect(&first_url).unwrap();
    assert!(redis.connect(&second_url).is_err());
    assert!(
        redis.dir.path().join("redis.log").exists(),
        "the server wrote its log where the config file said"
    );
}

fn base64_decode(text: &str) -> Vec<u8> {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD
        .decode(text)
        .unwrap()
}
