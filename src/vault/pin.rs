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
//! Commands update it under a lock (`.pins.json.lock` beside it), reading it again there,
//! so a command on one vault never drops the pin another command just wrote.
//!
//! **Lineages are replaced when someone loses access.** Removing a recipient (and
//! `rotate --all`) gives the vault a new lineage secret and a new fingerprint key, and keeps
//! the old lineage *secret* among the vault's predecessors (inside the encryption). A machine
//! pinned to the old lineage (it holds only its hash) follows the vault to the new one when
//! the vault shows a predecessor whose hash is the pin, so reading a pin file is not enough
//! to claim descent, and from then on refuses the old lineage as
//! retired: a former member, who knows the old lineage secret, can no longer make a vault
//! that this machine accepts. A machine that has not yet opened the new vault cannot tell the
//! honest successor from one the former member made first; SECURITY.md says so.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::error::{Error, Result};
use crate::files::{Existing, lock_beside, write_atomic};
use crate::vault::Parent;

/// What was seen of one vault.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Pin {
    /// SHA-256 of the vault's lineage secret, hex.
    pub lineage: String,
    /// The highest generation seen.
    pub generation: u64,
    /// Lineages this vault has left behind (hashes, newest first): refused from now on.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub retired: Vec<String>,
}

/// Retired lineages remembered per vault.
const MAX_RETIRED: usize = 64;

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
    /// A new lineage that names the pinned one as its predecessor.
    Successor,
}

/// The pins in the file at `path`; a missing file holds none.
fn read(path: &Path) -> Result<BTreeMap<String, Pin>> {
    match crate::files::read_capped(path, crate::files::limits::PINS) {
        Ok(bytes) => serde_json::from_slice(&bytes).map_err(|_| Error::PinsUnreadable {
            path: path.to_path_buf(),
        }),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(BTreeMap::new()),
        Err(e) => Err(Error::io("read", path, e)),
    }
}

/// The hex SHA-256 of a lineage secret.
pub fn lineage_hash(lineage: &str) -> String {
    hex::encode(Sha256::digest(lineage.as_bytes()))
}

/// The key of a vault in the pin file: its absolute path.
/// Its directory resolved (symlinks, `..`), so that one vault is one key however it is
/// spelled; `std::path::absolute` alone when the directory cannot be resolved.
fn key(vault: &Path) -> String {
    let absolute = std::path::absolute(vault).unwrap_or_else(|_| vault.to_path_buf());
    let resolved = match (absolute.parent(), absolute.file_name()) {
        (Some(dir), Some(name)) => std::fs::canonicalize(dir)
            .map(|dir| dir.join(name))
            .unwrap_or(absolute),
        _ => absolute,
    };
    resolved.to_string_lossy().into_owned()
}

impl Pins {
    /// Reads the pin file at `path`; a missing file holds no pin.
    pub fn load(path: PathBuf) -> Result<Pins> {
        let pins = read(&path)?;
        Ok(Pins { path, pins })
    }

    /// Compares a vault (its lineage hash, generation, predecessor lineages and, for a
    /// merge, the sides it was merged from) with what was seen at `vault`.
    pub fn check(
        &self,
        vault: &Path,
        lineage: &str,
        generation: u64,
        predecessors: &[String],
        merged_from: &[Parent],
    ) -> Result<Seen> {
        let seen = Sighting {
            lineage,
            generation,
            predecessors,
        };
        self.check_at(vault, &key(vault), &seen, merged_from)
    }

    /// [`Pins::check`] of the pin at `key`.
    fn check_at(
        &self,
        vault: &Path,
        key: &str,
        seen: &Sighting<'_>,
        merged_from: &[Parent],
    ) -> Result<Seen> {
        let (lineage, generation) = (seen.lineage, seen.generation);
        let predecessors = seen.predecessors;
        let Some(pin) = self.pins.get(key) else {
            return Ok(Seen::FirstUse);
        };
        if pin.retired.iter().any(|r| r == lineage) {
            return Err(Error::VaultRetired {
                path: vault.to_path_buf(),
                pins: self.path.clone(),
            });
        }
        if pin.lineage != lineage && predecessors.contains(&pin.lineage) {
            return Ok(Seen::Successor);
        }
        if pin.lineage != lineage {
            return Err(Error::VaultLineage {
                path: vault.to_path_buf(),
                pins: self.path.clone(),
            });
        }
        // A merge made from the version pinned here descends from it, whatever its
        // generation: it names that (lineage, generation) as one of its sides.
        let merged_from_pin = merged_from
            .iter()
            .any(|p| p.lineage == pin.lineage && p.generation == pin.generation);
        if generation < pin.generation && !merged_from_pin {
            return Err(Error::VaultRolledBack {
                path: vault.to_path_buf(),
                found: generation,
                seen: pin.generation,
                pins: self.path.clone(),
            });
        }
        Ok(Seen::Known)
    }

