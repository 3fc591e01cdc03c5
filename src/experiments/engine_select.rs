//! Builds the engine a run asks for, for the float types the experiments run in (f32 and f64).

use crate::error::Result;
use crate::experiments::checkpoint::CheckpointFloat;
use crate::experiments::engine::{Engine, KernelEngine, ReferenceEngine};
use crate::experiments::spec::EngineKind;
use crate::kernels::KernelFloat;
use crate::reference::{AdamConfig, AdamState, Estimator, Network};

/// A float type with both a reference and a kernel engine and a checkpoint format.
pub trait EngineFloat: CheckpointFloat + KernelFloat {
    fn make_engine(
        kind: EngineKind,
        net: Network<Self>,
        estimator: Estimator,
        adam_cfg: AdamConfig,
        adam: AdamState<Self>,
        max_batch: usize,
    ) -> Result<Box<dyn Engine<Self>>> {
        Ok(match kind {
            EngineKind::Reference => {
                Box::new(ReferenceEngine::new(net, estimator, adam_cfg, adam)?)
            }
            EngineKind::Kernels => Box::new(KernelEngine::new(
                net, estimator, adam_cfg, adam, max_batch,
            )?),
        })
    }
}

impl<T: CheckpointFloat + KernelFloat> EngineFloat for T {}
