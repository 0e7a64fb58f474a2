//! A change-feed consumer for the tests: the events of `GET …/events` parsed off the
//! stream as they arrive, `end` events and the stream's close included.

use std::time::Duration;

use serde_json::Value;

/// One server-sent event.
#[derive(Debug, Clone)]
pub struct SseEvent {
    /// `event:` (`change`, `end`).
    pub name: String,
    /// `id:`, if any.
    pub id: Option<String>,
    /// `data:`, as JSON.
    pub data: Value,
}

/// One consumer of the feed.
pub struct Consumer {
    events: tokio::sync::mpsc::UnboundedReceiver<SseEvent>,
    task: tokio::task::JoinHandle<()>,
}

impl Consumer {
    /// Opens the feed at `url`, resuming after `last_event_id` if given; asserts a 200.
    pub async fn open(url: &str, last_event_id: Option<&str>) -> Self {
        let mut request = reqwest::Client::new().get(url);
        if let Some(id) = last_event_id {
            request = request.header("last-event-id", id);
        }
        match Self::try_open(request).await {
            Ok(consumer) => consumer,
            Err((status, body)) => panic!("the feed answered {status}: {body}"),
        }
    }

    /// Opens the feed `request` asks for; its status and JSON body if it is not a 200.
    pub async fn try_open(request: reqwest::RequestBuilder) -> Result<Self, (u16, Value)> {
        let response = request.send().await.unwrap();
        let status = response.status().as_u16();
        if status != 200 {
            return Err((status, response.json().await.unwrap_or(Value::Null)));
        }
        assert_eq!(
            response.headers()["content-type"].to_str().unwrap(),
            "text/event-stream"
        );
        let (tx, events) = tokio::sync::mpsc::unbounded_channel();
        let task = tokio::spawn(async move {
            let mut response = response;
            let mut buffer = String::new();
            while let Ok(Some(chunk)) = response.chunk().await {
                buffer.push_str(&String::from_utf8_lossy(&chunk));
                while let Some(end) = buffer.find("\n\n") {
                    let block: String = buffer.drain(..end + 2).collect();
                    let (mut name, mut id, mut data) = ("message".to_owned(), None, None);
                    for line in block.lines() {
                        if let Some(v) = line.strip_prefix("event: ") {
                            name = v.to_owned();
                        } else if let Some(v) = line.strip_prefix("id: ") {
                            id = Some(v.to_owned());
                        } else if let Some(v) = line.strip_prefix("data: ") {
                            data = Some(serde_json::from_str(v).unwrap());
                        }
                    }
                    if let Some(data) = data {
                        let _ = tx.send(SseEvent { name, id, data });
                    }
                }
            }
        });
        Ok(Self { events, task })
    }

    /// The next event, within 10 s; `None` if the stream closed.
    pub async fn next_event(&mut self) -> Option<SseEvent> {
        tokio::time::timeout(Duration::from_secs(10), self.events.recv())
            .await
            .expect("an event or the close within 10 s")
    }

    /// The next event, which must be a change: its id and data.
    pub async fn next(&mut self) -> (String, Value) {
        let event = self.next_event().await.expect("the stream is open");
        assert_eq!(event.name, "change", "{event:?}");
        (event.id.expect("a change has an id"), event.data)
    }

    /// The next event must be `end`, and the stream must close after it: its data.
    pub async fn ended(&mut self) -> Value {
        let event = self
            .next_event()
            .await
            .expect("an end event before the close");
        assert_eq!(event.name, "end", "{event:?}");
        assert!(
            self.next_event().await.is_none(),
            "the stream closes after end"
        );
        event.data
    }

    /// Nothing more arrives for a while.
    pub async fn quiet(&mut self) {
        let more = tokio::time::timeout(Duration::from_millis(300), self.events.recv()).await;
        assert!(more.is_err(), "unexpected event: {more:?}");
    }

    /// Disconnects.
    pub fn close(self) {
        self.task.abort();
    }
}
