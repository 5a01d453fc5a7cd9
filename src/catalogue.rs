//! The service catalogue: what each upstream service requires of the secrets and settings it
//! reads, with the source of every requirement (`catalogue/*.toml`, described in
//! `catalogue/README.md`).
//!
//! The files are data, bundled into the binary by `build.rs` (so a new file needs no code) and
//! parsed only when asked for: `schema from-compose` and the tests read them; rendering,
//! `exec` and every vault command never do. The model is typed (kinds, encodings and
//! rotation impacts are enums, unknown fields are refused), so a catalogue file that does not
//! follow the README fails the test suite, not a user.

use serde::Deserialize;

use crate::generate::{Alphabet, Encoding as GenEncoding, Generator};

mod bundled {
    include!(concat!(env!("OUT_DIR"), "/catalogue.rs"));
}

/// Every bundled catalogue file: `(id, TOML text)`, sorted by id.
pub fn files() -> &'static [(&'static str, &'static str)] {
    bundled::FILES
}

/// One catalogue file: a service and the variables it reads.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Service {
    /// The `[service]` table.
    pub service: Header,
    /// The `[[variable]]` tables, in the service documentation's order.
    #[serde(default)]
    pub variable: Vec<Entry>,
}

/// The `[service]` table of a catalogue file.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Header {
    /// The file name without `.toml`.
    pub id: String,
    /// The service's name.
    pub name: String,
    /// Image patterns (`*` matches within one path segment), without tag or digest.
    pub images: Vec<String>,
    /// The main configuration page.
    pub docs: String,
}

/// What a variable is, in catalogue words.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum EntryKind {
    /// A generated secret.
    Secret,
    /// A generated plaintext rendered as an Argon2id PHC string.
    Hashed,
    /// A readable value.
    Setting,
    /// A value a provider issues; the operator provides it.
    Input,
    /// A token signed with another variable.
    Jwt,
    /// A generated key pair.
    Keypair,
}

/// How a generated value is spelled (the schema's words).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Encoding {
    /// Lowercase hex of `bytes` bytes.
    Hex,
    /// Padded standard base64 of `bytes` bytes.
    Base64,
    /// Unpadded URL-safe base64 of `bytes` bytes.
    Base64url,
    /// `chars` ASCII letters and digits.
    Alnum,
    /// `chars` characters of `alphabet`.
    Alphabet,
    /// A random (version 4) UUID.
    Uuid,
}

impl Encoding {
    /// The schema spelling.
    pub fn name(self) -> &'static str {
        match self {
            Encoding::Hex => "hex",
            Encoding::Base64 => "base64",
            Encoding::Base64url => "base64url",
            Encoding::Alnum => "alnum",
            Encoding::Alphabet => "alphabet",
            Encoding::Uuid => "uuid",
        }
    }
}

/// How a rotation disturbs the running stack: the schema's own type.
pub use crate::schema::rotation::Impact;

/// The type of a setting or input.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ValueType {
    /// A URL.
    Url,
    /// An e-mail address.
    Email,
    /// A TCP port.
    Port,
    /// An integer.
    Int,
    /// A boolean.
    Bool,
    /// A host name.
    Hostname,
    /// One of `values`.
    Enum,
}

impl ValueType {
    /// The schema spelling.
    pub fn name(self) -> &'static str {
        match self {
            ValueType::Url => "url",
            ValueType::Email => "email",
            ValueType::Port => "port",
            ValueType::Int => "int",
            ValueType::Bool => "bool",
            ValueType::Hostname => "hostname",
            ValueType::Enum => "enum",
        }
    }
}

/// A `[variable.rotation]` table.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Rotation {
    /// What a new value disturbs.
    pub impact: Impact,
    /// What breaks (for `op` and `data`).
    pub breaks: Option<String>,
    /// What to do afterwards.
    #[serde(default)]
    pub steps: Vec<String>,
    /// How often it should be rotated.
    pub max_age: Option<String>,
    /// Where the impact is documented (required for `op` and `data`).
    pub source: Option<String>,
}

