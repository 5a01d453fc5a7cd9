//! Where a vault lives: an age file (the default, [`crate::vault`]) or an OpenBao / HashiCorp
//! Vault server ([`openbao`]).
//!
//! Every command works on the same in-memory [`crate::vault::Vault`]; only loading it, saving
//! a change and excluding other writers differ. `--vault openbao://MOUNT/PATH` (or
//! `vault://MOUNT/PATH`) selects the server; anything else is a file path. The choice is made
//! once, in `cmd`, from the location alone.

pub mod openbao;

use std::path::{Path, PathBuf};

use crate::error::{BaoError, Result};

/// Where the vault named by `--vault` lives.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Location {
    /// An age file.
    File(PathBuf),
    /// A KV version 2 engine of an OpenBao or Vault server.
    Server(openbao::Place),
}

/// The storage behind one command's vault.
#[derive(Debug)]
pub enum Backend {
    /// The age file and its lock (`Context::files`).
    File,
    /// A server: check-and-set instead of a lock, the server's ACL instead of recipients.
    OpenBao(Box<openbao::Store>),
}

/// Reads a `--vault` argument: `openbao://MOUNT/PATH` and `vault://MOUNT/PATH` name a server
/// location (checked here), anything else a file.
pub fn locate(given: &Path) -> Result<Location> {
    let Some(text) = given.to_str() else {
        return Ok(Location::File(given.to_path_buf()));
    };
    for scheme in [openbao::Scheme::OpenBao, openbao::Scheme::Vault] {
        if let Some(rest) = text.strip_prefix(scheme.prefix()) {
            return openbao::Place::parse(scheme, rest)
                .map(Location::Server)
                .map_err(|reason| {
                    BaoError::Address {
                        what: "vault location",
                        given: text.into(),
                        reason,
                    }
                    .into()
                });
        }
    }
    Ok(Location::File(given.to_path_buf()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn locations_are_told_apart() {
        assert_eq!(
            locate(Path::new("vault/alecia.age")).unwrap(),
            Location::File("vault/alecia.age".into())
        );
        let Location::Server(place) = locate(Path::new("openbao://secret/team/alecia")).unwrap()
        else {
            panic!("a server location")
        };
        assert_eq!(place.mount, "secret");
        assert_eq!(place.path, "team/alecia");
        assert_eq!(place.to_string(), "openbao://secret/team/alecia");
        assert!(matches!(
            locate(Path::new("vault://kv/x")).unwrap(),
            Location::Server(_)
        ));
        for bad in [
            "openbao://secret",
            "openbao://secret/",
            "openbao:///x",
            "openbao://secret/../x",
            "openbao://secret/a b",
            "openbao://secret/a?x=1",
            "openbao://secret//x",
        ] {
            assert!(locate(Path::new(bad)).is_err(), "{bad}");
        }
    }
}
