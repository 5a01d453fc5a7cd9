//! Computing the value of every variable, as `render` and `get` print it, from the vault.
//!
//! Stored values are taken as they are (a hashed variable contributes its PHC string), then
//! derived values are filled in dependency order. Any stored value the vault lacks is an
//! error that names every missing variable: an empty secret can never be rendered.

use secrecy::{ExposeSecret, SecretString};

use crate::error::{Error, Result};
use crate::render::{MAX_VALUE, check_value};
use crate::schema::{Kind, Schema};
use crate::vault::Vault;

/// The value of every variable of `schema`, indexed like `schema.variables()`.
pub fn resolve(
    schema: &Schema,
    vault: &Vault,
    vault_path: &std::path::Path,
) -> Result<Vec<SecretString>> {
    resolve_needed(schema, vault, vault_path, None)
}

/// Like [`resolve`], for the variables marked in `needed` only (a selection and everything
/// it is derived from: an OpenBao host reads no more); the others are left empty and must
/// not be printed.
pub fn resolve_needed(
    schema: &Schema,
    vault: &Vault,
    vault_path: &std::path::Path,
    needed: Option<&[bool]>,
) -> Result<Vec<SecretString>> {
    let variables = schema.variables();
    let mut values: Vec<Option<SecretString>> = vec![None; variables.len()];
    let mut missing = Vec::new();
    for &i in schema.evaluation_order() {
        if needed.is_some_and(|n| !n[i]) {
            values[i] = Some(SecretString::default());
            continue;
        }
        let var = &variables[i];
        let entry = vault.variables.get(&var.name);
        let value = match &var.kind {
            Kind::Derived(template) => {
                let ready = template
                    .references()
                    .all(|r| schema.position(r.name).is_some_and(|d| values[d].is_some()));
                if ready {
                    let rendered = template.render(
                        |name| {
                            let d = schema.position(name).expect("references are validated");
                            values[d]
                                .as_ref()
                                .expect("dependencies come first")
                                .expose_secret()
                        },
                        MAX_VALUE,
                    );
                    let Some(rendered) = rendered else {
                        return Err(Error::DerivedTooLong {
                            name: var.name.clone(),
                        });
                    };
                    Some(rendered.to_secret())
                } else {
                    None
                }
            }
            Kind::Hashed { .. } => entry.and_then(|e| e.hash.clone()),
            Kind::Fixed(_) | Kind::Secret(_) => entry.map(|e| e.value.clone()),
        };
        match &value {
            None if var.kind.is_stored() => missing.push(i),
            Some(v) => {
                check_value(v.expose_secret()).map_err(|reason| Error::UnrenderableValue {
                    name: var.name.clone(),
                    reason,
                })?
            }
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
    Ok(values
        .into_iter()
        .map(|v| v.expect("every value resolved"))
        .collect())
}
