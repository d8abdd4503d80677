//! Reader of the IDX format of the MNIST files, raw or gzip-compressed.
//!
//! An IDX file is the magic 00 00 08 n (unsigned bytes, n dimensions), then n big-endian u32
//! sizes, then the product of the sizes in bytes, row-major.

use flate2::read::GzDecoder;
use std::io::Read;
use std::path::{Path, PathBuf};

/// An array of unsigned bytes with its shape.
#[derive(Clone, Debug, PartialEq)]
pub struct Idx {
    pub dims: Vec<usize>,
    pub data: Vec<u8>,
}

#[derive(Debug, thiserror::Error)]
pub enum IdxError {
    #[error("{file}: cannot read: {source}")]
    Io {
        file: String,
        source: std::io::Error,
    },
    #[error("{file}: corrupt gzip data: {source}")]
    Gzip {
        file: String,
        source: std::io::Error,
    },
    #[error(
        "{file}: magic {found:02x?} is not an IDX file of unsigned bytes (00 00 08 n, n = 1..=4)"
    )]
    Magic { file: String, found: Vec<u8> },
    #[error("{file}: header of {expected} bytes, but the file has only {actual}")]
    Header {
        file: String,
        expected: usize,
        actual: usize,
    },
    #[error("{file}: dims {dims:?} need {expected} data bytes, the file has {actual}")]
    Length {
        file: String,
        dims: Vec<usize>,
        expected: u128,
        actual: usize,
    },
    #[error("{file}: decompresses to more than {} MiB, larger than any MNIST file", MAX_BYTES >> 20)]
    TooLarge { file: String },
    #[error("{dir}: neither {name} nor {name}.gz is there")]
    Missing { dir: String, name: String },
    #[error("{file}: dims {dims:?}, expected {expected}")]
    Shape {
        file: String,
        dims: Vec<usize>,
        expected: &'static str,
    },
    #[error("{file}: label {label} at index {index} is not a digit 0..=9")]
    Label {
        file: String,
        index: usize,
        label: u8,
    },
    #[error("{images} holds {n_images} images but {labels} holds {n_labels} labels")]
    Count {
        images: String,
        n_images: usize,
        labels: String,
        n_labels: usize,
    },
}

/// The largest IDX file read, decompressed (MNIST's largest is 47,040,016 bytes): a gzip
/// stream that inflates past it is refused before it fills the memory.
pub const MAX_BYTES: usize = 64 << 20;

/// Reads an IDX file, gunzipping it first when it starts with the gzip magic 1f 8b.
pub fn read_idx(path: &Path) -> Result<Idx, IdxError> {
    let file = path.display().to_string();
    let bytes = std::fs::read(path).map_err(|source| IdxError::Io {
        file: file.clone(),
        source,
    })?;
    parse_idx(&bytes, &file)
}

/// Parses the bytes of an IDX file (gzip-compressed when they start with 1f 8b); `name` names
/// the file in errors.
pub fn parse_idx(bytes: &[u8], name: &str) -> Result<Idx, IdxError> {
    if bytes.starts_with(&[0x1f, 0x8b]) {
        let mut raw = Vec::new();
        GzDecoder::new(bytes)
            .take(MAX_BYTES as u64 + 1)
            .read_to_end(&mut raw)
            .map_err(|source| IdxError::Gzip {
                file: name.to_string(),
                source,
            })?;
        if raw.len() > MAX_BYTES {
            return Err(IdxError::TooLarge {
                file: name.to_string(),
            });
        }
        return parse_raw(&raw, name);
    }
    parse_raw(bytes, name)
}

fn parse_raw(bytes: &[u8], name: &str) -> Result<Idx, IdxError> {
    let file = || name.to_string();
    let magic_ok = bytes.len() >= 4 && bytes[..3] == [0, 0, 8] && (1..=4).contains(&bytes[3]);
    if !magic_ok {
        return Err(IdxError::Magic {
            file: file(),
            found: bytes[..bytes.len().min(4)].to_vec(),
        });
    }
    let header = 4 + 4 * bytes[3] as usize;
    if bytes.len() < header {
        return Err(IdxError::Header {
            file: file(),
            expected: header,
            actual: bytes.len(),
        });
    }
    let dims: Vec<usize> = bytes[4..header]
        .chunks_exact(4)
        .map(|b| u32::from_be_bytes([b[0], b[1], b[2], b[3]]) as usize)
        .collect();
    let expected: u128 = dims.iter().map(|&d| d as u128).product();
    let data = &bytes[header..];
    if data.len() as u128 != expected {
        return Err(IdxError::Length {
            file: file(),
            dims,
            expected,
            actual: data.len(),
        });
    }
    Ok(Idx {
        dims,
        data: data.to_vec(),
    })
}

