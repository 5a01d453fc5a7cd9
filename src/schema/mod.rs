//! The schema: every variable of a stack, how it is made, and what it is for.
//!
//! A schema is a TOML file (`schema/alecia.toml`) with a `[schema]` header and one
//! `[[variable]]` table per variable, in the order the `.env` lists them. Loading it checks
//! everything that can be checked before a value exists (encodings, lengths, alphabets,
//! patterns, template references, cycles) and reports the first problem with the file, line
//! and column, the variable, and what to do: a bad schema never reaches the vault. `get`
//! and `exec --only` load only the part their values need ([`Schema::load_slice`]).
//!
//! `[profile.NAME]` tables give other defaults to fixed variables for one environment
//! (`staging`, `production`); `--profile NAME` selects one and its own vault
//! (`vault/<schema>.<profile>.age`).

mod chunks;
mod graph;
pub mod names;
mod raw;
pub mod rotation;
pub mod rules;
pub mod template;
mod validate;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use crate::error::{Error, Result};
use crate::generate::Generator;
use crate::hash::Argon2Params;
use crate::jwt::Jwt;
use crate::keypair::KeyPair;
use graph::Graph;
use rotation::Rotation;
use rules::Rules;
use template::Template;

/// Largest `bytes` or `chars` a schema may ask for.
const MAX_LENGTH: i64 = 4096;
/// Largest `count` of a list.
const MAX_COUNT: i64 = 64;
/// Previous values kept per variable unless the schema says otherwise.
pub const DEFAULT_HISTORY: usize = 5;
/// Largest history bound a schema may ask for.
const MAX_HISTORY: i64 = 100;

/// A loaded and validated schema.
#[derive(Debug)]
pub struct Schema {
    /// The schema's name; it names the vault (`vault/<name>.age`).
    pub name: String,
    /// What the stack is (shown by `envgen list`).
    pub description: String,
    /// The host's ssh key, used when no other identity is configured (on a deploy host).
    pub host_identity: Option<PathBuf>,
    /// The file it was read from.
    pub path: PathBuf,
    /// The profile in use (`--profile`, `ENVGEN_PROFILE`), once selected.
    pub profile: Option<String>,
    variables: Vec<Variable>,
    by_name: ByName,
    graph: Graph,
    /// Per profile, the fixed variables it gives another default: (index, default).
    profiles: BTreeMap<String, Vec<(usize, String)>>,
}

/// Variable indices in name order: a variable is found by a binary search over the names
/// the variables already hold, without a second copy of each (a hash map of the names
/// cost 70 bytes a variable, alive through the vault's decryption).
#[derive(Debug)]
struct ByName(Box<[usize]>);

impl ByName {
    /// Orders `variables` by name; two with one name give `Err((first, second))`, their
    /// indices, for the duplicate that comes first in the file.
    fn new(variables: &[Variable]) -> std::result::Result<ByName, (usize, usize)> {
        let mut order: Vec<usize> = (0..variables.len()).collect();
        // Stable: variables of one name stay in file order.
        order.sort_by(|&a, &b| variables[a].name.cmp(&variables[b].name));
        let duplicate = order
            .windows(2)
            .filter(|pair| variables[pair[0]].name == variables[pair[1]].name)
            .min_by_key(|pair| pair[1]);
        match duplicate {
            Some(pair) => Err((pair[0], pair[1])),
            None => Ok(ByName(order.into_boxed_slice())),
        }
    }

    /// The index of the variable called `name`.
    fn find(&self, variables: &[Variable], name: &str) -> Option<usize> {
        self.0
            .binary_search_by(|&i| variables[i].name.as_str().cmp(name))
            .ok()
            .map(|found| self.0[found])
    }
}

