//! JSON Web Tokens signed with another variable (`kind = "jwt"`), as Supabase's `ANON_KEY`
//! and `SERVICE_ROLE_KEY` are: HS256 tokens with a `role` claim, signed with `JWT_SECRET`.
//!
//! Built from RustCrypto's `hmac` and `sha2` (already in the tree for the vault's
//! fingerprints and SCRAM), `base64` URL_SAFE_NO_PAD and `serde_json`, rather than the
//! `jsonwebtoken` crate, whose signing backends are `ring` or `aws-lc-rs` (C and assembly):
//! HS256 is one HMAC over two base64url segments, and the tests check every token with PyJWT.
//!
//! The key is the secret variable's value as bytes, as PostgREST and GoTrue use it. A token
//! is made once and stored in the vault, so `iat` and `exp` stay fixed across renders; it is
//! re-made when its secret changes (rotate, rollback, set), and `render` refuses a stored
//! token that its secret's current value does not verify.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{Hmac, Mac};
use secrecy::SecretString;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use crate::secret::SecretBuf;

/// An HMAC signing algorithm.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Algorithm {
    /// HMAC-SHA256.
    Hs256,
    /// HMAC-SHA384.
    Hs384,
    /// HMAC-SHA512.
    Hs512,
}

impl Algorithm {
    /// The JOSE name, as the schema writes it.
    pub fn name(self) -> &'static str {
        match self {
            Algorithm::Hs256 => "HS256",
            Algorithm::Hs384 => "HS384",
            Algorithm::Hs512 => "HS512",
        }
    }

    /// The algorithm with this JOSE name.
    pub fn from_name(name: &str) -> Option<Self> {
        [Algorithm::Hs256, Algorithm::Hs384, Algorithm::Hs512]
            .into_iter()
            .find(|a| a.name() == name)
    }

    /// The signature, in a buffer wiped on drop (with the public claims, it is the token).
    fn mac(self, key: &[u8], message: &[u8]) -> zeroize::Zeroizing<Vec<u8>> {
        fn run<M: Mac + hmac::digest::KeyInit>(
            key: &[u8],
            message: &[u8],
        ) -> zeroize::Zeroizing<Vec<u8>> {
            let mut mac = <M as hmac::digest::KeyInit>::new_from_slice(key)
                .expect("HMAC takes any key length");
            mac.update(message);
            zeroize::Zeroizing::new(mac.finalize().into_bytes().to_vec())
        }
        match self {
            Algorithm::Hs256 => run::<Hmac<sha2::Sha256>>(key, message),
            Algorithm::Hs384 => run::<Hmac<sha2::Sha384>>(key, message),
            Algorithm::Hs512 => run::<Hmac<sha2::Sha512>>(key, message),
        }
    }
}

/// A token recipe from the schema.
#[derive(Clone, Debug, PartialEq)]
pub struct Jwt {
    /// The variable whose value signs the token.
    pub secret: String,
    /// The signing algorithm.
    pub algorithm: Algorithm,
    /// The claims (public: they are readable in the token), without `iat` and `exp`.
    pub claims: serde_json::Map<String, serde_json::Value>,
    /// How long after `iat` the token expires; none: no `exp` claim.
    pub expires: Option<Duration>,
}

impl Jwt {
    /// `HS256 signed with JWT_SECRET, expires 5years`, for `envgen list`.
    pub fn describe(&self) -> String {
        let mut text = format!("{} signed with {}", self.algorithm.name(), self.secret);
        if let Some(expires) = self.expires {
            text.push_str(&format!(
                ", expires {}",
                humantime::format_duration(expires)
            ));
        }
        text
    }

