//! Any mutation of the bundled schema: never a panic, every error located.

use super::*;
use proptest::prelude::*;

fn bundled() -> String {
    std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/schema/alecia.toml")).unwrap()
}

fn assert_located(text: &str) {
    match Schema::parse(text, Path::new("s.toml")) {
        Ok(_) => {}
        Err(Error::Schema { line, column, .. }) => {
            assert!(line >= 1 && line <= text.lines().count() + 1, "line {line}");
            assert!(column >= 1);
        }
        Err(other) => panic!("not a located schema error: {other}"),
    }
}

proptest! {
    #[test]
    fn arbitrary_text_never_panics(text in "\\PC{0,400}") {
        assert_located(&text);
    }

    #[test]
    fn a_mutated_bundled_schema_never_panics_and_errors_are_located(
        at in 0usize..20_000, cut in 0usize..40, insert in "[\\[\\]=\"'#${}|a-z0-9\n ]{0,12}",
    ) {
        let text = bundled();
        let at = text.char_indices().map(|(i, _)| i).take_while(|&i| i <= at % text.len()).last().unwrap_or(0);
        let end = text[at..].char_indices().map(|(i, _)| at + i).nth(cut).unwrap_or(text.len());
        let mutated = format!("{}{insert}{}", &text[..at], &text[end..]);
        assert_located(&mutated);
    }
}
