//! How and by whom a value was set, as every entry and previous version records it.
//!
//! A vault repeats the same few spellings thousands of times (`init`, `rotate`, one
//! recipient per member), so each distinct one is held once: reading a vault shares one
//! `Arc<str>` per spelling between all the entries that use it, where each kept its own
//! `String` before (a 10,000-variable vault holds 20,000 of them).

use std::cell::RefCell;
use std::collections::HashSet;
use std::fmt;
use std::sync::Arc;

use serde::de::{self, Visitor};
use serde::{Deserialize, Deserializer, Serialize};

/// How and by whom a value was set.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Provenance {
    /// The operation: `init`, `rotate`, `rollback`.
    #[serde(deserialize_with = "shared")]
    pub how: Arc<str>,
    /// Who did it: the public recipient of the identity in use, or `-` when none was used.
    #[serde(deserialize_with = "shared")]
    pub by: Arc<str>,
}

impl Provenance {
    /// Operation `how` by `by`.
    pub fn new(how: &str, by: &str) -> Provenance {
        Provenance {
            how: how.into(),
            by: by.into(),
        }
    }
}

/// At most this many distinct spellings are shared per read; any more are kept apart (a
/// vault with thousands of members is still read, in bounded extra memory).
const MAX_SHARED: usize = 256;

thread_local! {
    /// The spellings met while reading one vault; emptied by [`forget_shared`].
    static SHARED: RefCell<HashSet<Arc<str>>> = RefCell::new(HashSet::new());
}

/// Drops the spellings kept for sharing: called once a vault has been read, so nothing
/// outlives the read but the entries themselves.
pub(super) fn forget_shared() {
    SHARED.with(|shared| *shared.borrow_mut() = HashSet::new());
}

fn shared<'de, D: Deserializer<'de>>(d: D) -> Result<Arc<str>, D::Error> {
    struct SharedVisitor;
    impl Visitor<'_> for SharedVisitor {
        type Value = Arc<str>;
        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("a string")
        }
        fn visit_str<E: de::Error>(self, text: &str) -> Result<Arc<str>, E> {
            Ok(SHARED.with(|shared| {
                let mut shared = shared.borrow_mut();
                if let Some(known) = shared.get(text) {
                    return known.clone();
                }
                let new: Arc<str> = text.into();
                if shared.len() < MAX_SHARED {
                    shared.insert(new.clone());
                }
                new
            }))
        }
    }
    d.deserialize_str(SharedVisitor)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn equal_spellings_read_from_a_vault_share_one_allocation() {
        let text = r#"[{"how":"init","by":"age1me"},{"how":"init","by":"age1me"},{"how":"rotate","by":"age1you"}]"#;
        let read: Vec<Provenance> = serde_json::from_str(text).unwrap();
        forget_shared();
        assert!(Arc::ptr_eq(&read[0].how, &read[1].how));
        assert!(Arc::ptr_eq(&read[0].by, &read[1].by));
        assert!(!Arc::ptr_eq(&read[0].by, &read[2].by));
        assert_eq!(&*read[2].how, "rotate");
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
    }
}
