//! Process hardening while secrets are in memory.
//!
//! On Linux, envgen marks itself non-dumpable (`prctl(PR_SET_DUMPABLE, 0)`): another process
//! of the same user can then neither read its memory (`/proc/PID/mem`, ptrace) nor its
//! `/proc/PID/environ`, and no core dump is written. It also sets `RLIMIT_CORE` to 0, which
//! `exec` passes on to the command it becomes. Root keeps its power to read any process.

/// Applies the hardening; returns what could not be applied, for a warning. Each measure is
/// applied whatever became of the other: a failed `setrlimit` (a hard limit the caller may not
/// lower, say) still leaves the process non-dumpable.
pub fn harden() -> Result<(), String> {
    use nix::sys::resource::{Resource, setrlimit};
    let mut problems = Vec::new();
    if let Err(e) = setrlimit(Resource::RLIMIT_CORE, 0, 0) {
        problems.push(format!("cannot disable core dumps: {e}"));
    }
    #[cfg(target_os = "linux")]
    if let Err(e) = nix::sys::prctl::set_dumpable(false) {
        problems.push(format!("cannot mark the process non-dumpable: {e}"));
    }
    if problems.is_empty() {
        Ok(())
    } else {
        Err(problems.join("; "))
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_process_becomes_non_dumpable_with_no_core_limit() {
        super::harden().unwrap();
        #[cfg(target_os = "linux")]
        assert!(!nix::sys::prctl::get_dumpable().unwrap());
        let (soft, hard) =
            nix::sys::resource::getrlimit(nix::sys::resource::Resource::RLIMIT_CORE).unwrap();
        assert_eq!((soft, hard), (0, 0));
    }
}
