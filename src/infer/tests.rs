use super::*;
use crate::schema::Schema;

fn run(compose: &str, env: Option<&str>) -> Result<Outcome> {
    let request = Request {
        compose: vec![Input {
            path: PathBuf::from("compose.yml"),
            text: compose.to_string(),
        }],
        env_example: env.map(|t| Input {
            path: PathBuf::from(".env.example"),
            text: t.to_string(),
        }),
        name: "t".into(),
        read: &|_| None,
    };
    infer(&request, &Catalogue::load().unwrap())
}

fn var<'a>(schema: &'a Schema, name: &str) -> &'a crate::schema::Variable {
    &schema.variables()[schema.require(name).unwrap()]
}

#[test]
fn every_form_of_reference_becomes_a_variable_and_the_schema_loads() {
    let compose = "x-common: &c\n  TZ: ${TZ:-Etc/UTC}\nservices:\n  db:\n    image: docker.io/library/postgres:16@sha256:00\n    environment:\n      POSTGRES_PASSWORD: ${PGPASS:?set it}\n      POSTGRES_USER:\n  app:\n    image: example/app:1\n    command: run --port $APP_PORT\n    environment:\n      - DATABASE_URL=postgresql://${POSTGRES_USER}:${PGPASS}@db/app\n      - APP_SECRET_KEY\n      - SITE_DOMAIN=${DOMAIN}\n";
    let out = run(
        compose,
        Some("DOMAIN=example.org\nAPP_PORT=8080\nPOSTGRES_USER=app\nEXTRA=1\n"),
    )
    .unwrap();
    let schema = Schema::parse(&out.schema, Path::new("t.toml"))
        .unwrap_or_else(|e| panic!("{e}\n{}", out.schema));
    let names: Vec<&str> = schema.variables().iter().map(|v| v.name.as_str()).collect();
    for n in [
        "TZ",
        "PGPASS",
        "POSTGRES_USER",
        "APP_PORT",
        "APP_SECRET_KEY",
        "DOMAIN",
        "EXTRA",
        "DATABASE_URL",
    ] {
        assert!(names.contains(&n), "{n} missing from {names:?}");
    }
    // the catalogue's postgres format, verified, reached through POSTGRES_PASSWORD: ${PGPASS}
    let pg = var(&schema, "PGPASS");
    assert_eq!(pg.source.as_deref(), Some("catalogue:postgres"));
    assert_eq!(pg.verified, Some(true));
    assert_eq!(pg.kind.generator().unwrap().describe(), "hex 32 bytes");
    // guessed: a secret by its name, never verified
    let guess = var(&schema, "APP_SECRET_KEY");
    assert_eq!(
        (guess.kind.label(), guess.verified),
        ("secret", Some(false))
    );
    assert!(
        out.report
            .unverified
            .contains(&"APP_SECRET_KEY".to_string())
    );
    // a setting keeps the example's value, or compose's default
    assert!(
        matches!(&var(&schema, "DOMAIN").kind, crate::schema::Kind::Fixed(f) if f.default == "example.org")
    );
    assert!(
        matches!(&var(&schema, "TZ").kind, crate::schema::Kind::Fixed(f) if f.default == "Etc/UTC")
    );
    // the password pasted into a URL: a derived value percent-encodes it
    let url = var(&schema, "DATABASE_URL");
    assert_eq!(url.kind.label(), "derived");
    assert!(
        out.schema
            .contains("template = \"postgresql://${POSTGRES_USER|url}:${PGPASS|url}@db/app\""),
        "{}",
        out.schema
    );
    // services are grouped in compose order, with comments saying where each came from
    assert!(
        names.iter().position(|n| *n == "PGPASS") < names.iter().position(|n| *n == "APP_PORT")
    );
    assert!(
        out.schema
            .contains("# from compose.yml:7 service db: environment POSTGRES_PASSWORD")
    );
    assert!(
        out.schema
            .contains("# catalogue catalogue/postgres.toml POSTGRES_PASSWORD: https://")
    );
}

