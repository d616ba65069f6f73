use std::path::PathBuf;

/// Errors of the runtime layer. Each displays as one line that says what to do.
#[derive(Debug, thiserror::Error)]
pub enum RuntimeError {
    #[error("cannot read config {path}: {cause}")]
    ConfigRead { path: PathBuf, cause: std::io::Error },
    #[error("config {origin} is not valid TOML: {message}")]
    ConfigSyntax { origin: String, message: String },
    #[error("config {origin}: key `{key}`: {message}")]
    ConfigKey { origin: String, key: String, message: String },
    #[error("override `{0}` is not of the form key=value")]
    OverrideSyntax(String),
    #[error("bad device `{0}`: expected auto, cpu or cuda:N, or several CUDA devices as cuda:0,cuda:1")]
    DeviceSyntax(String),
    #[error("device cuda:{0} is listed twice: list each CUDA device once")]
    DeviceRepeated(usize),
    #[error("device cuda:{0} requested but libtorch sees no CUDA GPU (use --device cpu or auto)")]
    CudaUnavailable(usize),
    #[error("device cuda:{index} requested but libtorch sees only {count} CUDA device(s)")]
    CudaIndex { index: usize, count: usize },
    #[error("run directory {0} already exists: pick another --run-name (runs are never overwritten)")]
    RunExists(PathBuf),
    #[error("cannot resume {path}: {reason}")]
    Resume { path: PathBuf, reason: String },
    #[error("bad run name `{0}`: use letters, digits, '-', '_' and '.' only")]
    RunName(String),
    #[error("cannot write {path}: {cause}")]
    Write { path: PathBuf, cause: std::io::Error },
    #[error("cannot read {path}: {cause}")]
    Read { path: PathBuf, cause: std::io::Error },
    #[error("{path} is not a valid summary: {cause}")]
    SummaryFormat { path: PathBuf, cause: serde_json::Error },
    #[error("no GPU memory figures: NVML (the NVIDIA driver's library) is unavailable: {0}")]
    GpuMemory(String),
    #[error("cannot serialize {what}: {message}")]
    Serialize { what: String, message: String },
}
