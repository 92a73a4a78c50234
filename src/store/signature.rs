//! Ed25519 keys and signatures on store paths: Nix's key files (`nix key generate-secret`,
//! `secret-key-files`, `trusted-public-keys`), `Sig:` lines, and the trust check applied when a
//! path is added to a local store (`require-sigs`, `--no-check-sigs`).
//!
//! Mirrors the Nix source's `src/libutil/signature/local-keys.cc` (`SecretKey`, `PublicKey`,
//! `Signature`, `verifyDetached`), `src/libstore/path-info.cc` (`sign`, `checkSignatures`) and
//! the signature check of `LocalStore::addToStore`. Text formats (spec A5.4):
//!
//! ```text
//! secret key  <name>:<base64 of seed(32) ‖ public key(32)>   (libsodium layout)
//! public key  <name>:<base64 of 32 bytes>
//! signature   <name>:<base64 of 64 bytes>
//! ```
//!
//! What is signed is [`PathInfo::fingerprint`].
//!
//! # Deviations
//!
//! - A secret key whose second half is not the public key of its seed is rejected (`secret key
//!   is not valid`); libsodium would sign with the mismatched key and produce signatures that
//!   never verify.
//! - A signature by a trusted key name whose bytes are not 64 long counts as not valid; Nix
//!   fails the whole check with `signature is not valid`.

use std::collections::BTreeMap;
use std::fmt;

use base64::Engine as _;
use ed25519_dalek::{Signer as _, SigningKey, VerifyingKey};

use super::CheckSigs;
use super::path::StoreDir;
use super::path_info::PathInfo;

/// Errors of keys and signatures, worded as Nix words them.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Error {
    /// A key that is not `name:base64` with both parts non-empty.
    #[error("key is corrupt")]
    KeyCorrupt {
        /// The key's name as far as it could be read (never the secret material).
        name: String,
    },
    /// A secret key that is not 64 bytes (or whose halves do not belong together).
    #[error("secret key is not valid")]
    BadSecretKey {
        /// The key's name.
        name: String,
    },
    /// A public key that is not 32 bytes or not a curve point.
    #[error("public key is not valid")]
    BadPublicKey {
        /// The key as given.
        key: String,
    },
    /// A signature that is not `name:base64` with both parts non-empty.
    #[error("signature is corrupt")]
    SignatureCorrupt {
        /// The signature as given.
        sig: String,
    },
    /// A path without a valid signature by a trusted key, added where signatures are required.
    #[error("cannot add path '{path}' because it lacks a signature by a trusted key")]
    Untrusted {
        /// The full store path.
        path: String,
    },
}

/// Splits `name:base64`, decoding the data like Nix (newlines skipped, stops at `=`).
fn parse_colon_base64(s: &str) -> Option<(&str, Vec<u8>)> {
    let (name, data) = s.split_once(':')?;
    let data: String = data
        .chars()
        .filter(|&c| c != '\n' && c != '\r')
        .take_while(|&c| c != '=')
        .collect();
    let bytes = base64::engine::general_purpose::STANDARD_NO_PAD
        .decode(data.as_bytes())
        .ok()?;
    (!name.is_empty() && !bytes.is_empty()).then_some((name, bytes))
}

fn encode(bytes: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

/// A detached signature `name:base64`.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct Signature {
    /// The name of the key that made it.
    pub key_name: String,
    /// The signature bytes (64 for a well-formed ed25519 signature).
    pub bytes: Vec<u8>,
}

impl Signature {
    /// Parses `name:base64`.
    pub fn parse(s: &str) -> Result<Signature, Error> {
        let (name, bytes) =
            parse_colon_base64(s).ok_or_else(|| Error::SignatureCorrupt { sig: s.to_owned() })?;
        Ok(Signature {
            key_name: name.to_owned(),
            bytes,
        })
    }
}

impl fmt::Display for Signature {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.key_name, encode(&self.bytes))
    }
}

/// A secret signing key.
#[derive(Clone)]
pub struct SecretKey {
    name: String,
    key: SigningKey,
}

impl fmt::Debug for SecretKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SecretKey({})", self.name)
    }
}

