//! What this machine has seen of each vault: its lineage and the highest generation.
//!
//! age authenticates a file but not its author: anyone who has the public recipients can
//! write a brand-new, valid vault, and an old vault can be put back in place. Every vault
//! therefore carries, inside its encrypted plaintext, a random lineage secret (fixed at
//! creation) and a generation counter (increased by every write). The first time a machine
//! opens a vault at a path, it records a hash of the lineage and the generation, like ssh's
//! `known_hosts`; afterwards a vault of another lineage (a forgery, or another vault) or of
//! a lower generation (a rollback) is refused until the operator accepts it deliberately
//! with `--accept-vault`. The record lives in `$XDG_STATE_HOME/envgen/pins.json`
//! (`~/.local/state/envgen/pins.json`) and holds no secret: the lineage is stored hashed.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::error::{Error, Result};
use crate::vault::store::{Existing, write_atomic, xdg_dir};

/// What was seen of one vault.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Pin {
    /// SHA-256 of the vault's lineage secret, hex.
    pub lineage: String,
    /// The highest generation seen.
    pub generation: u64,
}

/// The pins of this machine, by absolute vault path.
#[derive(Debug)]
pub struct Pins {
    path: PathBuf,
    pins: BTreeMap<String, Pin>,
}

/// How a vault compares with what this machine has seen.
#[derive(Debug, PartialEq, Eq)]
pub enum Seen {
    /// Never opened here before.
    FirstUse,
    /// The same lineage, at the pinned generation or a later one.
    Known,
}

/// The hex SHA-256 of a lineage secret.
pub fn lineage_hash(lineage: &str) -> String {
    hex::encode(Sha256::digest(lineage.as_bytes()))
}

/// The key of a vault in the pin file: its absolute path.
fn key(vault: &Path) -> String {
    let absolute = std::path::absolute(vault).unwrap_or_else(|_| vault.to_path_buf());
    absolute.to_string_lossy().into_owned()
}

impl Pins {
    /// The default pin file: `$XDG_STATE_HOME/envgen/pins.json`, or under `~/.local/state`.
    pub fn default_path() -> Option<PathBuf> {
        xdg_dir("XDG_STATE_HOME", ".local/state").map(|dir| dir.join("pins.json"))
    }

    /// Reads the pin file at `path`; a missing file holds no pin.
    pub fn load(path: PathBuf) -> Result<Pins> {
        let pins = match std::fs::read(&path) {
            Ok(bytes) => serde_json::from_slice(&bytes)
                .map_err(|_| Error::PinsUnreadable { path: path.clone() })?,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => BTreeMap::new(),
            Err(e) => return Err(Error::io("read", &path, e)),
        };
        Ok(Pins { path, pins })
    }

    /// Compares a vault (its lineage hash and generation) with what was seen at `vault`.
    pub fn check(&self, vault: &Path, lineage: &str, generation: u64) -> Result<Seen> {
        let Some(pin) = self.pins.get(&key(vault)) else {
            return Ok(Seen::FirstUse);
        };
        if pin.lineage != lineage {
            return Err(Error::VaultLineage {
                path: vault.to_path_buf(),
                pins: self.path.clone(),
            });
        }
        if generation < pin.generation {
            return Err(Error::VaultRolledBack {
                path: vault.to_path_buf(),
                found: generation,
                seen: pin.generation,
                pins: self.path.clone(),
            });
        }
        Ok(Seen::Known)
    }

    /// Records a vault; with `replace`, even one of another lineage or an older generation.
    /// Returns whether the file changed.
    pub fn record(
        &mut self,
        vault: &Path,
        lineage: &str,
        generation: u64,
        replace: bool,
    ) -> Result<bool> {
        let pin = Pin {
            lineage: lineage.to_string(),
            generation,
        };
        let changed = match self.pins.get(&key(vault)) {
            Some(old) if !replace && old.lineage == pin.lineage && old.generation >= generation => {
                false
            }
            Some(old) if *old == pin => false,
            _ => true,
        };
        if changed {
            self.pins.insert(key(vault), pin);
            let text = serde_json::to_vec_pretty(&self.pins).expect("pins always serialize");
            write_atomic(&self.path, &text, 0o600, Existing::Replace)?;
        }
        Ok(changed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn first_use_then_known_then_refusals() {
        let dir = tempfile::tempdir().unwrap();
        let mut pins = Pins::load(dir.path().join("state/pins.json")).unwrap();
        let vault = dir.path().join("v.age");
        let a = lineage_hash("lineage a");
        assert_eq!(pins.check(&vault, &a, 3).unwrap(), Seen::FirstUse);
        assert!(pins.record(&vault, &a, 3, false).unwrap());
        let mut pins = Pins::load(dir.path().join("state/pins.json")).unwrap();
        assert_eq!(pins.check(&vault, &a, 3).unwrap(), Seen::Known);
        assert_eq!(pins.check(&vault, &a, 4).unwrap(), Seen::Known);
        assert!(matches!(
            pins.check(&vault, &a, 2),
            Err(Error::VaultRolledBack {
                found: 2,
                seen: 3,
                ..
            })
        ));
        assert!(matches!(
            pins.check(&vault, &lineage_hash("b"), 9),
            Err(Error::VaultLineage { .. })
        ));
        assert!(
            !pins.record(&vault, &a, 2, false).unwrap(),
            "never lowered without replace"
        );
        assert!(pins.record(&vault, &a, 2, true).unwrap());
        assert_eq!(pins.check(&vault, &a, 2).unwrap(), Seen::Known);
        assert!(
            !std::fs::read_to_string(dir.path().join("state/pins.json"))
                .unwrap()
                .contains("lineage a")
        );
    }
}
