//! Three-way merge of vaults, for git's merge driver (`envgen merge-driver`).
//!
//! git cannot merge ciphertext; envgen can merge what is inside. Given the common base and
//! the two sides, each decrypted, every variable is merged on its own: changed on one side,
//! that side's value (and its history) wins; changed identically on both, fine; changed
//! differently on both (or changed on one side and deleted on the other), a conflict that
//! names the variable, and nothing is written. Histories of both sides are kept,
//! deduplicated, newest first, as long as the longer of the two.
//!
//! **Recipients** merge the same way, per key: an addition on either side is kept, a
//! removal on either side wins. **Lineages**: a side that removed someone started a new
//! lineage; the result then starts a new one again, naming both sides' lineages among its
//! predecessors, so machines pinned to either follow it and a former member, who knew only
//! the old lineage, cannot make a vault they accept. A side whose lineage is neither the
//! base's nor a successor of it is refused: it is not a branch of this vault. Two sides that
//! each left the base's lineage for one of their own are refused too: a former member knows
//! the base's lineage secret and could make such a branch to bring their keys back. The result's
//! generation is above both sides' and it records both (lineage, generation) pairs in
//! `merged_from`, which the pin check accepts as proof of descent.

use std::collections::BTreeMap;

use secrecy::ExposeSecret;

use super::{Entry, MAX_REMOVALS, Parent, Removal, Vault, Version};

