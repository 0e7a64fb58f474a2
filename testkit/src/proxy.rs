//! A TCP proxy that can cut and restore a link between two relays (the seed's partition
//! test, without iptables).

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use tokio::net::{TcpListener, TcpStream};
use tokio::sync::Mutex;
use tokio_util::sync::CancellationToken;

/// Forwards 127.0.0.1:<port> to a target; `cut` drops every connection and refuses new
/// ones until `restore`.
#[derive(Debug, Clone)]
pub struct Proxy {
    /// Where to connect to reach the target through the proxy.
    pub addr: SocketAddr,
    cut: Arc<AtomicBool>,
    live: Arc<Mutex<CancellationToken>>,
    stop: CancellationToken,
}

impl Proxy {
    /// Starts a proxy to `target`.
    pub async fn start(target: SocketAddr) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind proxy");
        let proxy = Self {
            addr: listener.local_addr().expect("proxy address"),
            cut: Arc::new(AtomicBool::new(false)),
            live: Arc::new(Mutex::new(CancellationToken::new())),
            stop: CancellationToken::new(),
        };
        let p = proxy.clone();
        tokio::spawn(async move {
            loop {
                let accepted = tokio::select! {
                    a = listener.accept() => a,
                    () = p.stop.cancelled() => return,
                };
                let Ok((inbound, _)) = accepted else { continue };
                if p.cut.load(Ordering::SeqCst) {
                    drop(inbound);
                    continue;
                }
                let token = p.live.lock().await.clone();
                tokio::spawn(forward(inbound, target, token));
            }
        });
        proxy
    }

    /// Cuts the link: open connections are dropped, new ones refused.
    pub async fn cut(&self) {
        self.cut.store(true, Ordering::SeqCst);
        let mut live = self.live.lock().await;
        live.cancel();
        *live = CancellationToken::new();
    }

    /// Restores the link.
    pub fn restore(&self) {
        self.cut.store(false, Ordering::SeqCst);
    }

    /// Stops the proxy.
    pub fn stop(&self) {
        self.stop.cancel();
    }
}

async fn forward(mut inbound: TcpStream, target: SocketAddr, token: CancellationToken) {
    let Ok(mut outbound) = TcpStream::connect(target).await else {
        return;
    };
    tokio::select! {
        _ = tokio::io::copy_bidirectional(&mut inbound, &mut outbound) => {}
        () = token.cancelled() => {}
    }
}
