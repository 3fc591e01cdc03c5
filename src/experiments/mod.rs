//! The paper's experiments: MNIST data, training runs with any estimator, alignment with back-propagation,
//! sweeps (Table 1), tables and figures. Training runs on the fast kernels; the reference is the judge.

pub mod checkpoint;
pub mod data;
pub mod engine;
pub mod engine_select;
pub mod figures;
pub mod gather;
pub mod metrics;
pub mod plan;
pub mod progress;
pub mod report;
pub mod spec;
pub mod sweep;
pub mod table;
pub mod train;
