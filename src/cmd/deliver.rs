//! The delivery formats of `render`: a Kubernetes `Secret`, an External Secrets Operator
//! `ExternalSecret` that reads the OpenBao KV paths itself, and the option checks of the
//! file formats (`--mode`, `--owner`, `--owner-from`).
//!
//! Manifests are written as YAML whose every scalar is a JSON string (JSON strings are YAML
//! flow scalars), so no name or value can change the document's structure; names are checked
//! against Kubernetes' own rules first, so the API server would accept them.

use base64::Engine;
use zeroize::Zeroizing;

use super::exec::find_program;
use super::{Context, note};
use crate::cli::{Format, RenderArgs};
use crate::error::{Error, Result};
use crate::files::{Owner, Staging, check_replaceable};
use crate::schema::Kind;
use crate::secret::SecretBuf;
use crate::storage::Backend;

/// The API version of the ExternalSecret written (External Secrets Operator).
const EXTERNAL_SECRETS_API: &str = "external-secrets.io/v1beta1";

fn q(text: &str) -> String {
    serde_json::to_string(text).expect("a string serializes")
}

/// The option values a format does not take are refused, those it needs required.
pub(super) fn check_options(args: &RenderArgs) -> Result<()> {
    let format = match args.format {
        Format::Dotenv => "dotenv",
        Format::Shell => "shell",
        Format::Json => "json",
        Format::Files => "files",
        Format::K8s => "k8s",
        Format::ExternalSecret => "external-secret",
        Format::SystemdCreds => "systemd-creds",
    };
    let manifest = matches!(args.format, Format::K8s | Format::ExternalSecret);
    let files = matches!(args.format, Format::Files | Format::SystemdCreds);
    let unused = |option| Error::FormatOption {
        option,
        problem: "is not used",
        format,
    };
    let required = |option| Error::FormatOption {
        option,
        problem: "is required",
        format,
    };
    if !manifest && args.name.is_some() {
        return Err(unused("--name"));
    }
    if !manifest && args.namespace.is_some() {
        return Err(unused("--namespace"));
    }
    if manifest && args.name.is_none() {
        return Err(required("--name"));
    }
    match (args.format, args.store.is_some()) {
        (Format::ExternalSecret, false) => return Err(required("--store")),
        (Format::ExternalSecret, true) | (_, false) => {}
        (_, true) => return Err(unused("--store")),
    }
    if !files && args.mode.is_some() {
        return Err(unused("--mode"));
    }
    if !files && (args.owner.is_some() || args.owner_from.is_some()) {
        return Err(unused("--owner"));
    }
    if args.format != Format::SystemdCreds && args.encrypt {
        return Err(unused("--encrypt"));
    }
    if let Some(name) = &args.name {
        check_dns(name, "--name", 253, true)?;
    }
    if let Some(ns) = &args.namespace {
        check_dns(ns, "--namespace", 63, false)?;
    }
    if let Some(store) = &args.store {
        check_dns(store, "--store", 253, true)?;
    }
    Ok(())
}

/// Kubernetes object names: RFC 1123 subdomains (`dots`) or labels, lowercase.
fn check_dns(given: &str, option: &'static str, max: usize, dots: bool) -> Result<()> {
    let labels_ok = given.split('.').all(|label| {
        !label.is_empty()
            && label.len() <= 63
            && label
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
            && !label.starts_with('-')
            && !label.ends_with('-')
    });
    let ok = !given.is_empty() && given.len() <= max && labels_ok && (dots || !given.contains('.'));
    if ok {
        return Ok(());
    }
    Err(Error::InvalidOption {
        option,
        given: given.into(),
        reason: format!(
            "not a Kubernetes name (at most {max} lowercase letters, digits and `-`{}, starting and ending with a letter or digit)",
            if dots { " or `.`" } else { "" }
        ),
        hint: "e.g. alecia-secrets".into(),
    })
}