/// The training (60000 images) or the test (10000 images) split of MNIST.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Split {
    Train,
    Test,
}

impl Split {
    /// The name of the images file, without `.gz`.
    pub fn images_name(self) -> &'static str {
        match self {
            Split::Train => "train-images-idx3-ubyte",
            Split::Test => "t10k-images-idx3-ubyte",
        }
    }

    /// The name of the labels file, without `.gz`.
    pub fn labels_name(self) -> &'static str {
        match self {
            Split::Train => "train-labels-idx1-ubyte",
            Split::Test => "t10k-labels-idx1-ubyte",
        }
    }
}

/// The path of `dir/name`, or else of `dir/name.gz`, whichever exists.
pub fn find_mnist_file(dir: &Path, name: &str) -> Result<PathBuf, IdxError> {
    [name.to_string(), format!("{name}.gz")]
        .into_iter()
        .map(|n| dir.join(n))
        .find(|p| p.is_file())
        .ok_or_else(|| IdxError::Missing {
            dir: dir.display().to_string(),
            name: name.to_string(),
        })
}

/// The images [n, 28, 28] and the labels [n] (digits 0..=9) of one MNIST split in `dir`.
pub fn read_mnist_split(dir: &Path, split: Split) -> Result<(Idx, Idx), IdxError> {
    let images_path = find_mnist_file(dir, split.images_name())?;
    let labels_path = find_mnist_file(dir, split.labels_name())?;
    let images = read_idx(&images_path)?;
    let labels = read_idx(&labels_path)?;
    let (images_file, labels_file) = (
        images_path.display().to_string(),
        labels_path.display().to_string(),
    );
    if images.dims.len() != 3 || images.dims[1..] != [28, 28] {
        return Err(IdxError::Shape {
            file: images_file,
            dims: images.dims,
            expected: "[n, 28, 28]",
        });
    }
    if labels.dims.len() != 1 {
        return Err(IdxError::Shape {
            file: labels_file,
            dims: labels.dims,
            expected: "[n]",
        });
    }
    if let Some((index, &label)) = labels.data.iter().enumerate().find(|(_, &l)| l > 9) {
        return Err(IdxError::Label {
            file: labels_file,
            index,
            label,
        });
    }
    if images.dims[0] != labels.dims[0] {
        return Err(IdxError::Count {
            images: images_file,
            n_images: images.dims[0],
            labels: labels_file,
            n_labels: labels.dims[0],
        });
    }
    Ok((images, labels))
}

#[cfg(test)]
mod tests {
    use super::*;
    use flate2::{write::GzEncoder, Compression};
    use std::io::Write;

