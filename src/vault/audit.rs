//! The audit trail: one JSON line per operation in `vault/<name>.audit`, appended.
//!
//! Each line records the time, the operation, the variable names and the public recipient of
//! the identity that performed it; never a value. It is a plain file: it documents what
//! honest operators did, and proves nothing against someone who can edit it (SECURITY.md).

use std::fs::OpenOptions;
use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;

use serde::Serialize;

use crate::error::{Error, Result};
use crate::vault::store::VaultFiles;

#[derive(Serialize)]
struct Record<'a> {
    time: String,
    op: &'a str,
    names: &'a [&'a str],
    by: &'a str,
}

/// Appends one record with a single write, then syncs it to disk.
pub fn append(files: &VaultFiles, op: &str, names: &[&str], by: &str) -> Result<()> {
    let record = Record {
        time: crate::vault::now(),
        op,
        names,
        by,
    };
    let mut line = serde_json::to_vec(&record).expect("a record always serializes");
    line.push(b'\n');
    let path = &files.audit;
    let mut file = OpenOptions::new()
        .create(true)
        .append(true)
        .mode(0o644)
        .open(path)
        .map_err(|e| Error::io("open the audit log", path, e))?;
    file.write_all(&line)
        .and_then(|()| file.sync_data())
        .map_err(|e| Error::io("append to", path, e))
}
