//! CIFAR-10, binary version: reader, normalisation and the standard training augmentation.
//!
//! A batch file is a sequence of 3073-byte records: the label (0..=9), then 3072 pixels as
//! three 32×32 row-major planes R, G, B.

use rand::Rng;
use std::path::{Path, PathBuf};

/// Side of an image.
pub const SIDE: usize = 32;
/// Bytes of one image: 3 planes of 32×32.
pub const PIXELS: usize = 3 * SIDE * SIDE;
/// Bytes of one record: the label, then the image.
pub const RECORD: usize = 1 + PIXELS;
/// The training batch files.
pub const TRAIN_FILES: [&str; 5] = [
    "data_batch_1.bin",
    "data_batch_2.bin",
    "data_batch_3.bin",
    "data_batch_4.bin",
    "data_batch_5.bin",
];
/// The test batch file.
pub const TEST_FILE: &str = "test_batch.bin";
/// The directory of the batch files inside the cifar-10-binary.tar.gz archive.
pub const ARCHIVE_DIR: &str = "cifar-10-batches-bin";
/// Per-channel mean and standard deviation of the training pixels in [0, 1].
pub const MEAN: [f32; 3] = [0.4914, 0.4822, 0.4465];
pub const STD: [f32; 3] = [0.2023, 0.1994, 0.2010];
/// Zero padding on each side before the random 32×32 crop.
const PAD: usize = 4;

#[derive(Debug, thiserror::Error)]
pub enum CifarError {
    #[error("{file}: missing")]
    Missing { file: String },
    #[error("{file}: cannot read: {source}")]
    Io {
        file: String,
        source: std::io::Error,
    },
    #[error("{file}: {len} bytes is not a positive multiple of the {RECORD}-byte record")]
    Length { file: String, len: usize },
    #[error(
        "{dir}: {found} {split} images, fewer than the {needed} asked for (`n_samples`/`n_test`)"
    )]
    TooFew {
        dir: String,
        split: &'static str,
        found: usize,
        needed: usize,
    },
    #[error("{file}: record {index} has label {label}, not a class 0..=9")]
    Label {
        file: String,
        index: usize,
        label: u8,
    },
}

/// Images [n, 3, 32, 32] and labels [n] of the training and the test split.
#[derive(Clone, Debug, PartialEq)]
pub struct Cifar10 {
    pub train_images: Vec<u8>,
    pub train_labels: Vec<u8>,
    pub test_images: Vec<u8>,
    pub test_labels: Vec<u8>,
}

impl Cifar10 {
    /// Reads the first `n_train` images of the five training batches (in order) and the
    /// first `n_test` of the test batch from [`batches_dir`]`(dir)`; fewer images than asked
    /// for is an error. Only the records needed are read.
    pub fn load(dir: &Path, n_train: usize, n_test: usize) -> Result<Self, CifarError> {
        let dir = batches_dir(dir);
        let (mut train_images, mut train_labels) = (Vec::new(), Vec::new());
        for name in TRAIN_FILES {
            if train_labels.len() == n_train {
                break;
            }
            let (images, labels) = read_batch(&dir.join(name), n_train - train_labels.len())?;
            train_images.extend(images);
            train_labels.extend(labels);
        }
        let (test_images, test_labels) = read_batch(&dir.join(TEST_FILE), n_test)?;
        for (split, found, needed) in [
            ("training", train_labels.len(), n_train),
            ("test", test_labels.len(), n_test),
        ] {
            if found < needed {
                return Err(CifarError::TooFew {
                    dir: dir.display().to_string(),
                    split,
                    found,
                    needed,
                });
            }
        }
        Ok(Self {
            train_images,
            train_labels,
            test_images,
            test_labels,
        })
    }

    pub fn n_train(&self) -> usize {
        self.train_labels.len()
    }

    pub fn n_test(&self) -> usize {
        self.test_labels.len()
    }
}

/// `dir/cifar-10-batches-bin` when `dir` has no test batch but that subdirectory exists
/// (the unpacked archive), else `dir`.
pub fn batches_dir(dir: &Path) -> PathBuf {
    let sub = dir.join(ARCHIVE_DIR);
    if !dir.join(TEST_FILE).exists() && sub.is_dir() {
        sub
    } else {
        dir.to_path_buf()
    }
}

