//! The MNIST loader: splits and scaling on synthetic IDX files, every error case, the embedded subset.

use std::path::{Path, PathBuf};

use dualprop::experiments::data::idx::{encode_images, encode_labels, gzip, IdxImages};
use dualprop::experiments::data::mnist::FILES;
use dualprop::experiments::data::{synthetic, DataSource, CLASSES};
use dualprop::Error;

fn temp_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("dualprop-data-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn load(dir: &Path) -> dualprop::Result<dualprop::experiments::data::Mnist> {
    DataSource::Dir(dir.to_path_buf()).load()
}

fn format_error(dir: &Path) -> String {
    match load(dir) {
        Err(Error::Format(msg)) => msg,
        other => panic!("expected a format error, got {other:?}"),
    }
}

#[test]
fn splits_scaling_and_one_hot_from_gzip_and_raw_files() {
    for gz in [true, false] {
        let dir = temp_dir(&format!("ok-{gz}"));
        synthetic::write_dir(&dir, 50, 20, 6, gz).unwrap();
        let m = load(&dir).unwrap();
        // The last 10% of the training file is the validation split.
        assert_eq!(
            (m.train.len(), m.validation.len(), m.test.len()),
            (45, 5, 20)
        );
        assert_eq!(m.train.dim, 36);
        let (images, labels) = synthetic::examples(50, 6, 1);
        assert_eq!(m.validation.labels, labels[45..]);
        assert_eq!(
            m.train.x[36 * 3 + 7],
            images.pixels[36 * 3 + 7] as f32 / 255.0
        );
        assert!(m.train.x.iter().all(|&v| (0.0..=1.0).contains(&v)));
        let (mut x, mut y) = (Vec::<f64>::new(), Vec::<f64>::new());
        m.train.batch(&[3, 0], &mut x, &mut y);
        assert_eq!(x.len(), 2 * 36);
        assert_eq!(y.len(), 2 * CLASSES);
        assert_eq!(y[3], 1.0);
        assert_eq!(y.iter().sum::<f64>(), 2.0);
        assert_eq!(y[CLASSES], 1.0); // example 0 has label 0
    }
}

#[test]
fn gzip_is_detected_by_magic_bytes_not_by_name() {
    let dir = temp_dir("gz-named-raw");
    synthetic::write_dir(&dir, 20, 10, 4, false).unwrap();
    // A raw file named .gz and a gzipped file without the suffix both load.
    let p = dir.join(FILES[0]);
    std::fs::rename(&p, dir.join(format!("{}.gz", FILES[0]))).unwrap();
    let q = dir.join(FILES[3]);
    let raw = std::fs::read(&q).unwrap();
    std::fs::write(&q, gzip(&raw).unwrap()).unwrap();
    assert_eq!(load(&dir).unwrap().test.len(), 10);
}

#[test]
fn missing_directory_and_missing_file() {
    let dir = temp_dir("missing");
    match DataSource::Dir(dir.join("nope")).load() {
        Err(Error::Io { reason, .. }) => assert!(reason.contains("not a directory")),
        other => panic!("{other:?}"),
    }
    synthetic::write_dir(&dir, 20, 10, 4, true).unwrap();
    std::fs::remove_file(dir.join(format!("{}.gz", FILES[2]))).unwrap();
    match load(&dir) {
        Err(Error::Io { path, reason }) => {
            assert!(path.contains(FILES[2]), "{path}");
            assert!(reason.contains("missing"), "{reason}");
        }
        other => panic!("{other:?}"),
    }
}

fn write_raw(dir: &Path, index: usize, bytes: &[u8]) {
    let _ = std::fs::remove_file(dir.join(format!("{}.gz", FILES[index])));
    std::fs::write(dir.join(FILES[index]), bytes).unwrap();
}

#[test]
fn wrong_magic_numbers() {
    let dir = temp_dir("magic");
    synthetic::write_dir(&dir, 20, 10, 4, true).unwrap();
    let (images, labels) = synthetic::examples(20, 4, 1);
    // A label file where images belong, and an image file where labels belong.
    write_raw(&dir, 0, &encode_labels(&labels));
    assert!(format_error(&dir).contains("magic number 2049"));
    write_raw(&dir, 0, &encode_images(&images));
    write_raw(&dir, 1, &encode_images(&images));
    assert!(format_error(&dir).contains("expected 2049"));
}

