//! Tables of databases ([`crate::database`]): listing a connection's tables, and
//! opening one (or a read-only query) in a window, paged by its engine (`/load_db`).

use super::Hub;
use crate::database::launcher_spec;
use crate::error::{Error, Result};
use crate::models::{
    DbConnection, DbTable, DbTablesArgs, DbTablesResult, LoadResult, OpenTableArgs, SaveConnectionArgs, SaveConnectionResult,
    SavedConnection,
};
use serde_json::{json, Value};
use std::time::Duration;

impl Hub {
    /// A connection's tables and views with their row estimates (`buckaroo_db_tables`);
    /// a new connection is tested by it and kept for `open_table`.
    pub async fn db_tables(&self, args: DbTablesArgs) -> Result<DbTablesResult> {
        let (spec, origin) = match (args.connection, &args.connection_id, &args.saved_id) {
            (Some(c), _, _) => {
                // A database file is opened like any file: only inside the scope.
                let path = c.path.as_deref().map(|p| self.allowed(p)).transpose()?;
                let path = path.map(|p| p.display().to_string());
                (launcher_spec(&c, path.clone())?, DbConnection { path, ..c })
            }
            (None, Some(id), _) => (self.databases.spec(id)?, self.databases.origin(id)?),
            (None, None, Some(saved)) => {
                let record = self.saved_dbs.get(saved)?;
                let c = self.saved_dbs.connection(&record, args.password).await?;
                if let Some(path) = &c.path {
                    // The user saved it after picking it: it is theirs, as a picked file is.
                    self.allow_file(std::path::Path::new(path));
                }
                (launcher_spec(&c, c.path.clone())?, c)
            }
            (None, None, None) => {
                return Err(Error::InvalidArgs {
                    command: "buckaroo_db_tables",
                    problem: "give `connection`, `connectionId` or `savedId`".into(),
                })
            }
        };
        self.check_xorq()?;
        let ep = self.sup.ready(self.cfg().handshake_timeout + Duration::from_secs(10)).await?;
        let reply = self.http.post(&ep, "/db_tables", &json!({"connection": spec})).await?;
        let tables: Vec<DbTable> = serde_json::from_value(reply.get("tables").cloned().unwrap_or(Value::Null)).unwrap_or_default();
        Ok(DbTablesResult {
            connection_id: self.databases.keep(spec, origin),
            engine: reply.get("engine").and_then(Value::as_str).unwrap_or_default().into(),
            name: reply.get("name").and_then(Value::as_str).unwrap_or_default().into(),
            tables,
        })
    }

    /// Open a table of a kept connection (or a read-only query on it) in window `label`
    /// (`buckaroo_open_table`): every window, sort and search is a query on its engine.
    pub async fn open_table(&self, label: &str, args: OpenTableArgs) -> Result<LoadResult> {
        let spec = self.databases.spec(&args.connection_id)?;
        if args.table.is_some() == args.query.is_some() {
            return Err(Error::InvalidArgs {
                command: "buckaroo_open_table",
                problem: "give `table` or `query`".into(),
            });
        }
        self.check_xorq()?;
        let stats = args.stats_delivery.unwrap_or_default();
        let mut body = json!({"connection": spec, "stats_delivery": stats.as_str()});
        match (args.table, args.query) {
            (Some(t), _) => body["table"] = json!(t),
            (_, Some(q)) => body["query"] = json!(q),
            _ => {}
        }
        self.load(label, "/load_db", body).await.map_err(|e| self.xorq_error(e))
    }

    /// Save connection `connectionId` of this run under a name (`buckaroo_db_save`): the
    /// record to the app's config dir, the password to the OS keyring ([`crate::saved_dbs`]).
    pub async fn save_connection(&self, args: SaveConnectionArgs) -> Result<SaveConnectionResult> {
        let conn = self.databases.origin(&args.connection_id)?;
        let (saved, keyring_problem) = self.saved_dbs.save(&conn, &args.name).await?;
        Ok(SaveConnectionResult { saved, keyring_problem })
    }

    /// The saved connections (`buckaroo_db_saved`), none of them with a password.
    pub fn saved_connections(&self) -> Result<Vec<SavedConnection>> {
        self.saved_dbs.list()
    }

    /// Forget saved connection `id` and its keyring entry (`buckaroo_db_forget`).
    pub async fn forget_connection(&self, id: &str) -> Result<bool> {
        self.saved_dbs.forget(id).await
    }
}
