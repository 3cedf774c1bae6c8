//! Writing a command's output to files (`pipeline --out-dir`, `render -o`) without ever
//! following a symbolic link: a link at a target path is refused before anything is written,
//! and each file is written to a new temporary file beside it and renamed over the target,
//! which replaces a link that appeared since rather than writing through it.
//!
//! It lives in `report`, not `apply`: these files are what a command prints, sent to a file
//! instead of stdout; `apply` only carries out a plan against AWS.

use std::io::Write;
use std::path::{Path, PathBuf};

use crate::error::{Error, Result};

/// Check `--out-dir` and the files about to be written, before any AWS call or write: a
/// link (or anything but a regular file) is always refused. Returns the files that exist and
/// are to be left as they are (none with `--force`, which replaces them).
pub fn check_targets<'f>(dir: &Path, files: &[&'f str], force: bool) -> Result<Vec<&'f str>> {
    if dir.exists() && !dir.is_dir() {
        return Err(Error::usage(format!(
            "--out-dir {}: exists and is not a directory",
            dir.display()
        ))
        .hint("pass a directory, e.g. the root of your Terraform repository"));
    }
    let mut existing = Vec::new();
    for (name, path) in files.iter().map(|f| (*f, dir.join(f))) {
        let Ok(meta) = std::fs::symlink_metadata(&path) else {
            continue;
        };
        if meta.file_type().is_symlink() {
            let target = std::fs::read_link(&path)
                .map(|t| format!(" (to {})", t.display()))
                .unwrap_or_default();
            return Err(Error::usage(format!(
                "{} is a symbolic link{target}; bootstrap never writes through a link, even with --force",
                path.display()
            ))
            .hint("remove the link, or choose another --out-dir"));
        }
        if !meta.is_file() {
            return Err(Error::usage(format!(
                "{} exists and is not a regular file",
                path.display()
            ))
            .hint("remove it, or choose another --out-dir"));
        }
        if !force {
            existing.push(name);
        }
    }
    Ok(existing)
}

/// Write `content` to `path` through a new file beside it and a rename.
pub fn write_file(path: &Path, content: &str) -> Result<()> {
    let failed =
        |e: std::io::Error| Error::failure(format!("cannot write {}: {e}", path.display()));
    let temp = temp_path(path);
    let written = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(&temp)
        .and_then(|mut f| {
            f.write_all(content.as_bytes())?;
            f.sync_all()
        })
        .and_then(|()| std::fs::rename(&temp, path));
    if let Err(e) = written {
        let _ = std::fs::remove_file(&temp);
        return Err(failed(e));
    }
    Ok(())
}

/// `.NAME.tmp-PID` beside `path`. `create_new` refuses it when it exists (a link included).
fn temp_path(path: &Path) -> PathBuf {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    path.with_file_name(format!(".{name}.tmp-{}", std::process::id()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_link_is_refused_even_with_force_and_nothing_is_written() {
        let dir = tempfile::tempdir().unwrap();
        let victim = dir.path().join("victim");
        std::os::unix::fs::symlink(&victim, dir.path().join("a.yml")).unwrap();
        for force in [false, true] {
            let e = check_targets(dir.path(), &["a.yml"], force).unwrap_err();
            assert!(e.message.contains("is a symbolic link"), "{}", e.message);
            assert!(e.message.contains("victim"), "{}", e.message);
        }
        assert!(!victim.exists());
    }

    #[test]
    fn writing_replaces_a_link_instead_of_following_it() {
        let dir = tempfile::tempdir().unwrap();
        let victim = dir.path().join("victim");
        std::fs::write(&victim, "keep").unwrap();
        let target = dir.path().join("a.yml");
        std::os::unix::fs::symlink(&victim, &target).unwrap();
        write_file(&target, "new").unwrap();
        assert_eq!(std::fs::read_to_string(&victim).unwrap(), "keep");
        assert!(!std::fs::symlink_metadata(&target)
            .unwrap()
            .file_type()
            .is_symlink());
        assert_eq!(std::fs::read_to_string(&target).unwrap(), "new");
        let left: Vec<_> = std::fs::read_dir(dir.path()).unwrap().collect();
        assert_eq!(left.len(), 2, "no temporary file is left behind");
    }
}
