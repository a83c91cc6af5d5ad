//! The output folder (SPEC §9): the run lock beside it, the staging folder every output is
//! written into, and the swap that puts the staged outputs in place in one step, so a crash
//! or `kill -9` leaves the previous outputs whole. Which folders it may replace is
//! `ownership`'s to decide; it writes no output itself.

use std::fs::{self, File, OpenOptions};
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};

use tracing::warn;

use super::ownership::{self, Refusal};
use super::{OutputError, io_error};
use crate::fault;

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
    /// directory. Refuses (exit 2) a place no run can own and a folder that is not the
    /// program's (SPEC §9); fails (exit 1) when another run holds the lock.
    pub fn acquire(target: &Path) -> Result<OutputDir, OutputError> {
        if target.as_os_str().is_empty() {
            return Err(Refusal::NoName.into());
        }
        let target = std::path::absolute(target).map_err(io_error(target))?;
        // Work on the real folder: a symlinked output folder keeps its link (the swap replaces
        // what it points to), and every spelling of one folder shares one lock.
        let target = match fs::canonicalize(&target) {
            Ok(real) => real,
            Err(_) => {
                // A folder still to be made: it needs a name of its own (not `missing/..`),
                // may not be a link to nowhere, and its parents are made only once the place
                // is known to be one a run may own.
                let (Some(name), Some(parent)) = (target.file_name(), target.parent()) else {
                    return Err(Refusal::DoesNotExist { target }.into());
                };
                if fs::symlink_metadata(&target).is_ok() {
                    return Err(Refusal::DanglingLink { target }.into());
                }
                ownership::check_creatable(parent)?;
                fs::create_dir_all(parent).map_err(io_error(parent))?;
                fs::canonicalize(parent)
                    .map_err(io_error(parent))?
                    .join(name)
            }
        };
        // Before anything is created beside it: is this a place a run may own at all?
        ownership::check_place(&target)?;
        ownership::check_ours(&target)?;
        let parent = target
            .parent()
            .expect("check_place refuses a folder without a parent")
            .to_path_buf();

        let lock = take_lock(&target)?;
        // Holding the lock, anything staged or half-swapped by an earlier run is stale.
        let old = sibling(&target, "old");
        if !target.exists() && old.is_dir() {
            // A run was killed between the two renames of the fallback swap.
            fs::rename(&old, &target).map_err(io_error(&old))?;
        }
        // And the folder is as it will be swapped: check again what the first look saw
        // without the lock.
        ownership::check_ours(&target)?;
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

    /// Put the staged outputs in place of the previous ones in one step. Every staged file
    /// reaches the disk first. An exchange the file system cannot do falls back, with a
    /// warning, to two renames; any other failure leaves the previous outputs untouched.
    /// Once the new outputs are in place, failing to remove the previous ones is a warning.
    pub fn publish(mut self) -> Result<(), OutputError> {
        for entry in fs::read_dir(&self.staging).map_err(io_error(&self.staging))? {
            let path = entry.map_err(io_error(&self.staging))?.path();
            if path.is_file() {
                File::open(&path)
                    .and_then(|f| f.sync_all())
                    .map_err(io_error(&path))?;
            }
        }
        sync_dir(&self.staging)?;
        // The staging folder holds only what the manifest lists (a scratch file that could not
        // be removed would make every later run refuse the folder).
        ownership::check_ours(&self.staging).map_err(|refusal| OutputError::Io {
            path: self.staging.clone(),
            source: io::Error::other(refusal.to_string()),
        })?;
        fault::point("before-swap").map_err(io_error(&self.staging))?;
        // A file someone put in the output folder during the run is not the program's: refuse
        // now, with the previous outputs untouched, rather than delete it with them.
        ownership::check_ours(&self.target)?;
        let previous = if self.target.exists() {
            match exchange(&self.staging, &self.target) {
                // The staging path now holds the previous outputs.
                Ok(()) => Some(self.staging.clone()),
                Err(e) if cannot_exchange(&e) => {
                    warn!(
                        "the file system of {} cannot swap two folders in one step ({e}); replacing the outputs with two renames instead: a crash between them is repaired by the next run",
                        self.target.display()
                    );
                    let old = sibling(&self.target, "old");
                    fs::rename(&self.target, &old).map_err(io_error(&self.target))?;
                    if let Err(e) = fs::rename(&self.staging, &self.target) {
                        // Put the previous outputs back: never neither old nor new.
                        let _ = fs::rename(&old, &self.target);
                        return Err(io_error(&self.staging)(e));
                    }
                    Some(old)
                }
                Err(e) => return Err(io_error(&self.target)(e)),
            }
        } else {
            fs::rename(&self.staging, &self.target).map_err(io_error(&self.staging))?;
            None
        };
        self.published = true;
        let parent = self
            .target
            .parent()
            .expect("check_place refuses a folder without a parent");
        if let Err(e) = sync_dir(parent) {
            warn!("the new outputs are in place, but syncing their folder failed: {e}");
        }
        // (Past the swap a fault point can only abort: the new outputs are in place.)
        let _ = fault::point("after-swap");
        if let Some(previous) = previous {
            let _ = fault::point("before-cleanup");
            // Checked again in case a file appeared between the check above and the swap.
            if let Err(refusal) = ownership::check_ours(&previous) {
                let kept = sibling(&self.target, &format!("previous-{}", std::process::id()));
                let kept = kept.with_file_name(
                    kept.file_name()
                        .map(|n| n.to_string_lossy().trim_start_matches('.').to_string())
                        .unwrap_or_default(),
                );
                let _ = fs::rename(&previous, &kept);
                warn!(
                    "the new outputs are in place in {}; the previous ones are kept in {} and not deleted, because {refusal}",
                    self.target.display(),
                    kept.display()
                );
                return Ok(());
            }
            if let Err(e) = fs::remove_dir_all(&previous) {
                warn!(
                    "the new outputs are in place in {}, but the previous ones could not be removed from {}: {e}; the next run removes them",
                    self.target.display(),
                    previous.display()
                );
            }
        }
        Ok(())
    }
}

