//! `envgen check`: is every value present, younger than its `max_age`, and unknown to every
//! removed recipient (rotated since the removal)? For cron and CI.
//! With `--compose`: does the schema provide every variable the compose files require?

use std::fmt;
use std::io::Write;
use std::time::{Duration, SystemTime};

use serde_json::json;

use super::{Context, Status, emit};
use crate::cli::CheckArgs;
use crate::compose::{Need, Reference};
use crate::error::Result;
use crate::vault::Stamp;

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

/// The due status of a value set at `rotated` with a maximum age.
pub(super) fn due(max_age: Duration, rotated: Stamp, now: SystemTime) -> Due {
    let age = rotated.age(now);
    match max_age.checked_sub(age) {
        Some(left) if !left.is_zero() => Due::Ok(left),
        _ => Due::Overdue(age - max_age),
    }
}

pub(super) fn run(ctx: &Context, args: &CheckArgs, out: &mut dyn Write) -> Result<Status> {
    if !args.compose.is_empty() {
        return compose(ctx, args, out);
    }
    let vault = ctx.open()?.vault;
    let now = SystemTime::now();
    let mut missing = Vec::new();
    let mut overdue = Vec::new();
    let mut nonconforming = Vec::new();
    let mut inputs = Vec::new();
    for var in ctx.schema.variables().iter().filter(|v| v.kind.is_stored()) {
        let Some(entry) = vault.variables.get(&var.name) else {
            missing.push(var.name.as_str());
            if matches!(var.kind, crate::schema::Kind::Input(_)) {
                inputs.push(var.name.as_str());
            }
            continue;
        };
        if entry.nonconforming {
            nonconforming.push(var.name.as_str());
        }
        let Some(max_age) = var.rotation.max_age else {
            continue;
        };
        if let Due::Overdue(over) = due(max_age, entry.rotated, now) {
            overdue.push((var.name.as_str(), entry.rotated, max_age, over));
        }
    }
    // Secrets a removed recipient could read and that were not rotated since.
    let exposures = vault.exposures();
    let exposed: Vec<(&str, &crate::vault::Removal, bool)> = ctx
        .schema
        .variables()
        .iter()
        .filter_map(|v| {
            exposures
                .get(v.name.as_str())
                .map(|r| (v.name.as_str(), *r, v.rotation.impact.is_guarded()))
        })
        .collect();
    let ok =
        missing.is_empty() && overdue.is_empty() && nonconforming.is_empty() && exposed.is_empty();
    let text = if args.json {
        let overdue: Vec<_> = overdue
            .iter()
            .map(|(name, rotated, max_age, over)| {
                json!({"name": name, "rotated": rotated, "max_age_seconds": max_age.as_secs(), "overdue_seconds": over.as_secs()})
            })
            .collect();
        let exposed: Vec<_> = exposed
            .iter()
            .map(|(name, removal, guarded)| {
                json!({"name": name, "recipient": removal.recipient, "removed": removal.removed, "guarded": guarded})
            })
            .collect();
        let mut result = json!({"ok": ok, "missing": missing, "overdue": overdue, "nonconforming": nonconforming, "exposed": exposed});
        if let Some(profile) = &ctx.schema.profile {
            result["profile"] = json!(profile);
        }
        json_line(&result)
    } else {
        let mut report = String::new();
        let flag = ctx.profile_flag();
        for name in &missing {
            if inputs.contains(name) {
                report.push_str(&format!(
                    "missing {name}: an input; `envgen set {name}{flag}` (it reads stdin or asks on the terminal)\n"
                ));
            } else {
                report.push_str(&format!("missing {name}: run `envgen init{flag}`\n"));
            }
        }
        for (name, rotated, max_age, over) in &overdue {
            report.push_str(&format!(
                "overdue {name}: rotated {rotated}, max age {}, {} over: `envgen rotate {name}`\n",
                humantime::format_duration(*max_age),
                span(*over),
            ));
        }
        for name in &nonconforming {
            report.push_str(&format!(
                "nonconforming {name}: the imported value does not match the schema's format: `envgen rotate {name}` when the service allows\n"
            ));
        }
        for (name, removal, guarded) in &exposed {
            let force = if *guarded { "--force " } else { "" };
            report.push_str(&format!(
                "exposed {name}: readable by {}, removed {}, and not rotated since: `envgen rotate {force}{name}`\n",
                removal.recipient, removal.removed,
            ));
        }
        if ok {
            report.push_str(&format!(
                "ok: {} holds every variable of {}{}, none overdue\n",
                ctx.files.vault.display(),
                ctx.schema.path.display(),
                ctx.profile_phrase()
            ));
        }
        report
    };
    emit(out, text.as_bytes())?;
    Ok(if ok { Status::Ok } else { Status::Problem })
}

