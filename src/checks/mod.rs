//! Checkers: they take states (ours or another implementation's) and say how well they meet the paper's conditions.

pub mod alignment;
pub mod dampened;
pub mod derivative;
pub mod equation;
pub mod fixed_point;
pub mod kkt;
pub mod lpom;
pub mod objective;
pub mod saddle;
pub mod stability;
pub mod tolerance;

pub use alignment::{alignment, LayerAlignment};
pub use equation::Equation;
pub use fixed_point::{fixed_point_residuals, fixed_point_residuals_of_state, LayerFixedPoint};
pub use kkt::{kkt_report, EquationResidual, KktReport, LayerKkt};
pub use objective::ObjectivePoint;
pub use saddle::{output_saddle, Saddle};
