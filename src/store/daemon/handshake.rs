//! The worker protocol's opening exchange (Nix's `WorkerProto::BasicClientConnection::
//! handshake` and `postHandshake`, `src/libstore/worker-protocol-connection.cc`).
//!
//! The client sends `WORKER_MAGIC_1` and its version, the daemon answers `WORKER_MAGIC_2` and
//! its version; both then speak the lower of the two. From 1.38 on each side also sends the
//! set of optional features it has, and both use the intersection. The client then sends two
//! obsolete fields (CPU affinity from 1.14, reserve-space from 1.11) and reads what the daemon
//! tells about itself: its Nix version (1.33) and whether it trusts the client (1.35).

use std::collections::BTreeSet;
use std::fmt;
use std::io::{Read, Write};

use super::error::{Error, Result};
use super::wire;

/// The client's greeting.
pub const WORKER_MAGIC_1: u64 = 0x6e69_7863;
/// The daemon's answer.
pub const WORKER_MAGIC_2: u64 = 0x6478_696f;

/// A protocol version number `major.minor`, sent as `major << 8 | minor`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Version {
    /// Always 1 for the worker protocol.
    pub major: u8,
    /// The minor version.
    pub minor: u8,
}

impl Version {
    /// Makes `1.minor`.
    pub const fn v1(minor: u8) -> Version {
        Version { major: 1, minor }
    }

    /// The number as sent on the wire.
    pub fn to_wire(self) -> u64 {
        (u64::from(self.major) << 8) | u64::from(self.minor)
    }

    /// The version a wire number names (higher bits are ignored, as in Nix).
    pub fn from_wire(n: u64) -> Version {
        Version {
            major: ((n >> 8) & 0xff) as u8,
            minor: (n & 0xff) as u8,
        }
    }
}

impl fmt::Display for Version {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}", self.major, self.minor)
    }
}

/// The newest version rflake speaks (current Nix's `WorkerProto::latest`).
pub const LATEST: Version = Version::v1(38);
/// The oldest daemon rflake talks to (Nix's `WorkerProto::minimum`).
pub const MINIMUM: Version = Version::v1(18);
/// From this version on, the feature sets are exchanged.
pub const FEATURES_SINCE: Version = Version::v1(38);

/// The optional feature by which a daemon says `setOptions` must not be sent.
pub const FEATURE_DISABLE_SET_OPTIONS: &str = "disable-set-options";

/// The features rflake offers: the ones whose wire format it understands.
pub fn client_features() -> BTreeSet<String> {
    BTreeSet::from([FEATURE_DISABLE_SET_OPTIONS.to_owned()])
}

/// What was negotiated: the version both speak and the features both have.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Negotiated {
    /// The lower of the two versions.
    pub version: Version,
    /// The intersection of the two feature sets (empty before 1.38).
    pub features: BTreeSet<String>,
}

impl Negotiated {
    /// Whether the negotiated version is `v` or newer.
    pub fn at_least(&self, v: Version) -> bool {
        self.version >= v
    }

    /// Whether both sides have the feature.
    pub fn has(&self, feature: &str) -> bool {
        self.features.contains(feature)
    }
}

/// Whether the daemon trusts the client (Nix's `TrustedFlag`, sent from 1.35 on).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Trust {
    /// The client's user is in `trusted-users`.
    Trusted,
    /// It is not.
    NotTrusted,
}

/// What the daemon tells about itself after the handshake.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct DaemonInfo {
    /// The daemon's Nix version, e.g. `2.8.0` (from 1.33).
    pub nix_version: Option<String>,
    /// Whether it trusts us (from 1.35; `None` when unknown).
    pub trust: Option<Trust>,
}

/// Runs the version handshake as the client offering `local` and `features`.
pub fn client_handshake(
    r: &mut dyn Read,
    w: &mut dyn Write,
    local: Version,
    features: &BTreeSet<String>,
) -> Result<Negotiated> {
    wire::write_u64(w, WORKER_MAGIC_1)?;
    wire::write_u64(w, local.to_wire())?;
    w.flush()?;
    let mut magic = [0u8; 8];
    let mut got = 0;
    while got < magic.len() {
        match r.read(&mut magic[got..]) {
            Ok(0) => break,
            Ok(n) => got += n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e.into()),
        }
    }
    if got < magic.len() || u64::from_le_bytes(magic) != WORKER_MAGIC_2 {
        let text = String::from_utf8_lossy(&magic[..got]);
        return Err(Error::Mismatch(text.trim_end().to_owned()));
    }
    let daemon = Version::from_wire(wire::read_u64(r)?);
    if daemon.major != LATEST.major {
        return Err(Error::MajorVersion);
    }
    let version = daemon.min(local);
    if version < MINIMUM {
        return Err(Error::TooOld);
    }
    let mut negotiated = Negotiated {
        version,
        features: BTreeSet::new(),
    };
    if version >= FEATURES_SINCE {
        wire::write_strs(w, features.iter().map(String::as_str))?;
        w.flush()?;
        let theirs: BTreeSet<String> = wire::read_strings(r)?.into_iter().collect();
        negotiated.features = features.intersection(&theirs).cloned().collect();
    }
    Ok(negotiated)
}

/// Sends the obsolete fields that follow the handshake and reads the daemon's information.
pub fn post_handshake(r: &mut dyn Read, w: &mut dyn Write, v: &Negotiated) -> Result<DaemonInfo> {
    if v.at_least(Version::v1(14)) {
        wire::write_u64(w, 0)?; // no CPU affinity
    }
    if v.at_least(Version::v1(11)) {
        wire::write_bool(w, false)?; // reserveSpace
    }
    w.flush()?;
    read_daemon_info(r, v)
}

