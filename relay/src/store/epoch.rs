//! A store's [`StoreEpoch`]: made with the store, kept in it, new when the store is made
//! again (a wiped data directory, a new database), so that what other regions were told
//! this store holds is forgotten when it no longer does (`runmesh_core::reach`). A data
//! directory restored from a copy of its files holds less than the store it was copied
//! from told: delete its `store-epoch` file before starting a relay on it (`import` of
//! an `export` archive into an empty directory makes a new epoch by itself).

use std::fs;
use std::io::{self, Write};
use std::path::Path;

use runmesh_core::reach::StoreEpoch;

/// Where a data directory keeps its epoch.
const FILE: &str = "store-epoch";

/// A new epoch: now, and a random number.
pub(crate) fn fresh() -> io::Result<StoreEpoch> {
    let created_ms = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX));
    let mut nonce = [0u8; 8];
    getrandom::fill(&mut nonce).map_err(|e| io::Error::other(e.to_string()))?;
    Ok(StoreEpoch {
        created_ms,
        nonce: u64::from_le_bytes(nonce),
    })
}

/// The epoch of the data directory `root`, made (durably) if it has none yet.
pub(crate) fn of_dir(root: &Path) -> io::Result<StoreEpoch> {
    let path = root.join(FILE);
    match fs::read_to_string(&path) {
        Ok(text) => parse(&text).ok_or_else(|| {
            io::Error::new(
                io::ErrorKind::InvalidData,
                format!(
                    "{} holds {text:?}, not two numbers (when the store was made, and a random number)",
                    path.display()
                ),
            )
        }),
        Err(e) if e.kind() == io::ErrorKind::NotFound => {
            let epoch = fresh()?;
            let partial = root.join(format!("{FILE}.partial"));
            let mut file = fs::File::create(&partial)?;
            writeln!(file, "{} {}", epoch.created_ms, epoch.nonce)?;
            file.sync_all()?;
            fs::rename(&partial, &path)?;
            fs::File::open(root)?.sync_all()?;
            Ok(epoch)
        }
        Err(e) => Err(e),
    }
}

fn parse(text: &str) -> Option<StoreEpoch> {
    let mut numbers = text.split_whitespace().map(str::parse::<u64>);
    let (Some(Ok(created_ms)), Some(Ok(nonce)), None) =
        (numbers.next(), numbers.next(), numbers.next())
    else {
        return None;
    };
    Some(StoreEpoch { created_ms, nonce })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_directory_keeps_its_epoch_until_it_is_wiped() {
        let dir = tempfile::tempdir().unwrap();
        let first = of_dir(dir.path()).unwrap();
        assert_eq!(of_dir(dir.path()).unwrap(), first, "kept across opens");
        fs::remove_file(dir.path().join(FILE)).unwrap();
        assert_ne!(of_dir(dir.path()).unwrap(), first, "a wiped store is new");
    }

    #[test]
    fn a_damaged_epoch_file_is_an_error_naming_it() {
        let dir = tempfile::tempdir().unwrap();
        fs::write(dir.path().join(FILE), "twelve").unwrap();
        let err = of_dir(dir.path()).unwrap_err().to_string();
        assert!(
            err.contains("store-epoch") && err.contains("twelve"),
            "{err}"
        );
    }
}
