//! Downloads of the MNIST and CIFAR-10 files when they are missing, checked against their MD5.

use anyhow::{bail, Context, Result};
use indicatif::{ProgressBar, ProgressStyle};
use md5::{Digest, Md5};
use scaling_core::{data::cifar, data::idx};
use std::fs::{self, File};
use std::io::{self, Read};
use std::path::{Component, Path, PathBuf};

const MNIST_URL: &str = "https://ossci-datasets.s3.amazonaws.com/mnist/";
/// The four MNIST files (without `.gz`) and the MD5 of their `.gz` downloads.
const MNIST_FILES: [(&str, &str); 4] = [
    (
        "train-images-idx3-ubyte",
        "f68b3c2dcbeaaa9fbdd348bbdeb94873",
    ),
    (
        "train-labels-idx1-ubyte",
        "d53e105ee54ea40749a09fcbcd1e9432",
    ),
    ("t10k-images-idx3-ubyte", "9fb629c4189551a2d022fa330f9573f3"),
    ("t10k-labels-idx1-ubyte", "ec29112dd5afa0611ce80d1b7f02629c"),
];
const CIFAR_URL: &str = "https://www.cs.toronto.edu/~kriz/cifar-10-binary.tar.gz";
const CIFAR_ARCHIVE: &str = "cifar-10-binary.tar.gz";
const CIFAR_MD5: &str = "c32a1d4ab5d03f1284b67883e8d87530";

/// Downloads into `dir` the `.gz` of every MNIST file that is there neither raw nor gzipped.
pub fn ensure_mnist(dir: &Path) -> Result<()> {
    for (name, md5) in MNIST_FILES {
        if idx::find_mnist_file(dir, name).is_err() {
            fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
            let gz = format!("{name}.gz");
            download(&format!("{MNIST_URL}{gz}"), &dir.join(gz), md5)?;
        }
    }
    Ok(())
}

/// The directory holding the six CIFAR-10 batch files: `dir` or `dir/cifar-10-batches-bin`,
/// after downloading and unpacking the archive into the latter when neither has them all.
pub fn ensure_cifar10(dir: &Path) -> Result<PathBuf> {
    if let Some(found) = cifar_present(dir) {
        return Ok(found);
    }
    fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    let archive = dir.join(CIFAR_ARCHIVE);
    if !archive.is_file() {
        download(CIFAR_URL, &archive, CIFAR_MD5)?;
    }
    let batches = extract_cifar(&archive, dir)?;
    fs::remove_file(&archive).with_context(|| format!("removing {}", archive.display()))?;
    Ok(batches)
}

/// The six CIFAR-10 batch file names.
fn cifar_names() -> impl Iterator<Item = &'static str> {
    cifar::TRAIN_FILES.into_iter().chain([cifar::TEST_FILE])
}

/// [`cifar::batches_dir`] of `dir` when it holds all six batch files.
fn cifar_present(dir: &Path) -> Option<PathBuf> {
    let found = cifar::batches_dir(dir);
    cifar_names()
        .all(|name| found.join(name).is_file())
        .then_some(found)
}

/// Streams `url` into `dest` + ".part" with a progress bar, then renames it to `dest` if its
/// MD5 is `md5` (else removes it).
fn download(url: &str, dest: &Path, md5: &str) -> Result<()> {
    eprintln!("downloading {url} to {}", dest.display());
    let response = ureq::get(url)
        .call()
        .with_context(|| format!("GET {url}"))?;
    let bar = match response
        .header("Content-Length")
        .and_then(|v| v.parse().ok())
    {
        Some(len) => ProgressBar::new(len).with_style(ProgressStyle::with_template(
            "{bar:40} {bytes}/{total_bytes} {bytes_per_sec} eta {eta}",
        )?),
        None => ProgressBar::new_spinner().with_style(ProgressStyle::with_template(
            "{spinner} {bytes} {bytes_per_sec}",
        )?),
    };
    let part = part_path(dest);
    let copied = File::create(&part).and_then(|mut file| {
        io::copy(&mut bar.wrap_read(response.into_reader()), &mut file)?;
        file.sync_all()
    });
    bar.finish_and_clear();
    if let Err(e) = copied {
        let _ = fs::remove_file(&part);
        return Err(e).with_context(|| format!("downloading {url} to {}", part.display()));
    }
    verify_and_rename(&part, dest, md5, url)
}

/// `path` with ".part" appended to its file name.
fn part_path(path: &Path) -> PathBuf {
    let mut name = path.file_name().unwrap_or_default().to_os_string();
    name.push(".part");
    path.with_file_name(name)
}

/// Renames `part` to `dest` if the MD5 of `part` is `expected`; removes `part` otherwise.
fn verify_and_rename(part: &Path, dest: &Path, expected: &str, url: &str) -> Result<()> {
    let actual = md5_file(part)?;
    if actual != expected {
        fs::remove_file(part).with_context(|| format!("removing {}", part.display()))?;
        bail!("{url}: downloaded file has MD5 {actual}, expected {expected}");
    }
    fs::rename(part, dest)
        .with_context(|| format!("renaming {} to {}", part.display(), dest.display()))
}

