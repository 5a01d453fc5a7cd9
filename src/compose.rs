//! Variable references in docker compose files, found the way compose interpolates them.
//!
//! The file is parsed as YAML (yaml-rust2), so a `${X}` in a comment is not a reference and
//! each reference is reported with the line of the scalar that holds it. Inside a scalar,
//! compose's syntax applies: `$$` is a literal `$`; `$NAME` and `${NAME}` need NAME,
//! as do `${NAME:?msg}` and `${NAME?msg}`; `${NAME:-default}`, `${NAME-default}`,
//! `${NAME:+alt}` and `${NAME+alt}` work without it. References nested in a default count too.
//!
//! [`parse_tree`] gives the file's structure as well (services, images, `environment:`,
//! `env_file:`), each node with its line, anchors and aliases resolved, for
//! `schema from-compose`.

use std::path::Path;

use yaml_rust2::parser::{Event, MarkedEventReceiver, Parser};
use yaml_rust2::scanner::{Marker, TScalarStyle};

use crate::error::{Error, Result};

/// Whether compose needs the variable to be set.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Need {
    /// Without a value compose substitutes an empty string.
    Required,
    /// `${X:?message}` or `${X?message}`: without a value compose stops with the message.
    Mandatory,
    /// The reference carries a default or an alternative.
    Defaulted,
}

/// One reference to a variable in a compose file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Reference {
    /// The variable.
    pub name: String,
    /// The 1-based line of the reference.
    pub line: usize,
    /// Whether compose needs the variable.
    pub need: Need,
}

fn is_name_start(b: u8) -> bool {
    b.is_ascii_alphabetic() || b == b'_'
}

fn name_len(bytes: &[u8]) -> usize {
    if bytes.first().is_some_and(|&b| is_name_start(b)) {
        bytes
            .iter()
            .take_while(|b| b.is_ascii_alphanumeric() || **b == b'_')
            .count()
    } else {
        0
    }
}

/// The references in one interpolated string: `(name, byte offset of the $, need)`.
pub fn references(text: &str) -> Vec<(String, usize, Need)> {
    let bytes = text.as_bytes();
    let mut found = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] != b'$' {
            i += 1;
            continue;
        }
        match bytes.get(i + 1) {
            Some(b'$') => i += 2,
            Some(b'{') => {
                let len = name_len(&bytes[i + 2..]);
                if len == 0 {
                    i += 2;
                    continue;
                }
                let after = &text[i + 2 + len..];
                let need = if [":-", "-", ":+", "+"]
                    .iter()
                    .any(|op| after.starts_with(op))
                {
                    Need::Defaulted
                } else if after.starts_with(":?") || after.starts_with('?') {
                    Need::Mandatory
                } else {
                    Need::Required
                };
                found.push((text[i + 2..i + 2 + len].to_string(), i, need));
                // Go on right after the name, so references inside a default are found too.
                i += 2 + len;
            }
            Some(&b) if is_name_start(b) => {
                let len = name_len(&bytes[i + 1..]);
                found.push((text[i + 1..i + 1 + len].to_string(), i, Need::Required));
                i += 1 + len;
            }
            _ => i += 1,
        }
    }
    found
}

/// Collects references from every scalar of a YAML document.
struct Collector {
    found: Vec<Reference>,
}

impl MarkedEventReceiver for Collector {
    fn on_event(&mut self, event: Event, mark: Marker) {
        let Event::Scalar(value, style, _, _) = event else {
            return;
        };
        for (name, offset, need) in references(&value) {
            // The mark is where the scalar's text starts (for a block scalar, its first
            // content line, past the blank lines the value keeps as leading `\n`s); a literal
            // block keeps its line breaks, so count those after the first content line.
            let newlines = match style {
                TScalarStyle::Literal => {
                    let leading = value.len() - value.trim_start_matches('\n').len();
                    value[..offset]
                        .matches('\n')
                        .count()
                        .saturating_sub(leading)
                }
                _ => 0,
            };
            let line = mark.line() + newlines;
            self.found.push(Reference { name, line, need });
        }
    }
}

