//! Setting a value while a command runs, as a flake's `nixConfig` does (Nix's
//! `globalConfig.set`, called by `ConfigFile::apply` in `src/libflake/config.cc`): the typed
//! settings and what a daemon client forwards both change, and the setting counts as
//! overridden.

use super::forward::{self, DaemonOptions};
use super::{Error, Settings, known};

impl Settings {
    /// Sets `name` (an `extra-` prefix appends) to `value`, after the configuration was
    /// loaded. Returns the warnings (an unknown setting, a disabled experimental feature).
    ///
    /// # Errors
    ///
    /// Returns an error when the value does not parse for the setting.
    pub fn set_from_flake(&mut self, name: &str, value: &str) -> Result<Vec<String>, Error> {
        let mut warnings = Vec::new();
        let Some((setting, append)) = known::resolve(name) else {
            warnings.push(format!("unknown setting '{name}'"));
            return Ok(warnings);
        };
        if let Some(feature) = setting.experimental_feature
            && !self.is_enabled(feature)
        {
            warnings.push(format!(
                "Ignoring setting '{}' because experimental feature '{feature}' is not enabled",
                setting.name
            ));
            return Ok(warnings);
        }
        self.assign(setting, value, append, &mut warnings)?;
        if forward::is_tracked(setting.name) {
            let previous = self.daemon.value(setting.name);
            if let Some(rendered) = forward::render(setting, value, append, previous.as_deref())? {
                self.daemon.set(setting.name, &rendered);
            }
        }
        self.explicitly_set.insert(setting.name.to_owned());
        Ok(warnings)
    }
}

impl DaemonOptions {
    /// The current value of a forwarded or fixed setting as Nix prints it, if known.
    fn value(&self, name: &str) -> Option<String> {
        let flag = |b: bool| Some(b.to_string());
        match name {
            "keep-failed" => flag(self.keep_failed),
            "keep-going" => flag(self.keep_going),
            "fallback" => flag(self.fallback),
            "substitute" => flag(self.substitute),
            "max-jobs" => Some(self.max_jobs.to_string()),
            "max-silent-time" => Some(self.max_silent_time.to_string()),
            "cores" => Some(self.cores.to_string()),
            _ => self
                .overrides
                .iter()
                .find(|(n, _)| n == name)
                .map(|(_, v)| v.clone()),
        }
    }

    /// Records the new value of a tracked setting (rendered as Nix prints it).
    fn set(&mut self, name: &str, rendered: &str) {
        let number = |v: &str, old: u64| {
            v.parse::<u64>()
                .or_else(|_| v.parse::<i64>().map(|n| n as u64))
                .unwrap_or(old)
        };
        match name {
            "keep-failed" => self.keep_failed = rendered == "true",
            "keep-going" => self.keep_going = rendered == "true",
            "fallback" => self.fallback = rendered == "true",
            "substitute" => self.substitute = rendered == "true",
            "max-jobs" => self.max_jobs = number(rendered, self.max_jobs),
            "max-silent-time" => self.max_silent_time = number(rendered, self.max_silent_time),
            "cores" => self.cores = number(rendered, self.cores),
            _ if forward::FORWARDED.binary_search(&name).is_ok() => {
                match self
                    .overrides
                    .binary_search_by(|(n, _)| n.as_str().cmp(name))
                {
                    Ok(i) => self.overrides[i].1 = rendered.to_owned(),
                    Err(i) => self
                        .overrides
                        .insert(i, (name.to_owned(), rendered.to_owned())),
                }
            }
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flake_settings_change_typed_and_forwarded_values() {
        let mut s = Settings::default();
        assert!(
            s.set_from_flake("extra-substituters", "file:///c")
                .unwrap()
                .is_empty()
        );
        assert_eq!(s.substituters, ["https://cache.nixos.org/", "file:///c"]);
        assert_eq!(
            s.daemon.overrides,
            [(
                "substituters".to_owned(),
                "https://cache.nixos.org/ file:///c".to_owned()
            )]
        );
        s.set_from_flake("cores", "3").unwrap();
        assert_eq!(s.daemon.cores, 3);
        assert!(s.explicitly_set.contains("cores"));
        assert_eq!(
            s.set_from_flake("no-such-setting", "1").unwrap(),
            ["unknown setting 'no-such-setting'"]
        );
        assert!(s.set_from_flake("cores", "many").is_err());
    }
}