/// A label value: at most 63 letters, digits, `-`, `_`, `.`, alphanumeric at both ends.
fn label_value(value: &str, what: &str) -> Result<String> {
    let bytes = value.as_bytes();
    let ok = value.len() <= 63
        && (bytes.is_empty()
            || (bytes[0].is_ascii_alphanumeric()
                && bytes[bytes.len() - 1].is_ascii_alphanumeric()
                && bytes
                    .iter()
                    .all(|b| b.is_ascii_alphanumeric() || b"-_.".contains(b))));
    match ok {
        true => Ok(value.into()),
        false => Err(Error::InvalidOption {
            option: "the label",
            given: format!("{what} {value}"),
            reason: "not a valid Kubernetes label value (63 letters, digits, `-`, `_`, `.`)".into(),
            hint: "rename it in the schema, or label the manifest yourself".into(),
        }),
    }
}

/// `metadata:` with name, namespace and the labels naming the schema and profile.
fn metadata(ctx: &Context, args: &RenderArgs) -> Result<String> {
    let mut text = String::from("metadata:\n");
    text.push_str(&format!(
        "  name: {}\n",
        q(args.name.as_deref().expect("checked"))
    ));
    if let Some(ns) = &args.namespace {
        text.push_str(&format!("  namespace: {}\n", q(ns)));
    }
    text.push_str("  labels:\n");
    text.push_str("    app.kubernetes.io/managed-by: \"envgen\"\n");
    text.push_str(&format!(
        "    envgen/schema: {}\n",
        q(&label_value(&ctx.schema.name, "schema")?)
    ));
    if let Some(profile) = &ctx.schema.profile {
        text.push_str(&format!(
            "    envgen/profile: {}\n",
            q(&label_value(profile, "profile")?)
        ));
    }
    Ok(text)
}

/// A `v1/Secret` holding `pairs`, base64 in `data`.
pub(super) fn k8s_secret<'a>(
    ctx: &Context,
    args: &RenderArgs,
    pairs: impl Iterator<Item = (&'a str, &'a str)>,
) -> Result<SecretBuf> {
    let mut text = SecretBuf::with_capacity(4096);
    text.push_str(
        "# Rendered by envgen: plaintext secrets (base64 is not encryption). Do not commit.\n",
    );
    text.push_str("apiVersion: \"v1\"\nkind: \"Secret\"\n");
    text.push_str(&metadata(ctx, args)?);
    text.push_str("type: \"Opaque\"\ndata:\n");
    for (name, value) in pairs {
        // Sized first, so it never reallocates and leaves an unwiped copy behind.
        let mut encoded = Zeroizing::new(String::with_capacity(
            base64::encoded_len(value.len(), true).unwrap_or(0),
        ));
        base64::engine::general_purpose::STANDARD.encode_string(value.as_bytes(), &mut encoded);
        text.push_str(&format!("  {}: \"", q(name)));
        text.push_str(&encoded);
        text.push_str("\"\n");
    }
    Ok(text)
}

