//! The schema file as TOML gives it, before validation: every field optional, with its
//! span, so that errors can point at the line and column.

use std::ops::Range;
use std::path::PathBuf;

use serde::Deserialize;
use toml::Spanned;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawSchema {
    pub(super) schema: RawHeader,
    #[serde(default)]
    pub(super) variable: Vec<RawVariable>,
}

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
    pub(super) source: Option<Spanned<String>>,
    pub(super) verified: Option<bool>,
}

impl RawVariable {
    /// The kind-specific fields and, when present, their spans.
    pub(super) fn kind_fields(&self) -> [(&'static str, Option<Range<usize>>); 12] {
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
