//! One stored value with its dates, who set it, and its previous versions, newest first.

use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize, Serializer};

use super::{Provenance, Stamp};

/// One stored value and its previous versions. Its `Debug` shows dates only.
#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Entry {
    /// The value (for a hashed variable, the plaintext).
    #[serde(serialize_with = "super::expose")]
    pub value: SecretString,
    /// For a hashed variable, the PHC string rendered in its place.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        serialize_with = "expose_option"
    )]
    pub hash: Option<SecretString>,
    /// When the variable was first stored.
    pub created: Stamp,
    /// When the current value was set.
    pub rotated: Stamp,
    /// How the current value was set, and by whom.
    pub set_by: Provenance,
    /// The current value was imported and does not match the schema's format: shown by
    /// `list` and `check` until it is rotated.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub nonconforming: bool,
    /// Previous values, newest first (a boxed slice: an entry changes its history only when
    /// it is rotated, and the 8 bytes of a capacity count in every entry of the vault).
    #[serde(default, skip_serializing_if = "<[Version]>::is_empty")]
    pub history: Box<[Version]>,
}

/// A previous value of a variable.
#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Version {
    /// The value.
    #[serde(serialize_with = "super::expose")]
    pub value: SecretString,
    /// Its PHC string, for a hashed variable.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        serialize_with = "expose_option"
    )]
    pub hash: Option<SecretString>,
    /// When it was set.
    pub set: Stamp,
    /// When it was replaced.
    pub retired: Stamp,
    /// How and by whom it was set.
    pub set_by: Provenance,
    /// It did not match the schema's format (an imported value).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub nonconforming: bool,
}

fn expose_option<S: Serializer>(
    secret: &Option<SecretString>,
    s: S,
) -> std::result::Result<S::Ok, S::Error> {
    match secret {
        Some(secret) => s.serialize_some(secret.expose_secret()),
        None => s.serialize_none(),
    }
}

impl Entry {
    /// A value stored now.
    pub fn new(value: SecretString, hash: Option<SecretString>, set_by: Provenance) -> Self {
        let now = Stamp::now();
        Entry {
            value,
            hash,
            created: now,
            rotated: now,
            set_by,
            nonconforming: false,
            history: Box::default(),
        }
    }

    /// Makes `value` current, keeping the current one as the newest of at most `keep`
    /// previous versions.
    pub fn replace(
        &mut self,
        value: SecretString,
        hash: Option<SecretString>,
        set_by: Provenance,
        keep: usize,
    ) {
        let now = Stamp::now();
        let previous = Version {
            value: std::mem::replace(&mut self.value, value),
            hash: std::mem::replace(&mut self.hash, hash),
            set: std::mem::replace(&mut self.rotated, now),
            retired: now,
            set_by: std::mem::replace(&mut self.set_by, set_by),
            nonconforming: std::mem::take(&mut self.nonconforming),
        };
        let mut history = std::mem::take(&mut self.history).into_vec();
        history.insert(0, previous);
        history.truncate(keep);
        self.history = history.into_boxed_slice();
    }

    /// Makes previous version `index` (0 = newest) current again; the current value becomes
    /// the newest previous version.
    pub fn restore(&mut self, index: usize, set_by: Provenance, keep: usize) {
        let mut history = std::mem::take(&mut self.history).into_vec();
        let version = history.remove(index);
        self.history = history.into_boxed_slice();
        self.replace(version.value, version.hash, set_by, keep);
        self.nonconforming = version.nonconforming;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry_with_history(values: &[&str], keep: usize) -> Entry {
        let by = |how: &str| Provenance::new(how, "-");
        let mut entry = Entry::new(SecretString::from(values[0]), None, by("init"));
        for v in &values[1..] {
            entry.replace(SecretString::from(*v), None, by("rotate"), keep);
        }
        entry
    }

    fn shown(entry: &Entry) -> Vec<&str> {
        std::iter::once(entry.value.expose_secret())
            .chain(entry.history.iter().map(|v| v.value.expose_secret()))
            .collect()
    }

    #[test]
    fn history_is_newest_first_and_bounded() {
        let entry = entry_with_history(&["a", "b", "c", "d"], 2);
        assert_eq!(shown(&entry), ["d", "c", "b"]);
        assert_eq!(&*entry.history[0].set_by.how, "rotate");
        assert_eq!(entry_with_history(&["a", "b"], 0).history.len(), 0);
    }

    #[test]
    fn restore_swaps_the_current_value_into_history() {
        let mut entry = entry_with_history(&["a", "b", "c"], 5);
        entry.restore(1, Provenance::new("rollback", "-"), 5);
        assert_eq!(shown(&entry), ["a", "c", "b"]);
        assert_eq!(&*entry.set_by.how, "rollback");
        let mut full = entry_with_history(&["a", "b", "c"], 2);
        full.restore(1, Provenance::new("rollback", "-"), 2);
        assert_eq!(shown(&full), ["a", "c", "b"]);
    }
}
