use super::*;
use crate::generate::Encoding;

mod kinds;
mod malformed;

fn parse(text: &str) -> Result<Schema> {
    Schema::parse(text, Path::new("s.toml"))
}

/// Parses a schema that must fail and returns its message with position and hint.
fn error(text: &str) -> String {
    match parse(text).unwrap_err() {
        Error::Schema {
            path,
            line,
            column,
            message,
            hint,
        } => {
            format!("{}:{line}:{column}: {message} | {hint}", path.display())
        }
        other => panic!("not a schema error: {other}"),
    }
}

const HEAD: &str = "[schema]\nname = \"t\"\n";

fn var(body: &str) -> String {
    format!("\n[[variable]]\n{body}\ndescription = \"d\"\nservices = [\"s\"]\n")
}

#[test]
fn the_bundled_schema_has_the_28_variables_of_the_reference() {
    let schema = Schema::load(Path::new(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/schema/alecia.toml"
    )))
    .unwrap();
    let vars = schema.variables();
    assert_eq!(vars.len(), 28);
    let count = |label| vars.iter().filter(|v| v.kind.label() == label).count();
    assert_eq!(
        (
            count("secret") + count("hashed"),
            count("fixed"),
            count("derived")
        ),
        (23, 2, 3)
    );
    assert!(vars.iter().all(|v| !v.services.is_empty()));
    // Variables read by the same services share one list.
    let keys = &vars[schema.position("STRAPI_APP_KEYS").unwrap()].services;
    let salt = &vars[schema.position("STRAPI_API_TOKEN_SALT").unwrap()].services;
    assert_eq!(keys[..], ["cms"]);
    assert!(std::sync::Arc::ptr_eq(keys, salt));
    let generator = |name: &str| {
        vars[schema.position(name).unwrap()]
            .kind
            .generator()
            .unwrap()
            .clone()
    };
    assert_eq!(
        generator("AP_ENCRYPTION_KEY").encoding,
        Encoding::Hex { bytes: 16 }
    );
    assert_eq!(
        generator("PLAUSIBLE_TOTP_VAULT_KEY").encoding,
        Encoding::Base64 { bytes: 32 }
    );
    assert_eq!(
        generator("DOCUSEAL_SECRET_KEY_BASE").encoding,
        Encoding::Hex { bytes: 64 }
    );
    let app_keys = generator("STRAPI_APP_KEYS");
    assert_eq!((app_keys.count, &*app_keys.separator), (4, ","));
    assert_eq!(app_keys.encoding, Encoding::Base64 { bytes: 16 });
    let redis = schema.position("REDIS_PASSWORD").unwrap();
    assert_eq!(
        schema.dependents(&[redis]),
        vec![schema.position("REDIS_URL").unwrap()]
    );
}

#[test]
fn every_variable_is_found_by_its_name_and_only_by_it() {
    let schema = Schema::load(Path::new(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/schema/alecia.toml"
    )))
    .unwrap();
    for (i, var) in schema.variables().iter().enumerate() {
        assert_eq!(schema.position(&var.name), Some(i), "{}", var.name);
        assert_eq!(schema.position(&var.name.to_lowercase()), None);
        assert_eq!(schema.position(&format!("{}_", var.name)), None);
    }
    assert_eq!(schema.position(""), None);
    assert!(schema.require("NOPE").is_err());
}

#[test]
fn a_cycle_is_reported_with_its_path_file_and_line() {
    let text = format!(
        "{HEAD}{}{}",
        var("name = \"A\"\nkind = \"derived\"\ntemplate = \"x${B}\""),
        var("name = \"B\"\nkind = \"derived\"\ntemplate = \"${A|url}\"")
    );
    let e = error(&text);
    assert!(
        e.starts_with("s.toml:7:12: variable A: derived values form a cycle: A -> B -> A"),
        "{e}"
    );
}

#[test]
fn a_self_reference_is_a_cycle() {
    let e = error(&format!(
        "{HEAD}{}",
        var("name = \"A\"\nkind = \"derived\"\ntemplate = \"${A}\"")
    ));
    assert!(e.contains("cycle: A -> A"), "{e}");
}

#[test]
fn an_unknown_reference_is_located_in_the_template() {
    let e = error(&format!(
        "{HEAD}{}",
        var(
            "name = \"URL\"\nkind = \"derived\"\ntemplate = \"redis://${REDIS_PASWORD|url}@redis\""
        )
    ));
    assert!(
        e.starts_with("s.toml:7:21: variable URL: the template refers to REDIS_PASWORD"),
        "{e}"
    );
}

