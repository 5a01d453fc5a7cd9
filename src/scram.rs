//! SCRAM-SHA-256 verifiers for PostgreSQL (`envgen get --scram-sha-256`).
//!
//! Rotating a PostgreSQL password means `ALTER ROLE ... PASSWORD '...'`. Sent as plaintext,
//! the password can land in the server log (statement text is logged on errors and with
//! `log_statement`), in `pg_stat_activity`, and a `'` in it breaks the statement. PostgreSQL
//! also accepts the verifier it would store, `SCRAM-SHA-256$<iterations>:<salt>$<StoredKey>:
//! <ServerKey>`, and stores it unchanged; psql's `\password` and libpq's
//! `PQencryptPasswordConn` build it client-side for that reason. This module builds the same
//! string (RFC 5802 section 3, with SHA-256 as RFC 7677 specifies; PostgreSQL's
//! `scram_build_secret`):
//!
//! ```text
//! SaltedPassword = PBKDF2-HMAC-SHA256(password, salt, 4096)
//! ClientKey      = HMAC-SHA256(SaltedPassword, "Client Key")
//! StoredKey      = SHA256(ClientKey)
//! ServerKey      = HMAC-SHA256(SaltedPassword, "Server Key")
//! ```
//!
//! with 16 salt bytes from the OS CSPRNG and standard, padded base64, as libpq does. The server
//! can check a login against it but cannot recover the password; whoever reads it can mount
//! an offline guessing attack, which 32 random bytes make hopeless, so it is still treated
//! as secret here (held in [`SecretString`], intermediate keys wiped on drop).
//!
//! **Normalization.** PostgreSQL runs the password through SASLprep (RFC 4013) before
//! hashing, on both sides; if SASLprep fails (invalid UTF-8, prohibited characters) it hashes
//! the raw bytes. For an ASCII password SASLprep is the identity (PostgreSQL's
//! `pg_saslprep` returns ASCII input unchanged, control characters included), so the raw
//! bytes are exactly what the server hashes at login. envgen does not implement SASLprep's
//! Unicode mapping and normalization tables, so it refuses a non-ASCII password
//! ([`NonAscii`]) rather than build a verifier that might not match; every value envgen
//! generates is ASCII. Set such a password with psql's `\password` instead.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use hmac::{Hmac, Mac};
use rand::RngCore;
use secrecy::SecretString;
use sha2::{Digest, Sha256};
use zeroize::Zeroizing;

/// PBKDF2 iterations: PostgreSQL's default (`scram_iterations`, fixed before version 16).
pub const ITERATIONS: u32 = 4096;

/// Salt length in bytes: PostgreSQL's `SCRAM_DEFAULT_SALT_LEN`.
pub const SALT_LEN: usize = 16;

/// The password holds a non-ASCII character, which PostgreSQL would SASLprep-normalize first.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NonAscii;

/// The verifier of `password` under a fresh random salt from the OS CSPRNG, with
/// [`ITERATIONS`] iterations.
pub fn verifier(password: &str) -> Result<SecretString, NonAscii> {
    let mut salt = [0u8; SALT_LEN];
    rand::rngs::OsRng.fill_bytes(&mut salt);
    verifier_with(password, &salt, ITERATIONS)
}

/// The verifier of `password` under the given salt and iteration count (for known-answer
/// tests and for checking a verifier a server stored).
pub fn verifier_with(
    password: &str,
    salt: &[u8],
    iterations: u32,
) -> Result<SecretString, NonAscii> {
    if !password.is_ascii() {
        return Err(NonAscii);
    }
    let mut salted = Zeroizing::new([0u8; 32]);
    pbkdf2::pbkdf2_hmac::<Sha256>(password.as_bytes(), salt, iterations, &mut *salted);
    let mut client_key = Zeroizing::new([0u8; 32]);
    hmac_sha256(&*salted, b"Client Key", &mut client_key);
    let mut stored_key = Zeroizing::new([0u8; 32]);
    Sha256::new_with_prefix(client_key.as_slice()).finalize_into((&mut *stored_key).into());
    let mut server_key = Zeroizing::new([0u8; 32]);
    hmac_sha256(&*salted, b"Server Key", &mut server_key);

    // "SCRAM-SHA-256$4096:" + 24 + "$" + 44 + ":" + 44 for the defaults; sized so the
    // buffer never reallocates (which would leave a copy behind) for any salt length.
    let b64 = |n: usize| n.div_ceil(3) * 4;
    let mut text = Zeroizing::new(String::with_capacity(
        "SCRAM-SHA-256$:$:".len() + 10 + b64(salt.len()) + 2 * b64(32),
    ));
    text.push_str("SCRAM-SHA-256$");
    text.push_str(&iterations.to_string());
    text.push(':');
    STANDARD.encode_string(salt, &mut text);
    text.push('$');
    STANDARD.encode_string(stored_key.as_slice(), &mut text);
    text.push(':');
    STANDARD.encode_string(server_key.as_slice(), &mut text);
    Ok(SecretString::from(text.as_str()))
}

/// HMAC-SHA256 of `message` under `key`, written into `out` (so the caller's wiped buffer
/// is the only copy the result is returned in).
fn hmac_sha256(key: &[u8], message: &[u8], out: &mut [u8; 32]) {
    let mut mac = Hmac::<Sha256>::new_from_slice(key).expect("HMAC takes a key of any length");
    mac.update(message);
    hmac::digest::FixedOutput::finalize_into(mac, out.into());
}

