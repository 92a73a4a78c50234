//! The worker protocol's build operations (the client side of Nix's `wopBuildPaths`,
//! `wopBuildPathsWithResults`, `wopBuildDerivation` and `wopAddIndirectRoot` in
//! `src/libstore/remote-store.cc`; the daemon's in `daemon.cc`) and the wire form of their
//! values: a build result (Nix's `BuildResult`, `build-result.hh`) and a derivation without
//! its input derivations (Nix's `BasicDerivation`, `writeDerivation` of `derivations.cc`),
//! which `nix-store --serve` reads in the same form.
//!
//! A build result is the derived path, the status, the error message, how often it was
//! built, whether the rounds differed, the start and stop times, then the built outputs as a
//! map from `<hash>!<output>` to a realisation (a JSON object whose `outPath` is the path's base
//! name). `buildDerivation` answers the status and message, the counts and times from 1.29,
//! and the built outputs from 1.28.

use std::collections::BTreeMap;
use std::io::{self, Read, Write};

use super::conn::Connection;
use super::error::{Error, Result};
use super::handshake::Version;
use super::ops::{BuildMode, DerivedPath, Op, write_paths};
use super::wire;
use crate::report::Reporter;
use crate::store::derivation::{Derivation, Output};
use crate::store::{StoreDir, StorePath};

/// How a build ended (Nix's `BuildResult::Status`; the numbers are the wire form).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Status {
    /// Built now.
    Built,
    /// Substituted now.
    Substituted,
    /// Valid already.
    AlreadyValid,
    /// The builder failed.
    PermanentFailure,
    /// An input was rejected.
    InputRejected,
    /// An output was rejected (a hash mismatch, a check).
    OutputRejected,
    /// A failure that may pass on a retry.
    TransientFailure,
    /// A cached failure (no longer used).
    CachedFailure,
    /// `timeout` or `max-silent-time` expired.
    TimedOut,
    /// Anything else.
    MiscFailure,
    /// An input failed to build.
    DependencyFailed,
    /// `max-build-log-size` exceeded.
    LogLimitExceeded,
    /// `--check` found a difference.
    NotDeterministic,
    /// Resolved to a valid derivation.
    ResolvesToAlreadyValid,
    /// No substituter had it.
    NoSubstituters,
    /// A number this client does not know.
    Unknown(u64),
}

impl Status {
    /// The status of wire number `n`.
    pub fn from_wire(n: u64) -> Status {
        use Status::*;
        const ALL: [Status; 15] = [
            Built,
            Substituted,
            AlreadyValid,
            PermanentFailure,
            InputRejected,
            OutputRejected,
            TransientFailure,
            CachedFailure,
            TimedOut,
            MiscFailure,
            DependencyFailed,
            LogLimitExceeded,
            NotDeterministic,
            ResolvesToAlreadyValid,
            NoSubstituters,
        ];
        usize::try_from(n)
            .ok()
            .and_then(|i| ALL.get(i).copied())
            .unwrap_or(Unknown(n))
    }

    /// Whether the wanted paths are valid now (Nix's `BuildResult::success`).
    pub fn success(self) -> bool {
        matches!(
            self,
            Status::Built
                | Status::Substituted
                | Status::AlreadyValid
                | Status::ResolvesToAlreadyValid
        )
    }
}

/// The outcome of building one derived path (Nix's `BuildResult`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BuildResult {
    /// What was asked for, as sent (`<drv>!<outputs>` or a path); empty for
    /// `buildDerivation`.
    pub path: String,
    /// How it ended.
    pub status: Status,
    /// The error, as the daemon worded it (empty on success).
    pub error_msg: String,
    /// How many times it was built.
    pub times_built: u64,
    /// Whether repeated builds differed.
    pub non_deterministic: bool,
    /// When the build started (Unix seconds; 0 when unknown).
    pub start_time: u64,
    /// When it stopped.
    pub stop_time: u64,
    /// The outputs built, by name.
    pub built_outputs: BTreeMap<String, StorePath>,
}

impl BuildResult {
    /// The error message without the `error: ` prefix and colours a daemon may put in it.
    pub fn message(&self) -> String {
        let msg = super::stderr::strip_ansi(&self.error_msg);
        match msg.strip_prefix("error: ") {
            Some(rest) => rest.to_owned(),
            None => msg,
        }
    }
}

