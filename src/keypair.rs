//! Key pairs (`kind = "keypair"`): Ed25519, NIST P-256 and RSA private keys from the OS
//! CSPRNG, with RustCrypto's `ed25519-dalek`, `p256` and `rsa`.
//!
//! The vault stores the private key only; the public key is computed from it whenever a
//! template asks for `${NAME.public}`, so the two can never disagree. Formats:
//!
//! - `pem-pkcs8` (default): the private key as PKCS#8 PEM (`-----BEGIN PRIVATE KEY-----`),
//!   the public key as SPKI PEM (`-----BEGIN PUBLIC KEY-----`), both with `\n` line ends and
//!   no final newline (the `.env` line or file adds its own);
//! - `vapid` (P-256 only, web push, RFC 8292): the private key as base64url (no padding) of
//!   the raw 32-byte scalar, the public key as base64url of the 65-byte uncompressed point:
//!   what web-push libraries and `npx web-push generate-vapid-keys` use.
//!
//! Every intermediate holding key material is zeroized: the crates' key types wipe
//! themselves on drop and their PEM encoders return `Zeroizing<String>`.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use rand::rngs::OsRng;
use secrecy::SecretString;
use zeroize::Zeroizing;

use ed25519_dalek::pkcs8::{
    DecodePrivateKey as _, EncodePrivateKey as _, EncodePublicKey as _, spki::der::pem::LineEnding,
};

/// A key algorithm.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Algorithm {
    /// Ed25519 (RFC 8032).
    Ed25519,
    /// ECDSA / ECDH over NIST P-256.
    P256,
    /// RSA with a 2048-bit modulus.
    Rsa2048,
    /// RSA with a 4096-bit modulus.
    Rsa4096,
}

/// How the key pair is spelled.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    /// PKCS#8 PEM private key, SPKI PEM public key.
    PemPkcs8,
    /// Web push: base64url raw scalar and uncompressed point (P-256 only).
    Vapid,
}

impl Algorithm {
    /// Every algorithm, as the schema names them.
    pub const ALL: [Algorithm; 4] = [
        Algorithm::Ed25519,
        Algorithm::P256,
        Algorithm::Rsa2048,
        Algorithm::Rsa4096,
    ];

    /// The schema name.
    pub fn name(self) -> &'static str {
        match self {
            Algorithm::Ed25519 => "ed25519",
            Algorithm::P256 => "p256",
            Algorithm::Rsa2048 => "rsa2048",
            Algorithm::Rsa4096 => "rsa4096",
        }
    }

    /// The algorithm with this schema name.
    pub fn from_name(name: &str) -> Option<Self> {
        Algorithm::ALL.into_iter().find(|a| a.name() == name)
    }
}

impl Format {
    /// The schema name.
    pub fn name(self) -> &'static str {
        match self {
            Format::PemPkcs8 => "pem-pkcs8",
            Format::Vapid => "vapid",
        }
    }

    /// The format with this schema name.
    pub fn from_name(name: &str) -> Option<Self> {
        [Format::PemPkcs8, Format::Vapid]
            .into_iter()
            .find(|f| f.name() == name)
    }

    /// Whether values of this format span lines.
    pub fn is_multiline(self) -> bool {
        self == Format::PemPkcs8
    }
}

/// A key pair recipe.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct KeyPair {
    /// The algorithm.
    pub algorithm: Algorithm,
    /// The spelling.
    pub format: Format,
}

/// PEM text without its final newline.
fn trimmed(pem: Zeroizing<String>) -> SecretString {
    SecretString::from(pem.trim_end_matches('\n'))
}

/// PEM text with a final newline, as the decoders expect it.
fn with_newline(text: &str) -> Zeroizing<String> {
    let mut pem = Zeroizing::new(String::with_capacity(text.len() + 1));
    pem.push_str(text);
    if !pem.ends_with('\n') {
        pem.push('\n');
    }
    pem
}

const INVALID: &str = "the value is not a private key of the schema's algorithm and format";

impl KeyPair {
    /// `ed25519, pem-pkcs8`, for `envgen list`.
    pub fn describe(&self) -> String {
        format!("{} key pair, {}", self.algorithm.name(), self.format.name())
    }

    /// A new private key.
    pub fn generate(&self) -> Result<SecretString, String> {
        let failed = |e: &dyn std::fmt::Display| format!("key generation failed: {e}");
        match (self.algorithm, self.format) {
            (Algorithm::Ed25519, Format::PemPkcs8) => {
                // PKCS#8 v1 (RFC 8410), without the optional public key that ed25519-dalek
                // adds by default: OpenSSL 3.0 cannot read the v2 form.
                let key = ed25519_dalek::SigningKey::generate(&mut OsRng);
                let bytes = ed25519_dalek::pkcs8::KeypairBytes {
                    secret_key: key.to_bytes(),
                    public_key: None,
                };
                bytes
                    .to_pkcs8_pem(LineEnding::LF)
                    .map(trimmed)
                    .map_err(|e| failed(&e))
            }
            (Algorithm::P256, Format::PemPkcs8) => p256::SecretKey::random(&mut OsRng)
                .to_pkcs8_pem(LineEnding::LF)
                .map(trimmed)
                .map_err(|e| failed(&e)),
            (Algorithm::P256, Format::Vapid) => {
                let key = p256::SecretKey::random(&mut OsRng);
                let scalar = Zeroizing::new(key.to_bytes());
                Ok(SecretString::from(URL_SAFE_NO_PAD.encode(&scalar[..])))
            }
            (Algorithm::Rsa2048 | Algorithm::Rsa4096, Format::PemPkcs8) => {
                let bits = if self.algorithm == Algorithm::Rsa2048 {
                    2048
                } else {
                    4096
                };
                let key = rsa::RsaPrivateKey::new(&mut OsRng, bits).map_err(|e| failed(&e))?;
                rsa::pkcs8::EncodePrivateKey::to_pkcs8_pem(&key, LineEnding::LF)
                    .map(trimmed)
                    .map_err(|e| failed(&e))
            }
            (_, Format::Vapid) => Err("the vapid format is for p256 keys only".into()),
        }
    }