/// The MD5 of a file's bytes, as 32 lowercase hex digits.
fn md5_file(path: &Path) -> Result<String> {
    let mut file = File::open(path).with_context(|| format!("opening {}", path.display()))?;
    let mut hasher = Md5::new();
    let mut buf = vec![0u8; 1 << 16];
    loop {
        let n = file
            .read(&mut buf)
            .with_context(|| format!("reading {}", path.display()))?;
        if n == 0 {
            break;
        }
        hasher.update(&buf[..n]);
    }
    Ok(format!("{:x}", hasher.finalize()))
}

/// Unpacks the six batch files of the archive, regular files at exactly
/// `cifar-10-batches-bin/<name>`, into `dir/cifar-10-batches-bin`; every other entry is
/// skipped. Returns that directory.
fn extract_cifar(archive: &Path, dir: &Path) -> Result<PathBuf> {
    let out = dir.join(cifar::ARCHIVE_DIR);
    fs::create_dir_all(&out).with_context(|| format!("creating {}", out.display()))?;
    let file = File::open(archive).with_context(|| format!("opening {}", archive.display()))?;
    let mut tar = tar::Archive::new(flate2::read::GzDecoder::new(file));
    let mut extracted = Vec::new();
    for entry in tar
        .entries()
        .with_context(|| format!("reading {}", archive.display()))?
    {
        let mut entry = entry.with_context(|| format!("reading {}", archive.display()))?;
        if !entry.header().entry_type().is_file() {
            continue;
        }
        let path = entry.path()?.into_owned();
        let Some(name) = batch_name(&path) else {
            continue;
        };
        let dest = out.join(name);
        let part = part_path(&dest);
        let mut file =
            File::create(&part).with_context(|| format!("creating {}", part.display()))?;
        io::copy(&mut entry, &mut file)
            .with_context(|| format!("extracting {} from {}", path.display(), archive.display()))?;
        fs::rename(&part, &dest)
            .with_context(|| format!("renaming {} to {}", part.display(), dest.display()))?;
        extracted.push(name);
    }
    let missing: Vec<_> = cifar_names()
        .filter(|name| !extracted.contains(name))
        .collect();
    if !missing.is_empty() {
        bail!("{}: lacks {missing:?}", archive.display());
    }
    Ok(out)
}