/// Reads the built outputs (also the serve protocol's; Nix's `DrvOutputs`: `<hash>!<output>` → realisation JSON).
pub fn read_built_outputs(r: &mut dyn Read, dir: &StoreDir) -> Result<BTreeMap<String, StorePath>> {
    let n = wire::read_u64(r)?;
    let mut out = BTreeMap::new();
    for _ in 0..n {
        let id = wire::read_string(r)?;
        let json = wire::read_string(r)?;
        let bad = |what: &str| {
            Error::Protocol(format!(
                "the Nix daemon sent an invalid realisation for '{id}': {what}"
            ))
        };
        let Some((_, output)) = id.rsplit_once('!') else {
            return Err(bad("no output name"));
        };
        let v: serde_json::Value = serde_json::from_str(&json).map_err(|e| bad(&e.to_string()))?;
        let Some(base) = v["outPath"].as_str() else {
            return Err(bad("no 'outPath'"));
        };
        let path = dir
            .parse(&format!("{}/{base}", dir.as_str()))
            .map_err(|e| bad(&e.to_string()))?;
        out.insert(output.to_owned(), path);
    }
    Ok(out)
}

fn read_times(r: &mut dyn Read, res: &mut BuildResult) -> Result<()> {
    res.times_built = wire::read_u64(r)?;
    res.non_deterministic = wire::read_bool(r)?;
    res.start_time = wire::read_u64(r)?;
    res.stop_time = wire::read_u64(r)?;
    Ok(())
}

/// Reads a build result of `buildPathsWithResults`.
pub fn read_build_result(r: &mut dyn Read, dir: &StoreDir) -> Result<BuildResult> {
    let path = wire::read_string(r)?;
    let status = Status::from_wire(wire::read_u64(r)?);
    let error_msg = wire::read_string(r)?;
    let mut res = BuildResult {
        path,
        status,
        error_msg,
        times_built: 0,
        non_deterministic: false,
        start_time: 0,
        stop_time: 0,
        built_outputs: BTreeMap::new(),
    };
    read_times(r, &mut res)?;
    res.built_outputs = read_built_outputs(r, dir)?;
    Ok(res)
}

/// Writes `drv` as a `BasicDerivation` (outputs with path, method and algorithm, and bare
/// base16 hash; input sources; platform, builder, arguments, environment). Input derivations
/// are not sent: the receiver gets their outputs as input sources instead, which `inputs` adds
/// to the derivation's own.
pub fn write_basic_derivation(
    w: &mut dyn Write,
    dir: &StoreDir,
    drv: &Derivation,
    inputs: &std::collections::BTreeSet<StorePath>,
) -> io::Result<()> {
    wire::write_u64(w, drv.outputs.len() as u64)?;
    for (name, output) in &drv.outputs {
        wire::write_str(w, name)?;
        let (path, algo, hash) = match output {
            Output::InputAddressed(p) => (dir.print(p), String::new(), String::new()),
            Output::Fixed { method, hash, path } => (
                dir.print(path),
                format!("{}{}", method.prefix(), hash.algo().name()),
                hash.to_base16(),
            ),
            Output::CaFloating { method, algo } => (
                String::new(),
                format!("{}{}", method.prefix(), algo.name()),
                String::new(),
            ),
            Output::Impure { method, algo } => (
                String::new(),
                format!("{}{}", method.prefix(), algo.name()),
                "impure".to_owned(),
            ),
            Output::Deferred => (String::new(), String::new(), String::new()),
        };
        wire::write_str(w, &path)?;
        wire::write_str(w, &algo)?;
        wire::write_str(w, &hash)?;
    }
    let srcs: std::collections::BTreeSet<&StorePath> =
        drv.input_srcs.iter().chain(inputs.iter()).collect();
    write_paths(w, dir, srcs.into_iter())?;
    wire::write_bytes(w, &drv.system)?;
    wire::write_bytes(w, &drv.builder)?;
    wire::write_u64(w, drv.args.len() as u64)?;
    for a in &drv.args {
        wire::write_bytes(w, a)?;
    }
    wire::write_u64(w, drv.env.len() as u64)?;
    for (k, v) in &drv.env {
        wire::write_bytes(w, k)?;
        wire::write_bytes(w, v)?;
    }
    Ok(())
}