/// Reads Nix's `ClientHandshakeInfo`.
pub fn read_daemon_info(r: &mut dyn Read, v: &Negotiated) -> Result<DaemonInfo> {
    let mut info = DaemonInfo::default();
    if v.at_least(Version::v1(33)) {
        info.nix_version = Some(wire::read_string(r)?);
    }
    if v.at_least(Version::v1(35)) {
        info.trust = match wire::read_num(r, u8::MAX.into())? {
            0 => None,
            1 => Some(Trust::Trusted),
            2 => Some(Trust::NotTrusted),
            _ => {
                return Err(Error::Protocol(
                    "Invalid trusted status from remote".to_owned(),
                ));
            }
        };
    }
    Ok(info)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn le(n: u64) -> Vec<u8> {
        n.to_le_bytes().to_vec()
    }

    fn daemon_says(parts: &[&[u8]]) -> Vec<u8> {
        parts.concat()
    }

    fn unhex(s: &str) -> Vec<u8> {
        let s: String = s.split_whitespace().collect();
        (0..s.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
            .collect()
    }

    #[test]
    fn negotiates_the_lower_version_with_nix_2_8() {
        // What a Nix 2.8 daemon answers: magic 2 and 1.34; no feature exchange.
        let reply = daemon_says(&[&le(WORKER_MAGIC_2), &le(0x122)]);
        let mut sent = Vec::new();
        let n = client_handshake(&mut &reply[..], &mut sent, LATEST, &client_features()).unwrap();
        assert_eq!(n.version, Version::v1(34));
        assert!(n.features.is_empty());
        assert_eq!(sent, [le(WORKER_MAGIC_1), le(0x126)].concat());
        assert_eq!(n.version.to_string(), "1.34");
    }

    #[test]
    fn exchanges_features_from_1_38() {
        let mut theirs = Vec::new();
        wire::write_strs(
            &mut theirs,
            ["delete-dead-specific-referrers", "disable-set-options"].into_iter(),
        )
        .unwrap();
        let reply = daemon_says(&[&le(WORKER_MAGIC_2), &le(0x127), &theirs]);
        let mut sent = Vec::new();
        let n = client_handshake(&mut &reply[..], &mut sent, LATEST, &client_features()).unwrap();
        assert_eq!(n.version, Version::v1(38));
        assert!(n.has(FEATURE_DISABLE_SET_OPTIONS));
        assert!(!n.has("delete-dead-specific-referrers"));
        let mut expected = [le(WORKER_MAGIC_1), le(0x126)].concat();
        wire::write_strs(&mut expected, ["disable-set-options"].into_iter()).unwrap();
        assert_eq!(sent, expected);
    }

    #[test]
    fn rejects_other_speakers_and_old_daemons() {
        let cases: [(&str, Vec<u8>, &str); 4] = [
            (
                "http server",
                b"HTTP/1.1 400 Bad".to_vec(),
                "protocol mismatch, got 'HTTP/1.1'",
            ),
            ("closed", Vec::new(), "protocol mismatch, got ''"),
            (
                "major 2",
                daemon_says(&[&le(WORKER_MAGIC_2), &le(0x206)]),
                "Nix daemon protocol version not supported",
            ),
            (
                // Nix's handshake-to-client.bin: magic 2 and version 1.10.
                "1.10",
                unhex(include_str!(
                    "../../../tests/data/daemon/handshake-to-client.hex"
                )),
                "the Nix daemon version is too old",
            ),
        ];
        for (name, reply, msg) in cases {
            let err =
                client_handshake(&mut &reply[..], &mut Vec::new(), LATEST, &client_features())
                    .unwrap_err();
            assert_eq!(err.to_string(), msg, "{name}");
        }
    }

    #[test]
    fn post_handshake_by_version() {
        // Nix's client-handshake-info_1_33.bin and _1_35.bin (two infos each).
        let mut v133 = Vec::new();
        wire::write_str(&mut v133, "foo").unwrap();
        wire::write_str(&mut v133, "bar").unwrap();
        let at = |minor| Negotiated {
            version: Version::v1(minor),
            features: BTreeSet::new(),
        };
        let mut r = &v133[..];
        assert_eq!(
            read_daemon_info(&mut r, &at(33))
                .unwrap()
                .nix_version
                .as_deref(),
            Some("foo")
        );
        let v135 = unhex(include_str!(
            "../../../tests/data/daemon/client-handshake-info_1_35.hex"
        ));
        let mut r = &v135[..];
        let first = read_daemon_info(&mut r, &at(35)).unwrap();
        let second = read_daemon_info(&mut r, &at(35)).unwrap();
        assert_eq!(first.trust, Some(Trust::NotTrusted));
        assert_eq!(second.nix_version.as_deref(), Some("bar"));
        assert_eq!(second.trust, Some(Trust::Trusted));
        assert!(r.is_empty());

        // The client's side: affinity 0 and reserveSpace false, then the daemon's version.
        let mut sent = Vec::new();
        let info = post_handshake(&mut &v133[..], &mut sent, &at(34)).unwrap();
        assert_eq!(sent, [le(0), le(0)].concat());
        assert_eq!(info.trust, None);
        assert!(read_daemon_info(&mut &le(3)[..], &at(35)).is_err());
    }
}
