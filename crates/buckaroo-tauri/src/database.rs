//! Database connections the page opened ([`crate::models::DbConnection`]): the plugin
//! keeps each one's spec, password included, in memory, and the page refers to it by a
//! `connectionId` from then on. Nothing here is written to disk or logged (saving one
//! is [`crate::saved_dbs`]'s job).

use crate::error::{Error, Result};
use crate::models::DbConnection;
use serde_json::{json, Map, Value};
use std::collections::HashMap;
use std::sync::Mutex;

/// The connections of this run, by id: the launcher's object, and the connection as
/// the page gave it (its `path` as the scope admitted it), which a save records.
#[derive(Default)]
pub struct DbConnections {
    by_id: Mutex<HashMap<String, (Value, DbConnection)>>,
}

impl DbConnections {
    /// Keep `spec` (the launcher's connection object) made from `origin`; its new id.
    pub fn keep(&self, spec: Value, origin: DbConnection) -> String {
        let mut map = self.by_id.lock().unwrap_or_else(|e| e.into_inner());
        if let Some((id, _)) = map.iter().find(|(_, (v, _))| *v == spec) {
            return id.clone();
        }
        let id = format!("db{}", map.len() + 1);
        map.insert(id.clone(), (spec, origin));
        id
    }

    /// The launcher's connection object of `id`.
    pub fn spec(&self, id: &str) -> Result<Value> {
        self.held(id).map(|(spec, _)| spec)
    }

    /// The connection `id` was made from.
    pub fn origin(&self, id: &str) -> Result<DbConnection> {
        self.held(id).map(|(_, origin)| origin)
    }

    fn held(&self, id: &str) -> Result<(Value, DbConnection)> {
        let map = self.by_id.lock().unwrap_or_else(|e| e.into_inner());
        map.get(id).cloned().ok_or_else(|| Error::InvalidArgs {
            command: "buckaroo_open_table",
            problem: format!("no connection `{id}` in this run: list its tables (buckaroo_db_tables) first"),
        })
    }
}

/// The launcher's connection object for `c`: the password from `c.password`, or from
/// the environment variable `c.passwordEnv` names; `path` as the scope admitted it.
pub fn launcher_spec(c: &DbConnection, admitted_path: Option<String>) -> Result<Value> {
    let password = match (&c.password, &c.password_env) {
        (Some(p), _) => Some(p.clone()),
        (None, Some(var)) => Some(std::env::var(var).map_err(|_| Error::InvalidArgs {
            command: "buckaroo_db_tables",
            problem: format!("passwordEnv `{var}` is not set in the app's environment"),
        })?),
        (None, None) => None,
    };
    let mut spec = Map::new();
    spec.insert("kind".into(), json!(c.kind));
    for (k, v) in [
        ("host", c.host.clone()),
        ("database", c.database.clone()),
        ("user", c.user.clone()),
        ("password", password),
        ("schema", c.schema.clone()),
        ("path", admitted_path),
        ("url", c.url.clone()),
    ] {
        if let Some(v) = v {
            spec.insert(k.into(), json!(v));
        }
    }
    if let Some(p) = c.port {
        spec.insert("port".into(), json!(p));
    }
    Ok(Value::Object(spec))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_connection_is_kept_once_and_found_by_id() {
        let held = DbConnections::default();
        let spec = json!({"kind": "postgres", "host": "h", "password": "pw"});
        let origin = DbConnection {
            kind: "postgres".into(),
            host: Some("h".into()),
            ..Default::default()
        };
        let id = held.keep(spec.clone(), origin.clone());
        assert_eq!(held.keep(spec.clone(), origin), id);
        assert_eq!(held.spec(&id).unwrap(), spec);
        assert_eq!(held.origin(&id).unwrap().host.as_deref(), Some("h"));
        assert_eq!(held.spec("nope").unwrap_err().code(), "invalid_args");
    }

    #[test]
    fn the_password_comes_from_the_page_or_the_environment_and_is_never_debug_printed() {
        let c = DbConnection {
            kind: "postgres".into(),
            password: Some("hunter2".into()),
            ..Default::default()
        };
        assert_eq!(launcher_spec(&c, None).unwrap()["password"], "hunter2");
        assert!(!format!("{c:?}").contains("hunter2"));
        std::env::set_var("BUCKAROO_TEST_DB_PW", "from-env");
        let c = DbConnection {
            kind: "postgres".into(),
            password_env: Some("BUCKAROO_TEST_DB_PW".into()),
            ..Default::default()
        };
        assert_eq!(launcher_spec(&c, None).unwrap()["password"], "from-env");
        let c = DbConnection {
            password_env: Some("BUCKAROO_TEST_DB_PW_UNSET".into()),
            ..c
        };
        assert_eq!(launcher_spec(&c, None).unwrap_err().code(), "invalid_args");
    }
}
