//! The kinds a real stack needs beyond generated secrets (issue 10, section 3): operator
//! inputs, JWTs checked with PyJWT, key pairs checked with `openssl pkey`, multi-line values
//! through every output and back through `import`, uuid and `exclude`.

use std::collections::BTreeMap;
use std::process::Command;

use crate::testkit::{Sandbox, compose_env, python_dotenv};

fn var(body: &str) -> String {
    format!("\n[[variable]]\n{body}\ndescription = \"d\"\nservices = [\"s\"]\n")
}

fn schema(vars: &[&str]) -> String {
    let mut text = String::from("[schema]\nname = \"alecia\"\n");
    for v in vars {
        text.push_str(&var(v));
    }
    text
}

/// The value `envgen get` prints, without the final newline.
fn get(s: &Sandbox, name: &str) -> String {
    let mut v = s.run(&["get", name]).ok();
    assert_eq!(v.pop(), Some('\n'));
    v
}

const INPUTS: [&str; 5] = [
    "name = \"DB_PASSWORD\"\nkind = \"secret\"\nencoding = \"hex\"\nbytes = 16",
    "name = \"SMTP_PASSWORD\"\nkind = \"input\"\nmin_chars = 8",
    "name = \"SMTP_PORT\"\nkind = \"input\"\ntype = \"port\"\nsecret = false",
    "name = \"SMTP_URL\"\nkind = \"derived\"\ntemplate = \"smtp://mailer:${SMTP_PASSWORD|url}@mail.example.com:${SMTP_PORT}\"",
    "name = \"ADMIN_EMAIL\"\nkind = \"input\"\ntype = \"email\"\nsecret = false",
];

#[test]
fn inputs_are_named_by_init_refused_by_render_and_given_through_stdin_only() {
    let s = Sandbox::with_schema(&schema(&INPUTS));
    let init = s.run(&["init"]);
    assert_eq!(init.code, 0, "{}", init.stderr);
    assert_eq!(init.stdout, "generated DB_PASSWORD\n");
    for name in ["SMTP_PASSWORD", "SMTP_PORT", "ADMIN_EMAIL"] {
        assert!(
            init.stderr.contains(&format!(
                "missing input {name}: provide it with `envgen set {name}`"
            )),
            "{}",
            init.stderr
        );
    }
    let e = s.run(&["render"]).fails();
    assert!(
        e.contains("lacks SMTP_PASSWORD, SMTP_PORT, ADMIN_EMAIL") && e.contains("envgen set NAME"),
        "{e}"
    );
    let e = s.run(&["exec", "--", "true"]).fails();
    assert!(e.contains("SMTP_PASSWORD"), "{e}");
    // What does not need the inputs works already.
    assert_eq!(get(&s, "DB_PASSWORD").len(), 32);
    let only = s.run(&["render", "--only", "DB_PASSWORD"]).ok();
    assert!(only.contains("DB_PASSWORD="), "{only}");
    let e = s.run(&["get", "SMTP_URL"]).fails();
    assert!(e.contains("lacks SMTP_PASSWORD, SMTP_PORT"), "{e}");

    // A secret input never through argv; the refusal names the right way.
    let e = s.run(&["set", "SMTP_PASSWORD=hunter2hunter2"]).fails();
    assert!(
        e.contains("SMTP_PASSWORD is a secret input, and secrets never go through argv"),
        "{e}"
    );
    assert!(
        e.contains("envgen set SMTP_PASSWORD` without =VALUE"),
        "{e}"
    );
    assert!(!e.contains("hunter2"));
    // Checked before anything is written: too short, a bad port, a bad address.
    let e = s
        .run_with_stdin(&["set", "SMTP_PASSWORD"], b"short\n")
        .fails();
    assert!(e.contains("fewer than min_chars = 8"), "{e}");
    assert!(!e.contains("short\n") && !e.contains(": short"));
    let e = s.run(&["set", "SMTP_PORT=0"]).fails();
    assert!(
        e.contains("SMTP_PORT: the value is not a port (1 to 65535)"),
        "{e}"
    );
    let e = s.run(&["set", "ADMIN_EMAIL=ops"]).fails();
    assert!(e.contains("not an e-mail address"), "{e}");
    let e = s
        .run_with_stdin(&["set", "SMTP_PASSWORD", "ADMIN_EMAIL"], b"x")
        .fails();
    assert!(e.contains("only one NAME without =VALUE"), "{e}");
    let e = s.run(&["set", "DB_PASSWORD"]).fails();
    assert!(e.contains("is a generated secret"), "{e}");
    let e = s.run(&["rotate", "SMTP_PASSWORD"]).fails();
    assert!(e.contains("an input, which its provider issues"), "{e}");

    let secret = "p@ss w0rd/with:specials";
    let set = s
        .run_with_stdin(&["set", "SMTP_PASSWORD"], format!("{secret}\n").as_bytes())
        .ok();
    assert_eq!(set, "set SMTP_PASSWORD\nre-derived SMTP_URL\n");
    s.run(&["set", "SMTP_PORT=587", "ADMIN_EMAIL=ops@example.org"])
        .ok();
    assert_eq!(get(&s, "SMTP_PASSWORD"), secret);
    assert_eq!(
        get(&s, "SMTP_URL"),
        "smtp://mailer:p%40ss%20w0rd%2Fwith%3Aspecials@mail.example.com:587"
    );
    let check = s.run(&["check"]).ok();
    assert!(check.starts_with("ok: "), "{check}");
    assert!(!s.journal().contains(secret));
    let list = s.run(&["list"]).ok();
    assert!(list.contains("secret input: >= 8 chars"), "{list}");
    assert!(list.contains("input: port"), "{list}");
    let again = s.run(&["init"]);
    assert_eq!(again.code, 0);
    assert!(again.stderr.contains("already holds every variable"));
}

