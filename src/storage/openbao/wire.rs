//! What envgen and an OpenBao (or HashiCorp Vault) server say to each other: the JSON of
//! the KV v2 and auth answers envgen reads (only the fields it reads), the requests it
//! writes, and how one stored version becomes a vault entry.

use std::collections::BTreeMap;

use secrecy::SecretString;
use serde::{Deserialize, Serialize};

use super::clean;
use crate::vault::{Entry, Provenance, Stamp};

// ---- what the API answers (only the fields envgen reads) ----

#[derive(Deserialize)]
pub(super) struct Envelope<T> {
    pub(super) data: Option<T>,
}

#[derive(Deserialize)]
pub(super) struct Errors {
    #[serde(default)]
    pub(super) errors: Vec<String>,
}

#[derive(Deserialize)]
pub(super) struct DataAnswer {
    pub(super) data: Option<Stored>,
    pub(super) metadata: Option<VersionMeta>,
}

/// One version's data as envgen writes it.
#[derive(Deserialize)]
pub(super) struct Stored {
    pub(super) value: Option<SecretString>,
    #[serde(default)]
    pub(super) hash: Option<SecretString>,
    #[serde(default)]
    pub(super) set: Option<String>,
    #[serde(default)]
    pub(super) how: Option<String>,
    #[serde(default)]
    pub(super) by: Option<String>,
    #[serde(default)]
    pub(super) nonconforming: Option<String>,
}

#[derive(Deserialize)]
pub(super) struct VersionMeta {
    #[serde(default)]
    pub(super) created_time: String,
    #[serde(default)]
    pub(super) version: u64,
    #[serde(default)]
    pub(super) custom_metadata: Option<BTreeMap<String, String>>,
    #[serde(default)]
    pub(super) deletion_time: String,
    #[serde(default)]
    pub(super) destroyed: bool,
}

#[derive(Deserialize)]
pub(super) struct Metadata {
    #[serde(default)]
    pub(super) current_version: u64,
    #[serde(default)]
    pub(super) versions: BTreeMap<String, VersionMeta>,
}

#[derive(Deserialize)]
pub(super) struct WriteAnswer {
    pub(super) version: u64,
}

#[derive(Deserialize)]
pub(super) struct LookupSelf {
    #[serde(default)]
    pub(super) display_name: String,
}

#[derive(Deserialize)]
pub(super) struct Login {
    pub(super) auth: Option<Auth>,
}

#[derive(Deserialize)]
pub(super) struct Auth {
    pub(super) client_token: SecretString,
}

// ---- what envgen writes ----

#[derive(Serialize)]
pub(super) struct WriteRequest<'a> {
    pub(super) options: Cas,
    pub(super) data: StoredOut<'a>,
}

#[derive(Serialize)]
pub(super) struct Cas {
    pub(super) cas: u64,
}

#[derive(Serialize)]
pub(super) struct StoredOut<'a> {
    pub(super) value: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(super) hash: Option<&'a str>,
    pub(super) set: Stamp,
    pub(super) how: &'a str,
    pub(super) by: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(super) nonconforming: Option<&'static str>,
}

#[derive(Serialize)]
pub(super) struct MetadataRequest<'a> {
    pub(super) max_versions: usize,
    pub(super) custom_metadata: BTreeMap<&'static str, &'a str>,
}

/// An entry from one version's data; dates and provenance as envgen wrote them, else the
/// server's. `None` for a version with no date at all (no server writes one).
pub(super) fn entry(stored: Stored, meta: &VersionMeta) -> Option<Entry> {
    let custom = meta.custom_metadata.as_ref();
    let set = stored
        .set
        .and_then(|s| s.parse().ok())
        .or_else(|| server_time(&meta.created_time))?;
    let created = custom
        .and_then(|c| c.get("created"))
        .and_then(|s| s.parse().ok())
        .unwrap_or(set);
    Some(Entry {
        value: stored.value.unwrap_or_default(),
        hash: stored.hash,
        created,
        rotated: set,
        set_by: Provenance::new(
            &stored.how.map_or_else(|| "write".into(), |s| clean(&s)),
            &stored.by.map_or_else(|| "-".into(), |s| clean(&s)),
        ),
        nonconforming: stored.nonconforming.as_deref() == Some("true"),
        history: Box::default(),
    })
}

/// The server's RFC 3339 time (with nanoseconds), to the second as envgen keeps dates.
pub(super) fn server_time(created_time: &str) -> Option<Stamp> {
    humantime::parse_rfc3339_weak(created_time)
        .or_else(|_| humantime::parse_rfc3339(created_time))
        .ok()
        .map(Stamp::from_system)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn server_times_are_cut_to_seconds() {
        assert_eq!(
            server_time("2026-11-26T15:05:09.123456789Z").map(|t| t.to_string()),
            Some("2026-11-26T15:05:09Z".into())
        );
        assert_eq!(server_time("garbage"), None);
    }

    proptest::proptest! {
        #[test]
        fn answers_never_panic(bytes in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..300)) {
            let _ = serde_json::from_slice::<Envelope<DataAnswer>>(&bytes);
            let _ = serde_json::from_slice::<Envelope<Metadata>>(&bytes);
        }
    }
}
