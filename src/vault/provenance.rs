//! How and by whom a value was set, as every entry and previous version records it.
//!
//! A vault repeats the same few pairs thousands of times (`init` by one member, `rotate` by
//! another), so each distinct pair is held once: reading a vault shares one allocation per
//! pair between all the entries that use it, behind an 8-byte pointer, where each entry kept
//! two `String`s before (a 10,000-variable vault holds 10,000 of them).

use std::cell::RefCell;
use std::collections::HashSet;
use std::fmt;
use std::ops::Deref;
use std::sync::Arc;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// How and by whom a value was set; its fields are read through [`Spelling`].
#[derive(Clone, PartialEq, Eq)]
pub struct Provenance(Arc<Spelling>);

/// What a [`Provenance`] says.
#[derive(Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Spelling {
    /// The operation: `init`, `rotate`, `rollback`.
    pub how: Box<str>,
    /// Who did it: the public recipient of the identity in use, or `-` when none was used.
    pub by: Box<str>,
}

impl Provenance {
    /// Operation `how` by `by`.
    pub fn new(how: &str, by: &str) -> Provenance {
        Provenance(Arc::new(Spelling {
            how: how.into(),
            by: by.into(),
        }))
    }
}

impl Deref for Provenance {
    type Target = Spelling;
    fn deref(&self) -> &Spelling {
        &self.0
    }
}

impl fmt::Debug for Provenance {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

impl Serialize for Provenance {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        self.0.serialize(s)
    }
}

/// At most this many distinct pairs are shared per read; any more are kept apart (a vault
/// with thousands of members is still read, in bounded extra memory).
const MAX_SHARED: usize = 256;

thread_local! {
    /// The pairs met while reading one vault; emptied by [`forget_shared`].
    static SHARED: RefCell<HashSet<Arc<Spelling>>> = RefCell::new(HashSet::new());
}

/// Drops the pairs kept for sharing: called once a vault has been read, so nothing outlives
/// the read but the entries themselves.
pub(super) fn forget_shared() {
    SHARED.with(|shared| *shared.borrow_mut() = HashSet::new());
}

impl<'de> Deserialize<'de> for Provenance {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Provenance, D::Error> {
        let spelling = Spelling::deserialize(d)?;
        Ok(Provenance(SHARED.with(|shared| {
            let mut shared = shared.borrow_mut();
            if let Some(known) = shared.get(&spelling) {
                return Arc::clone(known);
            }
            let new = Arc::new(spelling);
            if shared.len() < MAX_SHARED {
                shared.insert(Arc::clone(&new));
            }
            new
        })))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn equal_pairs_read_from_a_vault_share_one_allocation() {
        let text = r#"[{"how":"init","by":"age1me"},{"how":"init","by":"age1me"},{"how":"init","by":"age1you"}]"#;
        let read: Vec<Provenance> = serde_json::from_str(text).unwrap();
        forget_shared();
        assert!(Arc::ptr_eq(&read[0].0, &read[1].0));
        assert!(!Arc::ptr_eq(&read[0].0, &read[2].0));
        assert_eq!(&*read[2].by, "age1you");
        assert_eq!(read[0], Provenance::new("init", "age1me"));
        assert_eq!(serde_json::to_string(&read).unwrap(), text);
        // Nothing is kept once the read is over.
        SHARED.with(|shared| assert!(shared.borrow().is_empty()));
    }

    #[test]
    fn sharing_is_bounded() {
        let many: Vec<String> = (0..MAX_SHARED + 50)
            .map(|i| format!(r#"{{"how":"set","by":"age1member{i}"}}"#))
            .collect();
        let text = format!("[{}]", many.join(","));
        let read: Vec<Provenance> = serde_json::from_str(&text).unwrap();
        SHARED.with(|shared| assert_eq!(shared.borrow().len(), MAX_SHARED));
        forget_shared();
        assert_eq!(&*read[MAX_SHARED + 49].by, "age1member305");
        assert!(serde_json::from_str::<Provenance>(r#"{"how":1,"by":"x"}"#).is_err());
        assert!(serde_json::from_str::<Provenance>(r#"{"how":"a","by":"x","z":1}"#).is_err());
    }
}
