//! The kinds beyond generated secrets: tokens, key pairs, inputs; profiles; where a format
//! comes from.

use super::*;

/// The Supabase part of the catalogue's syntax: a secret, two tokens, inputs, a key pair.
const KINDS_SCHEMA: &str = r#"[schema]
name = "t"

[[variable]]
name = "JWT_SECRET"
kind = "secret"
encoding = "base64url"
bytes = 48
description = "d"
services = ["s"]

[[variable]]
name = "ANON_KEY"
kind = "jwt"
secret = "JWT_SECRET"
algorithm = "HS256"
claims = { role = "anon", iss = "supabase", aud = ["a", "b"], n = 1 }
expires = "5y"
description = "d"
services = ["s"]

[[variable]]
name = "SMTP_PASSWORD"
kind = "input"
min_chars = 8
description = "d"
services = ["s"]

[[variable]]
name = "SMTP_PORT"
kind = "input"
type = "port"
secret = false
description = "d"
services = ["s"]

[[variable]]
name = "MODE"
kind = "fixed"
type = "enum"
values = ["smtp", "ses"]
default = "smtp"
description = "d"
services = ["s"]

[[variable]]
name = "SIGNING_KEY"
kind = "keypair"
algorithm = "ed25519"
description = "d"
services = ["s"]

[[variable]]
name = "VAPID_PRIVATE_KEY"
kind = "keypair"
algorithm = "p256"
format = "vapid"
description = "d"
services = ["s"]

[[variable]]
name = "PUBLIC_PEM"
kind = "derived"
template = "${SIGNING_KEY.public}"
description = "d"
services = ["s"]

[[variable]]
name = "VAPID_PUBLIC_KEY"
kind = "derived"
template = "${VAPID_PRIVATE_KEY.public}"
description = "d"
services = ["s"]

[[variable]]
name = "SESSION_ID"
kind = "secret"
encoding = "uuid"
description = "d"
services = ["s"]

[[variable]]
name = "DB_PASSWORD"
kind = "secret"
encoding = "alnum"
chars = 24
exclude = "$\"'\\0O"
require = ["digit"]
description = "d"
services = ["s"]

[[variable]]
name = "DOMAIN"
kind = "fixed"
default = "example.com"
type = "hostname"
description = "d"
services = ["s"]

[profile.staging]
DOMAIN = "staging.example.com"

[profile.production]
"#;

#[test]
fn the_new_kinds_parse_into_typed_values() {
    let schema = parse(KINDS_SCHEMA).unwrap();
    let kind = |name: &str| &schema.variables()[schema.position(name).unwrap()].kind;
    let Kind::Jwt(jwt) = kind("ANON_KEY") else {
        panic!()
    };
    assert_eq!(jwt.secret, "JWT_SECRET");
    assert_eq!(jwt.algorithm, crate::jwt::Algorithm::Hs256);
    assert_eq!(
        serde_json::Value::Object(jwt.claims.clone()),
        serde_json::json!({"role": "anon", "iss": "supabase", "aud": ["a", "b"], "n": 1})
    );
    assert_eq!(jwt.expires.unwrap().as_secs(), 5 * 31_557_600);
    let Kind::Input(smtp) = kind("SMTP_PASSWORD") else {
        panic!()
    };
    assert!(smtp.secret && smtp.rules.min_chars == Some(8));
    let Kind::Input(port) = kind("SMTP_PORT") else {
        panic!()
    };
    assert!(!port.secret);
    assert_eq!(port.rules.value_type, Some(rules::ValueType::Port));
    assert!(port.rules.check("0").is_err() && port.rules.check("587").is_ok());
    let Kind::Keypair(pair) = kind("VAPID_PRIVATE_KEY") else {
        panic!()
    };
    assert_eq!(pair.format, crate::keypair::Format::Vapid);
    let Kind::Secret(uuid) = kind("SESSION_ID") else {
        panic!()
    };
    assert_eq!(uuid.encoding, Encoding::Uuid);
    let Kind::Secret(db) = kind("DB_PASSWORD") else {
        panic!()
    };
    assert!(
        !db.encoding
            .symbols()
            .iter()
            .any(|b| b"$\"'\\0O".contains(b))
    );
    assert_eq!(db.encoding.symbols().len(), 60);
    // Multi-line: PEM keys and what inserts their PEM public part; not the vapid ones.
    let multiline = |name: &str| schema.variables()[schema.position(name).unwrap()].multiline;
    assert!(multiline("SIGNING_KEY") && multiline("PUBLIC_PEM"));
    assert!(!multiline("VAPID_PRIVATE_KEY") && !multiline("VAPID_PUBLIC_KEY"));
    assert!(!multiline("ANON_KEY") && !multiline("SMTP_PASSWORD"));
    // A token depends on its secret: rotating it re-signs the token.
    let secret = schema.position("JWT_SECRET").unwrap();
    assert_eq!(
        schema.dependents(&[secret]),
        vec![schema.position("ANON_KEY").unwrap()]
    );
    assert!(kind("SIGNING_KEY").is_generated() && !kind("SMTP_PASSWORD").is_generated());
}