/// What a merge produced.
#[derive(Debug)]
pub enum Outcome {
    /// The merged vault (not yet saved: saving counts the new generation) and notes for
    /// the person merging.
    Merged {
        /// The result.
        vault: Box<Vault>,
        /// What the person merging should know (rotation due, a new lineage).
        notes: Vec<String>,
    },
    /// Variables changed differently on both sides; nothing was merged.
    Conflict {
        /// Each conflicting variable with what happened on each side.
        variables: Vec<(String, &'static str)>,
    },
    /// A side is not a descendant of the base: another vault, or a forged one.
    Unrelated {
        /// `ours` or `theirs`.
        side: &'static str,
    },
    /// Both sides left the base's lineage, each for another one. A former member knows the
    /// base's lineage secret and can make a branch that claims to follow it; merged with a
    /// branch where they were removed, it would bring their keys back. Refused.
    TwoNewLineages,
}

fn same(a: Option<&Entry>, b: Option<&Entry>) -> bool {
    match (a, b) {
        (None, None) => true,
        (Some(a), Some(b)) => {
            a.value.expose_secret() == b.value.expose_secret()
                && a.hash.as_ref().map(|h| h.expose_secret())
                    == b.hash.as_ref().map(|h| h.expose_secret())
        }
        _ => false,
    }
}

/// Whether `side` is the base's lineage or a successor of it.
fn descends(side: &Vault, base: &Vault) -> bool {
    let base_lineage = base.lineage_hash();
    side.lineage_hash() == base_lineage || side.predecessor_hashes().contains(&base_lineage)
}

fn clone_version(v: &Version) -> Version {
    Version {
        value: v.value.clone(),
        hash: v.hash.clone(),
        set: v.set,
        retired: v.retired,
        set_by: v.set_by.clone(),
        nonconforming: v.nonconforming,
    }
}

fn clone_entry(e: &Entry) -> Entry {
    Entry {
        value: e.value.clone(),
        hash: e.hash.clone(),
        created: e.created,
        rotated: e.rotated,
        set_by: e.set_by.clone(),
        nonconforming: e.nonconforming,
        history: e.history.iter().map(clone_version).collect(),
    }
}

/// `chosen` with the previous versions of `other` added: deduplicated by value and date,
/// newest first, as many as the longer history, the current value never repeated.
fn with_both_histories(chosen: &Entry, other: Option<&Entry>) -> Entry {
    let mut entry = clone_entry(chosen);
    let Some(other) = other else {
        return entry;
    };
    let keep = chosen.history.len().max(other.history.len());
    let mut all: Vec<Version> = chosen
        .history
        .iter()
        .chain(other.history.iter())
        .map(clone_version)
        .collect();
    // The other side's current value, when it was replaced by the merge, is history too
    // (retired now).
    if other.value.expose_secret() != chosen.value.expose_secret() {
        all.push(Version {
            value: other.value.clone(),
            hash: other.hash.clone(),
            set: other.rotated,
            retired: chosen.rotated,
            set_by: other.set_by.clone(),
            nonconforming: other.nonconforming,
        });
    }
    all.sort_by(|a, b| b.retired.cmp(&a.retired).then(b.set.cmp(&a.set)));
    let mut kept: Vec<Version> = Vec::with_capacity(all.len());
    for v in all {
        let duplicate = v.value.expose_secret() == entry.value.expose_secret()
            && v.set == entry.rotated
            || kept
                .iter()
                .any(|k| k.set == v.set && k.value.expose_secret() == v.value.expose_secret());
        if !duplicate {
            kept.push(v);
        }
    }
    kept.truncate(keep.max(entry.history.len()));
    entry.history = kept.into_boxed_slice();
    entry
}

/// Merges recipient lists: an addition on either side is kept, a removal on either side
/// wins. Returns the merged list (ours' order, then theirs' additions) and the removed keys.
pub fn merge_recipients(
    base: &[String],
    ours: &[String],
    theirs: &[String],
) -> (Vec<String>, Vec<String>) {
    let mut recipients: Vec<String> = Vec::new();
    let mut removed: Vec<String> = Vec::new();
    for key in ours.iter().chain(theirs).chain(base) {
        if recipients.contains(key) || removed.contains(key) {
            continue;
        }
        let (in_o, in_t) = (ours.contains(key), theirs.contains(key));
        let keep = if base.contains(key) {
            in_o && in_t
        } else {
            in_o || in_t
        };
        if keep {
            recipients.push(key.clone());
        } else if base.contains(key) {
            removed.push(key.clone());
        }
    }
    (recipients, removed)
}

/// Merges `ours` and `theirs`, both descended from `base`.
pub fn merge(base: &Vault, ours: &Vault, theirs: &Vault) -> Outcome {
    for (side, vault) in [("ours", ours), ("theirs", theirs)] {
        if !descends(vault, base) {
            return Outcome::Unrelated { side };
        }
    }
    let base_lineage = base.lineage_hash();
    if ours.lineage_hash() != base_lineage
        && theirs.lineage_hash() != base_lineage
        && ours.lineage_hash() != theirs.lineage_hash()
    {
        return Outcome::TwoNewLineages;
    }
    let mut notes = Vec::new();

    // Variables, each on its own.
    let mut names: Vec<&String> = base
        .variables
        .keys()
        .chain(ours.variables.keys())
        .chain(theirs.variables.keys())
        .collect();
    names.sort();
    names.dedup();
    let mut variables = BTreeMap::new();
    let mut conflicts = Vec::new();
    for name in names {
        let (b, o, t) = (
            base.variables.get(name),
            ours.variables.get(name),
            theirs.variables.get(name),
        );
        let (chosen, other) = if same(o, t) {
            (o, t)
        } else if same(b, o) {
            (t, o)
        } else if same(b, t) {
            (o, t)
        } else {
            let what = match (o, t) {
                (None, _) | (_, None) => "changed on one side and deleted on the other",
                _ => "changed differently on both sides",
            };
            conflicts.push((name.clone(), what));
            continue;
        };
        if let Some(chosen) = chosen {
            variables.insert(name.clone(), with_both_histories(chosen, other));
        }
    }
    if !conflicts.is_empty() {
        return Outcome::Conflict {
            variables: conflicts,
        };
    }

    let (recipients, removed) =
        merge_recipients(&base.recipients, &ours.recipients, &theirs.recipients);

    // Removals: both sides' records; a secret stays exposed while the merged value is one
    // the removed key could read, on the side that removed it or on the side that still
    // encrypted to it.
    let mut removals: Vec<Removal> = Vec::new();
    for side in [ours, theirs] {
        for r in &side.removals {
            if !removals
                .iter()
                .any(|k| k.recipient == r.recipient && k.removed == r.removed)
            {
                removals.push(Removal {
                    recipient: r.recipient.clone(),
                    removed: r.removed,
                    exposed: Vec::new(),
                });
            }
        }
    }
    for removal in &mut removals {
        for side in [ours, theirs] {
            let recorded = side
                .removals
                .iter()
                .find(|r| r.recipient == removal.recipient && r.removed == removal.removed);
            let still_recipient = side.recipients.contains(&removal.recipient);
            for (name, entry) in &variables {
                let from_side = side
                    .variables
                    .get(name)
                    .is_some_and(|e| same(Some(e), Some(entry)));
                let listed = recorded.is_some_and(|r| r.exposed.contains(name));
                let changed_here = !same(base.variables.get(name), side.variables.get(name));
                let exposed = from_side && (listed || (still_recipient && changed_here));
                if exposed && !removal.exposed.contains(name) {
                    removal.exposed.push(name.clone());
                }
            }
        }
    }
    removals.sort_by_key(|r| std::cmp::Reverse(r.removed));
    removals.truncate(MAX_REMOVALS);

    let mut result = Vault {
        format: ours.format.clone(),
        schema: ours.schema.clone(),
        recipients,
        passphrase_work_factor: ours.passphrase_work_factor,
        passphrase: None,
        lineage: ours.lineage.clone(),
        generation: ours.generation.max(theirs.generation),
        predecessors: Vec::new(),
        fingerprint_key: ours.fingerprint_key.clone(),
        variables,
        merged_from: vec![
            Parent {
                lineage: ours.lineage_hash(),
                generation: ours.generation,
            },
            Parent {
                lineage: theirs.lineage_hash(),
                generation: theirs.generation,
            },
        ],
        removals,
    };
    // Both sides' predecessors (and theirs' lineage, when it differs) are the result's.
    result.adopt_lineages(&[ours, theirs]);
    if ours.lineage_hash() != theirs.lineage_hash() {
        // A side removed someone (or rotated everything): what the old lineage secret could
        // do ends here too; both sides' lineages become predecessors.
        result.new_lineage();
        notes.push("a side started a new lineage (a recipient removed, or rotate --all): the merge starts another one, which machines pinned to either side follow".into());
    }
    for key in &removed {
        notes.push(format!(
            "recipient {key} was removed on one side and stays removed; rotation is due for what it could read (`envgen check` lists it)"
        ));
    }
    Outcome::Merged {
        vault: Box::new(result),
        notes,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::vault::Provenance;
    use secrecy::SecretString;

    fn by() -> Provenance {
        Provenance::new("rotate", "-")
    }

    fn copy(v: &Vault) -> Vault {
        Vault::from_plaintext(&v.to_plaintext(), std::path::Path::new("v")).unwrap()
    }

    fn base() -> Vault {
        let mut v = Vault::new("s", vec!["age1a".into(), "age1b".into()]);
        for (n, x) in [("A", "a0"), ("B", "b0")] {
            v.variables
                .insert(n.into(), Entry::new(SecretString::from(x), None, by()));
        }
        v.generation = 3;
        v
    }

    fn set(v: &mut Vault, name: &str, value: &str) {
        v.variables
            .get_mut(name)
            .unwrap()
            .replace(SecretString::from(value), None, by(), 5);
        v.generation += 1;
    }

    fn value<'a>(v: &'a Vault, name: &str) -> &'a str {
        v.variables[name].value.expose_secret()
    }