#[test]
fn bad_encodings_and_lengths_are_refused() {
    let e = error(&format!(
        "{HEAD}{}",
        var("name = \"A\"\nkind = \"secret\"\nencoding = \"base65\"\nbytes = 4")
    ));
    assert!(
        e.starts_with("s.toml:7:12: variable A: unknown encoding `base65`"),
        "{e}"
    );
    assert!(e.contains("hex, base64, base64url, alnum, alphabet"), "{e}");

    let e = error(&format!(
        "{HEAD}{}",
        var("name = \"A\"\nkind = \"secret\"\nencoding = \"hex\"\nbytes = 0")
    ));
    assert!(
        e.starts_with("s.toml:8:9: variable A: bytes must be between 1 and 4096, not 0"),
        "{e}"
    );

    let e = error(&format!(
        "{HEAD}{}",
        var("name = \"A\"\nkind = \"secret\"\nencoding = \"alnum\"\nbytes = 8")
    ));
    assert!(
        e.contains("alnum counts characters: use `chars`, not `bytes`"),
        "{e}"
    );

    let e = error(&format!(
        "{HEAD}{}",
        var("name = \"A\"\nkind = \"secret\"\nencoding = \"hex\"")
    ));
    assert!(e.contains("variable A: has no length"), "{e}");
}

#[test]
fn alphabets_requirements_and_lists_are_checked() {
    let e = error(&format!(
        "{HEAD}{}",
        var(
            "name = \"A\"\nkind = \"secret\"\nencoding = \"alphabet\"\nalphabet = \"aab\"\nchars = 8"
        )
    ));
    assert!(e.contains("variable A: alphabet lists 'a' twice"), "{e}");

    let e = error(&format!(
        "{HEAD}{}",
        var(
            "name = \"A\"\nkind = \"secret\"\nencoding = \"hex\"\nbytes = 8\nrequire = [\"upper\"]"
        )
    ));
    assert!(
        e.contains("hex values never contain a `upper` character"),
        "{e}"
    );

    let e = error(&format!(
        "{HEAD}{}",
        var(
            "name = \"A\"\nkind = \"secret\"\nencoding = \"base64\"\nbytes = 8\ncount = 3\nseparator = \"+\""
        )
    ));
    assert!(
        e.contains("non-empty separator that the encoding never produces"),
        "{e}"
    );

    let ok = parse(&format!(
        "{HEAD}{}",
        var(
            "name = \"A\"\nkind = \"secret\"\nencoding = \"alphabet\"\nalphabet = \"ab12!\"\nchars = 8\nrequire = [\"digit\", \"symbol\"]"
        )
    ));
    assert!(ok.is_ok());
}

#[test]
fn fields_of_another_kind_and_unknown_fields_are_refused() {
    let e = error(&format!(
        "{HEAD}{}",
        var("name = \"A\"\nkind = \"fixed\"\ndefault = \"x\"\nbytes = 3")
    ));
    assert!(
        e.starts_with("s.toml:8:9: variable A: `bytes` does not apply to a fixed variable"),
        "{e}"
    );

    let e = error(&format!(
        "{HEAD}{}",
        var("name = \"A\"\nkind = \"fixed\"\ndefault = \"x\"\nlength = 3")
    ));
    assert!(e.contains("s.toml:8:1: unknown field `length`"), "{e}");

    let e = error(&format!("{HEAD}{}", var("name = \"A\"\nkind = \"magic\"")));
    assert!(e.contains("unknown kind `magic`"), "{e}");
}

#[test]
fn fixed_defaults_follow_their_pattern() {
    let e = error(&format!(
        "{HEAD}{}",
        var("name = \"U\"\nkind = \"fixed\"\ndefault = \"Bad Name\"\npattern = \"^[a-z]+$\"")
    ));
    assert!(
        e.contains(
            "variable U: the default is refused: the value does not match the pattern ^[a-z]+$"
        ),
        "{e}"
    );

    let e = error(&format!(
        "{HEAD}{}",
        var("name = \"U\"\nkind = \"fixed\"\ndefault = \"x\"\npattern = \"(\"")
    ));
    assert!(e.contains("variable U: invalid pattern"), "{e}");
}

