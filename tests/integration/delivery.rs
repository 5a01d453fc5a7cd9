//! Issue 14: delivering secrets the way deployments consume them: `--apply` restarts exactly
//! the affected compose services, secret files containers can read, compose secrets,
//! Kubernetes Secrets and ExternalSecrets, systemd credentials.

use std::collections::BTreeMap;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Command;

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
            "--",
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
            .contains("running docker compose -f compose.yml up -d -- redis website hocuspocus")
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
            "--",
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
        "would rotate REDIS_PASSWORD\nwould re-derive REDIS_URL\nwould run docker compose -f compose.yml up -d -- redis website hocuspocus\n"
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
            "--",
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
        err.contains("envgen exec -- docker compose -f compose.yml up -d -- postgres website"),
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

/// Validates a manifest with the PyPI `kubernetes-validate` package (bundled schemas,
/// offline), strict: unknown fields fail too.
fn kubernetes_validate(dir: &Path, manifest: &str) {
    let path = dir.join("manifest.yaml");
    std::fs::write(&path, manifest).unwrap();
    let out = Command::new("kubernetes-validate")
        .args(["--strict", "--kubernetes-version", "1.30"])
        .arg(&path)
        .output()
        .expect("kubernetes-validate runs (pip install kubernetes-validate; scripts/install-test-tools)");
    assert!(
        out.status.success(),
        "kubernetes-validate refused the manifest: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    std::fs::remove_file(&path).unwrap();
}

/// A YAML document as JSON, through PyYAML (which kubernetes-validate depends on).
fn yaml_to_json(text: &str) -> serde_json::Value {
    use std::io::Write;
    let mut child = Command::new("python3")
        .args([
            "-c",
            "import json, sys, yaml\nprint(json.dumps(yaml.safe_load(sys.stdin)))",
        ])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(text.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success());
    serde_json::from_slice(&out.stdout).unwrap()
}

#[test]
fn k8s_secret_is_valid_and_holds_every_value_in_base64() {
    use base64::Engine;
    let s = initialized();
    let manifest = s
        .run(&[
            "render",
            "--format",
            "k8s",
            "--name",
            "alecia",
            "--namespace",
            "prod",
        ])
        .ok();
    kubernetes_validate(s.dir.path(), &manifest);
    let doc = yaml_to_json(&manifest);
    assert_eq!(doc["kind"], "Secret");
    assert_eq!(doc["type"], "Opaque");
    assert_eq!(doc["metadata"]["namespace"], "prod");
    assert_eq!(doc["metadata"]["labels"]["envgen/schema"], "alecia");
    let data = doc["data"].as_object().unwrap();
    assert_eq!(data.len(), 28);
    for name in ["REDIS_PASSWORD", "DATABASE_URL", "VAULTWARDEN_ADMIN_TOKEN"] {
        let decoded = base64::engine::general_purpose::STANDARD
            .decode(data[name].as_str().unwrap())
            .unwrap();
        assert_eq!(String::from_utf8(decoded).unwrap(), get(&s, name));
    }
    // kubectl parses it too, when it is installed (client-side: no cluster needed).
    if Command::new("kubectl")
        .arg("version")
        .arg("--client")
        .output()
        .is_ok()
    {
        use std::io::Write;
        let mut child = Command::new("kubectl")
            .args([
                "create",
                "--dry-run=client",
                "--validate=false",
                "-o",
                "name",
                "-f",
                "-",
            ])
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        child
            .stdin
            .take()
            .unwrap()
            .write_all(manifest.as_bytes())
            .unwrap();
        let out = child.wait_with_output().unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        if stderr.contains("connection refused") {
            // kubectl maps kinds through the API server's discovery, even for a client-side
            // dry run: without a cluster there is nothing more it can check.
            eprintln!("kubectl has no cluster to reach: its check was skipped");
        } else {
            assert!(out.status.success(), "{stderr}");
            assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), "secret/alecia");
        }
    } else {
        eprintln!("kubectl not installed: its check was skipped");
    }
}

