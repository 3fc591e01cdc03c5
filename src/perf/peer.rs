//! The JAX peer, interleaved: one long-lived process (`benches/peers/run_jax.sh`, which installs JAX into a
//! virtual environment under target/ and starts `jax_peer.py`) that answers one JSON request per line. perf sets
//! up the peer's twin of each estimator once, then asks for one of its steps right after each of ours, round by
//! round, so that every ratio against JAX compares steps taken under the same conditions. The peer times its
//! steps in its own process (no pipe or JSON in the timings).

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Write};
use std::path::Path;
use std::process::{Child, ChildStdin, ChildStdout, Command, Stdio};

use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use super::workload::EstimatorId;

/// The peer's launcher, relative to the repository root (the working directory of `dualprop perf`).
pub const SCRIPT: &str = "benches/peers/run_jax.sh";

/// What became of the peer in a run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "status", rename_all = "snake_case")]
pub enum Peer {
    /// Not asked for.
    NotRun,
    /// Asked for, but it could not run (or stopped answering; what it measured before is kept).
    Failed {
        /// Why.
        reason: String,
    },
    /// It answered every request.
    Ran {
        /// JAX's version.
        jax: String,
    },
}

/// The JAX twin of one of our estimators: what `jax_peer.py` is asked to set up.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Twin {
    /// The peer's estimator name ("back_propagation", "dp_plus", "original_dp").
    pub estimator: &'static str,
    /// alpha (dual variants).
    pub alpha: f64,
    /// beta (dual variants).
    pub beta: f64,
    /// Sweeps, all run (the peer has no early exit).
    pub k: usize,
}

/// The running peer process.
pub struct Process {
    child: Child,
    stdin: ChildStdin,
    stdout: BufReader<ChildStdout>,
    /// JAX's version, from the peer's greeting.
    pub jax: String,
}

type PeerResult<T> = std::result::Result<T, String>;

impl Process {
    /// Starts the peer and reads its greeting.
    pub fn start() -> PeerResult<Self> {
        let script = Path::new(SCRIPT);
        if !script.exists() {
            return Err(format!(
                "{} not found (run from the repository root)",
                script.display()
            ));
        }
        let mut child = Command::new("bash")
            .arg(script)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .map_err(|e| format!("cannot start {SCRIPT}: {e}"))?;
        let (Some(stdin), Some(stdout)) = (child.stdin.take(), child.stdout.take()) else {
            return Err("the peer's pipes were not opened".into());
        };
        let mut p = Self {
            child,
            stdin,
            stdout: BufReader::new(stdout),
            jax: String::new(),
        };
        let hello = p.read()?;
        p.jax = hello["jax"].as_str().unwrap_or("?").to_string();
        Ok(p)
    }

    fn read(&mut self) -> PeerResult<Value> {
        let mut line = String::new();
        let n = self
            .stdout
            .read_line(&mut line)
            .map_err(|e| e.to_string())?;
        if n == 0 {
            return Err("the peer exited (see its messages above)".into());
        }
        let v: Value = serde_json::from_str(&line).map_err(|e| format!("{e}: {line:?}"))?;
        match v.get("error").and_then(Value::as_str) {
            Some(err) => Err(format!("the peer answered: {err}")),
            None => Ok(v),
        }
    }

    fn request(&mut self, req: Value) -> PeerResult<Value> {
        writeln!(self.stdin, "{req}")
            .and_then(|()| self.stdin.flush())
            .map_err(|e| format!("cannot write to the peer: {e}"))?;
        self.read()
    }

    /// Compiles and warms up the twin under `key`, at these widths and batch in this float type.
    pub fn setup(
        &mut self,
        key: &str,
        twin: Twin,
        widths: &[usize],
        batch: usize,
        float: &str,
    ) -> PeerResult<()> {
        self.request(json!({
            "op": "setup", "key": key, "estimator": twin.estimator, "alpha": twin.alpha,
            "beta": twin.beta, "k": twin.k, "widths": widths, "batch": batch, "dtype": float,
        }))
        .map(drop)
    }

