//! The schema: every variable of a stack, how it is made, and what it is for.
//!
//! A schema is a TOML file (`schema/alecia.toml`) with a `[schema]` header and one
//! `[[variable]]` table per variable, in the order the `.env` lists them. Loading it checks
//! everything that can be checked before a value exists (encodings, lengths, alphabets,
//! patterns, template references, cycles) and reports the first problem with the file, line
//! and column, the variable, and what to do: a bad schema never reaches the vault.

mod graph;
pub mod names;
mod raw;
pub mod rotation;
pub mod template;
mod validate;

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use regex_lite::Regex;

use crate::error::{Error, Result};
use crate::generate::Generator;
use crate::hash::Argon2Params;
use graph::Graph;
use rotation::Rotation;
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
    variables: Vec<Variable>,
    index: HashMap<String, usize>,
    graph: Graph,
}

/// One variable of the schema.
#[derive(Debug)]
pub struct Variable {
    /// The environment variable name.
    pub name: String,
    /// What the variable is for.
    pub description: String,
    /// The services that read it.
    pub services: Vec<String>,
    /// How its value is made.
    pub kind: Kind,
    /// How it is rotated (meaningful for secret and hashed variables).
    pub rotation: Rotation,
    /// The line of its `name` in the schema file.
    pub line: usize,
    /// Its name changes how programs run (see [`names`]) and the schema allowed it
    /// explicitly: every command warns about it.
    pub dangerous: bool,
    /// Where its format comes from (`catalogue:plausible`, `guess`), when the schema says.
    pub source: Option<String>,
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
}

/// The rules of a fixed value.
#[derive(Debug)]
pub struct Fixed {
    /// The value used unless `init --set` gives another.
    pub default: String,
    pattern: Option<Regex>,
}

impl Fixed {
    /// Checks a value against the variable's rules, saying why it is refused (without quoting it).
    pub fn check(&self, value: &str) -> Result<(), String> {
        crate::render::check_value(value).map_err(String::from)?;
        match &self.pattern {
            Some(re) if !re.is_match(value) => Err(format!(
                "the value does not match the pattern {}",
                re.as_str()
            )),
            _ => Ok(()),
        }
    }
}

impl Kind {
    /// The kind's name, as written in the schema.
    pub fn label(&self) -> &'static str {
        match self {
            Kind::Fixed(_) => "fixed",
            Kind::Secret(_) => "secret",
            Kind::Hashed { .. } => "hashed",
            Kind::Derived(_) => "derived",
        }
    }

    /// Whether the vault stores this variable's value (all but derived ones).
    pub fn is_stored(&self) -> bool {
        !matches!(self, Kind::Derived(_))
    }

    /// The generator of a secret or of a hashed variable's plaintext.
    pub fn generator(&self) -> Option<&Generator> {
        match self {
            Kind::Secret(generator)
            | Kind::Hashed {
                plaintext: generator,
                ..
            } => Some(generator),
            Kind::Fixed(_) | Kind::Derived(_) => None,
        }
    }
}

impl Schema {
    /// Reads and validates the schema at `path`.
    pub fn load(path: &Path) -> Result<Schema> {
        let text = std::fs::read_to_string(path).map_err(|source| Error::SchemaRead {
            path: path.to_path_buf(),
            source,
        })?;
        Schema::parse(&text, path)
    }

    /// Validates schema text; `path` is used in error messages.
    pub fn parse(text: &str, path: &Path) -> Result<Schema> {
        validate::parse(text, path)
    }

    /// The variables, in schema order.
    pub fn variables(&self) -> &[Variable] {
        &self.variables
    }

    /// The index of the variable called `name`.
    pub fn position(&self, name: &str) -> Option<usize> {
        self.index.get(name).copied()
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

    /// The stored variables a derived variable is computed from, directly or not.
    pub fn sources(&self, index: usize) -> Vec<usize> {
        self.graph
            .dependencies(index)
            .into_iter()
            .filter(|&i| self.variables[i].kind.is_stored())
            .collect()
    }
}

#[cfg(test)]
mod tests;