#[test]
fn classification_by_name_and_value_shape() {
    assert_eq!(
        classify("REDIS_PASSWORD", None),
        Guess::Secret("its name says password")
    );
    assert!(matches!(classify("JWT_SECRET", None), Guess::Secret(_)));
    assert!(matches!(classify("PASSWORD_SALT", None), Guess::Secret(_)));
    assert!(matches!(classify("SMTP_PASSWORD", None), Guess::Input(_)));
    assert!(matches!(
        classify("GOOGLE_CLIENT_SECRET", None),
        Guess::Input(_)
    ));
    assert!(matches!(
        classify("AWS_SECRET_ACCESS_KEY", None),
        Guess::Input(_)
    ));
    assert!(matches!(
        classify("SENDGRID_API_KEY", None),
        Guess::Input(_)
    ));
    assert!(matches!(
        classify("VAPID_PRIVATE_KEY", None),
        Guess::Input(_)
    ));
    assert_eq!(classify("DB_HOST", Some("db")), Guess::Setting);
    assert_eq!(
        classify("BASE_URL", Some("https://your.example.com")),
        Guess::Setting
    );
    assert_eq!(classify("PASSWORD_FILE", None), Guess::Setting);
    assert!(matches!(
        classify("WEB_SIGNING", Some("changeme")),
        Guess::Secret(_)
    ));
    assert!(matches!(
        classify("APP_THING", Some("your-secret-here")),
        Guess::Secret(_)
    ));
    assert_eq!(classify("TZ", Some("Europe/Paris")), Guess::Setting);
}

#[test]
fn literal_credentials_are_reported_by_line_and_never_quoted() {
    let compose = "services:\n  db:\n    image: postgres:16\n    environment:\n      POSTGRES_PASSWORD: hunter2hunter2\n  app:\n    image: ghcr.io/umami-software/umami:latest\n    environment:\n      DATABASE_URL: postgresql://umami:hunter2hunter2@db:5432/umami\n      APP_SECRET: replace-me\n";
    let out = run(compose, None).unwrap();
    assert!(!out.schema.contains("hunter2"), "{}", out.schema);
    assert!(!format!("{:?}", out.report).contains("hunter2"));
    let found: Vec<(usize, &str, &str)> = out
        .report
        .literals
        .iter()
        .map(|l| (l.line, l.key.as_str(), l.suggestion.as_str()))
        .collect();
    assert_eq!(
        found,
        [
            (
                5,
                "POSTGRES_PASSWORD",
                "POSTGRES_PASSWORD: ${POSTGRES_PASSWORD}"
            ),
            (10, "APP_SECRET", "APP_SECRET: ${APP_SECRET}"),
            (9, "DATABASE_URL", "DATABASE_URL: ${DATABASE_URL}"),
        ]
    );
    // the URL's password is the same literal as the database's: one variable, percent-encoded
    assert!(
        out.schema
            .contains("template = \"postgresql://umami:${POSTGRES_PASSWORD|url}@db:5432/umami\""),
        "{}",
        out.schema
    );
    Schema::parse(&out.schema, Path::new("t.toml")).unwrap();
}

