//! `envgen whoami`: the identities envgen would use, where they come from, and their public
//! recipients. Never a private key.

use std::io::Write;

use super::{Context, emit};
use crate::error::Result;
use crate::vault::keys::{Identities, read_recipients_file};

pub(super) fn run(ctx: &Context, out: &mut dyn Write) -> Result<()> {
    let paths = ctx.identity_paths()?;
    let identities = Identities::load(&paths, super::prompt::terminal())?;
    let listed = read_recipients_file(&ctx.files.recipients).ok();
    let mut text = String::new();
    for at in &paths {
        text.push_str(&format!(
            "identity {} ({})\n",
            at.path.display(),
            at.origin.describe()
        ));
    }
    for r in identities.recipients()? {
        let status = match &listed {
            Some(list) if list.contains(r) => {
                format!(" (listed in {})", ctx.files.recipients.display())
            }
            Some(_) => format!(" (not listed in {})", ctx.files.recipients.display()),
            None => String::new(),
        };
        text.push_str(&format!("recipient {r}{status}\n"));
    }
    emit(out, text.as_bytes())
}
