//! A TCP proxy the runner puts between the functions and a dependency (DynamoDB Local), so a
//! scenario can make that dependency unreachable for a while. While it is down, open
//! connections are cut and new ones are accepted but never answered, as a network partition
//! looks to a client: only its own timeouts get it out.

use std::net::SocketAddr;
use std::sync::Arc;

use tokio::io::copy_bidirectional;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;

pub struct Proxy {
    pub listen: SocketAddr,
    up: watch::Sender<bool>,
}

impl Proxy {
    /// Starts forwarding 127.0.0.1:<free port> to `upstream`.
    pub async fn start(upstream: SocketAddr) -> std::io::Result<Arc<Proxy>> {
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let listen = listener.local_addr()?;
        let (up, watcher) = watch::channel(true);
        tokio::spawn(async move {
            while let Ok((client, _)) = listener.accept().await {
                tokio::spawn(relay(client, upstream, watcher.clone()));
            }
        });
        Ok(Arc::new(Proxy { listen, up }))
    }

    pub fn set_up(&self, up: bool) {
        self.up.send_replace(up);
    }

    pub fn is_up(&self) -> bool {
        *self.up.borrow()
    }
}

async fn relay(mut client: TcpStream, upstream: SocketAddr, mut up: watch::Receiver<bool>) {
    // Accepted during an outage: held silent until the outage ends, then closed.
    if !*up.borrow_and_update() {
        let _ = up.wait_for(|up| *up).await;
        return;
    }
    let Ok(mut server) = TcpStream::connect(upstream).await else {
        return;
    };
    tokio::select! {
        _ = copy_bidirectional(&mut client, &mut server) => {}
        // The outage starts: both sides are dropped, which cuts the connection.
        _ = up.wait_for(|up| !*up) => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    #[tokio::test]
    async fn forwards_then_cuts_and_holds_then_forwards_again() {
        let echo = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let echo_addr = echo.local_addr().unwrap();
        tokio::spawn(async move {
            while let Ok((mut s, _)) = echo.accept().await {
                tokio::spawn(async move {
                    let mut buf = [0u8; 16];
                    while let Ok(n) = s.read(&mut buf).await {
                        if n == 0 || s.write_all(&buf[..n]).await.is_err() {
                            break;
                        }
                    }
                });
            }
        });
        let proxy = Proxy::start(echo_addr).await.unwrap();
        let mut a = TcpStream::connect(proxy.listen).await.unwrap();
        a.write_all(b"hi").await.unwrap();
        let mut buf = [0u8; 2];
        a.read_exact(&mut buf).await.unwrap();
        assert_eq!(&buf, b"hi");

        proxy.set_up(false);
        let mut rest = Vec::new();
        let read = tokio::time::timeout(Duration::from_secs(2), a.read_to_end(&mut rest)).await;
        assert!(matches!(read, Ok(Ok(0))), "the open connection is cut");
        let mut b = TcpStream::connect(proxy.listen).await.unwrap();
        b.write_all(b"x").await.unwrap();
        let silent = tokio::time::timeout(Duration::from_millis(300), b.read(&mut buf)).await;
        assert!(
            silent.is_err(),
            "a new connection gets no answer during the outage"
        );

        proxy.set_up(true);
        let mut c = TcpStream::connect(proxy.listen).await.unwrap();
        c.write_all(b"ok").await.unwrap();
        c.read_exact(&mut buf).await.unwrap();
        assert_eq!(&buf, b"ok");
    }
}