    #[test]
    fn different_variables_merge_and_keep_both_histories() {
        let base = base();
        let (mut ours, mut theirs) = (copy(&base), copy(&base));
        set(&mut ours, "A", "a1");
        set(&mut theirs, "B", "b1");
        set(&mut theirs, "B", "b2");
        let Outcome::Merged { vault, notes } = merge(&base, &ours, &theirs) else {
            panic!("merges")
        };
        assert_eq!((value(&vault, "A"), value(&vault, "B")), ("a1", "b2"));
        assert_eq!(vault.variables["B"].history.len(), 2);
        assert_eq!(vault.generation, 5, "max of both; saving adds one");
        assert_eq!(vault.lineage_hash(), base.lineage_hash());
        assert_eq!(vault.merged_from.len(), 2);
        assert!(notes.is_empty());
    }

    #[test]
    fn the_same_variable_changed_on_both_sides_conflicts() {
        let base = base();
        let (mut ours, mut theirs) = (copy(&base), copy(&base));
        set(&mut ours, "A", "a1");
        set(&mut theirs, "A", "a2");
        set(&mut theirs, "B", "b1");
        let Outcome::Conflict { variables } = merge(&base, &ours, &theirs) else {
            panic!("conflicts")
        };
        assert_eq!(
            variables,
            [("A".to_string(), "changed differently on both sides")]
        );
    }

    #[test]
    fn a_removal_wins_starts_a_lineage_and_exposes_the_other_sides_changes() {
        let base = base();
        let (mut ours, mut theirs) = (copy(&base), copy(&base));
        ours.recipients.push("age1c".into());
        set(&mut ours, "A", "a1"); // still encrypted to age1b on this branch
        theirs.recipients.retain(|r| r != "age1b");
        theirs.new_lineage();
        theirs.record_removal("age1b", vec!["A".into(), "B".into()]);
        set(&mut theirs, "B", "b1");
        theirs.mark_rotated("B");
        let Outcome::Merged { vault, notes } = merge(&base, &ours, &theirs) else {
            panic!("merges")
        };
        assert_eq!(vault.recipients, ["age1a", "age1c"]);
        assert!(vault.predecessor_hashes().contains(&ours.lineage_hash()));
        assert!(vault.predecessor_hashes().contains(&theirs.lineage_hash()));
        assert_ne!(vault.lineage_hash(), theirs.lineage_hash());
        assert_eq!(
            vault.removals[0].exposed,
            ["A"],
            "B was rotated after the removal"
        );
        assert!(
            notes
                .iter()
                .any(|n| n.contains("age1b") && n.contains("rotation is due"))
        );
    }

    /// The security review's attack: a member removed on ours (a new lineage) branches from
    /// a base they belonged to and commits a vault of a lineage of their own that names the
    /// base's as its predecessor, with a key of theirs added; merging it must not bring them
    /// back.
    #[test]
    fn two_new_lineages_are_not_merged() {
        let base = base();
        let (mut ours, mut theirs) = (copy(&base), copy(&base));
        ours.recipients.retain(|r| r != "age1b");
        ours.new_lineage();
        theirs.recipients.push("age1attacker".into());
        theirs.new_lineage();
        set(&mut theirs, "B", "chosen");
        assert!(matches!(
            merge(&base, &ours, &theirs),
            Outcome::TwoNewLineages
        ));
        // One side at the base's lineage merges as before.
        let unchanged = copy(&base);
        assert!(matches!(
            merge(&base, &ours, &unchanged),
            Outcome::Merged { .. }
        ));
    }

    #[test]
    fn an_unrelated_side_is_refused() {
        let base = base();
        let ours = copy(&base);
        let forged = Vault::new("s", vec!["age1a".into()]);
        assert!(matches!(
            merge(&base, &ours, &forged),
            Outcome::Unrelated { side: "theirs" }
        ));
    }
}
