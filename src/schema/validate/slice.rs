//! The part of a schema that reading a few variables needs (`envgen get NAME`, `envgen exec
//! --only A,B`): the `[schema]` and `[profile.*]` tables, those variables, and the variables
//! their values are computed from, each validated as in a full parse. The other
//! `[[variable]]` tables are found by name only, from the text, and never parsed: on the
//! 28-variable stack that is four fifths of the work of loading the schema (BENCHMARKS.md).
//!
//! Whenever the text is not plain enough to be sure of what a full parse would find (a name
//! not written `name = "NAME"` on the first line of its table, a multi-line string running
//! over a line that looks like a header, two tables of one name, a name that changes how
//! programs run, inline variables) or anything in the slice is wrong, the whole schema is
//! parsed instead, and its result (or its first error) stands. So the slice and the full parse
//! give the same variables whenever the full parse succeeds; where it fails, the slice may
//! still succeed if the fault is in a variable the slice does not read.

use std::cell::Cell;
use std::collections::{BTreeMap, HashSet};
use std::path::Path;

use super::super::chunks::{self, Part};
use super::super::raw::RawVariable;
use super::{Ctx, Detail, Others, Schema, assemble, parse};
use crate::error::Result;

/// The schema for reading the variables `wanted`: see the module's documentation.
pub(in crate::schema) fn parse_slice(
    text: &str,
    path: &Path,
    detail: Detail,
    wanted: &[&str],
) -> Result<Schema> {
    match slice(text, path, detail, wanted) {
        Some(schema) => Ok(schema),
        None => parse(text, path, detail),
    }
}