impl SecretKey {
    /// Parses the contents of a secret key file (`name:base64(seed ‖ public key)`); a trailing
    /// newline is allowed.
    pub fn parse(s: &str) -> Result<SecretKey, Error> {
        let s = s.trim_end_matches(['\n', '\r']);
        let name = s.split_once(':').map_or(s, |(n, _)| n).to_owned();
        let (_, bytes) =
            parse_colon_base64(s).ok_or_else(|| Error::KeyCorrupt { name: name.clone() })?;
        let bad = || Error::BadSecretKey { name: name.clone() };
        let bytes: [u8; 64] = bytes.try_into().map_err(|_| bad())?;
        let key = SigningKey::from_keypair_bytes(&bytes).map_err(|_| bad())?;
        Ok(SecretKey { name, key })
    }

    /// Makes a key from a 32-byte seed.
    pub fn from_seed(name: &str, seed: &[u8; 32]) -> SecretKey {
        SecretKey {
            name: name.to_owned(),
            key: SigningKey::from_bytes(seed),
        }
    }

    /// Returns the key's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Returns the key file text `name:base64(seed ‖ public key)`, without a newline.
    pub fn to_file_text(&self) -> String {
        format!("{}:{}", self.name, encode(&self.key.to_keypair_bytes()))
    }

    /// Returns the matching public key (Nix's `nix key convert-secret-to-public`).
    pub fn to_public(&self) -> PublicKey {
        PublicKey {
            name: self.name.clone(),
            key: self.key.verifying_key(),
        }
    }

    /// Signs `data` (deterministic ed25519).
    pub fn sign(&self, data: &[u8]) -> Signature {
        Signature {
            key_name: self.name.clone(),
            bytes: self.key.sign(data).to_bytes().to_vec(),
        }
    }
}

/// A public key that verifies signatures.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PublicKey {
    name: String,
    key: VerifyingKey,
}

impl PublicKey {
    /// Parses `name:base64(32 bytes)`.
    pub fn parse(s: &str) -> Result<PublicKey, Error> {
        let name = s.split_once(':').map_or(s, |(n, _)| n).to_owned();
        let (_, bytes) =
            parse_colon_base64(s).ok_or_else(|| Error::KeyCorrupt { name: name.clone() })?;
        let bad = || Error::BadPublicKey { key: s.to_owned() };
        let bytes: [u8; 32] = bytes.try_into().map_err(|_| bad())?;
        let key = VerifyingKey::from_bytes(&bytes).map_err(|_| bad())?;
        Ok(PublicKey { name, key })
    }

    /// Returns the key's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Returns whether `sig` is this key's (by name) valid signature of `data`.
    pub fn verify(&self, data: &[u8], sig: &Signature) -> bool {
        sig.key_name == self.name && self.verify_anon(data, sig)
    }

    fn verify_anon(&self, data: &[u8], sig: &Signature) -> bool {
        let Ok(bytes) = <[u8; 64]>::try_from(sig.bytes.as_slice()) else {
            return false;
        };
        let sig = ed25519_dalek::Signature::from_bytes(&bytes);
        // Strict verification rejects what libsodium rejects (small-order keys and points,
        // non-canonical scalars).
        self.key.verify_strict(data, &sig).is_ok()
    }
}

impl fmt::Display for PublicKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.name, encode(self.key.as_bytes()))
    }
}

/// Public keys by name: `trusted-public-keys` plus the public halves of `secret-key-files`.
#[derive(Clone, Debug, Default)]
pub struct PublicKeys(BTreeMap<String, PublicKey>);

impl PublicKeys {
    /// Returns an empty set.
    pub fn new() -> PublicKeys {
        PublicKeys::default()
    }

    /// Parses each of `keys` (`name:base64`); a later key with the same name replaces an
    /// earlier one, as in Nix.
    pub fn parse<'a>(keys: impl IntoIterator<Item = &'a str>) -> Result<PublicKeys, Error> {
        let mut set = PublicKeys::new();
        for k in keys {
            set.insert(PublicKey::parse(k)?);
        }
        Ok(set)
    }

    /// Adds (or replaces) a key.
    pub fn insert(&mut self, key: PublicKey) {
        self.0.insert(key.name.clone(), key);
    }

    /// Returns the key named `name`.
    pub fn get(&self, name: &str) -> Option<&PublicKey> {
        self.0.get(name)
    }

    /// Returns whether there are no keys.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Returns whether `sig` (`name:base64`) is a valid signature of `data` by the key of its
    /// name. Unknown names and malformed signatures are simply not valid.
    pub fn verify(&self, data: &[u8], sig: &str) -> bool {
        let Ok(sig) = Signature::parse(sig) else {
            return false;
        };
        self.get(&sig.key_name)
            .is_some_and(|k| k.verify_anon(data, &sig))
    }
}

