//! Computing the values of the variables a command asks for, as `render` and `get` print them,
//! from the vault.
//!
//! Only the wanted variables and what they read (directly or not) are resolved, so `get NAME`
//! and `render --only A,B` work while unrelated inputs are still missing. Stored values are
//! taken as they are (a hashed variable contributes its PHC string), then derived values are
//! filled in dependency order; `${KEY.public}` is computed from the stored private key. A
//! stored token is checked against its signing secret's current value. Any needed stored value
//! the vault lacks is an error that names every missing variable: an empty secret can never
//! be rendered.

use secrecy::{ExposeSecret, SecretString};

use crate::error::{Error, Result};
use crate::render::{MAX_VALUE, check_value};
use crate::schema::{Kind, Schema};
use crate::vault::Vault;

/// The resolved values, indexed like `schema.variables()`; only the wanted ones and their
/// dependencies are present. Stored values are borrowed from the vault, never copied: a
/// copy of every secret would be one more place to wipe, and at 10,000 variables a megabyte.
pub struct Resolved<'v> {
    values: Vec<Option<Value<'v>>>,
}

/// One resolved value.
enum Value<'v> {
    /// As the vault holds it.
    Stored(&'v SecretString),
    /// Made here: a derived value.
    Made(SecretString),
}

impl Value<'_> {
    fn expose(&self) -> &str {
        match self {
            Value::Stored(value) => value.expose_secret(),
            Value::Made(value) => value.expose_secret(),
        }
    }
}

impl Resolved<'_> {
    /// The value of variable `index`, which must have been wanted (or be a dependency).
    pub fn get(&self, index: usize) -> &str {
        self.values[index]
            .as_ref()
            .expect("only wanted variables are read")
            .expose()
    }
}

/// The values of the variables `wanted` (indices into `schema.variables()`) and of
/// everything they read.
pub fn resolve<'v>(
    schema: &Schema,
    vault: &'v Vault,
    vault_path: &std::path::Path,
    wanted: &[usize],
) -> Result<Resolved<'v>> {
    let variables = schema.variables();
    let needed = schema.closure(wanted);
    let mut values: Vec<Option<Value>> = std::iter::repeat_with(|| None)
        .take(variables.len())
        .collect();
    let mut publics: Vec<Option<String>> = vec![None; variables.len()];
    let mut missing = Vec::new();
    for &i in schema.evaluation_order().iter().filter(|&&i| needed[i]) {
        let var = &variables[i];
        let entry = vault.variables.get(&var.name);
        let value = match &var.kind {
            Kind::Derived(template) => {
                let ready = template
                    .references()
                    .all(|r| schema.position(r.name).is_some_and(|d| values[d].is_some()));
                if ready {
                    for r in template.references().filter(|r| r.public) {
                        let d = schema.position(r.name).expect("references are validated");
                        if publics[d].is_none() {
                            let Kind::Keypair(pair) = &variables[d].kind else {
                                unreachable!("the schema allows .public on keypairs only");
                            };
                            let private = values[d].as_ref().expect("dependencies come first");
                            let public = pair.public(private.expose()).map_err(|_| {
                                Error::UnrenderableValue {
                                    name: variables[d].name.clone(),
                                    reason: "is not a private key of the schema's algorithm and format",
                                }
                            })?;
                            publics[d] = Some(public);
                        }
                    }
                    let rendered = template.render(
                        |name, public| {
                            let d = schema.position(name).expect("references are validated");
                            if public {
                                publics[d].as_deref().expect("computed above")
                            } else {
                                values[d]
                                    .as_ref()
                                    .expect("dependencies come first")
                                    .expose()
                            }
                        },
                        MAX_VALUE,
                    );
                    let Some(rendered) = rendered else {
                        return Err(Error::DerivedTooLong {
                            name: var.name.clone(),
                        });
                    };
                    Some(Value::Made(rendered.to_secret()))
                } else {
                    None
                }
            }
            Kind::Hashed { .. } => entry.and_then(|e| e.hash.as_ref()).map(Value::Stored),
            Kind::Jwt(jwt) => {
                let signer = schema.position(&jwt.secret).expect("validated");
                match (entry, &values[signer]) {
                    (Some(e), Some(key)) => {
                        if !jwt.verifies(e.value.expose_secret(), key.expose()) {
                            return Err(Error::StaleToken {
                                name: var.name.clone(),
                                secret: jwt.secret.clone(),
                            });
                        }
                        Some(Value::Stored(&e.value))
                    }
                    (Some(e), None) => Some(Value::Stored(&e.value)),
                    (None, _) => None,
                }
            }
            Kind::Fixed(_) | Kind::Secret(_) | Kind::Input(_) | Kind::Keypair(_) => {
                entry.map(|e| Value::Stored(&e.value))
            }
        };
        match &value {
            None if var.kind.is_stored() => missing.push(i),
            Some(v) => check_value(v.expose(), var.multiline).map_err(|reason| {
                Error::UnrenderableValue {
                    name: var.name.clone(),
                    reason,
                }
            })?,
            None => {}
        }
        values[i] = value;
    }
    if !missing.is_empty() {
        missing.sort_unstable();
        return Err(Error::MissingValues {
            names: missing
                .into_iter()
                .map(|i| variables[i].name.clone())
                .collect(),
            vault: vault_path.to_path_buf(),
        });
    }
    Ok(Resolved { values })
}
