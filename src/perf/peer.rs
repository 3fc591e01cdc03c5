//! The JAX peer: the same back-propagation training step jit-compiled by JAX on the CPU, run as a subprocess
//! (`benches/peers/run_jax.sh`, which installs JAX into target/peers-venv and runs `jax_backprop.py`).

use std::collections::BTreeMap;
use std::path::Path;

use serde::{Deserialize, Serialize};

/// The peer's script, relative to the repository root (the working directory of `dualprop perf`).
pub const SCRIPT: &str = "benches/peers/run_jax.sh";

/// What became of the peer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "status", rename_all = "snake_case")]
pub enum Peer {
    /// Not asked for.
    NotRun,
    /// Asked for, but it could not run.
    Failed {
        /// Why.
        reason: String,
    },
    /// Its median step.
    Ran {
        /// JAX's version.
        jax: String,
        /// Median seconds per back-propagation step, by float type ("f32", "f64").
        step_s: BTreeMap<String, f64>,
    },
}

impl Peer {
    /// The peer's median step in one float type, if it ran.
    pub fn step_s(&self, float: &str) -> Option<f64> {
        match self {
            Self::Ran { step_s, .. } => step_s.get(float).copied(),
            _ => None,
        }
    }
}

/// Runs the peer with `repeats` timed steps per float type.
pub fn run(repeats: usize) -> Peer {
    match run_script(repeats) {
        Ok(peer) => peer,
        Err(reason) => Peer::Failed { reason },
    }
}

fn run_script(repeats: usize) -> std::result::Result<Peer, String> {
    let script = Path::new(SCRIPT);
    if !script.exists() {
        return Err(format!(
            "{} not found (run from the repository root)",
            script.display()
        ));
    }
    let out = std::process::Command::new("bash")
        .arg(script)
        .args(["--repeats", &repeats.to_string()])
        .output()
        .map_err(|e| e.to_string())?;
    if !out.status.success() {
        let err = String::from_utf8_lossy(&out.stderr);
        return Err(format!("peer failed: {}", err.lines().last().unwrap_or("")));
    }
    let text = String::from_utf8_lossy(&out.stdout);
    let line = text.lines().last().unwrap_or("");
    let v: serde_json::Value = serde_json::from_str(line).map_err(|e| e.to_string())?;
    let mut step_s = BTreeMap::new();
    for float in ["f32", "f64"] {
        let s = v[float]
            .as_f64()
            .ok_or(format!("no {float} in peer output"))?;
        step_s.insert(float.to_string(), s);
    }
    Ok(Peer::Ran {
        jax: v["jax"].as_str().unwrap_or("?").to_string(),
        step_s,
    })
}