/// Every variable reference in the compose file at `path`.
pub fn scan(path: &Path) -> Result<Vec<Reference>> {
    let bytes = crate::files::read_capped(path, crate::files::limits::COMPOSE)
        .map_err(|e| Error::io("read", path, e))?;
    let text = std::str::from_utf8(&bytes).map_err(|_| Error::ComposeSyntax {
        path: path.to_path_buf(),
        line: 1,
        message: "not UTF-8 text".into(),
    })?;
    scan_text(text, path)
}

/// Every variable reference in compose file text read from `path` (named in errors).
pub fn scan_text(text: &str, path: &Path) -> Result<Vec<Reference>> {
    let mut collector = Collector { found: Vec::new() };
    Parser::new_from_str(text)
        .load(&mut collector, true)
        .map_err(|e| Error::ComposeSyntax {
            path: path.to_path_buf(),
            line: e.marker().line(),
            message: e.info().to_string(),
        })?;
    Ok(collector.found)
}

/// A YAML node of a compose file with the 1-based line where it starts. Aliases are resolved
/// into copies of their anchor (whose line they keep); a merge key `<<` stays a key.
#[derive(Clone, Debug, PartialEq)]
pub struct Node {
    /// The 1-based line.
    pub line: usize,
    /// What the node holds.
    pub value: Tree,
}

/// The shape of a [`Node`].
#[derive(Clone, Debug, PartialEq)]
pub enum Tree {
    /// `~`, `null` or nothing.
    Null,
    /// Any scalar, as text.
    Scalar(String),
    /// A sequence.
    Seq(Vec<Node>),
    /// A mapping, in file order.
    Map(Vec<(Node, Node)>),
}

impl Node {
    /// The text of a scalar.
    pub fn as_str(&self) -> Option<&str> {
        match &self.value {
            Tree::Scalar(s) => Some(s),
            _ => None,
        }
    }

    /// The value of `key` in a mapping (merge keys `<<` included, explicit keys first).
    pub fn get(&self, key: &str) -> Option<&Node> {
        self.entries()
            .into_iter()
            .find(|(k, _)| *k == key)
            .map(|(_, v)| v)
    }

    /// A mapping's entries with string keys, the entries of `<<` merges after the explicit ones
    /// (as YAML's merge key gives explicit keys precedence).
    pub fn entries(&self) -> Vec<(&str, &Node)> {
        let Tree::Map(pairs) = &self.value else {
            return Vec::new();
        };
        let mut out: Vec<(&str, &Node)> = pairs
            .iter()
            .filter_map(|(k, v)| k.as_str().filter(|k| *k != "<<").map(|k| (k, v)))
            .collect();
        for (k, v) in pairs {
            if k.as_str() == Some("<<") {
                let merged: Vec<&Node> = match &v.value {
                    Tree::Seq(items) => items.iter().collect(),
                    _ => vec![v],
                };
                for m in merged {
                    for (mk, mv) in m.entries() {
                        if !out.iter().any(|(k, _)| *k == mk) {
                            out.push((mk, mv));
                        }
                    }
                }
            }
        }
        out
    }
}

/// Largest number of nodes a compose file may expand to (aliases included): a guard against
/// alias bombs ("billion laughs").
const MAX_NODES: usize = 200_000;

enum Frame {
    Seq(usize, usize, Vec<Node>),
    Map(usize, usize, Vec<(Node, Node)>, Option<Node>),
}

#[derive(Default)]
struct TreeBuilder {
    stack: Vec<Frame>,
    anchors: std::collections::HashMap<usize, Node>,
    root: Option<Node>,
    nodes: usize,
    too_big: bool,
}

fn size(node: &Node) -> usize {
    1 + match &node.value {
        Tree::Seq(items) => items.iter().map(size).sum(),
        Tree::Map(pairs) => pairs.iter().map(|(k, v)| size(k) + size(v)).sum(),
        _ => 0,
    }
}

impl TreeBuilder {
    fn push(&mut self, node: Node, anchor: usize) {
        if anchor > 0 {
            self.anchors.insert(anchor, node.clone());
        }
        match self.stack.last_mut() {
            None => {
                if self.root.is_none() {
                    self.root = Some(node);
                }
            }
            Some(Frame::Seq(_, _, items)) => items.push(node),
            Some(Frame::Map(_, _, pairs, key)) => match key.take() {
                None => *key = Some(node),
                // An empty value is marked where the next token starts: give it its key's line.
                Some(k) if node.value == Tree::Null => {
                    let line = k.line;
                    pairs.push((
                        k,
                        Node {
                            line,
                            value: Tree::Null,
                        },
                    ));
                }
                Some(k) => pairs.push((k, node)),
            },
        }
    }
}