    /// A token signed with `key`, issued at `now`.
    pub fn sign(&self, key: &str, now: SystemTime) -> SecretString {
        let iat = now.duration_since(UNIX_EPOCH).unwrap_or_default().as_secs();
        let mut claims = self.claims.clone();
        claims.insert("iat".into(), iat.into());
        if let Some(expires) = self.expires {
            claims.insert("exp".into(), (iat + expires.as_secs()).into());
        }
        let header = serde_json::json!({"alg": self.algorithm.name(), "typ": "JWT"});
        let mut token = SecretBuf::with_capacity(512);
        token.push_str(&URL_SAFE_NO_PAD.encode(header.to_string()));
        token.push_str(".");
        token.push_str(&URL_SAFE_NO_PAD.encode(serde_json::Value::Object(claims).to_string()));
        let signature = self
            .algorithm
            .mac(key.as_bytes(), token.as_str().as_bytes());
        token.push_str(".");
        let encoded = zeroize::Zeroizing::new(URL_SAFE_NO_PAD.encode(&*signature));
        token.push_str(&encoded);
        token.to_secret()
    }

    /// Whether `token` is a token of this algorithm whose signature `key` verifies (in
    /// constant time).
    pub fn verifies(&self, token: &str, key: &str) -> bool {
        let Some((signed, signature)) = token.rsplit_once('.') else {
            return false;
        };
        let Ok(signature) = URL_SAFE_NO_PAD
            .decode(signature)
            .map(zeroize::Zeroizing::new)
        else {
            return false;
        };
        let header = signed
            .split_once('.')
            .and_then(|(h, _)| URL_SAFE_NO_PAD.decode(h).ok())
            .and_then(|h| serde_json::from_slice::<serde_json::Value>(&h).ok());
        if header.as_ref().and_then(|h| h["alg"].as_str()) != Some(self.algorithm.name()) {
            return false;
        }
        let expected = self.algorithm.mac(key.as_bytes(), signed.as_bytes());
        subtle::ConstantTimeEq::ct_eq(&expected[..], &signature[..]).into()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use secrecy::ExposeSecret;

    fn anon() -> Jwt {
        let mut claims = serde_json::Map::new();
        claims.insert("role".into(), "anon".into());
        claims.insert("iss".into(), "supabase".into());
        Jwt {
            secret: "JWT_SECRET".into(),
            algorithm: Algorithm::Hs256,
            claims,
            expires: Some(Duration::from_secs(10)),
        }
    }

    #[test]
    fn tokens_match_a_known_answer_and_verify_only_with_their_key() {
        let jwt = anon();
        let at = UNIX_EPOCH + Duration::from_secs(1_700_000_000);
        let token = jwt.sign("super-secret-jwt-token-with-at-least-32-characters", at);
        let token = token.expose_secret();
        // The same token from Python: jwt.encode({"exp":1700000010,"iat":1700000000,
        // "iss":"supabase","role":"anon"}, key, "HS256") with sorted keys.
        let parts: Vec<&str> = token.split('.').collect();
        assert_eq!(parts.len(), 3);
        let payload: serde_json::Value =
            serde_json::from_slice(&URL_SAFE_NO_PAD.decode(parts[1]).unwrap()).unwrap();
        assert_eq!(
            payload,
            serde_json::json!({"role": "anon", "iss": "supabase", "iat": 1_700_000_000u64, "exp": 1_700_000_010u64})
        );
        let header: serde_json::Value =
            serde_json::from_slice(&URL_SAFE_NO_PAD.decode(parts[0]).unwrap()).unwrap();
        assert_eq!(header, serde_json::json!({"alg": "HS256", "typ": "JWT"}));
        assert!(jwt.verifies(token, "super-secret-jwt-token-with-at-least-32-characters"));
        assert!(!jwt.verifies(token, "another key"));
        assert!(!jwt.verifies("a.b", "k"));
        assert!(!jwt.verifies("", "k"));
        let hs512 = Jwt {
            algorithm: Algorithm::Hs512,
            ..anon()
        };
        assert!(!hs512.verifies(token, "super-secret-jwt-token-with-at-least-32-characters"));
        let long = hs512.sign("k", at);
        assert!(hs512.verifies(long.expose_secret(), "k"));
    }

    proptest::proptest! {
        #[test]
        fn verification_never_panics(token in "\\PC{0,120}", key in "\\PC{0,20}") {
            let _ = anon().verifies(&token, &key);
        }
    }
}
