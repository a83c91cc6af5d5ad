//! Which folders a run may replace (SPEC §9): only its own. A folder is the program's when it
//! is empty, or when every file in it is listed by name in its `manifest.json`, written by
//! `outcomes` (a listed output edited since is still the program's). Places no run can own —
//! `/`, the home folder, a mount point, a folder that cannot be written — are refused before
//! any work. This module only looks; it never writes or deletes.

use std::fs;
use std::io;
use std::path::{Path, PathBuf};

/// Why a folder may not be used as the output folder. Exit code 2: the command line or the
/// pipeline's `out_dir` names the wrong place.
#[derive(Debug, thiserror::Error)]
pub enum Refusal {
    #[error("the output folder's name is empty\nhint: give --out a folder, e.g. reports/national")]
    NoName,
    #[error(
        "{target} does not exist and names no folder of its own\nhint: give --out the folder to write, e.g. reports/national"
    )]
    DoesNotExist { target: PathBuf },
    #[error(
        "{target} is a link to a folder that does not exist; refusing to replace it\nhint: make the folder it points to, or give --out the folder itself"
    )]
    DanglingLink { target: PathBuf },
    #[error(
        "{target} is the root folder; refusing to use it as the output folder\nhint: choose a folder of its own with --out, e.g. reports/national"
    )]
    Root { target: PathBuf },
    #[error(
        "{target} is your home folder; refusing to use it as the output folder (a run replaces the whole folder)\nhint: choose a folder of its own with --out, e.g. {target}/reports"
    )]
    Home { target: PathBuf },
    #[error(
        "{target} is a mount point; the outputs cannot be swapped into it in one step\nhint: choose a folder inside it with --out"
    )]
    MountPoint { target: PathBuf },
    #[error(
        "{target} cannot be written ({reason}); the outputs could not be put in place\nhint: choose a folder you can write with --out"
    )]
    NotWritable { target: PathBuf, reason: String },
    #[error(
        "{target} is a file, not a folder; refusing to replace it\nhint: choose a folder with --out"
    )]
    NotAFolder { target: PathBuf },
    #[error(
        "{target} is not empty and is not an outcomes output folder ({why}); refusing to replace it\nhint: choose a new or empty folder with --out"
    )]
    NotAnOutputFolder { target: PathBuf, why: &'static str },
    #[error(
        "{target} holds {file}, which its manifest.json does not list: not a file outcomes wrote; refusing to replace the folder\nhint: move {file} out of the folder (close it first if a program has it open: Excel keeps a ~$ lock file), or choose another folder with --out"
    )]
    ForeignFile { target: PathBuf, file: String },
}

/// Refuse a folder no run can own: `/`, the home folder, a mount point, one whose parent (or
/// itself) cannot be written. `target` is canonical (or its parent is).
pub fn check_place(target: &Path) -> Result<(), Refusal> {
    let Some(parent) = target.parent() else {
        return Err(Refusal::Root {
            target: target.to_path_buf(),
        });
    };
    if let Some(home) = std::env::var_os("HOME").filter(|h| !h.is_empty())
        && fs::canonicalize(&home).is_ok_and(|home| home == target)
    {
        return Err(Refusal::Home {
            target: target.to_path_buf(),
        });
    }
    if target.is_dir() && is_mount_point(target, parent) {
        return Err(Refusal::MountPoint {
            target: target.to_path_buf(),
        });
    }
    // The swap renames inside the parent, and cleaning up the previous outputs deletes
    // files inside the folder: both must be writable.
    for place in [parent, target].into_iter().filter(|p| p.exists()) {
        if let Err(e) = writable(place) {
            return Err(Refusal::NotWritable {
                target: place.to_path_buf(),
                reason: e.to_string(),
            });
        }
    }
    Ok(())
}

/// Refuse to make `parent` (and the folders above it) for a new output folder unless the
/// nearest folder that exists can be written.
pub fn check_creatable(parent: &Path) -> Result<(), Refusal> {
    let existing = parent
        .ancestors()
        .find(|a| a.as_os_str().is_empty() || a.is_dir())
        .map(|a| {
            if a.as_os_str().is_empty() {
                Path::new(".")
            } else {
                a
            }
        })
        .unwrap_or(Path::new("/"));
    writable(existing).map_err(|e| Refusal::NotWritable {
        target: existing.to_path_buf(),
        reason: e.to_string(),
    })
}