/// Take the run lock, `.<name>.lock` beside `target`, and write who holds it into it.
fn take_lock(target: &Path) -> Result<File, OutputError> {
    let lock_path = sibling(target, "lock");
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
                target: target.to_path_buf(),
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
    Ok(lock)
}

impl Drop for OutputDir {
    fn drop(&mut self) {
        if !self.published {
            let _ = fs::remove_dir_all(&self.staging);
        }
    }
}

fn sync_dir(dir: &Path) -> Result<(), OutputError> {
    File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(io_error(dir))
}

/// Whether an exchange failed because the system or file system cannot exchange at all
/// (an old kernel, a network or FUSE file system), not because of this folder.
fn cannot_exchange(e: &io::Error) -> bool {
    e.kind() == io::ErrorKind::Unsupported
        || matches!(
            e.raw_os_error(),
            Some(libc::EINVAL) | Some(libc::ENOSYS) | Some(libc::EOPNOTSUPP)
        )
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

    use crate::output::ownership::tests::manifest_listing as manifest;

    /// Stage one output `name` holding `text`, listed in the staged manifest.
    fn stage(run: &OutputDir, name: &str, text: &str) {
        manifest(run.staging(), &[name]);
        fs::write(run.staging().join(name), text).unwrap();
    }

    #[test]
    fn publish_replaces_the_whole_folder_and_drop_leaves_it_alone() {
        let root = tempfile::tempdir().unwrap();
        let target = root.path().join("out");
        let run = OutputDir::acquire(&target).unwrap();
        stage(&run, "a.txt", "first");
        run.publish().unwrap();
        assert_eq!(fs::read_to_string(target.join("a.txt")).unwrap(), "first");

        // A run that fails (dropped unpublished) leaves the previous outputs as they were.
        let run = OutputDir::acquire(&target).unwrap();
        fs::write(run.staging().join("a.txt"), "broken").unwrap();
        drop(run);
        assert_eq!(fs::read_to_string(target.join("a.txt")).unwrap(), "first");

        let run = OutputDir::acquire(&target).unwrap();
        stage(&run, "b.txt", "second");
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
    fn a_file_added_to_the_output_folder_during_the_run_is_kept_and_the_run_refused() {
        let root = tempfile::tempdir().unwrap();
        let target = root.path().join("out");
        let run = OutputDir::acquire(&target).unwrap();
        stage(&run, "a.txt", "first");
        run.publish().unwrap();

        let run = OutputDir::acquire(&target).unwrap();
        stage(&run, "a.txt", "second");
        // A director opens the workbook while the nightly run writes.
        fs::write(target.join("~$rates.xlsx"), "lock").unwrap();
        let err = run.publish().unwrap_err();
        assert!(matches!(err, OutputError::Refused(_)), "{err}");
        assert_eq!(
            fs::read_to_string(target.join("~$rates.xlsx")).unwrap(),
            "lock"
        );
        assert_eq!(fs::read_to_string(target.join("a.txt")).unwrap(), "first");
    }

    #[test]
    fn a_staged_file_the_manifest_does_not_list_is_never_published() {
        let root = tempfile::tempdir().unwrap();
        let target = root.path().join("out");
        let run = OutputDir::acquire(&target).unwrap();
        stage(&run, "a.txt", "first");
        fs::write(run.staging().join(".cases.scratch"), "left over").unwrap();
        let err = run.publish().unwrap_err();
        assert!(
            matches!(err, OutputError::Io { .. }),
            "an internal failure, exit 1: {err}"
        );
        assert!(!target.exists());
    }

    #[test]
    fn odd_spellings_of_a_missing_folder_are_refused_without_making_anything() {
        let root = tempfile::tempdir().unwrap();
        let err = OutputDir::acquire(&root.path().join("missing/.."))
            .err()
            .unwrap();
        assert!(
            matches!(err, OutputError::Refused(Refusal::DoesNotExist { .. })),
            "{err}"
        );
        assert!(!root.path().join("missing").exists());
        assert!(matches!(
            OutputDir::acquire(Path::new("")).err().unwrap(),
            OutputError::Refused(Refusal::NoName)
        ));
        #[cfg(unix)]
        {
            let link = root.path().join("link");
            std::os::unix::fs::symlink(root.path().join("nowhere"), &link).unwrap();
            let err = OutputDir::acquire(&link).err().unwrap();
            assert!(
                matches!(err, OutputError::Refused(Refusal::DanglingLink { .. })),
                "{err}"
            );
        }
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
        assert!(matches!(err, OutputError::Refused(_)), "{err}");
        assert!(root.path().join("precious.txt").exists());
    }

    #[cfg(unix)]
    #[test]
    fn a_symlinked_output_folder_stays_a_link_to_the_new_outputs() {
        let root = tempfile::tempdir().unwrap();
        let real = root.path().join("real");
        let link = root.path().join("link");
        let run = OutputDir::acquire(&real).unwrap();
        manifest(run.staging(), &[]);
        run.publish().unwrap();
        std::os::unix::fs::symlink(&real, &link).unwrap();

        let through_link = OutputDir::acquire(&link).unwrap();
        assert!(
            OutputDir::acquire(&real).is_err(),
            "the link and the real path share one lock"
        );
        stage(&through_link, "new.txt", "new");
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
