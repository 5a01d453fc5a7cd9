//! A vault kept in OpenBao (or HashiCorp Vault): one KV version 2 secret per variable.
//!
//! `openbao://secret/alecia` keeps `REDIS_PASSWORD` at `secret/data/alecia/REDIS_PASSWORD`,
//! so that the engine's own features do the work instead of being re-implemented:
//! - **versions are the history**: each write is a new KV version whose data holds the value
//!   (`value`, and `hash` for a hashed variable) with when, how and by whom it was set; the
//!   secret's `max_versions` is the schema's history length plus one;
//! - **check-and-set replaces the lock file**: a write carries the version this command read
//!   (`options.cas`), so two writers can never overwrite each other; the loser stops with a
//!   conflict naming the variable (a rotation is not retried behind the operator's back: its
//!   follow-up steps may already be under way for the other one);
//! - **the ACL is the recipients list**: a host's token reads only what its policy allows, so
//!   a host running one service reads that service's variables and nothing else;
//! - `custom_metadata` shows created and rotated dates, how, by whom and the rotation impact
//!   to `bao kv metadata get`; envgen itself reads the dates from the versions' data.
//!
//! The fingerprint key of `history` and `diff` lives in one more secret, `PATH/.envgen`.
//!
//! Everything the server answers is untrusted input: bodies are capped, parsed into typed
//! structures, and a surprise is an error naming the address and the path, never a panic.
//! Errors never quote a value or the token; the token lives in a [`SecretString`].

use std::cell::{OnceCell, RefCell};
use std::collections::BTreeMap;
use std::fmt;
use std::io::Write;
use std::sync::Arc;
use std::time::Duration;

use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};
use zeroize::Zeroizing;

use crate::error::{BaoError, Result};
use crate::schema::Schema;
use crate::secret::WipingWriter;
use crate::vault::{Entry, Provenance, Stamp, Vault, Version};

/// The largest answer read from the server (one version of one variable, or a listing).
const MAX_ANSWER: u64 = 4 << 20;
/// Connecting gives up after this long.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
/// A whole request (connect, send, answer) gives up after this long.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);
/// The secret beside the variables that holds the fingerprint key.
pub const META: &str = ".envgen";
/// The server `bao` uses when no address is given.
pub const DEFAULT_ADDRESS: &str = "https://127.0.0.1:8200";

mod place;
mod wire;

pub use place::{Place, Scheme, check_address};
use wire::{
    Cas, DataAnswer, Envelope, Errors, Login, LookupSelf, Metadata, MetadataRequest, Stored,
    StoredOut, VersionMeta, WriteAnswer, WriteRequest, entry,
};

/// How the store authenticates.
pub enum Credentials {
    /// A token (`BAO_TOKEN`, `~/.vault-token`).
    Token(SecretString),
    /// An AppRole login, made on first use.
    AppRole {
        /// The role ID (an identifier, not a secret).
        role_id: String,
        /// The secret ID (read from a 0600 file).
        secret_id: SecretString,
        /// The AppRole mount, `approle`.
        mount: String,
    },
    /// None was found: the first request fails with a hint.
    Missing,
}

/// What a command needs to talk to the server, resolved by `cmd` from the environment.
pub struct Connection {
    /// `https://host:8200` (checked by [`check_address`]).
    pub address: String,
    /// `X-Vault-Namespace`, if any.
    pub namespace: Option<String>,
    /// PEM certificates of the CA to trust instead of the built-in roots.
    pub ca_pem: Option<(std::path::PathBuf, Vec<u8>)>,
    /// The token or the AppRole login.
    pub credentials: Credentials,
}

/// What this command read of a variable: the version a write must follow, and the value to
/// tell whether it changed.
struct Seen {
    version: u64,
    value: Option<(SecretString, Option<SecretString>, bool)>,
}

/// One vault on a server, for one command.
pub struct Store {
    place: Place,
    address: String,
    namespace: Option<String>,
    agent: ureq::Agent,
    credentials: Credentials,
    token: OnceCell<SecretString>,
    seen: RefCell<BTreeMap<String, Seen>>,
}

