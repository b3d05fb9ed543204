//! Tables of databases ([`crate::database`]): listing a connection's tables, and
//! opening one (or a read-only query) in a window, paged by its engine (`/load_db`).

use super::Hub;
use crate::database::launcher_spec;
use crate::error::{Error, Result};
use crate::models::{DbTable, DbTablesArgs, DbTablesResult, LoadResult, OpenTableArgs};
use serde_json::{json, Value};
use std::time::Duration;

impl Hub {
    /// A connection's tables and views with their row estimates (`buckaroo_db_tables`);
    /// a new connection is tested by it and kept for `open_table`.
    pub async fn db_tables(&self, args: DbTablesArgs) -> Result<DbTablesResult> {
        let spec = match (&args.connection, &args.connection_id) {
            (Some(c), _) => {
                // A database file is opened like any file: only inside the scope.
                let path = c.path.as_deref().map(|p| self.allowed(p)).transpose()?;
                launcher_spec(c, path.map(|p| p.display().to_string()))?
            }
            (None, Some(id)) => self.databases.spec(id)?,
            (None, None) => {
                return Err(Error::InvalidArgs {
                    command: "buckaroo_db_tables",
                    problem: "give `connection` or `connectionId`".into(),
                })
            }
        };
        self.check_xorq()?;
        let ep = self.sup.ready(self.cfg().handshake_timeout + Duration::from_secs(10)).await?;
        let reply = self.http.post(&ep, "/db_tables", &json!({"connection": spec})).await?;
        let tables: Vec<DbTable> = serde_json::from_value(reply.get("tables").cloned().unwrap_or(Value::Null)).unwrap_or_default();
        Ok(DbTablesResult {
            connection_id: self.databases.keep(spec),
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
}
