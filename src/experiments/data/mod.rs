//! MNIST: the IDX reader, the splits the experiments use, and the embedded class-balanced subset.

pub mod embedded;
pub mod idx;
pub mod mnist;
pub mod subset;
pub mod synthetic;

pub use mnist::{DataSource, Mnist, Split, CLASSES, DATA_ENV};
