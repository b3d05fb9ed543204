//! Saved database connections: what the user named and kept, in a JSON file of the
//! app's config dir that never holds a password. The password goes to the OS keyring
//! (the Secret Service on Linux, under the app's identifier), or the record names the
//! environment variable that holds it. Where no keyring answers (no D-Bus session, no
//! Secret Service daemon, a locked collection), the connection is saved without it and
//! the page asks for it when it is opened (`secret: "ask"`); nothing falls back to a file.

use crate::error::{Error, Result};
use crate::models::{DbConnection, SavedConnection, SecretPlace};
use keyring_core::{CredentialStore, Entry};
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

/// Where saved connections live ([`crate::BuckarooConfig::with_saved_connections`]).
#[derive(Debug, Clone)]
pub struct SavedDbsConfig {
    /// The JSON file of the records (no secret in it).
    pub file: PathBuf,
    /// The keyring's service name for the passwords (the app's identifier).
    pub keyring_service: String,
}

/// A keyring that does not answer in this long is treated as absent (a locked
/// collection may wait on an unlock prompt no one sees).
const KEYRING_TIMEOUT: Duration = Duration::from_secs(10);

/// The OS keyring of this platform; `Err` says why there is none.
type StoreMaker = fn() -> std::result::Result<Arc<CredentialStore>, String>;

#[cfg(target_os = "linux")]
fn os_store() -> std::result::Result<Arc<CredentialStore>, String> {
    dbus_secret_service_keyring_store::Store::new()
        .map(|s| s as Arc<CredentialStore>)
        .map_err(|e| format!("no Secret Service on the session bus ({e})"))
}

#[cfg(not(target_os = "linux"))]
fn os_store() -> std::result::Result<Arc<CredentialStore>, String> {
    Err("this build keeps passwords in the OS keyring on Linux only".into())
}

/// The records file and the keyring behind it.
pub struct SavedDbs {
    config: Option<SavedDbsConfig>,
    store: StoreMaker,
}

impl SavedDbs {
    /// Saved connections at `config` (none configured: saving is refused, listing is empty).
    pub fn new(config: Option<SavedDbsConfig>) -> Self {
        Self { config, store: os_store }
    }

    #[cfg(test)]
    fn with_store(config: SavedDbsConfig, store: StoreMaker) -> Self {
        Self {
            config: Some(config),
            store,
        }
    }

    /// Every saved connection, in the order saved.
    pub fn list(&self) -> Result<Vec<SavedConnection>> {
        let Some(c) = &self.config else { return Ok(Vec::new()) };
        read_records(&c.file)
    }

    /// The record `id`.
    pub fn get(&self, id: &str) -> Result<SavedConnection> {
        self.list()?.into_iter().find(|s| s.id == id).ok_or_else(|| Error::InvalidArgs {
            command: "buckaroo_db_tables",
            problem: format!("no saved connection `{id}`"),
        })
    }

    /// Save `conn` as `name` (a record with the same target is replaced): the
    /// record, and where its password went; a keyring that failed says why.
    pub async fn save(&self, conn: &DbConnection, name: &str) -> Result<(SavedConnection, Option<String>)> {
        let c = self.config.as_ref().ok_or_else(|| Error::InvalidArgs {
            command: "buckaroo_db_save",
            problem: "this app keeps no saved connections (BuckarooConfig::with_saved_connections)".into(),
        })?;
        let mut records = read_records(&c.file)?;
        let mut record = SavedConnection::of(conn, name);
        if let Some(old) = records.iter().find(|r| r.same_target(&record)) {
            record.id = old.id.clone();
        }
        let secret = conn_secret(conn);
        let mut problem = None;
        record.secret = match (&conn.password_env, secret) {
            (Some(_), _) => SecretPlace::Env,
            (None, None) => SecretPlace::None,
            (None, Some(secret)) => match self.keyring(c, &record.id, &record.name, Some(secret)).await {
                Ok(_) => SecretPlace::Keyring,
                Err(why) => {
                    problem = Some(why);
                    SecretPlace::Ask
                }
            },
        };
        if record.secret != SecretPlace::Keyring {
            // A password kept before under this id is not the one saved now.
            let _ = self.keyring(c, &record.id, &record.name, None).await;
        }
        records.retain(|r| r.id != record.id);
        records.push(record.clone());
        write_records(&c.file, &records)?;
        Ok((record, problem))
    }