impl crate::store::local::SigChecker for PublicKeys {
    fn has_trusted_signature(&self, dir: &StoreDir, info: &PathInfo) -> bool {
        count_valid_sigs(info, dir, self) > 0
    }
}

/// Adds the signature of `key` to `info` (Nix's `ValidPathInfo::sign`); existing signatures
/// are kept.
pub fn sign_path_info(info: &mut PathInfo, dir: &StoreDir, key: &SecretKey) {
    let sig = key.sign(info.fingerprint(dir).as_bytes());
    info.sigs.insert(sig.to_string());
}

/// Returns how many of `info`'s signatures are valid signatures by keys in `keys`.
pub fn count_valid_sigs(info: &PathInfo, dir: &StoreDir, keys: &PublicKeys) -> usize {
    let fp = info.fingerprint(dir);
    info.sigs
        .iter()
        .filter(|s| keys.verify(fp.as_bytes(), s))
        .count()
}

/// Decides whether `info` may be added to a local store (spec A5.6; Nix's check in
/// `LocalStore::addToStore`): yes when signatures are not required, not checked
/// (`--no-check-sigs`), the path is content-addressed, or at least one signature verifies
/// against a trusted key. Binary cache destinations never call this.
pub fn check_trusted(
    info: &PathInfo,
    dir: &StoreDir,
    keys: &PublicKeys,
    require_sigs: bool,
    check: CheckSigs,
) -> Result<(), Error> {
    check_trusted_with(info, dir, require_sigs, check, || {
        count_valid_sigs(info, dir, keys) > 0
    })
}

