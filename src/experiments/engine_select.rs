//! Builds the engine a run asks for, for the float types the experiments run in.

use crate::error::{Error, Result};
use crate::experiments::checkpoint::CheckpointFloat;
use crate::experiments::engine::{Engine, ReferenceEngine};
use crate::experiments::spec::EngineKind;
use crate::reference::{AdamConfig, AdamState, Estimator, Network};

/// A float type with both a reference and a kernel engine.
pub trait EngineFloat: CheckpointFloat {
    fn make_engine(
        kind: EngineKind,
        net: Network<Self>,
        estimator: Estimator,
        adam_cfg: AdamConfig,
        adam: AdamState<Self>,
        max_batch: usize,
    ) -> Result<Box<dyn Engine<Self>>>;
}

macro_rules! engine_float {
    ($t:ty) => {
        impl EngineFloat for $t {
            fn make_engine(
                kind: EngineKind,
                net: Network<Self>,
                estimator: Estimator,
                adam_cfg: AdamConfig,
                adam: AdamState<Self>,
                _max_batch: usize,
            ) -> Result<Box<dyn Engine<Self>>> {
                match kind {
                    EngineKind::Reference => Ok(Box::new(ReferenceEngine::new(
                        net, estimator, adam_cfg, adam,
                    )?)),
                    EngineKind::Kernels => Err(Error::Unsupported(
                        "the kernel engine is not available in this build; use --engine reference"
                            .into(),
                    )),
                }
            }
        }
    };
}

engine_float!(f32);
engine_float!(f64);