/// One variable of the schema.
#[derive(Debug)]
pub struct Variable {
    /// The environment variable name.
    pub name: String,
    /// The services that read it.
    pub services: std::sync::Arc<[String]>,
    /// How its value is made.
    pub kind: Kind,
    /// How it is rotated (meaningful for secret and hashed variables).
    pub rotation: Rotation,
    /// The line of its `name` in the schema file.
    pub line: usize,
    /// Its name changes how programs run (see [`names`]) and the schema allowed it
    /// explicitly: every command warns about it.
    pub dangerous: bool,
    /// Its value may span lines (a PEM key, an input with `multiline = true`, or a template
    /// that inserts one): only such values may hold a newline.
    pub multiline: bool,
    /// Where its format comes from (`catalogue:plausible`, `guess`), when the schema says.
    pub source: Option<Box<str>>,
    /// `Some(false)`: the format is a guess that nobody checked against the service's
    /// documentation (`schema from-compose` writes it for variables the catalogue lacks).
    pub verified: Option<bool>,
}

/// How a variable's value is made.
#[derive(Debug)]
pub enum Kind {
    /// A readable value with a default that `init --set` may override.
    Fixed(Fixed),
    /// A value generated from the CSPRNG.
    Secret(Generator),
    /// A generated plaintext rendered as its Argon2id PHC string.
    Hashed {
        /// How the plaintext is generated.
        plaintext: Generator,
        /// Argon2id cost parameters.
        argon2: Argon2Params,
    },
    /// A value computed from other variables by a template.
    Derived(Template),
    /// A value the operator provides (`envgen set NAME`), such as a provider's credential.
    Input(Input),
    /// A token signed with another variable, made once and stored.
    Jwt(Jwt),
    /// A private key, generated and stored; templates read its public key as `${NAME.public}`.
    Keypair(KeyPair),
}

/// The rules of a fixed value.
#[derive(Debug)]
pub struct Fixed {
    /// The value used unless `init --set` (or the profile) gives another.
    pub default: String,
    /// What a value must satisfy (boxed, like [`Input`]'s: 120 bytes inline made every
    /// variable's kind larger, whatever its kind).
    pub rules: Box<Rules>,
}

impl Fixed {
    /// Checks a value against the variable's rules, saying why it is refused (without quoting it).
    pub fn check(&self, value: &str) -> Result<(), String> {
        self.rules.check(value)
    }
}

/// An operator-provided value.
#[derive(Debug)]
pub struct Input {
    /// What a value must satisfy.
    pub rules: Box<Rules>,
    /// A credential (the default): never accepted from argv, only from stdin or a prompt.
    pub secret: bool,
}

impl Kind {
    /// The kind's name, as written in the schema.
    pub fn label(&self) -> &'static str {
        match self {
            Kind::Fixed(_) => "fixed",
            Kind::Secret(_) => "secret",
            Kind::Hashed { .. } => "hashed",
            Kind::Derived(_) => "derived",
            Kind::Input(_) => "input",
            Kind::Jwt(_) => "jwt",
            Kind::Keypair(_) => "keypair",
        }
    }

    /// Whether the vault stores this variable's value (all but derived ones).
    pub fn is_stored(&self) -> bool {
        !matches!(self, Kind::Derived(_))
    }

    /// Whether envgen makes the value itself from the CSPRNG (secret, hashed, keypair): what
    /// `rotate` renews.
    pub fn is_generated(&self) -> bool {
        matches!(
            self,
            Kind::Secret(_) | Kind::Hashed { .. } | Kind::Keypair(_)
        )
    }

    /// The variables the value is computed from, by name: a template's references, a
    /// token's signing secret.
    pub fn reads(&self) -> impl Iterator<Item = &str> {
        let (template, signer) = match self {
            Kind::Derived(template) => (Some(template), None),
            Kind::Jwt(token) => (None, Some(token.secret.as_str())),
            _ => (None, None),
        };
        template
            .into_iter()
            .flat_map(|t| t.references().map(|r| r.name))
            .chain(signer)
    }

    /// The generator of a secret or of a hashed variable's plaintext.
    pub fn generator(&self) -> Option<&Generator> {
        match self {
            Kind::Secret(generator)
            | Kind::Hashed {
                plaintext: generator,
                ..
            } => Some(generator),
            _ => None,
        }
    }
}

/// How much of a schema a command keeps once all of it is validated.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Detail {
    /// Everything.
    Full,
    /// What reading values needs (`render`, `exec`, `get`): each variable's rotation texts
    /// (`breaks`, `steps`), which only a change or its refusal shows, are validated and then
    /// dropped (1.3 MB at 10,000 variables). Their rotation impact, history and `max_age`
    /// are kept.
    Values,
}

