//! The rendered .env read back by the real parsers: docker compose v2 (compose-go, through
//! `docker-compose config`) and python-dotenv. Both must give back exactly the stored values,
//! whatever characters they hold; where python-dotenv cannot, render must say so by name.

use std::collections::BTreeMap;

use proptest::prelude::*;
use proptest::test_runner::{Config, RngAlgorithm, TestCaseError, TestRng, TestRunner};

use crate::testkit::{
    HARD_FIXED, Sandbox, compose_env, hard_sandbox, python_dotenv, python_dotenv_lenient,
    stored_values,
};

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

#[test]
fn values_full_of_quotes_dollars_hashes_and_backslashes_read_back_exactly() {
    let (s, names) = hard_sandbox();
    let render = s.run(&["render"]);
    assert_eq!(render.code, 0, "{}", render.stderr);
    s.write(".env", &render.stdout);
    let expected = stored_values(&s, &names);
    for (i, v) in HARD_FIXED.iter().enumerate() {
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

/// One `.env` line in one of compose's spellings, from a value and a style.
fn spell(name: &str, value: &str, style: u8, export: bool, crlf: bool) -> String {
    let body = match style {
        0 => format!("{name}={value}"),
        1 => format!("{name}='{}'", value.replace('\'', "\\'")),
        2 => format!(
            "{name}=\"{}\"",
            value.replace('\\', "\\\\").replace('"', "\\\"")
        ),
        _ => format!("{name}: {value} # comment"),
    };
    format!(
        "{}{body}{}",
        if export { "export " } else { "" },
        if crlf { "\r\n" } else { "\n" }
    )
}

#[test]
fn the_env_reader_agrees_with_compose_go() {
    // envgen's reader (used by import and diff) against compose-go's own, on random files.
    // A fixed seed keeps CI's run reproducible; PROPTEST_CASES explores further.
    let cases = std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|c| c.parse().ok())
        .unwrap_or(40);
    let config = Config {
        cases,
        ..Config::default()
    };
    let mut runner =
        TestRunner::new_with_rng(config, TestRng::deterministic_rng(RngAlgorithm::ChaCha));
    // Mostly values without `$` (one bad line makes compose refuse the whole file).
    let value = prop_oneof![3 => "[ -#%-~]{0,16}", 1 => hard_value()];
    let line = (value, 0u8..4, any::<bool>(), any::<bool>());
    let compared = std::cell::Cell::new(0usize);
    let result = runner.run(&prop::collection::vec(line, 6), |lines| {
        let dir = tempfile::tempdir().unwrap();
        let names: Vec<String> = (0..lines.len()).map(|i| format!("V{i}")).collect();
        let text: String = names
            .iter()
            .zip(&lines)
            .map(|(n, (v, style, export, crlf))| spell(n, v, *style, *export, *crlf))
            .collect();
        std::fs::write(dir.path().join(".env"), &text).unwrap();
        let ours = envgen::dotenv::parse(&text);
        let Some(compose) = crate::testkit::compose_env_lenient(dir.path(), &names) else {
            // compose refused the file; ours must not have read it either, unless a value
            // holds a reference (compose checks the template syntax, envgen refuses those).
            if let Ok(assignments) = &ours {
                prop_assert!(
                    assignments
                        .iter()
                        .any(|a| matches!(a.value, envgen::dotenv::Value::Reference)),
                    "compose refused a file envgen read:\n{}",
                    text
                );
            }
            return Ok(());
        };
        let assignments = ours.map_err(|e| {
            TestCaseError::fail(format!("envgen refused a file compose read: {e:?}\n{text}"))
        })?;
        // The probe compose file can only ask for names it knows (compose also reads `=x` as an
        // empty key).
        for a in assignments.into_iter().filter(|a| names.contains(&a.name)) {
            if let envgen::dotenv::Value::Literal(v) = &a.value {
                use secrecy::ExposeSecret;
                prop_assert_eq!(
                    Some(v.expose_secret()),
                    compose.get(&a.name).map(String::as_str),
                    "{} in:\n{}",
                    a.name,
                    text
                );
                compared.set(compared.get() + 1);
            }
        }
        Ok(())
    });
    if let Err(e) = result {
        panic!("{e}");
    }
    // Most random files hold something compose rejects; make sure enough values were compared.
    eprintln!(
        "the env reader matched compose-go on {} values",
        compared.get()
    );
    assert!(
        compared.get() >= 2 * cases as usize,
        "too few comparisons: {}",
        compared.get()
    );
}
