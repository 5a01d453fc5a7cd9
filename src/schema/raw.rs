//! The schema file as TOML gives it, before validation: every field optional, with its
//! span, so that errors can point at the line and column.

use std::collections::BTreeMap;
use std::ops::Range;
use std::path::PathBuf;

use serde::Deserialize;
use toml::Spanned;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawSchema {
    pub(super) schema: Option<RawHeader>,
    #[serde(default)]
    pub(super) variable: Vec<RawVariable>,
    /// `[profile.NAME]` tables: variable name to that profile's default.
    #[serde(default)]
    pub(super) profile: RawProfiles,
}

/// `[profile.NAME]` tables: per profile, variable name to that profile's default.
pub(super) type RawProfiles = BTreeMap<String, Spanned<BTreeMap<String, Spanned<String>>>>;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawHeader {
    pub(super) name: Spanned<String>,
    #[serde(default)]
    pub(super) description: String,
    pub(super) history: Option<Spanned<i64>>,
    pub(super) host_identity: Option<PathBuf>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawRotation {
    pub(super) impact: Option<Spanned<String>>,
    pub(super) breaks: Option<String>,
    #[serde(default)]
    pub(super) steps: Vec<String>,
    pub(super) strategy: Option<Spanned<String>>,
    pub(super) max_age: Option<Spanned<String>>,
    pub(super) history: Option<Spanned<i64>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawVariable {
    pub(super) name: Spanned<String>,
    pub(super) kind: Spanned<String>,
    pub(super) description: Option<Spanned<String>>,
    pub(super) services: Option<Spanned<Vec<String>>>,
    pub(super) encoding: Option<Spanned<String>>,
    pub(super) bytes: Option<Spanned<i64>>,
    pub(super) chars: Option<Spanned<i64>>,
    pub(super) alphabet: Option<Spanned<String>>,
    pub(super) require: Option<Spanned<Vec<String>>>,
    pub(super) count: Option<Spanned<i64>>,
    pub(super) separator: Option<Spanned<String>>,
    pub(super) default: Option<Spanned<String>>,
    pub(super) pattern: Option<Spanned<String>>,
    pub(super) template: Option<Spanned<String>>,
    pub(super) argon2: Option<Spanned<RawArgon2>>,
    pub(super) rotation: Option<Spanned<RawRotation>>,
    pub(super) allow_dangerous_name: Option<bool>,
    pub(super) exclude: Option<Spanned<String>>,
    #[serde(rename = "type")]
    pub(super) value_type: Option<Spanned<String>>,
    pub(super) values: Option<Spanned<Vec<String>>>,
    pub(super) min_chars: Option<Spanned<i64>>,
    pub(super) max_chars: Option<Spanned<i64>>,
    pub(super) multiline: Option<Spanned<bool>>,
    /// A boolean for an input (is it a credential), a variable name for a jwt.
    pub(super) secret: Option<Spanned<toml::Value>>,
    pub(super) algorithm: Option<Spanned<String>>,
    pub(super) claims: Option<Spanned<toml::Table>>,
    pub(super) expires: Option<Spanned<String>>,
    pub(super) format: Option<Spanned<String>>,
    pub(super) source: Option<Spanned<String>>,
    pub(super) verified: Option<bool>,
}

impl RawVariable {
    /// The kind-specific fields and, when present, their spans.
    pub(super) fn kind_fields(&self) -> [(&'static str, Option<Range<usize>>); 23] {
        fn s<T>(f: &Option<Spanned<T>>) -> Option<Range<usize>> {
            f.as_ref().map(Spanned::span)
        }
        [
            ("encoding", s(&self.encoding)),
            ("bytes", s(&self.bytes)),
            ("chars", s(&self.chars)),
            ("alphabet", s(&self.alphabet)),
            ("require", s(&self.require)),
            ("count", s(&self.count)),
            ("separator", s(&self.separator)),
            ("default", s(&self.default)),
            ("pattern", s(&self.pattern)),
            ("template", s(&self.template)),
            ("argon2", s(&self.argon2)),
            ("rotation", s(&self.rotation)),
            ("exclude", s(&self.exclude)),
            ("type", s(&self.value_type)),
            ("values", s(&self.values)),
            ("min_chars", s(&self.min_chars)),
            ("max_chars", s(&self.max_chars)),
            ("multiline", s(&self.multiline)),
            ("secret", s(&self.secret)),
            ("algorithm", s(&self.algorithm)),
            ("claims", s(&self.claims)),
            ("expires", s(&self.expires)),
            ("format", s(&self.format)),
        ]
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawArgon2 {
    pub(super) m_cost: Option<u32>,
    pub(super) t_cost: Option<u32>,
    pub(super) p_cost: Option<u32>,
}
