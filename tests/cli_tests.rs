//! CLI snapshot tests (trycmd): one case per file in tests/cmd/, with its arguments and the
//! exact expected output, so a change to a help text or an error message shows in review.
//! `TRYCMD=overwrite cargo test --test cli_tests` rewrites them after a deliberate change.

#[test]
fn cli_tests() {
    trycmd::TestCases::new().case("tests/cmd/*.toml");
}
