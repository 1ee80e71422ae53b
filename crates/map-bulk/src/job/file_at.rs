//! Reading and writing a file by position, leaving its own offset alone: several readers of
//! one open file (a job copied from stdin, a journal and its index) never disturb each other.

use std::fs::File;
use std::io;

/// Reads into `buffer` from byte `at` of `file`; how many bytes were read (0 at the end).
pub(crate) fn read_at(file: &File, buffer: &mut [u8], at: u64) -> io::Result<usize> {
    #[cfg(unix)]
    return std::os::unix::fs::FileExt::read_at(file, buffer, at);
    #[cfg(windows)]
    return std::os::windows::fs::FileExt::seek_read(file, buffer, at);
    #[cfg(not(any(unix, windows)))]
    {
        let _ = (file, buffer, at);
        Err(io::Error::new(
            io::ErrorKind::Unsupported,
            "reading a file by position is not supported on this platform",
        ))
    }
}

/// Writes all of `bytes` at byte `at` of `file`.
pub(crate) fn write_all_at(file: &File, mut bytes: &[u8], mut at: u64) -> io::Result<()> {
    while !bytes.is_empty() {
        #[cfg(unix)]
        let written = std::os::unix::fs::FileExt::write_at(file, bytes, at)?;
        #[cfg(windows)]
        let written = std::os::windows::fs::FileExt::seek_write(file, bytes, at)?;
        #[cfg(not(any(unix, windows)))]
        let written: usize = {
            let _ = file;
            return Err(io::Error::new(
                io::ErrorKind::Unsupported,
                "writing a file by position is not supported on this platform",
            ));
        };
        if written == 0 {
            return Err(io::Error::new(io::ErrorKind::WriteZero, "nothing written"));
        }
        bytes = &bytes[written..];
        at += written as u64;
    }
    Ok(())
}