    /// Forget `id`: its record and its keyring entry. Whether there was one.
    pub async fn forget(&self, id: &str) -> Result<bool> {
        let Some(c) = &self.config else { return Ok(false) };
        let mut records = read_records(&c.file)?;
        let Some(at) = records.iter().position(|r| r.id == id) else {
            return Ok(false);
        };
        let gone = records.remove(at);
        // The secret first: a record that is gone never leaves its password behind unnoticed.
        if gone.secret == SecretPlace::Keyring {
            if let Err(why) = self.keyring(c, id, &gone.name, None).await {
                log::warn!("the keyring entry of saved connection {id} was not deleted: {why}");
            }
        }
        write_records(&c.file, &records)?;
        Ok(true)
    }

    /// The connection `record` stands for, its password from where it was put
    /// (`typed`: what the page gave for a `secret: "ask"` record).
    pub async fn connection(&self, record: &SavedConnection, typed: Option<String>) -> Result<DbConnection> {
        let mut conn = record.connection();
        let secret = match (record.secret, typed) {
            (_, Some(typed)) => Some(typed),
            (SecretPlace::Keyring, None) => {
                let c = self.config.as_ref().expect("a record was read, so there is a file");
                Some(
                    self.keyring(c, &record.id, &record.name, Some(String::new()))
                        .await
                        .map_err(|why| Error::DbSecret {
                            problem: format!("the password of `{}` could not be read from the OS keyring: {why}", record.name),
                        })?,
                )
            }
            (SecretPlace::Ask, None) => {
                return Err(Error::DbSecret {
                    problem: format!("the password of `{}` was not saved (no OS keyring): give it", record.name),
                })
            }
            _ => None,
        };
        match (conn.kind.as_str(), secret) {
            ("url", Some(url)) => conn.url = Some(url),
            (_, secret) => conn.password = secret,
        }
        Ok(conn)
    }

    /// One keyring call off the async threads, bounded: `Some("")` reads the entry,
    /// `Some(secret)` writes it, `None` deletes it.
    async fn keyring(&self, c: &SavedDbsConfig, id: &str, name: &str, op: Option<String>) -> std::result::Result<String, String> {
        let (maker, service, user) = (self.store, c.keyring_service.clone(), id.to_string());
        let label = format!("{service}: {name}");
        let call = tokio::task::spawn_blocking(move || -> std::result::Result<String, String> {
            let store = maker()?;
            // Named in the keyring's own UI (Seahorse) by the connection; a store without labels takes none.
            let modifiers = HashMap::from([("label", label.as_str())]);
            let entry = match Entry::new_in_store_with_modifiers(&store, &service, &user, &modifiers) {
                Err(keyring_core::Error::NotSupportedByStore(_)) => Entry::new_in_store(&store, &service, &user),
                built => built,
            }
            .map_err(|e| e.to_string())?;
            match op.as_deref() {
                Some("") => entry.get_password().map_err(|e| e.to_string()),
                Some(secret) => entry.set_password(secret).map(|_| String::new()).map_err(|e| e.to_string()),
                None => match entry.delete_credential() {
                    Ok(()) | Err(keyring_core::Error::NoEntry) => Ok(String::new()),
                    Err(e) => Err(e.to_string()),
                },
            }
        });
        match tokio::time::timeout(KEYRING_TIMEOUT, call).await {
            Ok(Ok(answer)) => answer,
            Ok(Err(join)) => Err(join.to_string()),
            Err(_) => Err(format!(
                "the keyring did not answer within {} s (locked?)",
                KEYRING_TIMEOUT.as_secs()
            )),
        }
    }
}

/// What the keyring keeps for `conn`: its password, or a URL's whole text (it may hold one).
fn conn_secret(conn: &DbConnection) -> Option<String> {
    match conn.kind.as_str() {
        "url" => conn.url.clone(),
        _ => conn.password.clone().filter(|p| !p.is_empty()),
    }
}

fn read_records(file: &Path) -> Result<Vec<SavedConnection>> {
    match std::fs::read(file) {
        Ok(bytes) => serde_json::from_slice(&bytes).map_err(|e| Error::InvalidArgs {
            command: "buckaroo_db_saved",
            problem: format!("{} is not a list of saved connections: {e}", file.display()),
        }),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Vec::new()),
        Err(e) => Err(Error::Io(e)),
    }
}

