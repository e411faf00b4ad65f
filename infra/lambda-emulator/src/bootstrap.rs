//! Starting the bootstrap with a Lambda-like environment, and reading what it costs from /proc.

use std::os::fd::AsFd;
use std::path::Path;
use std::process::Stdio;

use tokio::process::{Child, Command};

/// What the function sees of its configuration (the values a Lambda sandbox sets).
pub struct Sandbox<'a> {
    pub runtime_api: &'a str,
    pub function_name: &'a str,
    pub memory_mb: u32,
    pub region: &'a str,
    pub timeout_secs: u64,
}

/// Starts `bootstrap` with an environment built from scratch, as in Lambda: nothing of this
/// shell leaks in except what `--env` passes. Its output goes to `log` (or our stderr), so that
/// our stdout stays one JSON line per invocation.
pub fn spawn(
    bootstrap: &Path,
    sandbox: &Sandbox<'_>,
    extra_env: &[(String, String)],
    log: Option<&Path>,
) -> std::io::Result<Child> {
    // Absolute, because the process starts in its own directory (LAMBDA_TASK_ROOT) as in Lambda.
    let bootstrap = std::fs::canonicalize(bootstrap)?;
    let task_root = bootstrap.parent().unwrap_or(Path::new("/"));
    let mut command = Command::new(&bootstrap);
    command
        .env_clear()
        .current_dir(task_root)
        .env("PATH", "/usr/local/bin:/usr/bin/:/bin:/opt/bin")
        .env("LANG", "en_US.UTF-8")
        .env("TZ", ":UTC")
        .env("LAMBDA_TASK_ROOT", task_root)
        .env("LAMBDA_RUNTIME_DIR", task_root)
        .env("_HANDLER", "bootstrap")
        .env("AWS_LAMBDA_RUNTIME_API", sandbox.runtime_api)
        .env("AWS_LAMBDA_FUNCTION_NAME", sandbox.function_name)
        .env(
            "AWS_LAMBDA_FUNCTION_MEMORY_SIZE",
            sandbox.memory_mb.to_string(),
        )
        .env("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST")
        .env(
            "AWS_LAMBDA_FUNCTION_TIMEOUT",
            sandbox.timeout_secs.to_string(),
        )
        .env("AWS_LAMBDA_INITIALIZATION_TYPE", "on-demand")
        .env(
            "AWS_LAMBDA_LOG_GROUP_NAME",
            format!("/aws/lambda/{}", sandbox.function_name),
        )
        .env("AWS_LAMBDA_LOG_STREAM_NAME", "emulator/[$LATEST]0")
        .env("AWS_REGION", sandbox.region)
        .env("AWS_DEFAULT_REGION", sandbox.region)
        .envs(extra_env.iter().map(|(k, v)| (k, v)))
        .stdin(Stdio::null())
        .kill_on_drop(true);
    let (out, err) = match log {
        Some(path) => {
            let file = std::fs::File::create(path)?;
            (Stdio::from(file.try_clone()?), Stdio::from(file))
        }
        None => {
            let stderr = std::io::stderr();
            let fd = stderr.as_fd();
            (
                Stdio::from(fd.try_clone_to_owned()?),
                Stdio::from(fd.try_clone_to_owned()?),
            )
        }
    };
    command.stdout(out).stderr(err).spawn()
}

/// The process's peak resident set (VmHWM), in KiB.
pub fn peak_rss_kib(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
}

/// CPU time (user + system, every thread) the process has used so far, in milliseconds.
/// This is what a 128 MB Lambda (a fraction of a vCPU) pays for, unlike wall time here.
pub fn cpu_ms(pid: u32) -> Option<u64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name (field 2) may contain spaces: count fields after its closing paren.
    let rest = &stat[stat.rfind(')')? + 2..];
    let fields: Vec<&str> = rest.split_whitespace().collect();
    // utime and stime are fields 14 and 15 of the line, so 11 and 12 after the state field.
    let ticks: u64 = fields.get(11)?.parse::<u64>().ok()? + fields.get(12)?.parse::<u64>().ok()?;
    // USER_HZ is 100 on every Linux ABI Lambda runs (x86_64 and arm64).
    Some(ticks * 10)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_its_own_process() {
        let pid = std::process::id();
        assert!(peak_rss_kib(pid).is_some_and(|kib| kib > 0));
        assert!(cpu_ms(pid).is_some());
        assert_eq!(peak_rss_kib(u32::MAX), None);
    }
}