/// An `ExternalSecret` whose `spec.data` reads each selected variable from its KV path; no
/// value is read or written. Returns the manifest and the derived variables left out (they
/// are computed by envgen and exist in no KV path).
pub(super) fn external_secret(
    ctx: &Context,
    args: &RenderArgs,
    selected: &[usize],
) -> Result<(String, Vec<String>)> {
    let Backend::OpenBao(store) = &ctx.backend else {
        return Err(Error::NeedsOpenBao {
            vault: ctx.files.vault.clone(),
        });
    };
    let place = store.place();
    let mut text = String::from(
        "# Rendered by envgen: no values; the External Secrets Operator reads them from OpenBao.\n",
    );
    text.push_str(&format!(
        "# Its SecretStore {} needs provider.vault with path {} and version \"v2\".\n",
        args.store.as_deref().unwrap_or_default(),
        q(&place.mount)
    ));
    text.push_str(&format!(
        "apiVersion: {}\nkind: \"ExternalSecret\"\n",
        q(EXTERNAL_SECRETS_API)
    ));
    text.push_str(&metadata(ctx, args)?);
    text.push_str("spec:\n  refreshInterval: \"1h\"\n  secretStoreRef:\n");
    text.push_str(&format!(
        "    name: {}\n    kind: \"SecretStore\"\n",
        q(args.store.as_deref().expect("checked"))
    ));
    text.push_str(&format!(
        "  target:\n    name: {}\n    creationPolicy: \"Owner\"\n  data:\n",
        q(args.name.as_deref().expect("checked"))
    ));
    let mut derived = Vec::new();
    for &i in selected {
        let var = &ctx.schema.variables()[i];
        let property = match &var.kind {
            Kind::Derived(_) => {
                derived.push(var.name.clone());
                continue;
            }
            // What render prints for a hashed variable is its PHC string.
            Kind::Hashed { .. } => "hash",
            _ => "value",
        };
        text.push_str(&format!(
            "  - secretKey: {}\n    remoteRef:\n      key: {}\n      property: {}\n",
            q(&var.name),
            q(&format!("{}/{}", place.path, var.name)),
            q(property)
        ));
    }
    Ok((text, derived))
}

/// The mode of `--mode` (octal; default 0400): nothing for others, never writable by the group.
fn parse_mode(given: Option<&str>) -> Result<u32> {
    let Some(text) = given else {
        return Ok(0o400);
    };
    let invalid = |reason: &str, hint: &str| Error::InvalidOption {
        option: "--mode",
        given: text.into(),
        reason: reason.into(),
        hint: hint.into(),
    };
    let digits = text.strip_prefix("0o").unwrap_or(text);
    let mode = u32::from_str_radix(digits, 8)
        .ok()
        .filter(|m| *m <= 0o777)
        .ok_or_else(|| invalid("not an octal mode of at most 0777", "e.g. --mode 0440"))?;
    if mode & 0o007 != 0 {
        return Err(invalid(
            "every user of this host could use the secret files",
            "make the container's user the owner instead: --owner UID:GID (or --owner-from SERVICE)",
        ));
    }
    if mode & 0o020 != 0 {
        return Err(invalid(
            "other users could change the secret files",
            "drop the group and other write bits, e.g. --mode 0440",
        ));
    }
    if mode & 0o400 == 0 {
        return Err(invalid(
            "the owner could not read the files",
            "give the owner read access, e.g. --mode 0400 with --owner UID:GID",
        ));
    }
    Ok(mode)
}

/// The owner of `--owner UID:GID` or of `--owner-from SERVICE` (its compose `user:`).
fn owner(args: &RenderArgs) -> Result<Option<Owner>> {
    if let Some(text) = &args.owner {
        return Owner::parse(text)
            .map(Some)
            .ok_or_else(|| Error::InvalidOption {
                option: "--owner",
                given: text.clone(),
                reason: "not UID:GID or UID, numeric".into(),
                hint: "give numbers, as the container sees them: `docker compose exec SERVICE id`"
                    .into(),
            });
    }
    let Some(service) = &args.owner_from else {
        return Ok(None);
    };
    let mut user: Option<(String, &std::path::Path)> = None;
    let mut found = false;
    for file in &args.compose {
        let root = crate::compose::read_tree(file)?;
        for s in crate::compose::services(&root) {
            if &s.name == service {
                found = true;
                if let Some(u) = s.user {
                    user = Some((u, file));
                }
            }
        }
    }
    let failed = |reason: String| Error::OwnerFrom {
        service: service.clone(),
        reason,
    };
    let files = args
        .compose
        .iter()
        .map(|f| f.display().to_string())
        .collect::<Vec<_>>()
        .join(", ");
    match user {
        _ if !found => Err(failed(format!("no such service in {files}"))),
        None => Err(failed(format!(
            "the service has no `user:` in {files} (it runs as its image's user)"
        ))),
        Some((u, file)) => Owner::parse(&u).map(Some).ok_or_else(|| {
            failed(format!(
                "its `user: {u}` in {} is not numeric: the name is resolved inside the image",
                file.display()
            ))
        }),
    }
}

