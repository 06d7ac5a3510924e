//! A minimal SMTP server on loopback that keeps what it receives, so tests
//! read codes out of real emails sent by the real mailer.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::Notify;

#[derive(Clone, Debug)]
pub struct ReceivedEmail {
    pub recipients: Vec<String>,
    pub data: String,
}

impl ReceivedEmail {
    /// The first six-digit number in the message body.
    pub fn code(&self) -> String {
        let body = self
            .data
            .split("\r\n\r\n")
            .skip(1)
            .collect::<Vec<_>>()
            .join("\n");
        let bytes = body.as_bytes();
        (0..bytes.len().saturating_sub(5))
            .find(|&i| {
                bytes[i..i + 6].iter().all(u8::is_ascii_digit)
                    && (i == 0 || !bytes[i - 1].is_ascii_digit())
                    && bytes.get(i + 6).is_none_or(|b| !b.is_ascii_digit())
            })
            .map(|i| body[i..i + 6].to_string())
            .unwrap_or_else(|| panic!("no code in email: {}", self.data))
    }
}

#[derive(Clone)]
pub struct SmtpSink {
    pub port: u16,
    /// How long the server takes to accept a message, like a slow provider.
    delay: Duration,
    inbox: Arc<Mutex<Vec<ReceivedEmail>>>,
    arrived: Arc<Notify>,
}

impl SmtpSink {
    pub async fn start() -> Self {
        Self::start_with_delay(Duration::ZERO).await
    }

    pub async fn start_with_delay(delay: Duration) -> Self {
        Self::start_on(0, delay).await
    }

    /// On a chosen port: a server that was down comes back where it was.
    pub async fn start_on(port: u16, delay: Duration) -> Self {
        let listener = TcpListener::bind(("127.0.0.1", port))
            .await
            .expect("bind smtp");
        let sink = SmtpSink {
            port: listener.local_addr().unwrap().port(),
            delay,
            inbox: Arc::default(),
            arrived: Arc::default(),
        };
        let server = sink.clone();
        tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                let server = server.clone();
                tokio::spawn(async move { server.session(stream).await });
            }
        });
        sink
    }

    pub fn url(&self) -> String {
        format!("smtp://127.0.0.1:{}", self.port)
    }

    async fn session(&self, stream: TcpStream) {
        let (read, mut write) = stream.into_split();
        let mut lines = BufReader::new(read).lines();
        let _ = write.write_all(b"220 localhost test SMTP\r\n").await;
        let mut recipients = Vec::new();
        while let Ok(Some(line)) = lines.next_line().await {
            let verb = line.get(..4).unwrap_or("").to_ascii_uppercase();
            let reply: &[u8] = match verb.as_str() {
                "EHLO" | "HELO" => b"250-localhost\r\n250 8BITMIME\r\n",
                "RCPT" => {
                    let address = line.split(['<', '>']).nth(1).unwrap_or("").to_string();
                    recipients.push(address);
                    b"250 OK\r\n"
                }
                "DATA" => {
                    let _ = write.write_all(b"354 go ahead\r\n").await;
                    tokio::time::sleep(self.delay).await;
                    let mut data = String::new();
                    while let Ok(Some(l)) = lines.next_line().await {
                        if l == "." {
                            break;
                        }
                        data.push_str(&l);
                        data.push_str("\r\n");
                    }
                    self.inbox.lock().unwrap().push(ReceivedEmail {
                        recipients: std::mem::take(&mut recipients),
                        data,
                    });
                    self.arrived.notify_waiters();
                    b"250 queued\r\n"
                }
                "QUIT" => {
                    let _ = write.write_all(b"221 bye\r\n").await;
                    return;
                }
                _ => b"250 OK\r\n",
            };
            if write.write_all(reply).await.is_err() {
                return;
            }
        }
    }

    pub fn emails_to(&self, address: &str) -> Vec<ReceivedEmail> {
        self.inbox
            .lock()
            .unwrap()
            .iter()
            .filter(|e| e.recipients.iter().any(|r| r.eq_ignore_ascii_case(address)))
            .cloned()
            .collect()
    }

    /// Waits until `address` has received `count` emails and returns the last.
    pub async fn wait_for_nth(&self, address: &str, count: usize) -> ReceivedEmail {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(15);
        loop {
            let arrived = self.arrived.notified();
            let emails = self.emails_to(address);
            if emails.len() >= count {
                return emails[count - 1].clone();
            }
            if tokio::time::timeout_at(deadline, arrived).await.is_err() {
                panic!("no email #{count} for {address} within 15 s");
            }
        }
    }
}