#[cfg(test)]
mod tests {
    use super::*;
    use secrecy::ExposeSecret;

    fn b64(text: &str) -> Vec<u8> {
        STANDARD.decode(text).unwrap()
    }

    /// StoredKey and ServerKey of a verifier.
    fn keys(verifier: &str) -> (Vec<u8>, Vec<u8>) {
        let (_, keys) = verifier.rsplit_once('$').unwrap();
        let (stored, server) = keys.split_once(':').unwrap();
        (b64(stored), b64(server))
    }

    #[test]
    fn matches_a_verifier_made_by_postgresql() {
        // PostgreSQL 15.18: SET password_encryption = 'scram-sha-256';
        // CREATE ROLE r1 LOGIN PASSWORD 'pencil'; SELECT rolpassword FROM pg_authid ...
        let server = "SCRAM-SHA-256$4096:A/w3CVakFIcdn0YoBXVXdQ==$mXV1IpIqMHwPtCR5IBVqoHIIRgVTIeMXAF6kmj+gdzU=:6nVUQB8qFi7xQsa3hhS6bWx5rBQwFgdRFb/keHupP/M=";
        let ours = verifier_with("pencil", &b64("A/w3CVakFIcdn0YoBXVXdQ=="), 4096).unwrap();
        assert_eq!(ours.expose_secret(), server);
    }

    #[test]
    fn matches_python_hashlib() {
        // python3: sp = hashlib.pbkdf2_hmac('sha256', pw, salt, 4096);
        // ck = hmac.new(sp, b'Client Key', 'sha256').digest(); StoredKey = sha256(ck);
        // ServerKey = hmac.new(sp, b'Server Key', 'sha256').digest(); base64.b64encode each.
        let cases = [
            (
                "pencil",
                (0u8..16).collect::<Vec<u8>>(),
                "SCRAM-SHA-256$4096:AAECAwQFBgcICQoLDA0ODw==$zHCdol2044/ZyWzPLi7oxApCkamKw9Z+E4U/QApd/5Y=:dd5peBOitVnLNFu7VmwP+HiDaaw4OUCv396eVCWhYiE=",
            ),
            (
                "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
                b"envgen-kat-salt!".to_vec(),
                "SCRAM-SHA-256$4096:ZW52Z2VuLWthdC1zYWx0IQ==$T7N3snTM549PBWdxKh3YodPyRr+ddAYUq1ALi7oapKk=:yrZr9HTOS7ZGgNIxg3TySttB+toOOKt7iQGH+oTzUtk=",
            ),
        ];
        for (password, salt, expected) in cases {
            let ours = verifier_with(password, &salt, ITERATIONS).unwrap();
            assert_eq!(ours.expose_secret(), expected);
        }
    }

    #[test]
    fn checks_the_rfc_7677_exchange() {
        // RFC 7677 section 3: user "user", password "pencil". A server holding our StoredKey
        // and ServerKey accepts the client's proof and answers with the RFC's signature.
        let auth_message = "n=user,r=rOprNGfwEbeRWgbNEkqO,\
            r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096,\
            c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0";
        let v = verifier_with("pencil", &b64("W22ZaJ0SNY7soEsUEjb6gQ=="), 4096).unwrap();
        let (stored_key, server_key) = keys(v.expose_secret());

        let mac = |key: &[u8]| {
            let mut out = [0u8; 32];
            hmac_sha256(key, auth_message.as_bytes(), &mut out);
            out
        };
        let signature = mac(&server_key);
        assert_eq!(
            STANDARD.encode(signature),
            "6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4="
        );
        let client_signature = mac(&stored_key);
        let proof = b64("dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=");
        let client_key: Vec<u8> = proof
            .iter()
            .zip(client_signature)
            .map(|(p, s)| p ^ s)
            .collect();
        assert_eq!(Sha256::digest(&client_key).as_slice(), stored_key);
    }

    #[test]
    fn random_salts_differ_and_have_the_postgresql_shape() {
        let a = verifier("correct horse").unwrap();
        let b = verifier("correct horse").unwrap();
        assert_ne!(a.expose_secret(), b.expose_secret());
        let re = regex_lite::Regex::new(
            r"^SCRAM-SHA-256\$4096:[A-Za-z0-9+/]{22}==\$[A-Za-z0-9+/]{43}=:[A-Za-z0-9+/]{43}=$",
        )
        .unwrap();
        for v in [&a, &b] {
            assert!(re.is_match(v.expose_secret()), "{}", v.expose_secret());
            let salt = v.expose_secret()[19..43].to_string();
            let again = verifier_with("correct horse", &b64(&salt), ITERATIONS).unwrap();
            assert_eq!(again.expose_secret(), v.expose_secret());
        }
    }

    #[test]
    fn refuses_non_ascii_and_accepts_every_ascii_byte() {
        assert_eq!(verifier("pässwörd").unwrap_err(), NonAscii);
        let every: String = (0u8..128).map(char::from).collect();
        assert!(verifier(&every).is_ok());
        assert!(verifier("").is_ok());
    }

    #[test]
    fn debug_shows_no_verifier() {
        let v = verifier("pencil").unwrap();
        assert!(!format!("{v:?}").contains("SCRAM"));
    }
}