#[test]
fn check_names_a_missing_input_and_how_to_give_it() {
    let s = Sandbox::with_schema(&schema(&INPUTS[..2]));
    s.run(&["init"]).ok();
    let check = s.run(&["check"]);
    assert_eq!(check.code, 1);
    assert!(
        check.stdout.contains(
            "missing SMTP_PASSWORD: an input; `envgen set SMTP_PASSWORD` (it reads stdin"
        ),
        "{}",
        check.stdout
    );
}

/// Decodes and verifies `token` with PyJWT; returns its claims.
fn pyjwt(token: &str, key: &str) -> Result<serde_json::Value, String> {
    let out = Command::new("python3")
        .args([
            "-c",
            "import json, sys, jwt\nprint(json.dumps(jwt.decode(sys.stdin.readline().strip(), sys.argv[1], algorithms=['HS256'], options={'verify_aud': False})))",
            key,
        ])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .and_then(|mut child| {
            use std::io::Write;
            child
                .stdin
                .take()
                .unwrap()
                .write_all(format!("{token}\n").as_bytes())?;
            child.wait_with_output()
        })
        .expect("python3 with PyJWT (scripts/install-test-tools installs it)");
    if out.status.success() {
        Ok(serde_json::from_slice(&out.stdout).unwrap())
    } else {
        Err(String::from_utf8_lossy(&out.stderr).into_owned())
    }
}

const SUPABASE: [&str; 4] = [
    "name = \"JWT_SECRET\"\nkind = \"secret\"\nencoding = \"base64url\"\nbytes = 48",
    "name = \"ANON_KEY\"\nkind = \"jwt\"\nsecret = \"JWT_SECRET\"\nalgorithm = \"HS256\"\nclaims = { role = \"anon\", iss = \"supabase\" }\nexpires = \"5y\"",
    "name = \"SERVICE_ROLE_KEY\"\nkind = \"jwt\"\nsecret = \"JWT_SECRET\"\nclaims = { role = \"service_role\", iss = \"supabase\" }",
    "name = \"API_URL\"\nkind = \"derived\"\ntemplate = \"http://kong:8000/?apikey=${ANON_KEY}\"",
];