/// The slice, or `None` when only a full parse can tell.
fn slice(text: &str, path: &Path, detail: Detail, wanted: &[&str]) -> Option<Schema> {
    // No name: no slice to take (a slice of nothing would hold no variable at all).
    if wanted.is_empty() {
        return None;
    }
    let chunks = match chunks::split_lines(text) {
        Some(chunks) if chunks::strings_stay_on_their_lines(text) => chunks,
        _ => chunks::split(text),
    };
    // Every variable's name, in name order, with its piece.
    let mut names = Vec::new();
    for (i, chunk) in chunks.iter().enumerate() {
        if chunk.part == Part::Variable {
            let name = chunks::peek_name(&text[chunk.range.clone()])?;
            // A full parse refuses such a name unless the schema allows it, and warns about
            // it on every command: leave both to it.
            if !super::is_variable_name(name) || crate::schema::names::danger(name).is_some() {
                return None;
            }
            names.push((name, i));
        }
    }
    names.sort_unstable();
    if names.windows(2).any(|pair| pair[0].0 == pair[1].0) {
        return None;
    }
    let find = |name: &str| {
        let at = names.binary_search_by(|(n, _)| (*n).cmp(name)).ok()?;
        Some(names[at].1)
    };
    let cursor = Cell::new((0, 1));
    let ctx = Ctx::new(text, path, &cursor);
    let mut others = Others::read(&ctx, text, &chunks).ok()?;
    if !others.inline.is_empty() {
        return None;
    }
    // The wanted variables and what they read, directly or not, by piece (file order).
    let mut read: BTreeMap<usize, _> = BTreeMap::new();
    let mut service_lists = HashSet::new();
    let mut todo: Vec<String> = wanted.iter().map(|name| name.to_string()).collect();
    while let Some(name) = todo.pop() {
        let piece = find(&name)?;
        if read.contains_key(&piece) {
            continue;
        }
        let range = chunks[piece].range.clone();
        let at = ctx.at(range.start);
        let raw = at.toml(&text[range]).ok()?;
        let [rv]: [RawVariable; 1] = raw.variable.try_into().ok()?;
        if rv.name.get_ref() != &name {
            return None;
        }
        let (mut variable, template) = at.variable(rv, others.history, &mut service_lists).ok()?;
        if detail == Detail::Values {
            variable.rotation.forget_texts();
        }
        todo.extend(variable.kind.reads().map(str::to_string));
        read.insert(piece, (variable, template));
    }
    // A profile may set variables the slice does not read: theirs are left out, not checked.
    // A name the schema does not define at all stays, for the full parse to report.
    let in_slice: HashSet<&str> = read.values().map(|(v, _)| v.name.as_str()).collect();
    for (_, tables) in &mut others.profiles {
        for table in tables.values_mut() {
            table
                .get_mut()
                .retain(|name, _| in_slice.contains(name.as_str()) || find(name).is_none());
        }
    }
    let (variables, templates) = read.into_values().unzip();
    assemble(&ctx, path, others, variables, templates).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    const HEAD: &str = "[schema]\nname = \"t\"\n";

    fn var(body: &str) -> String {
        format!("\n[[variable]]\n{body}\ndescription = \"d\"\nservices = [\"s\"]\n")
    }

    fn path() -> &'static Path {
        Path::new("s.toml")
    }

    /// The variables of `schema` with their profile defaults, by name, as text to compare.
    fn described(schema: &Schema, only: Option<&HashSet<String>>) -> Vec<String> {
        let keep = |name: &str| only.is_none_or(|names| names.contains(name));
        let mut out: Vec<String> = (schema.variables().iter())
            .filter(|v| keep(&v.name))
            .map(|v| format!("{v:?}"))
            .collect();
        for (profile, overrides) in &schema.profiles {
            let mut set: Vec<String> = (overrides.iter())
                .map(|(i, value)| (&schema.variables()[*i].name, value))
                .filter(|(name, _)| keep(name))
                .map(|(name, value)| format!("{profile}: {name} = {value}"))
                .collect();
            set.sort();
            out.push(format!("profile {profile}: {set:?}"));
        }
        out.push(format!(
            "{} {:?} {:?}",
            schema.name, schema.description, schema.host_identity
        ));
        out
    }

    /// The names of the variables `indices` of `schema` and of those they are computed from.
    fn reads(schema: &Schema, indices: &[usize]) -> HashSet<String> {
        let needed = schema.closure(indices);
        (schema.variables().iter())
            .zip(&needed)
            .filter(|(_, n)| **n)
            .map(|(v, _)| v.name.clone())
            .collect()
    }

    /// Checks that the slice of `text` for `names` is taken without a full parse, and that it
    /// holds exactly what the full parse holds for `names` and what they read.
    fn sliced_like_the_full_parse(text: &str, names: &[&str]) -> Schema {
        let full = parse(text, path(), Detail::Full).expect("the full parse succeeds");
        let sliced = slice(text, path(), Detail::Full, names).expect("a slice, not a full parse");
        let indices: Vec<usize> = names.iter().map(|n| full.require(n).unwrap()).collect();
        let names = reads(&full, &indices);
        assert_eq!(described(&sliced, None), described(&full, Some(&names)));
        sliced
    }

    /// The error a full parse gives, as text.
    fn full_error(text: &str) -> String {
        parse(text, path(), Detail::Full).unwrap_err().to_string()
    }

    #[test]
    fn every_variable_of_the_bundled_schema_is_sliced_like_the_full_parse() {
        let text =
            std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/schema/alecia.toml"))
                .unwrap();
        let full = parse(&text, path(), Detail::Full).unwrap();
        for v in full.variables() {
            let sliced = sliced_like_the_full_parse(&text, &[&v.name]);
            assert!(sliced.variables().len() < 5, "{}", v.name);
        }
        let url = sliced_like_the_full_parse(&text, &["REDIS_URL"]);
        let names: Vec<&str> = url.variables().iter().map(|v| v.name.as_str()).collect();
        assert_eq!(names, ["REDIS_PASSWORD", "REDIS_URL"]);
        // What reading values keeps is what the full parse keeps for it.
        let values = parse(&text, path(), Detail::Values).unwrap();
        let sliced = slice(&text, path(), Detail::Values, &["POSTGRES_PASSWORD"]).unwrap();
        let i = values.require("POSTGRES_PASSWORD").unwrap();
        assert_eq!(
            format!("{:?}", sliced.variables()[0]),
            format!("{:?}", values.variables()[i])
        );
    }

    #[test]
    fn references_are_followed_through_templates_and_tokens() {
        let text = [
            HEAD.to_string(),
            var("name = \"A\"\nkind = \"secret\"\nencoding = \"hex\"\nbytes = 16"),
            var("name = \"B\"\nkind = \"fixed\"\ndefault = \"b\""),
            var("name = \"J\"\nkind = \"jwt\"\nsecret = \"A\"\nclaims = { role = \"anon\" }"),
            var("name = \"T\"\nkind = \"derived\"\ntemplate = \"${J}/${B|url}\""),
            var("name = 'U'  # quoted the other way\nkind = \"derived\"\ntemplate = \"${T}\""),
            var("name = \"C\"\nkind = \"secret\"\nencoding = \"hex\"\nbytes = 16"),
        ]
        .concat();
        let u = sliced_like_the_full_parse(&text, &["U"]);
        let names: Vec<&str> = u.variables().iter().map(|v| v.name.as_str()).collect();
        assert_eq!(names, ["A", "B", "J", "T", "U"]);
        assert_eq!(u.variables().len(), 5);
        sliced_like_the_full_parse(&text, &["C"]);
        // Several names: each with what it reads, once.
        let two = sliced_like_the_full_parse(&text, &["T", "C", "J"]);
        let names: Vec<&str> = two.variables().iter().map(|v| v.name.as_str()).collect();
        assert_eq!(names, ["A", "B", "J", "T", "C"]);
    }

    #[test]
    fn a_fault_outside_the_slice_is_not_seen_and_one_inside_is_the_full_parses() {
        let good = var("name = \"A\"\nkind = \"secret\"\nencoding = \"hex\"\nbytes = 16");
        let bad = var("name = \"B\"\nkind = \"secret\"\nencoding = \"hax\"\nbytes = 16");
        let text = format!("{HEAD}{good}{bad}");
        assert!(
            full_error(&text).contains("variable B"),
            "{}",
            full_error(&text)
        );
        let a = parse_slice(&text, path(), Detail::Full, &["A"]).unwrap();
        assert_eq!(a.variables().len(), 1);
        let b = parse_slice(&text, path(), Detail::Full, &["B"]).unwrap_err();
        assert_eq!(b.to_string(), full_error(&text));
        // A fault in the `[schema]` table is always seen.
        let text = format!("[schema]\nname = \"T\"\n{good}");
        let e = parse_slice(&text, path(), Detail::Full, &["A"]).unwrap_err();
        assert_eq!(e.to_string(), full_error(&text));
    }

    #[test]
    fn profiles_keep_the_defaults_of_the_slice_and_unknown_names_stay_errors() {
        let fixed = |n: &str| {
            var(&format!(
                "name = \"{n}\"\nkind = \"fixed\"\ndefault = \"x\""
            ))
        };
        let body = format!("{}{}", fixed("A"), fixed("B"));
        let text = format!("{HEAD}[profile.p]\nA = \"1\"\nB = \"2\"\n{body}");
        let a = sliced_like_the_full_parse(&text, &["A"]);
        assert_eq!(a.profiles["p"], [(0, "1".to_string())]);
        let text = format!("{HEAD}[profile.p]\nA = \"1\"\nZ = \"2\"\n{body}");
        assert!(slice(&text, path(), Detail::Full, &["A"]).is_none());
        let e = parse_slice(&text, path(), Detail::Full, &["A"]).unwrap_err();
        assert_eq!(e.to_string(), full_error(&text));
    }

    #[test]
    fn whatever_the_text_does_not_say_plainly_goes_to_the_full_parse() {
        let a = var("name = \"A\"\nkind = \"secret\"\nencoding = \"hex\"\nbytes = 16");
        let cases = [
            // The name is not the first key.
            var("kind = \"secret\"\nname = \"B\"\nencoding = \"hex\"\nbytes = 16"),
            // Quoted key, escapes, dotted key, a name the variable rules refuse.
            var("\"name\" = \"B\"\nkind = \"fixed\"\ndefault = \"b\""),
            var("name = \"\\u0042\"\nkind = \"fixed\"\ndefault = \"b\""),
            var("name = \"B\" x\nkind = \"fixed\"\ndefault = \"b\""),
            var("name = \"1B\"\nkind = \"fixed\"\ndefault = \"b\""),
            // Two tables of one name.
            var("name = \"A\"\nkind = \"fixed\"\ndefault = \"b\""),
            // A name that changes how programs run, even allowed.
            var(
                "name = \"LD_PRELOAD\"\nkind = \"fixed\"\ndefault = \"b\"\nallow_dangerous_name = true",
            ),
        ];
        for other in cases {
            let text = format!("{HEAD}{a}{other}");
            assert!(
                slice(&text, path(), Detail::Full, &["A"]).is_none(),
                "{other}"
            );
            let sliced =
                parse_slice(&text, path(), Detail::Full, &["A"]).map_err(|e| e.to_string());
            let full = parse(&text, path(), Detail::Full).map_err(|e| e.to_string());
            assert_eq!(
                sliced.map(|s| described(&s, None)),
                full.map(|s| described(&s, None)),
                "{other}"
            );
        }
        // Inline variables.
        let text = format!(
            "variable = [{{ name = \"A\", kind = \"fixed\", default = \"a\", description = \"d\", services = [\"s\"] }}]\n{HEAD}"
        );
        assert!(slice(&text, path(), Detail::Full, &["A"]).is_none());
        assert_eq!(
            parse_slice(&text, path(), Detail::Full, &["A"])
                .unwrap()
                .variables()
                .len(),
            1
        );
    }

    #[test]
    fn a_header_inside_a_multi_line_string_is_text_not_a_variable() {
        let hidden = "[[variable]]\nname = \"B\"\nkind = \"fixed\"\ndefault = \"b\"\ndescription = \"d\"\nservices = [\"s\"]\n";
        for (open, close) in [("\"\"\"", "\"\"\""), ("'''", "'''")] {
            let text = format!(
                "{HEAD}\n[[variable]]\nname = \"A\"\nkind = \"fixed\"\ndefault = \"a\"\nservices = [\"s\"]\ndescription = {open}\n{hidden}{close}\n"
            );
            let full = parse(&text, path(), Detail::Full).unwrap();
            assert_eq!(full.variables().len(), 1, "{open}");
            // The lexer splits this text: B is not a variable, and A is sliced.
            assert!(!chunks::strings_stay_on_their_lines(&text));
            let b = parse_slice(&text, path(), Detail::Full, &["B"]).unwrap();
            assert!(b.position("B").is_none(), "{open}");
            sliced_like_the_full_parse(&text, &["A"]);
        }
    }

    #[test]
    fn strings_that_close_on_their_line_keep_the_line_scan() {
        for line in [
            "d = '''x'''",
            "d = \"\"\"x\"\"\"",
            "d = \"'''\"",
            "d = 'a\"\"\"b'",
            "# '''",
            "d = \"\"\"\"x\"\"\"\"",
            "d = ''''''",
        ] {
            let text = format!("{line}\nx = 1\n");
            assert!(chunks::strings_stay_on_their_lines(&text), "{line}");
        }
        for line in [
            "d = '''x",
            "d = \"\"\"x",
            "d = \"\"\"x\\\"\"\"",
            "d = [\"'''\", '''",
            "d = '''''",
            "d = \"\"\"x\\",
        ] {
            let text = format!("{line}\nx = 1\n'''\n");
            assert!(!chunks::strings_stay_on_their_lines(&text), "{line}");
        }
    }

    #[test]
    fn an_unknown_name_gives_the_full_schema() {
        let text = format!(
            "{HEAD}{}",
            var("name = \"A\"\nkind = \"fixed\"\ndefault = \"a\"")
        );
        assert!(slice(&text, path(), Detail::Full, &["NOPE"]).is_none());
        assert!(slice(&text, path(), Detail::Full, &["A", "NOPE"]).is_none());
        assert!(slice(&text, path(), Detail::Full, &[]).is_none());
        assert_eq!(
            parse_slice(&text, path(), Detail::Full, &[])
                .unwrap()
                .variables()
                .len(),
            1
        );
        let schema = parse_slice(&text, path(), Detail::Full, &["NOPE"]).unwrap();
        assert!(schema.require("NOPE").is_err());
        assert_eq!(schema.variables().len(), 1);
    }

    /// Pieces of a schema, most valid, some not, some referring to others.
    fn piece() -> impl proptest::strategy::Strategy<Value = String> {
        use proptest::prelude::*;
        let name = proptest::sample::select(vec!["A", "B", "C", "D", "LD_PRELOAD"]);
        (name.clone(), name, 0..9usize).prop_map(|(n, other, shape)| match shape {
            0 => var(&format!("name = \"{n}\"\nkind = \"secret\"\nencoding = \"hex\"\nbytes = 16")),
            1 => var(&format!("name = \"{n}\"\nkind = \"secret\"\nencoding = \"hex\"\nbytes = 2")),
            2 => var(&format!("name = \"{n}\"\nkind = \"derived\"\ntemplate = \"${{{other}}}\"")),
            3 => var(&format!("name = \"{n}\"\nkind = \"fixed\"\ndefault = \"x\"")),
            4 => var(&format!("name = \"{n}\"\nkind = \"jwt\"\nsecret = \"{other}\"")),
            5 => var(&format!("kind = \"fixed\"\nname = \"{n}\"\ndefault = \"x\"")),
            6 => format!("[profile.p]\n{n} = \"y\"\n"),
            7 => format!("\n[[variable]]\nname = \"{n}\"\nkind = \"fixed\"\ndefault = \"x\"\nservices = [\"s\"]\ndescription = '''\n[[variable]]\nname = \"{other}\"\n'''\n"),
            _ => var(&format!("name = \"{n}\"\nkind = \"fixed\"\ndefault = \"x\"\nallow_dangerous_name = true")),
        })
    }

    /// What the properties check: whenever the full parse succeeds, the slice (taken or not)
    /// holds what it holds for `wanted`, or the whole schema; when both fail, with the same
    /// error; when only the slice succeeds, it reads `wanted` and the full parse's error is
    /// about none of its variables.
    fn agrees(
        text: &str,
        wanted: &[&str],
        full: &Result<Schema>,
        sliced: &Result<Schema>,
    ) -> std::result::Result<(), proptest::test_runner::TestCaseError> {
        match (full, sliced) {
            (Ok(full), Ok(sliced)) => {
                let got = described(sliced, None);
                let whole = described(full, None);
                match wanted
                    .iter()
                    .map(|n| full.position(n))
                    .collect::<Option<Vec<_>>>()
                {
                    Some(indices) => proptest::prop_assert!(
                        got == described(full, Some(&reads(full, &indices))) || got == whole,
                        "{text:?}"
                    ),
                    None => proptest::prop_assert_eq!(got, whole, "{:?}", text),
                }
            }
            (Ok(_), Err(e)) => proptest::prop_assert!(false, "the slice failed: {e} {text:?}"),
            (Err(full), Err(sliced)) => {
                proptest::prop_assert_eq!(full.to_string(), sliced.to_string())
            }
            (Err(full), Ok(sliced)) => {
                let message = full.to_string();
                for v in sliced.variables() {
                    let about = format!("variable {}:", v.name);
                    proptest::prop_assert!(!message.contains(&about), "{message} {text:?}");
                }
                for name in wanted {
                    proptest::prop_assert!(sliced.position(name).is_some());
                }
            }
        }
        Ok(())
    }

    proptest::proptest! {
        /// See [`agrees`]; on plain text (names first, no multi-line strings, no dangerous
        /// names) the slice is taken whenever the full parse finds the name.
        #[test]
        fn slices_agree_with_the_full_parse(
            pieces in proptest::collection::vec(piece(), 0..6),
            wanted in proptest::collection::vec(proptest::sample::select(vec!["A", "B", "C", "D", "LD_PRELOAD"]), 1..=3),
        ) {
            let text = format!("{HEAD}{}", pieces.concat());
            let full = parse(&text, path(), Detail::Full);
            let sliced = parse_slice(&text, path(), Detail::Full, &wanted);
            // Plain text: names first, no multi-line strings, no dangerous names.
            let plain = !text.contains("\"fixed\"\nname") && !text.contains("'''") && !text.contains("LD_");
            if plain && full.as_ref().is_ok_and(|f| wanted.iter().all(|n| f.position(n).is_some())) {
                proptest::prop_assert!(slice(&text, path(), Detail::Full, &wanted).is_some());
            }
            agrees(&text, &wanted, &full, &sliced)?;
        }
    }

    /// Rougher pieces: strings of every quoting opened and closed anywhere, headers in other
    /// spellings, stray tables, multi-line inline tables, comments before the name.
    fn rough_piece() -> impl proptest::strategy::Strategy<Value = String> {
        use proptest::prelude::*;
        let name = proptest::sample::select(vec!["A", "B", "C", "D"]);
        let q = proptest::sample::select(vec!["\"\"\"", "'''", "\"", "'"]);
        (name.clone(), name, 0..22usize, q.clone(), q).prop_map(|(n, o, shape, q1, q2)| match shape {
            0 => var(&format!("name = \"{n}\"\nkind = \"secret\"\nencoding = \"hex\"\nbytes = 16")),
            1 => var(&format!("name = \"{n}\"\nkind = \"derived\"\ntemplate = \"${{{o}}}\"")),
            2 => var(&format!("name = \"{n}\"\nkind = \"fixed\"\ndefault = \"x\"")),
            3 => var(&format!("name = \"{n}\"\nkind = \"jwt\"\nsecret = \"{o}\"")),
            4 => format!("[profile.p]\n{n} = \"y\"\n"),
            5 => format!("\n[[variable]]\nname = \"{n}\"\nkind = \"fixed\"\ndefault = \"x\"\nservices = [\"s\"]\ndescription = {q1}\n[[variable]]\nname = \"{o}\"\n{q2}\n"),
            6 => format!("\n[[variable]]\nname = \"{n}\"\nkind = \"fixed\"\ndefault = \"x\"\nservices = [\"s\"]\ndescription = {q1}d{q2}\n"),
            7 => format!("description = {q1}\n"),
            8 => format!("x = {q2}\n[[variable]]\n"),
            9 => "[schema]\nname = \"t\"\n".to_string(),
            10 => "# [[variable]]\n".to_string(),
            11 => format!("\n[[variable]]\nname = \"{n}\"\nkind = \"secret\"\nencoding = \"hex\"\nbytes = 16\ndescription = \"d\"\nservices = [\"s\"]\n[variable.rotation]\nimpact = \"free\"\n"),
            12 => "[variable.rotation]\nimpact = \"free\"\n".to_string(),
            13 => format!("\n[[ variable ]]\nname = \"{n}\"\nkind = \"fixed\"\ndefault = \"x\"\ndescription = \"d\"\nservices = [\"s\"]\n"),
            14 => format!("\n[[variable]]\n# c\n\nname = '{n}' # c\nkind = \"fixed\"\ndefault = \"x\"\ndescription = \"d\"\nservices = [\"s\"]\n"),
            15 => format!("\n[[variable]]\nname = \"{n}\"\nkind = \"fixed\"\ndefault = \"x\"\nservices = [\n\"s\",\n]\ndescription = \"\"\"a\\\n\"\"\"\n"),
            16 => "[profile.q]\n".to_string(),
            17 => format!("claims = {{\n{n} = 1,\n}}\n"),
            18 => format!("\n[[variable]]\nname = \"{n}\"\nkind = \"jwt\"\nsecret = \"{o}\"\ndescription = \"d\"\nservices = [\"s\"]\nclaims = {{\n  role = {q1}anon{q1},\n}}\n"),
            19 => format!("\n[[\"variable\"]]\nname = \"{n}\"\nkind = \"fixed\"\ndefault = \"x\"\ndescription = \"d\"\nservices = [\"s\"]\n"),
            20 => format!("{q1}{q2}\n"),
            _ => format!("\n[[variable]]\nname = \"{n}\"\nkind = \"fixed\"\ndefault = {q1}x\n{q1}\ndescription = \"d\"\nservices = [\"s\"]\n"),
        })
    }

    proptest::proptest! {
        /// The same agreement on rougher text, CRLF and a missing or late `[schema]` included;
        /// where only the slice succeeds, the full parse's error is about no variable of it.
        #[test]
        fn slices_agree_with_the_full_parse_on_rough_text(
            head_first in proptest::bool::ANY,
            crlf in proptest::bool::ANY,
            pieces in proptest::collection::vec(rough_piece(), 0..7),
            wanted in proptest::collection::vec(proptest::sample::select(vec!["A", "B", "C", "D"]), 1..=3),
        ) {
            let mut text = if head_first { format!("{HEAD}{}", pieces.concat()) } else { pieces.concat() };
            if crlf { text = text.replace('\n', "\r\n"); }
            let full = parse(&text, path(), Detail::Full);
            let sliced = parse_slice(&text, path(), Detail::Full, &wanted);
            agrees(&text, &wanted, &full, &sliced)?;
        }
    }

    proptest::proptest! {
        #[test]
        fn slicing_never_panics(
            fragments in proptest::collection::vec(proptest::sample::select(vec![
                "\"\"\"", "'''", "\"", "'", "\\", "é", "A", " ", "=", "#", "[", "]", "[[variable]]", "name = \"A\"", "\n", "\r\n", "\r", "\u{feff}", "[variable.x]", "kind", "[schema]",
            ]), 0..60),
            wanted in proptest::sample::subsequence(vec!["A", "", "é"], 0..=2),
        ) {
            let text = fragments.concat();
            let _ = chunks::strings_stay_on_their_lines(&text);
            for c in chunks::split(&text) { let _ = chunks::peek_name(&text[c.range]); }
            let _ = slice(&text, path(), Detail::Full, &wanted);
            let _ = parse_slice(&text, path(), Detail::Values, &wanted);
        }
    }

    /// A byte order mark, tables after the variables, CRLF, and headers inside `""""` and
    /// `'''` strings.
    #[test]
    fn odd_texts_are_sliced_like_the_full_parse() {
        let a = var("name = \"A\"\nkind = \"secret\"\nencoding = \"hex\"\nbytes = 16");
        let b = "\n[[variable]]\nname = \"B\"\nkind = \"derived\"\ntemplate = \"${A}\"\ndescription = \"\"\"\"x\n[[variable]]\nname = \"A\"\n\"\"\"\"\"\nservices = [\"s\"]\n";
        let cases = [
            format!("\u{feff}{HEAD}{a}{b}"),
            format!("{a}{b}\n[profile.p]\n[schema]\nname = \"t\"\n"),
            format!("{HEAD}{a}{b}").replace('\n', "\r\n"),
            format!(
                "{HEAD}{a}\n[[variable]]\nname = \"C\"\nkind = \"fixed\"\ndefault = '''x\n[[variable]]'''\nmultiline = true\ndescription = \"d\"\nservices = [\"s\"]\n{b}"
            ),
        ];
        for text in &cases {
            for name in ["A", "B"] {
                sliced_like_the_full_parse(text, &[name]);
            }
        }
    }
}