#[test]
fn names_are_unique_valid_and_documented() {
    let a = var("name = \"A\"\nkind = \"fixed\"\ndefault = \"x\"");
    let e = error(&format!("{HEAD}{a}{a}"));
    assert!(
        e.contains("s.toml:12:1: variable A: defined twice (first at line 5)"),
        "{e}"
    );
    // With several names defined twice, the one redefined first in the file is reported,
    // whatever the names' order.
    let z = var("name = \"Z\"\nkind = \"fixed\"\ndefault = \"x\"");
    let e = error(&format!("{HEAD}{z}{a}{z}{a}"));
    assert!(
        e.contains("variable Z: defined twice (first at line 5)"),
        "{e}"
    );

    let e = error(&format!(
        "{HEAD}{}",
        var("name = \"1A\"\nkind = \"fixed\"\ndefault = \"x\"")
    ));
    assert!(e.contains("\"1A\" is not a valid variable name"), "{e}");

    let e = error(&format!(
        "{HEAD}\n[[variable]]\nname = \"A\"\nkind = \"fixed\"\ndefault = \"x\"\nservices = [\"s\"]\n"
    ));
    assert!(e.contains("variable A: has no description"), "{e}");
}

#[test]
fn template_syntax_errors_point_into_the_template() {
    let e = error(&format!(
        "{HEAD}{}",
        var("name = \"A\"\nkind = \"derived\"\ntemplate = \"cost $5\"")
    ));
    assert!(
        e.starts_with("s.toml:7:18: variable A: bad template"),
        "{e}"
    );
}

/// Issue 9, item 8: a template with escapes or non-ASCII text before a reference panicked
/// (the parsed string's byte offset was used in the raw file text).
#[test]
fn template_errors_after_escapes_and_non_ascii_text_do_not_panic() {
    for template in [
        r#""\tééé${NOPE}""#,
        r#""ééé${NOPE}""#,
        r#""\u00e9\u00e9${NOPE}""#,
        "\"\"\"\nline\tééé${NOPE}\"\"\"",
        "'ééé${NOPE}'",
        r#""\tééé$x""#,
    ] {
        let e = error(&format!(
            "{HEAD}{}",
            var(&format!(
                "name = \"A\"\nkind = \"derived\"\ntemplate = {template}"
            ))
        ));
        assert!(e.starts_with("s.toml:7:"), "{template}: {e}");
        assert!(e.contains("variable A:"), "{e}");
    }
    // Without escapes the column still points at the reference itself.
    let e = error(&format!(
        "{HEAD}{}",
        var("name = \"A\"\nkind = \"derived\"\ntemplate = \"éé${NOPE}\"")
    ));
    assert!(e.starts_with("s.toml:7:15:"), "{e}");
}

/// Issue 9, item 2.
#[test]
fn names_that_change_how_programs_run_are_refused_unless_allowed() {
    for name in [
        "LD_PRELOAD",
        "PATH",
        "BASH_ENV",
        "NODE_OPTIONS",
        "DOCKER_HOST",
    ] {
        let body = format!("name = \"{name}\"\nkind = \"fixed\"\ndefault = \"x\"");
        let e = error(&format!("{HEAD}{}", var(&body)));
        assert!(
            e.starts_with(&format!("s.toml:5:8: variable {name}: the name is refused")),
            "{e}"
        );
        assert!(e.contains("allow_dangerous_name = true"), "{e}");
        let allowed = parse(&format!(
            "{HEAD}{}",
            var(&format!("{body}\nallow_dangerous_name = true"))
        ))
        .unwrap();
        assert!(allowed.variables()[0].dangerous);
    }
    let ordinary = parse(&format!(
        "{HEAD}{}",
        var("name = \"REDIS_PASSWORD\"\nkind = \"fixed\"\ndefault = \"x\"")
    ))
    .unwrap();
    assert!(!ordinary.variables()[0].dangerous);
}

/// Issue 9, item 7: costs that hang the process or exhaust memory are schema errors.
#[test]
fn argon2_costs_are_bounded() {
    let hashed = |argon2: &str| {
        format!(
            "{HEAD}{}",
            var(&format!(
                "name = \"H\"\nkind = \"hashed\"\nencoding = \"hex\"\nbytes = 8\nargon2 = {{ {argon2} }}"
            ))
        )
    };
    for (argon2, says) in [
        (
            "t_cost = 4000000000",
            "t_cost and p_cost must be at most 16",
        ),
        ("m_cost = 4194304", "above the limit of 1048576 KiB"),
        ("p_cost = 64", "at most 16"),
    ] {
        let e = error(&hashed(argon2));
        assert!(
            e.contains("invalid Argon2 parameters") && e.contains(says),
            "{e}"
        );
    }
    parse(&hashed("m_cost = 65540, t_cost = 3, p_cost = 4")).unwrap();
}