#[test]
fn a_shared_variable_gets_the_strictest_format_or_a_conflict_naming_both() {
    let compose = |a: &str, b: &str| {
        format!(
            "services:\n  one:\n    image: {a}\n    environment:\n      X: ${{SHARED}}\n  two:\n    image: {b}\n    environment:\n      Y: ${{SHARED}}\n"
        )
    };
    // hex 32 bytes (postgres, at most 100 characters) and alnum 32 (immich DB_PASSWORD):
    // the characters both allow (hex), at the longest length
    let c = Catalogue::load().unwrap();
    let req = |id: &str, name: &str| Req {
        id: id.into(),
        service_name: id.into(),
        entry: c.get(id).unwrap().entry(name).unwrap().clone(),
        at: format!("catalogue/{id}.toml {name}"),
    };
    let spec = combine_secret(
        "S",
        &[
            req("postgres", "POSTGRES_PASSWORD"),
            req("immich", "DB_PASSWORD"),
        ],
    )
    .unwrap();
    assert_eq!((spec.encoding, spec.bytes), (Encoding::Hex, Some(32)));
    // two exact formats that differ: an error naming both sources
    let e = combine_secret(
        "S",
        &[
            req("plausible", "TOTP_VAULT_KEY"),
            req("supabase", "VAULT_ENC_KEY"),
        ],
    )
    .unwrap_err();
    let text = e.to_string();
    assert!(
        text.contains("variable S")
            && text.contains("catalogue/plausible.toml TOTP_VAULT_KEY")
            && text.contains("catalogue/supabase.toml VAULT_ENC_KEY"),
        "{text}"
    );
    assert!(e.hint().unwrap().contains("S_2"));
    // a setting in one service and a secret in another
    let out = run(
        &compose("postgres:16", "postgres:16")
            .replace("X:", "POSTGRES_USER:")
            .replace("Y:", "POSTGRES_PASSWORD:"),
        None,
    );
    assert!(
        matches!(out, Err(Error::InferConflict { .. })),
        "{:?}",
        out.err()
    );
    // an exact format refused by another's bounds
    let e = combine_secret(
        "S",
        &[
            req("supabase", "VAULT_ENC_KEY"),
            req("plausible", "SECRET_KEY_BASE"),
        ],
    )
    .unwrap_err();
    let text = e.to_string();
    assert!(
        text.contains("VAULT_ENC_KEY") && text.contains("SECRET_KEY_BASE"),
        "{text}"
    );
    let e = combine_secret(
        "S",
        &[
            req("supabase", "VAULT_ENC_KEY"),
            req("clickhouse", "CLICKHOUSE_PASSWORD"),
            req("formbricks", "ENCRYPTION_KEY"),
        ],
    )
    .unwrap_err();
    assert!(
        e.to_string().contains("refuses") || e.to_string().contains("differ"),
        "{e}"
    );
}

#[test]
fn not_a_compose_file() {
    assert!(matches!(
        run("services: [a, b]\n", None),
        Err(Error::NotCompose { line: 1, .. })
    ));
    assert!(matches!(
        run("services: {\n", None),
        Err(Error::ComposeSyntax { .. })
    ));
    assert!(run("", None).unwrap().report.variables == 0);
}

proptest::proptest! {
    #[test]
    fn arbitrary_yaml_never_panics(text in "[ -~\\n]{0,400}") {
        let _ = run(&text, None);
    }

    #[test]
    fn compose_shaped_input_never_panics_and_always_loads(
        lines in proptest::collection::vec("(      [A-Z_]{1,8}: [$a-zA-Z_{}:@/.?-]{0,30})|(      - [A-Z_]{1,8}(=[$a-z{}:/@_A-Z-]{0,20})?)", 0..8)
    ) {
        let text = format!("services:\n  s:\n    image: postgres:16\n    environment:\n{}\n", lines.join("\n"));
        if let Ok(out) = run(&text, Some("A=1\n")) {
            // an empty `environment:` may hold a list and a map at once: skip what YAML refuses
            Schema::parse(&out.schema, Path::new("t.toml")).map_err(|e| proptest::test_runner::TestCaseError::fail(format!("{e}\n{}", out.schema)))?;
        }
    }
}

/// Security review: a service's `env_file` may be the live `.env`; its values must not be
/// copied into the schema, which is committed.
#[test]
fn values_of_an_env_file_are_never_copied_into_the_schema() {
    let compose = "services:\n  app:\n    image: example/app:1\n    env_file: app.env\n";
    let request = Request {
        compose: vec![Input {
            path: PathBuf::from("compose.yml"),
            text: compose.to_string(),
        }],
        env_example: None,
        name: "t".into(),
        read: &|path| {
            (path == std::path::Path::new("app.env"))
                .then(|| "APP_AUTH=live-credential-value\nAPP_MODE=production\n".to_string())
        },
    };
    let out = infer(&request, &Catalogue::load().unwrap()).unwrap();
    assert!(out.schema.contains("name = \"APP_AUTH\""), "{}", out.schema);
    assert!(
        !out.schema.contains("live-credential-value"),
        "{}",
        out.schema
    );
    assert!(!out.schema.contains("production"), "{}", out.schema);
    assert!(
        out.report
            .notes
            .iter()
            .any(|n| n.contains("are not copied into the schema")),
        "{:?}",
        out.report.notes
    );
}
