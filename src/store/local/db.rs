//! The metadata database `<state>/db/db.sqlite`, schema version 10.
//!
//! Mirrors the Nix source's `src/libstore/schema.sql` and the SQL of
//! `src/libstore/local-store.cc` (`openDB`, `addValidPath`, `updatePathInfo`,
//! `queryPathInfoInternal`, `registerValidPaths`). New databases get Nix 2.8's DDL (with
//! `IndexReferrer`, without `SchemaMigrations`), which both Nix 2.8 and current Nix open;
//! databases created or migrated by current Nix are read and written as they are.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::time::Duration;

use rusqlite::{Connection, ErrorCode, OpenFlags, OptionalExtension as _, TransactionBehavior};

use super::Error;
use crate::hash::Hash;
use crate::store::{ContentAddress, PathInfo, StoreDir, StorePath};

/// The schema Nix 2.8 creates (`schema.sql`), statement for statement.
pub const SCHEMA: &str = "\
create table if not exists ValidPaths (
    id               integer primary key autoincrement not null,
    path             text unique not null,
    hash             text not null,
    registrationTime integer not null,
    deriver          text,
    narSize          integer,
    ultimate         integer, -- null implies \"false\"
    sigs             text, -- space-separated
    ca               text -- if not null, an assertion that the path is content-addressed; see ValidPathInfo
);

create table if not exists Refs (
    referrer  integer not null,
    reference integer not null,
    primary key (referrer, reference),
    foreign key (referrer) references ValidPaths(id) on delete cascade,
    foreign key (reference) references ValidPaths(id) on delete restrict
);

create index if not exists IndexReferrer on Refs(referrer);
create index if not exists IndexReference on Refs(reference);

create trigger if not exists DeleteSelfRefs before delete on ValidPaths
  begin
    delete from Refs where referrer = old.id and reference = old.id;
  end;

create table if not exists DerivationOutputs (
    drv  integer not null,
    id   text not null, -- symbolic output id, usually \"out\"
    path text not null,
    primary key (drv, id),
    foreign key (drv) references ValidPaths(id) on delete cascade
);

create index if not exists IndexDerivationOutputs on DerivationOutputs(path);
";

/// How long SQLite waits for another writer before reporting "busy" (Nix: one hour).
const BUSY_TIMEOUT: Duration = Duration::from_secs(60 * 60);

/// How often a transaction is retried when SQLite still reports "busy".
const BUSY_RETRIES: u32 = 100;

/// An open metadata database.
pub struct Db {
    conn: Connection,
}

impl Db {
    /// Opens `path`, creating the file and the schema with `create`, and sets Nix's pragmas.
    pub fn open(path: &Path, create: bool) -> Result<Db, Error> {
        let mut flags = OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX;
        if create {
            flags |= OpenFlags::SQLITE_OPEN_CREATE;
        }
        let conn = Connection::open_with_flags(path, flags)
            .map_err(Error::sqlite("cannot open SQLite database"))?;
        conn.busy_timeout(BUSY_TIMEOUT)
            .map_err(Error::sqlite("setting timeout"))?;
        let pragma = |sql: &str, action| {
            retry_busy(|| run_pragma(&conn, sql)).map_err(Error::sqlite(action))
        };
        pragma("pragma foreign_keys = 1", "enabling foreign keys")?;
        pragma("pragma synchronous = normal", "setting synchronous mode")?;
        let mode: String =
            retry_busy(|| conn.query_row("pragma main.journal_mode", [], |r| r.get(0)))
                .map_err(Error::sqlite("querying journal mode"))?;
        if mode != "wal" {
            // Switching to WAL needs the database to itself: SQLite reports "busy" at once,
            // without calling the busy handler, while another connection is open.
            pragma("pragma main.journal_mode = wal", "setting journal mode")?;
        }
        pragma(
            "pragma main.journal_size_limit = 1099511627776",
            "setting journal size limit",
        )?;
        pragma(
            "pragma wal_autocheckpoint = 40000",
            "setting autocheckpoint interval",
        )?;
        let mut db = Db { conn };
        if create {
            db.write("initialising database schema", |tx| {
                tx.execute_batch(SCHEMA)
            })?;
        }
        Ok(db)
    }