/// Written whole and renamed over the old file: a crash leaves the old list or the new one.
fn write_records(file: &Path, records: &[SavedConnection]) -> Result<()> {
    if let Some(dir) = file.parent() {
        std::fs::create_dir_all(dir)?;
    }
    let partial = file.with_extension("json.partial");
    std::fs::write(&partial, serde_json::to_vec_pretty(records).expect("records serialize"))?;
    std::fs::rename(&partial, file)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mock_store() -> std::result::Result<Arc<CredentialStore>, String> {
        // One store for the test process: the mock keeps entries in the store object.
        static STORE: std::sync::OnceLock<Arc<CredentialStore>> = std::sync::OnceLock::new();
        Ok(STORE.get_or_init(|| keyring_core::mock::Store::new().unwrap()).clone())
    }

    fn no_store() -> std::result::Result<Arc<CredentialStore>, String> {
        Err("no Secret Service on the session bus".into())
    }

    fn pg(password: Option<&str>) -> DbConnection {
        DbConnection {
            kind: "postgres".into(),
            host: Some("db.local".into()),
            port: Some(5432),
            database: Some("sales".into()),
            user: Some("ana".into()),
            password: password.map(Into::into),
            ..Default::default()
        }
    }

    fn config(dir: &Path) -> SavedDbsConfig {
        SavedDbsConfig {
            file: dir.join("conf/dbs.json"),
            keyring_service: "test.app".into(),
        }
    }

    fn tmp(name: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("buckaroo-saved-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        dir
    }

    #[tokio::test]
    async fn a_password_goes_to_the_keyring_and_never_to_the_file() {
        let dir = tmp("keyring");
        let saved = SavedDbs::with_store(config(&dir), mock_store);
        let (record, problem) = saved.save(&pg(Some("hunter2")), "Sales").await.unwrap();
        assert_eq!((record.secret, problem), (SecretPlace::Keyring, None));
        let text = std::fs::read_to_string(dir.join("conf/dbs.json")).unwrap();
        assert!(!text.contains("hunter2") && text.contains("db.local"), "{text}");
        // Saved again under another name: the same record, renamed.
        let (again, _) = saved.save(&pg(Some("hunter2")), "Sales (prod)").await.unwrap();
        assert_eq!(again.id, record.id);
        assert_eq!(saved.list().unwrap().len(), 1);
        let conn = saved.connection(&again, None).await.unwrap();
        assert_eq!(conn.password.as_deref(), Some("hunter2"));
        assert!(saved.forget(&record.id).await.unwrap());
        assert!(saved.list().unwrap().is_empty());
        assert_eq!(saved.connection(&again, None).await.unwrap_err().code(), "db_secret_unavailable");
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[tokio::test]
    async fn without_a_keyring_the_password_is_asked_for_and_an_env_reference_is_kept() {
        let dir = tmp("nokeyring");
        let saved = SavedDbs::with_store(config(&dir), no_store);
        let (record, problem) = saved.save(&pg(Some("hunter2")), "Sales").await.unwrap();
        assert_eq!(record.secret, SecretPlace::Ask);
        assert!(problem.unwrap().contains("Secret Service"));
        assert!(!std::fs::read_to_string(dir.join("conf/dbs.json")).unwrap().contains("hunter2"));
        assert_eq!(saved.connection(&record, None).await.unwrap_err().code(), "db_secret_unavailable");
        assert_eq!(
            saved.connection(&record, Some("typed".into())).await.unwrap().password.as_deref(),
            Some("typed")
        );
        let by_env = DbConnection {
            password_env: Some("PGPASSWORD".into()),
            host: Some("other".into()),
            ..pg(None)
        };
        let (record, problem) = saved.save(&by_env, "Env").await.unwrap();
        assert_eq!(
            (record.secret, problem, record.password_env.as_deref()),
            (SecretPlace::Env, None, Some("PGPASSWORD"))
        );
        assert_eq!(saved.list().unwrap().len(), 2);
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn an_unreadable_file_is_a_coded_error_not_an_empty_list() {
        let dir = tmp("garbled");
        std::fs::create_dir_all(dir.join("conf")).unwrap();
        std::fs::write(dir.join("conf/dbs.json"), "{not json").unwrap();
        let saved = SavedDbs::with_store(config(&dir), no_store);
        assert_eq!(saved.list().unwrap_err().code(), "invalid_args");
        assert!(SavedDbs::new(None).list().unwrap().is_empty());
        let _ = std::fs::remove_dir_all(&dir);
    }
}