    /// One training step of `key`, timed in the peer's process (seconds).
    pub fn step(&mut self, key: &str) -> PeerResult<f64> {
        let v = self.request(json!({"op": "step", "key": key, "n": 1}))?;
        v["s"][0]
            .as_f64()
            .ok_or_else(|| format!("no step time in {v}"))
    }

    /// The cumulative stages of `key`'s step, each jit-compiled on its own, best of `reps` (seconds, by name:
    /// forward, forward_inference, forward_inference_gradient, adam).
    pub fn phases(&mut self, key: &str, reps: usize) -> PeerResult<BTreeMap<String, f64>> {
        let v = self.request(json!({"op": "phases", "key": key, "reps": reps}))?;
        serde_json::from_value(v["phases_s"].clone()).map_err(|e| e.to_string())
    }

    /// XLA's products of a back-propagation step at `key`'s shapes, alone: (best seconds, multiply-adds).
    pub fn gemm(&mut self, key: &str, reps: usize) -> PeerResult<(f64, u64)> {
        let v = self.request(json!({"op": "gemm", "key": key, "reps": reps}))?;
        match (v["s"].as_f64(), v["macs"].as_u64()) {
            (Some(s), Some(macs)) => Ok((s, macs)),
            _ => Err(format!("no GEMM time in {v}")),
        }
    }

    /// Frees `key`'s buffers in the peer.
    pub fn forget(&mut self, key: &str) -> PeerResult<()> {
        self.request(json!({"op": "drop", "key": key})).map(drop)
    }
}

impl Drop for Process {
    fn drop(&mut self) {
        let _ = writeln!(self.stdin, "{}", json!({"op": "quit"}));
        let _ = self.stdin.flush();
        let _ = self.child.wait();
    }
}

/// The peer as a run sees it: a process while it answers, the first failure once it does not. Every call goes
/// through [`Session::call`], so a peer that fails mid-run stops being asked and the run goes on without it.
pub struct Session {
    process: Option<Process>,
    asked: bool,
    failure: Option<String>,
    jax: String,
}

impl Session {
    /// No peer (`--no-peer`).
    pub fn none() -> Self {
        Self {
            process: None,
            asked: false,
            failure: None,
            jax: String::new(),
        }
    }

    /// Starts the peer; a failure to start is recorded, not returned.
    pub fn start() -> Self {
        match Process::start() {
            Ok(p) => Self {
                jax: p.jax.clone(),
                process: Some(p),
                asked: true,
                failure: None,
            },
            Err(reason) => Self {
                process: None,
                asked: true,
                failure: Some(reason),
                jax: String::new(),
            },
        }
    }

    /// Whether the peer is up.
    pub fn active(&self) -> bool {
        self.process.is_some()
    }

    /// Runs `f` on the peer if it is up; on failure records why, stops the peer and returns None.
    pub fn call<R>(&mut self, f: impl FnOnce(&mut Process) -> PeerResult<R>) -> Option<R> {
        let p = self.process.as_mut()?;
        match f(p) {
            Ok(r) => Some(r),
            Err(reason) => {
                self.failure = Some(reason);
                self.process = None;
                None
            }
        }
    }

    /// What the report says of the peer.
    pub fn status(&self) -> Peer {
        match (&self.failure, self.asked) {
            (Some(reason), _) => Peer::Failed {
                reason: reason.clone(),
            },
            (None, true) => Peer::Ran {
                jax: self.jax.clone(),
            },
            (None, false) => Peer::NotRun,
        }
    }
}

/// The key of an estimator's twin in one float type (and shape, for the scaling sweep).
pub fn key(float: &str, id: EstimatorId, shape: &str) -> String {
    format!("{float}:{}:{shape}", id.key())
}
