//! The rendered .env read back by the real parsers: docker compose v2 (compose-go, through
//! `docker-compose config`) and python-dotenv. Both must give back exactly the stored values,
//! whatever characters they hold; where python-dotenv cannot, render must say so by name.

use std::collections::BTreeMap;

use proptest::prelude::*;
use proptest::test_runner::{Config, TestRunner};

use crate::testkit::{Sandbox, compose_env, python_dotenv, python_dotenv_lenient};

#[test]
fn the_bundled_stack_reads_back_exactly_in_compose_and_python_dotenv() {
    let s = Sandbox::new();
    s.run(&["init"]).ok();
    s.render_to(".env");
    let names: Vec<String> = String::from_utf8(s.read(".env"))
        .unwrap()
        .lines()
        .filter(|l| !l.starts_with('#'))
        .map(|l| l.split('=').next().unwrap().to_string())
        .collect();
    assert_eq!(names.len(), 28);
    let expected: BTreeMap<String, String> = names
        .iter()
        .map(|n| (n.clone(), s.run(&["get", n]).ok().trim_end().to_string()))
        .collect();
    assert_eq!(compose_env(s.dir.path(), &names), expected);
    assert_eq!(python_dotenv(&s.path(".env")), expected);
}

/// Every printable ASCII character: the alphabet of the hard-value variables below.
const PRINTABLE: &str = " !\"#$%&'()*+,-./0123456789:;<=>?@ABCDEFGHIJKLMNOPQRSTUVWXYZ[\\]^_`abcdefghijklmnopqrstuvwxyz{|}~";

#[test]
fn values_full_of_quotes_dollars_hashes_and_backslashes_read_back_exactly() {
    // Secrets drawn from all of printable ASCII, plus fixed values set to the nastiest
    // spellings (fixed values are not secret, so --set may carry them).
    let alphabet = PRINTABLE.replace('\\', "\\\\").replace('"', "\\\"");
    let mut schema = String::from("[schema]\nname = \"alecia\"\n");
    for i in 0..24 {
        schema.push_str(&format!(
            "\n[[variable]]\nname = \"HARD_{i}\"\nkind = \"secret\"\nencoding = \"alphabet\"\nalphabet = \"{alphabet}\"\nchars = 40\ndescription = \"d\"\nservices = [\"s\"]\n"
        ));
    }
    let fixed = [
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
    for i in 0..fixed.len() {
        schema.push_str(&format!(
            "\n[[variable]]\nname = \"FIXED_{i}\"\nkind = \"fixed\"\ndefault = \"x\"\ndescription = \"d\"\nservices = [\"s\"]\n"
        ));
    }
    let s = Sandbox::with_schema(&schema);
    let sets: Vec<String> = fixed
        .iter()
        .enumerate()
        .map(|(i, v)| format!("FIXED_{i}={v}"))
        .collect();
    let mut args = vec!["init"];
    for set in &sets {
        args.extend(["--set", set.as_str()]);
    }
    s.run(&args).ok();
    let render = s.run(&["render"]);
    assert_eq!(render.code, 0, "{}", render.stderr);
    s.write(".env", &render.stdout);
    let names: Vec<String> = (0..24)
        .map(|i| format!("HARD_{i}"))
        .chain((0..fixed.len()).map(|i| format!("FIXED_{i}")))
        .collect();
    let expected: BTreeMap<String, String> = names
        .iter()
        .map(|n| {
            (
                n.clone(),
                s.run(&["get", n]).ok().trim_end_matches('\n').to_string(),
            )
        })
        .collect();
    for (i, v) in fixed.iter().enumerate() {
        assert_eq!(expected[&format!("FIXED_{i}")], *v);
    }

    assert_eq!(
        compose_env(s.dir.path(), &names),
        expected,
        "compose reads every value exactly"
    );
    let python = python_dotenv(&s.path(".env"));
    let warned: Vec<&str> = render
        .stderr
        .lines()
        .filter_map(|l| l.strip_prefix("warning: python-dotenv would misread "))
        .map(|l| l.split_whitespace().next().unwrap())
        .collect();
    for name in &names {
        if !warned.contains(&name.as_str()) {
            assert_eq!(
                python[name], expected[name],
                "{name}: python-dotenv misreads a value render did not warn about"
            );
        }
    }
    assert!(
        warned.contains(&"FIXED_4"),
        "`${{NOT_A_VAR}}` is expanded by python-dotenv"
    );
    assert_ne!(
        python["FIXED_4"], expected["FIXED_4"],
        "and the warning is real"
    );
}

/// Values weighted towards the characters the two parsers treat specially.
fn hard_value() -> impl Strategy<Value = String> {
    prop_oneof!["[ -~]{1,30}", "[$#'\"\\\\ {}=a:-]{1,12}", "[\\\\$'a]{1,6}",]
        .prop_filter("not blank at the ends", |v| !v.is_empty())
}

#[test]
fn arbitrary_printable_values_round_trip_through_both_real_parsers() {
    // Each case renders 64 values with the library's quoting and asks both parsers once.
    // PROPTEST_CASES raises the default of 12 cases (768 values) for a longer run.
    let cases = std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|c| c.parse().ok())
        .unwrap_or(12);
    let mut runner = TestRunner::new(Config {
        cases,
        ..Config::default()
    });
    let result = runner.run(&prop::collection::vec(hard_value(), 64), |values| {
        let dir = tempfile::tempdir().unwrap();
        let names: Vec<String> = (0..values.len()).map(|i| format!("V{i}")).collect();
        let rendered = envgen::render::dotenv(
            "property test",
            names
                .iter()
                .map(String::as_str)
                .zip(values.iter().map(String::as_str)),
        );
        std::fs::write(dir.path().join(".env"), rendered.text.as_str()).unwrap();
        let compose = compose_env(dir.path(), &names);
        let (python, warnings) = python_dotenv_lenient(&dir.path().join(".env"));
        prop_assert!(
            warnings.is_empty() || !rendered.python_dotenv_inexact.is_empty(),
            "python-dotenv failed on a file render promised it reads: {}",
            warnings
        );
        for (name, value) in names.iter().zip(&values) {
            prop_assert_eq!(&compose[name], value, "compose misread {}", name);
            if !rendered.python_dotenv_inexact.contains(name) {
                prop_assert_eq!(
                    python.get(name),
                    Some(value),
                    "python-dotenv misread {} without a warning",
                    name
                );
            }
        }
        Ok(())
    });
    if let Err(e) = result {
        panic!("{e}");
    }
}