impl Connection {
    /// `buildPathsWithResults` (1.34 on): builds or substitutes `targets` and answers one
    /// result per target, failures included (the request itself succeeds).
    pub fn build_paths_with_results(
        &mut self,
        targets: &[DerivedPath],
        mode: BuildMode,
        rep: &dyn Reporter,
    ) -> Result<Vec<BuildResult>> {
        self.require("buildPathsWithResults", Version::v1(34))?;
        self.guard(|c| {
            c.op(Op::BuildPathsWithResults)?;
            c.write_derived_paths(targets)?;
            wire::write_u64(&mut c.w, mode as u64)?;
            c.process(rep)?;
            let n = wire::read_u64(&mut c.r)?;
            let mut out = Vec::new();
            for _ in 0..n {
                out.push(read_build_result(&mut c.r, &c.dir)?);
            }
            Ok(out)
        })
    }

    /// `buildDerivation`: builds `drv` (stored at `drv_path` on the client's side), whose
    /// inputs `inputs` are valid on the daemon's side, without its `.drv` closure. Only a
    /// trusted client may build an input-addressed derivation this way.
    pub fn build_derivation(
        &mut self,
        drv_path: &StorePath,
        drv: &Derivation,
        inputs: &std::collections::BTreeSet<StorePath>,
        mode: BuildMode,
        rep: &dyn Reporter,
    ) -> Result<BuildResult> {
        self.guard(|c| {
            c.op(Op::BuildDerivation)?;
            let printed = c.dir.print(drv_path);
            wire::write_str(&mut c.w, &printed)?;
            write_basic_derivation(&mut c.w, &c.dir, drv, inputs)?;
            wire::write_u64(&mut c.w, mode as u64)?;
            c.process(rep)?;
            let status = Status::from_wire(wire::read_u64(&mut c.r)?);
            let error_msg = wire::read_string(&mut c.r)?;
            let mut res = BuildResult {
                path: printed,
                status,
                error_msg,
                times_built: 0,
                non_deterministic: false,
                start_time: 0,
                stop_time: 0,
                built_outputs: BTreeMap::new(),
            };
            if c.negotiated.at_least(Version::v1(29)) {
                read_times(&mut c.r, &mut res)?;
            }
            if c.negotiated.at_least(Version::v1(28)) {
                res.built_outputs = read_built_outputs(&mut c.r, &c.dir)?;
            }
            Ok(res)
        })
    }

    /// `addIndirectRoot`: registers `link` (an absolute path, a symlink into the store) as an
    /// indirect garbage-collector root of the daemon's store (its `gcroots/auto`).
    pub fn add_indirect_root(&mut self, link: &str, rep: &dyn Reporter) -> Result<()> {
        self.guard(|c| {
            c.op(Op::AddIndirectRoot)?;
            wire::write_str(&mut c.w, link)?;
            c.process(rep)?;
            wire::read_u64(&mut c.r).map(drop)
        })
    }

