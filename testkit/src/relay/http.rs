//! The relay's HTTP API in one call: status and JSON answer.

/// POSTs `body` (JSON text or a JSON value) and returns the status and the JSON answer.
pub async fn post(url: &str, body: impl std::fmt::Display) -> (u16, serde_json::Value) {
    let resp = reqwest::Client::new()
        .post(url)
        .body(body.to_string())
        .send()
        .await
        .unwrap();
    let status = resp.status().as_u16();
    (status, resp.json().await.unwrap_or(serde_json::Value::Null))
}

/// GETs `url` and returns the status and the JSON answer.
pub async fn get(url: &str) -> (u16, serde_json::Value) {
    let resp = reqwest::get(url).await.unwrap();
    let status = resp.status().as_u16();
    (status, resp.json().await.unwrap_or(serde_json::Value::Null))
}