/// The images [n, 3, 32, 32] and labels [n] of the first n = min(`limit`, records) records
/// of one batch file; the file's length is checked first and only those records are read.
pub fn read_batch(path: &Path, limit: usize) -> Result<(Vec<u8>, Vec<u8>), CifarError> {
    use std::io::Read;
    let file = path.display().to_string();
    let io = |source: std::io::Error| match source.kind() {
        std::io::ErrorKind::NotFound => CifarError::Missing { file: file.clone() },
        _ => CifarError::Io {
            file: file.clone(),
            source,
        },
    };
    let handle = std::fs::File::open(path).map_err(io)?;
    let len = handle.metadata().map_err(io)?.len() as usize;
    if len == 0 || !len.is_multiple_of(RECORD) {
        return Err(CifarError::Length { file, len });
    }
    let n = limit.min(len / RECORD);
    if n == 0 {
        return Ok((Vec::new(), Vec::new()));
    }
    let mut bytes = Vec::with_capacity(n * RECORD);
    handle
        .take((n * RECORD) as u64)
        .read_to_end(&mut bytes)
        .map_err(io)?;
    if bytes.len() != n * RECORD {
        return Err(CifarError::Length {
            file,
            len: bytes.len(),
        });
    }
    parse_records(&bytes, &file)
}

/// The images [n, 3, 32, 32] and labels [n] of whole records; `file` names them in errors.
pub fn parse_records(bytes: &[u8], file: &str) -> Result<(Vec<u8>, Vec<u8>), CifarError> {
    if bytes.is_empty() || !bytes.len().is_multiple_of(RECORD) {
        return Err(CifarError::Length {
            file: file.into(),
            len: bytes.len(),
        });
    }
    let n = bytes.len() / RECORD;
    let (mut images, mut labels) = (Vec::with_capacity(n * PIXELS), Vec::with_capacity(n));
    for (index, record) in bytes.chunks_exact(RECORD).enumerate() {
        if record[0] > 9 {
            return Err(CifarError::Label {
                file: file.into(),
                index,
                label: record[0],
            });
        }
        labels.push(record[0]);
        images.extend_from_slice(&record[1..]);
    }
    Ok((images, labels))
}

/// The batch file bytes of images [n, 3, 32, 32] and labels [n]: the inverse of [`read_batch`].
pub fn encode_records(images: &[u8], labels: &[u8]) -> Vec<u8> {
    assert_eq!(
        images.len(),
        labels.len() * PIXELS,
        "images are not [n, 3, 32, 32]"
    );
    labels
        .iter()
        .zip(images.chunks_exact(PIXELS))
        .flat_map(|(&label, image)| std::iter::once(label).chain(image.iter().copied()))
        .collect()
}

/// (x/255 − MEAN_c)/STD_c for every pixel x of channel c of images [n, 3, 32, 32].
pub fn normalise(images: &[u8]) -> Vec<f32> {
    images
        .iter()
        .enumerate()
        .map(|(i, &x)| {
            let c = (i / (SIDE * SIDE)) % 3;
            (x as f32 / 255.0 - MEAN[c]) / STD[c]
        })
        .collect()
}

/// A random 32×32 crop of a normalised image [3, 32, 32] zero-padded by 4 on each side (offsets
/// uniform in 0..=8), then a horizontal flip with probability ½. The padding is 0 in
/// normalised space, i.e. the channel mean (torchvision pads the raw image with black).
pub fn augment(image: &[f32], rng: &mut impl Rng) -> Vec<f32> {
    assert_eq!(image.len(), PIXELS, "image is not [3, 32, 32]");
    let dy = rng.random_range(0..=2 * PAD);
    let dx = rng.random_range(0..=2 * PAD);
    let flip = rng.random_bool(0.5);
    shift_flip(image, SIDE, dy, dx, flip)
}

