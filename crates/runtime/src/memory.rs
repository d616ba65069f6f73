//! Peak memory of the process, for run summaries.

/// Peak resident set size of this process in bytes (Linux `VmHWM`), `None` where unknown.
pub fn peak_host_memory_bytes() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|line| line.starts_with("VmHWM:"))?;
    let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib * 1024)
}

#[cfg(test)]
mod tests {
    #[test]
    fn peak_memory_is_positive_on_linux() {
        if cfg!(target_os = "linux") {
            assert!(super::peak_host_memory_bytes().unwrap() > 1024 * 1024);
        }
    }
}