/// The batch file name if `path` is `cifar-10-batches-bin/<name>` (possibly after `./`), with
/// `<name>` one of the six batch files.
fn batch_name(path: &Path) -> Option<&'static str> {
    let parts: Vec<_> = path
        .components()
        .filter(|c| *c != Component::CurDir)
        .collect();
    match parts[..] {
        [Component::Normal(d), Component::Normal(name)] if d == cifar::ARCHIVE_DIR => {
            cifar_names().find(|n| name == *n)
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use flate2::{write::GzEncoder, Compression};

    /// A fresh empty directory under the system's temporary directory.
    fn temp_dir(tag: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("download-{tag}-{}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(&dir).unwrap();
        dir
    }

    #[test]
    fn checks_md5_before_renaming() {
        let dir = temp_dir("md5");
        let (part, dest) = (dir.join("f.part"), dir.join("f"));
        fs::write(&part, "hello").unwrap();
        let err = verify_and_rename(&part, &dest, "0123456789abcdef0123456789abcdef", "u")
            .unwrap_err()
            .to_string();
        assert_eq!(
            err,
            "u: downloaded file has MD5 5d41402abc4b2a76b9719d911017c592, \
             expected 0123456789abcdef0123456789abcdef"
        );
        assert!(!part.exists() && !dest.exists());

        fs::write(&part, "hello").unwrap();
        verify_and_rename(&part, &dest, "5d41402abc4b2a76b9719d911017c592", "u").unwrap();
        assert!(!part.exists());
        assert_eq!(fs::read(&dest).unwrap(), b"hello");
        assert_eq!(part_path(&dest), part);
        fs::remove_dir_all(dir).unwrap();
    }

    /// Serves `body` to `requests` HTTP requests on a local port; returns the base URL.
    fn serve(body: &'static [u8], requests: usize) -> String {
        use std::io::{BufRead, BufReader, Write};
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://{}/", listener.local_addr().unwrap());
        std::thread::spawn(move || {
            for stream in listener.incoming().take(requests) {
                let mut stream = stream.unwrap();
                let mut reader = BufReader::new(stream.try_clone().unwrap());
                let mut line = String::new();
                while reader.read_line(&mut line).unwrap() > 2 {
                    line.clear();
                }
                let head = format!(
                    "HTTP/1.1 200 OK\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
                    body.len()
                );
                stream.write_all(head.as_bytes()).unwrap();
                stream.write_all(body).unwrap();
            }
        });
        url
    }

    #[test]
    fn downloads_over_http_and_checks_md5() {
        let dir = temp_dir("http");
        let url = format!("{}file", serve(b"hello", 2));
        let dest = dir.join("file");
        download(&url, &dest, "5d41402abc4b2a76b9719d911017c592").unwrap();
        assert_eq!(fs::read(&dest).unwrap(), b"hello");
        fs::remove_file(&dest).unwrap();
        let err = download(&url, &dest, "0123456789abcdef0123456789abcdef").unwrap_err();
        assert!(err.to_string().contains(&url), "{err}");
        assert_eq!(fs::read_dir(&dir).unwrap().count(), 0, "no file is left");
        fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn present_files_are_not_downloaded() {
        // This machine may have no network: a download attempt would fail the test.
        let dir = temp_dir("present");
        for (i, (name, _)) in MNIST_FILES.iter().enumerate() {
            let file = if i % 2 == 0 {
                name.to_string()
            } else {
                format!("{name}.gz")
            };
            fs::write(dir.join(file), "").unwrap();
        }
        ensure_mnist(&dir).unwrap();

        let batches = dir.join(cifar::ARCHIVE_DIR);
        fs::create_dir_all(&batches).unwrap();
        for name in cifar_names() {
            fs::write(batches.join(name), "").unwrap();
        }
        assert_eq!(ensure_cifar10(&dir).unwrap(), batches);
        for name in cifar_names() {
            fs::write(dir.join(name), "").unwrap();
        }
        assert_eq!(ensure_cifar10(&dir).unwrap(), dir);
        fs::remove_file(dir.join(cifar::TEST_FILE)).unwrap();
        assert_eq!(cifar_present(&dir), Some(batches.clone()));
        fs::remove_file(batches.join(cifar::TEST_FILE)).unwrap();
        assert_eq!(cifar_present(&dir), None);
        fs::remove_dir_all(dir).unwrap();
    }

    /// A tar.gz holding the six batch files (content = name), a readme, a directory, a
    /// symlink and two entries that escape the extraction directory.
    fn hostile_archive(path: &Path) {
        let gz = GzEncoder::new(File::create(path).unwrap(), Compression::fast());
        let mut builder = tar::Builder::new(gz);
        let mut add = |name: &[u8], kind: tar::EntryType, data: &[u8]| {
            let mut header = tar::Header::new_gnu();
            header.as_old_mut().name[..name.len()].copy_from_slice(name);
            header.set_entry_type(kind);
            header.set_size(data.len() as u64);
            header.set_mode(0o644);
            if kind == tar::EntryType::Symlink {
                header.set_link_name("/etc/passwd").unwrap();
            }
            header.set_cksum();
            builder.append(&header, data).unwrap();
        };
        add(b"../evil", tar::EntryType::Regular, b"evil");
        add(
            b"cifar-10-batches-bin/../../evil2",
            tar::EntryType::Regular,
            b"evil",
        );
        add(b"cifar-10-batches-bin/", tar::EntryType::Directory, b"");
        add(
            b"cifar-10-batches-bin/readme.html",
            tar::EntryType::Regular,
            b"x",
        );
        add(
            b"cifar-10-batches-bin/data_batch_1.bin",
            tar::EntryType::Symlink,
            b"",
        );
        for name in cifar_names() {
            let path = format!("./cifar-10-batches-bin/{name}");
            add(path.as_bytes(), tar::EntryType::Regular, name.as_bytes());
        }
        builder.into_inner().unwrap().finish().unwrap();
    }

    #[test]
    fn extracts_only_the_batch_files() {
        let root = temp_dir("tar");
        let dir = root.join("a").join("b");
        fs::create_dir_all(&dir).unwrap();
        let archive = dir.join(CIFAR_ARCHIVE);
        hostile_archive(&archive);
        let out = extract_cifar(&archive, &dir).unwrap();
        assert_eq!(out, dir.join(cifar::ARCHIVE_DIR));
        let mut names: Vec<_> = fs::read_dir(&out)
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .collect();
        names.sort();
        let mut want: Vec<_> = cifar_names().collect();
        want.sort();
        assert_eq!(names, want);
        for name in cifar_names() {
            assert_eq!(fs::read(out.join(name)).unwrap(), name.as_bytes());
        }
        let listing = |d: &Path| -> Vec<_> {
            fs::read_dir(d)
                .unwrap()
                .map(|e| e.unwrap().path())
                .collect()
        };
        assert_eq!(listing(&root), [root.join("a")], "nothing escaped");
        assert_eq!(listing(&root.join("a")), [dir.as_path()], "nothing escaped");
        let mut in_dir = listing(&dir);
        in_dir.sort();
        assert_eq!(in_dir, [dir.join(cifar::ARCHIVE_DIR), archive.clone()]);
        assert_eq!(cifar_present(&dir), Some(out));
        fs::remove_dir_all(root).unwrap();
    }

    #[test]
    fn rejects_an_archive_without_the_batches() {
        let dir = temp_dir("tar-empty");
        let archive = dir.join(CIFAR_ARCHIVE);
        let gz = GzEncoder::new(File::create(&archive).unwrap(), Compression::fast());
        tar::Builder::new(gz)
            .into_inner()
            .unwrap()
            .finish()
            .unwrap();
        let err = extract_cifar(&archive, &dir).unwrap_err().to_string();
        assert!(
            err.contains("lacks") && err.contains("test_batch.bin"),
            "{err}"
        );
        fs::remove_dir_all(dir).unwrap();
    }
}