/// `--format files` and `systemd-creds`: one file per variable in `dir`, all or nothing
/// (see [`Staging`]); for systemd, the unit lines on `err`.
pub(super) fn write_files<'a>(
    ctx: &Context,
    args: &RenderArgs,
    dir: &std::path::Path,
    pairs: impl Iterator<Item = (&'a str, &'a str)> + Clone,
    err: &mut dyn std::io::Write,
) -> Result<()> {
    let mode = parse_mode(args.mode.as_deref())?;
    let owner = owner(args)?;
    let systemd = args.format == Format::SystemdCreds;
    let encrypt = match args.encrypt {
        true => Some(
            find_program("systemd-creds".as_ref(), ctx.env.path.as_deref()).map_err(|e| {
                Error::SystemdCreds {
                    name: "the credentials".into(),
                    status: format!("cannot run: {e}"),
                }
            })?,
        ),
        false => None,
    };
    let file_name = |name: &str| match encrypt {
        Some(_) => format!("{name}.cred"),
        None => name.to_string(),
    };
    // Every destination is checked before the first file is written, so a refusal leaves
    // no plaintext behind.
    for (name, _) in pairs.clone() {
        check_replaceable(&dir.join(file_name(name)))?;
    }
    let mut staging = Staging::begin(dir, &mut || {
        note(
            err,
            &format!(
                "waiting for another envgen writing into {} to finish",
                dir.display()
            ),
        )
    })?;
    for (name, value) in pairs.clone() {
        let file = file_name(name);
        match &encrypt {
            None => staging.write(&file, value.as_bytes(), mode, owner)?,
            Some(program) => {
                systemd_encrypt(program, name, value, &staging.path(&file))?;
                staging.adopt(&file, mode, owner)?;
            }
        }
    }
    staging.publish()?;
    let shown = |o: Option<Owner>| o.map(|o| format!(", owner {o}")).unwrap_or_default();
    let count = pairs.clone().count();
    note(
        err,
        &format!(
            "wrote {count} files (mode {mode:04o}{}) to {}",
            shown(owner),
            dir.display()
        ),
    );
    if systemd {
        let absolute = std::fs::canonicalize(dir).map_err(|e| Error::io("resolve", dir, e))?;
        let key = match encrypt {
            Some(_) => "LoadCredentialEncrypted",
            None => "LoadCredential",
        };
        note(err, "add to the unit's [Service] section:");
        for (name, _) in pairs {
            note(
                err,
                &format!("{key}={name}:{}", absolute.join(file_name(name)).display()),
            );
        }
        note(
            err,
            "the service reads each value from $CREDENTIALS_DIRECTORY/NAME",
        );
    }
    Ok(())
}

/// `systemd-creds encrypt --name=NAME - PATH`, the value on its stdin (never in argv).
fn systemd_encrypt(
    program: &std::path::Path,
    name: &str,
    value: &str,
    path: &std::path::Path,
) -> Result<()> {
    use std::io::Write;
    use std::process::{Command, Stdio};
    let failed = |status: String| Error::SystemdCreds {
        name: name.into(),
        status,
    };
    let mut child = Command::new(program)
        .arg("encrypt")
        .arg(format!("--name={name}"))
        .arg("-")
        .arg(path)
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .spawn()
        .map_err(|e| failed(format!("could not start: {e}")))?;
    let written = child
        .stdin
        .take()
        .expect("piped")
        .write_all(value.as_bytes());
    let status = child
        .wait()
        .map_err(|e| failed(format!("could not be waited for: {e}")))?;
    written.map_err(|e| failed(format!("did not read the value: {e}")))?;
    match status.code() {
        Some(0) => Ok(()),
        Some(code) => Err(failed(format!("exited with code {code}"))),
        None => Err(failed("was killed by a signal".into())),
    }
}
