//! The CPU time a local server spends per flow: read from `/proc` before and after the run,
//! for the process that listens on the target's port (Linux, loopback targets only). The load
//! generator's own CPU is read the same way, so a report says what each side cost.

use std::fs;
use std::net::IpAddr;

use reqwest::Url;
use serde::Serialize;

/// CPU time of the server and of this process, in clock ticks, at one moment.
#[derive(Debug, Clone, Copy)]
pub struct Sample {
    server: Option<u64>,
    client: Option<u64>,
}

/// What a run cost, per completed flow.
#[derive(Debug, Clone, Serialize)]
pub struct CpuPerFlow {
    /// The server process's user + system CPU, milliseconds per flow.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub server_ms: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub server_pid: Option<u32>,
    /// This load generator's CPU, milliseconds per flow.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub client_ms: Option<f64>,
    /// The machine's 1-minute load average at the end of the run (what else was running).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub load_average: Option<f64>,
}

pub struct Meter {
    server_pid: Option<u32>,
}

impl Meter {
    /// Finds the local process listening on `target`'s port (none for a remote target).
    pub fn for_target(target: &Url) -> Self {
        let local = target.host_str().is_some_and(|h| {
            h == "localhost"
                || h.trim_matches(['[', ']'])
                    .parse::<IpAddr>()
                    .is_ok_and(|ip| ip.is_loopback())
        });
        let server_pid = if local {
            target.port_or_known_default().and_then(listener_pid)
        } else {
            None
        };
        Meter { server_pid }
    }

    pub fn sample(&self) -> Sample {
        Sample {
            server: self
                .server_pid
                .and_then(|pid| cpu_ticks(&format!("/proc/{pid}/stat"))),
            client: cpu_ticks("/proc/self/stat"),
        }
    }

    pub fn per_flow(&self, before: Sample, after: Sample, flows: u64) -> CpuPerFlow {
        let ms_per_tick = 1000.0 / clock_ticks_per_second();
        let per = |a: Option<u64>, b: Option<u64>| {
            let (a, b) = (a?, b?);
            (flows > 0).then(|| {
                ((b.saturating_sub(a)) as f64 * ms_per_tick / flows as f64 * 1000.0).round()
                    / 1000.0
            })
        };
        CpuPerFlow {
            server_ms: per(before.server, after.server),
            server_pid: self.server_pid,
            client_ms: per(before.client, after.client),
            load_average: fs::read_to_string("/proc/loadavg")
                .ok()
                .and_then(|l| l.split_whitespace().next()?.parse().ok()),
        }
    }
}

fn clock_ticks_per_second() -> f64 {
    // SAFETY: sysconf has no preconditions; it returns -1 for an unknown name.
    let ticks = unsafe { libc::sysconf(libc::_SC_CLK_TCK) };
    if ticks > 0 { ticks as f64 } else { 100.0 }
}

/// utime + stime of a `/proc/<pid>/stat` file (fields 14 and 15, after the `(comm)` field,
/// which may itself contain spaces).
fn cpu_ticks(path: &str) -> Option<u64> {
    let stat = fs::read_to_string(path).ok()?;
    let after_comm = &stat[stat.rfind(')')? + 2..];
    let fields: Vec<&str> = after_comm.split_whitespace().collect();
    // after_comm starts at field 3 (state): utime is field 14, stime 15.
    let utime: u64 = fields.get(11)?.parse().ok()?;
    let stime: u64 = fields.get(12)?.parse().ok()?;
    Some(utime + stime)
}

/// The pid of the process with a listening TCP socket on `port` (IPv4 or IPv6).
fn listener_pid(port: u16) -> Option<u32> {
    let inodes: Vec<String> = ["/proc/net/tcp", "/proc/net/tcp6"]
        .iter()
        .filter_map(|f| fs::read_to_string(f).ok())
        .flat_map(|table| {
            table
                .lines()
                .skip(1)
                .filter_map(|line| {
                    let cols: Vec<&str> = line.split_whitespace().collect();
                    let local_port = cols.get(1)?.rsplit(':').next()?;
                    let listening = *cols.get(3)? == "0A";
                    (listening && u16::from_str_radix(local_port, 16).ok()? == port)
                        .then(|| cols.get(9).map(|s| s.to_string()))?
                })
                .collect::<Vec<_>>()
        })
        .collect();
    if inodes.is_empty() {
        return None;
    }
    let wanted: Vec<String> = inodes.iter().map(|i| format!("socket:[{i}]")).collect();
    fs::read_dir("/proc").ok()?.flatten().find_map(|entry| {
        let pid: u32 = entry.file_name().to_str()?.parse().ok()?;
        let fds = fs::read_dir(entry.path().join("fd")).ok()?;
        fds.flatten()
            .any(|fd| {
                fs::read_link(fd.path())
                    .ok()
                    .and_then(|t| t.to_str().map(|t| wanted.iter().any(|w| w == t)))
                    .unwrap_or(false)
            })
            .then_some(pid)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_its_own_listener_and_reads_its_cpu() {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        assert_eq!(listener_pid(port), Some(std::process::id()));
        let url = Url::parse(&format!("http://127.0.0.1:{port}/")).unwrap();
        let meter = Meter::for_target(&url);
        let before = meter.sample();
        // Burn CPU until this process's own stat file shows 100 ms more (however loaded the
        // machine is, that is what the meter must then report).
        let own = || cpu_ticks("/proc/self/stat").unwrap();
        let (start, ticks) = (own(), clock_ticks_per_second() / 10.0);
        let mut x = 0u64;
        while ((own() - start) as f64) < ticks {
            for _ in 0..100_000 {
                x = x.wrapping_mul(6364136223846793005).wrapping_add(1);
            }
        }
        std::hint::black_box(x);
        let cost = meter.per_flow(before, meter.sample(), 1);
        let server = cost.server_ms.expect("a server reading");
        assert!(server >= 100.0, "{server} ms after 100 ms of CPU");
    }

    #[test]
    fn remote_targets_are_not_measured() {
        let meter = Meter::for_target(&Url::parse("https://mobileid.example.org/").unwrap());
        assert_eq!(meter.server_pid, None);
    }
}