impl Schema {
    /// Reads and validates the schema at `path`.
    pub fn load(path: &Path) -> Result<Schema> {
        Schema::load_for(path, Detail::Full)
    }

    /// Reads and validates the schema at `path`, keeping `detail`.
    pub fn load_for(path: &Path, detail: Detail) -> Result<Schema> {
        let text = read(path)?;
        validate::parse(&text, path, detail)
    }

    /// Reads the schema at `path` for reading the variables `names` alone: the `[schema]`
    /// table, `names`, the variables they are computed from and what profiles set for them
    /// are validated; the other variables (and profile entries for them) are only found by
    /// name. Whenever a full parse succeeds, this gives the same variables; otherwise it may
    /// still succeed when the fault lies in a variable `names` do not read. An unknown name
    /// gives the full schema (and `require` says so).
    pub fn load_slice(path: &Path, names: &[&str], detail: Detail) -> Result<Schema> {
        let text = read(path)?;
        validate::parse_slice(&text, path, detail, names)
    }

    /// [`Schema::load_slice`] on schema text; `path` is used in error messages.
    pub fn parse_slice(text: &str, path: &Path, names: &[&str]) -> Result<Schema> {
        validate::parse_slice(text, path, Detail::Full, names)
    }

    /// Validates schema text; `path` is used in error messages.
    pub fn parse(text: &str, path: &Path) -> Result<Schema> {
        validate::parse(text, path, Detail::Full)
    }

    /// The variables, in schema order.
    pub fn variables(&self) -> &[Variable] {
        &self.variables
    }

    /// The profiles the schema declares (`[profile.NAME]`).
    pub fn profiles(&self) -> impl Iterator<Item = &str> {
        self.profiles.keys().map(String::as_str)
    }

    /// Selects `profile`: its defaults replace those of the fixed variables it lists. The
    /// profile must be declared, so a typo cannot silently start another vault.
    pub fn select_profile(&mut self, profile: &str) -> Result<()> {
        let Some(overrides) = self.profiles.get(profile) else {
            return Err(Error::UnknownProfile {
                profile: profile.to_string(),
                schema: self.path.clone(),
                known: self.profiles.keys().cloned().collect(),
            });
        };
        for (index, default) in overrides {
            if let Kind::Fixed(fixed) = &mut self.variables[*index].kind {
                fixed.default = default.clone();
            }
        }
        self.profile = Some(profile.to_string());
        Ok(())
    }

    /// The index of the variable called `name`.
    pub fn position(&self, name: &str) -> Option<usize> {
        self.by_name.find(&self.variables, name)
    }

    /// The index of `name`, or an error naming the schema.
    pub fn require(&self, name: &str) -> Result<usize> {
        self.position(name).ok_or_else(|| Error::UnknownVariable {
            name: name.to_string(),
            schema: self.path.clone(),
        })
    }

    /// Every variable index, each after the variables it reads.
    pub fn evaluation_order(&self) -> &[usize] {
        self.graph.order()
    }

    /// The derived variables that read, directly or not, one of `roots` (sorted, in schema order).
    pub fn dependents(&self, roots: &[usize]) -> Vec<usize> {
        self.graph.dependents(roots)
    }

    /// Every variable `wanted` needs to be computed: themselves and what they read, directly
    /// or not, as a mask over the variables.
    pub fn closure(&self, wanted: &[usize]) -> Vec<bool> {
        self.graph.closure(wanted)
    }

    /// The stored variables a derived variable is computed from, directly or not.
    pub fn sources(&self, index: usize) -> Vec<usize> {
        self.graph
            .dependencies(index)
            .into_iter()
            .filter(|&i| self.variables[i].kind.is_stored())
            .collect()
    }
}

/// The text of the schema file at `path`.
fn read(path: &Path) -> Result<String> {
    std::fs::read_to_string(path).map_err(|source| Error::SchemaRead {
        path: path.to_path_buf(),
        source,
    })
}

#[cfg(test)]
mod tests;
