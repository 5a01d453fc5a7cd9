//! Generation of secret values from the operating system's CSPRNG.
//!
//! Values are drawn straight from [`rand::rngs::OsRng`] (getrandom), so no user-space RNG state
//! that could later reveal them is left in memory. Byte-based encodings (hex, base64) spell
//! uniformly random bytes with the `hex` and `base64` crates; alphabet-based encodings pick
//! each character with [`rand::distributions::Uniform`], whose integer sampling rejects the
//! biased zone instead of reducing modulo the alphabet size; characters a schema `exclude`s are
//! removed from the alphabet before drawing, so the rest stay equally likely. A `uuid` is 16
//! random bytes with the version 4 and variant bits set (by the `uuid` crate, which only
//! spells them). Character-class requirements are
//! met by drawing whole values again until one qualifies, which keeps the result uniform over
//! the values that qualify. Every buffer that held random material is zeroized on drop, and
//! the finished value is a [`SecretString`] built without reallocation.

use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use rand::distributions::{Distribution, Uniform};
use rand::{CryptoRng, RngCore};
use secrecy::SecretString;
use zeroize::Zeroizing;

/// Upper bound on redraws when a value must contain given character classes.
const MAX_DRAWS: usize = 10_000;

/// The 62 characters of the `alnum` encoding.
pub const ALNUM: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";

/// How one generated item is spelled.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Encoding {
    /// Lowercase hexadecimal of `bytes` random bytes.
    Hex {
        /// Number of random bytes.
        bytes: usize,
    },
    /// Standard, padded base64 of `bytes` random bytes.
    Base64 {
        /// Number of random bytes.
        bytes: usize,
    },
    /// URL-safe base64 without padding of `bytes` random bytes.
    Base64Url {
        /// Number of random bytes.
        bytes: usize,
    },
    /// A random (version 4) UUID, lowercase and hyphenated: 122 random bits.
    Uuid,
    /// `chars` characters drawn uniformly from an alphabet.
    Chars {
        /// The alphabet (`alnum` or a custom one), boxed: it is rare, and inline it made every
        /// variable's kind 48 bytes larger.
        alphabet: Box<Alphabet>,
        /// Number of characters.
        chars: usize,
    },
}

/// A set of distinct printable ASCII characters to draw from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Alphabet {
    label: &'static str,
    symbols: Vec<u8>,
    /// Characters removed by the schema's `exclude` (for `describe`).
    excluded: String,
}

impl Alphabet {
    /// The 62 ASCII letters and digits.
    pub fn alnum() -> Self {
        Alphabet {
            label: "alnum",
            symbols: ALNUM.to_vec(),
            excluded: String::new(),
        }
    }

    /// A custom alphabet: at least two distinct printable ASCII characters (space included).
    pub fn custom(text: &str) -> Result<Self, String> {
        let mut symbols: Vec<u8> = Vec::with_capacity(text.len());
        for c in text.chars() {
            if !(c == ' ' || c.is_ascii_graphic()) {
                return Err(format!(
                    "alphabet may hold only printable ASCII characters; {c:?} is not one"
                ));
            }
            if symbols.contains(&(c as u8)) {
                return Err(format!(
                    "alphabet lists {c:?} twice, which would make it twice as likely"
                ));
            }
            symbols.push(c as u8);
        }
        if symbols.len() < 2 {
            return Err("alphabet needs at least two distinct characters".into());
        }
        Ok(Alphabet {
            label: "alphabet",
            symbols,
            excluded: String::new(),
        })
    }

    /// The alphabet without the characters of `exclude`; at least two must remain.
    pub fn without(&self, exclude: &str) -> Result<Self, String> {
        let symbols: Vec<u8> = self
            .symbols
            .iter()
            .copied()
            .filter(|&b| !exclude.contains(char::from(b)))
            .collect();
        if symbols.len() < 2 {
            return Err(format!(
                "`exclude` leaves {} character(s) of the {} alphabet; at least two are needed",
                symbols.len(),
                self.label
            ));
        }
        let mut excluded: Vec<u8> = self
            .symbols
            .iter()
            .copied()
            .filter(|b| !symbols.contains(b))
            .collect();
        excluded.sort_unstable();
        Ok(Alphabet {
            label: self.label,
            symbols,
            excluded: String::from_utf8(excluded).expect("alphabets are ASCII"),
        })
    }