    /// A fresh empty directory under the system's temporary directory.
    fn temp_dir(tag: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("idx-{tag}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        dir
    }

    fn encode(dims: &[u32], data: &[u8]) -> Vec<u8> {
        let mut bytes = vec![0, 0, 8, dims.len() as u8];
        for d in dims {
            bytes.extend_from_slice(&d.to_be_bytes());
        }
        bytes.extend_from_slice(data);
        bytes
    }

    fn gzip(bytes: &[u8]) -> Vec<u8> {
        let mut enc = GzEncoder::new(Vec::new(), Compression::default());
        enc.write_all(bytes).unwrap();
        enc.finish().unwrap()
    }

    /// A split of n images [n, 28, 28] with pixel value i at image i, and the given labels.
    fn write_split(dir: &Path, split: Split, labels: &[u8], gz: bool) {
        let n = labels.len();
        let pixels: Vec<u8> = (0..n).flat_map(|i| [i as u8; 784]).collect();
        let images = encode(&[n as u32, 28, 28], &pixels);
        let labels = encode(&[n as u32], labels);
        for (name, bytes) in [(split.images_name(), images), (split.labels_name(), labels)] {
            if gz {
                std::fs::write(dir.join(format!("{name}.gz")), gzip(&bytes)).unwrap();
            } else {
                std::fs::write(dir.join(name), bytes).unwrap();
            }
        }
    }

    #[test]
    fn parses_raw_and_gzip() {
        let bytes = encode(&[2, 3], &[1, 2, 3, 4, 5, 6]);
        let want = Idx {
            dims: vec![2, 3],
            data: vec![1, 2, 3, 4, 5, 6],
        };
        assert_eq!(parse_idx(&bytes, "a").unwrap(), want);
        assert_eq!(parse_idx(&gzip(&bytes), "a.gz").unwrap(), want);
        let dir = temp_dir("read");
        std::fs::write(dir.join("x.gz"), gzip(&bytes)).unwrap();
        assert_eq!(read_idx(&dir.join("x.gz")).unwrap(), want);
        std::fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn rejects_bad_magic_lengths_and_gzip() {
        let good = encode(&[2, 3], &[0; 6]);
        let err = |bytes: &[u8]| parse_idx(bytes, "f").unwrap_err();

        let mut wrong_type = good.clone();
        wrong_type[2] = 0x0d;
        assert!(matches!(err(&wrong_type), IdxError::Magic { .. }));
        assert!(matches!(err(&[0, 0, 8, 0]), IdxError::Magic { .. }));
        assert!(matches!(err(&[0, 0]), IdxError::Magic { .. }));

        assert!(matches!(
            err(&good[..7]),
            IdxError::Header {
                expected: 12,
                actual: 7,
                ..
            }
        ));
        let short = err(&good[..good.len() - 1]);
        assert!(matches!(
            short,
            IdxError::Length {
                expected: 6,
                actual: 5,
                ..
            }
        ));
        assert_eq!(
            short.to_string(),
            "f: dims [2, 3] need 6 data bytes, the file has 5"
        );
        let mut long = good.clone();
        long.push(0);
        assert!(matches!(
            err(&long),
            IdxError::Length {
                expected: 6,
                actual: 7,
                ..
            }
        ));

        let mut corrupt = gzip(&good);
        corrupt.truncate(corrupt.len() / 2);
        assert!(matches!(err(&corrupt), IdxError::Gzip { .. }));
        assert!(err(&corrupt).to_string().starts_with("f: corrupt gzip"));
        // A valid gzip stream holding a truncated IDX file.
        assert!(matches!(
            err(&gzip(&good[..good.len() - 2])),
            IdxError::Length { .. }
        ));
        // A gzip bomb: a few kilobytes that inflate past any MNIST file.
        let bomb = gzip(&vec![0u8; MAX_BYTES + 1]);
        assert!(bomb.len() < MAX_BYTES / 100);
        assert!(matches!(err(&bomb), IdxError::TooLarge { .. }));
    }

    #[test]
    fn reads_mnist_splits_raw_or_gzip() {
        let dir = temp_dir("split");
        write_split(&dir, Split::Train, &[3, 1, 4], false);
        write_split(&dir, Split::Test, &[9, 0], true);
        let (images, labels) = read_mnist_split(&dir, Split::Train).unwrap();
        assert_eq!(images.dims, [3, 28, 28]);
        assert_eq!(images.data[784 * 2], 2);
        assert_eq!(labels.data, [3, 1, 4]);
        let (images, labels) = read_mnist_split(&dir, Split::Test).unwrap();
        assert_eq!(images.dims, [2, 28, 28]);
        assert_eq!(labels.data, [9, 0]);
        std::fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn rejects_bad_mnist_splits() {
        let dir = temp_dir("bad-split");
        let missing = read_mnist_split(&dir, Split::Train).unwrap_err();
        assert!(matches!(missing, IdxError::Missing { .. }));
        assert!(missing.to_string().contains("train-images-idx3-ubyte"));

        write_split(&dir, Split::Train, &[3, 10], false);
        let label = read_mnist_split(&dir, Split::Train).unwrap_err();
        assert!(matches!(
            label,
            IdxError::Label {
                index: 1,
                label: 10,
                ..
            }
        ));
        assert!(label.to_string().contains("train-labels-idx1-ubyte"));

        let labels = dir.join(Split::Train.labels_name());
        std::fs::write(&labels, encode(&[1], &[3])).unwrap();
        let count = read_mnist_split(&dir, Split::Train).unwrap_err();
        assert!(matches!(
            count,
            IdxError::Count {
                n_images: 2,
                n_labels: 1,
                ..
            }
        ));

        std::fs::write(&labels, encode(&[2, 1], &[3, 4])).unwrap();
        assert!(matches!(
            read_mnist_split(&dir, Split::Train),
            Err(IdxError::Shape { .. })
        ));

        let images = dir.join(Split::Train.images_name());
        std::fs::write(&images, encode(&[2, 27, 28], &[0; 2 * 27 * 28])).unwrap();
        assert!(matches!(
            read_mnist_split(&dir, Split::Train),
            Err(IdxError::Shape { .. })
        ));
        std::fs::remove_dir_all(dir).unwrap();
    }
}