#[test]
fn jwts_verify_with_pyjwt_stay_stable_and_are_re_signed_when_their_secret_changes() {
    let s = Sandbox::with_schema(&schema(&SUPABASE));
    let init = s.run(&["init"]).ok();
    assert_eq!(
        init,
        "generated JWT_SECRET\nsigned ANON_KEY\nsigned SERVICE_ROLE_KEY\n"
    );
    let secret = get(&s, "JWT_SECRET");
    let anon = get(&s, "ANON_KEY");
    let claims = pyjwt(&anon, &secret).unwrap();
    assert_eq!(claims["role"], "anon");
    assert_eq!(claims["iss"], "supabase");
    let iat = claims["iat"].as_u64().unwrap();
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    assert!(iat <= now && now - iat < 600);
    assert_eq!(claims["exp"].as_u64().unwrap(), iat + 5 * 31_557_600);
    let service = pyjwt(&get(&s, "SERVICE_ROLE_KEY"), &secret).unwrap();
    assert_eq!(service["role"], "service_role");
    assert!(service.get("exp").is_none(), "no `expires`, no exp");
    assert!(pyjwt(&anon, "another secret").is_err());
    // Stored: the same token at every render.
    assert_eq!(get(&s, "ANON_KEY"), anon);
    assert_eq!(
        get(&s, "API_URL"),
        format!("http://kong:8000/?apikey={anon}")
    );

    let rotated = s.run(&["rotate", "JWT_SECRET"]).ok();
    assert_eq!(
        rotated,
        "rotated JWT_SECRET\nre-derived ANON_KEY\nre-derived SERVICE_ROLE_KEY\nre-derived API_URL\n"
    );
    let new_secret = get(&s, "JWT_SECRET");
    let new_anon = get(&s, "ANON_KEY");
    assert_ne!(new_anon, anon);
    assert_eq!(pyjwt(&new_anon, &new_secret).unwrap()["role"], "anon");
    assert!(pyjwt(&new_anon, &secret).is_err());

    let back = s.run(&["rollback", "JWT_SECRET"]).ok();
    assert!(back.contains("re-derived ANON_KEY"), "{back}");
    assert_eq!(get(&s, "JWT_SECRET"), secret);
    assert!(pyjwt(&get(&s, "ANON_KEY"), &secret).is_ok());

    // Rotating a token signs a new one with the current secret.
    let before = get(&s, "SERVICE_ROLE_KEY");
    std::thread::sleep(std::time::Duration::from_millis(1100));
    assert_eq!(
        s.run(&["rotate", "SERVICE_ROLE_KEY"]).ok(),
        "rotated SERVICE_ROLE_KEY\n"
    );
    let after = get(&s, "SERVICE_ROLE_KEY");
    assert_ne!(after, before);
    assert!(pyjwt(&after, &secret).is_ok());
    let e = s.run(&["set", "ANON_KEY=x"]).fails();
    assert!(
        e.contains("ANON_KEY is a token signed with JWT_SECRET"),
        "{e}"
    );
}

#[test]
fn a_token_signed_with_an_input_waits_for_it_and_a_stale_token_is_refused() {
    let s = Sandbox::with_schema(&schema(&[
        "name = \"JWT_SECRET\"\nkind = \"input\"\nmin_chars = 32",
        "name = \"ANON_KEY\"\nkind = \"jwt\"\nsecret = \"JWT_SECRET\"\nclaims = { role = \"anon\" }",
    ]));
    let init = s.run(&["init"]);
    assert_eq!(init.code, 0);
    assert!(
        init.stderr
            .contains("waiting: ANON_KEY is signed once JWT_SECRET is set"),
        "{}",
        init.stderr
    );
    let key = "a-provider-issued-secret-of-40-characters";
    let set = s
        .run_with_stdin(&["set", "JWT_SECRET"], key.as_bytes())
        .ok();
    assert_eq!(set, "set JWT_SECRET\nre-derived ANON_KEY\n");
    assert_eq!(pyjwt(&get(&s, "ANON_KEY"), key).unwrap()["role"], "anon");

    // A vault whose token no longer matches its secret (written by hand, an older envgen):
    // render refuses it rather than deploying a token every service rejects.
    let mut vault = s.age_decrypt();
    vault["variables"]["JWT_SECRET"]["value"] = "another-secret-of-at-least-32-characters".into();
    let plaintext = serde_json::to_string(&vault).unwrap();
    std::fs::write(s.path("plain.json"), plaintext).unwrap();
    s.age(&[
        "-e",
        "-r",
        &s.public_key(),
        "-o",
        "vault/alecia.age",
        "plain.json",
    ]);
    let e = s.run(&["render", "--accept-vault"]).fails();
    assert!(
        e.contains("ANON_KEY: the stored token is not signed with the current value of JWT_SECRET")
            && e.contains("envgen rotate ANON_KEY"),
        "{e}"
    );
    s.run(&["rotate", "ANON_KEY"]).ok();
    s.run(&["render"]).ok();
}

fn openssl(args: &[&str], dir: &std::path::Path) -> Result<String, String> {
    let out = Command::new("openssl")
        .args(args)
        .current_dir(dir)
        .output()
        .expect("openssl is installed");
    if out.status.success() {
        Ok(String::from_utf8_lossy(&out.stdout).into_owned())
    } else {
        Err(String::from_utf8_lossy(&out.stderr).into_owned())
    }
}

