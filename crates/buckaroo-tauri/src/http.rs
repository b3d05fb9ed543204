//! The sidecar's HTTP API: loads (`POST`, answered with a coded error when refused)
//! and the quick `GET`s (`/health`, `/diagnostics`). Every request carries the launch
//! token. No Tauri types here.

use crate::error::{Error, Result};
use crate::supervisor::Endpoint;
use serde_json::Value;
use std::time::Duration;

/// How much longer than the launcher's load timeout the plugin waits for a load, so
/// the launcher's coded `load_timeout` answer arrives first.
const LOAD_TIMEOUT_MARGIN: Duration = Duration::from_secs(10);
const QUICK_TIMEOUT: Duration = Duration::from_secs(10);

/// One client for every request to the sidecar (loopback only, no proxy).
pub(crate) struct SidecarHttp {
    client: reqwest::Client,
    /// The launcher's limit for one load ([`crate::BuckarooConfig::with_load_timeout`]).
    load_timeout: Duration,
}

impl SidecarHttp {
    pub fn new(load_timeout: Duration) -> Self {
        // With the updater plugin in the app, reqwest is built `rustls-no-provider`:
        // building any client panics until a provider is installed (the updater
        // itself installs ring only when it checks). Our loopback client never uses TLS.
        if rustls::crypto::CryptoProvider::get_default().is_none() {
            let _ = rustls::crypto::ring::default_provider().install_default();
        }
        let client = reqwest::Client::builder()
            .no_proxy()
            .build()
            .expect("reqwest client without TLS builds");
        Self { client, load_timeout }
    }

    /// `POST` a load; its JSON reply, or `LoadFailed` with the server's `error_code`.
    pub async fn post(&self, ep: &Endpoint, route: &str, body: &Value) -> Result<Value> {
        self.post_within(ep, route, body, Some(self.load_timeout + LOAD_TIMEOUT_MARGIN))
            .await
    }

    /// `POST` what may take as long as it takes (an export of 100M rows): it ends when
    /// the launcher answers, is cancelled, or dies.
    pub async fn post_unbounded(&self, ep: &Endpoint, route: &str, body: &Value) -> Result<Value> {
        self.post_within(ep, route, body, None).await
    }

    async fn post_within(&self, ep: &Endpoint, route: &str, body: &Value, timeout: Option<Duration>) -> Result<Value> {
        let timed_out = |e| self.timed_out(route, e);
        let mut req = authed(self.client.post(url(ep, route)), ep).json(body);
        if let Some(t) = timeout {
            req = req.timeout(t);
        }
        let resp = req.send().await.map_err(timed_out)?;
        let status = resp.status();
        let text = resp.text().await.map_err(timed_out)?;
        let reply: Value = serde_json::from_str(&text).unwrap_or(Value::String(text));
        if status.is_success() {
            return Ok(reply);
        }
        Err(self.refused(status, &reply))
    }

    /// `GET` a quick route (`/health`, `/diagnostics`).
    pub async fn get(&self, ep: &Endpoint, route: &str) -> Result<Value> {
        let resp = authed(self.client.get(url(ep, route)), ep).timeout(QUICK_TIMEOUT).send().await?;
        Ok(resp.error_for_status()?.json().await?)
    }

    /// A load the server answered with an error status.
    fn refused(&self, status: reqwest::StatusCode, reply: &Value) -> Error {
        let server_code = reply
            .get("error_code")
            .and_then(Value::as_str)
            .unwrap_or(if status.as_u16() == 400 { "bad_request" } else { "server_error" })
            .to_string();
        let message = reply
            .get("message")
            .or_else(|| reply.get("error"))
            .and_then(Value::as_str)
            .map(String::from)
            .unwrap_or_else(|| format!("HTTP {status}"));
        Error::LoadFailed {
            server_code,
            status: status.as_u16(),
            message,
            load_timeout: self.load_timeout,
        }
    }

    /// The launcher should have answered `load_timeout` by now (an older one does not,
    /// or its event loop is stuck): the same code either way.
    fn timed_out(&self, route: &str, e: reqwest::Error) -> Error {
        if !e.is_timeout() {
            return e.into();
        }
        Error::LoadFailed {
            server_code: "load_timeout".into(),
            status: 504,
            message: format!(
                "the sidecar did not answer {route} within {} s",
                (self.load_timeout + LOAD_TIMEOUT_MARGIN).as_secs()
            ),
            load_timeout: self.load_timeout,
        }
    }
}

fn url(ep: &Endpoint, route: &str) -> String {
    format!("http://127.0.0.1:{}{route}", ep.port)
}

fn authed(req: reqwest::RequestBuilder, ep: &Endpoint) -> reqwest::RequestBuilder {
    match &ep.token {
        Some(token) => req.header(crate::launcher::TOKEN_HEADER, token),
        None => req,
    }
}