#[test]
fn truncated_files() {
    let dir = temp_dir("truncated");
    synthetic::write_dir(&dir, 20, 10, 4, false).unwrap();
    let (images, labels) = synthetic::examples(20, 4, 1);
    let full = encode_images(&images);
    write_raw(&dir, 0, &full[..full.len() - 5]);
    let msg = format_error(&dir);
    assert!(msg.contains("truncated") && msg.contains("315"), "{msg}");
    write_raw(&dir, 0, &full[..10]);
    assert!(format_error(&dir).contains("truncated header"));
    write_raw(&dir, 0, &full);
    let lab = encode_labels(&labels);
    write_raw(&dir, 1, &lab[..lab.len() - 1]);
    assert!(format_error(&dir).contains("truncated"));
    // A cut gzip stream.
    let gz = gzip(&lab).unwrap();
    write_raw(&dir, 1, &gz[..gz.len() / 2]);
    assert!(format_error(&dir).contains("gzip"));
}

#[test]
fn mismatched_counts_dimensions_and_labels() {
    let dir = temp_dir("mismatch");
    synthetic::write_dir(&dir, 20, 10, 4, false).unwrap();
    let (_, labels) = synthetic::examples(20, 4, 1);
    write_raw(&dir, 1, &encode_labels(&labels[..19]));
    assert!(format_error(&dir).contains("20 images but 19 labels"));
    let mut bad = labels.clone();
    bad[7] = 10;
    write_raw(&dir, 1, &encode_labels(&bad));
    assert!(format_error(&dir).contains("label 10 at index 7"));
    write_raw(&dir, 1, &encode_labels(&labels));
    let (test5, _) = synthetic::examples(10, 5, 2);
    write_raw(&dir, 2, &encode_images(&test5));
    assert!(format_error(&dir).contains("4x4 but test images are 5x5"));
    let empty = IdxImages {
        count: 0,
        rows: 4,
        cols: 4,
        pixels: vec![],
    };
    write_raw(&dir, 2, &encode_images(&empty));
    write_raw(&dir, 3, &encode_labels(&[]));
    assert!(format_error(&dir).contains("test set is empty"));
}

#[test]
fn embedded_subset_is_balanced_and_split() {
    let m = DataSource::Embedded.load().unwrap();
    assert_eq!(
        (m.train.len(), m.validation.len(), m.test.len()),
        (1800, 200, 500)
    );
    assert_eq!(m.train.dim, 784);
    for (split, per_class) in [(&m.train, 180), (&m.validation, 20), (&m.test, 50)] {
        let mut counts = [0; CLASSES];
        split.labels.iter().for_each(|&l| counts[l as usize] += 1);
        assert_eq!(counts, [per_class; CLASSES]);
    }
}

#[test]
fn data_flag_takes_precedence_over_the_environment() {
    let dir = PathBuf::from("/some/dir");
    assert_eq!(DataSource::resolve(Some(&dir)), DataSource::Dir(dir));
}

/// Regenerates data/mnist-subset from the full MNIST in $DUALPROP_MNIST and compares byte for byte.
/// Run with `DUALPROP_MNIST=DIR cargo test --test experiments_data -- --ignored`.
#[test]
#[ignore = "needs the full MNIST in $DUALPROP_MNIST"]
fn embedded_subset_regenerates_byte_for_byte() {
    let full = PathBuf::from(
        std::env::var("DUALPROP_MNIST").expect("set DUALPROP_MNIST to the full MNIST directory"),
    );
    let committed = Path::new(env!("CARGO_MANIFEST_DIR")).join("data/mnist-subset");
    for (name, bytes) in dualprop::experiments::data::subset::cut_from_dir(&full).unwrap() {
        let want = std::fs::read(committed.join(&name)).unwrap();
        assert!(bytes == want, "{name} differs from the committed file");
    }
}
