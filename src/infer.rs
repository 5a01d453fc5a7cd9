//! `schema from-compose`: a schema inferred from compose files, their `.env` example and the
//! [`catalogue`](crate::catalogue).
//!
//! Every variable a compose file uses ends up in the schema: `${VAR}` anywhere in the file
//! (through [`compose::references`], the same reading as `check --compose`), names passed
//! through under `environment:`, the assignments of `env_file:` files and of the `.env`
//! example. A service whose image the catalogue knows gets the catalogue's exact format for
//! each variable it reads, with the source; a variable read by several services gets the
//! strictest combination, or an error naming the conflict. Everything else is guessed from
//! the name and the example value and written `verified = false`: a guess is never presented
//! as a requirement. Values of the compose file and the example are read to classify them and
//! to keep settings' defaults; a credential found written as a literal is reported by file,
//! line and key, never quoted.

use std::collections::{BTreeSet, HashMap};
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use secrecy::ExposeSecret;
use zeroize::Zeroizing;

use crate::catalogue::{Catalogue, Encoding, Entry, EntryKind, Impact, Service};
use crate::compose::{self, Node, Tree};
use crate::dotenv;
use crate::error::{Error, Result};
use crate::generate::ALNUM;

/// A file given to `from-compose`: its path (for messages and relative `env_file:` paths) and
/// its text.
pub struct Input {
    /// Where it was read.
    pub path: PathBuf,
    /// Its text.
    pub text: String,
}

/// What `from-compose` works on.
pub struct Request<'a> {
    /// The compose files, in the order compose merges them.
    pub compose: Vec<Input>,
    /// The `.env` example, if any.
    pub env_example: Option<Input>,
    /// The schema's name.
    pub name: String,
    /// Reads a file named by `env_file:` (`None` when it cannot be read).
    pub read: &'a dyn Fn(&Path) -> Option<String>,
}

/// A credential written as a literal in a compose file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Literal {
    /// The compose file.
    pub file: PathBuf,
    /// The line of the value.
    pub line: usize,
    /// The service.
    pub service: String,
    /// The environment key.
    pub key: String,
    /// What to write instead (`KEY: ${VAR}`), never the literal.
    pub suggestion: String,
}

/// What `from-compose` found, for the summary on stderr. Names only, never values.
#[derive(Clone, Debug, Default)]
pub struct Report {
    /// Each service: name, image, and the catalogue entry its image matched.
    pub services: Vec<(String, String, Option<String>)>,
    /// Secrets generated in a format the catalogue verified.
    pub generated: Vec<String>,
    /// Values the operator must provide.
    pub inputs: Vec<String>,
    /// Formats guessed from a name or a value shape (`verified = false`).
    pub unverified: Vec<String>,
    /// Settings with no value in the example or the compose file.
    pub unset: Vec<String>,
    /// Derived values (URLs with a password).
    pub derived: Vec<String>,
    /// Credentials written as literals.
    pub literals: Vec<Literal>,
    /// Other remarks (an `env_file` not found...).
    pub notes: Vec<String>,
    /// Number of variables written.
    pub variables: usize,
}

/// The inferred schema and the report.
pub struct Outcome {
    /// The schema's TOML text.
    pub schema: String,
    /// What was found.
    pub report: Report,
}

/// A catalogue requirement on a variable and where it applies.
#[derive(Clone)]
struct Req {
    id: String,
    service_name: String,
    entry: Entry,
    /// `catalogue/ID.toml NAME`, for messages.
    at: String,
}

#[derive(Clone)]
struct Var {
    name: String,
    group: usize,
    order: (u8, usize),
    origins: Vec<String>,
    services: Vec<String>,
    reqs: Vec<Req>,
    example: Option<Zeroizing<String>>,
    compose_default: Option<String>,
    notes: Vec<String>,
    derived: Option<String>,
    /// A literal credential of the compose file stands for it.
    from_literal: bool,
    in_url: bool,
}

/// A credential literal seen in an `environment:` entry.
struct Seen {
    file: PathBuf,
    line: usize,
    service: String,
    group: usize,
    key: String,
    value: Zeroizing<String>,
    req: Option<Req>,
}

#[derive(Default)]
struct State {
    vars: Vec<Var>,
    index: HashMap<String, usize>,
    seq: usize,
    report: Report,
}

const NO_SERVICE: usize = usize::MAX;