/// Refuse an existing `target` that is not the program's: a file, or a folder holding
/// anything its manifest (written by `outcomes`) does not list by name.
pub fn check_ours(target: &Path) -> Result<(), Refusal> {
    let refuse_io = |e: io::Error| Refusal::NotWritable {
        target: target.to_path_buf(),
        reason: e.to_string(),
    };
    // A link inside or as the folder is not followed: a dangling one is not "missing".
    let meta = match fs::symlink_metadata(target).and_then(|m| {
        if m.file_type().is_symlink() {
            fs::metadata(target)
        } else {
            Ok(m)
        }
    }) {
        Ok(meta) => meta,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(refuse_io(e)),
    };
    if !meta.is_dir() {
        return Err(Refusal::NotAFolder {
            target: target.to_path_buf(),
        });
    }
    let mut names: Vec<(String, bool)> = Vec::new();
    for entry in fs::read_dir(target).map_err(refuse_io)? {
        let entry = entry.map_err(refuse_io)?;
        let is_file = entry.file_type().map_err(refuse_io)?.is_file();
        names.push((entry.file_name().to_string_lossy().into_owned(), is_file));
    }
    if names.is_empty() {
        return Ok(());
    }
    let listed = listed_outputs(target).map_err(|why| Refusal::NotAnOutputFolder {
        target: target.to_path_buf(),
        why,
    })?;
    names.sort();
    for (name, is_file) in names {
        let ours = is_file && (name == "manifest.json" || listed.contains(&name));
        if !ours {
            return Err(Refusal::ForeignFile {
                target: target.to_path_buf(),
                file: name,
            });
        }
    }
    Ok(())
}

/// The file names the folder's manifest lists as outputs, if it has a manifest that
/// `outcomes` wrote.
fn listed_outputs(dir: &Path) -> Result<Vec<String>, &'static str> {
    let text =
        fs::read_to_string(dir.join("manifest.json")).map_err(|_| "it has no manifest.json")?;
    let manifest: serde_json::Value =
        serde_json::from_str(&text).map_err(|_| "its manifest.json is not one outcomes wrote")?;
    if manifest["tool"] != "outcomes" {
        return Err("its manifest.json is not one outcomes wrote");
    }
    let outputs = manifest["outputs"]
        .as_array()
        .ok_or("its manifest.json lists no outputs")?;
    // Compared with the names of the folder's own entries only, so a listed path such as
    // `../notes.txt` can never claim a file elsewhere.
    Ok(outputs
        .iter()
        .filter_map(|o| o["path"].as_str())
        .map(str::to_string)
        .collect())
}

#[cfg(unix)]
fn is_mount_point(target: &Path, parent: &Path) -> bool {
    use std::os::unix::fs::MetadataExt;
    // Another file system mounted here, or (for bind mounts on the same device) a line of
    // the mount table.
    let other_device = match (fs::metadata(target), fs::metadata(parent)) {
        (Ok(t), Ok(p)) => t.dev() != p.dev(),
        _ => false,
    };
    other_device || listed_as_mount(target)
}

#[cfg(not(unix))]
fn is_mount_point(_: &Path, _: &Path) -> bool {
    false
}

/// Whether `/proc/self/mountinfo` lists `target` as a mount point (Linux; false elsewhere).
fn listed_as_mount(target: &Path) -> bool {
    let Ok(table) = fs::read_to_string("/proc/self/mountinfo") else {
        return false;
    };
    let target = target.to_string_lossy();
    table
        .lines()
        .filter_map(|line| line.split(' ').nth(4))
        .any(|mount| unescape_mount_path(mount) == target)
}