impl MarkedEventReceiver for TreeBuilder {
    fn on_event(&mut self, event: Event, mark: Marker) {
        if self.too_big {
            return;
        }
        self.nodes += 1;
        let line = mark.line();
        match event {
            Event::Scalar(value, style, anchor, _) => {
                let null = style == TScalarStyle::Plain
                    && matches!(value.as_str(), "~" | "null" | "Null" | "NULL" | "");
                let value = if null {
                    Tree::Null
                } else {
                    Tree::Scalar(value)
                };
                self.push(Node { line, value }, anchor);
            }
            Event::SequenceStart(anchor, _) => {
                self.stack.push(Frame::Seq(anchor, line, Vec::new()))
            }
            Event::MappingStart(anchor, _) => {
                self.stack.push(Frame::Map(anchor, line, Vec::new(), None))
            }
            Event::SequenceEnd | Event::MappingEnd => {
                let (anchor, node) = match self.stack.pop() {
                    Some(Frame::Seq(anchor, line, items)) => (
                        anchor,
                        Node {
                            line,
                            value: Tree::Seq(items),
                        },
                    ),
                    Some(Frame::Map(anchor, line, pairs, _)) => (
                        anchor,
                        Node {
                            line,
                            value: Tree::Map(pairs),
                        },
                    ),
                    None => return,
                };
                self.push(node, anchor);
            }
            Event::Alias(id) => {
                let node = self.anchors.get(&id).cloned().unwrap_or(Node {
                    line,
                    value: Tree::Null,
                });
                self.nodes += size(&node);
                if self.nodes > MAX_NODES {
                    self.too_big = true;
                    return;
                }
                self.push(node, 0);
            }
            _ => {}
        }
        if self.nodes > MAX_NODES {
            self.too_big = true;
        }
    }
}

/// The structure of a compose file's text (its first document); errors are
/// [`Error::ComposeSyntax`] naming `path`.
pub fn parse_tree(text: &str, path: &Path) -> Result<Node> {
    let mut builder = TreeBuilder::default();
    let error = |line, message: String| Error::ComposeSyntax {
        path: path.to_path_buf(),
        line,
        message,
    };
    Parser::new_from_str(text)
        .load(&mut builder, false)
        .map_err(|e| error(e.marker().line(), e.info().to_string()))?;
    if builder.too_big {
        return Err(error(
            1,
            format!("it expands to more than {MAX_NODES} nodes (aliases)"),
        ));
    }
    Ok(builder.root.unwrap_or(Node {
        line: 1,
        value: Tree::Null,
    }))
}

/// One service of a compose file, as the delivery commands need it (`--apply`,
/// `compose secrets`, `--owner-from`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Service {
    /// The service's name.
    pub name: String,
    /// Its `image:`, if any.
    pub image: Option<String>,
    /// Its `user:`, if any (`UID`, `UID:GID`, or names).
    pub user: Option<String>,
    /// Every variable referenced anywhere in its definition, sorted, each once.
    pub references: Vec<String>,
    /// Its `environment:` (mapping or `KEY=VALUE` list), in file order; a key without a
    /// value has an empty one.
    pub environment: Vec<(String, String)>,
}

/// Reads and parses the compose file at `path` ([`parse_tree`]), refusing one whose top level
/// or `services:` is not a mapping.
pub fn read_tree(path: &Path) -> Result<Node> {
    let bytes = crate::files::read_capped(path, crate::files::limits::COMPOSE).map_err(|e| {
        Error::ComposeUnreadable {
            path: path.to_path_buf(),
            source: e,
        }
    })?;
    let text = std::str::from_utf8(&bytes).map_err(|_| Error::ComposeSyntax {
        path: path.to_path_buf(),
        line: 1,
        message: "not UTF-8 text".into(),
    })?;
    let root = parse_tree(text, path)?;
    let services = root.get("services");
    if !matches!(root.value, Tree::Map(_))
        || services.is_some_and(|s| !matches!(s.value, Tree::Map(_) | Tree::Null))
    {
        return Err(Error::NotCompose {
            path: path.to_path_buf(),
            line: services.map_or(root.line, |s| s.line),
        });
    }
    Ok(root)
}