    /// The highest generation seen at `vault` when its pinned lineage is `lineage`.
    pub fn generation(&self, vault: &Path, lineage: &str) -> Option<u64> {
        self.pins
            .get(&key(vault))
            .filter(|pin| pin.lineage == lineage)
            .map(|pin| pin.generation)
    }

    /// Records a vault and the lineages it left behind (`predecessors`). Returns whether the
    /// file changed.
    ///
    /// With `deliberate` (the operator's `--accept-vault`, or a vault this machine has just
    /// written under the vault's lock) the pin becomes exactly this vault. Otherwise the
    /// vault is checked again, at the moment of recording, against the pins as they are
    /// then: another command may have recorded since this one loaded them (a write that
    /// retired this lineage, a newer generation). A lineage now retired or foreign is
    /// refused, as [`Pins::check`] refuses it; a successor replaces the pin; a generation is
    /// never lowered.
    ///
    /// The pin file is read again and written under the lock beside it, and only this
    /// vault's pin changes, so no command's pin is lost. A record that changes nothing in
    /// the pins as loaded (most reads) takes no lock.
    pub fn record(
        &mut self,
        vault: &Path,
        lineage: &str,
        generation: u64,
        predecessors: &[String],
        deliberate: bool,
    ) -> Result<bool> {
        let key = key(vault);
        let sighting = Sighting {
            lineage,
            generation,
            predecessors,
        };
        if self.decide(vault, &key, &sighting, deliberate)?.is_none() {
            return Ok(false);
        }
        let _lock = lock_beside(&self.path)?;
        self.pins = read(&self.path)?;
        let Some(pin) = self.decide(vault, &key, &sighting, deliberate)? else {
            return Ok(false);
        };
        self.pins.insert(key, pin);
        let text = serde_json::to_vec_pretty(&self.pins).expect("pins always serialize");
        write_atomic(&self.path, &text, 0o600, Existing::Replace)?;
        Ok(true)
    }

    /// The pin at `key` after recording `seen` (see [`Pins::record`]), when it differs
    /// from the one held; an error when the pins held refuse the vault.
    fn decide(
        &self,
        vault: &Path,
        key: &str,
        seen: &Sighting<'_>,
        deliberate: bool,
    ) -> Result<Option<Pin>> {
        let replace = match self.check_at(vault, key, seen, &[]) {
            _ if deliberate => true,
            Ok(Seen::Successor) => true,
            Ok(Seen::FirstUse | Seen::Known) => false,
            // Newer than this vault was pinned meanwhile (or the command accepted a
            // checked-out older version): the pin stays as it is.
            Err(Error::VaultRolledBack { .. }) => return Ok(None),
            Err(e) => return Err(e),
        };
        Ok(self.updated(key, seen, replace))
    }

    /// The pin at `key` after recording `seen`, when it differs from the one held; with
    /// `replace`, even one of another lineage or an older generation.
    fn updated(&self, key: &str, seen: &Sighting<'_>, replace: bool) -> Option<Pin> {
        let old = self.pins.get(key);
        let mut retired: Vec<String> = seen.predecessors.to_vec();
        let mut generation = seen.generation;
        if let Some(old) = old {
            if old.lineage != seen.lineage && seen.predecessors.contains(&old.lineage) {
                retired.push(old.lineage.clone());
            }
            retired.extend(old.retired.iter().cloned());
            if !replace && old.lineage == seen.lineage {
                generation = generation.max(old.generation);
            }
        }
        let mut kept = std::collections::BTreeSet::new();
        retired.retain(|r| r != seen.lineage && kept.insert(r.clone()));
        retired.truncate(MAX_RETIRED);
        let pin = Pin {
            lineage: seen.lineage.to_string(),
            generation,
            retired,
        };
        (old != Some(&pin)).then_some(pin)
    }
}

