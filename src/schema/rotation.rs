//! What rotating a variable does to the running stack, and how it must be done.
//!
//! A `[variable.rotation]` table in the schema says whether a new value is applied by a plain
//! redeploy (`free`), needs an action inside a running service first (`op`: an `ALTER ROLE`,
//! a UI step), or makes stored data unreadable (`data`). `op` and `data` rotations are refused
//! without `--force`; `breaks` says what breaks and `steps` what to do afterwards.

use std::time::Duration;

/// How much a rotation disturbs the running stack (the schema's and the catalogue's
/// `impact`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Impact {
    /// Redeploying with the new `.env` applies it.
    Free,
    /// Needs an action inside a running service as well.
    #[serde(rename = "op")]
    Operation,
    /// Makes data stored with the old value unreadable.
    Data,
}

impl Impact {
    /// The schema spelling: `free`, `op` or `data`.
    pub fn name(self) -> &'static str {
        match self {
            Impact::Free => "free",
            Impact::Operation => "op",
            Impact::Data => "data",
        }
    }

    /// The impact with this schema spelling.
    pub fn from_name(name: &str) -> Option<Self> {
        [Impact::Free, Impact::Operation, Impact::Data]
            .into_iter()
            .find(|i| i.name() == name)
    }

    /// Whether rotating needs `--force`.
    pub fn is_guarded(self) -> bool {
        self != Impact::Free
    }
}

/// How a new value replaces the old one.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Strategy {
    /// The whole value is generated anew.
    Replace,
    /// For lists: a new item goes first and the others shift down, the last one dropping off
    /// (Strapi's APP_KEYS: the first key signs, all of them still verify).
    Prepend,
}

/// The rotation policy of a generated variable.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Rotation {
    /// What a rotation disturbs.
    pub impact: Impact,
    /// What breaks when it is rotated (required for guarded impacts).
    pub breaks: Option<Box<str>>,
    /// What to do after rotating, in order.
    pub steps: Vec<String>,
    /// How the new value replaces the old one.
    pub strategy: Strategy,
    /// The age after which `envgen check` reports the value as overdue.
    pub max_age: Option<Duration>,
    /// How many previous values the vault keeps.
    pub history: usize,
}

impl Rotation {
    /// Drops the texts only a change or its refusal shows (`breaks`, `steps`), once
    /// validated: see [`super::Detail::Values`].
    pub fn forget_texts(&mut self) {
        self.breaks = None;
        self.steps = Vec::new();
    }

    /// A free rotation with no due date, keeping `history` previous values.
    pub fn free(history: usize) -> Self {
        Rotation {
            impact: Impact::Free,
            breaks: None,
            steps: Vec::new(),
            strategy: Strategy::Replace,
            max_age: None,
            history,
        }
    }
}