/// `check --compose`: every variable the compose files use must come from the schema.
fn compose(ctx: &Context, args: &CheckArgs, out: &mut dyn Write) -> Result<Status> {
    let mut missing = Vec::new();
    let mut defaulted = Vec::new();
    let mut used = vec![false; ctx.schema.variables().len()];
    for file in &args.compose {
        for reference in crate::compose::scan(file)? {
            match ctx.schema.position(&reference.name) {
                Some(i) => used[i] = true,
                None if reference.need != Need::Defaulted => missing.push((file, reference)),
                None => defaulted.push((file, reference)),
            }
        }
    }
    let unused: Vec<&str> = ctx
        .schema
        .variables()
        .iter()
        .zip(&used)
        .filter(|(_, used)| !**used)
        .map(|(v, _)| v.name.as_str())
        .collect();
    let ok = missing.is_empty();
    let text = if args.json {
        let list = |refs: &[(&std::path::PathBuf, Reference)]| -> Vec<serde_json::Value> {
            refs.iter().map(|(f, r)| json!({"name": r.name, "file": f.display().to_string(), "line": r.line})).collect()
        };
        json_line(
            &json!({"ok": ok, "missing": list(&missing), "defaulted": list(&defaulted), "unused": unused}),
        )
    } else {
        let mut report = String::new();
        for (file, r) in &missing {
            let consequence = match r.need {
                Need::Mandatory => "compose would stop with its error message",
                _ => "compose would substitute an empty string",
            };
            report.push_str(&format!(
                "missing {}: {}:{} uses it and the schema does not provide it; {consequence}\n",
                r.name,
                file.display(),
                r.line
            ));
        }
        for (file, r) in &defaulted {
            report.push_str(&format!(
                "defaulted {}: {}:{} uses it with a default; the schema does not provide it\n",
                r.name,
                file.display(),
                r.line
            ));
        }
        for name in &unused {
            report.push_str(&format!("unused {name}: no compose file refers to it (fine if a service reads it through env_file)\n"));
        }
        if ok {
            report.push_str(&format!(
                "ok: {} provides every variable the compose files require\n",
                ctx.schema.path.display()
            ));
        }
        report
    };
    emit(out, text.as_bytes())?;
    Ok(if ok { Status::Ok } else { Status::Problem })
}

/// Pretty JSON and a newline.
pub(super) fn json_line(value: &serde_json::Value) -> String {
    let mut text = serde_json::to_string_pretty(value).expect("JSON values always serialize");
    text.push('\n');
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn due_dates() {
        let rotated: Stamp = "2026-01-01T00:00:00Z".parse().unwrap();
        let set = rotated.to_system();
        let day = Duration::from_secs(86_400);
        let max = 90 * day;
        assert_eq!(due(max, rotated, set + 10 * day), Due::Ok(80 * day));
        assert_eq!(due(max, rotated, set + 93 * day), Due::Overdue(3 * day));
        // A clock behind the vault's date: the value is as young as it gets.
        assert_eq!(due(max, rotated, set - day), Due::Ok(max));
        assert_eq!(Due::Ok(80 * day).to_string(), "in 80d");
        assert_eq!(
            Due::Overdue(Duration::from_secs(7200)).to_string(),
            "OVERDUE 2h"
        );
    }
}