/// Argon2id costs of a hashed entry.
#[derive(Clone, Copy, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Argon2 {
    /// Memory in KiB.
    pub m_cost: u32,
    /// Passes.
    pub t_cost: u32,
    /// Lanes.
    pub p_cost: u32,
}

/// One `[[variable]]` of a catalogue file.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Entry {
    /// The environment variable.
    pub name: String,
    /// What it is.
    pub kind: EntryKind,
    /// How a secret is generated.
    pub encoding: Option<Encoding>,
    /// Length in bytes (hex, base64, base64url).
    pub bytes: Option<u32>,
    /// Length in characters (alnum, alphabet).
    pub chars: Option<u32>,
    /// The characters of an `alphabet` encoding.
    pub alphabet: Option<String>,
    /// Number of items of a list value.
    pub count: Option<u32>,
    /// What joins a list's items.
    pub separator: Option<String>,
    /// The service accepts only this encoding and length.
    pub exact: Option<bool>,
    /// Shortest value the service accepts, in characters.
    pub min_chars: Option<u32>,
    /// Longest value the service accepts, in characters.
    pub max_chars: Option<u32>,
    /// Characters the service cannot take.
    pub exclude: Option<String>,
    /// The variable the image reads the value from a file by.
    pub file: Option<String>,
    /// What the service requires, in words.
    pub requirement: String,
    /// Where the requirement is stated (an https URL).
    pub source: String,
    /// Other catalogue ids that read the same value.
    #[serde(default)]
    pub services: Vec<String>,
    /// A setting's sensible default.
    pub default: Option<String>,
    /// A setting's or input's type.
    #[serde(rename = "type")]
    pub value_type: Option<ValueType>,
    /// The values of an enum setting.
    #[serde(default)]
    pub values: Vec<String>,
    /// A regular expression a setting's value matches.
    pub pattern: Option<String>,
    /// Argon2id costs of a hashed entry.
    pub argon2: Option<Argon2>,
    /// The variable a jwt is signed with.
    pub secret: Option<String>,
    /// The jwt or keypair algorithm.
    pub algorithm: Option<String>,
    /// The claims of a jwt.
    pub claims: Option<toml::Table>,
    /// How long a jwt is valid (`5y`).
    pub expires: Option<String>,
    /// A keypair's format (`pem-pkcs8`, `vapid`).
    pub format: Option<String>,
    /// What rotating it does.
    pub rotation: Option<Rotation>,
}

impl Entry {
    /// The generator of a secret or hashed entry, as the schema would build it from the same
    /// words; `None` for other kinds, a `uuid` encoding (made by branch `kinds`) or a missing
    /// length. The catalogue tests build each one through the schema's own validation too.
    pub fn generator(&self) -> Option<Generator> {
        if !matches!(self.kind, EntryKind::Secret | EntryKind::Hashed) {
            return None;
        }
        let bytes = || self.bytes.map(|b| b as usize);
        let chars = || self.chars.map(|c| c as usize);
        let encoding = match self.encoding? {
            Encoding::Hex => GenEncoding::Hex { bytes: bytes()? },
            Encoding::Base64 => GenEncoding::Base64 { bytes: bytes()? },
            Encoding::Base64url => GenEncoding::Base64Url { bytes: bytes()? },
            Encoding::Alnum => GenEncoding::Chars {
                alphabet: Box::new(Alphabet::alnum()),
                chars: chars()?,
            },
            Encoding::Alphabet => GenEncoding::Chars {
                alphabet: Box::new(Alphabet::custom(self.alphabet.as_deref()?).ok()?),
                chars: chars()?,
            },
            Encoding::Uuid => return None,
        };
        let mut generator = Generator::single(encoding);
        if let Some(count) = self.count {
            generator.count = count as usize;
            generator.separator = self.separator.as_deref().unwrap_or_default().into();
        }
        Some(generator)
    }

