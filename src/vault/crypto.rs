//! The age encryption of the vault: X25519 recipients, any identity file age reads.

use std::io::{BufRead, Read, Write};

use age::{DecryptError, Decryptor, Encryptor, Identity, Recipient};
use zeroize::Zeroizing;

/// Why a vault could not be decrypted.
#[derive(Debug, PartialEq, Eq)]
pub enum DecryptFailure {
    /// None of the identities is a recipient of the file.
    NoMatchingKey,
    /// An identity matched a stanza but could not unwrap the file key (a wrong passphrase,
    /// or a tampered stanza).
    KeyUnwrap,
    /// The file is not a well-formed, authentic age file (which check failed).
    Damaged(&'static str),
}

/// Whether an age file is encrypted with a passphrase (an scrypt stanza).
pub fn is_passphrase(ciphertext: &[u8]) -> bool {
    Decryptor::new_buffered(ciphertext).is_ok_and(|d| d.is_scrypt())
}

/// An age file whose header has been read, not yet decrypted.
pub struct Sealed<R: BufRead>(Decryptor<R>);

/// Reads the header of the age file `ciphertext`.
pub fn open<R: BufRead>(ciphertext: R) -> Result<Sealed<R>, DecryptFailure> {
    Decryptor::new_buffered(ciphertext)
        .map(Sealed)
        .map_err(classify)
}

impl<R: BufRead> Sealed<R> {
    /// Whether it is encrypted with a passphrase (an scrypt stanza).
    pub fn is_passphrase(&self) -> bool {
        self.0.is_scrypt()
    }

    /// Unwraps the file key with one of `identities`; the returned reader yields the
    /// plaintext one authenticated chunk at a time and fails on a chunk that does not
    /// authenticate or a file that ends early (age's STREAM), so no unauthenticated byte is
    /// ever returned and the end of the file is checked when the reader reaches it.
    pub fn decrypt<'a>(
        self,
        identities: &'a [Box<dyn Identity + Send + Sync>],
    ) -> Result<impl Read + 'a, DecryptFailure>
    where
        R: 'a,
    {
        self.0
            .decrypt(identities.iter().map(|i| i.as_ref() as &dyn Identity))
            .map_err(|e| match e {
                DecryptError::DecryptionFailed | DecryptError::KeyDecryptionFailed => {
                    DecryptFailure::KeyUnwrap
                }
                other => classify(other),
            })
    }
}

/// Encrypts `plaintext` to every recipient.
pub fn encrypt(plaintext: &[u8], recipients: &[&dyn Recipient]) -> Result<Vec<u8>, String> {
    let encryptor =
        Encryptor::with_recipients(recipients.iter().copied()).map_err(|e| e.to_string())?;
    let mut out = Vec::with_capacity(plaintext.len() + 512 + 200 * recipients.len());
    let mut writer = encryptor.wrap_output(&mut out).map_err(|e| e.to_string())?;
    writer.write_all(plaintext).map_err(|e| e.to_string())?;
    writer.finish().map_err(|e| e.to_string())?;
    Ok(out)
}

/// Decrypts a whole age file, authenticating every chunk before returning anything.
pub fn decrypt(
    ciphertext: &[u8],
    identities: &[Box<dyn Identity + Send + Sync>],
) -> Result<Zeroizing<Vec<u8>>, DecryptFailure> {
    let mut reader = open(ciphertext)?.decrypt(identities)?;
    // The plaintext is shorter than the ciphertext, so this buffer never reallocates.
    let mut plaintext = Zeroizing::new(Vec::with_capacity(ciphertext.len()));
    reader.read_to_end(&mut plaintext).map_err(|_| {
        DecryptFailure::Damaged("a payload chunk failed authentication or is missing")
    })?;
    Ok(plaintext)
}

fn classify(e: DecryptError) -> DecryptFailure {
    match e {
        DecryptError::NoMatchingKeys => DecryptFailure::NoMatchingKey,
        DecryptError::InvalidMac => DecryptFailure::Damaged("the header MAC does not match"),
        DecryptError::InvalidHeader => DecryptFailure::Damaged("the age header is malformed"),
        DecryptError::UnknownFormat => DecryptFailure::Damaged("not an age v1 file"),
        DecryptError::DecryptionFailed | DecryptError::KeyDecryptionFailed => {
            DecryptFailure::Damaged("decryption failed")
        }
        DecryptError::ExcessiveWork { .. } => {
            DecryptFailure::Damaged("it asks for an excessive passphrase work factor")
        }
        DecryptError::Io(_) => DecryptFailure::Damaged("the file ends early"),
        _ => DecryptFailure::Damaged("age refused the file"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use age::x25519;

    fn ids(id: x25519::Identity) -> Vec<Box<dyn Identity + Send + Sync>> {
        vec![Box::new(id)]
    }

    #[test]
    fn round_trip_and_refusals() {
        let id = x25519::Identity::generate();
        let ct = encrypt(b"hello", &[&id.to_public()]).unwrap();
        assert!(!is_passphrase(&ct));
        assert_eq!(&decrypt(&ct, &ids(id.clone())).unwrap()[..], b"hello");

        let other = x25519::Identity::generate();
        assert_eq!(
            decrypt(&ct, &ids(other)).unwrap_err(),
            DecryptFailure::NoMatchingKey
        );

        let mut flipped = ct.clone();
        let last = flipped.len() - 1;
        flipped[last] ^= 1;
        assert!(matches!(
            decrypt(&flipped, &ids(id.clone())),
            Err(DecryptFailure::Damaged(_))
        ));

        let truncated = &ct[..ct.len() - 5];
        assert!(matches!(
            decrypt(truncated, &ids(id)),
            Err(DecryptFailure::Damaged(_))
        ));
    }
}
