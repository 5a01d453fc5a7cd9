//! envgen provisions the secrets of a self-hosted stack and renders its `.env` only at
//! deploy time.
//!
//! The architecture, one module per concept:
//! - [`schema`]: the TOML schema (model, validation, templates, dependency graph);
//! - [`generate`]: values from the OS CSPRNG in each encoding; [`hash`]: Argon2id PHC strings;
//!   [`jwt`]: tokens signed with another variable; [`keypair`]: private keys and their public
//!   parts;
//!   [`scram`]: PostgreSQL's SCRAM-SHA-256 verifiers, so a password change never sends the
//!   plaintext;
//! - [`harden`]: no core dumps, no memory reads by other processes of the user;
//! - [`vault`]: the age-encrypted store, its keys, its lock and this machine's pins;
//! - [`storage`]: where the vault lives: the age file, or an OpenBao / Vault server;
//! - [`files`]: atomic writes, output into FIFOs and devices, no symlinks followed, bounded
//!   reads; [`journal`]: this machine's record of operations, outside the repository;
//! - [`resolve`]: every variable's value from the vault; [`render`]: `.env` quoting;
//! - [`catalogue`]: what each upstream service requires, bundled data parsed on demand;
//!   [`infer`]: a schema from a compose file;
//! - [`scan`]: the actual values, in the forms they leak in, searched in files and history;
//! - [`compose`]: variable references in compose files; [`dotenv`]: reading an existing `.env`
//!   as compose does (for `import` and `diff`);
//! - [`cli`] and [`cmd`]: the command line and the commands; [`error`]: every message.
//!
//! Secret values live in [`secrecy::SecretString`] or [`secret::SecretBuf`], are wiped when
//! dropped, and never appear in `Debug` output or error messages.

#![forbid(unsafe_code)]
#![deny(missing_docs)]

pub mod catalogue;
pub mod cli;
pub mod cmd;
pub mod compose;
pub mod dotenv;
pub mod error;
pub mod files;
pub mod generate;
pub mod harden;
pub mod hash;
pub mod infer;
pub mod journal;
pub mod jwt;
pub mod keypair;
pub mod render;
pub mod resolve;
pub mod scan;
pub mod schema;
pub mod scram;
pub mod secret;
pub mod storage;
pub mod vault;