/// out[c, i, j] = padded[c, i + dy, j' + dx] with j' = side − 1 − j if `flip` else j, where
/// padded is the side×side image [c, side, side] with PAD zeros around it.
fn shift_flip(image: &[f32], side: usize, dy: usize, dx: usize, flip: bool) -> Vec<f32> {
    let plane = side * side;
    let mut out = vec![0f32; image.len()];
    for (src, dst) in image.chunks_exact(plane).zip(out.chunks_exact_mut(plane)) {
        for i in 0..side {
            let Some(r) = (i + dy).checked_sub(PAD).filter(|&r| r < side) else {
                continue;
            };
            for j in 0..side {
                let jj = if flip { side - 1 - j } else { j };
                if let Some(c) = (jj + dx).checked_sub(PAD).filter(|&c| c < side) {
                    dst[i * side + j] = src[r * side + c];
                }
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A fresh empty directory under the system's temporary directory.
    fn temp_dir(tag: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("cifar-{tag}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        dir
    }

    /// n images whose pixels are (seed + 7i) mod 256, and labels (seed + i) mod 10.
    fn fake(n: usize, seed: usize) -> (Vec<u8>, Vec<u8>) {
        let images = (0..n * PIXELS)
            .map(|i| ((seed + 7 * i) % 256) as u8)
            .collect();
        let labels = (0..n).map(|i| ((seed + i) % 10) as u8).collect();
        (images, labels)
    }

    fn write_all(dir: &Path, train: &[(Vec<u8>, Vec<u8>)], test: &(Vec<u8>, Vec<u8>)) {
        std::fs::create_dir_all(dir).unwrap();
        for (name, (images, labels)) in TRAIN_FILES.iter().zip(train) {
            std::fs::write(dir.join(name), encode_records(images, labels)).unwrap();
        }
        std::fs::write(dir.join(TEST_FILE), encode_records(&test.0, &test.1)).unwrap();
    }

    #[test]
    fn round_trips_records_and_loads_both_layouts() {
        let dir = temp_dir("load");
        let train: Vec<_> = (0..5).map(|b| fake(b + 1, b)).collect();
        let test = fake(3, 9);
        write_all(&dir, &train, &test);
        assert_eq!(read_batch(&dir.join(TEST_FILE), 100).unwrap(), test);
        let (first, labels) = read_batch(&dir.join(TEST_FILE), 2).unwrap();
        assert_eq!(
            (&first[..], &labels[..]),
            (&test.0[..2 * PIXELS], &test.1[..2])
        );
        // Records past the limit are never read: a bad label there goes unseen.
        let mut bad_tail = test.1.clone();
        bad_tail[2] = 200;
        let path = dir.join("tail.bin");
        std::fs::write(&path, encode_records(&test.0, &bad_tail)).unwrap();
        assert_eq!(read_batch(&path, 2).unwrap().1, test.1[..2]);
        assert!(read_batch(&path, 3).is_err());

        let data = Cifar10::load(&dir, 15, 3).unwrap();
        assert_eq!((data.n_train(), data.n_test()), (15, 3));
        assert_eq!(data.train_images.len(), 15 * PIXELS);
        assert_eq!(data.train_images[..PIXELS], train[0].0[..]);
        assert_eq!(data.train_labels[1..3], train[1].1[..]);
        assert_eq!((data.test_images, data.test_labels), test);

        let parent = temp_dir("load-sub");
        write_all(&parent.join(ARCHIVE_DIR), &train, &test);
        assert_eq!(batches_dir(&parent), parent.join(ARCHIVE_DIR));
        assert_eq!(Cifar10::load(&parent, 15, 3).unwrap().n_train(), 15);
        // The first 4 training images: all of batch 1, 2 and one of batch 3; nothing more.
        let few = Cifar10::load(&parent, 4, 1).unwrap();
        assert_eq!(
            few.train_labels,
            [&train[0].1[..], &train[1].1[..], &train[2].1[..1]].concat()
        );
        assert_eq!(few.test_labels, test.1[..1]);
        // Fewer images than asked for is an error naming the split.
        let err = Cifar10::load(&parent, 16, 3).unwrap_err().to_string();
        assert!(
            err.contains("15 training images, fewer than the 16"),
            "{err}"
        );
        let err = Cifar10::load(&parent, 15, 4).unwrap_err().to_string();
        assert!(err.contains("3 test images"), "{err}");
        std::fs::remove_dir_all(dir).unwrap();
        std::fs::remove_dir_all(parent).unwrap();
    }

    #[test]
    fn rejects_bad_batches() {
        let dir = temp_dir("bad");
        let (images, mut labels) = fake(3, 0);
        let path = dir.join("b.bin");

        let mut bytes = encode_records(&images, &labels);
        bytes.pop();
        std::fs::write(&path, &bytes).unwrap();
        let err = read_batch(&path, 10).unwrap_err();
        assert!(matches!(err, CifarError::Length { len, .. } if len == 3 * RECORD - 1));
        assert!(err.to_string().contains("b.bin: 9218 bytes"));
        std::fs::write(&path, []).unwrap();
        assert!(matches!(
            read_batch(&path, 10),
            Err(CifarError::Length { len: 0, .. })
        ));

        labels[2] = 11;
        std::fs::write(&path, encode_records(&images, &labels)).unwrap();
        let err = read_batch(&path, 10).unwrap_err();
        assert!(matches!(
            err,
            CifarError::Label {
                index: 2,
                label: 11,
                ..
            }
        ));
        assert!(err.to_string().contains("b.bin: record 2"));

        let train: Vec<_> = (0..5).map(|b| fake(1, b)).collect();
        write_all(&dir, &train, &fake(1, 0));
        std::fs::remove_file(dir.join("data_batch_4.bin")).unwrap();
        let err = Cifar10::load(&dir, 5, 1).unwrap_err();
        assert!(matches!(err, CifarError::Missing { .. }));
        assert!(err.to_string().contains("data_batch_4.bin: missing"));
        std::fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn normalises_per_channel() {
        let mut images = vec![0u8; PIXELS];
        images[0] = 255;
        images[SIDE * SIDE] = 51; // first pixel of G
        images[PIXELS - 1] = 0; // last pixel of B
        let x = normalise(&images);
        assert_eq!(x.len(), PIXELS);
        assert!((x[0] - (1.0 - 0.4914) / 0.2023).abs() < 1e-6);
        assert!((x[1] - (-0.4914 / 0.2023)).abs() < 1e-6);
        assert!((x[SIDE * SIDE] - (0.2 - 0.4822) / 0.1994).abs() < 1e-6);
        assert!((x[PIXELS - 1] - (-0.4465 / 0.2010)).abs() < 1e-6);
    }

    #[test]
    fn shift_and_flip_by_hand() {
        // One 2×2 plane [[1, 2], [3, 4]] on the 10×10 padded canvas.
        let image = [1.0, 2.0, 3.0, 4.0];
        assert_eq!(shift_flip(&image, 2, 4, 4, false), image);
        assert_eq!(shift_flip(&image, 2, 4, 4, true), [2.0, 1.0, 4.0, 3.0]);
        // Crop from row 4, column 5: out[i, j] = x[i, j + 1].
        assert_eq!(shift_flip(&image, 2, 4, 5, false), [2.0, 0.0, 4.0, 0.0]);
        assert_eq!(shift_flip(&image, 2, 4, 5, true), [0.0, 2.0, 0.0, 4.0]);
        // Crop from row 3, column 4: out[i, j] = x[i − 1, j].
        assert_eq!(shift_flip(&image, 2, 3, 4, false), [0.0, 0.0, 1.0, 2.0]);
        assert_eq!(shift_flip(&image, 2, 0, 0, false), [0.0; 4]);
    }

    #[test]
    fn augment_is_a_random_crop_and_flip() {
        // Pixel (c, r, col) holds 1 + its index, so every output reveals its source.
        let image: Vec<f32> = (0..PIXELS).map(|i| 1.0 + i as f32).collect();
        let mut rng = crate::model::init::rng(0, 0);
        let mut seen = std::collections::HashSet::new();
        for _ in 0..2000 {
            let out = augment(&image, &mut rng);
            assert_eq!(out.len(), PIXELS);
            let matches: Vec<_> = (0..=8)
                .flat_map(|dy| (0..=8).flat_map(move |dx| [(dy, dx, false), (dy, dx, true)]))
                .filter(|&(dy, dx, flip)| shift_flip(&image, SIDE, dy, dx, flip) == out)
                .collect();
            assert_eq!(
                matches.len(),
                1,
                "exactly one crop and flip explain the output"
            );
            seen.insert(matches[0]);
        }
        assert_eq!(seen.len(), 162, "every offset pair and both flips occur");
    }

    #[test]
    fn loads_real_cifar10_test_images() {
        let Some(dir) = crate::testing::test_data_dir(
            "RESNET_SCALING_CIFAR_PNG_DIR",
            "the foolbox 3.3.4 wheel's CIFAR-10 PNGs (foolbox/data/cifar10_00_3.png ...)",
        ) else {
            return;
        };
        // cifar10_{index}_{label}.png: the first 20 images of the CIFAR-10 test set.
        let mut named: Vec<(usize, u8, PathBuf)> = std::fs::read_dir(&dir)
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter_map(|path| {
                let stem = path
                    .file_stem()?
                    .to_str()?
                    .strip_prefix("cifar10_")?
                    .to_string();
                let (index, label) = stem.split_once('_')?;
                Some((index.parse().ok()?, label.parse().ok()?, path))
            })
            .collect();
        named.sort();
        assert_eq!(
            named.len(),
            20,
            "{}: expected 20 cifar10_*.png files",
            dir.display()
        );
        assert!(named.iter().enumerate().all(|(i, n)| n.0 == i));
        let labels: Vec<u8> = named.iter().map(|n| n.1).collect();
        assert_eq!(
            labels,
            [3, 8, 8, 0, 6, 6, 1, 6, 3, 1, 0, 9, 5, 7, 9, 8, 5, 7, 8, 6]
        );
        let images: Vec<u8> = named.iter().flat_map(|n| decode_png_chw(&n.2)).collect();
        assert_eq!(images.len(), 20 * PIXELS);

        let root = temp_dir("png");
        let batches = root.join(ARCHIVE_DIR);
        std::fs::create_dir_all(&batches).unwrap();
        for (b, name) in TRAIN_FILES.iter().enumerate() {
            let bytes = encode_records(
                &images[4 * b * PIXELS..4 * (b + 1) * PIXELS],
                &labels[4 * b..4 * (b + 1)],
            );
            std::fs::write(batches.join(name), bytes).unwrap();
        }
        std::fs::write(batches.join(TEST_FILE), encode_records(&images, &labels)).unwrap();
        let data = Cifar10::load(&root, 20, 20).unwrap();
        assert_eq!((data.n_train(), data.n_test()), (20, 20));
        assert_eq!(data.train_labels, labels);
        assert_eq!(data.test_labels, labels);
        assert_eq!(data.train_images, images);
        assert_eq!(data.test_images, images);
        // Real photographs: every channel of every image varies.
        assert!(data
            .test_images
            .chunks(SIDE * SIDE)
            .all(|plane| plane.iter().min() < plane.iter().max()));
        std::fs::remove_dir_all(root).unwrap();
    }

    /// The [3, 32, 32] planes of a 32×32 RGB or RGBA PNG.
    fn decode_png_chw(path: &Path) -> Vec<u8> {
        let file = std::fs::File::open(path).unwrap();
        let mut reader = png::Decoder::new(file).read_info().unwrap();
        let mut buf = vec![0; reader.output_buffer_size()];
        let info = reader.next_frame(&mut buf).unwrap();
        assert_eq!((info.width, info.height), (32, 32), "{}", path.display());
        assert_eq!(info.bit_depth, png::BitDepth::Eight);
        let channels = match info.color_type {
            png::ColorType::Rgb => 3,
            png::ColorType::Rgba => 4,
            other => panic!("{}: colour type {other:?}", path.display()),
        };
        let hwc = &buf[..info.buffer_size()];
        (0..3)
            .flat_map(|c| (0..SIDE * SIDE).map(move |p| hwc[p * channels + c]))
            .collect()
    }
}
