//! `envgen history NAME`: the versions of a value, never the values.

use std::io::Write;

use secrecy::ExposeSecret;

use super::{Context, emit};
use crate::cli::HistoryArgs;
use crate::error::Result;

pub(super) fn run(ctx: &Context, args: &HistoryArgs, out: &mut dyn Write) -> Result<()> {
    let index = ctx.stored(&args.name, "history")?;
    let var = &ctx.schema.variables()[index];
    let opened = ctx.open_history(index)?;
    let vault = &opened.vault;
    let entry = vault
        .variables
        .get(&var.name)
        .ok_or_else(|| ctx.missing(vec![var.name.clone()]))?;
    let mut rows =
        vec![["VERSION", "SET", "RETIRED", "HOW", "BY", "FINGERPRINT"].map(String::from)];
    rows.push([
        "current".into(),
        entry.rotated.to_string(),
        "-".into(),
        entry.set_by.how.to_string(),
        short(&entry.set_by.by),
        vault.fingerprint(&var.name, entry.value.expose_secret()),
    ]);
    for (n, v) in entry.history.iter().enumerate() {
        rows.push([
            (n + 1).to_string(),
            v.set.to_string(),
            v.retired.to_string(),
            v.set_by.how.to_string(),
            short(&v.set_by.by),
            vault.fingerprint(&var.name, v.value.expose_secret()),
        ]);
    }
    let mut text = format!(
        "# {}: {} previous version(s) kept of at most {}\n",
        var.name,
        entry.history.len(),
        var.rotation.history
    );
    text.push_str(&super::list::table(&rows));
    emit(out, text.as_bytes())
}

/// A recipient shortened for a table: `age1qyz8l0s…u7x4` (by characters: the vault is
/// input, and a multi-byte character must not be cut).
fn short(recipient: &str) -> String {
    let chars: Vec<char> = recipient.chars().collect();
    if chars.len() <= 20 {
        return recipient.to_string();
    }
    let head: String = chars[..12].iter().collect();
    let tail: String = chars[chars.len() - 4..].iter().collect();
    format!("{head}…{tail}")
}

#[cfg(test)]
mod tests {
    /// Issue 9, item 8: `set_by.by` comes from the vault; slicing it by bytes panicked.
    #[test]
    fn recipients_are_shortened_by_characters() {
        assert_eq!(super::short("age1short"), "age1short");
        assert_eq!(
            super::short("age1qyz8l0sxxxxxxxxxxxxxxxxxxu7x4"),
            "age1qyz8l0sx…u7x4"
        );
        assert_eq!(
            super::short(&"é".repeat(30)),
            format!("{}…{}", "é".repeat(12), "é".repeat(4))
        );
    }
}
