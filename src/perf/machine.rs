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

/// The widest vector instructions the CPU offers for the products ("AVX-512", "AVX2 + FMA", "AVX2", "SSE"),
/// from /proc/cpuinfo's flags ("?" when it cannot be read): CI-class machines differ in it.
pub fn isa() -> String {
    let info = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    let Some(flags) = info.lines().find_map(|l| l.strip_prefix("flags")) else {
        return "?".into();
    };
    let has = |f: &str| flags.split_whitespace().any(|x| x == f);
    match (has("avx512f"), has("avx2"), has("fma")) {
        (true, _, _) => "AVX-512",
        (false, true, true) => "AVX2 + FMA",
        (false, true, false) => "AVX2",
        _ => "SSE",
    }
    .into()
}
