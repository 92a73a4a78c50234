//! The fetcher cache (Nix's `fetcher-cache-v4.sqlite`, `src/libfetchers/cache.cc`): a table of
//! `(domain, key) → value` with an insertion time, where keys and values are attribute sets as
//! compact sorted JSON (spec §7.7).
//!
//! Entries of some domains expire after `tarball-ttl` (the caller says which by asking with
//! [`Cache::lookup_fresh`]); the others hold facts that never change (a git rev's tree hash).
//!
//! # Deviations
//!
//! rflake keeps its own file, `rflake-fetcher-cache-v1.sqlite`, next to Nix's: the values hold
//! store paths of rflake's store, which Nix's cache must not see.

use std::path::Path;
use std::sync::Mutex;

use anyhow::Context as _;
use rusqlite::{Connection, OptionalExtension as _, params};
use serde_json::{Map, Value};

/// An attribute set as the cache keys and values are: a JSON object (kept sorted by serde_json's
/// map).
pub type Fields = Map<String, Value>;

/// The fetcher cache.
pub struct Cache {
    /// The cache file; `None` for an in-memory cache.
    file: Option<std::path::PathBuf>,
    /// The connection, opened on first use (most runs of a locked flake never need it).
    conn: std::sync::OnceLock<Mutex<Connection>>,
}

/// A cached value and when it was stored.
#[derive(Debug, Clone, PartialEq)]
pub struct Entry {
    /// The value.
    pub value: Fields,
    /// When it was stored (Unix seconds).
    pub timestamp: u64,
}

impl Cache {
    /// Names the cache file in `cache_dir`; it is opened (and created if needed) on first use.
    pub fn open(cache_dir: &Path) -> anyhow::Result<Cache> {
        Ok(Cache {
            file: Some(cache_dir.join("rflake-fetcher-cache-v1.sqlite")),
            conn: std::sync::OnceLock::new(),
        })
    }

    /// Opens a cache that lives in memory only (tests).
    pub fn in_memory() -> anyhow::Result<Cache> {
        let conn = Connection::open_in_memory()?;
        conn.execute_batch(
            "create table Cache (domain text not null, key text not null, value text not null,
             timestamp integer not null, primary key (domain, key));",
        )?;
        Ok(Cache {
            file: None,
            conn: std::sync::OnceLock::from(Mutex::new(conn)),
        })
    }

    fn open_file(file: &Path) -> anyhow::Result<Connection> {
        if let Some(dir) = file.parent() {
            crate::util::fs::create_dir_all(dir)?;
        }
        let conn = Connection::open(file)
            .with_context(|| format!("opening the fetcher cache '{}'", file.display()))?;
        conn.busy_timeout(std::time::Duration::from_secs(60))?;
        conn.execute_batch(
            "pragma journal_mode = wal;
             pragma synchronous = normal;
             create table if not exists Cache (
                 domain    text not null,
                 key       text not null,
                 value     text not null,
                 timestamp integer not null,
                 primary key (domain, key)
             );",
        )
        .with_context(|| format!("setting up the fetcher cache '{}'", file.display()))?;
        Ok(conn)
    }

    fn conn(&self) -> anyhow::Result<std::sync::MutexGuard<'_, Connection>> {
        let m = match self.conn.get() {
            Some(m) => m,
            None => {
                let file = self
                    .file
                    .as_deref()
                    .context("the fetcher cache is not open")?;
                let conn = Cache::open_file(file)?;
                self.conn.get_or_init(|| Mutex::new(conn))
            }
        };
        Ok(m.lock().unwrap_or_else(|e| e.into_inner()))
    }

    /// Stores `value` under `(domain, key)` at time `now`.
    pub fn upsert(
        &self,
        domain: &str,
        key: &Fields,
        value: &Fields,
        now: u64,
    ) -> anyhow::Result<()> {
        let key = Value::Object(key.clone()).to_string();
        let value = Value::Object(value.clone()).to_string();
        self.conn()?
            .execute(
                "insert or replace into Cache (domain, key, value, timestamp) values (?1, ?2, ?3, ?4)",
                params![domain, key, value, now as i64],
            )
            .context("writing to the fetcher cache")?;
        Ok(())
    }

    /// Returns the entry under `(domain, key)`, however old.
    pub fn lookup(&self, domain: &str, key: &Fields) -> anyhow::Result<Option<Entry>> {
        let key = Value::Object(key.clone()).to_string();
        let row: Option<(String, i64)> = self
            .conn()?
            .query_row(
                "select value, timestamp from Cache where domain = ?1 and key = ?2",
                params![domain, key],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .optional()
            .context("reading the fetcher cache")?;
        let Some((value, timestamp)) = row else {
            return Ok(None);
        };
        let Ok(Value::Object(value)) = serde_json::from_str(&value) else {
            return Ok(None);
        };
        Ok(Some(Entry {
            value,
            timestamp: u64::try_from(timestamp).unwrap_or(0),
        }))
    }

    /// Returns the entry if it has not expired: `ttl` is `tarball-ttl` (0 = always expired),
    /// `None` = never expires (`--offline`).
    pub fn lookup_fresh(
        &self,
        domain: &str,
        key: &Fields,
        ttl: Option<u64>,
        now: u64,
    ) -> anyhow::Result<Option<Entry>> {
        Ok(self.lookup(domain, key)?.filter(|e| match ttl {
            None => true,
            Some(0) => false,
            Some(ttl) => e.timestamp.saturating_add(ttl) >= now,
        }))
    }
}

/// Builds a [`Fields`] from pairs.
pub fn fields<const N: usize>(pairs: [(&str, Value); N]) -> Fields {
    pairs.into_iter().map(|(k, v)| (k.to_owned(), v)).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn entries_expire_with_the_ttl() {
        let tmp = tempfile::tempdir().unwrap();
        let c = Cache::open(tmp.path()).unwrap();
        let key = fields([("url", json!("https://x/y.tar.gz"))]);
        let value = fields([("etag", json!("\"e1\"")), ("lastModified", json!(5))]);
        c.upsert("tarball", &key, &value, 1000).unwrap();
        assert_eq!(c.lookup("tarball", &key).unwrap().unwrap().value, value);
        assert!(
            c.lookup_fresh("tarball", &key, Some(3600), 4600)
                .unwrap()
                .is_some()
        );
        assert!(
            c.lookup_fresh("tarball", &key, Some(3600), 4601)
                .unwrap()
                .is_none()
        );
        assert!(
            c.lookup_fresh("tarball", &key, Some(0), 1000)
                .unwrap()
                .is_none()
        );
        assert!(
            c.lookup_fresh("tarball", &key, None, u64::MAX)
                .unwrap()
                .is_some()
        );
        assert!(c.lookup("file", &key).unwrap().is_none());
        drop(c);
        let c = Cache::open(tmp.path()).unwrap();
        assert_eq!(c.lookup("tarball", &key).unwrap().unwrap().timestamp, 1000);
    }
}