#[test]
fn k8s_secret_of_a_service_and_profile_is_labelled_and_valid() {
    let s = Sandbox::with_schema(&format!(
        "{}\n[profile.staging]\n",
        std::fs::read_to_string(crate::testkit::bundled_schema()).unwrap()
    ));
    s.run(&["--profile", "staging", "init"]).ok();
    let manifest = s
        .run(&[
            "--profile",
            "staging",
            "render",
            "--format",
            "k8s",
            "--name",
            "redis-env",
            "--service",
            "redis",
        ])
        .ok();
    kubernetes_validate(s.dir.path(), &manifest);
    let doc = yaml_to_json(&manifest);
    assert_eq!(doc["metadata"]["labels"]["envgen/profile"], "staging");
    assert!(doc["metadata"].get("namespace").is_none());
    let keys: Vec<&String> = doc["data"].as_object().unwrap().keys().collect();
    assert_eq!(keys, ["REDIS_PASSWORD"]);
}

#[test]
fn k8s_and_external_secret_option_errors() {
    let s = initialized();
    for (args, expected) in [
        (
            &["render", "--format", "k8s"][..],
            "--name is required with --format k8s",
        ),
        (
            &["render", "--format", "k8s", "--name", "Bad_Name"],
            "--name Bad_Name: not a Kubernetes name",
        ),
        (
            &[
                "render",
                "--format",
                "k8s",
                "--name",
                "a",
                "--namespace",
                "a.b",
            ],
            "--namespace a.b",
        ),
        (
            &["render", "--name", "a"],
            "--name is not used with --format dotenv",
        ),
        (
            &["render", "--format", "k8s", "--name", "a", "--store", "b"],
            "--store is not used",
        ),
        (
            &["render", "--format", "external-secret", "--name", "a"],
            "--store is required",
        ),
        (
            &[
                "render",
                "--format",
                "external-secret",
                "--name",
                "a",
                "--store",
                "b",
            ],
            "reads the values from OpenBao, but vault/alecia.age is a file vault",
        ),
    ] {
        let err = s.run(args).fails();
        assert!(err.contains(expected), "{args:?}: {err}");
        assert!(err.contains("hint: "), "{err}");
    }
    // A Secret is plaintext: refused on a terminal like the .env (tested with `script`
    // elsewhere); to a file it is written 0600.
    s.run(&[
        "render", "--format", "k8s", "--name", "a", "--output", "s.yaml",
    ])
    .ok();
    let mode = std::fs::metadata(s.path("s.yaml"))
        .unwrap()
        .permissions()
        .mode();
    assert_eq!(mode & 0o777, 0o600);
}

#[test]
fn external_secret_points_at_the_kv_paths_openbao_holds_and_embeds_no_value() {
    use crate::openbao::{ROOT, Server, envgen};
    let bao = Server::dev();
    let s = Sandbox::new();
    envgen(&s, &bao.addr, ROOT, &["init"]).ok();
    let run = envgen(
        &s,
        &bao.addr,
        ROOT,
        &[
            "render",
            "--format",
            "external-secret",
            "--name",
            "alecia",
            "--namespace",
            "prod",
            "--store",
            "openbao",
        ],
    );
    assert_eq!(run.code, 0, "{}", run.stderr);
    let manifest = run.stdout;
    // Derived values are named as left out, never silently dropped.
    assert!(
        run.stderr.contains(
            "not in the ExternalSecret: DATABASE_URL, REDIS_URL, CLICKHOUSE_DATABASE_URL"
        ),
        "{}",
        run.stderr
    );
    let doc = yaml_to_json(&manifest);
    assert_eq!(doc["apiVersion"], "external-secrets.io/v1beta1");
    assert_eq!(doc["kind"], "ExternalSecret");
    assert_eq!(doc["spec"]["secretStoreRef"]["name"], "openbao");
    assert_eq!(doc["spec"]["target"]["name"], "alecia");
    let data = doc["spec"]["data"].as_array().unwrap();
    assert_eq!(data.len(), 25);
    for item in data {
        let name = item["secretKey"].as_str().unwrap();
        let key = item["remoteRef"]["key"].as_str().unwrap();
        let property = item["remoteRef"]["property"].as_str().unwrap();
        assert_eq!(key, format!("alecia/{name}"));
        // The path and property hold exactly what `render` would deliver.
        let out = bao.bao(
            ROOT,
            &[
                "kv",
                "get",
                &format!("-field={property}"),
                &format!("secret/{key}"),
            ],
        );
        let stored = String::from_utf8(out.stdout).unwrap();
        let rendered = envgen(
            &s,
            &bao.addr,
            ROOT,
            &["render", "--format", "json", "--only", name],
        )
        .ok();
        let rendered: serde_json::Value = serde_json::from_str(&rendered).unwrap();
        assert_eq!(stored.trim_end_matches('\n'), rendered[name], "{name}");
        if stored.len() > 12 {
            assert!(!manifest.contains(&stored), "no value is embedded: {name}");
        }
    }
}

