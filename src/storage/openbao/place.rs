//! Where a vault kept in OpenBao is: `openbao://MOUNT/PATH` (or `vault://`), and the server
//! address, which must be https except to a loopback address.

use std::fmt;
use std::net::IpAddr;

use crate::error::BaoError;

/// Which CLI's name the location was given with (the API is the same).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Scheme {
    /// `openbao://`
    OpenBao,
    /// `vault://` (HashiCorp Vault)
    Vault,
}

impl Scheme {
    /// `openbao://` or `vault://`.
    pub fn prefix(self) -> &'static str {
        match self {
            Scheme::OpenBao => "openbao://",
            Scheme::Vault => "vault://",
        }
    }
}

/// A KV version 2 mount and the path under it that holds one stack's variables.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Place {
    /// How it was written.
    pub scheme: Scheme,
    /// The engine's mount (`secret`).
    pub mount: String,
    /// The path under the mount (`alecia`, `team/alecia`).
    pub path: String,
}

impl Place {
    /// Parses `MOUNT/PATH` (what follows `openbao://`): segments of letters, digits, `.`, `_`
    /// and `-`, none empty, `.` or `..`.
    pub fn parse(scheme: Scheme, rest: &str) -> std::result::Result<Place, String> {
        let segments: Vec<&str> = rest.split('/').collect();
        if segments.len() < 2 {
            return Err("expected MOUNT/PATH, e.g. openbao://secret/alecia".into());
        }
        for segment in &segments {
            if segment.is_empty() || *segment == "." || *segment == ".." {
                return Err("empty, `.` or `..` path segment".into());
            }
            if !segment
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"._-".contains(&b))
            {
                return Err(
                    "a path segment holds a character other than letters, digits, `.`, `_` and `-`"
                        .into(),
                );
            }
        }
        Ok(Place {
            scheme,
            mount: segments[0].into(),
            path: segments[1..].join("/"),
        })
    }

    /// The API path of a variable's current data: `MOUNT/data/PATH/NAME`.
    pub fn data(&self, name: &str) -> String {
        format!("{}/data/{}/{name}", self.mount, self.path)
    }

    /// The API path of a variable's metadata: `MOUNT/metadata/PATH/NAME`.
    pub fn metadata(&self, name: &str) -> String {
        format!("{}/metadata/{}/{name}", self.mount, self.path)
    }
}

impl fmt::Display for Place {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}{}/{}", self.scheme.prefix(), self.mount, self.path)
    }
}

/// Checks a server address: `http://` only to a loopback host, else `https://`; no user
/// information, query or fragment. Returns it without a trailing `/`.
pub fn check_address(given: &str) -> std::result::Result<String, BaoError> {
    let refuse = |reason: &str| BaoError::Address {
        what: "server address",
        given: given.into(),
        reason: reason.into(),
    };
    let trimmed = given.trim_end_matches('/');
    let (https, rest) = if let Some(rest) = trimmed.strip_prefix("https://") {
        (true, rest)
    } else if let Some(rest) = trimmed.strip_prefix("http://") {
        (false, rest)
    } else {
        return Err(refuse(
            "it must start with https:// (or http:// to this machine)",
        ));
    };
    if rest.contains(['@', '?', '#', '/', ' ']) || rest.is_empty() {
        return Err(refuse(
            "expected scheme://HOST[:PORT] with no user, path, query or fragment",
        ));
    }
    let host = match rest.strip_prefix('[') {
        Some(v6) => v6.split(']').next().unwrap_or_default(),
        None => rest.split(':').next().unwrap_or_default(),
    };
    if !https && !is_loopback(host) {
        return Err(refuse(
            "plain http would send the token and the secrets unencrypted; use https:// (http:// is allowed to loopback addresses only: 127.0.0.1, ::1)",
        ));
    }
    Ok(trimmed.into())
}

/// A loopback address written as such: `localhost` is a name, which a resolver could send
/// elsewhere, so plain http to it is refused like to any other name.
fn is_loopback(host: &str) -> bool {
    host.parse::<IpAddr>().is_ok_and(|ip| ip.is_loopback())
}