/// A schema over 256 KiB is parsed one `[[variable]]` at a time: errors keep the file's
/// line and column, and duplicates across pieces are still found.
#[test]
fn large_schemas_are_parsed_in_pieces_with_the_files_positions() {
    let mut text = String::from(HEAD);
    let mut n = 0;
    while text.len() < 300 << 10 {
        text.push_str(&format!(
            "\n[[variable]]\nname = \"V{n}\"\nkind = \"secret\"\nencoding = \"hex\"\nbytes = 16\ndescription = \"d\"\nservices = [\"s\"]\n[variable.rotation]\nimpact = \"free\"\n"
        ));
        n += 1;
    }
    let schema = parse(&text).unwrap();
    assert_eq!(schema.variables().len(), n);
    let last = format!("name = \"V{}\"", n - 1);
    let expected = text.lines().position(|l| l == last).unwrap() + 1;
    assert_eq!(schema.variables()[n - 1].line, expected);
    let bad = format!(
        "{text}{}",
        var("name = \"LAST\"\nkind = \"secret\"\nencoding = \"hexadecimal\"\nbytes = 8")
    );
    let line = bad.lines().count() - 3;
    let e = error(&bad);
    assert!(
        e.starts_with(&format!(
            "s.toml:{line}:12: variable LAST: unknown encoding"
        )),
        "{e}"
    );
    let twice = format!(
        "{text}{}",
        var("name = \"V3\"\nkind = \"fixed\"\ndefault = \"x\"")
    );
    let first = text.lines().position(|l| l == "name = \"V3\"").unwrap() + 1;
    let e = error(&twice);
    assert!(
        e.contains(&format!(
            "variable V3: defined twice (first at line {first})"
        )),
        "{e}"
    );
    let toml = format!("{text}\n[[variable]]\nname = \"X\"\nkind = = \"secret\"\n");
    let e = error(&toml);
    assert!(
        e.starts_with(&format!("s.toml:{}:", toml.lines().count())),
        "{e}"
    );
}

#[test]
fn toml_syntax_errors_have_a_position() {
    let e = error("[schema\nname = 1");
    assert!(e.starts_with("s.toml:1:"), "{e}");
}

/// The cases a review found where the scan of `[[variable]]` lines and the lexer's split of
/// a schema disagreed: each now reads as the lexer's split reads it.
#[test]
fn variable_headers_in_any_spelling_read_as_the_lexer_split_reads_them() {
    let secret = "kind = \"secret\"\nencoding = \"hex\"\nbytes = 8\ndescription = \"d\"\nservices = [\"s\"]\n";
    // A comment after the first header, then a sub-table after another table: the split
    // refuses it (as it always did for large schemas), with or without the comment.
    for header in ["[[variable]] # first", "[[variable]]"] {
        let text = format!(
            "{header}\nname = \"A\"\n{secret}[schema]\nname = \"s\"\n[variable.rotation]\nimpact = \"free\"\n"
        );
        assert!(parse(&text).is_err(), "{header}");
    }
    // Spellings of the header that name the same array keep the file's order.
    let text = format!(
        "[schema]\nname = \"s\"\n[[ variable ]]\nname = \"A\"\n{secret}[[\"variable\"]]\nname = \"B\"\n{secret}"
    );
    let schema = parse(&text).expect("valid");
    let names: Vec<_> = schema.variables().iter().map(|v| v.name.as_str()).collect();
    assert_eq!(names, ["A", "B"]);
    // An inline array of variables cannot be extended by tables.
    let text = format!(
        "variable = [{{ name = \"A\", kind = \"fixed\", default = \"x\", description = \"d\", services = [\"s\"] }}]\n[schema]\nname = \"s\"\n[[variable]]\nname = \"B\"\n{secret}"
    );
    assert!(toml::from_str::<toml::Table>(&text).is_err());
    let e = error(&text);
    assert!(
        e.starts_with("s.toml:4:1: `[[variable]]` after `variable = [...]`"),
        "{e}"
    );
}