impl State {
    fn var(&mut self, name: &str, service: Option<&str>, group: usize, origin: String) -> &mut Var {
        self.seq += 1;
        let seq = self.seq;
        let i = match self.index.get(name) {
            Some(&i) => i,
            None => {
                self.index.insert(name.to_string(), self.vars.len());
                self.vars.push(Var {
                    name: name.to_string(),
                    group,
                    order: (1, seq),
                    origins: Vec::new(),
                    services: Vec::new(),
                    reqs: Vec::new(),
                    example: None,
                    compose_default: None,
                    notes: Vec::new(),
                    derived: None,
                    from_literal: false,
                    in_url: false,
                });
                self.vars.len() - 1
            }
        };
        let var = &mut self.vars[i];
        if group < var.group {
            var.group = group;
            var.order = (1, seq);
        }
        // One line per place: a detailed origin replaces a bare `file:line` of the same place.
        let place = |o: &str| o.split(' ').next().unwrap_or_default().to_string();
        let here = place(&origin);
        match var.origins.iter().position(|o| place(o) == here) {
            Some(i) if origin.starts_with(var.origins[i].as_str()) => var.origins[i] = origin,
            Some(_) => {}
            None => var.origins.push(origin),
        }
        if let Some(s) = service
            && !var.services.iter().any(|x| x == s)
        {
            var.services.push(s.to_string());
        }
        var
    }
}

fn attach(var: &mut Var, service: &str, group: usize, matched: Option<&Service>, key: &str) {
    let Some(cat) = matched else { return };
    let Some((position, entry)) = cat.variable.iter().enumerate().find(|(_, e)| e.name == key)
    else {
        return;
    };
    if var
        .reqs
        .iter()
        .any(|r| r.id == cat.service.id && r.entry.name == entry.name)
    {
        return;
    }
    if var.group == group {
        var.order = var.order.min((0, position));
    }
    var.reqs.push(Req {
        id: cat.service.id.clone(),
        service_name: service.to_string(),
        entry: entry.clone(),
        at: format!("catalogue/{}.toml {}", cat.service.id, entry.name),
    });
}

/// Every scalar (keys included) of a node, with its line.
fn scalars<'a>(node: &'a Node, out: &mut Vec<(&'a str, usize)>) {
    match &node.value {
        Tree::Scalar(s) => out.push((s, node.line)),
        Tree::Null => {}
        Tree::Seq(items) => items.iter().for_each(|n| scalars(n, out)),
        Tree::Map(pairs) => pairs.iter().for_each(|(k, v)| {
            scalars(k, out);
            scalars(v, out);
        }),
    }
}

/// One compose interpolation in a string: the name, its byte range, and its default.
struct Interp {
    name: String,
    range: std::ops::Range<usize>,
    default: Option<String>,
}

/// compose interpolations with their extent (`${A:-${B}}` is one, covering its default).
fn interpolations(text: &str) -> Vec<Interp> {
    let b = text.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < b.len() {
        if b[i] != b'$' {
            i += 1;
            continue;
        }
        match b.get(i + 1) {
            Some(b'$') => i += 2,
            Some(b'{') => {
                let mut depth = 0;
                let mut end = None;
                for (j, &c) in b.iter().enumerate().skip(i + 1) {
                    match c {
                        b'{' => depth += 1,
                        b'}' => {
                            depth -= 1;
                            if depth == 0 {
                                end = Some(j);
                                break;
                            }
                        }
                        _ => {}
                    }
                }
                let Some(end) = end else { break };
                let inner = &text[i + 2..end];
                let len = inner
                    .bytes()
                    .take_while(|c| c.is_ascii_alphanumeric() || *c == b'_')
                    .count();
                if len > 0 && !inner.as_bytes()[0].is_ascii_digit() {
                    let rest = &inner[len..];
                    let default = rest
                        .strip_prefix(":-")
                        .or_else(|| rest.strip_prefix('-'))
                        .map(String::from);
                    out.push(Interp {
                        name: inner[..len].to_string(),
                        range: i..end + 1,
                        default,
                    });
                }
                i = end + 1;
            }
            Some(c) if c.is_ascii_alphabetic() || *c == b'_' => {
                let len = b[i + 1..]
                    .iter()
                    .take_while(|c| c.is_ascii_alphanumeric() || **c == b'_')
                    .count();
                out.push(Interp {
                    name: text[i + 1..i + 1 + len].to_string(),
                    range: i..i + 1 + len,
                    default: None,
                });
                i += 1 + len;
            }
            _ => i += 1,
        }
    }
    out
}