#[test]
fn profiles_override_fixed_defaults_and_must_be_declared() {
    let mut schema = parse(KINDS_SCHEMA).unwrap();
    assert_eq!(
        schema.profiles().collect::<Vec<_>>(),
        ["production", "staging"]
    );
    let domain = schema.position("DOMAIN").unwrap();
    let default = |s: &Schema| match &s.variables()[domain].kind {
        Kind::Fixed(f) => f.default.clone(),
        _ => unreachable!(),
    };
    assert_eq!(default(&schema), "example.com");
    schema.select_profile("staging").unwrap();
    assert_eq!(default(&schema), "staging.example.com");
    assert_eq!(schema.profile.as_deref(), Some("staging"));
    let e = schema.select_profile("stagign").unwrap_err();
    assert!(matches!(e, Error::UnknownProfile { .. }), "{e}");
    assert!(e.hint().unwrap().contains("production, staging"));

    let with = |profile: &str| KINDS_SCHEMA.replace("[profile.production]\n", profile);
    let e = error(&with("[profile.production]\nSMTP_PORT = \"25\"\n"));
    assert!(
        e.contains(
            "variable SMTP_PORT: profile production sets it, but it is not a fixed variable"
        ),
        "{e}"
    );
    let e = error(&with("[profile.production]\nDOMAIN = \"not a host\"\n"));
    assert!(
        e.contains(
            "variable DOMAIN: profile production: the value is refused: the value is not a hostname"
        ),
        "{e}"
    );
    let e = error(&with("[profile.Prod]\n"));
    assert!(e.contains("\"Prod\" is not a valid profile name"), "{e}");
}