#[test]
fn rotation_tables_are_validated() {
    let secret = "name = \"K\"\nkind = \"secret\"\nencoding = \"hex\"\nbytes = 8";
    let with = |rotation: &str| format!("{HEAD}{}\n[variable.rotation]\n{rotation}\n", var(secret));

    let e = error(&with("impact = \"data\""));
    assert!(
        e.contains("variable K: a rotation with impact = \"data\" needs `breaks`"),
        "{e}"
    );
    let e = error(&with("impact = \"sometimes\""));
    assert!(e.contains("unknown rotation impact `sometimes`"), "{e}");
    let e = error(&with("strategy = \"prepend\""));
    assert!(
        e.contains("strategy \"prepend\" needs a list (count > 1)"),
        "{e}"
    );
    let e = error(&with("max_age = \"ninety days\""));
    assert!(e.contains("variable K: max_age:"), "{e}");
    let e = error(&with("history = 1000"));
    assert!(
        e.contains("history must be between 0 and 100, not 1000"),
        "{e}"
    );

    let e = error(&format!(
        "{HEAD}{}\n[variable.rotation]\nimpact = \"op\"\nbreaks = \"x\"\n",
        var("name = \"U\"\nkind = \"fixed\"\ndefault = \"u\"")
    ));
    assert!(
        e.contains("`rotation` does not apply to a fixed variable"),
        "{e}"
    );

    let schema = parse(&with("impact = \"op\"\nbreaks = \"it breaks\"\nsteps = [\"one\", \" \"]\nmax_age = \"90d\"\nhistory = 2")).unwrap();
    let rotation = &schema.variables()[0].rotation;
    assert!(rotation.impact.is_guarded());
    assert_eq!(rotation.steps, ["one"]);
    assert_eq!(
        rotation.max_age,
        Some(std::time::Duration::from_secs(90 * 86_400))
    );
    assert_eq!(rotation.history, 2);
}

#[test]
fn reading_values_validates_rotation_texts_but_does_not_keep_them() {
    let path = Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/schema/alecia.toml"));
    let full = Schema::load(path).unwrap();
    let values = Schema::load_for(path, Detail::Values).unwrap();
    assert!(
        full.variables()
            .iter()
            .any(|v| !v.rotation.steps.is_empty())
    );
    for (f, v) in full.variables().iter().zip(values.variables()) {
        assert_eq!(f.name, v.name);
        assert!(v.rotation.steps.is_empty() && v.rotation.breaks.is_none());
        assert_eq!(f.rotation.impact, v.rotation.impact);
        assert_eq!(f.rotation.history, v.rotation.history);
        assert_eq!(f.rotation.max_age, v.rotation.max_age);
    }
    // A rotation text that is wrong is refused all the same.
    let text = format!(
        "{HEAD}{}\n[variable.rotation]\nimpact = \"op\"\n",
        var("name = \"S\"\nkind = \"secret\"\nencoding = \"hex\"\nbytes = 32")
    );
    let e = validate::parse(&text, Path::new("s.toml"), Detail::Values)
        .unwrap_err()
        .to_string();
    assert!(e.contains("needs `breaks`"), "{e}");
}

#[test]
fn the_bundled_schema_guards_what_the_reference_marks_data_or_op() {
    let schema = Schema::load(Path::new(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/schema/alecia.toml"
    )))
    .unwrap();
    let impact = |name: &str| {
        schema.variables()[schema.position(name).unwrap()]
            .rotation
            .impact
            .name()
    };
    for name in [
        "BETTER_AUTH_SECRET",
        "TOKEN_ENCRYPTION_KEY",
        "STRAPI_API_TOKEN_SALT",
        "STRAPI_ENCRYPTION_KEY",
        "AP_ENCRYPTION_KEY",
        "PLAUSIBLE_SECRET_KEY_BASE",
        "PLAUSIBLE_TOTP_VAULT_KEY",
        "DOCUSEAL_SECRET_KEY_BASE",
    ] {
        assert_eq!(impact(name), "data", "{name}");
    }
    for name in [
        "POSTGRES_PASSWORD",
        "MINIO_ROOT_PASSWORD",
        "AP_POSTGRES_PASSWORD",
        "MINIFLUX_ADMIN_PASSWORD",
        "STIRLING_PASSWORD",
    ] {
        assert_eq!(impact(name), "op", "{name}");
    }
    for name in [
        "REDIS_PASSWORD",
        "CLICKHOUSE_PASSWORD",
        "SEARXNG_SECRET",
        "HOCUSPOCUS_SECRET",
        "VAULTWARDEN_ADMIN_TOKEN",
    ] {
        assert_eq!(impact(name), "free", "{name}");
    }
    let generated = schema
        .variables()
        .iter()
        .filter(|v| v.kind.generator().is_some());
    assert!(
        generated.clone().all(|v| !v.rotation.steps.is_empty()),
        "every secret says what to do after rotating"
    );
    assert_eq!(generated.count(), 23);
}
