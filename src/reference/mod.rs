//! The readable reference: generic over the float type, no tricks. Every other part of the crate is judged by it.

pub mod activation;
pub mod adam;
pub mod damping;
pub mod dual;
pub mod gradient;
pub mod inference;
pub mod loss;
pub mod matrix;
pub mod method;
pub mod network;
pub mod problem;
pub mod rules;
pub mod scalar;
pub mod state;
pub mod update;
pub mod widen;

pub use activation::Activation;
pub use adam::{train_step, AdamConfig, AdamState, Estimator, StepOutcome};
pub use damping::Damping;
pub use gradient::{backprop, dual_gradient, Gradients};
pub use inference::{infer, Inference, IterationRecord, Verdict};
pub use loss::Loss;
pub use matrix::Matrix;
pub use method::{Config, Method, OutputRule, Schedule};
pub use network::{Init, Layer, Network};
pub use problem::Problem;
pub use scalar::{FloatType, Scalar};
pub use state::DualState;
