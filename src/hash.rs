//! Argon2id PHC strings for variables that a service stores hashed (Vaultwarden's
//! `ADMIN_TOKEN`).
//!
//! The hash is computed once, when the plaintext is generated, with a fresh random salt, and
//! stored beside the plaintext in the vault: rendering twice gives the same `.env`, and the
//! operator can still read the plaintext with `envgen get --plaintext`.

use argon2::password_hash::{PasswordHasher, SaltString};
use argon2::{Algorithm, Argon2, Params, Version};
use rand::{CryptoRng, RngCore};
use secrecy::{ExposeSecret, SecretString};
use zeroize::Zeroizing;

/// Argon2id cost parameters.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Argon2Params {
    /// Memory in KiB.
    pub m_cost: u32,
    /// Number of passes.
    pub t_cost: u32,
    /// Degree of parallelism (lanes).
    pub p_cost: u32,
}

impl Argon2Params {
    /// Vaultwarden's own defaults (the Bitwarden preset of `vaultwarden hash`):
    /// 64 MiB + 4 KiB, 3 passes, 4 lanes.
    pub const VAULTWARDEN: Argon2Params = Argon2Params {
        m_cost: 65_540,
        t_cost: 3,
        p_cost: 4,
    };

    /// Checks the parameters against the Argon2 limits, returning why they are invalid.
    pub fn validate(&self) -> Result<(), String> {
        if self.m_cost > Self::MAX_M_COST {
            return Err(format!(
                "m_cost {} KiB is above the limit of {} KiB (1 GiB)",
                self.m_cost,
                Self::MAX_M_COST
            ));
        }
        if self.t_cost > Self::MAX_T_COST || self.p_cost > Self::MAX_P_COST {
            return Err(format!(
                "t_cost and p_cost must be at most {} and {} (the services' own presets use 2 to 4)",
                Self::MAX_T_COST,
                Self::MAX_P_COST
            ));
        }
        self.to_params().map(|_| ()).map_err(|e| e.to_string())
    }

    /// The largest memory cost a schema may ask for, in KiB: 1 GiB, sixteen times
    /// Vaultwarden's default. A larger one would exhaust the deploy host's memory.
    pub const MAX_M_COST: u32 = 1 << 20;
    /// The largest number of passes (a hash must finish in seconds, not hours).
    pub const MAX_T_COST: u32 = 16;
    /// The largest parallelism.
    pub const MAX_P_COST: u32 = 16;

    fn to_params(self) -> Result<Params, argon2::Error> {
        Params::new(self.m_cost, self.t_cost, self.p_cost, None)
    }

    /// The PHC string (`$argon2id$v=19$m=...,t=...,p=...$salt$hash`) of `plaintext` under a
    /// random 16-byte salt.
    pub fn hash<R: RngCore + CryptoRng>(
        &self,
        plaintext: &SecretString,
        rng: &mut R,
    ) -> Result<SecretString, String> {
        let params = self.to_params().map_err(|e| e.to_string())?;
        let mut salt = [0u8; 16];
        rng.fill_bytes(&mut salt);
        let salt = SaltString::encode_b64(&salt).map_err(|e| e.to_string())?;
        let argon2 = Argon2::new(Algorithm::Argon2id, Version::V0x13, params);
        let phc = argon2
            .hash_password(plaintext.expose_secret().as_bytes(), &salt)
            .map_err(|e| e.to_string())?;
        let text = Zeroizing::new(phc.to_string());
        Ok(SecretString::from(text.as_str()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use argon2::password_hash::{PasswordHash, PasswordVerifier};

    #[test]
    fn phc_string_verifies_and_carries_the_parameters() {
        let params = Argon2Params {
            m_cost: 64,
            t_cost: 1,
            p_cost: 1,
        };
        let plaintext = SecretString::from("correct horse");
        let phc = params.hash(&plaintext, &mut rand::rngs::OsRng).unwrap();
        let phc = phc.expose_secret();
        assert!(phc.starts_with("$argon2id$v=19$m=64,t=1,p=1$"), "{phc}");
        let parsed = PasswordHash::new(phc).unwrap();
        assert!(
            Argon2::default()
                .verify_password(b"correct horse", &parsed)
                .is_ok()
        );
        assert!(
            Argon2::default()
                .verify_password(b"wrong", &parsed)
                .is_err()
        );
    }

    #[test]
    fn vaultwarden_defaults_are_valid() {
        assert!(Argon2Params::VAULTWARDEN.validate().is_ok());
        assert!(
            Argon2Params {
                m_cost: 1,
                t_cost: 0,
                p_cost: 1
            }
            .validate()
            .is_err()
        );
    }
}
