//! The machine a run met: CPU model and count, load average, the date.

/// The 1-minute load average (how many runnable processes shared the cores).
pub fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .ok()
        .and_then(|l| l.split_whitespace().next().map(str::to_string))
        .unwrap_or_else(|| "?".into())
}

/// The CPU's model name and logical CPU count, from lscpu ("?" when unknown).
pub fn cpu() -> (String, String) {
    let lscpu = std::process::Command::new("lscpu")
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).to_string())
        .unwrap_or_default();
    let field = |name: &str| {
        lscpu
            .lines()
            .find_map(|l| l.strip_prefix(name).map(|v| v.trim().to_string()))
            .unwrap_or_else(|| "?".into())
    };
    (field("Model name:"), field("CPU(s):"))
}

/// The date and time in UTC, to the minute (empty when `date` cannot run).
pub fn date_utc() -> String {
    std::process::Command::new("date")
        .args(["-u", "+%Y-%m-%d %H:%M UTC"])
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
        .unwrap_or_default()
}
