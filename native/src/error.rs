//! Kernel failures as plain Rust values; the glue turns them into JavaScript errors whose message is
//! `"CODE: message | {json}"`, the one format `QuiverError.from` parses.

#[derive(Debug, Clone, PartialEq)]
pub struct KernelError {
    pub code: &'static str,
    pub message: String,
    /// A JSON object, already serialised (kept tiny, so no serde).
    pub details: Option<String>,
}

impl KernelError {
    pub fn new(code: &'static str, message: impl Into<String>) -> Self {
        KernelError {
            code,
            message: message.into(),
            details: None,
        }
    }

    pub fn with_details(mut self, json: String) -> Self {
        self.details = Some(json);
        self
    }

    pub fn not_positive_definite(pivot: usize) -> Self {
        KernelError::new(
            "NOT_POSITIVE_DEFINITE",
            format!(
                "the Gram matrix is not positive definite at pivot {pivot}; add an L2 penalty or remove constant or duplicate columns"
            ),
        )
        .with_details(format!("{{\"pivot\":{pivot}}}"))
    }
}

impl std::fmt::Display for KernelError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.details {
            Some(d) => write!(f, "{}: {} | {}", self.code, self.message, d),
            None => write!(f, "{}: {}", self.code, self.message),
        }
    }
}

impl std::error::Error for KernelError {}
