//! The output folder (SPEC §9): the run lock beside it, the staging folder every output is
//! written into, and the swap that puts the staged outputs in place in one step, so a crash
//! or `kill -9` leaves the previous outputs whole. It decides which folders it may replace;
//! it writes no output itself.

use std::fs::{self, File, OpenOptions};
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};

use super::{OutputError, io_error};

/// The output directory of one run: holds the lock, and a staging directory that becomes the
/// output directory on `publish`. Dropping it unpublished removes the staging directory.
pub struct OutputDir {
    target: PathBuf,
    staging: PathBuf,
    _lock: File,
    published: bool,
}

fn sibling(target: &Path, suffix: &str) -> PathBuf {
    let name = target
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "output".into());
    target.with_file_name(format!(".{name}.{suffix}"))
}

impl OutputDir {
    /// Lock `target` for this run, clean up what a killed run left, and create the staging
    /// directory. Fails when another run holds the lock.
    pub fn acquire(target: &Path) -> Result<OutputDir, OutputError> {
        let target = if target.file_name().is_none() {
            // `reports/x/.` or `/`: name the folder itself.
            std::path::absolute(target).map_err(io_error(target))?
        } else {
            target.to_path_buf()
        };
        let parent = target
            .parent()
            .filter(|p| !p.as_os_str().is_empty())
            .unwrap_or(Path::new("."))
            .to_path_buf();
        fs::create_dir_all(&parent).map_err(io_error(&parent))?;
        // Work on the real folder: a symlinked output folder keeps its link (the swap replaces
        // what it points to), and every spelling of one folder shares one lock.
        let target = match fs::canonicalize(&target) {
            Ok(real) => real,
            Err(_) => {
                let name = target.file_name().unwrap_or_default().to_os_string();
                fs::canonicalize(&parent)
                    .map_err(io_error(&parent))?
                    .join(name)
            }
        };
        let parent = target
            .parent()
            .expect("a canonical path below a folder has a parent")
            .to_path_buf();
        if target.exists() && !target.is_dir() {
            return Err(OutputError::NotOurs { target });
        }
        if target.is_dir() && !is_ours_or_empty(&target)? {
            return Err(OutputError::NotOurs { target });
        }

        let lock_path = sibling(&target, "lock");
        let mut lock = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(&lock_path)
            .map_err(io_error(&lock_path))?;
        match lock.try_lock() {
            Ok(()) => {}
            Err(fs::TryLockError::WouldBlock) => {
                let mut holder = String::new();
                let _ = lock.read_to_string(&mut holder);
                let holder = holder.trim();
                return Err(OutputError::Locked {
                    target,
                    holder: if holder.is_empty() {
                        "a run that has just started".into()
                    } else {
                        holder.to_string()
                    },
                });
            }
            Err(fs::TryLockError::Error(e)) => return Err(io_error(&lock_path)(e)),
        }
        lock.set_len(0).map_err(io_error(&lock_path))?;
        writeln!(
            lock,
            "pid {}, started {}",
            std::process::id(),
            chrono::Utc::now().format("%Y-%m-%d %H:%M:%S UTC")
        )
        .map_err(io_error(&lock_path))?;

        // Holding the lock, anything staged or half-swapped by an earlier run is stale.
        let old = sibling(&target, "old");
        if !target.exists() && old.is_dir() {
            // A run was killed between the two renames of the fallback swap.
            fs::rename(&old, &target).map_err(io_error(&old))?;
        }
        let staging_prefix = sibling(&target, "staging-")
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        for entry in fs::read_dir(&parent).map_err(io_error(&parent))?.flatten() {
            let name = entry.file_name().to_string_lossy().into_owned();
            if name.starts_with(&staging_prefix) || entry.path() == old {
                fs::remove_dir_all(entry.path()).map_err(io_error(&entry.path()))?;
            }
        }
        let staging = sibling(&target, &format!("staging-{}", std::process::id()));
        fs::create_dir(&staging).map_err(io_error(&staging))?;
        Ok(OutputDir {
            target,
            staging,
            _lock: lock,
            published: false,
        })
    }

    /// Where outputs are written until `publish`.
    pub fn staging(&self) -> &Path {
        &self.staging
    }

    /// The final output directory.
    pub fn target(&self) -> &Path {
        &self.target
    }

    /// Put the staged outputs in place of the previous ones in one step.
    pub fn publish(mut self) -> Result<(), OutputError> {
        sync_dir(&self.staging)?;
        if self.target.exists() {
            if exchange(&self.staging, &self.target).is_ok() {
                // The staging path now holds the previous outputs.
                fs::remove_dir_all(&self.staging).map_err(io_error(&self.staging))?;
            } else {
                // No atomic exchange on this system or file system: two renames, and a run
                // killed between them is repaired by the next `acquire`.
                let old = sibling(&self.target, "old");
                fs::rename(&self.target, &old).map_err(io_error(&self.target))?;
                fs::rename(&self.staging, &self.target).map_err(io_error(&self.staging))?;
                fs::remove_dir_all(&old).map_err(io_error(&old))?;
            }
        } else {
            fs::rename(&self.staging, &self.target).map_err(io_error(&self.staging))?;
        }
        if let Some(parent) = self.target.parent().filter(|p| !p.as_os_str().is_empty()) {
            sync_dir(parent)?;
        }
        self.published = true;
        Ok(())
    }
}

