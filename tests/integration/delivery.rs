//! Issue 14: delivering secrets the way deployments consume them: `--apply` restarts exactly
//! the affected compose services, secret files containers can read, compose secrets,
//! Kubernetes Secrets and ExternalSecrets, systemd credentials.

use std::collections::BTreeMap;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use crate::testkit::{Run, Sandbox};

fn initialized() -> Sandbox {
    let s = Sandbox::new();
    s.run(&["init"]).ok();
    s
}

/// A compose file for the bundled schema: redis reads REDIS_PASSWORD, website and hocuspocus
/// REDIS_URL (derived from it), postgres and searxng other variables.
const COMPOSE: &str = "\
x-redis-client: &redis-client
  REDIS_URL: ${REDIS_URL}
services:
  postgres:
    image: postgres:16
    user: \"999:998\"
    environment:
      POSTGRES_USER: ${POSTGRES_USER}
      POSTGRES_PASSWORD: ${POSTGRES_PASSWORD}
  redis:
    image: redis:7
    command: redis-server --requirepass ${REDIS_PASSWORD}
  website:
    image: example/website
    environment:
      <<: *redis-client
      DATABASE_URL: ${DATABASE_URL}
  searxng:
    image: searxng/searxng
    environment:
      - SEARXNG_SECRET=${SEARXNG_SECRET}
  hocuspocus:
    image: example/hocuspocus
    environment: *redis-client
";

/// A `docker` shim first on PATH: records its arguments and environment, exits `code`.
struct Shim {
    dir: tempfile::TempDir,
}

impl Shim {
    fn new(code: i32) -> Shim {
        let dir = tempfile::tempdir().unwrap();
        let script = format!(
            "#!/bin/sh\nprintf '%s\\n' \"$@\" > '{0}/args'\nenv > '{0}/env'\nexit {code}\n",
            dir.path().display()
        );
        let bin = dir.path().join("bin");
        std::fs::create_dir(&bin).unwrap();
        std::fs::write(bin.join("docker"), script).unwrap();
        std::fs::set_permissions(bin.join("docker"), std::fs::Permissions::from_mode(0o755))
            .unwrap();
        Shim { dir }
    }

    fn path(&self) -> String {
        format!(
            "{}:{}",
            self.dir.path().join("bin").display(),
            std::env::var("PATH").unwrap_or_default()
        )
    }

    /// The arguments of the call, or `None` if docker was not run.
    fn args(&self) -> Option<Vec<String>> {
        let text = std::fs::read_to_string(self.dir.path().join("args")).ok()?;
        Some(text.lines().map(String::from).collect())
    }

    fn env(&self) -> BTreeMap<String, String> {
        let text = std::fs::read_to_string(self.dir.path().join("env")).unwrap();
        text.lines()
            .filter_map(|l| l.split_once('='))
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }
}

fn run_with_shim(s: &Sandbox, shim: &Shim, args: &[&str]) -> Run {
    let out = s.command(args).env("PATH", shim.path()).output().unwrap();
    Run {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8(out.stdout).unwrap(),
        stderr: String::from_utf8(out.stderr).unwrap(),
    }
}

fn get(s: &Sandbox, name: &str) -> String {
    s.run(&["get", name])
        .ok()
        .trim_end_matches('\n')
        .to_string()
}

/// Every file under `dir`, relative, except the vault directory and the home.
fn files(dir: &Path) -> Vec<PathBuf> {
    let mut found = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d).unwrap() {
            let path = entry.unwrap().path();
            let rel = path.strip_prefix(dir).unwrap().to_path_buf();
            if rel.starts_with("vault") || rel.starts_with("home") {
                continue;
            }
            if path.is_dir() {
                stack.push(path);
            } else {
                found.push(rel);
            }
        }
    }
    found.sort();
    found
}

