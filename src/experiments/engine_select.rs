//! Builds the engine a run asks for, for the float types the experiments run in (the kernels' f32 and f64).

use crate::error::Result;
use crate::experiments::engine::{Engine, KernelEngine, ReferenceEngine};
use crate::experiments::spec::EngineKind;
use crate::kernels::KernelFloat;
use crate::reference::{AdamConfig, AdamState, Estimator, Network};

/// The engine of kind `kind` for a network, an estimator and an Adam state.
pub fn make_engine<T: KernelFloat>(
    kind: EngineKind,
    net: Network<T>,
    estimator: Estimator,
    adam_cfg: AdamConfig,
    adam: AdamState<T>,
    max_batch: usize,
) -> Result<Box<dyn Engine<T>>> {
    Ok(match kind {
        EngineKind::Reference => Box::new(ReferenceEngine::new(net, estimator, adam_cfg, adam)?),
        EngineKind::Kernels => Box::new(KernelEngine::new(
            net, estimator, adam_cfg, adam, max_batch,
        )?),
    })
}

/// Transitional name for [`KernelFloat`] while `experiments/train.rs` still says `T: EngineFloat` and
/// `T::make_engine(..)`: replace those by `T: KernelFloat` and [`make_engine`]`::<T>(..)`, then delete this.
pub trait EngineFloat: KernelFloat {
    /// [`make_engine`].
    fn make_engine(
        kind: EngineKind,
        net: Network<Self>,
        estimator: Estimator,
        adam_cfg: AdamConfig,
        adam: AdamState<Self>,
        max_batch: usize,
    ) -> Result<Box<dyn Engine<Self>>> {
        make_engine(kind, net, estimator, adam_cfg, adam, max_batch)
    }
}

impl<T: KernelFloat> EngineFloat for T {}