    /// The excluded characters that the generator could actually produce.
    pub fn effective_exclude(&self) -> String {
        let Some(generator) = self.generator() else {
            return String::new();
        };
        let symbols = generator.encoding.symbols();
        let mut out: Vec<char> = self
            .exclude
            .as_deref()
            .unwrap_or_default()
            .chars()
            .filter(|c| c.is_ascii() && symbols.contains(&(*c as u8)))
            .collect();
        out.sort_unstable();
        out.dedup();
        out.into_iter().collect()
    }
}

/// A catalogue file that does not parse (a bug of the bundled data, caught by the tests).
#[derive(Debug)]
pub struct LoadError {
    /// The file's id.
    pub id: String,
    /// The TOML parser's message.
    pub message: String,
}

/// The whole catalogue, parsed.
#[derive(Clone, Debug)]
pub struct Catalogue {
    /// Every service, sorted by id.
    pub services: Vec<Service>,
}

impl Catalogue {
    /// Parses every bundled file.
    pub fn load() -> Result<Catalogue, LoadError> {
        let services = files()
            .iter()
            .map(|(id, text)| {
                toml::from_str::<Service>(text).map_err(|e| LoadError {
                    id: id.to_string(),
                    message: e.message().to_string(),
                })
            })
            .collect::<Result<_, _>>()?;
        Ok(Catalogue { services })
    }

    /// The service whose image patterns match `image` (as written in a compose file).
    pub fn match_image(&self, image: &str) -> Option<&Service> {
        let name = normalise(image);
        self.services.iter().find(|s| {
            s.service
                .images
                .iter()
                .any(|pattern| matches(&normalise(pattern), &name))
        })
    }

    /// The service with this id.
    pub fn get(&self, id: &str) -> Option<&Service> {
        self.services.iter().find(|s| s.service.id == id)
    }
}

impl Service {
    /// The entry for the variable `name`.
    pub fn entry(&self, name: &str) -> Option<&Entry> {
        self.variable.iter().find(|e| e.name == name)
    }
}

/// An image reference without its tag and digest, on Docker Hub without `docker.io/` and
/// `library/`: `docker.io/library/postgres:16@sha256:...` is `postgres`.
pub fn normalise(image: &str) -> String {
    let image = image.trim();
    let image = image.split('@').next().unwrap_or_default();
    let last_slash = image.rfind('/').map_or(0, |i| i + 1);
    let name = match image[last_slash..].find(':') {
        Some(colon) => &image[..last_slash + colon],
        None => image,
    };
    let mut name = name.to_ascii_lowercase();
    for prefix in ["index.docker.io/", "registry-1.docker.io/", "docker.io/"] {
        if let Some(rest) = name.strip_prefix(prefix) {
            name = rest.to_string();
            break;
        }
    }
    match name.strip_prefix("library/") {
        Some(rest) if !rest.contains('/') => rest.to_string(),
        _ => name,
    }
}

/// Whether a normalised pattern matches a normalised image name: segments pair up one to
/// one, and `*` matches any run of characters within its segment.
pub fn matches(pattern: &str, name: &str) -> bool {
    let (p, n): (Vec<&str>, Vec<&str>) = (pattern.split('/').collect(), name.split('/').collect());
    p.len() == n.len()
        && p.iter()
            .zip(&n)
            .all(|(p, n)| glob(p.as_bytes(), n.as_bytes()))
}

fn glob(pattern: &[u8], text: &[u8]) -> bool {
    match pattern.split_first() {
        None => text.is_empty(),
        Some((b'*', rest)) => (0..=text.len()).any(|i| glob(rest, &text[i..])),
        Some((c, rest)) => text.first() == Some(c) && glob(rest, &text[1..]),
    }
}

#[cfg(test)]
mod tests;