#[test]
fn apply_restarts_exactly_the_services_that_read_the_change_with_the_new_values() {
    let s = initialized();
    s.write("compose.yml", COMPOSE);
    let before = get(&s, "REDIS_PASSWORD");
    let files_before = files(s.dir.path());
    let shim = Shim::new(0);
    let run = run_with_shim(
        &s,
        &shim,
        &[
            "rotate",
            "REDIS_PASSWORD",
            "--apply",
            "--compose",
            "compose.yml",
        ],
    );
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(run.stdout, "rotated REDIS_PASSWORD\nre-derived REDIS_URL\n");
    assert_eq!(
        shim.args().unwrap(),
        [
            "compose",
            "-f",
            "compose.yml",
            "up",
            "-d",
            "redis",
            "website",
            "hocuspocus"
        ]
    );
    let after = get(&s, "REDIS_PASSWORD");
    assert_ne!(after, before);
    let env = shim.env();
    assert_eq!(env["REDIS_PASSWORD"], after);
    assert!(env["REDIS_URL"].contains(&after));
    // Every value is there, so compose can interpolate the whole file.
    assert_eq!(env["SEARXNG_SECRET"], get(&s, "SEARXNG_SECRET"));
    assert_eq!(files(s.dir.path()), files_before, "no file was written");
    assert!(
        run.stderr
            .contains("running docker compose -f compose.yml up -d redis website hocuspocus")
    );
    assert!(!run.stderr.contains(&after) && !run.stdout.contains(&after));
}

#[test]
fn apply_without_compose_files_uses_the_schemas_services() {
    let s = initialized();
    let shim = Shim::new(0);
    run_with_shim(&s, &shim, &["rotate", "REDIS_PASSWORD", "--apply"]).ok();
    assert_eq!(
        shim.args().unwrap(),
        [
            "compose",
            "up",
            "-d",
            "redis",
            "website",
            "colab",
            "hocuspocus"
        ]
    );
}

#[test]
fn apply_reports_dockers_exit_code_and_leaves_the_vault_rotated() {
    let s = initialized();
    s.write("compose.yml", COMPOSE);
    let before = get(&s, "REDIS_PASSWORD");
    let shim = Shim::new(3);
    let run = run_with_shim(
        &s,
        &shim,
        &[
            "rotate",
            "REDIS_PASSWORD",
            "--apply",
            "--compose",
            "compose.yml",
        ],
    );
    assert_eq!(run.code, 2);
    assert!(run.stderr.contains("exited with code 3"), "{}", run.stderr);
    assert!(
        run.stderr
            .contains("envgen rollback REDIS_PASSWORD --apply --compose compose.yml"),
        "{}",
        run.stderr
    );
    let after = get(&s, "REDIS_PASSWORD");
    assert_ne!(after, before, "the vault stays rotated");
    // The suggested rollback puts the old value back and restarts with it.
    let shim = Shim::new(0);
    run_with_shim(
        &s,
        &shim,
        &[
            "rollback",
            "REDIS_PASSWORD",
            "--apply",
            "--compose",
            "compose.yml",
        ],
    )
    .ok();
    assert_eq!(get(&s, "REDIS_PASSWORD"), before);
    assert_eq!(shim.env()["REDIS_PASSWORD"], before);
}

#[test]
fn apply_dry_run_prints_the_command_and_runs_nothing() {
    let s = initialized();
    s.write("compose.yml", COMPOSE);
    let before = get(&s, "REDIS_PASSWORD");
    let shim = Shim::new(0);
    let out = run_with_shim(
        &s,
        &shim,
        &[
            "rotate",
            "REDIS_PASSWORD",
            "--apply",
            "--compose",
            "compose.yml",
            "--dry-run",
        ],
    )
    .ok();
    assert_eq!(
        out,
        "would rotate REDIS_PASSWORD\nwould re-derive REDIS_URL\nwould run docker compose -f compose.yml up -d redis website hocuspocus\n"
    );
    assert!(shim.args().is_none());
    assert_eq!(get(&s, "REDIS_PASSWORD"), before);
}

