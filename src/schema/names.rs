//! Environment variable names that change how programs run.
//!
//! `envgen exec` puts every variable of the schema into the environment of the command it
//! runs (`docker compose`, a shell, a migration script). A schema variable called
//! `LD_PRELOAD`, `PATH` or `BASH_ENV` would then load a library, pick another `docker` or run
//! a script in that command, so one commit to the schema would be enough to run code on the
//! deploy host. Such names are refused at schema load unless the variable says
//! `allow_dangerous_name = true`, and then every command warns about them.
//!
//! The list covers the dynamic loader (glibc, musl, macOS), shells (bash, POSIX sh, zsh),
//! language runtimes that load code or options from the environment (Node.js, Python, Perl,
//! Ruby, Java, .NET, Go), git, docker and compose (which `exec -- docker compose` runs), TLS
//! trust stores and proxies (which would redirect or intercept a pull), and locale and
//! character-set paths glibc loads modules from.

/// Names refused exactly (compared as written, and case-insensitively for the proxy
/// variables, which programs read in either case).
const EXACT: &[&str] = &[
    // shells
    "PATH",
    "ENV",
    "BASH_ENV",
    "BASHOPTS",
    "SHELLOPTS",
    "IFS",
    "PS4",
    "PROMPT_COMMAND",
    "CDPATH",
    "GLOBIGNORE",
    "HOME",
    "SHELL",
    "ZDOTDIR",
    "TMPDIR",
    // glibc
    "GCONV_PATH",
    "LOCPATH",
    "NLSPATH",
    "HOSTALIASES",
    "RESOLV_HOST_CONF",
    "GLIBC_TUNABLES",
    "MALLOC_CHECK_",
    // language runtimes
    "NODE_OPTIONS",
    "NODE_PATH",
    "NODE_EXTRA_CA_CERTS",
    "PYTHONPATH",
    "PYTHONSTARTUP",
    "PYTHONHOME",
    "PYTHONINSPECT",
    "PYTHONUSERBASE",
    "PERL5OPT",
    "PERL5LIB",
    "PERLLIB",
    "PERL5DB",
    "RUBYOPT",
    "RUBYLIB",
    "JAVA_TOOL_OPTIONS",
    "_JAVA_OPTIONS",
    "JDK_JAVA_OPTIONS",
    "CLASSPATH",
    "DOTNET_STARTUP_HOOKS",
    "CORECLR_PROFILER_PATH",
    "GOFLAGS",
    // TLS trust and helpers
    "SSL_CERT_FILE",
    "SSL_CERT_DIR",
    "REQUESTS_CA_BUNDLE",
    "CURL_CA_BUNDLE",
    "OPENSSL_CONF",
    "OPENSSL_ENGINES",
    "SSH_ASKPASS",
    "SUDO_ASKPASS",
    "EDITOR",
    "VISUAL",
    "PAGER",
    "KUBECONFIG",
];

/// Names refused case-insensitively.
const ANY_CASE: &[&str] = &[
    "HTTP_PROXY",
    "HTTPS_PROXY",
    "ALL_PROXY",
    "NO_PROXY",
    "FTP_PROXY",
];

/// Prefixes refused (a name starting with one of these).
const PREFIXES: &[&str] = &[
    "LD_",
    "DYLD_",
    "GIT_",
    "DOCKER_",
    "COMPOSE_",
    "BUILDKIT_",
    "BASH_FUNC_",
    "PYTHON",
    "LC_",
];

/// Why `name` is dangerous in a command's environment, or `None` when it is not.
pub fn danger(name: &str) -> Option<&'static str> {
    let upper = name.to_ascii_uppercase();
    if EXACT.contains(&name) {
        return Some(match name {
            "PATH" => "it chooses which program runs (`exec -- docker` would run another docker)",
            "ENV" | "BASH_ENV" | "ZDOTDIR" | "PROMPT_COMMAND" | "PS4" => {
                "a shell started by the command runs code from it"
            }
            "IFS" | "SHELLOPTS" | "BASHOPTS" | "CDPATH" | "GLOBIGNORE" | "HOME" | "SHELL" => {
                "it changes how shell scripts run"
            }
            n if n.starts_with("NODE_")
                || n.starts_with("PERL")
                || n.starts_with("RUBY")
                || n.contains("JAVA")
                || n == "CLASSPATH"
                || n.starts_with("DOTNET")
                || n.starts_with("CORECLR")
                || n == "GOFLAGS" =>
            {
                "a language runtime loads code or options from it"
            }
            n if n.contains("SSL") || n.contains("CA_") || n.starts_with("OPENSSL") => {
                "it replaces the trusted certificates or the TLS configuration"
            }
            _ => "programs load code or run commands named by it",
        });
    }
    if ANY_CASE.contains(&upper.as_str()) {
        return Some("it sends network traffic through another host");
    }
    PREFIXES
        .iter()
        .find(|p| name.starts_with(*p))
        .map(|p| match *p {
            "LD_" | "DYLD_" => "the dynamic loader loads libraries named by it into every program",
            "GIT_" => "git runs programs and reads configuration named by it",
            "DOCKER_" | "COMPOSE_" | "BUILDKIT_" => {
                "docker and compose read it: it can point them at another daemon, file or project"
            }
            "PYTHON" => "Python loads code or options from it",
            "LC_" => "glibc loads locale data named by it",
            _ => "a shell imports functions from it",
        })
}

#[cfg(test)]
mod tests {
    use super::danger;

    #[test]
    fn the_names_of_the_issue_are_refused() {
        for name in [
            "LD_PRELOAD",
            "LD_LIBRARY_PATH",
            "DYLD_INSERT_LIBRARIES",
            "PATH",
            "BASH_ENV",
            "ENV",
            "IFS",
            "NODE_OPTIONS",
            "PYTHONPATH",
            "PYTHONSTARTUP",
            "PERL5OPT",
            "RUBYOPT",
            "GIT_SSH_COMMAND",
            "DOCKER_HOST",
            "COMPOSE_FILE",
            "SHELLOPTS",
            "PS4",
            "https_proxy",
            "HTTP_PROXY",
        ] {
            assert!(danger(name).is_some(), "{name}");
        }
    }

    #[test]
    fn ordinary_secret_names_pass() {
        for name in [
            "POSTGRES_PASSWORD",
            "REDIS_URL",
            "DATABASE_URL",
            "AP_ENCRYPTION_KEY",
            "SECRET_KEY_BASE",
            "LDAP_PASSWORD",
            "GITEA__security__SECRET_KEY",
            "PATH_PREFIX",
            "DOCKERHUB_TOKEN",
        ] {
            assert_eq!(danger(name), None, "{name}");
        }
    }
}