#[test]
fn key_pairs_are_valid_for_openssl_and_their_public_part_matches() {
    let s = Sandbox::with_schema(&schema(&[
        "name = \"ED\"\nkind = \"keypair\"\nalgorithm = \"ed25519\"",
        "name = \"EC\"\nkind = \"keypair\"\nalgorithm = \"p256\"\nformat = \"pem-pkcs8\"",
        "name = \"RSA\"\nkind = \"keypair\"\nalgorithm = \"rsa2048\"",
        "name = \"RSA4096\"\nkind = \"keypair\"\nalgorithm = \"rsa4096\"",
        "name = \"ED_PUBLIC\"\nkind = \"derived\"\ntemplate = \"${ED.public}\"",
        "name = \"EC_PUBLIC\"\nkind = \"derived\"\ntemplate = \"${EC.public}\"",
        "name = \"RSA_PUBLIC\"\nkind = \"derived\"\ntemplate = \"${RSA.public}\"",
        "name = \"RSA4096_PUBLIC\"\nkind = \"derived\"\ntemplate = \"${RSA4096.public}\"",
        "name = \"VAPID_PRIVATE_KEY\"\nkind = \"keypair\"\nalgorithm = \"p256\"\nformat = \"vapid\"",
        "name = \"VAPID_PUBLIC_KEY\"\nkind = \"derived\"\ntemplate = \"${VAPID_PRIVATE_KEY.public}\"",
    ]));
    s.run(&["init"]).ok();
    let dir = s.dir.path();
    for (name, text) in [
        ("ED", "ED25519 Private-Key"),
        ("EC", "Private-Key: (256 bit"),
        ("RSA", "Private-Key: (2048 bit"),
        ("RSA4096", "Private-Key: (4096 bit"),
    ] {
        let private = get(&s, name);
        assert!(
            private.starts_with("-----BEGIN PRIVATE KEY-----\n"),
            "{name}"
        );
        s.write(&format!("{name}.pem"), &format!("{private}\n"));
        let shown = openssl(
            &["pkey", "-in", &format!("{name}.pem"), "-noout", "-text"],
            dir,
        )
        .unwrap();
        assert!(shown.contains(text), "{name}: {shown}");
        if name != "ED" {
            // openssl 3 has no consistency check for Ed25519 keys; it parsed above.
            openssl(
                &["pkey", "-in", &format!("{name}.pem"), "-check", "-noout"],
                dir,
            )
            .unwrap_or_else(|e| panic!("{name}: {e}"));
        }
        let expected = openssl(&["pkey", "-in", &format!("{name}.pem"), "-pubout"], dir).unwrap();
        let public = get(&s, &format!("{name}_PUBLIC"));
        assert_eq!(format!("{public}\n"), expected, "{name}");
        s.write(&format!("{name}.pub"), &expected);
        openssl(
            &["pkey", "-pubin", "-in", &format!("{name}.pub"), "-noout"],
            dir,
        )
        .unwrap();
    }

    // VAPID: the raw scalar, as openssl sees it through a SEC1 DER wrapper, gives the point.
    use base64::Engine as _;
    let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD;
    let scalar = b64.decode(get(&s, "VAPID_PRIVATE_KEY")).unwrap();
    assert_eq!(scalar.len(), 32);
    let mut der = vec![0x30, 0x31, 0x02, 0x01, 0x01, 0x04, 0x20];
    der.extend_from_slice(&scalar);
    der.extend_from_slice(&[
        0xa0, 0x0a, 0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07,
    ]);
    std::fs::write(s.path("vapid.der"), der).unwrap();
    openssl(
        &[
            "ec",
            "-inform",
            "DER",
            "-in",
            "vapid.der",
            "-pubout",
            "-outform",
            "DER",
            "-out",
            "vapid.pub.der",
        ],
        dir,
    )
    .unwrap();
    let spki = s.read("vapid.pub.der");
    let point = &spki[spki.len() - 65..];
    assert_eq!(b64.decode(get(&s, "VAPID_PUBLIC_KEY")).unwrap(), point);

    // Rotation makes a new key; the public part follows.
    let before = get(&s, "ED_PUBLIC");
    let rotated = s.run(&["rotate", "ED"]).ok();
    assert_eq!(rotated, "rotated ED\nre-derived ED_PUBLIC\n");
    assert_ne!(get(&s, "ED_PUBLIC"), before);
    let list = s.run(&["list"]).ok();
    assert!(list.contains("ed25519 key pair, pem-pkcs8"), "{list}");
    assert!(list.contains("p256 key pair, vapid"), "{list}");

    // An existing key comes in through stdin, checked; never through argv.
    let e = s.run(&["set", "ED=x"]).fails();
    assert!(e.contains("ED is a secret input"), "{e}");
    let ec = get(&s, "EC");
    let e = s.run_with_stdin(&["set", "ED"], ec.as_bytes()).fails();
    assert!(
        e.contains("not a private key of the schema's algorithm and format"),
        "{e}"
    );
    assert!(!e.contains("PRIVATE KEY"));
    let ed = std::fs::read_to_string(s.path("ED.pem")).unwrap();
    assert_eq!(
        s.run_with_stdin(&["set", "ED"], ed.as_bytes()).ok(),
        "set ED\nre-derived ED_PUBLIC\n"
    );
    assert_eq!(format!("{}\n", get(&s, "ED")), ed);
}

