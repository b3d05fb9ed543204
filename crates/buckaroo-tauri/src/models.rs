//! What commands return (camelCase on the wire).

use serde::Serialize;
use serde_json::Value;

pub use crate::hub::{AttachInfo, LoadCompareArgs, LoadExprArgs, LoadPathArgs, LoadResult};
pub use crate::supervisor::{ErrorInfo, Status};

/// `buckaroo_health`: the plugin's view plus the server's own `/health` when it is up.
/// Never contains the port.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct HealthInfo {
    pub plugin_version: &'static str,
    pub state: &'static str,
    pub ready: bool,
    pub session_id: Option<String>,
    pub connected: bool,
    pub server: Option<Value>,
}