fn mode_of(path: &Path) -> u32 {
    std::fs::metadata(path).unwrap().permissions().mode() & 0o7777
}

fn is_root() -> bool {
    let out = Command::new("id").arg("-u").output().unwrap();
    String::from_utf8_lossy(&out.stdout).trim() == "0"
}

#[test]
fn files_get_the_mode_and_owner_asked_for_and_a_private_directory() {
    use std::os::unix::fs::MetadataExt;
    let s = initialized();
    s.run(&[
        "render", "--format", "files", "--output", "secrets", "--mode", "0440",
    ])
    .ok();
    assert_eq!(mode_of(&s.path("secrets")), 0o700);
    assert_eq!(mode_of(&s.path("secrets/REDIS_PASSWORD")), 0o440);
    assert_eq!(
        String::from_utf8(s.read("secrets/REDIS_PASSWORD")).unwrap(),
        get(&s, "REDIS_PASSWORD")
    );
    if !is_root() {
        eprintln!("not root: the --owner checks were skipped (CI runs them as root)");
        return;
    }
    s.write("compose.yml", COMPOSE);
    for args in [
        &["--owner", "999:998"][..],
        &["--owner-from", "postgres", "--compose", "compose.yml"],
    ] {
        let mut full = vec!["render", "--format", "files", "--output", "owned"];
        full.extend_from_slice(args);
        s.run(&full).ok();
        let meta = std::fs::metadata(s.path("owned/POSTGRES_PASSWORD")).unwrap();
        assert_eq!((meta.uid(), meta.gid()), (999, 998), "{args:?}");
        assert_eq!(meta.mode() & 0o777, 0o400);
    }
    let names: Vec<String> = std::fs::read_dir(s.path("owned"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(names.len(), 28, "no staging directory is left: {names:?}");
}

#[test]
fn files_option_errors() {
    let s = initialized();
    s.write("compose.yml", COMPOSE);
    let files = ["render", "--format", "files", "--output", "out"];
    for (extra, expected) in [
        (
            &["--mode", "0644"][..],
            "--mode 0644: every user of this host could use",
        ),
        (&["--mode", "0660"], "--mode 0660: other users could change"),
        (&["--mode", "0999"], "--mode 0999: not an octal mode"),
        (&["--mode", "0040"], "the owner could not read"),
        (&["--owner", "www-data"], "--owner www-data: not UID:GID"),
        (
            &["--owner-from", "redis", "--compose", "compose.yml"],
            "the service has no `user:`",
        ),
        (
            &["--owner-from", "nope", "--compose", "compose.yml"],
            "--owner-from nope: no such service",
        ),
    ] {
        let mut args = files.to_vec();
        args.extend_from_slice(extra);
        let err = s.run(&args).fails();
        assert!(err.contains(expected), "{extra:?}: {err}");
        assert!(!s.path("out").exists() || std::fs::read_dir(s.path("out")).unwrap().count() == 0);
    }
    let err = s.run(&["render", "--mode", "0400"]).fails();
    assert!(
        err.contains("--mode is not used with --format dotenv"),
        "{err}"
    );
    let err = s
        .run(&[
            "render",
            "--format",
            "files",
            "--output",
            "out",
            "--encrypt",
        ])
        .fails();
    assert!(err.contains("--encrypt is not used"), "{err}");
}

#[test]
#[cfg_attr(
    not(debug_assertions),
    ignore = "crash points are compiled into debug builds only"
)]
fn files_are_published_all_or_nothing_and_a_crash_leaves_nothing_at_the_next_run() {
    let s = initialized();
    // A crash after staging, before publishing: nothing is published ...
    let out = s
        .command(&["render", "--format", "files", "--output", "secrets"])
        .env("ENVGEN_FAULT", "before-publish")
        .output()
        .unwrap();
    assert!(!out.status.success());
    let left: Vec<String> = std::fs::read_dir(s.path("secrets"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(left.len(), 1, "only the staging directory: {left:?}");
    assert!(left[0].starts_with(".envgen-new-"));
    assert_eq!(mode_of(&s.path(&format!("secrets/{}", left[0]))), 0o700);
    // ... and the next run removes the staged plaintext before writing anything.
    s.run(&["render", "--format", "files", "--output", "secrets"])
        .ok();
    let names: Vec<String> = std::fs::read_dir(s.path("secrets"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(names.len(), 28, "{names:?}");
    assert!(!names.iter().any(|n| n.starts_with('.')));
    // A crash while staging one file publishes none of the others.
    let before = get(&s, "REDIS_PASSWORD");
    s.run(&["rotate", "REDIS_PASSWORD"]).ok();
    let out = s
        .command(&["render", "--format", "files", "--output", "secrets"])
        .env("ENVGEN_FAULT", "before-write@SEARXNG_SECRET")
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert_eq!(
        String::from_utf8(s.read("secrets/REDIS_PASSWORD")).unwrap(),
        before
    );
    // A refusal (a directory at a variable's name) stages nothing.
    std::fs::create_dir(s.path("other")).unwrap();
    std::fs::set_permissions(s.path("other"), std::fs::Permissions::from_mode(0o700)).unwrap();
    std::fs::create_dir(s.path("other/SEARXNG_SECRET")).unwrap();
    let err = s
        .run(&["render", "--format", "files", "--output", "other"])
        .fails();
    assert!(err.contains("SEARXNG_SECRET is a directory"), "{err}");
    assert_eq!(std::fs::read_dir(s.path("other")).unwrap().count(), 1);
}

#[test]
fn compose_secrets_override_is_valid_compose_and_takes_file_capable_values_out_of_the_environment()
{
    let s = initialized();
    s.write("compose.yml", COMPOSE);
    let run = s.run(&[
        "compose",
        "secrets",
        "--compose",
        "compose.yml",
        "--output",
        "docker-compose.secrets.yml",
    ]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(
        run.stderr
            .contains("postgres: POSTGRES_PASSWORD -> POSTGRES_PASSWORD_FILE"),
        "{}",
        run.stderr
    );
    let written = String::from_utf8(s.read("docker-compose.secrets.yml")).unwrap();
    for name in ["POSTGRES_PASSWORD", "REDIS_PASSWORD", "SEARXNG_SECRET"] {
        assert!(
            !written.contains(&get(&s, name)),
            "no value in the override"
        );
    }
    s.run(&["render", "--format", "files", "--output", "secrets"])
        .ok();
    // The real docker compose reads the pair, with every value from envgen's environment.
    let out = s
        .command(&[
            "exec",
            "--",
            &crate::testkit::compose_binary().to_string_lossy(),
            "-f",
            "compose.yml",
            "-f",
            "docker-compose.secrets.yml",
            "config",
            "--format",
            "json",
        ])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let config: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let postgres = &config["services"]["postgres"];
    assert_eq!(
        postgres["environment"]["POSTGRES_PASSWORD_FILE"],
        "/run/secrets/POSTGRES_PASSWORD"
    );
    assert!(
        postgres["environment"].get("POSTGRES_PASSWORD").is_none(),
        "{postgres}"
    );
    let mounted: Vec<&str> = postgres["secrets"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["source"].as_str().unwrap())
        .collect();
    assert!(mounted.contains(&"POSTGRES_PASSWORD"));
    let file = config["secrets"]["REDIS_PASSWORD"]["file"]
        .as_str()
        .unwrap();
    assert_eq!(
        std::fs::read_to_string(file).unwrap(),
        get(&s, "REDIS_PASSWORD")
    );
    // website reads DATABASE_URL, a derived value: it is a secret file too.
    assert!(config["secrets"].get("DATABASE_URL").is_some());
    // An existing file is kept without --force.
    let err = s
        .run(&[
            "compose",
            "secrets",
            "--compose",
            "compose.yml",
            "--output",
            "docker-compose.secrets.yml",
        ])
        .fails();
    assert!(err.contains("docker-compose.secrets.yml"), "{err}");
    s.run(&[
        "compose",
        "secrets",
        "--compose",
        "compose.yml",
        "--output",
        "docker-compose.secrets.yml",
        "--force",
    ])
    .ok();
    let err = s
        .run(&[
            "compose",
            "secrets",
            "--compose",
            "missing.yml",
            "--output",
            "x.yml",
        ])
        .fails();
    assert!(err.contains("missing.yml"), "{err}");
}

#[test]
fn systemd_credentials_are_private_files_with_the_unit_lines_to_add() {
    let s = initialized();
    let run = s.run(&[
        "render",
        "--format",
        "systemd-creds",
        "--output",
        "creds",
        "--only",
        "REDIS_PASSWORD,SEARXNG_SECRET",
    ]);
    assert_eq!((run.code, run.stdout.as_str()), (0, ""), "{}", run.stderr);
    assert_eq!(mode_of(&s.path("creds")), 0o700);
    assert_eq!(mode_of(&s.path("creds/REDIS_PASSWORD")), 0o400);
    let dir = std::fs::canonicalize(s.path("creds")).unwrap();
    assert!(
        run.stderr.contains(&format!(
            "LoadCredential=REDIS_PASSWORD:{}/REDIS_PASSWORD",
            dir.display()
        )),
        "{}",
        run.stderr
    );
    // --encrypt without systemd-creds on PATH is a clear error, and writes nothing.
    let empty = tempfile::tempdir().unwrap();
    let out = s
        .command(&[
            "render",
            "--format",
            "systemd-creds",
            "--output",
            "enc",
            "--encrypt",
        ])
        .env("PATH", empty.path())
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr.contains("systemd-creds encrypt of the credentials cannot run"),
        "{stderr}"
    );
    assert!(!s.path("enc").exists());
    // With systemd-creds, each value goes through its stdin and decrypts back.
    let usable = Command::new("systemd-creds")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success());
    if !usable {
        eprintln!("systemd-creds not installed: --encrypt was not exercised");
        return;
    }
    let run = s.run(&[
        "render",
        "--format",
        "systemd-creds",
        "--output",
        "enc",
        "--encrypt",
        "--only",
        "REDIS_PASSWORD",
    ]);
    if run.code != 0
        && run
            .stderr
            .contains("systemd-creds encrypt of REDIS_PASSWORD")
    {
        eprintln!(
            "systemd-creds cannot encrypt here (no host key or TPM): {}",
            run.stderr
        );
        return;
    }
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(
        run.stderr
            .contains("LoadCredentialEncrypted=REDIS_PASSWORD:"),
        "{}",
        run.stderr
    );
    let cred = s.path("enc/REDIS_PASSWORD.cred");
    assert_eq!(mode_of(&cred), 0o400);
    assert!(
        !String::from_utf8_lossy(&std::fs::read(&cred).unwrap())
            .contains(&get(&s, "REDIS_PASSWORD"))
    );
    let out = Command::new("systemd-creds")
        .args(["decrypt", "--name=REDIS_PASSWORD"])
        .arg(&cred)
        .arg("-")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        String::from_utf8(out.stdout).unwrap(),
        get(&s, "REDIS_PASSWORD")
    );
}