impl fmt::Debug for Store {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Store")
            .field("place", &self.place.to_string())
            .field("address", &self.address)
            .field("namespace", &self.namespace)
            .finish_non_exhaustive()
    }
}

/// An answer: its status and its body (wiped when dropped: it may hold values).
struct Answer {
    status: u16,
    body: Zeroizing<Vec<u8>>,
}

#[derive(Clone, Copy)]
enum Method {
    Get,
    Post,
}

/// One value to write as a new version.
pub struct NewVersion<'a> {
    /// The value.
    pub value: &'a SecretString,
    /// Its PHC string, for a hashed variable.
    pub hash: Option<&'a SecretString>,
    /// When it was set.
    pub set: Stamp,
    /// How and by whom.
    pub set_by: &'a Provenance,
    /// It did not match the schema's format.
    pub nonconforming: bool,
}

fn secret_eq(a: &SecretString, b: &SecretString) -> bool {
    a.expose_secret() == b.expose_secret()
}

fn hash_eq(a: Option<&SecretString>, b: Option<&SecretString>) -> bool {
    match (a, b) {
        (Some(a), Some(b)) => secret_eq(a, b),
        (a, b) => a.is_none() && b.is_none(),
    }
}

/// Printable ASCII only, at most 200 characters: a server's error text shown to the user.
fn clean(text: &str) -> String {
    text.chars()
        .filter(|c| c.is_ascii_graphic() || *c == ' ')
        .take(200)
        .collect()
}

impl Store {
    /// A store for `place` on the server of `connection`. Nothing is sent yet.
    pub fn new(place: Place, connection: Connection) -> Result<Store> {
        let mut config = ureq::Agent::config_builder()
            .timeout_connect(Some(CONNECT_TIMEOUT))
            .timeout_global(Some(REQUEST_TIMEOUT))
            .http_status_as_error(false)
            // A standby's redirect would carry the token elsewhere: answered, not followed.
            .max_redirects(0)
            // Proxies come from the environment only through cmd/env.rs: none here.
            .proxy(None)
            .user_agent(concat!("envgen/", env!("CARGO_PKG_VERSION")));
        if let Some((path, pem)) = &connection.ca_pem {
            let fail = |reason: String| BaoError::CaCert {
                path: path.clone(),
                reason,
            };
            let mut certs = Vec::new();
            for item in ureq::tls::parse_pem(pem) {
                match item.map_err(|e| fail(format!("not valid PEM ({e})")))? {
                    ureq::tls::PemItem::Certificate(cert) => certs.push(cert),
                    _ => continue,
                }
            }
            if certs.is_empty() {
                return Err(fail("it holds no certificate".into()).into());
            }
            let tls = ureq::tls::TlsConfig::builder()
                .root_certs(ureq::tls::RootCerts::Specific(Arc::new(certs)))
                .build();
            config = config.tls_config(tls);
        }
        Ok(Store {
            place,
            address: connection.address,
            namespace: connection.namespace,
            agent: config.build().into(),
            credentials: connection.credentials,
            token: OnceCell::new(),
            seen: RefCell::new(BTreeMap::new()),
        })
    }

    /// `openbao://MOUNT/PATH`.
    pub fn label(&self) -> String {
        self.place.to_string()
    }

    /// The location on the server.
    pub fn place(&self) -> &Place {
        &self.place
    }

    /// The server's address.
    pub fn address(&self) -> &str {
        &self.address
    }

    fn unreachable(&self, path: &str, e: ureq::Error) -> BaoError {
        let detail = match e {
            ureq::Error::Timeout(_) => "no answer within the time limit".to_string(),
            ureq::Error::Io(e) => clean(&e.to_string()),
            ureq::Error::BodyExceedsLimit(limit) => {
                format!("an answer larger than {}", crate::files::human_size(limit))
            }
            other => clean(&other.to_string()),
        };
        BaoError::Unreachable {
            address: self.address.clone(),
            path: path.into(),
            detail,
        }
    }

