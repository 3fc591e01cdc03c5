pub mod case;
pub mod config;
pub mod names;
pub mod tensors;
pub mod tolerance;