/// The services of a parsed compose file, in file order.
pub fn services(root: &Node) -> Vec<Service> {
    let Some(services) = root.get("services") else {
        return Vec::new();
    };
    services
        .entries()
        .into_iter()
        .map(|(name, node)| {
            let mut references = Vec::new();
            collect_references(node, &mut references);
            references.sort();
            references.dedup();
            let scalar = |key: &str| node.get(key).and_then(Node::as_str).map(str::to_string);
            let environment = match node.get("environment").map(|e| &e.value) {
                Some(Tree::Map(_)) => node
                    .get("environment")
                    .map(Node::entries)
                    .unwrap_or_default()
                    .into_iter()
                    .map(|(k, v)| (k.to_string(), v.as_str().unwrap_or_default().to_string()))
                    .collect(),
                Some(Tree::Seq(items)) => items
                    .iter()
                    .filter_map(Node::as_str)
                    .map(|item| match item.split_once('=') {
                        Some((k, v)) => (k.to_string(), v.to_string()),
                        None => (item.to_string(), String::new()),
                    })
                    .collect(),
                _ => Vec::new(),
            };
            Service {
                name: name.to_string(),
                image: scalar("image"),
                user: scalar("user"),
                references,
                environment,
            }
        })
        .collect()
}

fn collect_references(node: &Node, found: &mut Vec<String>) {
    match &node.value {
        Tree::Scalar(text) => found.extend(references(text).into_iter().map(|(n, _, _)| n)),
        Tree::Seq(items) => items.iter().for_each(|n| collect_references(n, found)),
        Tree::Map(pairs) => pairs.iter().for_each(|(k, v)| {
            collect_references(k, found);
            collect_references(v, found);
        }),
        Tree::Null => {}
    }
}