const PEM_SCHEMA: [&str; 5] = [
    "name = \"SAML_KEY\"\nkind = \"keypair\"\nalgorithm = \"rsa2048\"",
    "name = \"SAML_CERT_KEY\"\nkind = \"derived\"\ntemplate = \"${SAML_KEY.public}\"",
    "name = \"JWT_PRIVATE_KEY\"\nkind = \"keypair\"\nalgorithm = \"ed25519\"",
    "name = \"CA_BUNDLE\"\nkind = \"input\"\nsecret = false\nmultiline = true",
    "name = \"PLAIN\"\nkind = \"secret\"\nencoding = \"alnum\"\nchars = 20",
];

/// A sandbox whose multi-line values are all set; returns it, the names and the values.
fn pem_sandbox() -> (Sandbox, Vec<String>, BTreeMap<String, String>) {
    let s = Sandbox::with_schema(&schema(&PEM_SCHEMA));
    s.run(&["init"]).ok();
    let bundle =
        "-----BEGIN CERTIFICATE-----\nMIIB it's \"quoted\" \\ back\n-----END CERTIFICATE-----";
    s.run_with_stdin(&["set", "CA_BUNDLE"], bundle.as_bytes())
        .ok();
    let names: Vec<String> = [
        "SAML_KEY",
        "SAML_CERT_KEY",
        "JWT_PRIVATE_KEY",
        "CA_BUNDLE",
        "PLAIN",
    ]
    .map(String::from)
    .to_vec();
    let values = names.iter().map(|n| (n.clone(), get(&s, n))).collect();
    (s, names, values)
}

#[test]
fn multi_line_values_survive_every_output_exactly() {
    let (s, names, values) = pem_sandbox();
    assert!(values["SAML_KEY"].contains('\n') && values["CA_BUNDLE"].contains('\n'));
    // dotenv: both real parsers give back every value exactly, and render warns of nothing.
    let render = s.run(&["render"]);
    assert_eq!(render.code, 0, "{}", render.stderr);
    assert!(!render.stderr.contains("warning"), "{}", render.stderr);
    assert_eq!(
        render
            .stdout
            .lines()
            .filter(|l| !l.starts_with('#'))
            .count(),
        5,
        "one line per variable"
    );
    s.write(".env", &render.stdout);
    assert_eq!(compose_env(s.dir.path(), &names), values);
    assert_eq!(python_dotenv(&s.path(".env")), values);

    // shell: sourced by sh.
    s.write("env.sh", &s.run(&["render", "--format", "shell"]).ok());
    for name in &names {
        let out = Command::new("sh")
            .arg("-c")
            .arg(format!(". ./env.sh && printf %s \"${name}\""))
            .current_dir(s.dir.path())
            .output()
            .unwrap();
        assert_eq!(String::from_utf8(out.stdout).unwrap(), values[name]);
    }
    // json
    let json: BTreeMap<String, String> =
        serde_json::from_str(&s.run(&["render", "--format", "json"]).ok()).unwrap();
    assert_eq!(json, values);
    // files
    s.run(&["render", "--format", "files", "--output", "secrets"])
        .ok();
    for name in &names {
        let file = String::from_utf8(s.read(&format!("secrets/{name}"))).unwrap();
        assert_eq!(&file, &values[name]);
    }
    // exec
    for name in &names {
        let out = s
            .run(&["exec", "--", "sh", "-c", &format!("printf %s \"${name}\"")])
            .ok();
        assert_eq!(&out, &values[name]);
    }
}

