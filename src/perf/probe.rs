//! Peak memory of a training step: a separate process (the binary, re-run) builds the network and one trainer,
//! trains a few steps and reports its peak resident set (VmHWM), so that nothing the parent allocated counts.

use std::collections::BTreeMap;
use std::path::PathBuf;

use crate::error::{Error, Result};
use crate::kernels::{KernelFloat, Trainer};
use crate::reference::scalar::FloatType;
use crate::reference::AdamConfig;
use crate::with_float;

use super::report::Memory;
use super::workload::{batch, paper_network, EstimatorId, PAPER_BATCH, PAPER_WIDTHS};
use super::Plan;

/// How to start a probe process: a program and the arguments that lead it to [`child`]; the probe's spec
/// ("f32:dp_plus_k1", float type and estimator key) is appended. It prints the peak in bytes on stdout.
#[derive(Debug, Clone)]
pub struct Launcher {
    /// The program (the `dualprop` binary).
    pub program: PathBuf,
    /// Its arguments before the spec.
    pub args: Vec<String>,
}

impl Launcher {
    /// The probe process's peak resident memory for one estimator, or None if it could not run.
    fn peak(&self, float: &str, id: EstimatorId) -> Option<u64> {
        let out = std::process::Command::new(&self.program)
            .args(&self.args)
            .arg(format!("{float}:{}", id.key()))
            .output()
            .ok()?;
        String::from_utf8_lossy(&out.stdout).trim().parse().ok()
    }
}

/// Peak memory of each estimator's training step in one float type: the probe's VmHWM (when `launcher` is
/// given) and the trainer's own buffers.
pub fn memory<T: KernelFloat>(
    float: &str,
    launcher: Option<&Launcher>,
) -> Result<BTreeMap<EstimatorId, Memory>> {
    let net = paper_network::<T>(&PAPER_WIDTHS, 0)?;
    let mut memory = BTreeMap::new();
    for id in EstimatorId::ALL {
        let trainer = Trainer::new(&net, id.estimator(), AdamConfig::default(), PAPER_BATCH)?;
        let peak_bytes = launcher.and_then(|l| l.peak(float, id));
        let trainer_bytes = trainer.total_bytes();
        memory.insert(
            id,
            Memory {
                peak_bytes,
                trainer_bytes,
            },
        );
    }
    Ok(memory)
}

/// The probe process's side: trains `plan.probe_steps` steps of the estimator named by `spec`
/// ("f32:dp_plus_k1") with the plan's options, and returns this process's peak resident memory in bytes
/// (0 if /proc/self/status cannot say).
pub fn child(spec: &str, plan: &Plan) -> Result<u64> {
    let bad = || Error::Format(format!("memory probe spec {spec:?}"));
    let (float, key) = spec.split_once(':').ok_or_else(bad)?;
    let id = EstimatorId::from_key(key).ok_or_else(bad)?;
    let float: FloatType = float.parse()?;
    with_float!(float, kernels T => train::<T>(id, plan))?;
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let kib = status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
        .unwrap_or(0);
    Ok(kib * 1024)
}

fn train<T: KernelFloat>(id: EstimatorId, plan: &Plan) -> Result<()> {
    let widths = PAPER_WIDTHS;
    let net = paper_network::<T>(&widths, 0)?;
    let (x, y) = batch::<T>(&widths, PAPER_BATCH, 1);
    let mut trainer = Trainer::new(&net, id.estimator(), AdamConfig::default(), PAPER_BATCH)?
        .with_options(id.options(plan.options()));
    for _ in 0..plan.probe_steps {
        trainer.step(&x, &y, PAPER_BATCH)?;
    }
    Ok(())
}