    /// The characters, in order.
    pub fn symbols(&self) -> &[u8] {
        &self.symbols
    }
}

/// A character class that a generated item can be required to contain.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CharClass {
    /// `a-z`
    Lower,
    /// `A-Z`
    Upper,
    /// `0-9`
    Digit,
    /// Any printable ASCII character that is not a letter or digit.
    Symbol,
}

impl CharClass {
    /// Every class, in the order they are named in the schema documentation.
    pub const ALL: [CharClass; 4] = [
        CharClass::Lower,
        CharClass::Upper,
        CharClass::Digit,
        CharClass::Symbol,
    ];

    /// The name used in the schema's `require` list.
    pub fn name(self) -> &'static str {
        match self {
            CharClass::Lower => "lower",
            CharClass::Upper => "upper",
            CharClass::Digit => "digit",
            CharClass::Symbol => "symbol",
        }
    }

    /// The class with this schema name.
    pub fn from_name(name: &str) -> Option<Self> {
        CharClass::ALL.into_iter().find(|c| c.name() == name)
    }

    /// Whether `b` belongs to the class.
    pub fn contains(self, b: u8) -> bool {
        match self {
            CharClass::Lower => b.is_ascii_lowercase(),
            CharClass::Upper => b.is_ascii_uppercase(),
            CharClass::Digit => b.is_ascii_digit(),
            CharClass::Symbol => (b == b' ' || b.is_ascii_graphic()) && !b.is_ascii_alphanumeric(),
        }
    }
}

impl Encoding {
    /// The schema name of the encoding.
    pub fn name(&self) -> &'static str {
        match self {
            Encoding::Hex { .. } => "hex",
            Encoding::Base64 { .. } => "base64",
            Encoding::Base64Url { .. } => "base64url",
            Encoding::Uuid => "uuid",
            Encoding::Chars { alphabet, .. } => alphabet.label,
        }
    }

    /// Exact number of characters of one generated item.
    pub fn item_len(&self) -> usize {
        match *self {
            Encoding::Hex { bytes } => 2 * bytes,
            Encoding::Base64 { bytes } => bytes.div_ceil(3) * 4,
            Encoding::Base64Url { bytes } => (bytes * 4).div_ceil(3),
            Encoding::Uuid => 36,
            Encoding::Chars { chars, .. } => chars,
        }
    }

    /// Bits of entropy in one item.
    pub fn entropy_bits(&self) -> f64 {
        match self {
            Encoding::Hex { bytes }
            | Encoding::Base64 { bytes }
            | Encoding::Base64Url { bytes } => 8.0 * *bytes as f64,
            Encoding::Uuid => 122.0,
            Encoding::Chars { alphabet, chars } => {
                *chars as f64 * (alphabet.symbols.len() as f64).log2()
            }
        }
    }

    /// Every character an item may contain.
    pub fn symbols(&self) -> Vec<u8> {
        match self {
            Encoding::Hex { .. } => b"0123456789abcdef".to_vec(),
            Encoding::Base64 { .. } => {
                let mut s = ALNUM.to_vec();
                s.extend_from_slice(b"+/=");
                s
            }
            Encoding::Base64Url { .. } => {
                let mut s = ALNUM.to_vec();
                s.extend_from_slice(b"-_");
                s
            }
            Encoding::Uuid => b"0123456789abcdef-".to_vec(),
            Encoding::Chars { alphabet, .. } => alphabet.symbols.clone(),
        }
    }

    /// The length as the schema states it: `32 bytes` or `24 chars`.
    pub fn length_phrase(&self) -> String {
        match self {
            Encoding::Hex { bytes }
            | Encoding::Base64 { bytes }
            | Encoding::Base64Url { bytes } => {
                format!("{bytes} bytes")
            }
            Encoding::Uuid => "v4".into(),
            Encoding::Chars { alphabet, chars } if !alphabet.excluded.is_empty() => {
                format!("{chars} chars without {:?}", alphabet.excluded)
            }
            Encoding::Chars { chars, .. } => format!("{chars} chars"),
        }
    }

    /// Appends one freshly drawn item to `out`, which must have room for [`Self::item_len`].
    fn draw_into<R: RngCore + CryptoRng>(&self, rng: &mut R, out: &mut Zeroizing<Vec<u8>>) {
        let start = out.len();
        match self {
            Encoding::Hex { bytes } => {
                let random = random_bytes(rng, *bytes);
                out.resize(start + 2 * bytes, 0);
                hex::encode_to_slice(&random[..], &mut out[start..])
                    .expect("output sized to twice the input");
            }
            Encoding::Base64 { bytes } => encode_base64(&STANDARD, rng, *bytes, self, out),
            Encoding::Base64Url { bytes } => {
                encode_base64(&URL_SAFE_NO_PAD, rng, *bytes, self, out)
            }
            Encoding::Uuid => {
                let mut random = Zeroizing::new([0u8; 16]);
                rng.fill_bytes(&mut *random);
                let mut text = Zeroizing::new([0u8; 36]);
                uuid::Builder::from_random_bytes(*random)
                    .into_uuid()
                    .hyphenated()
                    .encode_lower(&mut *text);
                out.extend_from_slice(&*text);
            }
            Encoding::Chars { alphabet, chars } => {
                let pick = Uniform::new(0, alphabet.symbols.len());
                out.extend((0..*chars).map(|_| alphabet.symbols[pick.sample(rng)]));
            }
        }
    }
}

