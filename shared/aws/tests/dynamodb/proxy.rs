//! A TCP proxy between the store's client and DynamoDB Local, to cut the store off mid-run:
//! `Blackhole` accepts connections and never answers (timeouts); `Refuse` closes them at once
//! (connection errors). Switching mode also cuts every open connection, pooled ones included.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use tokio::net::{TcpListener, TcpStream};
use tokio::task::AbortHandle;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    Up,
    Blackhole,
    Refuse,
}

struct State {
    mode: Mode,
    open: Vec<AbortHandle>,
}

pub struct Proxy {
    pub url: String,
    state: Arc<Mutex<State>>,
    accept: AbortHandle,
}

impl Proxy {
    /// A proxy to the `http://host:port` endpoint, forwarding from the start.
    pub async fn start(upstream_url: &str) -> Proxy {
        let authority = upstream_url
            .trim_start_matches("http://")
            .trim_end_matches('/');
        let upstream: SocketAddr = tokio::net::lookup_host(authority)
            .await
            .expect("the DynamoDB endpoint resolves")
            .next()
            .expect("an address");
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("a free port");
        let url = format!("http://{}", listener.local_addr().unwrap());
        let state = Arc::new(Mutex::new(State {
            mode: Mode::Up,
            open: Vec::new(),
        }));
        let shared = state.clone();
        let accept = tokio::spawn(async move {
            while let Ok((mut client, _)) = listener.accept().await {
                let mut state = shared.lock().unwrap();
                let task = match state.mode {
                    Mode::Refuse => continue, // dropping the socket closes it
                    Mode::Up => tokio::spawn(async move {
                        if let Ok(mut server) = TcpStream::connect(upstream).await {
                            let _ = tokio::io::copy_bidirectional(&mut client, &mut server).await;
                        }
                    }),
                    Mode::Blackhole => tokio::spawn(async move {
                        let _held = client;
                        std::future::pending::<()>().await
                    }),
                };
                state.open.push(task.abort_handle());
            }
        })
        .abort_handle();
        Proxy { url, state, accept }
    }

    pub fn set(&self, mode: Mode) {
        let mut state = self.state.lock().unwrap();
        state.mode = mode;
        for connection in state.open.drain(..) {
            connection.abort();
        }
    }
}

impl Drop for Proxy {
    fn drop(&mut self) {
        self.set(Mode::Refuse);
        self.accept.abort();
    }
}