impl Drop for OutputDir {
    fn drop(&mut self) {
        if !self.published {
            let _ = fs::remove_dir_all(&self.staging);
        }
    }
}

fn is_ours_or_empty(dir: &Path) -> Result<bool, OutputError> {
    let mut entries = fs::read_dir(dir).map_err(io_error(dir))?;
    Ok(entries.next().is_none() || dir.join("manifest.json").is_file())
}

fn sync_dir(dir: &Path) -> Result<(), OutputError> {
    File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(io_error(dir))
}

#[cfg(target_os = "linux")]
fn exchange(a: &Path, b: &Path) -> io::Result<()> {
    use std::ffi::CString;
    use std::os::unix::ffi::OsStrExt;
    let a = CString::new(a.as_os_str().as_bytes())?;
    let b = CString::new(b.as_os_str().as_bytes())?;
    // SAFETY: both pointers are valid NUL-terminated strings for the duration of the call.
    let rc = unsafe {
        libc::renameat2(
            libc::AT_FDCWD,
            a.as_ptr(),
            libc::AT_FDCWD,
            b.as_ptr(),
            libc::RENAME_EXCHANGE,
        )
    };
    if rc == 0 {
        Ok(())
    } else {
        Err(io::Error::last_os_error())
    }
}

#[cfg(not(target_os = "linux"))]
fn exchange(_: &Path, _: &Path) -> io::Result<()> {
    Err(io::Error::new(
        io::ErrorKind::Unsupported,
        "no atomic exchange",
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn publish_replaces_the_whole_folder_and_drop_leaves_it_alone() {
        let root = tempfile::tempdir().unwrap();
        let target = root.path().join("out");
        let run = OutputDir::acquire(&target).unwrap();
        fs::write(run.staging().join("manifest.json"), "{}").unwrap();
        fs::write(run.staging().join("a.txt"), "first").unwrap();
        run.publish().unwrap();
        assert_eq!(fs::read_to_string(target.join("a.txt")).unwrap(), "first");

        // A run that fails (dropped unpublished) leaves the previous outputs as they were.
        let run = OutputDir::acquire(&target).unwrap();
        fs::write(run.staging().join("a.txt"), "broken").unwrap();
        drop(run);
        assert_eq!(fs::read_to_string(target.join("a.txt")).unwrap(), "first");

        let run = OutputDir::acquire(&target).unwrap();
        fs::write(run.staging().join("manifest.json"), "{}").unwrap();
        fs::write(run.staging().join("b.txt"), "second").unwrap();
        run.publish().unwrap();
        assert!(!target.join("a.txt").exists(), "old files do not linger");
        assert_eq!(fs::read_to_string(target.join("b.txt")).unwrap(), "second");
        let leftovers: Vec<_> = fs::read_dir(root.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .filter(|n| n.contains("staging") || n.contains(".old"))
            .collect();
        assert!(leftovers.is_empty(), "{leftovers:?}");
    }

    #[test]
    fn a_second_run_on_the_same_folder_is_refused() {
        let root = tempfile::tempdir().unwrap();
        let target = root.path().join("out");
        let first = OutputDir::acquire(&target).unwrap();
        let err = OutputDir::acquire(&target)
            .err()
            .expect("second acquire must fail");
        let message = err.to_string();
        assert!(message.contains("another outcomes run"), "{message}");
        assert!(
            message.contains(&format!("pid {}", std::process::id())),
            "{message}"
        );
        drop(first);
        assert!(OutputDir::acquire(&target).is_ok());
    }

    #[test]
    fn refuses_to_replace_a_folder_that_is_not_an_output() {
        let root = tempfile::tempdir().unwrap();
        fs::write(root.path().join("precious.txt"), "keep").unwrap();
        let err = OutputDir::acquire(root.path()).err().expect("must refuse");
        assert!(matches!(err, OutputError::NotOurs { .. }));
        assert!(root.path().join("precious.txt").exists());
    }

    #[cfg(unix)]
    #[test]
    fn a_symlinked_output_folder_stays_a_link_to_the_new_outputs() {
        let root = tempfile::tempdir().unwrap();
        let real = root.path().join("real");
        let link = root.path().join("link");
        let run = OutputDir::acquire(&real).unwrap();
        fs::write(run.staging().join("manifest.json"), "{}").unwrap();
        run.publish().unwrap();
        std::os::unix::fs::symlink(&real, &link).unwrap();

        let through_link = OutputDir::acquire(&link).unwrap();
        assert!(
            OutputDir::acquire(&real).is_err(),
            "the link and the real path share one lock"
        );
        fs::write(through_link.staging().join("manifest.json"), "{}").unwrap();
        fs::write(through_link.staging().join("new.txt"), "new").unwrap();
        through_link.publish().unwrap();
        assert!(
            fs::symlink_metadata(&link)
                .unwrap()
                .file_type()
                .is_symlink()
        );
        assert_eq!(fs::read_to_string(link.join("new.txt")).unwrap(), "new");
        assert_eq!(fs::read_to_string(real.join("new.txt")).unwrap(), "new");
    }

    #[test]
    fn stale_staging_from_a_killed_run_is_removed() {
        let root = tempfile::tempdir().unwrap();
        let target = root.path().join("out");
        fs::create_dir(root.path().join(".out.staging-999999")).unwrap();
        let run = OutputDir::acquire(&target).unwrap();
        assert!(!root.path().join(".out.staging-999999").exists());
        drop(run);
    }
}