/// The variable a whole value refers to, when the value is exactly one reference (`${NAME}`
/// or `$NAME`, without default): the value compose passes is then the variable's own.
pub fn sole_reference(value: &str) -> Option<&str> {
    let name = value
        .strip_prefix("${")
        .and_then(|v| v.strip_suffix('}'))
        .or_else(|| value.strip_prefix('$'))?;
    (name_len(name.as_bytes()) == name.len() && !name.is_empty()).then_some(name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn services_list_their_references_user_and_environment() {
        let text = "x-env: &env\n  SHARED: ${SHARED_KEY}\nservices:\n  db:\n    image: postgres:16\n    user: \"999:999\"\n    environment:\n      POSTGRES_PASSWORD: ${PG_PASS}\n      <<: *env\n  web:\n    image: app\n    command: run --db ${DATABASE_URL:-x}\n    environment:\n      - A=$$LITERAL\n      - B=$B_VAR\n";
        let root = parse_tree(text, Path::new("c.yml")).unwrap();
        let found = services(&root);
        assert_eq!(found[0].name, "db");
        assert_eq!(found[0].user.as_deref(), Some("999:999"));
        assert_eq!(found[0].references, ["PG_PASS", "SHARED_KEY"]);
        assert_eq!(found[1].references, ["B_VAR", "DATABASE_URL"]);
        assert_eq!(
            found[1].environment,
            [
                ("A".into(), "$$LITERAL".into()),
                ("B".into(), "$B_VAR".into())
            ]
        );
        assert_eq!(sole_reference("${X_1}"), Some("X_1"));
        assert_eq!(sole_reference("$X"), Some("X"));
        assert_eq!(sole_reference("${X:-d}"), None);
        assert_eq!(sole_reference("a${X}"), None);
    }

    #[test]
    fn the_tree_keeps_lines_resolves_aliases_and_merges() {
        let text = "x-db: &db\n  USER: app\n  PASS: &pw secret\nservices:\n  web:\n    image: nginx:1\n    environment:\n      <<: *db\n      PASS: other\n      EMPTY:\n      COPY: *pw\n";
        let root = parse_tree(text, Path::new("c.yml")).unwrap();
        let env = root
            .get("services")
            .unwrap()
            .get("web")
            .unwrap()
            .get("environment")
            .unwrap();
        let entries: Vec<(&str, Option<&str>, usize)> = env
            .entries()
            .into_iter()
            .map(|(k, v)| (k, v.as_str(), v.line))
            .collect();
        assert_eq!(
            entries,
            [
                ("PASS", Some("other"), 9),
                ("EMPTY", None, 10),
                ("COPY", Some("secret"), 3),
                ("USER", Some("app"), 2),
            ]
        );
        assert_eq!(
            root.get("services")
                .unwrap()
                .get("web")
                .unwrap()
                .get("image")
                .unwrap()
                .line,
            6
        );
        let bomb = "a: &a [x, x, x, x, x, x, x, x, x, x]\nb: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a, *a]\nc: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b, *b]\nd: &d [*c, *c, *c, *c, *c, *c, *c, *c, *c, *c]\ne: &e [*d, *d, *d, *d, *d, *d, *d, *d, *d, *d]\nf: [*e, *e, *e, *e, *e, *e, *e, *e, *e, *e]\n";
        assert!(matches!(
            parse_tree(bomb, Path::new("c.yml")),
            Err(Error::ComposeSyntax { .. })
        ));
    }

    fn names(text: &str) -> Vec<(String, Need)> {
        references(text)
            .into_iter()
            .map(|(n, _, need)| (n, need))
            .collect()
    }

    #[test]
    fn every_reference_form_of_compose() {
        use Need::*;
        let r = |n: &str, need| (n.to_string(), need);
        assert_eq!(names("${A}"), [r("A", Required)]);
        assert_eq!(names("$B/x"), [r("B", Required)]);
        assert_eq!(names("${C:?set C}"), [r("C", Mandatory)]);
        assert_eq!(names("${D?}"), [r("D", Mandatory)]);
        assert_eq!(
            names("${E:-x}${F-y}${G:+z}${H+w}"),
            [
                r("E", Defaulted),
                r("F", Defaulted),
                r("G", Defaulted),
                r("H", Defaulted)
            ]
        );
        assert_eq!(names("${I:-${J}}"), [r("I", Defaulted), r("J", Required)]);
        assert_eq!(names("$$K $${L} $$$M"), [r("M", Required)]);
        assert_eq!(names("cost: 5$ ${ } $1 ${9}"), []);
        assert_eq!(
            names("postgresql://${POSTGRES_USER}:${POSTGRES_PASSWORD}@db"),
            [
                r("POSTGRES_USER", Required),
                r("POSTGRES_PASSWORD", Required)
            ]
        );
    }

    /// Found by the compose fuzz target: the YAML scanner marks a block scalar at its first
    /// content line, past the blank lines the value keeps as leading `\n`s, so counting those
    /// again put the reference below where it is (past the end of the file here).
    #[test]
    fn a_literal_block_starting_with_blank_lines_keeps_its_lines() {
        let text = "c: |\n\n\n  ${AFTER_BLANKS}\n  $NEXT\nd: |+\n\n  $KEPT\n";
        let found = scan_text(text, Path::new("compose.yml")).unwrap();
        let lines: Vec<(&str, usize)> = found.iter().map(|r| (r.name.as_str(), r.line)).collect();
        assert_eq!(lines, [("AFTER_BLANKS", 4), ("NEXT", 5), ("KEPT", 8)]);
    }

    #[test]
    fn scanning_a_compose_file_skips_comments_and_keeps_lines() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("compose.yml");
        std::fs::write(
            &path,
            "services:\n  db:\n    # ${IN_A_COMMENT}\n    environment:\n      PASSWORD: ${DB_PASSWORD}\n      URL: \"postgres://$${NOT}:${DB_PASSWORD:-x}@db\"\n    command: |\n      run\n      --pass $REDIS_PASSWORD\n",
        )
        .unwrap();
        let found = scan(&path).unwrap();
        let summary: Vec<(&str, usize, Need)> = found
            .iter()
            .map(|r| (r.name.as_str(), r.line, r.need))
            .collect();
        assert_eq!(
            summary,
            [
                ("DB_PASSWORD", 5, Need::Required),
                ("DB_PASSWORD", 6, Need::Defaulted),
                ("REDIS_PASSWORD", 9, Need::Required)
            ]
        );
        std::fs::write(&path, "services: [\n").unwrap();
        assert!(matches!(scan(&path), Err(Error::ComposeSyntax { .. })));
    }
}