/// [`check_trusted`] with the signature check left to `has_trusted_signature` (the local
/// store's hook), which is asked only when nothing else makes the path trusted.
pub fn check_trusted_with(
    info: &PathInfo,
    dir: &StoreDir,
    require_sigs: bool,
    check: CheckSigs,
    has_trusted_signature: impl FnOnce() -> bool,
) -> Result<(), Error> {
    if !require_sigs
        || check == CheckSigs::NoCheck
        || info.is_content_addressed(dir)
        || has_trusted_signature()
    {
        return Ok(());
    }
    Err(Error::Untrusted {
        path: dir.print(&info.path),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::hash::Hash;
    use crate::store::path::References;

    const SECRET: &str = "demo-1:AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8DoQe/884Qvh1w3RjnS8CZZ+TWMJulDV8d3IZkElUxuA==";
    const PUBLIC: &str = "demo-1:A6EHv/POEL4dcN0Y50vAmWfk1jCbpQ1fHdyGZBJVMbg=";
    const SIG: &str = "demo-1:pKhyCDE/TmMr9fNefYFXDRGPtz52PCj4yW97530h/jqBhOcrm6jyW1MJ9Xv3V30RhkbaIYa/VRn0IA9n+y9+AQ==";
    const FINGERPRINT: &str = "1;/nix/store/v8hpgclcsbgm592ngsplbysna5ly96mn-source;sha256:0njvfyxhygg63npx2v56qya9gfr4px5glhnwvmc25ccnf5gmdawg;352;";

    fn demo_info() -> (StoreDir, PathInfo) {
        let dir = StoreDir::default();
        let h = Hash::parse_any(
            "sha256:0njvfyxhygg63npx2v56qya9gfr4px5glhnwvmc25ccnf5gmdawg",
            None,
        )
        .unwrap();
        let p = dir
            .make_source_path(&h, "source", &References::default())
            .unwrap();
        (dir, PathInfo::source(p, h, 352))
    }

    #[test]
    fn spec_a54_vector() {
        let seed: [u8; 32] = std::array::from_fn(|i| i as u8);
        let sk = SecretKey::from_seed("demo-1", &seed);
        assert_eq!(sk.to_file_text(), SECRET);
        let parsed = SecretKey::parse(SECRET).unwrap();
        assert_eq!(parsed.to_file_text(), SECRET);
        assert_eq!(
            SecretKey::parse(&format!("{SECRET}\n")).unwrap().name(),
            "demo-1"
        );
        assert_eq!(parsed.to_public().to_string(), PUBLIC);
        assert_eq!(PublicKey::parse(PUBLIC).unwrap(), parsed.to_public());

        let (dir, mut info) = demo_info();
        assert_eq!(info.fingerprint(&dir), FINGERPRINT);
        assert_eq!(sk.sign(FINGERPRINT.as_bytes()).to_string(), SIG);
        sign_path_info(&mut info, &dir, &sk);
        assert_eq!(info.sigs.iter().collect::<Vec<_>>(), [SIG]);

        let keys = PublicKeys::parse([PUBLIC]).unwrap();
        assert_eq!(count_valid_sigs(&info, &dir, &keys), 1);
        let pk = keys.get("demo-1").unwrap();
        let sig = Signature::parse(SIG).unwrap();
        assert!(pk.verify(FINGERPRINT.as_bytes(), &sig));
        assert!(!pk.verify(b"1;other", &sig));
        assert_eq!(Signature::parse(SIG).unwrap().to_string(), SIG);
    }

    #[test]
    fn trust_decisions() {
        let (dir, ca_info) = demo_info();
        let sk = SecretKey::parse(SECRET).unwrap();
        let trusted = PublicKeys::parse([PUBLIC]).unwrap();
        let other = SecretKey::from_seed("other-1", &[7; 32]);
        let mut input_addressed = ca_info.clone();
        input_addressed.ca = None;
        let mut signed = input_addressed.clone();
        sign_path_info(&mut signed, &dir, &sk);
        let mut signed_by_other = input_addressed.clone();
        sign_path_info(&mut signed_by_other, &dir, &other);
        // A signature by the right name over another fingerprint.
        let mut forged = input_addressed.clone();
        forged.sigs.insert(sk.sign(b"1;something else").to_string());
        let mut garbage = input_addressed.clone();
        garbage.sigs.insert("demo-1:AAAA".to_owned());
        let cases = [
            ("content-addressed", &ca_info, true, CheckSigs::Check, true),
            ("unsigned", &input_addressed, true, CheckSigs::Check, false),
            (
                "unsigned, no-check-sigs",
                &input_addressed,
                true,
                CheckSigs::NoCheck,
                true,
            ),
            (
                "unsigned, require-sigs off",
                &input_addressed,
                false,
                CheckSigs::Check,
                true,
            ),
            (
                "signed by trusted key",
                &signed,
                true,
                CheckSigs::Check,
                true,
            ),
            (
                "signed by unknown key",
                &signed_by_other,
                true,
                CheckSigs::Check,
                false,
            ),
            ("forged", &forged, true, CheckSigs::Check, false),
            ("malformed sig", &garbage, true, CheckSigs::Check, false),
        ];
        for (name, info, require, check, ok) in cases {
            let r = check_trusted(info, &dir, &trusted, require, check);
            assert_eq!(r.is_ok(), ok, "{name}");
            if let Err(e) = r {
                assert_eq!(
                    e.to_string(),
                    "cannot add path '/nix/store/v8hpgclcsbgm592ngsplbysna5ly96mn-source' \
                     because it lacks a signature by a trusted key"
                );
            }
        }
    }

    #[test]
    fn rejections() {
        let short_secret = format!("k:{}", encode(&[1; 32]));
        let mismatched = {
            let mut b = SigningKey::from_bytes(&[1; 32]).to_keypair_bytes();
            b[40] ^= 1;
            format!("k:{}", encode(&b))
        };
        let cases: [(&str, Error); 4] = [
            (
                "nocolon",
                Error::KeyCorrupt {
                    name: "nocolon".into(),
                },
            ),
            (":AAAA", Error::KeyCorrupt { name: "".into() }),
            ("k:", Error::KeyCorrupt { name: "k".into() }),
            (&short_secret, Error::BadSecretKey { name: "k".into() }),
        ];
        for (input, want) in cases {
            assert_eq!(SecretKey::parse(input).unwrap_err(), want, "{input}");
        }
        assert_eq!(
            SecretKey::parse(&mismatched).unwrap_err().to_string(),
            "secret key is not valid"
        );
        assert_eq!(
            PublicKey::parse("k:AAAA").unwrap_err().to_string(),
            "public key is not valid"
        );
        assert_eq!(
            PublicKey::parse("k").unwrap_err().to_string(),
            "key is corrupt"
        );
        for bad in ["", "nocolon", ":AAAA", "k:", "k:!!!!"] {
            assert_eq!(
                Signature::parse(bad).unwrap_err().to_string(),
                "signature is corrupt",
                "{bad}"
            );
        }
    }
}