/// The mount table writes space, tab, newline and backslash as octal escapes (`\040`).
fn unescape_mount_path(raw: &str) -> String {
    let bytes = raw.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let octal = bytes
            .get(i + 1..i + 4)
            .filter(|d| bytes[i] == b'\\' && d.iter().all(|b| (b'0'..=b'7').contains(b)));
        match octal {
            Some(d) => {
                out.push((d[0] - b'0') * 64 + (d[1] - b'0') * 8 + (d[2] - b'0'));
                i += 4;
            }
            None => {
                out.push(bytes[i]);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(unix)]
fn writable(dir: &Path) -> io::Result<()> {
    use std::ffi::CString;
    use std::os::unix::ffi::OsStrExt;
    let path = CString::new(dir.as_os_str().as_bytes())?;
    // SAFETY: `path` is a valid NUL-terminated string for the duration of the call.
    // access() answers for the real user, which is who the run writes as; for root it
    // still reports a read-only file system (EROFS).
    if unsafe { libc::access(path.as_ptr(), libc::W_OK) } == 0 {
        Ok(())
    } else {
        Err(io::Error::last_os_error())
    }
}

#[cfg(not(unix))]
fn writable(dir: &Path) -> io::Result<()> {
    if fs::metadata(dir)?.permissions().readonly() {
        Err(io::Error::new(io::ErrorKind::PermissionDenied, "read-only"))
    } else {
        Ok(())
    }
}

#[cfg(test)]
pub(super) mod tests {
    use super::*;

    /// A manifest as `outcomes` writes it, listing `names` as outputs.
    pub(in crate::output) fn manifest_listing(dir: &Path, names: &[&str]) {
        let outputs: Vec<_> = names
            .iter()
            .map(|n| serde_json::json!({"path": n, "sha256": ""}))
            .collect();
        let manifest = serde_json::json!({"tool": "outcomes", "outputs": outputs});
        fs::write(dir.join("manifest.json"), manifest.to_string()).unwrap();
    }

    #[test]
    fn a_folder_is_ours_only_when_its_manifest_lists_every_file() {
        let root = tempfile::tempdir().unwrap();
        let dir = root.path().join("out");
        assert!(check_ours(&dir).is_ok(), "a missing folder");
        fs::create_dir(&dir).unwrap();
        assert!(check_ours(&dir).is_ok(), "an empty folder");

        fs::write(dir.join("rates.xlsx"), "edited in Excel").unwrap();
        manifest_listing(&dir, &["rates.xlsx", "report.html"]);
        assert!(
            check_ours(&dir).is_ok(),
            "listed outputs, one missing, one edited"
        );

        fs::write(dir.join("~$rates.xlsx"), "lock").unwrap();
        let err = check_ours(&dir).unwrap_err();
        assert!(
            matches!(&err, Refusal::ForeignFile { file, .. } if file == "~$rates.xlsx"),
            "{err}"
        );
        assert!(err.to_string().contains("~$rates.xlsx"));
        fs::remove_file(dir.join("~$rates.xlsx")).unwrap();

        fs::create_dir(dir.join("rates.xlsx.d")).unwrap();
        assert!(matches!(check_ours(&dir), Err(Refusal::ForeignFile { .. })));
    }

    #[test]
    fn a_stray_or_foreign_manifest_does_not_make_a_folder_ours() {
        let root = tempfile::tempdir().unwrap();
        fs::write(root.path().join("thesis.docx"), "a user's own work").unwrap();
        fs::write(root.path().join("manifest.json"), "{\"tool\": \"other\"}").unwrap();
        assert!(matches!(
            check_ours(root.path()),
            Err(Refusal::NotAnOutputFolder { .. })
        ));
        fs::write(root.path().join("manifest.json"), "not json").unwrap();
        assert!(matches!(
            check_ours(root.path()),
            Err(Refusal::NotAnOutputFolder { .. })
        ));
        manifest_listing(root.path(), &["report.html"]);
        let err = check_ours(root.path()).unwrap_err();
        assert!(matches!(&err, Refusal::ForeignFile { file, .. } if file == "thesis.docx"));
    }

    #[test]
    fn a_manifest_cannot_claim_files_by_another_spelling() {
        let root = tempfile::tempdir().unwrap();
        let dir = root.path().join("out");
        fs::create_dir(&dir).unwrap();
        fs::write(dir.join("notes.txt"), "keep").unwrap();
        manifest_listing(&dir, &["./notes.txt", "../out/notes.txt", "NOTES.TXT"]);
        assert!(matches!(
            check_ours(&dir),
            Err(Refusal::ForeignFile { file, .. }) if file == "notes.txt"
        ));
    }

    #[cfg(unix)]
    #[test]
    fn a_link_in_the_folder_is_not_a_file_the_program_wrote() {
        let root = tempfile::tempdir().unwrap();
        let dir = root.path().join("out");
        fs::create_dir(&dir).unwrap();
        fs::write(root.path().join("thesis.docx"), "mine").unwrap();
        std::os::unix::fs::symlink(root.path().join("thesis.docx"), dir.join("report.html"))
            .unwrap();
        manifest_listing(&dir, &["report.html"]);
        assert!(matches!(check_ours(&dir), Err(Refusal::ForeignFile { .. })));
    }

    #[test]
    fn a_new_folder_needs_a_writable_place_to_be_made_in() {
        let root = tempfile::tempdir().unwrap();
        assert!(check_creatable(&root.path().join("a/b/c")).is_ok());
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let locked = root.path().join("locked");
            fs::create_dir(&locked).unwrap();
            fs::set_permissions(&locked, fs::Permissions::from_mode(0o500)).unwrap();
            // SAFETY: geteuid has no arguments and cannot fail. Root writes anywhere.
            if unsafe { libc::geteuid() } != 0 {
                assert!(check_creatable(&locked.join("a/b")).is_err());
            }
            fs::set_permissions(&locked, fs::Permissions::from_mode(0o700)).unwrap();
        }
    }

    #[test]
    fn the_root_a_file_and_the_home_folder_are_refused() {
        assert!(matches!(
            check_place(Path::new("/")),
            Err(Refusal::Root { .. })
        ));
        let root = tempfile::tempdir().unwrap();
        let file = root.path().join("report.html");
        fs::write(&file, "x").unwrap();
        assert!(matches!(check_ours(&file), Err(Refusal::NotAFolder { .. })));
        if let Some(home) = std::env::var_os("HOME").and_then(|h| fs::canonicalize(h).ok()) {
            assert!(matches!(check_place(&home), Err(Refusal::Home { .. })));
        }
    }

    #[test]
    fn mount_table_paths_are_unescaped() {
        assert_eq!(unescape_mount_path(r"/mnt/my\040disk"), "/mnt/my disk");
        assert_eq!(unescape_mount_path(r"/a\134b"), r"/a\b");
        assert_eq!(unescape_mount_path(r"/plain\09"), r"/plain\09");
    }

    #[cfg(target_os = "linux")]
    #[test]
    fn proc_is_a_mount_point() {
        // /proc is mounted on every Linux system this runs on.
        assert!(is_mount_point(Path::new("/proc"), Path::new("/")));
        assert!(!is_mount_point(
            &std::env::temp_dir().join("x"),
            &std::env::temp_dir()
        ));
    }
}