#[test]
fn the_new_kinds_refuse_what_does_not_apply_with_position_and_hint() {
    let cases: &[(&str, &str)] = &[
        (
            "name = \"T\"\nkind = \"jwt\"\nalgorithm = \"HS256\"",
            "variable T: a jwt needs `secret`",
        ),
        (
            "name = \"T\"\nkind = \"jwt\"\nsecret = \"NOPE\"",
            "variable T: the token is signed with NOPE, which the schema does not define",
        ),
        (
            "name = \"T\"\nkind = \"jwt\"\nsecret = \"F\"",
            "variable T: the token is signed with F, a fixed variable",
        ),
        (
            "name = \"T\"\nkind = \"jwt\"\nsecret = \"S\"\nalgorithm = \"RS256\"",
            "unknown jwt algorithm `RS256`",
        ),
        (
            "name = \"T\"\nkind = \"jwt\"\nsecret = \"S\"\nclaims = { exp = 1 }",
            "the claim `exp` is set by envgen",
        ),
        (
            "name = \"T\"\nkind = \"jwt\"\nsecret = \"S\"\nexpires = \"soon\"",
            "variable T: expires:",
        ),
        (
            "name = \"T\"\nkind = \"jwt\"\nsecret = \"S\"\nexpires = \"0s\"",
            "expires must be longer than zero",
        ),
        (
            "name = \"T\"\nkind = \"jwt\"\nsecret = \"S\"\nclaims = { at = 1979-05-27 }",
            "the claim `at` holds a date",
        ),
        (
            "name = \"T\"\nkind = \"jwt\"\nsecret = \"S\"\nrotation = { impact = \"op\" }",
            "`rotation` does not apply to a jwt variable",
        ),
        (
            "name = \"K\"\nkind = \"keypair\"",
            "a keypair needs `algorithm`",
        ),
        (
            "name = \"K\"\nkind = \"keypair\"\nalgorithm = \"dsa\"",
            "unknown key algorithm `dsa`",
        ),
        (
            "name = \"K\"\nkind = \"keypair\"\nalgorithm = \"ed25519\"\nformat = \"vapid\"",
            "the vapid format is for p256 keys, not ed25519",
        ),
        (
            "name = \"K\"\nkind = \"keypair\"\nalgorithm = \"p256\"\nformat = \"der\"",
            "unknown key format `der`",
        ),
        (
            "name = \"I\"\nkind = \"input\"\ntype = \"color\"",
            "unknown type `color`",
        ),
        (
            "name = \"I\"\nkind = \"input\"\ntype = \"enum\"",
            "type \"enum\" needs `values`",
        ),
        (
            "name = \"I\"\nkind = \"input\"\ntype = \"enum\"\nvalues = [\"a\", \"a\"]",
            "`values` must list distinct",
        ),
        (
            "name = \"I\"\nkind = \"input\"\nvalues = [\"a\"]",
            "`values` needs `type = \"enum\"`",
        ),
        (
            "name = \"I\"\nkind = \"input\"\nmin_chars = 9\nmax_chars = 3",
            "min_chars (9) is more than max_chars (3)",
        ),
        (
            "name = \"I\"\nkind = \"input\"\nmax_chars = 0",
            "max_chars must be between 1 and 65536, not 0",
        ),
        (
            "name = \"I\"\nkind = \"input\"\nsecret = \"yes\"",
            "`secret` of an input is true or false",
        ),
        (
            "name = \"I\"\nkind = \"input\"\ndefault = \"x\"",
            "`default` does not apply to an input variable",
        ),
        (
            "name = \"F\"\nkind = \"fixed\"\ndefault = \"8o\"\ntype = \"port\"",
            "the default is refused: the value is not a port",
        ),
        (
            "name = \"D\"\nkind = \"derived\"\ntemplate = \"${S.public}\"",
            "the template asks for S.public, but S is a secret variable, not a keypair",
        ),
        (
            "name = \"X\"\nkind = \"secret\"\nencoding = \"uuid\"\nbytes = 16",
            "a uuid has a fixed length",
        ),
        (
            "name = \"X\"\nkind = \"secret\"\nencoding = \"base64\"\nbytes = 16\nexclude = \"/\"",
            "base64 values may contain '/', which `exclude` forbids",
        ),
        (
            "name = \"X\"\nkind = \"secret\"\nencoding = \"alphabet\"\nalphabet = \"ab$\"\nchars = 8\nexclude = \"ab\"",
            "`exclude` leaves 1 character(s) of the alphabet alphabet",
        ),
        (
            "name = \"X\"\nkind = \"secret\"\nencoding = \"alphabet\"\nalphabet = \"ab$%\"\nchars = 8\nexclude = \"$%\"\nrequire = [\"symbol\"]",
            "alphabet values never contain a `symbol` character (after `exclude`)",
        ),
        (
            "name = \"X\"\nkind = \"fixed\"\ndefault = \"a\\nb\"",
            "the value holds a newline; only variables with `multiline = true` may",
        ),
    ];
    let others = format!(
        "{}{}",
        var("name = \"S\"\nkind = \"secret\"\nencoding = \"hex\"\nbytes = 8"),
        var("name = \"F\"\nkind = \"fixed\"\ndefault = \"x\"")
    );
    for (body, expected) in cases {
        let e = error(&format!("{HEAD}{others}{}", var(body)));
        assert!(e.contains(expected), "{body}\n=> {e}");
        assert!(e.contains(" | "), "a hint: {e}");
    }
    let e = error(&format!("{HEAD}{}", var("name = \"A\"\nkind = \"magic\"")));
    assert!(
        e.contains("kind is one of: secret, hashed, fixed, input, derived, jwt, keypair"),
        "{e}"
    );
    // Multi-line fixed values are allowed where the schema says so.
    let ok = parse(&format!(
        "{HEAD}{}",
        var("name = \"X\"\nkind = \"fixed\"\nmultiline = true\ndefault = \"a\\nb\"")
    ))
    .unwrap();
    assert!(ok.variables()[0].multiline);
}

#[test]
fn source_and_verified_say_where_a_format_comes_from() {
    let text = format!(
        "{HEAD}{}{}{}",
        var(
            "name = \"A\"\nkind = \"secret\"\nencoding = \"hex\"\nbytes = 8\nsource = \"catalogue:plausible\"\nverified = true"
        ),
        var(
            "name = \"B\"\nkind = \"fixed\"\ndefault = \"x\"\nsource = \"guess\"\nverified = false"
        ),
        var("name = \"C\"\nkind = \"fixed\"\ndefault = \"x\""),
    );
    let schema = parse(&text).unwrap();
    let v = schema.variables();
    assert_eq!(v[0].source.as_deref(), Some("catalogue:plausible"));
    assert_eq!(v[0].verified, Some(true));
    assert_eq!(
        (v[1].source.as_deref(), v[1].verified),
        (Some("guess"), Some(false))
    );
    assert_eq!((v[2].source.as_deref(), v[2].verified), (None, None));
    let empty = format!(
        "{HEAD}{}",
        var("name = \"A\"\nkind = \"fixed\"\ndefault = \"x\"\nsource = \" \"")
    );
    assert!(
        error(&empty).contains("variable A: `source` is empty"),
        "{}",
        error(&empty)
    );
}