/// What one command saw of a vault, to record.
struct Sighting<'a> {
    lineage: &'a str,
    generation: u64,
    predecessors: &'a [String],
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Another command recording, from the pins as they are now: a first use without
    /// predecessors, or a write of this machine (deliberate) naming them.
    fn elsewhere(path: &Path, vault: &Path, lineage: &str, generation: u64, chain: &[String]) {
        let mut pins = Pins::load(path.to_path_buf()).unwrap();
        let deliberate = !chain.is_empty();
        pins.record(vault, lineage, generation, chain, deliberate)
            .unwrap();
    }

    #[test]
    fn first_use_then_known_then_refusals() {
        let dir = tempfile::tempdir().unwrap();
        let mut pins = Pins::load(dir.path().join("state/pins.json")).unwrap();
        let vault = dir.path().join("v.age");
        let a = lineage_hash("lineage a");
        assert_eq!(pins.check(&vault, &a, 3, &[], &[]).unwrap(), Seen::FirstUse);
        assert!(pins.record(&vault, &a, 3, &[], false).unwrap());
        let mut pins = Pins::load(dir.path().join("state/pins.json")).unwrap();
        assert_eq!(pins.check(&vault, &a, 3, &[], &[]).unwrap(), Seen::Known);
        assert_eq!(pins.check(&vault, &a, 4, &[], &[]).unwrap(), Seen::Known);
        assert!(matches!(
            pins.check(&vault, &a, 2, &[], &[]),
            Err(Error::VaultRolledBack {
                found: 2,
                seen: 3,
                ..
            })
        ));
        assert!(matches!(
            pins.check(&vault, &lineage_hash("b"), 9, &[], &[]),
            Err(Error::VaultLineage { .. })
        ));
        assert!(
            !pins.record(&vault, &a, 2, &[], false).unwrap(),
            "never lowered without replace"
        );
        assert!(pins.record(&vault, &a, 2, &[], true).unwrap());
        assert_eq!(pins.check(&vault, &a, 2, &[], &[]).unwrap(), Seen::Known);
        assert!(
            !std::fs::read_to_string(dir.path().join("state/pins.json"))
                .unwrap()
                .contains("lineage a")
        );
    }

    #[test]
    fn a_merge_naming_the_pinned_version_is_a_descendant_and_a_replay_is_not() {
        let dir = tempfile::tempdir().unwrap();
        let mut pins = Pins::load(dir.path().join("pins.json")).unwrap();
        let vault = dir.path().join("v.age");
        let a = lineage_hash("a");
        pins.record(&vault, &a, 9, &[], false).unwrap();
        let parent = |lineage: &str, generation| Parent {
            lineage: lineage.into(),
            generation,
        };
        let sides = [parent(&a, 9), parent(&a, 4)];
        assert_eq!(pins.check(&vault, &a, 5, &[], &sides).unwrap(), Seen::Known);
        // Another generation, or another lineage's generation 9, proves nothing.
        let other = [parent(&a, 8), parent(&lineage_hash("b"), 9)];
        assert!(matches!(
            pins.check(&vault, &a, 5, &[], &other),
            Err(Error::VaultRolledBack { .. })
        ));
        // A forged vault cannot name the pinned lineage: its own lineage differs.
        assert!(matches!(
            pins.check(&vault, &lineage_hash("forged"), 50, &[], &sides),
            Err(Error::VaultLineage { .. })
        ));
    }

    /// Two commands on two vaults (a render of one stack, a rotate of another) each read the
    /// pin file, add their own pin and write it back: neither may lose the other's pin.
    #[test]
    fn concurrent_records_keep_every_pin() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("state/pins.json");
        let (threads, each) = (6, 15);
        std::thread::scope(|scope| {
            for t in 0..threads {
                let (path, dir) = (path.clone(), dir.path());
                scope.spawn(move || {
                    for i in 0..each {
                        // Loaded long before it records, as `open` then `save` do.
                        let mut pins = Pins::load(path.clone()).unwrap();
                        let vault = dir.join(format!("v{t}-{i}.age"));
                        std::thread::yield_now();
                        assert!(
                            pins.record(&vault, &lineage_hash("l"), 1, &[], false)
                                .unwrap()
                        );
                    }
                });
            }
        });
        let pins = Pins::load(path).unwrap();
        assert_eq!(pins.pins.len(), threads * each, "a pin was lost");
    }

    /// A pin recorded by another command after this one read the file is not lowered.
    #[test]
    fn a_record_never_lowers_a_generation_recorded_meanwhile() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("pins.json");
        let vault = dir.path().join("v.age");
        let a = lineage_hash("a");
        let mut early = Pins::load(path.clone()).unwrap();
        Pins::load(path.clone())
            .unwrap()
            .record(&vault, &a, 7, &[], false)
            .unwrap();
        early
            .record(&vault, &a, 5, &[lineage_hash("old")], false)
            .unwrap();
        let pins = Pins::load(path).unwrap();
        assert_eq!(pins.generation(&vault, &a), Some(7));
        assert!(matches!(
            pins.check(&vault, &a, 6, &[], &[]),
            Err(Error::VaultRolledBack { seen: 7, .. })
        ));
    }

    /// A read that loaded the pins before a write on this machine retired its lineage
    /// (`recipients remove` started a new one) must not pin the old lineage again when it
    /// records what it read: it is refused, and the retirement stays.
    #[test]
    fn a_stale_read_cannot_bring_back_a_lineage_retired_meanwhile() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("pins.json");
        let vault = dir.path().join("v.age");
        let (old, new) = (lineage_hash("1"), lineage_hash("2"));
        elsewhere(&path, &vault, &old, 4, &[]);
        let mut reader = Pins::load(path.clone()).unwrap();
        assert_eq!(
            reader.check(&vault, &old, 5, &[], &[]).unwrap(),
            Seen::Known
        );
        elsewhere(&path, &vault, &new, 6, std::slice::from_ref(&old));
        assert!(matches!(
            reader.record(&vault, &old, 5, &[], false),
            Err(Error::VaultRetired { .. })
        ));
        let pins = Pins::load(path).unwrap();
        assert!(matches!(
            pins.check(&vault, &old, 1000, &[], &[]),
            Err(Error::VaultRetired { .. })
        ));
        assert_eq!(pins.generation(&vault, &new), Some(6));
    }

    /// A read of a successor lineage does not lower the generation a write of that
    /// lineage recorded meanwhile.
    #[test]
    fn a_stale_read_of_a_successor_does_not_lower_its_generation() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("pins.json");
        let vault = dir.path().join("v.age");
        let (old, new) = (lineage_hash("1"), lineage_hash("2"));
        let chain = [old.clone()];
        elsewhere(&path, &vault, &old, 4, &[]);
        let mut reader = Pins::load(path.clone()).unwrap();
        assert_eq!(
            reader.check(&vault, &new, 5, &chain, &[]).unwrap(),
            Seen::Successor
        );
        elsewhere(&path, &vault, &new, 8, &chain);
        assert!(!reader.record(&vault, &new, 5, &chain, false).unwrap());
        let pins = Pins::load(path).unwrap();
        assert_eq!(pins.generation(&vault, &new), Some(8));
    }

    #[test]
    fn one_vault_is_one_pin_however_its_path_is_spelled() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("vault")).unwrap();
        std::os::unix::fs::symlink(dir.path().join("vault"), dir.path().join("link")).unwrap();
        let plain = key(&dir.path().join("vault/v.age"));
        assert_eq!(key(&dir.path().join("vault/../vault/v.age")), plain);
        assert_eq!(key(&dir.path().join("link/v.age")), plain);
    }

    #[test]
    fn a_successor_lineage_is_followed_and_the_old_one_retired() {
        let dir = tempfile::tempdir().unwrap();
        let mut pins = Pins::load(dir.path().join("pins.json")).unwrap();
        let vault = dir.path().join("v.age");
        let (old, new, forged) = (lineage_hash("1"), lineage_hash("2"), lineage_hash("3"));
        pins.record(&vault, &old, 5, &[], false).unwrap();
        // The honest successor names the old lineage; any generation is accepted.
        let chain = [old.clone()];
        assert_eq!(
            pins.check(&vault, &new, 6, &chain, &[]).unwrap(),
            Seen::Successor
        );
        pins.record(&vault, &new, 6, &chain, true).unwrap();
        let pins = Pins::load(dir.path().join("pins.json")).unwrap();
        // A vault of the old lineage, whatever its generation, is refused as retired.
        assert!(matches!(
            pins.check(&vault, &old, 1000, &[], &[]),
            Err(Error::VaultRetired { .. })
        ));
        // So is a new lineage that claims the retired one as its predecessor.
        assert!(matches!(
            pins.check(&vault, &forged, 1000, &chain, &[]),
            Err(Error::VaultLineage { .. })
        ));
        assert_eq!(
            pins.check(&vault, &new, 6, &chain, &[]).unwrap(),
            Seen::Known
        );
    }
}