    /// The public key of `private`, or why `private` is not a key of this recipe (never
    /// quoting it).
    pub fn public(&self, private: &str) -> Result<String, String> {
        fn invalid<E>(_: E) -> String {
            INVALID.to_string()
        }
        let public = match (self.algorithm, self.format) {
            (Algorithm::Ed25519, Format::PemPkcs8) => {
                ed25519_dalek::SigningKey::from_pkcs8_pem(&with_newline(private))
                    .map_err(invalid)?
                    .verifying_key()
                    .to_public_key_pem(LineEnding::LF)
                    .map_err(|e| e.to_string())?
            }
            (Algorithm::P256, Format::PemPkcs8) => {
                p256::SecretKey::from_pkcs8_pem(&with_newline(private))
                    .map_err(invalid)?
                    .public_key()
                    .to_public_key_pem(LineEnding::LF)
                    .map_err(|e| e.to_string())?
            }
            (Algorithm::P256, Format::Vapid) => {
                let bytes = Zeroizing::new(URL_SAFE_NO_PAD.decode(private).map_err(invalid)?);
                if bytes.len() != 32 {
                    return Err(INVALID.into());
                }
                let key = p256::SecretKey::from_slice(&bytes).map_err(invalid)?;
                let point = p256::elliptic_curve::sec1::ToEncodedPoint::to_encoded_point(
                    &key.public_key(),
                    false,
                );
                return Ok(URL_SAFE_NO_PAD.encode(point.as_bytes()));
            }
            (Algorithm::Rsa2048 | Algorithm::Rsa4096, Format::PemPkcs8) => {
                let key = <rsa::RsaPrivateKey as rsa::pkcs8::DecodePrivateKey>::from_pkcs8_pem(
                    &with_newline(private),
                )
                .map_err(invalid)?;
                let bits = rsa::traits::PublicKeyParts::size(&key) * 8;
                let wanted = if self.algorithm == Algorithm::Rsa2048 {
                    2048
                } else {
                    4096
                };
                if bits != wanted {
                    return Err(format!(
                        "the value is an RSA key of {bits} bits, the schema says {wanted}"
                    ));
                }
                rsa::pkcs8::EncodePublicKey::to_public_key_pem(&key.to_public_key(), LineEnding::LF)
                    .map_err(|e| e.to_string())?
            }
            (_, Format::Vapid) => return Err("the vapid format is for p256 keys only".into()),
        };
        Ok(public.trim_end_matches('\n').to_string())
    }

    /// Checks that `private` is a key of this recipe.
    pub fn check(&self, private: &str) -> Result<(), String> {
        self.public(private).map(drop)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use secrecy::ExposeSecret;

    #[test]
    fn every_recipe_generates_a_key_whose_public_part_it_can_compute() {
        for (algorithm, format, head) in [
            (
                Algorithm::Ed25519,
                Format::PemPkcs8,
                "-----BEGIN PRIVATE KEY-----\n",
            ),
            (
                Algorithm::P256,
                Format::PemPkcs8,
                "-----BEGIN PRIVATE KEY-----\n",
            ),
            (
                Algorithm::Rsa2048,
                Format::PemPkcs8,
                "-----BEGIN PRIVATE KEY-----\n",
            ),
            (Algorithm::P256, Format::Vapid, ""),
        ] {
            let pair = KeyPair { algorithm, format };
            let private = pair.generate().unwrap();
            let private = private.expose_secret();
            assert!(private.starts_with(head), "{algorithm:?}");
            assert!(!private.ends_with('\n'));
            let public = pair.public(private).unwrap();
            match format {
                Format::PemPkcs8 => {
                    assert!(public.starts_with("-----BEGIN PUBLIC KEY-----\n"));
                    assert!(public.ends_with("-----END PUBLIC KEY-----"));
                }
                Format::Vapid => {
                    assert_eq!(private.len(), 43);
                    assert_eq!(public.len(), 87);
                    assert_eq!(URL_SAFE_NO_PAD.decode(&public).unwrap()[0], 4);
                }
            }
            assert_ne!(pair.generate().unwrap().expose_secret(), private);
        }
    }

    #[test]
    fn a_key_of_another_recipe_is_refused_without_quoting_it() {
        let ed = KeyPair {
            algorithm: Algorithm::Ed25519,
            format: Format::PemPkcs8,
        };
        let p256 = KeyPair {
            algorithm: Algorithm::P256,
            format: Format::PemPkcs8,
        };
        let key = ed.generate().unwrap();
        let why = p256.check(key.expose_secret()).unwrap_err();
        assert_eq!(why, INVALID);
        let vapid = KeyPair {
            algorithm: Algorithm::P256,
            format: Format::Vapid,
        };
        assert_eq!(vapid.check("not-base64!").unwrap_err(), INVALID);
        assert_eq!(vapid.check("AAAA").unwrap_err(), INVALID);
        let rsa4096 = KeyPair {
            algorithm: Algorithm::Rsa4096,
            format: Format::PemPkcs8,
        };
        let small = KeyPair {
            algorithm: Algorithm::Rsa2048,
            format: Format::PemPkcs8,
        }
        .generate()
        .unwrap();
        assert!(
            rsa4096
                .check(small.expose_secret())
                .unwrap_err()
                .contains("2048 bits")
        );
    }
}