fn random_bytes<R: RngCore + CryptoRng>(rng: &mut R, n: usize) -> Zeroizing<Vec<u8>> {
    let mut random = Zeroizing::new(vec![0u8; n]);
    rng.fill_bytes(&mut random);
    random
}

fn encode_base64<R: RngCore + CryptoRng>(
    engine: &impl base64::Engine,
    rng: &mut R,
    bytes: usize,
    encoding: &Encoding,
    out: &mut Zeroizing<Vec<u8>>,
) {
    let random = random_bytes(rng, bytes);
    let start = out.len();
    out.resize(start + encoding.item_len(), 0);
    let written = engine
        .encode_slice(&random[..], &mut out[start..])
        .expect("output sized by item_len");
    debug_assert_eq!(written, encoding.item_len());
}

/// A recipe for one generated value: `count` items of an encoding joined by `separator`,
/// each containing every required character class.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Generator {
    /// How each item is spelled.
    pub encoding: Encoding,
    /// Number of items (1 for a plain secret).
    pub count: usize,
    /// What joins the items when `count > 1`.
    pub separator: Box<str>,
    /// Character classes every item must contain.
    pub require: Box<[CharClass]>,
}

impl Generator {
    /// A single item with no requirement.
    pub fn single(encoding: Encoding) -> Self {
        Generator {
            encoding,
            count: 1,
            separator: "".into(),
            require: Box::default(),
        }
    }

    /// Exact length, in characters, of a generated value.
    pub fn value_len(&self) -> usize {
        self.count * self.encoding.item_len() + (self.count - 1) * self.separator.len()
    }

    /// A short description for `envgen list`: `hex 32 bytes`, `4 x base64 16 bytes, joined by ","`.
    pub fn describe(&self) -> String {
        let mut text = format!("{} {}", self.encoding.name(), self.encoding.length_phrase());
        if self.count > 1 {
            text = format!("{} x {text}, joined by {:?}", self.count, self.separator);
        }
        if !self.require.is_empty() {
            let names: Vec<_> = self.require.iter().map(|c| c.name()).collect();
            text.push_str(&format!(", with {}", names.join("+")));
        }
        text
    }

