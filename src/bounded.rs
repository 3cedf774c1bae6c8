//! Size-capped reads. Every file, stdin and HTTP body the tool reads goes through here, and
//! the cap is enforced while reading, never trusted from a length the other side announces:
//! `/dev/zero`, an endless pipe or a chunked body that never ends all stop at the cap.

use std::io::Read;
use std::path::Path;

/// The largest `bootstrap.toml` read; a real one is a few kilobytes.
pub const CONFIG_FILE_MAX: u64 = 1 << 20;
/// The largest `--ca-bundle` read; a full public root bundle is about 250 KiB.
pub const CA_BUNDLE_MAX: u64 = 4 << 20;
/// The largest discovery document or key set fetched; both are a few kilobytes.
pub const DOCUMENT_MAX: u64 = 1 << 20;
/// The largest IP-ranges document fetched; Atlassian's is a few hundred kilobytes.
pub const IP_RANGES_MAX: u64 = 8 << 20;

/// How long a file that is not a regular file (a named pipe, a device) may take to open and
/// read: opening a FIFO without a writer blocks, and so does reading one that never ends.
pub const NON_REGULAR_WAIT: std::time::Duration = std::time::Duration::from_secs(5);

/// Why a capped read stopped.
#[derive(Debug)]
pub enum ReadError {
    /// More than `cap` bytes were there (reading stopped at `cap + 1`).
    TooLarge {
        cap: u64,
    },
    /// Not a regular file, and it did not end within [`NON_REGULAR_WAIT`].
    TimedOut,
    Io(std::io::Error),
}

/// A byte count for messages: "1 MiB", "64 KiB", "100 bytes".
pub fn size(bytes: u64) -> String {
    if bytes >= 1 << 20 && bytes % (1 << 20) == 0 {
        format!("{} MiB", bytes >> 20)
    } else if bytes >= 1 << 10 && bytes % (1 << 10) == 0 {
        format!("{} KiB", bytes >> 10)
    } else {
        format!("{bytes} bytes")
    }
}

impl std::fmt::Display for ReadError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ReadError::TooLarge { cap } => write!(f, "it holds more than {}", size(*cap)),
            ReadError::TimedOut => write!(
                f,
                "it is not a regular file (a named pipe or a device) and gave no complete content within {} seconds",
                NON_REGULAR_WAIT.as_secs()
            ),
            ReadError::Io(e) => write!(f, "{e}"),
        }
    }
}

/// Read at most `cap` bytes from `reader`; more is an error, found after reading `cap + 1`.
pub fn read_capped(reader: impl Read, cap: u64) -> Result<Vec<u8>, ReadError> {
    let mut buf = Vec::new();
    reader
        .take(cap + 1)
        .read_to_end(&mut buf)
        .map_err(ReadError::Io)?;
    if buf.len() as u64 > cap {
        return Err(ReadError::TooLarge { cap });
    }
    Ok(buf)
}

/// Read a whole file of at most `cap` bytes. A regular file is read at once; anything else
/// (a FIFO, a device, `/dev/fd/N` of a shell's process substitution) is opened and read on a
/// thread of its own, given up after [`NON_REGULAR_WAIT`]: a FIFO nobody writes to never
/// blocks the run.
pub fn read_file(path: &Path, cap: u64) -> Result<Vec<u8>, ReadError> {
    let meta = std::fs::metadata(path).map_err(ReadError::Io)?;
    if meta.is_file() {
        let file = std::fs::File::open(path).map_err(ReadError::Io)?;
        return read_capped(file, cap);
    }
    if meta.is_dir() {
        return Err(ReadError::Io(std::io::Error::other("it is a directory")));
    }
    read_within(path, cap, NON_REGULAR_WAIT)
}

/// Open and read `path` (capped) on a thread, waiting at most `wait`. A thread still blocked
/// after that stays blocked until the process ends; the run goes on without it.
fn read_within(path: &Path, cap: u64, wait: std::time::Duration) -> Result<Vec<u8>, ReadError> {
    let (tx, rx) = std::sync::mpsc::channel();
    let path = path.to_path_buf();
    let spawned = std::thread::Builder::new()
        .name("bounded-read".into())
        .spawn(move || {
            let read = std::fs::File::open(&path)
                .map_err(ReadError::Io)
                .and_then(|file| read_capped(file, cap));
            let _ = tx.send(read);
        });
    if let Err(e) = spawned {
        return Err(ReadError::Io(e));
    }
    rx.recv_timeout(wait).unwrap_or(Err(ReadError::TimedOut))
}

/// Read a whole text file of at most `cap` bytes.
pub fn read_text_file(path: &Path, cap: u64) -> Result<String, ReadError> {
    let bytes = read_file(path, cap)?;
    String::from_utf8(bytes).map_err(|_| {
        ReadError::Io(std::io::Error::new(
            std::io::ErrorKind::InvalidData,
            "it is not UTF-8 text",
        ))
    })
}

/// Why reading an HTTP body stopped.
#[derive(Debug)]
pub enum BodyError {
    TooLarge { cap: u64 },
    Http(reqwest::Error),
}

/// Read an HTTP response body of at most `cap` bytes, chunk by chunk, whatever its
/// Content-Length says (or whether it has one).
pub async fn read_body(mut resp: reqwest::Response, cap: u64) -> Result<Vec<u8>, BodyError> {
    if resp.content_length().is_some_and(|l| l > cap) {
        return Err(BodyError::TooLarge { cap });
    }
    let mut body = Vec::new();
    while let Some(chunk) = resp.chunk().await.map_err(BodyError::Http)? {
        if body.len() as u64 + chunk.len() as u64 > cap {
            return Err(BodyError::TooLarge { cap });
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_up_to_the_cap_and_refuses_more() {
        assert_eq!(read_capped(&b"abcd"[..], 4).unwrap(), b"abcd");
        assert!(matches!(
            read_capped(&b"abcde"[..], 4),
            Err(ReadError::TooLarge { cap: 4 })
        ));
    }

    #[test]
    fn an_endless_source_stops_at_the_cap() {
        let endless = std::io::repeat(0);
        let err = read_capped(endless, 1 << 20).unwrap_err();
        assert_eq!(err.to_string(), "it holds more than 1 MiB");
    }

    #[cfg(unix)]
    #[test]
    fn a_fifo_nobody_writes_to_is_given_up_within_the_wait() {
        let dir = std::env::temp_dir().join(format!("bounded-fifo-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let fifo = dir.join("fifo");
        let made = std::process::Command::new("mkfifo")
            .arg(&fifo)
            .status()
            .unwrap();
        assert!(made.success());
        let started = std::time::Instant::now();
        let err = read_within(&fifo, 1024, std::time::Duration::from_millis(200)).unwrap_err();
        assert!(matches!(err, ReadError::TimedOut), "{err}");
        assert!(started.elapsed() < std::time::Duration::from_secs(2));
        assert!(err.to_string().contains("not a regular file"), "{err}");
        // /dev/zero is not a regular file either: read on the thread, cut at the cap.
        let zero = read_file(Path::new("/dev/zero"), 16).unwrap_err();
        assert!(matches!(zero, ReadError::TooLarge { cap: 16 }), "{zero}");
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn sizes_read_well() {
        assert_eq!(size(1 << 20), "1 MiB");
        assert_eq!(size(64 << 10), "64 KiB");
        assert_eq!(size(100), "100 bytes");
    }
}