/// The byte range of a URL's password (`scheme://user:PASSWORD@host`), if it has one.
fn url_password(text: &str) -> Option<std::ops::Range<usize>> {
    let start = text.find("://")? + 3;
    let at = start + text[start..].rfind('@')?;
    let userinfo = &text[start..at];
    if userinfo.contains('/') && !userinfo.contains("${") {
        return None;
    }
    // the user part ends at the first `:` outside an interpolation
    let mut depth = 0;
    for (i, c) in userinfo.char_indices() {
        match c {
            '{' => depth += 1,
            '}' => depth -= 1,
            ':' if depth == 0 => return Some(start + i + 1..at),
            _ => {}
        }
    }
    None
}

/// A guess from a variable's name and example value.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Guess {
    Secret(&'static str),
    Input(&'static str),
    Setting,
}

/// Values an example puts where the operator must choose something secret.
fn is_placeholder(value: &str) -> bool {
    let v = value.trim().to_ascii_lowercase();
    if v.is_empty() || v.contains("://") || v.contains('.') || v.contains('/') {
        return false;
    }
    let words = [
        "change", "replace", "your", "xxx", "todo", "insert", "generate", "strong_", "secret",
        "password", "passw0rd",
    ];
    v.starts_with('<') || words.iter().any(|w| v.contains(w)) || v == "pass" || v == "changeme"
}

fn classify(name: &str, example: Option<&str>) -> Guess {
    let n = name.to_ascii_uppercase();
    let has = |w: &str| n.contains(w);
    let credential = ["PASS", "PWD", "SECRET", "KEY", "TOKEN", "SALT"]
        .iter()
        .any(|w| has(w));
    if n.ends_with("_FILE") || n.ends_with("_PATH") || n.ends_with("_DIR") {
        return Guess::Setting;
    }
    if has("SMTP") || has("MAIL") {
        if credential {
            return Guess::Input("a mail provider's credential");
        }
    } else if has("CLIENT_SECRET") || has("CLIENT_ID") || has("OAUTH") {
        return Guess::Input("an OAuth client credential issued by the provider");
    } else if has("ACCESS_KEY") || ((has("AWS") || has("S3")) && credential) {
        return Guess::Input("an object storage key issued by the provider");
    } else if has("API_KEY") || has("APIKEY") || has("LICENSE_KEY") || has("_DSN") {
        return Guess::Input("a key issued by a third-party service");
    } else if has("VAPID") || has("PEM") || has("CERT") || has("PRIVATE_KEY") {
        return Guess::Input("a key or certificate (not generated from a guess)");
    }
    if credential && !has("KEYS_") && !n.ends_with("_KEY_ID") {
        let why = if has("PASS") || has("PWD") {
            "its name says password"
        } else if has("TOKEN") {
            "its name says token"
        } else if has("SALT") {
            "its name says salt"
        } else if has("SECRET") {
            "its name says secret"
        } else {
            "its name says key"
        };
        return Guess::Secret(why);
    }
    if example.is_some_and(is_placeholder) {
        return Guess::Secret("the example's value is a placeholder");
    }
    Guess::Setting
}

/// A combined secret format.
#[derive(Clone, Debug, PartialEq, Eq)]
struct Spec {
    encoding: Encoding,
    bytes: Option<u32>,
    chars: Option<u32>,
    alphabet: Option<String>,
    count: Option<u32>,
    separator: Option<String>,
    exclude: String,
}

impl Spec {
    fn of(e: &Entry) -> Spec {
        Spec {
            encoding: e.encoding.unwrap_or(Encoding::Alnum),
            bytes: e.bytes,
            chars: e.chars,
            alphabet: e.alphabet.clone(),
            count: e.count,
            separator: e.separator.clone(),
            exclude: e.effective_exclude(),
        }
    }

    fn symbols(&self) -> BTreeSet<u8> {
        let set: BTreeSet<u8> = match self.encoding {
            Encoding::Hex => b"0123456789abcdef".iter().copied().collect(),
            Encoding::Base64 => ALNUM.iter().chain(b"+/=").copied().collect(),
            Encoding::Base64url => ALNUM.iter().chain(b"-_").copied().collect(),
            Encoding::Alnum => ALNUM.iter().copied().collect(),
            Encoding::Alphabet => self
                .alphabet
                .as_deref()
                .unwrap_or_default()
                .bytes()
                .collect(),
            Encoding::Uuid => b"0123456789abcdef-".iter().copied().collect(),
        };
        set.into_iter()
            .filter(|b| !self.exclude.as_bytes().contains(b))
            .collect()
    }

    /// Length of one item in characters.
    fn item_len(&self) -> u32 {
        let bytes = self.bytes.unwrap_or(0);
        match self.encoding {
            Encoding::Hex => bytes * 2,
            Encoding::Base64 => bytes.div_ceil(3) * 4,
            Encoding::Base64url => (bytes * 4).div_ceil(3),
            Encoding::Alnum | Encoding::Alphabet => self.chars.unwrap_or(0),
            Encoding::Uuid => 36,
        }
    }
}

/// How a variable is written.
enum Out {
    Fixed(String),
    Secret {
        hashed: Option<crate::catalogue::Argon2>,
        spec: Spec,
    },
    Input(Option<&'static str>),
    Jwt(Entry),
    Keypair(Entry),
    Derived(String),
}

fn conflict(name: &str, a: &Req, b: &Req, detail: String) -> Error {
    Error::InferConflict {
        name: name.to_string(),
        detail,
        first: format!("{} (service {})", a.at, a.service_name),
        second: format!("{} (service {})", b.at, b.service_name),
    }
}

/// The strictest combination of several catalogue requirements on one variable.
fn combine(name: &str, reqs: &[Req]) -> Result<Out> {
    let first = &reqs[0];
    let kind = |e: &Entry| match e.kind {
        EntryKind::Secret | EntryKind::Hashed => "secret",
        EntryKind::Setting => "setting",
        EntryKind::Input => "input",
        EntryKind::Jwt => "jwt",
        EntryKind::Keypair => "keypair",
    };
    for r in &reqs[1..] {
        if kind(&r.entry) != kind(&first.entry) || (r.entry.kind != first.entry.kind) {
            return Err(conflict(
                name,
                first,
                r,
                format!(
                    "one service needs a {} and another a {}",
                    kind_word(first.entry.kind),
                    kind_word(r.entry.kind)
                ),
            ));
        }
    }
    match first.entry.kind {
        EntryKind::Setting => Ok(Out::Fixed(
            reqs.iter()
                .find_map(|r| r.entry.default.clone())
                .unwrap_or_default(),
        )),
        EntryKind::Input => Ok(Out::Input(
            reqs.iter()
                .find_map(|r| r.entry.value_type.map(|t| t.name())),
        )),
        EntryKind::Jwt | EntryKind::Keypair => {
            for r in &reqs[1..] {
                let same = r.entry.secret == first.entry.secret
                    && r.entry.algorithm == first.entry.algorithm
                    && r.entry.claims == first.entry.claims
                    && r.entry.format == first.entry.format;
                if !same {
                    return Err(conflict(
                        name,
                        first,
                        r,
                        "the two services describe different tokens or keys".into(),
                    ));
                }
            }
            Ok(if first.entry.kind == EntryKind::Jwt {
                Out::Jwt(first.entry.clone())
            } else {
                Out::Keypair(first.entry.clone())
            })
        }
        EntryKind::Secret | EntryKind::Hashed => {
            let hashed = first
                .entry
                .argon2
                .filter(|_| first.entry.kind == EntryKind::Hashed);
            combine_secret(name, reqs).map(|spec| Out::Secret { hashed, spec })
        }
    }
}

fn kind_word(k: EntryKind) -> &'static str {
    match k {
        EntryKind::Secret => "generated secret",
        EntryKind::Hashed => "hashed secret",
        EntryKind::Setting => "setting",
        EntryKind::Input => "value the operator provides",
        EntryKind::Jwt => "jwt",
        EntryKind::Keypair => "key pair",
    }
}

fn combine_secret(name: &str, reqs: &[Req]) -> Result<Spec> {
    let min = reqs
        .iter()
        .filter_map(|r| r.entry.min_chars.map(|m| (m, r)))
        .max_by_key(|(m, _)| *m);
    let max = reqs
        .iter()
        .filter_map(|r| r.entry.max_chars.map(|m| (m, r)))
        .min_by_key(|(m, _)| *m);
    if let (Some((lo, a)), Some((hi, b))) = (min, max)
        && lo > hi
    {
        return Err(conflict(
            name,
            a,
            b,
            format!("one needs at least {lo} characters, the other at most {hi}"),
        ));
    }
    let exclude: BTreeSet<u8> = reqs
        .iter()
        .flat_map(|r| r.entry.exclude.as_deref().unwrap_or_default().bytes())
        .collect();
    let check = |spec: &Spec, by: &Req| -> Result<()> {
        let len = spec.item_len() * spec.count.unwrap_or(1);
        for r in reqs {
            let (lo, hi) = (
                r.entry.min_chars.unwrap_or(0),
                r.entry.max_chars.unwrap_or(u32::MAX),
            );
            let bad_len = len < lo || len > hi;
            let ex = r.entry.exclude.as_deref().unwrap_or_default();
            let bad_char = spec.symbols().iter().any(|b| ex.as_bytes().contains(b));
            if bad_len || bad_char {
                return Err(conflict(
                    name,
                    by,
                    r,
                    format!(
                        "the first requires exactly {} {}, which the second refuses ({})",
                        spec.encoding.name(),
                        spec.bytes.map_or_else(
                            || format!("{} characters", spec.chars.unwrap_or(0)),
                            |b| format!("{b} bytes")
                        ),
                        if bad_len { "length" } else { "characters" }
                    ),
                ));
            }
        }
        Ok(())
    };
    let exact: Vec<&Req> = reqs
        .iter()
        .filter(|r| r.entry.exact == Some(true))
        .collect();
    if let Some(e) = exact.first() {
        let spec = Spec {
            exclude: String::new(),
            ..Spec::of(&e.entry)
        };
        for o in &exact[1..] {
            let other = Spec {
                exclude: String::new(),
                ..Spec::of(&o.entry)
            };
            if other != spec {
                return Err(conflict(
                    name,
                    e,
                    o,
                    "both require an exact format, and the formats differ".into(),
                ));
            }
        }
        check(&spec, e)?;
        return Ok(spec);
    }
    let specs: Vec<Spec> = reqs.iter().map(|r| Spec::of(&r.entry)).collect();
    if let Some(s) = specs.iter().find(|s| s.count.is_some_and(|c| c > 1)) {
        if specs.iter().all(|o| o == s) {
            return Ok(s.clone());
        }
        return Err(conflict(
            name,
            &reqs[0],
            &reqs[1],
            "a list value is combined with another format".into(),
        ));
    }
    let lo = min.map_or(1, |(m, _)| m);
    let hi = max.map_or(u32::MAX, |(m, _)| m);
    // Same encoding everywhere: keep it, at the longest length that fits.
    let first = &specs[0];
    if specs
        .iter()
        .all(|s| s.encoding == first.encoding && s.alphabet == first.alphabet)
    {
        let mut spec = specs
            .iter()
            .max_by_key(|s| s.item_len())
            .cloned()
            .unwrap_or(first.clone());
        spec.exclude = String::new();
        let effective: String = spec
            .symbols()
            .iter()
            .filter(|b| exclude.contains(b))
            .map(|&b| b as char)
            .collect();
        spec.exclude = effective;
        while spec.item_len() > hi {
            match (&mut spec.bytes, &mut spec.chars) {
                (Some(b), _) if *b > 1 => *b -= 1,
                (_, Some(c)) if *c > 1 => *c -= 1,
                _ => break,
            }
        }
        if spec.item_len() >= lo && spec.item_len() <= hi && !spec.symbols().is_empty() {
            return Ok(spec);
        }
    }
    // Different encodings: the characters all of them allow, at the longest length.
    let mut symbols: BTreeSet<u8> = specs[0].symbols();
    for s in &specs[1..] {
        symbols = symbols.intersection(&s.symbols()).copied().collect();
    }
    symbols.retain(|b| !exclude.contains(b));
    if symbols.len() < 2 {
        return Err(conflict(
            name,
            &reqs[0],
            &reqs[reqs.len() - 1],
            "no character is allowed by every service".into(),
        ));
    }
    let len = specs
        .iter()
        .map(Spec::item_len)
        .max()
        .unwrap_or(32)
        .clamp(lo, hi);
    let hex: BTreeSet<u8> = b"0123456789abcdef".iter().copied().collect();
    let alnum: BTreeSet<u8> = ALNUM.iter().copied().collect();
    Ok(if symbols == hex && len % 2 == 0 {
        Spec {
            encoding: Encoding::Hex,
            bytes: Some(len / 2),
            chars: None,
            alphabet: None,
            count: None,
            separator: None,
            exclude: String::new(),
        }
    } else if symbols == alnum {
        Spec {
            encoding: Encoding::Alnum,
            bytes: None,
            chars: Some(len),
            alphabet: None,
            count: None,
            separator: None,
            exclude: String::new(),
        }
    } else {
        Spec {
            encoding: Encoding::Alphabet,
            bytes: None,
            chars: Some(len),
            alphabet: Some(symbols.iter().map(|&b| b as char).collect()),
            count: None,
            separator: None,
            exclude: String::new(),
        }
    })
}

/// A TOML string literal.
fn q(s: &str) -> String {
    toml::Value::String(s.to_string()).to_string()
}

/// `cond` or, when false, nothing: a helper for the summary lists.
fn display(path: &Path) -> String {
    path.display().to_string()
}

/// The environment entries of a service: `(key, value, line)`, value `None` when the name is
/// passed through from the shell or `.env`.
fn environment(service: &Node) -> Vec<(String, Option<String>, usize)> {
    let Some(env) = service.get("environment") else {
        return Vec::new();
    };
    match &env.value {
        Tree::Map(_) => env
            .entries()
            .into_iter()
            .map(|(k, v)| (k.to_string(), v.as_str().map(String::from), v.line))
            .collect(),
        Tree::Seq(items) => items
            .iter()
            .filter_map(|n| {
                let s = n.as_str()?;
                Some(match s.split_once('=') {
                    Some((k, v)) => (k.trim().to_string(), Some(v.to_string()), n.line),
                    None => (s.trim().to_string(), None, n.line),
                })
            })
            .collect(),
        _ => Vec::new(),
    }
}

/// The files of a service's `env_file:` (string, list of strings, or list of `{path}`).
fn env_files(service: &Node) -> Vec<(String, usize)> {
    let Some(node) = service.get("env_file") else {
        return Vec::new();
    };
    let one = |n: &Node| {
        n.as_str()
            .or_else(|| n.get("path").and_then(Node::as_str))
            .map(|s| (s.to_string(), n.line))
    };
    match &node.value {
        Tree::Seq(items) => items.iter().filter_map(one).collect(),
        _ => one(node).into_iter().collect(),
    }
}

fn is_name(s: &str) -> bool {
    crate::schema::template::is_variable_name(s)
}

/// Infers a schema from `request` and the catalogue.
pub fn infer(request: &Request, catalogue: &Catalogue) -> Result<Outcome> {
    let mut st = State::default();
    let example: Vec<dotenv::Assignment> = match &request.env_example {
        None => Vec::new(),
        Some(input) => dotenv::parse(&input.text).map_err(|e| Error::EnvSyntax {
            path: input.path.clone(),
            line: e.line,
            message: e.message,
        })?,
    };
    let example_path = request
        .env_example
        .as_ref()
        .map(|i| display(&i.path))
        .unwrap_or_default();
    let mut seen: Vec<Seen> = Vec::new();
    let mut urls: Vec<(PathBuf, usize, String, usize, String, String)> = Vec::new();
    let mut group = 0;
    for input in &request.compose {
        let file = display(&input.path);
        let root = compose::parse_tree(&input.text, &input.path)?;
        let services = root.get("services");
        if !matches!(root.value, Tree::Map(_) | Tree::Null)
            || services.is_some_and(|s| !matches!(s.value, Tree::Map(_) | Tree::Null))
        {
            return Err(Error::NotCompose {
                path: input.path.clone(),
                line: services.map_or(root.line, |s| s.line),
            });
        }
        // References outside `services:` (x- extensions, volumes, name).
        if let Tree::Map(pairs) = &root.value {
            for (k, v) in pairs.iter().filter(|(k, _)| k.as_str() != Some("services")) {
                let mut found = Vec::new();
                scalars(k, &mut found);
                scalars(v, &mut found);
                for (text, line) in found {
                    for i in interpolations(text) {
                        let var = st.var(&i.name, None, NO_SERVICE, format!("{file}:{line}"));
                        if var.compose_default.is_none() {
                            var.compose_default = i.default;
                        }
                    }
                }
            }
        }
        for (sname, snode) in services.map(Node::entries).unwrap_or_default() {
            group += 1;
            let image = snode
                .get("image")
                .and_then(Node::as_str)
                .unwrap_or_default()
                .to_string();
            let matched = if image.is_empty() {
                None
            } else {
                catalogue.match_image(&image)
            };
            st.report.services.push((
                sname.to_string(),
                image.clone(),
                matched.map(|m| m.service.id.clone()),
            ));
            let mut found = Vec::new();
            scalars(snode, &mut found);
            for (text, line) in found {
                for i in interpolations(text) {
                    let var = st.var(
                        &i.name,
                        Some(sname),
                        group,
                        format!("{file}:{line} service {sname}"),
                    );
                    if var.compose_default.is_none() {
                        var.compose_default = i.default.clone();
                    }
                    attach(var, sname, group, matched, &i.name.clone());
                }
            }
            for (key, value, line) in environment(snode) {
                if !is_name(&key) {
                    continue;
                }
                match value {
                    None => {
                        let var = st.var(
                            &key,
                            Some(sname),
                            group,
                            format!(
                                "{file}:{line} service {sname}: environment {key} (passed through)"
                            ),
                        );
                        attach(var, sname, group, matched, &key);
                    }
                    Some(text) => {
                        let found = interpolations(&text);
                        if found.len() == 1 && found[0].range == (0..text.len()) {
                            let name = found[0].name.clone();
                            let var = st.var(
                                &name,
                                Some(sname),
                                group,
                                format!("{file}:{line} service {sname}: environment {key}"),
                            );
                            attach(var, sname, group, matched, &key);
                        } else if found.is_empty() {
                            let req = matched.and_then(|m| {
                                m.entry(&key).map(|e| Req {
                                    id: m.service.id.clone(),
                                    service_name: sname.to_string(),
                                    entry: e.clone(),
                                    at: format!("catalogue/{}.toml {}", m.service.id, e.name),
                                })
                            });
                            let credential = match &req {
                                Some(r) => matches!(
                                    r.entry.kind,
                                    EntryKind::Secret | EntryKind::Hashed | EntryKind::Input
                                ),
                                None => classify(&key, None) != Guess::Setting,
                            };
                            if url_password(&text).is_some_and(|r| !r.is_empty()) {
                                urls.push((
                                    input.path.clone(),
                                    line,
                                    sname.to_string(),
                                    group,
                                    key.clone(),
                                    text.clone(),
                                ));
                            } else if credential && !text.trim().is_empty() {
                                seen.push(Seen {
                                    file: input.path.clone(),
                                    line,
                                    service: sname.to_string(),
                                    group,
                                    key: key.clone(),
                                    value: Zeroizing::new(text.clone()),
                                    req,
                                });
                            }
                        } else if let Some(pw) = url_password(&text) {
                            let template = to_template(&text, &pw);
                            let in_pw: Vec<String> = found
                                .iter()
                                .filter(|i| i.range.start >= pw.start && i.range.end <= pw.end)
                                .map(|i| i.name.clone())
                                .collect();
                            if !in_pw.is_empty() {
                                let dname = if st.index.contains_key(&key) {
                                    service_prefixed(sname, &key)
                                } else {
                                    key.clone()
                                };
                                let var = st.var(
                                    &dname,
                                    Some(sname),
                                    group,
                                    format!("{file}:{line} service {sname}: environment {key}"),
                                );
                                var.order = (2, var.order.1);
                                var.derived = Some(template);
                                var.notes.push(format!("compose pastes {} raw into this URL at {file}:{line}; write `{key}: ${{{dname}}}` there so the password is percent-encoded", in_pw.join(", ")));
                                for p in in_pw {
                                    let v = st.var(
                                        &p,
                                        Some(sname),
                                        group,
                                        format!("{file}:{line} service {sname}"),
                                    );
                                    v.in_url = true;
                                    v.notes.push(format!("pasted into the URL {key} at {file}:{line}: {dname} below holds it percent-encoded; services that take the password alone need the raw value"));
                                }
                            }
                        }
                    }
                }
            }
            for (path, line) in env_files(snode) {
                let dir = input.path.parent().unwrap_or(Path::new(""));
                let resolved = dir.join(&path);
                let text = (request.read)(&resolved);
                let assignments: Vec<(String, usize, Option<Zeroizing<String>>, String)> =
                    match &text {
                        // A file a service reads as `env_file` may be the live `.env`: its
                        // names are variables of the stack, its values are never copied into
                        // the schema (which is committed). The example (--env-file) gives
                        // values.
                        Some(text) => match dotenv::parse(text) {
                            Ok(list) => {
                                st.report.notes.push(format!("{file}:{line}: the values of env_file {path} are not copied into the schema (it may hold real secrets); its settings take values from --env-file, or become inputs"));
                                list.into_iter()
                                    .map(|a| (a.name, a.line, None, display(&resolved)))
                                    .collect()
                            }
                            Err(e) => {
                                return Err(Error::EnvSyntax {
                                    path: resolved,
                                    line: e.line,
                                    message: e.message,
                                });
                            }
                        },
                        None if Path::new(&path).file_name()
                            == Some(std::ffi::OsStr::new(".env"))
                            && request.env_example.is_some() =>
                        {
                            example
                                .iter()
                                .map(|a| {
                                    (
                                        a.name.clone(),
                                        a.line,
                                        literal(&a.value),
                                        example_path.clone(),
                                    )
                                })
                                .collect()
                        }
                        None => {
                            st.report.notes.push(format!("{file}:{line}: service {sname} reads env_file {path}, which was not found: its variables are not in the schema (pass it with --env-file if it is the .env)"));
                            Vec::new()
                        }
                    };
                for (name, aline, value, from) in assignments {
                    if !is_name(&name) {
                        continue;
                    }
                    let var = st.var(
                        &name,
                        Some(sname),
                        group,
                        format!("{from}:{aline} (env_file of service {sname})"),
                    );
                    if var.example.is_none() {
                        var.example = value;
                    }
                    attach(var, sname, group, matched, &name);
                }
            }
        }
    }
    // Credentials written as literals: one variable per distinct value.
    let mut by_value: Vec<(usize, String)> = Vec::new();
    for (i, s) in seen.iter().enumerate() {
        let shared = by_value
            .iter()
            .find(|(j, _)| seen[*j].value.as_str() == s.value.as_str())
            .map(|(_, n)| n.clone());
        let name = match shared {
            Some(n) => n,
            None => {
                let taken =
                    by_value.iter().any(|(_, n)| *n == s.key) || st.index.contains_key(&s.key);
                let n = if taken {
                    service_prefixed(&s.service, &s.key)
                } else {
                    s.key.clone()
                };
                by_value.push((i, n.clone()));
                n
            }
        };
        let var = st.var(
            &name,
            Some(&s.service),
            s.group,
            format!(
                "{}:{} service {}: environment {} (a literal)",
                display(&s.file),
                s.line,
                s.service,
                s.key
            ),
        );
        var.from_literal = true;
        if let Some(r) = &s.req
            && !var.reqs.iter().any(|x| x.at == r.at)
        {
            var.reqs.push(r.clone());
        }
        st.report.literals.push(Literal {
            file: s.file.clone(),
            line: s.line,
            service: s.service.clone(),
            key: s.key.clone(),
            suggestion: format!("{}: ${{{name}}}", s.key),
        });
    }
    for (file, line, service, g, key, text) in urls {
        let pw = url_password(&text).unwrap_or(0..0);
        let password = &text[pw.clone()];
        let shared = by_value
            .iter()
            .find(|(j, _)| seen[*j].value.as_str() == password)
            .map(|(_, n)| n.clone());
        let pname = shared.unwrap_or_else(|| {
            let stem = key
                .trim_end_matches("_URL")
                .trim_end_matches("_URI")
                .trim_end_matches("_DSN");
            format!("{stem}_PASSWORD")
        });
        let pvar = st.var(
            &pname,
            Some(&service),
            g,
            format!(
                "{}:{line} service {service}: the password of the URL {key} (a literal)",
                display(&file)
            ),
        );
        pvar.from_literal = true;
        pvar.in_url = true;
        let dname = if st
            .index
            .get(&key)
            .is_some_and(|&i| st.vars[i].derived.is_none())
        {
            service_prefixed(&service, &key)
        } else {
            key.clone()
        };
        let mut template = escape_template(&text[..pw.start]);
        template.push_str(&format!("${{{pname}|url}}"));
        template.push_str(&escape_template(&text[pw.end..]));
        let dvar = st.var(
            &dname,
            Some(&service),
            g,
            format!(
                "{}:{line} service {service}: environment {key} (a URL with a literal password)",
                display(&file)
            ),
        );
        dvar.order = (2, dvar.order.1);
        dvar.derived = Some(template);
        dvar.from_literal = true;
        st.report.literals.push(Literal {
            file: file.clone(),
            line,
            service: service.clone(),
            key: key.clone(),
            suggestion: format!("{key}: ${{{dname}}}"),
        });
    }
    // The example's assignments: values for the variables, and variables of their own.
    for a in &example {
        if !is_name(&a.name) {
            continue;
        }
        let var = st.var(
            &a.name,
            None,
            NO_SERVICE,
            format!("{example_path}:{}", a.line),
        );
        if var.example.is_none() {
            var.example = literal(&a.value);
        }
    }
    let text = write::write(&mut st, request, catalogue)?;
    Ok(Outcome {
        schema: text,
        report: st.report,
    })
}
mod write;
use write::{escape_template, literal, service_prefixed, to_template};

#[cfg(test)]
mod tests;