    /// Checks that `value` has the shape this generator produces (count, lengths, alphabet),
    /// saying how it differs without quoting it.
    pub fn check(&self, value: &str) -> Result<(), String> {
        let items: Vec<&str> = if self.count > 1 {
            value.split(&*self.separator).collect()
        } else {
            vec![value]
        };
        let expected = format!(
            "{} of {}",
            self.encoding.name(),
            self.encoding.length_phrase()
        );
        if items.len() != self.count {
            return Err(format!(
                "{} item(s), the schema says {} x {expected}",
                items.len(),
                self.count
            ));
        }
        let symbols = self.encoding.symbols();
        for item in items {
            if item.len() != self.encoding.item_len() {
                return Err(format!(
                    "{} characters, the schema says {expected} ({} characters)",
                    item.chars().count(),
                    self.encoding.item_len()
                ));
            }
            if !item.bytes().all(|b| symbols.contains(&b)) {
                return Err(format!("characters outside {expected}"));
            }
        }
        Ok(())
    }

    /// Draws a new value.
    ///
    /// Fails only when the `require` list could not be met after many draws, which schema
    /// validation makes practically impossible for sensible lengths.
    pub fn generate<R: RngCore + CryptoRng>(&self, rng: &mut R) -> Result<SecretString, String> {
        let item_len = self.encoding.item_len();
        let mut value = Zeroizing::new(Vec::with_capacity(self.value_len()));
        let mut item = Zeroizing::new(Vec::with_capacity(item_len));
        for i in 0..self.count {
            if i > 0 {
                value.extend_from_slice(self.separator.as_bytes());
            }
            let mut draws = 0;
            loop {
                item.clear();
                self.encoding.draw_into(rng, &mut item);
                if self
                    .require
                    .iter()
                    .all(|c| item.iter().any(|&b| c.contains(b)))
                {
                    break;
                }
                draws += 1;
                if draws == MAX_DRAWS {
                    return Err(format!(
                        "no value out of {MAX_DRAWS} draws contained every required character class"
                    ));
                }
            }
            value.extend_from_slice(&item);
        }
        let text =
            String::from_utf8(std::mem::take(&mut *value)).expect("every encoding yields ASCII");
        debug_assert_eq!(text.capacity(), text.len());
        Ok(SecretString::from(text))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use base64::Engine as _;
    use proptest::prelude::*;
    use rand::{RngCore, SeedableRng};
    use rand_chacha::ChaCha20Rng;
    use secrecy::ExposeSecret;

    fn encodings() -> impl Strategy<Value = Encoding> {
        prop_oneof![
            (1usize..80).prop_map(|bytes| Encoding::Hex { bytes }),
            (1usize..80).prop_map(|bytes| Encoding::Base64 { bytes }),
            (1usize..80).prop_map(|bytes| Encoding::Base64Url { bytes }),
            (1usize..80).prop_map(|chars| Encoding::Chars {
                alphabet: Box::new(Alphabet::alnum()),
                chars
            }),
            (prop::collection::btree_set(0x20u8..0x7f, 2..40), 1usize..80).prop_map(
                |(set, chars)| Encoding::Chars {
                    alphabet: Box::new(
                        Alphabet::custom(
                            std::str::from_utf8(&set.into_iter().collect::<Vec<_>>()).unwrap()
                        )
                        .unwrap()
                    ),
                    chars
                }
            ),
        ]
    }

    proptest! {
        #[test]
        fn every_encoding_yields_its_declared_length_and_alphabet(
            encoding in encodings(), count in 1usize..5, seed: u64,
        ) {
            let generator = Generator { encoding: encoding.clone(), count, separator: ",".into(), require: Box::default() };
            let value = generator.generate(&mut ChaCha20Rng::seed_from_u64(seed)).unwrap();
            let value = value.expose_secret();
            prop_assert_eq!(value.len(), generator.value_len());
            let symbols = encoding.symbols();
            for item in value.split(',').filter(|_| !symbols.contains(&b',')) {
                prop_assert_eq!(item.len(), encoding.item_len());
                prop_assert!(item.bytes().all(|b| symbols.contains(&b)));
            }
        }

        #[test]
        fn byte_encodings_decode_to_the_declared_number_of_bytes(bytes in 1usize..100, seed: u64) {
            let rng = &mut ChaCha20Rng::seed_from_u64(seed);
            let hex_value = Generator::single(Encoding::Hex { bytes }).generate(rng).unwrap();
            prop_assert_eq!(hex::decode(hex_value.expose_secret()).unwrap().len(), bytes);
            let b64 = Generator::single(Encoding::Base64 { bytes }).generate(rng).unwrap();
            prop_assert_eq!(STANDARD.decode(b64.expose_secret()).unwrap().len(), bytes);
            let url = Generator::single(Encoding::Base64Url { bytes }).generate(rng).unwrap();
            prop_assert_eq!(URL_SAFE_NO_PAD.decode(url.expose_secret()).unwrap().len(), bytes);
        }

        #[test]
        fn required_classes_are_always_present(chars in 4usize..30, seed: u64) {
            let generator = Generator {
                encoding: Encoding::Chars { alphabet: Box::new(Alphabet::alnum()), chars },
                count: 3,
                separator: ":".into(),
                require: Box::new([CharClass::Digit, CharClass::Upper, CharClass::Lower]),
            };
            let value = generator.generate(&mut ChaCha20Rng::seed_from_u64(seed)).unwrap();
            for item in value.expose_secret().split(':') {
                prop_assert!(generator.require.iter().all(|c| item.bytes().any(|b| c.contains(b))));
            }
        }
    }

    /// Pearson's chi-square statistic of `counts` against a uniform expectation.
    fn chi_square(counts: &[u64]) -> f64 {
        let total: u64 = counts.iter().sum();
        let expected = total as f64 / counts.len() as f64;
        counts
            .iter()
            .map(|&c| (c as f64 - expected).powi(2) / expected)
            .sum()
    }

    /// Upper critical value of chi-square with `df` degrees of freedom at p = 1e-6
    /// (Wilson-Hilferty approximation, z = 4.753).
    fn critical(df: usize) -> f64 {
        let df = df as f64;
        let z = 4.753;
        df * (1.0 - 2.0 / (9.0 * df) + z * (2.0 / (9.0 * df)).sqrt()).powi(3)
    }

    fn symbol_counts(symbols: &[u8], text: impl Iterator<Item = u8>) -> Vec<u64> {
        let mut counts = vec![0u64; symbols.len()];
        for b in text {
            counts[symbols.iter().position(|&s| s == b).unwrap()] += 1;
        }
        counts
    }

    fn assert_uniform(encoding: Encoding, draws: usize) {
        let symbols: Vec<u8> = encoding
            .symbols()
            .into_iter()
            .filter(|&b| b != b'=')
            .collect();
        let rng = &mut ChaCha20Rng::seed_from_u64(7);
        let generator = Generator::single(encoding.clone());
        let mut counts = vec![0u64; symbols.len()];
        let mut drawn = 0;
        while drawn < draws {
            let value = generator.generate(rng).unwrap();
            let bytes = value.expose_secret().bytes().filter(|&b| b != b'=');
            for (c, n) in counts.iter_mut().zip(symbol_counts(&symbols, bytes)) {
                *c += n;
            }
            drawn += encoding.item_len();
        }
        let stat = chi_square(&counts);
        let limit = critical(symbols.len() - 1);
        assert!(
            stat < limit,
            "{}: chi-square {stat:.1} >= {limit:.1} over {} symbols",
            encoding.name(),
            symbols.len()
        );
    }

    #[test]
    fn every_alphabet_is_uniform_by_chi_square() {
        // Byte counts that are multiples of 3 keep every base64 character fully random.
        assert_uniform(Encoding::Hex { bytes: 32 }, 400_000);
        assert_uniform(Encoding::Base64 { bytes: 33 }, 400_000);
        assert_uniform(Encoding::Base64Url { bytes: 33 }, 400_000);
        let alnum = Alphabet::alnum();
        assert_uniform(
            Encoding::Chars {
                alphabet: Box::new(alnum),
                chars: 64,
            },
            400_000,
        );
        let odd =
            Alphabet::custom("!#%&()*+-.0123456789:;<=>?@ABCDEFGHIJKLMNOPQRSTUVWXYZ^_").unwrap();
        assert_uniform(
            Encoding::Chars {
                alphabet: Box::new(odd),
                chars: 64,
            },
            400_000,
        );
    }

    #[test]
    fn an_alphabet_without_excluded_characters_is_uniform_and_never_yields_them() {
        let alphabet = Alphabet::alnum().without("$\"'\\0O1lI").unwrap();
        assert_eq!(alphabet.symbols().len(), 57);
        let encoding = Encoding::Chars {
            alphabet: Box::new(alphabet),
            chars: 64,
        };
        assert_eq!(encoding.length_phrase(), "64 chars without \"01IOl\"");
        // symbol_counts panics on a character outside the alphabet: none of the excluded.
        assert_uniform(encoding, 400_000);
        let printable = Alphabet::custom("ab$'\"").unwrap();
        assert_eq!(printable.without("$'\"").unwrap().symbols(), b"ab");
        assert_eq!(printable.without("ab$").unwrap().symbols(), b"'\"");
        assert!(
            Alphabet::custom("ab$")
                .unwrap()
                .without("ab")
                .unwrap_err()
                .contains("leaves 1")
        );
    }

    #[test]
    fn uuids_are_version_4_lowercase_and_hyphenated() {
        let generator = Generator::single(Encoding::Uuid);
        let rng = &mut ChaCha20Rng::seed_from_u64(3);
        let shape = regex_lite::Regex::new(
            "^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$",
        )
        .unwrap();
        let mut seen = std::collections::HashSet::new();
        for _ in 0..200 {
            let value = generator.generate(rng).unwrap();
            assert!(shape.is_match(value.expose_secret()));
            assert!(generator.check(value.expose_secret()).is_ok());
            assert!(seen.insert(value.expose_secret().to_string()));
        }
        assert_eq!(generator.describe(), "uuid v4");
    }

    #[test]
    fn the_chi_square_check_catches_modulo_bias() {
        // The naive `byte % 62` sampler that rejection sampling replaces: it must fail the
        // same check, or the check above proves nothing.
        let rng = &mut ChaCha20Rng::seed_from_u64(7);
        let mut counts = vec![0u64; 62];
        for _ in 0..400_000 {
            counts[(rng.next_u32() as u8 % 62) as usize] += 1;
        }
        assert!(chi_square(&counts) > critical(61));
    }

    /// Symbol counts over `draws` fully random symbols of `generator`'s values (for base64,
    /// the positions whose six bits all come from random bytes).
    fn counts_of(generator: &Generator, draws: usize, seed: u64) -> (Vec<u8>, Vec<u64>) {
        let symbols: Vec<u8> = generator
            .encoding
            .symbols()
            .into_iter()
            .filter(|&b| b != b'=')
            .collect();
        let full = match generator.encoding {
            Encoding::Base64 { bytes } | Encoding::Base64Url { bytes } => 8 * bytes / 6,
            _ => generator.encoding.item_len(),
        };
        let mut index = [usize::MAX; 256];
        for (i, &b) in symbols.iter().enumerate() {
            index[b as usize] = i;
        }
        let rng = &mut ChaCha20Rng::seed_from_u64(seed);
        let one = Generator {
            count: 1,
            separator: "".into(),
            ..generator.clone()
        };
        let mut counts = vec![0u64; symbols.len()];
        let mut drawn = 0;
        while drawn < draws {
            let value = one.generate(rng).unwrap();
            for &b in &value.expose_secret().as_bytes()[..full] {
                counts[index[b as usize]] += 1;
            }
            drawn += full;
        }
        (symbols, counts)
    }

    /// Draws per encoding: enough that a 1% bias (half the symbols 1% likelier than the
    /// others, as a modulo reduction makes them) fails the test, as the control below shows.
    const BIAS_DRAWS: usize = 4_000_000;

    #[test]
    fn every_encoding_of_the_bundled_schema_passes_a_test_that_catches_a_one_percent_bias() {
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/schema/alecia.toml");
        let schema = crate::schema::Schema::load(std::path::Path::new(path)).unwrap();
        let mut tested: Vec<Encoding> = Vec::new();
        for var in schema.variables() {
            let Some(generator) = var.kind.generator() else {
                continue;
            };
            if tested.contains(&generator.encoding) {
                continue;
            }
            tested.push(generator.encoding.clone());
            let (symbols, counts) = counts_of(generator, BIAS_DRAWS, 11);
            let stat = chi_square(&counts);
            let limit = critical(symbols.len() - 1);
            assert!(
                stat < limit,
                "{}: chi-square {stat:.1} >= {limit:.1}",
                generator.describe()
            );
        }
        assert!(
            tested.len() >= 5,
            "hex and base64 of several lengths: {tested:?}"
        );

        // The control: the same number of draws from a sampler whose first half of the
        // alphabet is 1% likelier than the second half fails, for both alphabet sizes.
        for k in [16usize, 64] {
            let rng = &mut ChaCha20Rng::seed_from_u64(5);
            let mut counts = vec![0u64; k];
            let favoured = (u32::MAX as f64 * 0.5 * 1.01) as u32; // P(first half) = 50.5%
            for _ in 0..BIAS_DRAWS {
                let half = if rng.next_u32() < favoured { 0 } else { k / 2 };
                counts[half + (rng.next_u32() as usize % (k / 2))] += 1;
            }
            assert!(
                chi_square(&counts) > critical(k - 1),
                "a 1% bias over {k} symbols must fail"
            );
        }
    }

    #[test]
    fn the_os_csprng_draws_distinct_values() {
        let generator = Generator::single(Encoding::Hex { bytes: 16 });
        let a = generator.generate(&mut rand::rngs::OsRng).unwrap();
        let b = generator.generate(&mut rand::rngs::OsRng).unwrap();
        assert_ne!(a.expose_secret(), b.expose_secret());
    }

    #[test]
    fn debug_of_a_generated_value_is_redacted() {
        let value = Generator::single(Encoding::Hex { bytes: 16 })
            .generate(&mut rand::rngs::OsRng)
            .unwrap();
        let shown = format!("{value:?}");
        assert!(!shown.contains(value.expose_secret()));
        assert!(shown.contains("REDACTED"));
    }

    #[test]
    fn custom_alphabets_reject_duplicates_and_non_printables() {
        assert!(Alphabet::custom("abca").unwrap_err().contains("twice"));
        assert!(Alphabet::custom("ab\n").unwrap_err().contains("printable"));
        assert!(Alphabet::custom("é€").is_err());
        assert!(Alphabet::custom("a").unwrap_err().contains("two"));
    }

    #[test]
    fn check_describes_a_mismatch_without_the_value() {
        let keys = Generator {
            encoding: Encoding::Base64 { bytes: 16 },
            count: 4,
            separator: ",".into(),
            require: Box::default(),
        };
        let value = keys.generate(&mut rand::rngs::OsRng).unwrap();
        assert!(keys.check(value.expose_secret()).is_ok());
        assert_eq!(
            keys.check("a,b").unwrap_err(),
            "2 item(s), the schema says 4 x base64 of 16 bytes"
        );
        let ap = Generator::single(Encoding::Hex { bytes: 16 });
        let long = "ab".repeat(32);
        assert_eq!(
            ap.check(&long).unwrap_err(),
            "64 characters, the schema says hex of 16 bytes (32 characters)"
        );
        assert_eq!(
            ap.check(&"Z".repeat(32)).unwrap_err(),
            "characters outside hex of 16 bytes"
        );
    }

    #[test]
    fn unmeetable_requirements_fail_instead_of_looping() {
        let generator = Generator {
            encoding: Encoding::Hex { bytes: 1 },
            count: 1,
            separator: "".into(),
            require: Box::new([CharClass::Upper]),
        };
        assert!(generator.generate(&mut rand::rngs::OsRng).is_err());
    }
}