    /// Sends one request to `/v1/PATH[?QUERY]`, with the token when `token` is given.
    fn send(
        &self,
        method: Method,
        path: &str,
        query: &str,
        body: Option<&[u8]>,
        token: Option<&SecretString>,
    ) -> Result<Answer, BaoError> {
        let url = format!("{}/v1/{path}{query}", self.address);
        let fail = |e| self.unreachable(path, e);
        let response = match method {
            Method::Get => {
                let mut request = self.agent.get(&url);
                if let Some(token) = token {
                    request = request.header("X-Vault-Token", token.expose_secret());
                }
                if let Some(ns) = &self.namespace {
                    request = request.header("X-Vault-Namespace", ns);
                }
                request.call()
            }
            Method::Post => {
                let mut request = self
                    .agent
                    .post(&url)
                    .header("Content-Type", "application/json");
                if let Some(token) = token {
                    request = request.header("X-Vault-Token", token.expose_secret());
                }
                if let Some(ns) = &self.namespace {
                    request = request.header("X-Vault-Namespace", ns);
                }
                request.send(body.unwrap_or(b"{}"))
            }
        };
        let mut response = response.map_err(fail)?;
        let status = response.status().as_u16();
        // Into a sink that wipes every buffer it outgrows (answers hold values and tokens).
        let mut body = crate::secret::WipingWriter::default();
        let reader = response.body_mut().as_reader();
        let read = std::io::copy(&mut std::io::Read::take(reader, MAX_ANSWER + 1), &mut body)
            .map_err(|e| fail(ureq::Error::Io(e)))?;
        if read > MAX_ANSWER {
            return Err(fail(ureq::Error::BodyExceedsLimit(MAX_ANSWER)));
        }
        Ok(Answer {
            status,
            body: body.into_inner(),
        })
    }