    /// Runs `f` in an immediate (write) transaction, retrying while the database is busy.
    fn write<T>(
        &mut self,
        action: &'static str,
        mut f: impl FnMut(&rusqlite::Transaction<'_>) -> rusqlite::Result<T>,
    ) -> Result<T, Error> {
        let mut attempt = 0;
        loop {
            let result = self
                .conn
                .transaction_with_behavior(TransactionBehavior::Immediate)
                .and_then(|tx| {
                    let v = f(&tx)?;
                    tx.commit()?;
                    Ok(v)
                });
            match result {
                Err(e) if is_busy(&e) && attempt < BUSY_RETRIES => attempt += 1,
                r => return r.map_err(Error::sqlite(action)),
            }
        }
    }

    /// Returns whether `printed` is a valid path.
    pub fn is_valid(&self, printed: &str) -> Result<bool, Error> {
        let mut stmt = self
            .conn
            .prepare_cached("select 1 from ValidPaths where path = ?")
            .map_err(Error::sqlite("querying path validity"))?;
        stmt.exists([printed])
            .map_err(Error::sqlite("querying path validity"))
    }

    /// Returns which of `paths` are valid, with one prepared statement in one read
    /// transaction (SQLite otherwise takes and releases its read lock for every query).
    pub fn valid_paths(
        &self,
        dir: &StoreDir,
        paths: &BTreeSet<StorePath>,
    ) -> Result<BTreeSet<StorePath>, Error> {
        let batch = paths.len() > 1 && self.conn.is_autocommit();
        let tx = match batch {
            true => Some(
                self.conn
                    .unchecked_transaction()
                    .map_err(Error::sqlite("querying path validity"))?,
            ),
            false => None,
        };
        let mut valid = BTreeSet::new();
        for p in paths {
            if self.is_valid(&dir.print(p))? {
                valid.insert(p.clone());
            }
        }
        if let Some(tx) = tx {
            tx.commit()
                .map_err(Error::sqlite("querying path validity"))?;
        }
        Ok(valid)
    }

    /// Returns the info of `path`, or `None` if it is not valid.
    pub fn path_info(&self, dir: &StoreDir, path: &StorePath) -> Result<Option<PathInfo>, Error> {
        let printed = dir.print(path);
        let action = "querying path in database";
        let mut stmt = self
            .conn
            .prepare_cached(
                "select id, hash, registrationTime, deriver, narSize, ultimate, sigs, ca \
                 from ValidPaths where path = ?",
            )
            .map_err(Error::sqlite(action))?;
        let row = stmt
            .query_row([&printed], |r| {
                Ok(Row {
                    id: r.get(0)?,
                    hash: r.get(1)?,
                    registration_time: r.get(2)?,
                    deriver: r.get(3)?,
                    nar_size: r.get(4)?,
                    ultimate: r.get(5)?,
                    sigs: r.get(6)?,
                    ca: r.get(7)?,
                })
            })
            .optional()
            .map_err(Error::sqlite(action))?;
        let Some(row) = row else { return Ok(None) };
        let id = row.id;
        let mut info = row.into_info(dir, path.clone(), &printed)?;
        let mut refs = self
            .conn
            .prepare_cached(
                "select path from Refs join ValidPaths on reference = id where referrer = ?",
            )
            .map_err(Error::sqlite("querying references"))?;
        let rows = refs
            .query_map([id], |r| r.get::<_, String>(0))
            .map_err(Error::sqlite("querying references"))?;
        for r in rows {
            let r = r.map_err(Error::sqlite("querying references"))?;
            info.references.insert(parse_entry(dir, &printed, &r)?);
        }
        Ok(Some(info))
    }

    /// Registers `infos` in one transaction: inserts new paths, updates valid ones, adds the
    /// references (which must be valid or in the batch) and rejects reference cycles.
    /// `now` is the registration time of infos whose own time is 0.
    pub fn register(&mut self, dir: &StoreDir, infos: &[PathInfo], now: u64) -> Result<(), Error> {
        check_cycles(dir, infos)?;
        let mut missing = None;
        let result = self.write("registering valid paths", |tx| {
            for info in infos {
                upsert(tx, dir, info, now)?;
            }
            for info in infos {
                let referrer = id_of(tx, &dir.print(&info.path))?;
                for r in &info.references {
                    let printed = dir.print(r);
                    let Some(reference) = id_of(tx, &printed)? else {
                        missing = Some(printed);
                        return Err(rusqlite::Error::QueryReturnedNoRows);
                    };
                    tx.prepare_cached(
                        "insert or replace into Refs (referrer, reference) values (?, ?)",
                    )?
                    .execute([referrer, Some(reference)])?;
                }
            }
            Ok(())
        });
        match (result, missing) {
            (Err(_), Some(printed)) => Err(Error::NotValid(printed)),
            (r, _) => r,
        }
    }

    /// Returns whether the table `name` exists.
    #[cfg(test)]
    pub fn has_table(&self, name: &str) -> Result<bool, Error> {
        let mut stmt = self
            .conn
            .prepare("select 1 from sqlite_master where type = 'table' and name = ?")
            .map_err(Error::sqlite("querying schema"))?;
        stmt.exists([name])
            .map_err(Error::sqlite("querying schema"))
    }

    /// Returns the connection, for tests.
    #[cfg(test)]
    pub fn conn(&self) -> &Connection {
        &self.conn
    }
}

/// Runs a pragma, which may or may not return a row.
fn run_pragma(conn: &Connection, sql: &str) -> rusqlite::Result<()> {
    let mut stmt = conn.prepare(sql)?;
    let mut rows = stmt.query([])?;
    while rows.next()?.is_some() {}
    Ok(())
}

/// Runs `f` again while SQLite reports "busy" for a statement that does not wait by itself,
/// pausing a little between attempts (Nix's `retrySQLite` does the same).
fn retry_busy<T>(mut f: impl FnMut() -> rusqlite::Result<T>) -> rusqlite::Result<T> {
    let mut attempt = 0;
    loop {
        match f() {
            Err(e) if is_busy(&e) && attempt < BUSY_RETRIES => {
                attempt += 1;
                std::thread::sleep(Duration::from_millis(10 * u64::from(attempt.min(10))));
            }
            r => return r,
        }
    }
}

fn is_busy(e: &rusqlite::Error) -> bool {
    matches!(
        e.sqlite_error_code(),
        Some(ErrorCode::DatabaseBusy | ErrorCode::DatabaseLocked)
    )
}

/// A `ValidPaths` row as stored.
struct Row {
    id: i64,
    hash: String,
    registration_time: i64,
    deriver: Option<String>,
    nar_size: Option<i64>,
    ultimate: Option<i64>,
    sigs: Option<String>,
    ca: Option<String>,
}

impl Row {
    fn into_info(self, dir: &StoreDir, path: StorePath, printed: &str) -> Result<PathInfo, Error> {
        let bad = |msg: String| Error::BadEntry {
            path: printed.to_owned(),
            msg,
        };
        let nar_hash = Hash::parse_any(&self.hash, None).map_err(|e| bad(e.to_string()))?;
        let deriver = match self.deriver.as_deref() {
            Some(d) if !d.is_empty() => Some(parse_entry(dir, printed, d)?),
            _ => None,
        };
        let ca = match self.ca.as_deref() {
            Some(c) if !c.is_empty() => {
                Some(ContentAddress::parse(c).map_err(|e| bad(e.to_string()))?)
            }
            _ => None,
        };
        let sigs = self
            .sigs
            .unwrap_or_default()
            .split(' ')
            .filter(|s| !s.is_empty())
            .map(str::to_owned)
            .collect();
        Ok(PathInfo {
            path,
            nar_hash,
            nar_size: u64::try_from(self.nar_size.unwrap_or(0)).unwrap_or(0),
            references: BTreeSet::new(),
            deriver,
            registration_time: u64::try_from(self.registration_time).unwrap_or(0),
            ultimate: self.ultimate == Some(1),
            sigs,
            ca,
        })
    }
}

fn parse_entry(dir: &StoreDir, printed: &str, value: &str) -> Result<StorePath, Error> {
    dir.parse(value).map_err(|e| Error::BadEntry {
        path: printed.to_owned(),
        msg: e.to_string(),
    })
}

fn id_of(tx: &rusqlite::Transaction<'_>, printed: &str) -> rusqlite::Result<Option<i64>> {
    tx.prepare_cached("select id from ValidPaths where path = ?")?
        .query_row([printed], |r| r.get(0))
        .optional()
}

/// Inserts `info`, or updates it when the path is valid already (Nix's `updatePathInfo`).
fn upsert(
    tx: &rusqlite::Transaction<'_>,
    dir: &StoreDir,
    info: &PathInfo,
    now: u64,
) -> rusqlite::Result<()> {
    let printed = dir.print(&info.path);
    let hash = info.nar_hash.to_prefixed_base16();
    let nar_size = (info.nar_size != 0).then(|| i64::try_from(info.nar_size).unwrap_or(i64::MAX));
    let ultimate = info.ultimate.then_some(1i64);
    let sigs =
        (!info.sigs.is_empty()).then(|| info.sigs.iter().cloned().collect::<Vec<_>>().join(" "));
    let ca = info.ca.as_ref().map(ToString::to_string);
    if id_of(tx, &printed)?.is_some() {
        tx.prepare_cached(
            "update ValidPaths set narSize = ?, hash = ?, ultimate = ?, sigs = ?, ca = ? where path = ?",
        )?
        .execute(rusqlite::params![nar_size, hash, ultimate, sigs, ca, printed])?;
        return Ok(());
    }
    let time = if info.registration_time == 0 {
        now
    } else {
        info.registration_time
    };
    let time = i64::try_from(time).unwrap_or(i64::MAX);
    let deriver = info.deriver.as_ref().map(|d| dir.print(d));
    tx.prepare_cached(
        "insert into ValidPaths (path, hash, registrationTime, deriver, narSize, ultimate, sigs, ca) \
         values (?, ?, ?, ?, ?, ?, ?, ?)",
    )?
    .execute(rusqlite::params![printed, hash, time, deriver, nar_size, ultimate, sigs, ca])?;
    Ok(())
}

/// Rejects a batch whose references (within the batch, self-references aside) form a cycle.
fn check_cycles(dir: &StoreDir, infos: &[PathInfo]) -> Result<(), Error> {
    let graph: BTreeMap<&StorePath, &BTreeSet<StorePath>> =
        infos.iter().map(|i| (&i.path, &i.references)).collect();
    #[derive(Clone, Copy, PartialEq)]
    enum Mark {
        Visiting,
        Done,
    }
    let mut marks: BTreeMap<&StorePath, Mark> = BTreeMap::new();
    fn visit<'a>(
        dir: &StoreDir,
        p: &'a StorePath,
        parent: &'a StorePath,
        graph: &BTreeMap<&'a StorePath, &'a BTreeSet<StorePath>>,
        marks: &mut BTreeMap<&'a StorePath, Mark>,
    ) -> Result<(), Error> {
        match marks.get(p) {
            Some(Mark::Done) => return Ok(()),
            Some(Mark::Visiting) => {
                return Err(Error::Cycle {
                    path: dir.print(p),
                    parent: dir.print(parent),
                });
            }
            None => {}
        }
        let Some(refs) = graph.get(p) else {
            return Ok(());
        };
        marks.insert(p, Mark::Visiting);
        for r in refs.iter().filter(|r| *r != p) {
            visit(dir, r, p, graph, marks)?;
        }
        marks.insert(p, Mark::Done);
        Ok(())
    }
    for p in graph.keys() {
        visit(dir, p, p, &graph, &mut marks)?;
    }
    Ok(())
}
