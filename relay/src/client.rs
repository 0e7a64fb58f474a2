//! [`Connection`]: the dialling side of the protocol over tokio-tungstenite — what the
//! mesh uses to reach other relays, and what tests and load generators use as a client.

use futures_util::{SinkExt, StreamExt};
use runmesh_core::sync::handshake::{self, Joined};
use runmesh_core::sync::{PeerId, PeerMetadata, WireMessage};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

/// Largest frame a client accepts from a relay.
const MAX_FRAME: usize = 64 * 1024 * 1024;

/// Why a connection failed.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    /// The WebSocket could not be opened or broke.
    #[error("websocket to {url}: {source}")]
    Socket {
        /// Where.
        url: String,
        /// What happened.
        source: Box<tokio_tungstenite::tungstenite::Error>,
    },
    /// The other side broke the protocol.
    #[error("protocol error from {url}: {reason}")]
    Protocol {
        /// Where.
        url: String,
        /// What was wrong.
        reason: String,
    },
}

/// An open, joined connection to a relay.
#[derive(Debug)]
pub struct Connection {
    url: String,
    ws: WebSocketStream<MaybeTlsStream<TcpStream>>,
    /// Our peer id.
    pub me: PeerId,
    /// The relay at the other end.
    pub remote: Joined,
}

impl Connection {
    /// Dials `url` (ws:// or wss://), sends `join` as `me` and waits for `peer`.
    pub async fn connect(
        url: &str,
        me: PeerId,
        metadata: PeerMetadata,
    ) -> Result<Self, ClientError> {
        Self::connect_with_token(url, me, metadata, None).await
    }

    /// Like [`Connection::connect`], presenting `token` as `Authorization: Bearer …`.
    pub async fn connect_with_token(
        url: &str,
        me: PeerId,
        metadata: PeerMetadata,
        token: Option<&str>,
    ) -> Result<Self, ClientError> {
        Self::connect_with(url, me, metadata, token, None).await
    }

    /// Like [`Connection::connect_with_token`], with the TLS settings for `wss://` URLs
    /// (default: the web PKI roots).
    pub async fn connect_with(
        url: &str,
        me: PeerId,
        metadata: PeerMetadata,
        token: Option<&str>,
        tls: Option<std::sync::Arc<rustls::ClientConfig>>,
    ) -> Result<Self, ClientError> {
        use tokio_tungstenite::tungstenite::client::IntoClientRequest;
        let socket_err = |source| ClientError::Socket {
            url: url.to_owned(),
            source: Box::new(source),
        };
        let mut request = url.into_client_request().map_err(socket_err)?;
        if let Some(token) = token {
            let value = format!("Bearer {token}")
                .parse()
                .map_err(|_| ClientError::Protocol {
                    url: url.to_owned(),
                    reason: "the token is not a valid header value".into(),
                })?;
            request.headers_mut().insert("authorization", value);
        }
        let connector = if url.starts_with("wss://") {
            let tls = match tls {
                Some(tls) => tls,
                None => crate::tls::client_config(None).map_err(|e| ClientError::Protocol {
                    url: url.to_owned(),
                    reason: e.to_string(),
                })?,
            };
            Some(tokio_tungstenite::Connector::Rustls(tls))
        } else {
            None
        };
        // `true`: no Nagle (a relay's frames are small and answered at once).
        let (mut ws, _) =
            tokio_tungstenite::connect_async_tls_with_config(request, None, true, connector)
                .await
                .map_err(socket_err)?;
        ws.send(Message::Binary(
            handshake::join(&me, metadata).encode().into(),
        ))
        .await
        .map_err(socket_err)?;
        let mut conn = Self {
            url: url.to_owned(),
            ws,
            me,
            remote: Joined {
                peer: PeerId::from(""),
                metadata: PeerMetadata::default(),
            },
        };
        let reply = conn
            .recv()
            .await?
            .ok_or_else(|| conn.protocol("closed during the handshake".into()))?;
        conn.remote = handshake::confirm(reply).map_err(|e| conn.protocol(e.to_string()))?;
        Ok(conn)
    }

    fn protocol(&self, reason: String) -> ClientError {
        ClientError::Protocol {
            url: self.url.clone(),
            reason,
        }
    }

    /// Sends one message.
    pub async fn send(&mut self, message: &WireMessage) -> Result<(), ClientError> {
        self.send_raw(message.encode()).await
    }

    /// Sends raw bytes as one binary frame (tests use it for malformed frames).
    pub async fn send_raw(&mut self, frame: Vec<u8>) -> Result<(), ClientError> {
        let url = self.url.clone();
        self.ws
            .send(Message::Binary(frame.into()))
            .await
            .map_err(|source| ClientError::Socket {
                url,
                source: Box::new(source),
            })
    }

    /// The next protocol message, or `None` once the relay closed the connection.
    pub async fn recv(&mut self) -> Result<Option<WireMessage>, ClientError> {
        loop {
            let Some(frame) = self.ws.next().await else {
                return Ok(None);
            };
            match frame {
                Ok(Message::Binary(bytes)) => {
                    return WireMessage::decode(&bytes, MAX_FRAME)
                        .map(Some)
                        .map_err(|e| self.protocol(e.to_string()));
                }
                Ok(Message::Close(_)) => return Ok(None),
                Ok(_) => {}
                Err(tokio_tungstenite::tungstenite::Error::ConnectionClosed)
                | Err(tokio_tungstenite::tungstenite::Error::AlreadyClosed) => return Ok(None),
                Err(e) => {
                    return Err(ClientError::Socket {
                        url: self.url.clone(),
                        source: Box::new(e),
                    });
                }
            }
        }
    }

    /// The WebSocket, for callers that pump frames themselves (the mesh).
    pub fn into_inner(self) -> WebSocketStream<MaybeTlsStream<TcpStream>> {
        self.ws
    }

    /// Closes the connection.
    pub async fn close(mut self) {
        let _ = self.ws.close(None).await;
    }
}
