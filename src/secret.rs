//! A growable buffer for secret text that never leaves an unwiped copy behind.
//!
//! `String` growth reallocates and frees the old block without clearing it. [`SecretBuf`]
//! grows by copying into a new zeroizing buffer itself, so every block that ever held part of
//! a secret is wiped when it is released. It has no printable `Debug`.

use std::fmt;

use secrecy::SecretString;
use zeroize::Zeroizing;

/// Secret text under construction (a rendered `.env`, a derived URL).
#[derive(Default)]
pub struct SecretBuf(Zeroizing<String>);

impl SecretBuf {
    /// An empty buffer with room for `capacity` bytes.
    pub fn with_capacity(capacity: usize) -> Self {
        SecretBuf(Zeroizing::new(String::with_capacity(capacity)))
    }

    /// Appends `text`, growing without leaving a copy in freed memory.
    pub fn push_str(&mut self, text: &str) {
        if self.0.capacity() - self.0.len() < text.len() {
            let mut bigger = String::with_capacity((self.0.len() + text.len()).max(64) * 2);
            bigger.push_str(&self.0);
            // The old buffer is zeroized when the assignment drops it.
            self.0 = Zeroizing::new(bigger);
        }
        self.0.push_str(text);
    }

    /// Appends `text` as a JSON string literal (quoted and escaped by serde_json), through a
    /// buffer sized so it never reallocates and is wiped afterwards.
    pub fn push_json_string(&mut self, text: &str) {
        // JSON escaping turns one byte into at most six (`\u00XX`), plus the two quotes.
        let mut encoded = Zeroizing::new(Vec::with_capacity(6 * text.len() + 2));
        serde_json::to_writer(&mut *encoded, text).expect("a string always serializes");
        self.push_str(std::str::from_utf8(&encoded).expect("serde_json writes UTF-8"));
    }

    /// The text so far.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Copies the text into a [`SecretString`]; this buffer is wiped when dropped.
    pub fn to_secret(&self) -> SecretString {
        SecretString::from(self.0.as_str())
    }
}

/// An `io::Write` sink for secret bytes (serialized vault plaintext, a file read in full)
/// that grows by copying into a new buffer and wiping the old one, so no freed block keeps a
/// copy. Nothing needs to guess its final size.
#[derive(Default)]
pub struct WipingWriter(Zeroizing<Vec<u8>>);

impl WipingWriter {
    /// An empty sink with room for `capacity` bytes.
    pub fn with_capacity(capacity: usize) -> Self {
        WipingWriter(Zeroizing::new(Vec::with_capacity(capacity)))
    }

    /// The bytes written, in a buffer wiped on drop.
    pub fn into_inner(self) -> Zeroizing<Vec<u8>> {
        self.0
    }
}

impl std::io::Write for WipingWriter {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        if self.0.capacity() - self.0.len() < bytes.len() {
            let wanted = (self.0.len() + bytes.len())
                .max(self.0.capacity() * 2)
                .max(64);
            let mut bigger = Zeroizing::new(Vec::with_capacity(wanted));
            bigger.extend_from_slice(&self.0);
            // The old buffer is wiped (its whole capacity) when the assignment drops it.
            self.0 = bigger;
        }
        self.0.extend_from_slice(bytes);
        Ok(bytes.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl fmt::Debug for WipingWriter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("WipingWriter([REDACTED])")
    }
}

impl fmt::Debug for SecretBuf {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SecretBuf([REDACTED])")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use secrecy::ExposeSecret;

    #[test]
    fn grows_and_keeps_content() {
        let mut buf = SecretBuf::with_capacity(1);
        for _ in 0..100 {
            buf.push_str("abc");
        }
        assert_eq!(buf.as_str().len(), 300);
        assert_eq!(buf.to_secret().expose_secret(), buf.as_str());
    }

    #[test]
    fn json_strings_are_escaped() {
        let mut buf = SecretBuf::default();
        buf.push_json_string("a\"b\\c\u{1}");
        assert_eq!(buf.as_str(), r#""a\"b\\c\u0001""#);
    }

    #[test]
    fn the_wiping_writer_grows_without_losing_bytes() {
        use std::io::Write;
        let mut sink = WipingWriter::with_capacity(3);
        for i in 0..1000u32 {
            write!(sink, "{i},").unwrap();
        }
        let expected: String = (0..1000u32).map(|i| format!("{i},")).collect();
        assert_eq!(&**sink.into_inner(), expected.as_bytes());
        assert_eq!(
            format!("{:?}", WipingWriter::default()),
            "WipingWriter([REDACTED])"
        );
    }

    #[test]
    fn debug_is_redacted() {
        let mut buf = SecretBuf::default();
        buf.push_str("hunter2");
        assert_eq!(format!("{buf:?}"), "SecretBuf([REDACTED])");
    }
}
