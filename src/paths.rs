//! Where bote's files live: config file, data (store) dir, log dir.
//!
//! Order for each: command-line flag → environment → platform default
//! (`directories`), so tests and scripts can always point bote elsewhere.

use std::path::{Path, PathBuf};

fn project_dirs() -> Option<directories::ProjectDirs> {
    directories::ProjectDirs::from("", "", "bote")
}

/// Expands a leading `~/` to the home directory.
pub fn expand_home(p: &Path) -> PathBuf {
    match p.strip_prefix("~") {
        Ok(rest) => directories::BaseDirs::new()
            .map(|b| b.home_dir().join(rest))
            .unwrap_or_else(|| p.to_owned()),
        Err(_) => p.to_owned(),
    }
}

/// The config file: `--config`, `$BOTE_CONFIG`, `./bote.toml`, then the
/// platform config dir. An explicitly named file must exist; the implicit
/// ones are optional.
pub fn config_file(flag: Option<&Path>) -> Result<Option<PathBuf>, PathBuf> {
    if let Some(p) = flag {
        return if p.is_file() {
            Ok(Some(p.to_owned()))
        } else {
            Err(p.to_owned())
        };
    }
    if let Some(p) = std::env::var_os("BOTE_CONFIG").map(PathBuf::from) {
        return if p.is_file() { Ok(Some(p)) } else { Err(p) };
    }
    let local = PathBuf::from("bote.toml");
    if local.is_file() {
        return Ok(Some(local));
    }
    Ok(project_dirs()
        .map(|d| d.config_dir().join("bote.toml"))
        .filter(|p| p.is_file()))
}

/// The platform data dir (`~/.local/share/bote` on Linux).
pub fn default_data_dir() -> PathBuf {
    project_dirs()
        .map(|d| d.data_dir().to_owned())
        .unwrap_or_else(|| PathBuf::from(".bote"))
}

/// The store dir: `--store`, `$BOTE_STORE`, `[store] path`, then the
/// platform data dir; sandbox mode gets its own `sandbox/` below the default
/// so sandbox campaigns never mix with live ones.
pub fn store_dir(flag: Option<&Path>, configured: Option<&Path>, sandbox: bool) -> PathBuf {
    if let Some(p) = flag {
        return expand_home(p);
    }
    if let Some(p) = std::env::var_os("BOTE_STORE") {
        return PathBuf::from(p);
    }
    let base = configured.map(expand_home).unwrap_or_else(default_data_dir);
    if sandbox {
        base.join("sandbox")
    } else {
        base
    }
}

/// The log dir: beside the store.
pub fn log_dir(store: &Path) -> PathBuf {
    store.join("logs")
}