    /// `addTextToStore` (`addToStore` with `text:sha256` from 1.25, the obsolete
    /// `addTextToStore` before): adds `contents` as a text object named `name` with
    /// `references` (how Nix writes a `.drv` file into a daemon's store). Returns its path.
    pub fn add_text_to_store(
        &mut self,
        name: &str,
        contents: &[u8],
        references: &std::collections::BTreeSet<StorePath>,
        rep: &dyn Reporter,
    ) -> anyhow::Result<StorePath> {
        if self.negotiated.at_least(Version::v1(25)) {
            let info = self.add_ca_to_store(
                name,
                "text:sha256",
                references,
                false,
                &mut |w| Ok(w.write_all(contents)?),
                rep,
            )?;
            return Ok(info.path);
        }
        Ok(self.guard(|c| {
            c.op(Op::AddTextToStore)?;
            wire::write_str(&mut c.w, name)?;
            wire::write_bytes(&mut c.w, contents)?;
            write_paths(&mut c.w, &c.dir, references.iter())?;
            c.process(rep)?;
            super::ops::read_path(&mut c.r, &c.dir)
        })?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::hash::{Algo, Hash};
    use crate::store::ca::Method;

    fn dir() -> StoreDir {
        StoreDir::default()
    }

    #[test]
    fn build_results_read_as_the_daemon_writes_them() {
        let mut buf = Vec::new();
        let w: &mut dyn Write = &mut buf;
        wire::write_str(w, "/nix/store/00000000000000000000000000000000-a.drv!out").unwrap();
        wire::write_u64(w, 0).unwrap();
        wire::write_str(w, "").unwrap();
        wire::write_u64(w, 1).unwrap();
        wire::write_bool(w, false).unwrap();
        wire::write_u64(w, 10).unwrap();
        wire::write_u64(w, 12).unwrap();
        wire::write_u64(w, 1).unwrap();
        wire::write_str(w, "sha256:abc!out").unwrap();
        wire::write_str(
            w,
            r#"{"dependentRealisations":{},"id":"sha256:abc!out","outPath":"11111111111111111111111111111111-a","signatures":[]}"#,
        )
        .unwrap();
        let res = read_build_result(&mut &buf[..], &dir()).unwrap();
        assert_eq!(res.status, Status::Built);
        assert!(res.status.success());
        assert_eq!(
            (res.times_built, res.start_time, res.stop_time),
            (1, 10, 12)
        );
        assert_eq!(
            dir().print(&res.built_outputs["out"]),
            "/nix/store/11111111111111111111111111111111-a"
        );
        assert_eq!(Status::from_wire(3), Status::PermanentFailure);
        assert!(!Status::from_wire(3).success());
        assert_eq!(Status::from_wire(99), Status::Unknown(99));
        let failed = BuildResult {
            error_msg: "\x1b[31;1merror:\x1b[0m builder failed".to_owned(),
            ..res
        };
        assert_eq!(failed.message(), "builder failed");
    }

    #[test]
    fn basic_derivations_are_written_as_nix_writes_them() {
        let d = dir();
        let out = d
            .parse("/nix/store/11111111111111111111111111111111-x")
            .unwrap();
        let src = d
            .parse("/nix/store/22222222222222222222222222222222-s")
            .unwrap();
        let input = d
            .parse("/nix/store/33333333333333333333333333333333-i")
            .unwrap();
        let hash = Hash::digest(Algo::Sha256, b"hi");
        let mut drv = Derivation {
            name: "x".to_owned(),
            ..Derivation::default()
        };
        drv.outputs.insert(
            "out".to_owned(),
            Output::Fixed {
                method: Method::Recursive,
                hash: hash.clone(),
                path: out.clone(),
            },
        );
        drv.input_srcs.insert(src.clone());
        drv.system = b"x86_64-linux".to_vec();
        drv.builder = b"/bin/sh".to_vec();
        drv.args = vec![b"-c".to_vec(), b"true".to_vec()];
        drv.env.insert(b"a".to_vec(), b"b".to_vec());
        let mut buf = Vec::new();
        let inputs = [input.clone()].into_iter().collect();
        write_basic_derivation(&mut buf, &d, &drv, &inputs).unwrap();
        let r: &mut dyn Read = &mut &buf[..];
        assert_eq!(wire::read_u64(r).unwrap(), 1);
        assert_eq!(wire::read_string(r).unwrap(), "out");
        assert_eq!(wire::read_string(r).unwrap(), d.print(&out));
        assert_eq!(wire::read_string(r).unwrap(), "r:sha256");
        assert_eq!(wire::read_string(r).unwrap(), hash.to_base16());
        assert_eq!(
            wire::read_strings(r).unwrap(),
            vec![d.print(&src), d.print(&input)]
        );
        assert_eq!(wire::read_string(r).unwrap(), "x86_64-linux");
        assert_eq!(wire::read_string(r).unwrap(), "/bin/sh");
        assert_eq!(wire::read_strings(r).unwrap(), vec!["-c", "true"]);
        assert_eq!(wire::read_u64(r).unwrap(), 1);
        assert_eq!(wire::read_string(r).unwrap(), "a");
        assert_eq!(wire::read_string(r).unwrap(), "b");
    }
}