#[test]
fn set_apply_restarts_the_readers_of_a_fixed_value_and_its_derived_values() {
    let s = initialized();
    s.write("compose.yml", COMPOSE);
    let shim = Shim::new(0);
    run_with_shim(
        &s,
        &shim,
        &[
            "set",
            "POSTGRES_USER=stack",
            "--apply",
            "--compose",
            "compose.yml",
        ],
    )
    .ok();
    assert_eq!(
        shim.args().unwrap(),
        [
            "compose",
            "-f",
            "compose.yml",
            "up",
            "-d",
            "postgres",
            "website"
        ]
    );
    assert_eq!(shim.env()["POSTGRES_USER"], "stack");
    // Setting the same value again changes nothing and restarts nothing.
    let shim = Shim::new(0);
    let run = run_with_shim(
        &s,
        &shim,
        &[
            "set",
            "POSTGRES_USER=stack",
            "--apply",
            "--compose",
            "compose.yml",
        ],
    );
    assert_eq!(run.code, 0);
    assert!(
        run.stderr.contains("nothing was restarted"),
        "{}",
        run.stderr
    );
    assert!(shim.args().is_none());
}

#[test]
fn apply_refuses_guarded_variables_before_changing_anything() {
    let s = initialized();
    s.write("compose.yml", COMPOSE);
    let before = get(&s, "POSTGRES_PASSWORD");
    let shim = Shim::new(0);
    let args = [
        "rotate",
        "POSTGRES_PASSWORD",
        "--force",
        "--apply",
        "--compose",
        "compose.yml",
    ];
    let err = run_with_shim(&s, &shim, &args).fails();
    assert!(
        err.contains("not applied: POSTGRES_PASSWORD need steps"),
        "{err}"
    );
    assert!(
        err.contains("run `envgen rotate --force POSTGRES_PASSWORD`"),
        "{err}"
    );
    assert!(
        err.contains("envgen exec -- docker compose -f compose.yml up -d postgres website"),
        "{err}"
    );
    assert!(shim.args().is_none());
    assert_eq!(get(&s, "POSTGRES_PASSWORD"), before);
    // Without --force the guard speaks first, as without --apply.
    let err = run_with_shim(&s, &shim, &args[..2]).fails();
    assert!(err.contains("--force"), "{err}");
}

#[test]
fn apply_failures_before_the_write_change_nothing() {
    let s = initialized();
    let before = get(&s, "REDIS_PASSWORD");
    // No docker on PATH: exits as a shell would, before the vault is written.
    let empty = tempfile::tempdir().unwrap();
    let run = s
        .command(&["rotate", "REDIS_PASSWORD", "--apply"])
        .env("PATH", empty.path())
        .output()
        .unwrap();
    assert_eq!(run.status.code(), Some(127));
    assert!(String::from_utf8_lossy(&run.stderr).contains("cannot run docker"));
    // A compose file that does not parse, or is missing.
    s.write("bad.yml", "services: [\n");
    let shim = Shim::new(0);
    let err = run_with_shim(
        &s,
        &shim,
        &[
            "rotate",
            "REDIS_PASSWORD",
            "--apply",
            "--compose",
            "bad.yml",
        ],
    )
    .fails();
    assert!(err.contains("bad.yml"), "{err}");
    let err = run_with_shim(
        &s,
        &shim,
        &[
            "rotate",
            "REDIS_PASSWORD",
            "--apply",
            "--compose",
            "missing.yml",
        ],
    )
    .fails();
    assert!(err.contains("missing.yml"), "{err}");
    assert!(shim.args().is_none());
    assert_eq!(get(&s, "REDIS_PASSWORD"), before);
    // --compose means nothing without --apply.
    let run = s.run(&["rotate", "REDIS_PASSWORD", "--compose", "compose.yml"]);
    assert_eq!(run.code, 2);
    assert!(run.stderr.contains("--apply"), "{}", run.stderr);
}

#[test]
fn apply_with_no_reader_restarts_nothing() {
    let s = initialized();
    s.write("compose.yml", "services:\n  other:\n    image: x\n");
    let shim = Shim::new(0);
    let run = run_with_shim(
        &s,
        &shim,
        &[
            "rotate",
            "REDIS_PASSWORD",
            "--apply",
            "--compose",
            "compose.yml",
        ],
    );
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(run.stderr.contains("nothing was restarted"));
    assert!(shim.args().is_none());
}
