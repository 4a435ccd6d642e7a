//! Clients of plexcache's own HTTP API: [`ApiClient`] (reqwest, JSON, the
//! waits every test and tool needs) and [`raw_get`] (one plain HTTP/1.1
//! request on a fresh connection, for servers under abuse).

use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use serde_json::Value;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// How long [`ApiClient::wait_idle`] and [`ApiClient::wait_synced`] wait
/// unless told otherwise.
const PATIENCE: Duration = Duration::from_secs(60);
/// How often the waits ask for the status.
const POLL: Duration = Duration::from_millis(50);

/// A client of the API at one base URL, with the password when one is set.
#[derive(Clone)]
pub struct ApiClient {
    http: reqwest::Client,
    base: String,
    password: Option<String>,
    patience: Duration,
}

impl ApiClient {
    /// A client of the API at `base` (`http://127.0.0.1:PORT`).
    pub fn new(base: &str) -> anyhow::Result<ApiClient> {
        Self::with_http(base, reqwest::Client::builder().build()?)
    }

    /// A client that sends its requests through `http`.
    pub fn with_http(base: &str, http: reqwest::Client) -> anyhow::Result<ApiClient> {
        Ok(ApiClient {
            http,
            base: base.trim_end_matches('/').to_owned(),
            password: None,
            patience: PATIENCE,
        })
    }

    /// Sends `password` with every request (HTTP basic authentication).
    pub fn with_password(mut self, password: &str) -> ApiClient {
        self.password = Some(password.to_owned());
        self
    }

    /// How long the waits wait before they call a sync stuck.
    pub fn with_patience(mut self, patience: Duration) -> ApiClient {
        self.patience = patience;
        self
    }

    pub fn base(&self) -> &str {
        &self.base
    }

    pub fn http(&self) -> &reqwest::Client {
        &self.http
    }

    /// A request for `path` (`/api/...`), with the password if any.
    pub fn request(&self, method: reqwest::Method, path: &str) -> reqwest::RequestBuilder {
        let request = self.http.request(method, format!("{}{path}", self.base));
        match &self.password {
            Some(password) => request.basic_auth("anyone", Some(password)),
            None => request,
        }
    }

    /// GET `path`: the status code and the JSON body (`Null` when the body
    /// is not JSON).
    pub async fn get_json(&self, path: &str) -> anyhow::Result<(u16, Value)> {
        answer(self.request(reqwest::Method::GET, path), "GET", path).await
    }

    /// POST to `path` without a body: the status code and the JSON body.
    pub async fn post(&self, path: &str) -> anyhow::Result<(u16, Value)> {
        answer(self.request(reqwest::Method::POST, path), "POST", path).await
    }

    /// POST `body` as JSON to `path`: the status code and the JSON body.
    pub async fn post_json(&self, path: &str, body: &Value) -> anyhow::Result<(u16, Value)> {
        let request = self.request(reqwest::Method::POST, path).json(body);
        answer(request, "POST", path).await
    }

    /// PUT `body` as JSON to `path`: the status code and the JSON body.
    pub async fn put_json(&self, path: &str, body: &Value) -> anyhow::Result<(u16, Value)> {
        let request = self.request(reqwest::Method::PUT, path).json(body);
        answer(request, "PUT", path).await
    }

    /// GET `path`, which must succeed: its JSON body.
    pub async fn get_ok(&self, path: &str) -> anyhow::Result<Value> {
        let (status, body) = self.get_json(path).await?;
        if !(200..300).contains(&status) {
            bail!("GET {path} answered {status}: {body}");
        }
        Ok(body)
    }

    /// `/api/library/status`.
    pub async fn status(&self) -> anyhow::Result<Value> {
        self.get_ok("/api/library/status").await
    }

    /// POST /api/library/sync: true when it started one, false when one
    /// already runs (409).
    pub async fn start_sync(&self) -> anyhow::Result<bool> {
        match self.post("/api/library/sync").await? {
            (200, _) => Ok(true),
            (409, _) => Ok(false),
            (other, body) => bail!("POST /api/library/sync answered {other}: {body}"),
        }
    }

    /// Waits until a sync has ended (the status shows when it synced or why
    /// it failed) and none runs now; the status then.
    pub async fn wait_idle(&self) -> anyhow::Result<Value> {
        self.wait_for("no sync ended", |status| {
            let settled = status["synced_at"].is_string() || status["error"].is_string();
            status["is_syncing"] == false && settled
        })
        .await
    }

    /// Waits until a sync has filled the cache and none runs now.
    pub async fn wait_synced(&self) -> anyhow::Result<Value> {
        self.wait_for("no sync filled the cache", |status| {
            status["is_syncing"] == false && status["track_count"].as_i64() > Some(0)
        })
        .await
    }

    async fn wait_for(
        &self,
        failure: &str,
        done: impl Fn(&Value) -> bool,
    ) -> anyhow::Result<Value> {
        let until = Instant::now() + self.patience;
        loop {
            let status = self.status().await?;
            if done(&status) {
                return Ok(status);
            }
            if Instant::now() > until {
                bail!("{failure} within {} s: {status}", self.patience.as_secs());
            }
            tokio::time::sleep(POLL).await;
        }
    }

    /// The newest entry of the sync history (`Null` when there is none).
    pub async fn last_sync(&self) -> anyhow::Result<Value> {
        let history = self.get_ok("/api/library/sync/history?limit=1").await?;
        Ok(history["syncs"][0].clone())
    }

    /// How many syncs the history lists (up to 500).
    pub async fn history_len(&self) -> anyhow::Result<usize> {
        let history = self.get_ok("/api/library/sync/history?limit=500").await?;
        Ok(history["syncs"].as_array().map_or(0, Vec::len))
    }
}

async fn answer(
    request: reqwest::RequestBuilder,
    method: &str,
    path: &str,
) -> anyhow::Result<(u16, Value)> {
    let response = request
        .send()
        .await
        .with_context(|| format!("{method} {path}"))?;
    let status = response.status().as_u16();
    Ok((status, response.json().await.unwrap_or(Value::Null)))
}

/// One GET on a fresh connection (`Connection: close`), written by hand so
/// nothing stands between the test and the server: the status and the
/// body, or `None` when no whole answer came within `within`.
pub async fn raw_get(addr: &str, target: &str, within: Duration) -> Option<(u16, String)> {
    let attempt = async {
        let mut stream = TcpStream::connect(addr).await.ok()?;
        let request = format!("GET {target} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n");
        stream.write_all(request.as_bytes()).await.ok()?;
        let mut answer = Vec::new();
        stream.read_to_end(&mut answer).await.ok()?;
        let text = String::from_utf8_lossy(&answer).into_owned();
        let status = text.split_whitespace().nth(1)?.parse().ok()?;
        let body = text
            .split_once("\r\n\r\n")
            .map_or("", |(_, b)| b)
            .to_owned();
        Some((status, body))
    };
    tokio::time::timeout(within, attempt).await.ok().flatten()
}