#[test]
fn import_adopts_multi_line_values_exactly_and_refuses_them_where_the_schema_does_not() {
    let (s, names, values) = pem_sandbox();
    s.render_to("rendered.env");
    std::fs::rename(s.path("vault/alecia.age"), s.path("old.age")).unwrap();
    let imported = s.run(&["import", "rendered.env", "--accept-vault"]);
    assert_eq!(imported.code, 0, "{}", imported.stderr);
    for name in &names {
        assert_eq!(&get(&s, name), &values[name], "{name}");
    }

    // compose's other spelling: real newlines inside double quotes.
    std::fs::rename(s.path("vault/alecia.age"), s.path("old2.age")).unwrap();
    let key = &values["JWT_PRIVATE_KEY"];
    s.write(
        "multi.env",
        &format!("JWT_PRIVATE_KEY=\"{key}\"\nCA_BUNDLE='line one\nline two'\nPLAIN=abc\n"),
    );
    let names: Vec<String> = ["JWT_PRIVATE_KEY", "CA_BUNDLE", "PLAIN"]
        .map(String::from)
        .to_vec();
    s.write(".env", &String::from_utf8(s.read("multi.env")).unwrap());
    let compose_read = compose_env(s.dir.path(), &names);
    let imported = s.run(&["import", "multi.env", "--accept-vault"]);
    assert_eq!(imported.code, 0, "{}", imported.stderr);
    assert_eq!(&get(&s, "JWT_PRIVATE_KEY"), key);
    assert_eq!(get(&s, "CA_BUNDLE"), "line one\nline two");
    assert_eq!(get(&s, "CA_BUNDLE"), compose_read["CA_BUNDLE"]);
    let plain_line = key.lines().count() + 2 + 1;
    assert!(
        imported.stderr.contains(&format!(
            "PLAIN (line {plain_line}) does not match the schema"
        )),
        "{}",
        imported.stderr
    );

    // A newline where the schema does not allow one is refused, naming it.
    std::fs::rename(s.path("vault/alecia.age"), s.path("old3.age")).unwrap();
    s.write("bad.env", "PLAIN=\"two\\nlines\"\n");
    let e = s.run(&["import", "bad.env"]).fails();
    assert!(
        e.contains("PLAIN (line 1): its value holds a newline or another control character, and the schema does not make it multi-line"),
        "{e}"
    );
    assert!(!e.contains("lines"));
}

#[test]
fn uuids_and_excluded_characters() {
    let s = Sandbox::with_schema(&schema(&[
        "name = \"INSTANCE_ID\"\nkind = \"secret\"\nencoding = \"uuid\"",
        "name = \"SHELL_SAFE\"\nkind = \"secret\"\nencoding = \"alphabet\"\nalphabet = \"abcdefghij$`\\\"'\\\\0123456789\"\nchars = 200\nexclude = \"$`\\\"'\\\\\"",
    ]));
    s.run(&["init"]).ok();
    let id = get(&s, "INSTANCE_ID");
    let shape = regex_lite::Regex::new(
        "^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$",
    )
    .unwrap();
    assert!(shape.is_match(&id), "{id}");
    let safe = get(&s, "SHELL_SAFE");
    assert_eq!(safe.len(), 200);
    assert!(
        safe.bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
    );
    let list = s.run(&["list"]).ok();
    assert!(list.contains("uuid v4"), "{list}");
    assert!(list.contains("200 chars without"), "{list}");
}

#[test]
fn set_asks_on_the_terminal_without_echo() {
    use std::io::Write;
    let s = Sandbox::with_schema(&schema(&INPUTS[1..2]));
    s.run(&["init"]).ok();
    let envgen = assert_cmd::cargo::cargo_bin("envgen");
    let mut child = Command::new("script")
        .args([
            "-qec",
            &format!("{} set SMTP_PASSWORD", envgen.display()),
            "/dev/null",
        ])
        .current_dir(s.dir.path())
        .env("HOME", s.path("home"))
        .env("ENVGEN_IDENTITY", s.path("id.txt"))
        .env("ENVGEN_SYSLOG_SOCKET", "")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .expect("script (bsdutils) is installed");
    let mut stdin = child.stdin.take().unwrap();
    std::thread::sleep(std::time::Duration::from_millis(300));
    stdin.write_all(b"typed-secret-123\n").unwrap();
    drop(stdin);
    let out = child.wait_with_output().unwrap();
    let screen = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{screen}");
    assert!(
        screen.contains("Value of SMTP_PASSWORD (not echoed): "),
        "{screen}"
    );
    assert!(!screen.contains("typed-secret-123"), "no echo: {screen}");
    assert_eq!(get(&s, "SMTP_PASSWORD"), "typed-secret-123");
}
