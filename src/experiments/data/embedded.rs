//! The class-balanced MNIST subset compiled into the binary, so that the main job runs on a fresh clone.
//! Provenance and the command that regenerates it: docs/experiments.md and [`super::subset`].

/// (name, gzipped IDX bytes) in the order of [`super::mnist::FILES`].
pub const FILES: [(&str, &[u8]); 4] = [
    (
        "embedded train-images-idx3-ubyte.gz",
        include_bytes!("../../../data/mnist-subset/train-images-idx3-ubyte.gz"),
    ),
    (
        "embedded train-labels-idx1-ubyte.gz",
        include_bytes!("../../../data/mnist-subset/train-labels-idx1-ubyte.gz"),
    ),
    (
        "embedded t10k-images-idx3-ubyte.gz",
        include_bytes!("../../../data/mnist-subset/t10k-images-idx3-ubyte.gz"),
    ),
    (
        "embedded t10k-labels-idx1-ubyte.gz",
        include_bytes!("../../../data/mnist-subset/t10k-labels-idx1-ubyte.gz"),
    ),
];