    /// The token: the given one, or one from an AppRole login made now.
    fn token(&self) -> Result<&SecretString, BaoError> {
        if let Some(token) = self.token.get() {
            return Ok(token);
        }
        let token = match &self.credentials {
            Credentials::Token(token) => token.clone(),
            Credentials::Missing => {
                return Err(BaoError::NoToken {
                    address: self.address.clone(),
                });
            }
            Credentials::AppRole {
                role_id,
                secret_id,
                mount,
            } => {
                let path = format!("auth/{mount}/login");
                let mut body = WipingWriter::default();
                #[derive(Serialize)]
                struct LoginRequest<'a> {
                    role_id: &'a str,
                    secret_id: &'a str,
                }
                serde_json::to_writer(
                    &mut body,
                    &LoginRequest {
                        role_id,
                        secret_id: secret_id.expose_secret(),
                    },
                )
                .expect("serializing to memory cannot fail");
                let body = body.into_inner();
                let answer = self.send(Method::Post, &path, "", Some(&body), None)?;
                match answer.status {
                    200 => {}
                    400 | 403 => {
                        return Err(BaoError::Token {
                            address: self.address.clone(),
                            path,
                        });
                    }
                    _ => return Err(self.failure(&answer, &path, None, "write")),
                }
                let login: Login = self.parse(&answer, &path)?;
                login
                    .auth
                    .map(|a| a.client_token)
                    .ok_or_else(|| self.malformed(&path, "no auth.client_token"))?
            }
        };
        Ok(self.token.get_or_init(|| token))
    }

    /// Sends an authenticated request.
    fn request(
        &self,
        method: Method,
        path: &str,
        query: &str,
        body: Option<&[u8]>,
    ) -> Result<Answer, BaoError> {
        let token = self.token()?;
        self.send(method, path, query, body, Some(token))
    }

    fn malformed(&self, path: &str, detail: &str) -> BaoError {
        BaoError::Answer {
            address: self.address.clone(),
            path: path.into(),
            detail: detail.into(),
        }
    }

    fn parse<T: for<'de> Deserialize<'de>>(
        &self,
        answer: &Answer,
        path: &str,
    ) -> Result<T, BaoError> {
        serde_json::from_slice(&answer.body).map_err(|e| {
            let what = match e.classify() {
                serde_json::error::Category::Data => "unexpected structure",
                serde_json::error::Category::Eof => "JSON ends early",
                _ => "not JSON",
            };
            self.malformed(
                path,
                &format!(
                    "{what} at line {}, column {} (HTTP {})",
                    e.line(),
                    e.column(),
                    answer.status
                ),
            )
        })
    }

    /// The error for an answer that is not a success: sealed, token refused, permission
    /// denied on `name`, or unexpected.
    fn failure(
        &self,
        answer: &Answer,
        path: &str,
        name: Option<&str>,
        verb: &'static str,
    ) -> BaoError {
        let errors = serde_json::from_slice::<Errors>(&answer.body)
            .map(|e| e.errors)
            .unwrap_or_default();
        let said = errors.first().map(|e| clean(e)).unwrap_or_default();
        match answer.status {
            503 => BaoError::Sealed {
                address: self.address.clone(),
                path: path.into(),
                state: if said.contains("sealed") {
                    "sealed".into()
                } else {
                    format!(
                        "unavailable ({})",
                        if said.is_empty() { "HTTP 503" } else { &said }
                    )
                },
            },
            // A standby that cannot forward to an active node redirects (not followed: the
            // token would go along) or answers 429.
            300..=399 | 429 => BaoError::Sealed {
                address: self.address.clone(),
                path: path.into(),
                state: format!(
                    "a standby node with no reachable active node (HTTP {})",
                    answer.status
                ),
            },
            401 | 403 => match name {
                Some(name) if self.token_is_valid() => BaoError::Denied {
                    name: name.into(),
                    verb,
                    path: path.into(),
                    address: self.address.clone(),
                },
                _ => BaoError::Token {
                    address: self.address.clone(),
                    path: path.into(),
                },
            },
            status => self.malformed(
                path,
                &if said.is_empty() {
                    format!("HTTP {status}")
                } else {
                    format!("HTTP {status}: {said}")
                },
            ),
        }
    }

    /// Whether the token itself is accepted (`auth/token/lookup-self`, which every token's
    /// default policy allows): tells "this path is not yours" from "this token is dead".
    fn token_is_valid(&self) -> bool {
        self.request(Method::Get, "auth/token/lookup-self", "", None)
            .is_ok_and(|a| a.status == 200)
    }

    /// Who is acting, for the versions' provenance: `openbao:DISPLAY_NAME` of the token.
    pub fn actor(&self) -> Result<String> {
        let path = "auth/token/lookup-self";
        let answer = self.request(Method::Get, path, "", None)?;
        if answer.status != 200 {
            return Err(self.failure(&answer, path, None, "read").into());
        }
        let who: Envelope<LookupSelf> = self.parse(&answer, path)?;
        let name = who.data.map(|d| d.display_name).unwrap_or_default();
        Ok(format!(
            "openbao:{}",
            clean(if name.is_empty() { "-" } else { &name })
        ))
    }

    /// Reads version `version` (0 = current) of `name`: `None` when there is none.
    fn read(
        &self,
        name: &str,
        version: u64,
        label: &str,
    ) -> Result<(Option<(Stored, VersionMeta)>, u64), BaoError> {
        let path = self.place.data(name);
        let query = if version == 0 {
            String::new()
        } else {
            format!("?version={version}")
        };
        let answer = self.request(Method::Get, &path, &query, None)?;
        match answer.status {
            200 => {}
            // No such secret, or its latest version is deleted: the body may still say
            // which version a write must follow.
            404 => {
                let seen = serde_json::from_slice::<Envelope<DataAnswer>>(&answer.body)
                    .ok()
                    .and_then(|e| e.data)
                    .and_then(|d| d.metadata)
                    .map_or(0, |m| m.version);
                return Ok((None, seen));
            }
            _ => return Err(self.failure(&answer, &path, Some(label), "read")),
        }
        let envelope: Envelope<DataAnswer> = self.parse(&answer, &path)?;
        let data = envelope
            .data
            .ok_or_else(|| self.malformed(&path, "no data"))?;
        let meta = data
            .metadata
            .ok_or_else(|| self.malformed(&path, "no metadata"))?;
        let version = meta.version;
        match data.data {
            Some(stored) if stored.value.is_some() => Ok((Some((stored, meta)), version)),
            Some(_) => Err(self.malformed(
                &path,
                "no `value` field (was it written by envgen? `bao kv put` it as value=...)",
            )),
            None => Ok((None, version)),
        }
    }

    /// Loads the stored variables among `wanted` (indices into the schema) into a vault;
    /// those in `history` with their previous versions, and then the fingerprint key too.
    /// A variable the server does not hold is simply absent, as in a file vault.
    pub fn load(&self, schema: &Schema, wanted: &[usize], history: &[usize]) -> Result<Vault> {
        let mut vault = Vault::new(&schema.name, Vec::new());
        if !history.is_empty()
            && let Some(key) = self.fingerprint_key()?
        {
            vault.set_fingerprint_key(key);
        }
        let mut seen = self.seen.borrow_mut();
        for &i in wanted {
            let var = &schema.variables()[i];
            if !var.kind.is_stored() {
                continue;
            }
            let (current, version) = self.read(&var.name, 0, &var.name)?;
            let Some((stored, meta)) = current else {
                seen.insert(
                    var.name.clone(),
                    Seen {
                        version,
                        value: None,
                    },
                );
                continue;
            };
            let mut entry = entry(stored, &meta).ok_or_else(|| undated(self, &var.name))?;
            if history.contains(&i) {
                entry.history = self
                    .previous(&var.name, version, entry.rotated, var.rotation.history)?
                    .into();
            }
            seen.insert(
                var.name.clone(),
                Seen {
                    version,
                    value: Some((entry.value.clone(), entry.hash.clone(), entry.nonconforming)),
                },
            );
            vault.variables.insert(var.name.clone(), entry);
        }
        Ok(vault)
    }

    /// The versions before `current`, newest first, at most `keep`.
    fn previous(
        &self,
        name: &str,
        current: u64,
        current_set: Stamp,
        keep: usize,
    ) -> Result<Vec<Version>, BaoError> {
        let path = self.place.metadata(name);
        let answer = self.request(Method::Get, &path, "", None)?;
        if answer.status != 200 {
            return Err(self.failure(&answer, &path, Some(name), "read"));
        }
        let meta: Envelope<Metadata> = self.parse(&answer, &path)?;
        let meta = meta.data.ok_or_else(|| self.malformed(&path, "no data"))?;
        let mut versions = Vec::new();
        let mut retired = current_set;
        let newest = meta.current_version.min(current);
        for n in (1..newest).rev() {
            if versions.len() >= keep {
                break;
            }
            let Some(v) = meta.versions.get(&n.to_string()) else {
                break; // trimmed by max_versions
            };
            if v.destroyed || !v.deletion_time.is_empty() {
                continue;
            }
            let (Some((stored, vmeta)), _) = self.read(name, n, name)? else {
                continue;
            };
            let e = entry(stored, &vmeta).ok_or_else(|| undated(self, name))?;
            versions.push(Version {
                value: e.value,
                hash: e.hash,
                set: e.rotated,
                retired: std::mem::replace(&mut retired, e.rotated),
                set_by: e.set_by,
                nonconforming: e.nonconforming,
            });
        }
        Ok(versions)
    }

    /// The fingerprint key kept in `PATH/.envgen`, if there is one (and this token may read it).
    fn fingerprint_key(&self) -> Result<Option<SecretString>, BaoError> {
        match self.read(META, 0, "the vault's fingerprint key") {
            Ok((Some((stored, _)), _)) => Ok(stored.value),
            Ok((None, _)) | Err(BaoError::Denied { .. }) => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// Writes the fingerprint key to `PATH/.envgen` unless one is there already.
    pub fn ensure_fingerprint_key(&self, vault: &Vault) -> Result<()> {
        let (current, version) = self.read(META, 0, "the vault's fingerprint key")?;
        if current.is_some() {
            return Ok(());
        }
        let by = Provenance::new("init", "-");
        self.write(
            META,
            "the vault's fingerprint key",
            version,
            &NewVersion {
                value: vault.fingerprint_key(),
                hash: None,
                set: Stamp::now(),
                set_by: &by,
                nonconforming: false,
            },
        )
        .map(drop)
        .map_err(Into::into)
    }

    /// Writes one new version of `name` after version `cas` (0: the secret must not exist).
    pub fn write(
        &self,
        name: &str,
        label: &str,
        cas: u64,
        new: &NewVersion<'_>,
    ) -> Result<u64, BaoError> {
        let path = self.place.data(name);
        let mut body = WipingWriter::default();
        serde_json::to_writer(
            &mut body,
            &WriteRequest {
                options: Cas { cas },
                data: StoredOut {
                    value: new.value.expose_secret(),
                    hash: new.hash.map(|h| h.expose_secret()),
                    set: new.set,
                    how: &new.set_by.how,
                    by: &new.set_by.by,
                    nonconforming: new.nonconforming.then_some("true"),
                },
            },
        )
        .expect("serializing to memory cannot fail");
        let body = body.into_inner();
        let answer = self.request(Method::Post, &path, "", Some(&body))?;
        match answer.status {
            200 | 204 => {}
            400 if String::from_utf8_lossy(&answer.body).contains("check-and-set") => {
                return Err(BaoError::Conflict {
                    name: name.into(),
                    expected: cas,
                    path,
                    address: self.address.clone(),
                    written: String::new(),
                });
            }
            _ => return Err(self.failure(&answer, &path, Some(label), "write")),
        }
        let written: Envelope<WriteAnswer> = self.parse(&answer, &path)?;
        written
            .data
            .map(|w| w.version)
            .ok_or_else(|| self.malformed(&path, "no version in the answer to a write"))
    }

    /// Sets a variable's `max_versions` and the `custom_metadata` people read with
    /// `bao kv metadata get`.
    pub fn write_metadata(
        &self,
        name: &str,
        keep: usize,
        entry: &Entry,
        impact: &str,
    ) -> Result<(), BaoError> {
        let path = self.place.metadata(name);
        let (created, rotated) = (entry.created.to_string(), entry.rotated.to_string());
        let custom_metadata = BTreeMap::from([
            ("created", created.as_str()),
            ("rotated", rotated.as_str()),
            ("how", &*entry.set_by.how),
            ("set_by", &*entry.set_by.by),
            ("impact", impact),
        ]);
        let body = serde_json::to_vec(&MetadataRequest {
            max_versions: keep + 1,
            custom_metadata,
        })
        .expect("serializing to memory cannot fail");
        let answer = self.request(Method::Post, &path, "", Some(&body))?;
        match answer.status {
            200 | 204 => Ok(()),
            _ => Err(self.failure(&answer, &path, Some(name), "write")),
        }
    }

    /// Writes every variable of `vault` that differs from what [`Store::load`] read, each as
    /// a new version after the one read (check-and-set), in schema order. On a conflict the
    /// error names the variable and what was written before it.
    pub fn save(&self, schema: &Schema, vault: &Vault) -> Result<Vec<String>> {
        let mut written: Vec<String> = Vec::new();
        for var in schema.variables() {
            let Some(entry) = vault.variables.get(&var.name) else {
                continue;
            };
            let version = {
                let seen = self.seen.borrow();
                match seen.get(&var.name) {
                    Some(Seen {
                        value: Some((value, hash, nonconforming)),
                        ..
                    }) if secret_eq(value, &entry.value)
                        && hash_eq(hash.as_ref(), entry.hash.as_ref())
                        && *nonconforming == entry.nonconforming =>
                    {
                        continue;
                    }
                    Some(seen) => seen.version,
                    None => 0,
                }
            };
            let new = NewVersion {
                value: &entry.value,
                hash: entry.hash.as_ref(),
                set: entry.rotated,
                set_by: &entry.set_by,
                nonconforming: entry.nonconforming,
            };
            let result = self
                .write(&var.name, &var.name, version, &new)
                .and_then(|v| {
                    self.write_metadata(
                        &var.name,
                        var.rotation.history,
                        entry,
                        var.rotation.impact.name(),
                    )
                    .map(|()| v)
                });
            let now_at = match result {
                Ok(v) => v,
                Err(BaoError::Conflict {
                    name,
                    expected,
                    path,
                    address,
                    ..
                }) => {
                    return Err(BaoError::Conflict {
                        name,
                        expected,
                        path,
                        address,
                        written: if written.is_empty() {
                            "nothing was written".into()
                        } else {
                            format!("written before it: {}", written.join(", "))
                        },
                    }
                    .into());
                }
                Err(e) => return Err(e.into()),
            };
            self.seen.borrow_mut().insert(
                var.name.clone(),
                Seen {
                    version: now_at,
                    value: Some((entry.value.clone(), entry.hash.clone(), entry.nonconforming)),
                },
            );
            written.push(var.name.clone());
        }
        Ok(written)
    }

    /// The version of `name` this command read (0: none).
    pub fn seen_version(&self, name: &str) -> u64 {
        self.seen.borrow().get(name).map_or(0, |s| s.version)
    }

    /// Remembers that `name` is now at `version` with this entry's value.
    pub fn remember(&self, name: &str, version: u64, entry: &Entry) {
        self.seen.borrow_mut().insert(
            name.into(),
            Seen {
                version,
                value: Some((entry.value.clone(), entry.hash.clone(), entry.nonconforming)),
            },
        );
    }
}

/// The answer for a version of `name` that carries no date.
fn undated(store: &Store, name: &str) -> BaoError {
    store.malformed(&store.place.data(name), "a version with no creation time")
}

/// Writes `text` as the body of an ACL policy (HCL) granting `read` on the data and metadata
/// of each name under `place`.
pub fn policy(place: &Place, names: &[&str], out: &mut impl Write) -> std::io::Result<()> {
    for name in names {
        writeln!(
            out,
            "path \"{}\" {{\n  capabilities = [\"read\"]\n}}\npath \"{}\" {{\n  capabilities = [\"read\"]\n}}",
            place.data(name),
            place.metadata(name)
        )?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_http_only_to_this_machine() {
        for ok in [
            "http://127.0.0.1:8200",
            "http://127.9.9.9:1/",
            "http://[::1]:8200",
            "https://bao.example.org",
            "https://10.0.0.5:8200",
        ] {
            assert!(check_address(ok).is_ok(), "{ok}");
        }
        for bad in [
            "http://10.0.0.5:8200",
            "http://bao.example.org",
            "http://127.0.0.1.evil.org",
            "http://localhost@evil.org",
            "http://localhost:8200",
            "ftp://127.0.0.1",
            "127.0.0.1:8200",
            "https://host/path",
            "http://[::2]:8200",
        ] {
            assert!(check_address(bad).is_err(), "{bad}");
        }
        assert_eq!(
            check_address("http://127.0.0.1:8200/").unwrap(),
            "http://127.0.0.1:8200"
        );
    }

    #[test]
    fn the_store_debug_shows_no_token() {
        let store = Store::new(
            Place::parse(Scheme::OpenBao, "secret/x").unwrap(),
            Connection {
                address: "http://127.0.0.1:1".into(),
                namespace: None,
                ca_pem: None,
                credentials: Credentials::Token(SecretString::from("s.TOKEN-CANARY")),
            },
        )
        .unwrap();
        assert!(!format!("{store:?}").contains("TOKEN-CANARY"));
    }
}
