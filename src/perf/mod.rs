//! The benchmark engine behind `dualprop perf`: measures the kernels on the paper's network
//! (784-1000-1000-1000-1000-10, batch 100) in f32 and f64 against faer's own matrix multiply (the roofline), the
//! reference and a JAX peer, judges the targets, and reports as Markdown and JSON.
//!
//! One job per module: [`workload`] (the network, batches and estimators measured), [`roofline`] (faer's
//! products alone), [`measurement`] (round-robin timing), [`probe`] (peak memory in a separate process),
//! [`peer`] (the interleaved JAX process), [`profile`] (a step's phases), [`targets`] (the table of targets), [`report`] (the serde report, JSON) and
//! the Markdown rendering; [`scaling`] sweeps widths and batches (opt-in). The criterion benches (`benches/`) share [`workload`] and [`roofline`].

use std::collections::BTreeMap;
use std::time::Instant;

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::kernels::{KernelFloat, KernelOptions};

mod machine;
mod markdown;
pub mod measurement;
pub mod peer;
pub mod probe;
pub mod profile;
pub mod report;
pub mod roofline;
pub mod scaling;
pub mod targets;
pub mod workload;

#[cfg(test)]
mod tests;

pub use measurement::Mode;
pub use peer::Peer;
pub use probe::Launcher;
pub use report::Report;
pub use workload::{EstimatorId, PAPER_BATCH, PAPER_WIDTHS};

/// Repetitions and sizes of one run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Plan {
    /// How the run was started, as the report names it.
    pub command: String,
    /// Threads for faer's products and the Adam update.
    pub threads: usize,
    /// Untimed rounds before the timed ones.
    pub warmup: usize,
    /// Timed rounds (medians are taken over them).
    pub reps: usize,
    /// Batch at which the reference and the kernel are compared (the reference is slow).
    pub ref_batch: usize,
    /// Training steps of each memory probe.
    pub probe_steps: usize,
    /// Whether the JAX peer runs, interleaved with our rounds.
    pub peer: bool,
}

impl Plan {
    /// The full run that writes docs/performance.md.
    pub fn full(threads: usize) -> Self {
        Self {
            command: "cargo run --release -- perf".into(),
            threads,
            warmup: 2,
            reps: 10,
            ref_batch: 8,
            probe_steps: 3,
            peer: true,
        }
    }

    /// CI's smoke run: one round, a tiny reference batch, one probe step.
    pub fn quick(threads: usize) -> Self {
        Self {
            command: "dualprop perf --quick".into(),
            threads,
            warmup: 0,
            reps: 1,
            ref_batch: 1,
            probe_steps: 1,
            peer: true,
        }
    }

    /// The kernels' options of the default thread mode.
    pub fn options(&self) -> KernelOptions {
        KernelOptions {
            threads: self.threads,
            early_exit: true,
            ..KernelOptions::default()
        }
    }
}

/// Runs every measurement of `plan`: f32, then f64 (each with its memory probes, when `launcher` says how to
/// start one), then the peer. `stage` hears the name of each stage as it starts.
pub fn run(
    plan: &Plan,
    launcher: Option<&Launcher>,
    mut stage: impl FnMut(&str),
) -> Result<Report> {
    if plan.reps == 0 || plan.ref_batch == 0 {
        return Err(Error::Format(
            "a perf plan needs at least one timed round and a reference batch of at least one"
                .into(),
        ));
    }
    let started = Instant::now();
    let load_start = machine::load_average();
    let mut session = if plan.peer {
        stage("starting the JAX peer");
        peer::Session::start()
    } else {
        peer::Session::none()
    };
    let mut floats = BTreeMap::new();
    stage("f32");
    floats.insert(
        "f32".to_string(),
        measure::<f32>("f32", plan, launcher, &mut session)?,
    );
    stage("f64");
    floats.insert(
        "f64".to_string(),
        measure::<f64>("f64", plan, launcher, &mut session)?,
    );
    let peer = session.status();
    drop(session);
    let elapsed_s = started.elapsed().as_secs_f64();
    let (model, cpus) = machine::cpu();
    let machine = report::Machine {
        model,
        cpus,
        isa: machine::isa(),
        load_start,
        load_end: machine::load_average(),
    };
    let targets = targets::judge(&floats);
    Ok(Report {
        plan: plan.clone(),
        date: machine::date_utc(),
        elapsed_s,
        machine,
        widths: PAPER_WIDTHS.to_vec(),
        batch: PAPER_BATCH,
        backprop_macs: workload::backprop_macs(&PAPER_WIDTHS, PAPER_BATCH),
        floats,
        peer,
        targets,
    })
}

/// The timings of one float type, then its memory probes.
fn measure<T: KernelFloat>(
    float: &str,
    plan: &Plan,
    launcher: Option<&Launcher>,
    peer: &mut peer::Session,
) -> Result<report::FloatReport> {
    let mut r = measurement::measure::<T>(float, plan, peer)?;
    r.memory = probe::memory::<T>(float, launcher)?;
    Ok(r)
}
