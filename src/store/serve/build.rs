//! Building on an `ssh://` store: the serve protocol's `BuildDerivation` (Nix's
//! `LegacySSHStore::buildDerivation`): the `.drv` path, the derivation in its basic form (as
//! the worker protocol writes it), the build settings (`max-silent-time`, `timeout`, then
//! `max-log-size` from 2.2, `repeat` and `enforce-determinism` from 2.3, `keep-failed` from
//! 2.7), and the answer: the status and message, the counts and times from 2.3, the built
//! outputs from 2.6. The build log goes to the server's standard error, the user's.

use std::collections::BTreeSet;
use std::io::Write as _;

use super::{ServeStore, wire};
use crate::store::StorePath;
use crate::store::daemon::build_ops::{BuildResult, Status, write_basic_derivation};
use crate::store::derivation::Derivation;

/// `BuildDerivation`.
const BUILD_DERIVATION: u64 = 8;

/// The build settings a serve client sends.
#[derive(Clone, Copy, Debug, Default)]
pub struct BuildSettings {
    /// `max-silent-time`.
    pub max_silent_time: u64,
    /// `timeout`.
    pub build_timeout: u64,
    /// `max-log-size`.
    pub max_log_size: u64,
    /// `keep-failed`.
    pub keep_failed: bool,
}

impl ServeStore {
    /// Builds `drv` (stored at `drv_path` here) on the server, whose inputs `inputs` it has.
    pub fn build_derivation(
        &self,
        drv_path: &StorePath,
        drv: &Derivation,
        inputs: &BTreeSet<StorePath>,
        settings: BuildSettings,
    ) -> anyhow::Result<BuildResult> {
        let printed = self.dir.print(drv_path);
        self.with(|c| {
            wire::write_u64(&mut c.w, BUILD_DERIVATION)?;
            wire::write_str(&mut c.w, &printed)?;
            write_basic_derivation(&mut c.w, &self.dir, drv, inputs)?;
            let minor = c.version & 0xff;
            wire::write_u64(&mut c.w, settings.max_silent_time)?;
            wire::write_u64(&mut c.w, settings.build_timeout)?;
            if minor >= 2 {
                wire::write_u64(&mut c.w, settings.max_log_size)?;
            }
            if minor >= 3 {
                wire::write_u64(&mut c.w, 0)?; // repeat
                wire::write_bool(&mut c.w, false)?; // enforce-determinism
            }
            if minor >= 7 {
                wire::write_bool(&mut c.w, settings.keep_failed)?;
            }
            c.w.flush()?;
            let status = Status::from_wire(wire::read_u64(&mut c.r)?);
            let error_msg = wire::read_string(&mut c.r)?;
            let mut res = BuildResult {
                path: printed.clone(),
                status,
                error_msg,
                times_built: 0,
                non_deterministic: false,
                start_time: 0,
                stop_time: 0,
                built_outputs: Default::default(),
            };
            if minor >= 3 {
                res.times_built = wire::read_u64(&mut c.r)?;
                res.non_deterministic = wire::read_bool(&mut c.r)?;
                res.start_time = wire::read_u64(&mut c.r)?;
                res.stop_time = wire::read_u64(&mut c.r)?;
            }
            if minor >= 6 {
                res.built_outputs =
                    crate::store::daemon::build_ops::read_built_outputs(&mut c.r, &self.dir)?;
            }
            Ok(res)
        })
    }
}
