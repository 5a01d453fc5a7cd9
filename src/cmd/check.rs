//! `envgen check`: is every value present and younger than its `max_age`? For cron and CI.

use std::fmt;
use std::io::Write;
use std::time::{Duration, SystemTime};

use super::{Context, Status, emit};
use crate::error::Result;

/// Where a value stands against its maximum age.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Due {
    /// Due in this long.
    Ok(Duration),
    /// Overdue by this long.
    Overdue(Duration),
}

impl fmt::Display for Due {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Due::Ok(left) => write!(f, "in {}", span(*left)),
            Due::Overdue(over) => write!(f, "OVERDUE {}", span(*over)),
        }
    }
}

/// A duration in whole days, or hours below a day.
fn span(d: Duration) -> String {
    let hours = d.as_secs() / 3600;
    if hours >= 24 {
        format!("{}d", hours / 24)
    } else {
        format!("{hours}h")
    }
}

/// The due status of a value set at `rotated` (RFC 3339) with a maximum age.
pub(super) fn due(max_age: Duration, rotated: &str, now: SystemTime) -> Due {
    // Dates are written by envgen inside the authenticated vault; an unreadable one is
    // treated as infinitely old rather than trusted.
    let Ok(set) = humantime::parse_rfc3339(rotated) else {
        return Due::Overdue(Duration::ZERO);
    };
    let age = now.duration_since(set).unwrap_or_default();
    match max_age.checked_sub(age) {
        Some(left) if !left.is_zero() => Due::Ok(left),
        _ => Due::Overdue(age - max_age),
    }
}

pub(super) fn run(ctx: &Context, out: &mut dyn Write) -> Result<Status> {
    let vault = ctx.open()?.vault;
    let now = SystemTime::now();
    let mut report = String::new();
    let mut problems = 0;
    let stored = ctx.schema.variables().iter().filter(|v| v.kind.is_stored());
    for var in stored {
        let Some(entry) = vault.variables.get(&var.name) else {
            report.push_str(&format!("missing {}: run `envgen init`\n", var.name));
            problems += 1;
            continue;
        };
        let Some(max_age) = var.rotation.max_age else {
            continue;
        };
        if let Due::Overdue(over) = due(max_age, &entry.rotated, now) {
            report.push_str(&format!(
                "overdue {}: rotated {}, max age {}, {} over: `envgen rotate {}`\n",
                var.name,
                entry.rotated,
                humantime::format_duration(max_age),
                span(over),
                var.name
            ));
            problems += 1;
        }
    }
    if problems == 0 {
        report.push_str(&format!(
            "ok: {} holds every variable of {}, none overdue\n",
            ctx.files.vault.display(),
            ctx.schema.path.display()
        ));
    }
    emit(out, report.as_bytes())?;
    Ok(if problems == 0 {
        Status::Ok
    } else {
        Status::Problem
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn due_dates() {
        let set = humantime::parse_rfc3339("2026-01-01T00:00:00Z").unwrap();
        let day = Duration::from_secs(86_400);
        let max = 90 * day;
        assert_eq!(
            due(max, "2026-01-01T00:00:00Z", set + 10 * day),
            Due::Ok(80 * day)
        );
        assert_eq!(
            due(max, "2026-01-01T00:00:00Z", set + 93 * day),
            Due::Overdue(3 * day)
        );
        assert_eq!(due(max, "not a date", set), Due::Overdue(Duration::ZERO));
        assert_eq!(Due::Ok(80 * day).to_string(), "in 80d");
        assert_eq!(
            Due::Overdue(Duration::from_secs(7200)).to_string(),
            "OVERDUE 2h"
        );
    }
}
